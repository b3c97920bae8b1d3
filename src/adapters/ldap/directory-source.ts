/** @module LdapDirectorySource: reads an LDAP directory or Active Directory (ldapts) as the core's SourceSnapshot, one connection per read. */
import type { DirectorySource, Logger, SourceSnapshot } from "../../core/ports.ts";
import type { LdapSettings } from "../../config/ldap-settings.ts";
import type { UserFieldName } from "../../model/index.ts";
import { openLdapConnection, type LdapRequestCounts } from "./connection.ts";
import { readDirectory } from "./read.ts";

export interface LdapDirectorySourceOptions {
  settings: LdapSettings;
  userFields: ReadonlySet<UserFieldName>;
  /** `sync.method`: "groups" (default) syncs the users some group in scope holds; "users" every user ldap.user_filter selects. */
  method?: "groups" | "users";
  log: Pick<Logger, "debug" | "info" | "warn">;
  /**
   * Searches in flight at once on the connection (member lookups, range retrieval); default 4.
   * LDAP servers answer several requests of one connection in parallel.
   */
  concurrency?: number;
}

export interface LdapSourceStats extends LdapRequestCounts {
  /** Time spent in read() since creation, in ms. */
  readMs: number;
}

export type LdapDirectorySource = DirectorySource & { stats(): LdapSourceStats };

/**
 * @example
 * const source = createLdapDirectorySource({ settings: ldapSettings(config), userFields: new Set(config.sync.userFields), log });
 * const { users, groups } = await source.read();
 */
export function createLdapDirectorySource(options: LdapDirectorySourceOptions): LdapDirectorySource {
  const { settings, log } = options;
  const counts: LdapRequestCounts = { searches: 0, pages: 0 };
  let readMs = 0;
  return {
    stats: () => ({ ...counts, readMs }),
    async read(): Promise<SourceSnapshot> {
      const started = Date.now();
      const connection = await openLdapConnection({ ...settings, log }, counts);
      try {
        const { lookups: _, ...snapshot } = await readDirectory(connection.search, { settings, userFields: options.userFields, method: options.method ?? "groups", concurrency: options.concurrency ?? 4, log });
        log.debug(`ldap: ${counts.searches} searches, ${counts.pages} pages (page size ${settings.pageSize})`);
        return snapshot;
      } finally {
        await connection.close();
        readMs += Date.now() - started;
      }
    },
  };
}
