/**
 * @module What `idpscim doctor` reports: one check per thing a first-time set-up gets wrong, each
 * with a verdict, what was found and the one-line fix. The per-system files (google.ts, scim.ts,
 * state.ts, ldap.ts) make them; run.ts runs them all; src/shell/doctor.ts prints them.
 */
import { isSyncError } from "../core/errors.ts";

/** pass: works; fail: a run would fail; warn: works now but is a risk; skip: could not be checked (the reason says why). */
export type Verdict = "pass" | "fail" | "warn" | "skip";

/** Every check, in the order they are reported, and its title. */
export const CHECK_TITLES = {
  config: "configuration",
  "gws-key": "Google service-account key",
  "gws-keyless": "Google keyless chain (workload identity)",
  "gws-delegation": "Google domain-wide delegation",
  "gws-admin": "Google admin (gws.user_email)",
  "gws-clock": "clock against Google",
  "ldap-bind": "LDAP bind",
  "ldap-base-dn": "LDAP base DNs",
  "scim-endpoint": "SCIM endpoint",
  "scim-token": "SCIM access token",
  "scim-token-expiry": "SCIM token expiry",
  "scim-clock": "clock against AWS",
  state: "state read and write",
} as const;

export type CheckId = keyof typeof CHECK_TITLES;

export interface Check {
  id: CheckId;
  title: string;
  verdict: Verdict;
  /** What was found, one line; never a secret. */
  detail: string;
  /** What to do, one line; on fail and warn. */
  fix?: string;
}

export function check(id: CheckId, verdict: Verdict, detail: string, fix?: string): Check {
  return { id, title: CHECK_TITLES[id], verdict, detail, ...(fix === undefined ? {} : { fix }) };
}

export const pass = (id: CheckId, detail: string): Check => check(id, "pass", detail);
export const fail = (id: CheckId, detail: string, fix: string): Check => check(id, "fail", detail, fix);
export const warn = (id: CheckId, detail: string, fix: string): Check => check(id, "warn", detail, fix);
export const skip = (id: CheckId, reason: string): Check => check(id, "skip", reason);

/** A check failed by an error the adapters or the configuration threw: its message, and its hint as the fix (else `fix`). */
export function failedBy(id: CheckId, error: unknown, fix: string): Check {
  if (isSyncError(error)) return fail(id, error.message, error.hint ?? fix);
  return fail(id, `unexpected error: ${(error as Error)?.message ?? String(error)}`, fix);
}
