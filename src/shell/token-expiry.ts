/**
 * @module The SCIM token's expiry in words, logged at the start of every sync and plan when
 * `aws.scim_token_expires_at` is set: a warning from 30 days before, an error from 7 days before
 * (the run goes on: the token still works until it expires). `doctor` may call `scimTokenCheck`.
 */
import { NEW_TOKEN_STEPS } from "../adapters/scim/errors.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import { parseDate } from "../config/values.ts";
import type { Logger } from "../core/ports.ts";
import { scimTokenExpiry, type TokenExpiry } from "../core/token-expiry.ts";

export interface TokenExpiryCheck extends TokenExpiry {
  /** One line: when the token expires, and what to do once it is near. */
  message: string;
}

/** The check of `aws.scim_token_expires_at` at `now`, or `undefined` when it is not set. */
export function scimTokenCheck(config: Pick<ResolvedConfig, "aws">, now: number): TokenExpiryCheck | undefined {
  const text = config.aws.scimTokenExpiresAt;
  const expiresAt = text === undefined ? undefined : parseDate(text);
  if (text === undefined || expiresAt === undefined) return undefined;
  const expiry = scimTokenExpiry(expiresAt, now);
  const days = (n: number) => `${n} day${n === 1 ? "" : "s"}`;
  const daysAgo = Math.floor((now - expiresAt) / 86_400_000);
  const when = expiry.expired
    ? `expired ${daysAgo === 0 ? "less than a day" : days(daysAgo)} ago`
    : expiry.daysLeft === 0
      ? "expires within a day"
      : `expires in ${days(expiry.daysLeft)}`;
  const what = `the SCIM access token ${when} (aws.scim_token_expires_at = ${text})`;
  const message =
    expiry.level === "ok"
      ? what
      : expiry.expired
        ? `${what}: AWS refuses every SCIM request with it (401) and nothing is synced: ${NEW_TOKEN_STEPS}`
        : `${what}: then AWS refuses every SCIM request and the sync stops: ${NEW_TOKEN_STEPS}`;
  return { ...expiry, message };
}

/** Logs the check at its level (ok: debug), and returns it (the Lambda emits ScimTokenDaysLeft from it). */
export function logScimTokenExpiry(config: Pick<ResolvedConfig, "aws">, log: Logger, now: number = Date.now()): TokenExpiryCheck | undefined {
  const check = scimTokenCheck(config, now);
  if (check === undefined) return undefined;
  if (check.level === "error") log.error(check.message);
  else if (check.level === "warn") log.warn(check.message);
  else log.debug(check.message);
  return check;
}
