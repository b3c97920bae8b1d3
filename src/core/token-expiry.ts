/**
 * @module How close the SCIM access token is to its expiry. IAM Identity Center's tokens expire one
 * year after they were generated, and an expired one makes every run fail with 401: the sync
 * silently stops. Pure: the shells word it (src/shell/token-expiry.ts), `doctor` may too.
 */

/** From this many days left a run warns; from `ERROR_DAYS` it logs an error (and the Lambda alarm fires). */
export const WARN_DAYS = 30;
export const ERROR_DAYS = 7;

const DAY_MS = 86_400_000;

export interface TokenExpiry {
  /** Whole days left (rounded down): 0 on the day it expires, negative once it has expired. */
  daysLeft: number;
  /** ok: more than 30 days; warn: 30 to 8; error: 7 or fewer, or expired. */
  level: "ok" | "warn" | "error";
  expired: boolean;
}

/**
 * @example
 * scimTokenExpiry(Date.parse("2027-06-30"), Date.parse("2027-06-10")); // { daysLeft: 20, level: "warn", expired: false }
 */
export function scimTokenExpiry(expiresAt: number, now: number): TokenExpiry {
  const daysLeft = Math.floor((expiresAt - now) / DAY_MS);
  const expired = expiresAt <= now;
  const level = expired || daysLeft <= ERROR_DAYS ? "error" : daysLeft <= WARN_DAYS ? "warn" : "ok";
  return { daysLeft, level, expired };
}
