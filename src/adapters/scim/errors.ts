/** @module Turns ofetch failures into token-free ScimRequestErrors and judges which ones to retry. § cites docs/aws-scim.md. */
import { ScimRequestError, redactSecretShapes, type ScimFailureKind } from "../../core/errors.ts";
import type { RetryDecision } from "../../core/rate-control.ts";
import { describeAnswer } from "../http-answer.ts";

/** What was being asked, for the message: `PATCH /Groups/{id}` on id `…`. */
export interface RequestLabel {
  method: string;
  /** Route template, e.g. "PATCH /Groups/{id}". */
  route: string;
  /** The resource id, or a description like `externalId "x"`; never a secret. */
  target?: string;
}

/** Where a new SCIM token comes from, and what to do with it: also what the expiry warnings say (src/shell/token-expiry.ts). */
export const NEW_TOKEN_STEPS =
  "generate a new one in the IAM Identity Center console (Settings > Automatic provisioning > Generate token), put it where aws.scim_access_token " +
  "comes from (the file, the variable or the Secrets Manager secret), and set aws.scim_token_expires_at to its expiry date";

const AUTH_HINT =
  "the SCIM access token may have expired (one year after it was generated) or been rotated or deleted in the console: " +
  `${NEW_TOKEN_STEPS}, so runs warn before it expires again; also check aws.scim_endpoint is the one shown with the token`;

export const RESPONSE_HINT =
  "check aws.scim_endpoint: it must be the SCIM endpoint the IAM Identity Center console shows (Settings > Automatic provisioning), " +
  "reached directly or through a proxy that passes answers through unchanged";

const NETWORK_HINT = "check aws.scim_endpoint and that this host can reach it; transient failures were already retried";

function networkHint(endpoint: string | undefined): string {
  return endpoint === undefined ? NETWORK_HINT : `check aws.scim_endpoint (${endpoint}) and that this host can reach it; transient failures were already retried`;
}

function serverHint(endpoint: string | undefined): string {
  return `the request was retried; run again later, and if it persists check aws.scim_endpoint${endpoint === undefined ? "" : ` (${endpoint})`} and any proxy in front of it`;
}

const DETAIL_MAX = 300;
/** Retry-After is a number of seconds or an HTTP date (RFC 9110 §10.2.3); AWS has not been seen sending it (docs/aws-scim.md §9). */
const retryAfterByError = new WeakMap<ScimRequestError, number>();

/** The shape of ofetch's FetchError we read. Its `options` hold our headers, so nothing from it is kept but these. */
interface FetchErrorLike {
  name?: unknown;
  message?: unknown;
  status?: unknown;
  statusText?: unknown;
  data?: unknown;
  response?: { headers?: { get(name: string): string | null } };
  cause?: unknown;
}

/**
 * Builds the error thrown to callers from whatever ofetch threw. The result carries the method,
 * route, target, status and AWS's `detail` only: ofetch's FetchError exposes `options.headers`
 * (the bearer token), so it is never used as `cause`; a network failure's own cause is copied
 * into a fresh Error with just its name, code and message. The token is scrubbed from every
 * string taken from the wire, in case a proxy echoes it.
 */
export function toScimRequestError(error: unknown, label: RequestLabel, token: string, timeoutMs?: number, endpoint?: string): ScimRequestError {
  const scrub = (text: string) => redactSecretShapes(token ? text.split(token).join("[redacted]") : text);
  const e = (typeof error === "object" && error !== null ? error : {}) as FetchErrorLike;
  const where = `${label.route}${label.target ? ` (${label.target})` : ""}`;
  const status = typeof e.status === "number" && e.status > 0 ? e.status : undefined;

  if (status === undefined) {
    const root = networkRoot(error);
    const text = root.message.replace(/^\[\w+\]:\s*/, "");
    const what = scrub(root.name === "TimeoutError" ? `timed out${timeoutMs ? ` after ${timeoutMs} ms` : ""}` : root.code && !text.includes(root.code) ? `${root.code}: ${text}` : text);
    const cause = new Error(what);
    cause.name = root.name;
    return new ScimRequestError("network", `SCIM ${where} failed: no answer (${what})`, { cause, hint: networkHint(endpoint) });
  }

  const detail = readDetail(e.data, typeof e.statusText === "string" ? e.statusText : "", e.response?.headers?.get("content-type") ?? null, scrub);
  const kind = kindOf(status);
  const message = `SCIM ${where} failed: ${status}${detail ? ` ${detail}` : ""}`;
  const answer = { status, answer: detail };
  const result =
    kind === "auth"
      ? new ScimRequestError("auth", message, { ...answer, hint: AUTH_HINT })
      : kind === "server"
        ? new ScimRequestError(kind, message, { ...answer, hint: serverHint(endpoint) })
        : new ScimRequestError(kind, message, answer);
  if (kind === "throttled") {
    const retryAfter = parseRetryAfter(e.response?.headers?.get("retry-after") ?? null);
    if (retryAfter !== undefined) retryAfterByError.set(result, retryAfter);
  }
  return result;
}

function kindOf(status: number): ScimFailureKind {
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "notFound";
  if (status === 409) return "conflict";
  if (status === 429) return "throttled";
  if (status >= 500 || status === 408) return "server";
  return "invalid";
}

/** Statuses worth another try: throttling and transient server failures (docs/aws-scim.md §8.2). */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** The RateControl classifier for errors made by `toScimRequestError`. */
export function classifyScimError(error: unknown): RetryDecision {
  if (!(error instanceof ScimRequestError)) return { retry: false, throttled: false };
  if (error.kind === "throttled") {
    const retryAfterMs = retryAfterByError.get(error);
    return retryAfterMs === undefined ? { retry: true, throttled: true } : { retry: true, throttled: true, retryAfterMs };
  }
  if (error.kind === "network") return { retry: true, throttled: false };
  return { retry: error.status !== undefined && RETRYABLE_STATUS.has(error.status), throttled: false };
}

/** True when an attempt that failed this way may have been carried out by AWS anyway. */
export function isAmbiguous(error: unknown): boolean {
  return error instanceof ScimRequestError && (error.kind === "network" || error.kind === "server");
}

/**
 * AWS puts the reason in `detail` (§8.1); a 401/403 may use `message` (shape NOT KNOWN, §12).
 * An HTML page (a proxy's or load balancer's error page) is summed up by its title, not quoted.
 */
function readDetail(data: unknown, statusText: string, contentType: string | null, scrub: (text: string) => string): string {
  let text = "";
  if (typeof data === "object" && data !== null) {
    const d = data as Record<string, unknown>;
    text = typeof d.detail === "string" ? d.detail : typeof d.message === "string" ? d.message : typeof d.Message === "string" ? d.Message : "";
  } else if (typeof data === "string" && /^\s*<[a-z!]/i.test(data)) {
    return `(${describeAnswer(data, contentType, scrub)})`;
  } else if (typeof data === "string") {
    text = data.trim();
  }
  if (!text) text = statusText;
  text = scrub(text).replace(/\s+/g, " ");
  return text.length > DETAIL_MAX ? `${text.slice(0, DETAIL_MAX)}…` : text;
}

/** The innermost error of a failed fetch (ofetch wraps fetch's TypeError, which may wrap a socket error). */
function networkRoot(error: unknown): { name: string; code?: string; message: string } {
  let current: unknown = error;
  for (let depth = 0; depth < 5; depth++) {
    const c = current as { cause?: unknown } | null;
    if (typeof c?.cause !== "object" || c.cause === null) break;
    current = c.cause;
  }
  const c = (current ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  const name = typeof c.name === "string" ? c.name : "Error";
  const code = typeof c.code === "string" ? c.code : undefined;
  // ofetch's own message starts with `[METHOD] "url": <no response>`; the root's message is the useful part.
  const message = typeof c.message === "string" ? c.message : String(current);
  return code === undefined ? { name, message } : { name, code, message };
}

function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
