/** @module Value parsers and checks of the option table (pure, web APIs only): durations, limits, URLs, tokens, group queries, and how a value is quoted in a message. */

/** `sync.max_deletes` and `sync.max_membership_removals`: a share ("25%") or a count ("50"); the same shape as the core's DeleteLimit. */
export type MaxDeletes = { percent: number } | { count: number };

/** Longest text quoted in a message: a 10 KB value pasted by mistake must not fill the log line. */
const SHOWN_MAX = 60;

/** `text` cut to about SHOWN_MAX characters with an ellipsis and its full length, or as it is when short. */
export function shorten(text: string, max: number = SHOWN_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}… (${text.length} characters)`;
}

/** A value as quoted in a message: JSON-quoted and shortened (the length is outside the quotes). */
export function quote(value: string): string {
  return value.length <= SHOWN_MAX ? JSON.stringify(value) : `${JSON.stringify(`${value.slice(0, SHOWN_MAX - 1)}…`)} (${value.length} characters)`;
}

/**
 * Why a SCIM token cannot be sent, or `undefined`. A line break, a space or a control character
 * (a copy-paste accident) cannot go in an Authorization header: fetch refuses it, and the run would
 * retry it as a network failure. Characters outside printable ASCII fail the same way.
 */
export function tokenProblem(token: string): string | undefined {
  const kind = /[\r\n]/.test(token)
    ? "a line break"
    : /\s/.test(token)
      ? "whitespace"
      : /[\x00-\x1f\x7f]/.test(token)
        ? "a control character"
        : /[^\x21-\x7e]/.test(token)
          ? "a character that is not printable ASCII"
          : undefined;
  return kind === undefined ? undefined : `contains ${kind} (the token is not shown); copy the token again without it`;
}

const DATE_SYNTAX = /^(\d{4}-\d{2}-\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/i;

/**
 * "2027-06-30" (midnight UTC) or an RFC 3339 date-time with its offset ("2027-06-30T09:00:00Z")
 * → epoch ms; `undefined` for anything else, a date that does not exist ("2027-02-30") included.
 * A date-time without an offset is refused: read in the host's time zone it would mean another day.
 */
export function parseDate(text: string): number | undefined {
  const match = DATE_SYNTAX.exec(text.trim());
  if (!match) return undefined;
  const ms = Date.parse(text.trim());
  // The calendar day must survive the round trip: Date.parse rolls 02-30 over to 03-02 on some runtimes.
  const day = Date.parse(match[1]!);
  if (!Number.isFinite(ms) || !Number.isFinite(day) || new Date(day).toISOString().slice(0, 10) !== match[1]) return undefined;
  return ms;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export const DURATION_SYNTAX = /^(\d+(ms|s|m|h|d|w))+$/;

/** The longest sync.reconcile_every: drift made by hand in AWS must be found and undone within a month. */
export const RECONCILE_EVERY_MAX_MS = 30 * DURATION_UNITS.d!;

/** "30m", "24h", "7d", "1h30m" → milliseconds; `undefined` if not a positive duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION_SYNTAX.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) {
    total += Number(match[1]) * (DURATION_UNITS[match[2] ?? ""] ?? 0);
  }
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

/** "25%" → { percent: 25 }, "50" or 50 → { count: 50 }; `undefined` otherwise. */
export function parseMaxDeletes(value: unknown): MaxDeletes | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? { count: value } : undefined;
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
  if (percent) {
    const n = Number(percent[1]);
    return n <= 100 ? { percent: n } : undefined;
  }
  return /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? { count: Number(text) } : undefined;
}

export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** A URL as it may be shown in a message: scheme, host and path, never credentials or a query; shortened. */
function showUrl(url: URL): string {
  return quote(`${url.protocol}//${url.host}${url.pathname}`);
}

/** `scim.us-east-1.amazonaws.com/…`: a host name, maybe a port and a path, with no scheme. */
const SCHEMELESS = /^([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})(?::\d{1,5})?(?:\/\S*)?$/i;

/**
 * Problem phrase for a URL option value, or `undefined` when fine. Also used after secrets resolve.
 * A value that is not a URL at all is not echoed unless it reads as a host name: swapped settings
 * (the token given as the endpoint) are a common mistake, and the message must not print the token.
 */
export function urlProblem(text: string, options: { hidden?: boolean } = {}): string | undefined {
  const hidden = options.hidden === true;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const host = hidden ? undefined : SCHEMELESS.exec(text)?.[1];
    return host !== undefined
      ? `is not a URL: it has no scheme; write the full URL starting with https://, like ${quote(`https://${host}/...`)}`
      : `is not a URL (a ${text.length}-character value, not shown in case it is a secret); write a full URL like "https://host/path"`;
  }
  if (url.protocol === "https:") return undefined;
  const got = hidden ? "" : ` (got ${showUrl(url)})`;
  if (url.protocol === "http:") {
    return isLoopback(url.hostname) ? undefined : `must use https${got}; http is allowed only on localhost, 127.0.0.0/8 and [::1]`;
  }
  return `must be an https URL${got}`;
}

/**
 * A light syntax check of Directory API group queries, so a typo fails before the first API call
 * instead of as a 400 mid-run. The grammar is from
 * https://developers.google.com/admin-sdk/directory/v1/guides/search-groups: `name` and `email`
 * take `=` (exact) or `:` with a trailing `*` (prefix); `memberKey` takes `=` only. Values with
 * spaces are single-quoted.
 */
export function groupsFilterProblem(query: string): string | undefined {
  if ((query.match(/'/g) ?? []).length % 2 !== 0) return `${quote(query)} has an unbalanced single quote; close it`;
  const clauses = query.match(/(?:[^\s']+|'[^']*')+/g) ?? [];
  if (clauses.length === 0) return "is an empty query; remove it (no filter means all groups)";
  for (const clause of clauses) {
    const match = /^(name|email|memberKey)(=|:)(.*)$/.exec(clause);
    const value = match?.[3]?.replace(/^'(.*)'$/, "$1") ?? "";
    const ok =
      match !== null &&
      value.length > 0 &&
      !value.includes("'") &&
      (match[2] === "=" ? true : match[1] !== "memberKey" && value.endsWith("*") && value.length > 1);
    if (!ok) {
      return `${quote(clause)} is not a Directory group query clause; use name=X, name:Prefix*, email=x, email:prefix*, or memberKey=x, space-separated`;
    }
  }
  return undefined;
}


/**
 * The users.list query fields Google documents (https://developers.google.com/admin-sdk/directory/v1/guides/search-users),
 * each with the operators it takes; `schemaName.fieldName` (a custom field) and bare terms are allowed besides.
 */
const USER_QUERY_FIELDS: Record<string, readonly string[]> = {
  name: ["=", ":"], email: ["=", ":"], givenName: ["=", ":"], familyName: ["=", ":"], im: ["=", ":"], externalId: ["=", ":"],
  isAdmin: ["="], isDelegatedAdmin: ["="], isSuspended: ["="], isArchived: ["="], isEnrolledIn2Sv: ["="], isEnforcedIn2Sv: ["="],
  manager: ["="], managerId: ["="], directManager: ["="], directManagerId: ["="], orgUnitPath: ["="], phone: ["="],
  address: [":"], addressPoBox: ["=", ":"], addressExtended: ["=", ":"], addressStreet: ["=", ":"], addressLocality: ["=", ":"],
  addressRegion: ["=", ":"], addressPostalCode: ["=", ":"], addressCountry: ["=", ":"],
  orgName: ["=", ":"], orgTitle: ["=", ":"], orgDepartment: ["=", ":"], orgDescription: ["=", ":"], orgCostCenter: ["=", ":"],
};

/** Problem phrase for one `gws.users_filter` query, or `undefined`: clauses Google's users search takes, space-separated. */
export function usersFilterProblem(query: string): string | undefined {
  if ((query.replace(/\\'/g, "").match(/'/g) ?? []).length % 2 !== 0) return `${quote(query)} has an unbalanced single quote; close it`;
  const clauses = query.match(/(?:[^\s']+|'(?:[^'\\]|\\.)*')+/g) ?? [];
  if (clauses.length === 0) return "is an empty query; remove it";
  for (const clause of clauses) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)(<=|>=|=|:|<|>)(.*)$/.exec(clause);
    if (match === null) continue; // a bare term: Google searches names and email for it
    const [, field, op, raw] = match as unknown as [string, string, string, string];
    const value = raw.replace(/^'(.*)'$/, "$1");
    // A custom field's operators depend on its type (ranges need a numericIndexingSpec): Google judges those.
    const ops = field.includes(".") ? ["=", ":", "<", ">", "<=", ">="] : Object.hasOwn(USER_QUERY_FIELDS, field) ? USER_QUERY_FIELDS[field] : undefined;
    const fix = "use field=value, field:word or field:prefix*, space-separated (e.g. orgUnitPath='/Engineering' isSuspended=false, or schemaName.fieldName=value)";
    if (ops === undefined) return `${quote(clause)} names no Directory user search field; ${fix}`;
    if (value === "") return `${quote(clause)} has no value; ${fix}`;
    if (!ops.includes(op)) return `${quote(clause)}: ${field} takes only ${ops.join(" or ")}; ${fix}`;
    if (/^is[A-Z]/.test(field) && !/^(true|false)$/i.test(value)) return `${quote(clause)}: ${field} is true or false`;
  }
  return undefined;
}

/** Why `value` is not an email address like the super admin's, or `undefined`. */
export function emailProblem(value: string): string | undefined {
  return /^[^@\s]+@[^@\s]+$/.test(value) ? undefined : "must be an email address like admin@example.com";
}

/**
 * Problem phrase for `ldap.url`, or `undefined`: ldap:// or ldaps://, a host, an optional port, and
 * nothing else (an LDAP URL's DN, attributes or filter part belong in the other [ldap] settings).
 */
export function ldapUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `is not an LDAP URL (got ${quote(text)}); write ldaps://host:636 or ldap://host:389`;
  }
  if (url.protocol !== "ldap:" && url.protocol !== "ldaps:") return `must start with ldaps:// or ldap:// (got ${quote(`${url.protocol}//${url.host}`)})`;
  if (url.hostname === "") return `has no host (got ${quote(text)}); write ${url.protocol}//host${url.protocol === "ldaps:" ? ":636" : ":389"}`;
  if (url.username !== "" || url.password !== "") return "holds credentials (not shown); put the account in ldap.bind_dn and its password in ldap.bind_password_file or Secrets Manager";
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "") {
    return `has a path or query (got ${quote(`${url.protocol}//${url.host}${url.pathname}${url.search}`)}); keep only scheme, host and port, and set ldap.base_dn and the filters instead`;
  }
  return undefined;
}

/**
 * Problem phrase for a CA bundle's text (ldap.ca_pem, and the content of ldap.ca_file), or
 * `undefined`: at least one whole PEM certificate. Never quoted: it is long, and says nothing.
 */
export function pemProblem(pem: string): string | undefined {
  const begin = pem.indexOf("-----BEGIN CERTIFICATE-----");
  return begin >= 0 && pem.indexOf("-----END CERTIFICATE-----", begin) > begin
    ? undefined
    : 'holds no PEM certificate ("-----BEGIN CERTIFICATE-----" to "-----END CERTIFICATE-----"): export the CA certificate as Base-64 (PEM)';
}

/**
 * A light DN syntax check (RFC 4514): comma-separated attribute=value pairs, so a typo fails before
 * the bind instead of as the server's "invalid DN syntax".
 */
export function dnProblem(dn: string): string | undefined {
  const parts = dn.split(/(?<!\\),/);
  const bad = parts.find((part) => !/^\s*[A-Za-z][A-Za-z0-9-]*\s*=.+$|^\s*\d+(\.\d+)+\s*=.+$/.test(part));
  return bad === undefined ? undefined : `is not a DN (got ${quote(dn)}); write attribute=value pairs separated by commas, like "OU=People,DC=example,DC=com"`;
}

/**
 * The name a simple bind takes: a DN, or the two names Active Directory also accepts for its
 * accounts, the userPrincipalName (`svc-idpscim@example.com`) and the down-level `EXAMPLE\svc-idpscim`.
 */
export function bindNameProblem(name: string): string | undefined {
  if (/^[^\s@,=\\]+@[^\s@,=\\]+$/.test(name) || /^[^\s\\,=]+\\[^\s\\,=]+$/.test(name)) return undefined;
  return dnProblem(name) === undefined
    ? undefined
    : `is not a DN (got ${quote(name)}); write attribute=value pairs separated by commas, like "CN=svc-idpscim,OU=Service Accounts,DC=example,DC=com" (Active Directory also takes "svc-idpscim@example.com" or "EXAMPLE\\svc-idpscim")`;
}

/** A light LDAP filter check (RFC 4515): wrapped in parentheses, and balanced, so a typo fails before the first search. */
export function ldapFilterProblem(filter: string): string | undefined {
  if (!filter.startsWith("(") || !filter.endsWith(")")) return `must be wrapped in parentheses, like "(cn=AWS-*)" (got ${quote(filter)})`;
  let depth = 0;
  for (let i = 0; i < filter.length && depth >= 0; i++) {
    const c = filter[i];
    if (c === "\\") i++; // an escape (\2a); the next character is a hex digit, not syntax
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0 && i < filter.length - 1) {
      return `holds more than one filter (got ${quote(filter)}); combine them into one with (&...) or (|...)`;
    }
  }
  return depth === 0 ? undefined : `has unbalanced parentheses (got ${quote(filter)}); close every "(" once`;
}
