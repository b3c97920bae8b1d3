/**
 * @module One ldapts connection for a read: TLS (ldaps:// or StartTLS, with ldap.ca_file or ldap.ca_pem), a simple
 * bind, and the `Searcher` the reads use, where every search is paged (RFC 2696) and counted.
 * Failures become SyncErrors naming the setting (errors.ts); referrals are never chased.
 */
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { Client } from "ldapts";
import { SyncError } from "../../core/errors.ts";
import { pemProblem, quote, shorten } from "../../config/values.ts";
import type { Logger } from "../../core/ports.ts";
import type { LdapSettings } from "../../config/ldap-settings.ts";
import { BINARY_ATTRIBUTES, type RawEntry } from "./entries.ts";
import { foreignReferral } from "./values.ts";
import { ldapFailure, referralError, type FailureContext } from "./errors.ts";
import type { SearchRequest, Searcher } from "./search.ts";

/** What a connection needs of the settings (config/ldap-settings.ts), and where it logs. */
export type LdapConnectionOptions = Pick<LdapSettings, "url" | "startTls" | "caFile" | "caPem" | "bindDn" | "bindPassword" | "timeoutMs" | "pageSize"> & {
  log: Pick<Logger, "debug" | "warn">;
};

/** Searches started, and pages: each SearchRequest the server answered (one per page; a search has at least one). */
export interface LdapRequestCounts {
  searches: number;
  pages: number;
}

export interface LdapConnection {
  search: Searcher;
  close(): Promise<void>;
}


async function tlsOptions(options: LdapConnectionOptions): Promise<ConnectionOptions> {
  const host = new URL(options.url).hostname.replace(/^\[|\]$/g, "");
  // Node checks the certificate against `host`; SNI (servername) may only carry a name, not an address.
  const base: ConnectionOptions = { host, minVersion: "TLSv1.2", ...(isIP(host) === 0 ? { servername: host } : {}) };
  if (options.caPem !== undefined) return { ...base, ca: options.caPem };
  if (options.caFile === undefined) return base;
  let pem: string;
  try {
    pem = await readFile(options.caFile, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new SyncError("CONFIG_INVALID", `ldap.ca_file ${quote(options.caFile)}: cannot read it (${typeof code === "string" ? code : String(error)}): check the path and its permissions`, { cause: error });
  }
  const problem = pemProblem(pem);
  if (problem !== undefined) throw new SyncError("CONFIG_INVALID", `ldap.ca_file ${quote(options.caFile)} ${problem}`);
  return { ...base, ca: pem };
}

/** Connects, upgrades (StartTLS) and binds; the caller closes it. */
export async function openLdapConnection(options: LdapConnectionOptions, counts: LdapRequestCounts): Promise<LdapConnection> {
  const tls = await tlsOptions(options);
  const ldaps = options.url.toLowerCase().startsWith("ldaps:");
  // ldapts connects with TLS whenever tlsOptions are given, so an ldap:// URL gets them only at StartTLS.
  const client = new Client({ url: options.url, timeout: options.timeoutMs, connectTimeout: options.timeoutMs, ...(ldaps ? { tlsOptions: tls } : {}) });
  const context = (phase: FailureContext["phase"]): FailureContext => ({ phase, url: options.url, bindDn: options.bindDn, timeoutMs: options.timeoutMs, pageSize: options.pageSize });
  try {
    if (options.startTls) {
      await client.startTLS(tls).catch((error: unknown) => {
        throw ldapFailure(error, context("starttls"));
      });
    }
    await client.bind(options.bindDn, options.bindPassword).catch((error: unknown) => {
      throw ldapFailure(error, context("bind"));
    });
  } catch (error) {
    await client.unbind().catch(() => undefined);
    throw error;
  }
  let referralsNoted = false;
  const noteReferrals = (request: SearchRequest, references: readonly string[]) => {
    const foreign = foreignReferral(references);
    if (foreign !== undefined) throw referralError(`${request.setting} ${quote(request.base)}`, foreign);
    if (!referralsNoted) options.log.debug(`ldap: references to Active Directory's DNS and configuration partitions skipped (${shorten(references.join(" "), 200)})`);
    referralsNoted = true;
  };
  return {
    search: (request) => pagedSearch(client, request, options, counts, context("search"), noteReferrals),
    close: async () => {
      await client.unbind().catch(() => undefined);
    },
  };
}

/** One search, page by page; a failure at any page throws (after the pages already yielded: the caller's read is then void). */
async function* pagedSearch(
  client: Client,
  request: SearchRequest,
  options: LdapConnectionOptions,
  counts: LdapRequestCounts,
  context: FailureContext,
  noteReferrals: (request: SearchRequest, references: readonly string[]) => void,
): AsyncGenerator<RawEntry[]> {
  counts.searches++;
  let pagesRead = 0;
  const pages = client.searchPaginated(request.base, {
    scope: request.scope ?? "sub",
    filter: request.filter,
    attributes: [...request.attributes],
    explicitBufferAttributes: [...BINARY_ATTRIBUTES],
    paged: { pageSize: options.pageSize },
  });
  for (;;) {
    let next: IteratorResult<{ searchEntries: RawEntry[]; searchReferences: string[] }>;
    try {
      next = await pages.next();
    } catch (error) {
      if (request.missingOk && (error as { code?: unknown }).code === 32) {
        counts.pages++; // answered, with noSuchObject
        return;
      }
      throw ldapFailure(error, { ...context, request, pagesRead });
    }
    if (next.done) return;
    counts.pages++;
    pagesRead++;
    if (next.value.searchReferences.length > 0) noteReferrals(request, next.value.searchReferences);
    yield next.value.searchEntries;
  }
}
