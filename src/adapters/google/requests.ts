/** @module Sends one Directory request, paced by the core's AIMD limiter with the shared backoff, and turns Google's failures into SyncErrors. § cites docs/google-directory.md. */
import type { admin_directory_v1 } from "googleapis/build/src/apis/admin/directory_v1.js";
import { SyncError, redactSecretShapes } from "../../core/errors.ts";
import { createRateControl, type RateControl, type RateControlOptions, type RetryDecision } from "../../core/rate-control.ts";
import type { RetryOptions } from "../../core/retry.ts";
import { describeAnswer } from "../http-answer.ts";
import { DIRECTORY_READONLY_SCOPES, TokenAnswerError } from "./service-account.ts";
import { ChainStepError } from "./workload-identity-errors.ts";

export const DEFAULT_RETRY: RetryOptions = { attempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

/**
 * Directory requests per second (`gws.rate_limit`'s default). Google allows 2,400 queries a minute
 * per user and project (40/s, §6.2); every request of a run is made as the one delegated admin, so
 * all of them draw on that one quota. 35/s keeps an eighth of it for whatever else acts as that
 * admin meanwhile (the Admin console, other scripts) and never bursts: the pacer spaces starts
 * evenly, so no minute sees more than 2,100.
 */
export const DEFAULT_RATE_LIMIT = 35;

/** What a failed request looked like, read off a GaxiosError (or anything thrown). */
interface Failure {
  /** HTTP status, or undefined when no response came back (network error). */
  status?: number;
  /** Google's `error.errors[0].reason` (§6.1), the OAuth `error` (§7.4), or the network error code. */
  reason: string;
  message: string;
  /** True when the failure came from the OAuth token endpoint rather than the Directory API. */
  token: boolean;
  /** A step of the keyless chain failed (workload-identity.ts): it decides retry and message itself. */
  chain?: ChainStepError;
}

/** Reason of a failure whose answer was not Google's JSON at all (a proxy's page, a wrong URL). */
const NOT_GOOGLE_JSON = "unexpectedAnswer";

/**
 * Reads a failure off whatever was thrown. Every string taken from the wire is scrubbed of the
 * access tokens issued so far (`secrets`) and of credential shapes, in case a proxy echoes them.
 */
function describeFailure(error: unknown, secrets: Iterable<string> = []): Failure {
  const scrub = (text: string) => {
    let out = text;
    for (const secret of secrets) out = out.split(secret).join("***");
    return redactSecretShapes(out);
  };
  if (error instanceof ChainStepError) return { ...(error.status ? { status: error.status } : {}), reason: error.reason, message: scrub(error.message), token: true, chain: error };
  if (error instanceof TokenAnswerError) return { status: error.status, reason: NOT_GOOGLE_JSON, message: scrub(error.answer), token: true };
  const e = error as { response?: { status?: number; data?: unknown; headers?: { get?(name: string): string | null } }; code?: unknown; message?: unknown; config?: { url?: unknown } };
  const message = scrub(typeof e?.message === "string" ? e.message : String(error));
  const url = e?.config?.url !== undefined ? String(e.config.url) : "";
  const response = e?.response;
  if (!response || typeof response.status !== "number") {
    const code = typeof e?.code === "string" ? e.code : "network error";
    return { reason: code, message, token: /\/token(\?|$)/.test(url) };
  }
  const data = response.data as Record<string, unknown> | undefined;
  // §7.4: the token endpoint answers a flat {error, error_description}.
  if (data && typeof data.error === "string") {
    return { status: response.status, reason: data.error, message: scrub(String(data.error_description ?? message)), token: true };
  }
  if (typeof data !== "object" || data === null) {
    const contentType = typeof response.headers?.get === "function" ? response.headers.get("content-type") : undefined;
    return { status: response.status, reason: NOT_GOOGLE_JSON, message: scrub(describeAnswer(data, contentType)), token: /\/token(\?|$)/.test(url) };
  }
  // §6.1: {error: {code, message, errors: [{reason}]}}.
  const envelope = data?.error as { message?: unknown; errors?: { reason?: unknown }[] } | undefined;
  const reason = envelope?.errors?.[0]?.reason;
  return {
    status: response.status,
    reason: typeof reason === "string" ? reason : "unknown",
    message: typeof envelope?.message === "string" ? scrub(envelope.message) : message,
    token: false,
  };
}

/** §6.2: quota reasons Google asks clients to back off on; 403s the library itself never retries (§6.3). */
const QUOTA_REASONS = new Set(["userRateLimitExceeded", "quotaExceeded", "rateLimitExceeded"]);

/** A quota answer of the Directory API (§6.2): the pace slows for every request, not just this one. */
function isQuota(f: Failure): boolean {
  return !f.token && (f.status === 429 || (f.status === 403 && QUOTA_REASONS.has(f.reason)));
}

function isRetryable(f: Failure): boolean {
  if (f.chain) return f.chain.transient;
  if (f.status === undefined) return true;
  if (f.status === 429 || f.status >= 500) return true;
  return f.status === 403 && QUOTA_REASONS.has(f.reason);
}

/** How the shared limiter judges a Directory failure; no Retry-After is documented (§6.2), so the backoff is ours. */
function classifyFailure(f: Failure): RetryDecision {
  return { retry: isRetryable(f), throttled: isQuota(f) };
}

export interface DirectoryPacerOptions {
  /** Most requests per second (`gws.rate_limit`): the pace starts there and never goes above it. */
  rateLimit: number;
  /** At most this many requests in flight. */
  concurrency: number;
  retry: RetryOptions;
  /** Injectable clock and randomness (tests). */
  now?: RateControlOptions["now"];
  sleep?: RateControlOptions["sleep"];
  random?: RateControlOptions["random"];
}

/**
 * The core's AIMD limiter, set for the Directory API: the same pacer SCIM uses, halving on a
 * quota error and growing back when calm. It starts at the limit itself (SCIM starts at 80% of
 * its): the default limit already leaves headroom under Google's quota, and the quota is per
 * minute, so a start at the limit cannot overshoot it.
 */
export function createDirectoryPacer(options: DirectoryPacerOptions): RateControl {
  return createRateControl({
    initialRps: options.rateLimit,
    minRps: Math.min(1, options.rateLimit),
    maxRps: options.rateLimit,
    maxConcurrency: Math.max(1, options.concurrency),
    retry: options.retry,
    ...(options.now ? { now: options.now } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
}

export interface AuthContext {
  clientEmail: string;
  /** The setting that holds the credential: gws.service_account_file, or gws.workload_identity_config when keyless. */
  credentialSetting?: string;
  clientId?: string;
  adminEmail: string;
  /** gws.api_url and gws.token_url as used, for messages about answers that are not Google's. */
  apiUrl?: string;
  tokenUrl?: string;
}

/**
 * The SyncError for a failure that is final (not retryable, or out of attempts).
 * Authorisation problems get a hint naming the knob; everything else aborts the read as SOURCE_READ.
 */
function toSyncError(method: string, key: string, f: Failure, auth: AuthContext, attempts: number): SyncError {
  if (f.chain) return f.chain.toSyncError(attempts);
  const what = `${f.status ?? "network"} ${f.reason}`;
  const cause = new Error(f.message);
  if (f.reason === NOT_GOOGLE_JSON && f.status !== undefined) {
    // Not an answer from Google: a URL pointing elsewhere, or a proxy in between.
    const tries = attempts > 1 ? ` (${attempts} attempts)` : "";
    return f.token
      ? new SyncError("SOURCE_READ", `Google token endpoint ${auth.tokenUrl ?? "(default)"} answered ${f.status} with ${f.message}, not an OAuth token${tries}`, {
          hint: "check gws.token_url (leave it unset for https://oauth2.googleapis.com/token) and any proxy in between",
          cause,
        })
      : new SyncError("SOURCE_READ", `Google ${method} ${key} at ${auth.apiUrl ?? "(default)"} answered ${f.status} with ${f.message}, not Directory API JSON${tries}`, {
          hint: "check gws.api_url (leave it unset for https://admin.googleapis.com) and any proxy in between",
          cause,
        });
  }
  if (f.token && f.status !== undefined && f.status < 500 && f.status !== 429) {
    if (f.reason === "unauthorized_client") {
      return new SyncError("SOURCE_AUTH", `Google token request for ${auth.clientEmail} as ${auth.adminEmail} failed: ${what}`, {
        hint:
          `in the Google Admin console (Security > API controls > Domain-wide delegation) authorise client ID ` +
          `${auth.clientId ?? "(the service account's client_id)"} for the scopes ${DIRECTORY_READONLY_SCOPES.join(",")}`,
        cause,
      });
    }
    return new SyncError("SOURCE_AUTH", `Google token request for ${auth.clientEmail} as ${auth.adminEmail} failed: ${what} (${f.message})`, {
      hint: "check that gws.service_account_file holds a current key of an existing service account, that gws.user_email is an existing user, and that the clock is right",
      cause,
    });
  }
  if (!f.token && f.status === 403 && (f.reason === "forbidden" || /not authorized/i.test(f.message))) {
    return new SyncError("SOURCE_AUTH", `${method} ${key} failed: ${what} (${f.message})`, {
      hint: `the delegated user gws.user_email (${auth.adminEmail}) must be a super admin of the Workspace`,
      cause,
    });
  }
  if (!f.token && f.status === 403 && f.reason === "insufficientPermissions") {
    return new SyncError("SOURCE_AUTH", `${method} ${key} failed: ${what}`, {
      hint: `authorise the scopes ${DIRECTORY_READONLY_SCOPES.join(",")} for the service account's client ID in Domain-wide delegation`,
      cause,
    });
  }
  if (!f.token && f.status === 401) {
    return new SyncError("SOURCE_AUTH", `${method} ${key} failed: ${what}`, {
      hint: `the access token was refused; check ${auth.credentialSetting ?? "gws.service_account_file"} and gws.user_email`,
      cause,
    });
  }
  if (!f.token && f.status === 400 && key.includes(" query=")) {
    // A query the local check let through (an unknown custom field, say): the setting is wrong, not the read.
    const setting = method === "users.list" ? "gws.users_filter" : "gws.groups_filter";
    return new SyncError("CONFIG_INVALID", `${setting}: Google refused the ${method} ${key.slice(key.indexOf(" query=") + 1)}: ${what} (${f.message})`, {
      hint: `fix that query in ${setting} (a custom field is schemaName.fieldName, as defined in the Admin console); nothing was written`,
      cause,
    });
  }
  const after = attempts > 1 ? ` after ${attempts} attempts` : "";
  const via = f.token ? " (token request)" : "";
  return new SyncError("SOURCE_READ", `${method} ${key} failed: ${what}${via}${after}`, {
    hint: "the Google read was aborted and nothing was changed; run again later",
    cause,
  });
}

/** What one source's requests share: the client, the pacer and its retry policy, the tokens to scrub, the counters. */
export interface DirectoryContext {
  admin: admin_directory_v1.Admin;
  customer: string;
  /** Parallel members.list / users.get requests. */
  concurrency: number;
  retry: RetryOptions;
  /** Paces every attempt and retries with the shared backoff (`createDirectoryPacer`). */
  rate: RateControl;
  log: { debug(msg: string): void; info(msg: string): void; warn(msg: string): void };
  authContext: AuthContext & { apiUrl: string };
  /** Access tokens issued to this source: scrubbed from every failure message (a proxy may echo them). */
  accessTokens: ReadonlySet<string>;
  stats: { requests: Record<string, number>; userFetch?: "users.list" | "users.list+users.get"; pace: PaceSeen };
}

/** The pace as the requests saw it: the lowest it fell to, and the last value logged. */
export interface PaceSeen {
  lowestRps: number;
  lastRps: number;
}

/** Notes the limiter's current pace; a change is logged at debug (halved on a quota error, grown back when calm). */
function notePace(ctx: DirectoryContext): void {
  const rps = ctx.rate.stats().currentRps;
  const pace = ctx.stats.pace;
  if (rps === pace.lastRps) return;
  ctx.log.debug(`google: pace ${rps < pace.lastRps ? "slowed" : "grew"} to ${formatRps(rps)}/s (was ${formatRps(pace.lastRps)}/s)`);
  pace.lastRps = rps;
  pace.lowestRps = Math.min(pace.lowestRps, rps);
}

/** A pace as the log shows it: at most one decimal (17.5, 35). */
export const formatRps = (rps: number): string => String(Math.round(rps * 10) / 10);

/** One attempt's failure, carried through the limiter to be judged and, when final, turned into a SyncError. */
class FailedAttempt extends Error {
  constructor(
    readonly failure: Failure,
    readonly attempt: number,
  ) {
    super(failure.message);
  }
}

// googleapis-common sets retry: true unless told otherwise (googleapis-common apirequest.ts,
// https://github.com/googleapis/nodejs-googleapis-common/blob/main/src/apirequest.ts); our backoff owns every retry.
export const NO_RETRY = { retry: false } as const;

/** The array each list method's page carries; absent means an empty page (fields= drops empty arrays). */
const LIST_FIELD: Record<string, string> = { "groups.list": "groups", "members.list": "members", "users.list": "users" };

export function countRequest(stats: DirectoryContext["stats"], method: string): void {
  stats.requests[method] = (stats.requests[method] ?? 0) + 1;
}

/**
 * One logical request, each attempt paced by `ctx.rate`, with truncated exponential backoff on
 * quota errors (https://developers.google.com/admin-sdk/directory/v1/limits): a quota error also
 * halves the pace for every request.
 * `allowNotFound` turns a 404 into `undefined` (users.get of an external member).
 */
export async function call<T>(
  ctx: DirectoryContext,
  method: string,
  target: string,
  send: () => Promise<{ data: T; status?: number; headers?: unknown }>,
  allowNotFound = false,
): Promise<T | undefined> {
  const retry = ctx.retry;
  let attempt = 0;
  const classify = (error: unknown): RetryDecision => {
    if (!(error instanceof FailedAttempt)) return { retry: false, throttled: false };
    const decision = classifyFailure(error.failure);
    if ((decision.retry || decision.throttled) && error.attempt < retry.attempts) {
      const f = error.failure;
      ctx.log.debug(`google: ${method} ${target}: ${f.status ?? "network"} ${f.reason}; retry ${error.attempt}/${retry.attempts - 1}`);
    }
    return decision;
  };
  let response: Awaited<ReturnType<typeof send>> | undefined;
  try {
    response = await ctx.rate.run(async () => {
      attempt++;
      notePace(ctx);
      countRequest(ctx.stats, method);
      try {
        return await send();
      } catch (error) {
        const failure = describeFailure(error, ctx.accessTokens);
        if (allowNotFound && !failure.token && failure.status === 404) return undefined;
        throw new FailedAttempt(failure, attempt);
      }
    }, classify);
  } catch (error) {
    notePace(ctx);
    if (error instanceof FailedAttempt) throw toSyncError(method, target, error.failure, ctx.authContext, error.attempt);
    throw error;
  }
  if (response === undefined) return undefined;
  checkShape(ctx.authContext.apiUrl, method, target, response);
  return response.data;
}

/**
 * A 2xx answer that is not the Directory JSON asked for (an HTML page from a proxy or a wrong
 * gws.api_url) aborts the read: taken as an empty page it would read as "no groups".
 */
function checkShape(apiUrl: string, method: string, target: string, response: { data: unknown; status?: number; headers?: unknown }): void {
  const data = response.data;
  const fail = (what: string): never => {
    throw new SyncError("SOURCE_READ", `Google ${method} ${target} at ${apiUrl} answered ${response.status ?? "2xx"} with ${what}, not Directory API JSON`, {
      hint: "check gws.api_url (leave it unset for https://admin.googleapis.com) and any proxy in between; nothing was changed",
    });
  };
  if (typeof data !== "object" || data === null || Array.isArray(data)) fail(describeAnswer(data, contentTypeOf(response.headers)));
  const body = data as Record<string, unknown>;
  const list = LIST_FIELD[method];
  if (list !== undefined && body[list] !== undefined && !Array.isArray(body[list])) fail(`"${list}" as a ${typeof body[list]} instead of an array`);
  if (body.nextPageToken !== undefined && body.nextPageToken !== null && typeof body.nextPageToken !== "string") fail(`a nextPageToken that is not a string`);
  if (method === "users.get" && typeof body.id !== "string") fail("a user without an id");
}

/** Follows nextPageToken until it is absent; a short page is no sign of the end. `onPage` returning true stops early. */
export async function listAll<P extends { nextPageToken?: string | null }>(
  ctx: DirectoryContext,
  method: string,
  target: string,
  send: (pageToken: string | undefined) => Promise<{ data: P }>,
  onPage: (page: P) => boolean | void,
): Promise<void> {
  let pageToken: string | undefined;
  do {
    const page = await call(ctx, method, target, () => send(pageToken));
    if (page === undefined) return;
    if (onPage(page) === true) return;
    pageToken = page.nextPageToken ?? undefined;
  } while (pageToken);
}

/** The Content-Type of a gaxios response, whose headers are a fetch `Headers` (typed as Node's). */
function contentTypeOf(headers: unknown): string | null {
  const h = headers as { get?: (name: string) => string | null; ["content-type"]?: unknown } | undefined;
  if (typeof h?.get === "function") return h.get("content-type");
  return typeof h?.["content-type"] === "string" ? h["content-type"] : null;
}
