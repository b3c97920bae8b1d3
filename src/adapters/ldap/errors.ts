/**
 * @module ldapts' and Node's failures as SyncErrors: one line each, naming the setting to turn and
 * how (a bind refused, a base DN that does not exist, a certificate the CA file does not trust, an
 * unreachable server, a connection lost part-way, a server that will not page). Never the password.
 */
import { SyncError, redactSecretShapes } from "../../core/errors.ts";
import { quote, shorten } from "../../config/values.ts";
import type { SearchRequest } from "./search.ts";

/** Where the failure happened, and what the message may name. */
export interface FailureContext {
  phase: "connect" | "starttls" | "bind" | "search";
  url: string;
  bindDn?: string;
  request?: SearchRequest;
  /** Pages already read by this search: a failure after the first is one part-way. */
  pagesRead?: number;
  timeoutMs?: number;
  pageSize?: number;
}

/** Node's certificate-verification codes (https://nodejs.org/api/tls.html, X509_V_ERR_* names). */
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_UNTRUSTED", "CERT_SIGNATURE_FAILURE", "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID",
]);
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"]);

/** The LDAP result code of an ldapts ResultCodeError, the Node error code, and the message. */
function facts(error: unknown): { result?: number; code?: string; message: string } {
  const e = error as { code?: unknown; message?: unknown } | null;
  const message = redactSecretShapes(typeof e?.message === "string" ? e.message.replace(/\s+/g, " ").trim() : String(error));
  return { ...(typeof e?.code === "number" ? { result: e.code } : {}), ...(typeof e?.code === "string" ? { code: e.code } : {}), message };
}

/**
 * The SyncError for a failure. Configuration mistakes (credentials, base DN, certificate, paging
 * refused) exit 2 (CONFIG_INVALID, SOURCE_AUTH); a server that is down or a connection lost exits 1
 * (SOURCE_READ), since the next run may succeed. Nothing has been written either way.
 */
export function ldapFailure(error: unknown, context: FailureContext): SyncError {
  const { result, code, message } = facts(error);
  const url = `ldap.url ${quote(context.url)}`;
  const cause = { cause: error };
  if (code !== undefined && UNTRUSTED.has(code)) {
    return new SyncError("CONFIG_INVALID", `${url}: the server's certificate is not trusted (${code}): set ldap.ca_file to the PEM file of the CA that issued it (or ldap.ca_pem to its text), or fix the CA given`, cause);
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return new SyncError("CONFIG_INVALID", `${url}: the server's certificate does not name this host (${shorten(message, 120)}): write in ldap.url a host name the certificate names`, cause);
  }
  if ((code !== undefined && UNREACHABLE.has(code)) || /connection timeout/i.test(message)) {
    return new SyncError("SOURCE_READ", `${url}: cannot reach the server (${code ?? "timed out"}): check the host and port, and that this machine may reach it (firewall, security group, VPN); nothing was written`, cause);
  }
  if (context.phase === "starttls" && (result !== undefined || /EPROTO|wrong version/i.test(message))) {
    return new SyncError("CONFIG_INVALID", `${url}: the server refused StartTLS (${shorten(message, 120)}): use ldaps:// (port 636), or enable StartTLS on the server`, cause);
  }
  if (context.phase === "bind") return bindFailure(result, message, context, error);
  if (context.phase === "search" && result !== undefined) return searchFailure(result, message, context, error);
  if (/timed out/i.test(message)) {
    return new SyncError("SOURCE_READ", `${url}: no answer within ldap.timeout (${(context.timeoutMs ?? 0) / 1000} s) during the ${context.phase}${where(context)}; nothing was written; raise ldap.timeout if the server is slow`, cause);
  }
  if (/connection closed|socket error|ECONNRESET|EPIPE/i.test(`${message} ${code ?? ""}`)) {
    return new SyncError("SOURCE_READ", `${url}: the connection was lost during the ${context.phase}${where(context)}: nothing was written (a partial read is never taken as the truth); the next run reads again`, cause);
  }
  return new SyncError("SOURCE_READ", `${url}: the ${context.phase}${where(context)} failed: ${shorten(message, 160)}; nothing was written`, cause);
}

/** " of ldap.user_base_dn "OU=People,…" after 3 pages" */
function where(context: FailureContext): string {
  const r = context.request;
  if (r === undefined) return "";
  const pages = context.pagesRead ? ` after ${context.pagesRead} page${context.pagesRead === 1 ? "" : "s"}` : "";
  return ` of ${r.setting} ${quote(r.base)}${pages}`;
}

function bindFailure(result: number | undefined, message: string, context: FailureContext, error: unknown): SyncError {
  const who = `ldap.bind_dn ${quote(context.bindDn ?? "")}`;
  if (result === 49) {
    return new SyncError(
      "SOURCE_AUTH",
      `${who} could not bind: invalid credentials (${shorten(message, 120)}): check ldap.bind_dn and its password (ldap.bind_password, ldap.bind_password_file or the secret ldap.bind_password_secret_name)`,
      { cause: error },
    );
  }
  if (result === 8 || result === 13) {
    return new SyncError("SOURCE_AUTH", `${who}: the server requires a secure connection to bind (${shorten(message, 120)}): use ldaps:// or set ldap.start_tls = true`, { cause: error });
  }
  if (result === 34) return new SyncError("CONFIG_INVALID", `${who} is not a DN the server accepts (invalid DN syntax): write the service account's full DN`, { cause: error });
  return new SyncError("SOURCE_AUTH", `${who} could not bind (${shorten(message, 120)}): check ldap.bind_dn and its password`, { cause: error });
}

function searchFailure(result: number, message: string, context: FailureContext, error: unknown): SyncError {
  const r = context.request!;
  const cause = { cause: error };
  const at = `${r.setting} ${quote(r.base)}`;
  // slapd answers adminLimitExceeded "pagedResults control not allowed" when the account may not page; AD, unavailableCriticalExtension.
  if (result === 12 || (result === 11 && /paged/i.test(message))) {
    return new SyncError(
      "CONFIG_INVALID",
      `the server refuses simple paged results (RFC 2696), which every search uses (ldap.page_size = ${context.pageSize}), for the search of ${at} (${shorten(message, 80)}): ` +
        "let ldap.bind_dn page (OpenLDAP: olcLimits size.prtotal for it); nothing was written",
      cause,
    );
  }
  switch (result) {
    case 32:
      return new SyncError("CONFIG_INVALID", `${at} does not exist on the server (noSuchObject): check ${r.setting} (and ldap.base_dn); nothing was written`, cause);
    case 10:
      return referralError(at, message, error);
    case 4:
    case 11:
      return new SyncError(
        "SOURCE_READ",
        `the search of ${at} stopped at the server's size limit after ${context.pagesRead ?? 0} page(s) (${result === 4 ? "sizeLimitExceeded" : "adminLimitExceeded"}): ` +
          `nothing was written; set ldap.page_size (now ${context.pageSize}) below the server's limit, or let the bind account page past it (simple paged results, RFC 2696)`,
        cause,
      );
    case 50:
      return new SyncError("SOURCE_AUTH", `ldap.bind_dn may not read ${at} (insufficientAccessRights): grant it read access there (README, "LDAP / Active Directory"); nothing was written`, cause);
    case 18:
    case 53:
      if (r.filter.includes("1.2.840.113556.1.4.1941")) {
        return new SyncError("CONFIG_INVALID", `the server refuses LDAP_MATCHING_RULE_IN_CHAIN (${shorten(message, 80)}): set ldap.nested = "client"`, cause);
      }
      break;
    case 3:
      return new SyncError("SOURCE_READ", `the search of ${at} hit the server's time limit: nothing was written; narrow the scope or raise the server's limit for the bind account`, cause);
  }
  return new SyncError("SOURCE_READ", `the search of ${at} failed (LDAP result ${result}: ${shorten(message, 120)}); nothing was written`, cause);
}

/** A referral the tool does not chase: what is behind it would be missing, so the run stops. */
export function referralError(at: string, to: string, error?: unknown): SyncError {
  return new SyncError(
    "SOURCE_READ",
    `the search of ${at} returned a referral to ${quote(to)}, which is not followed (the entries there would be missing): nothing was written; ` +
      "point ldap.url at a server that holds the whole scope (an Active Directory global catalog, port 3269) or narrow the base DNs to this server's naming context",
    error === undefined ? {} : { cause: error },
  );
}
