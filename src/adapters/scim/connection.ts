/** @module One logical SCIM request (attempts under the read or the write pacer, counted, errors without the token) and the reading of its JSON answer. */
import { ofetch, type FetchResponse } from "ofetch";
import { ScimRequestError } from "../../core/errors.ts";
import { createRequestPacers, type RateControlOptions, type RequestKind, type RequestPacers } from "../../core/rate-control.ts";
import { describeAnswer } from "../http-answer.ts";
import { RESPONSE_HINT, classifyScimError, toScimRequestError, type RequestLabel } from "./errors.ts";

export interface ScimRequest extends RequestLabel {
  /** Path below the endpoint, with its query already encoded. */
  path: string;
  body?: unknown;
}

/** What the request helpers share: one per target. */
export interface ScimConnection {
  /** The endpoint without its trailing slash. */
  baseURL: string;
  token: string;
  log?: { debug(message: string): void };
  pacers: RequestPacers;
  /** Requests sent by route and by kind (retries included), and deletes that found nothing. */
  counts: { byRoute: Record<string, number>; byKind: Record<RequestKind, number>; total: number; alreadyDeleted: number };
  /** `onAttempt` is called as each attempt is sent, the first and every retry. */
  send(request: ScimRequest, onFailedAttempt?: (error: ScimRequestError) => void, onAttempt?: () => void): Promise<FetchResponse<unknown>>;
}

export interface ConnectOptions {
  baseURL: string;
  token: string;
  log?: { debug(message: string): void };
  /** One pacer per kind: AWS limits reads and writes apart (docs/aws-scim.md §9). */
  rate: Record<RequestKind, RateControlOptions>;
  timeoutMs: number;
  /** Told every answer's headers, errors included, and when its attempt was sent (`doctor` judges the clock by the `Date` header). */
  onAnswer?: (headers: Headers, sentAt: number) => void;
}

/**
 * Which limit a request counts against: AWS's read APIs (GetUser, ListUsers, GetGroup,
 * ListGroups) are GETs, its write APIs (Create*, Patch*, Put*, Delete*) every other method
 * (docs/aws-scim.md §9). A member PATCH is a PatchGroup: a write, whatever its member count;
 * the unpublished limit on membership operations answers the same 429 and slows the writes.
 */
export function requestKind(method: string): RequestKind {
  const m = method.toUpperCase();
  return m === "GET" || m === "HEAD" ? "read" : "write";
}

export function connect(options: ConnectOptions): ScimConnection {
  const { baseURL, token, log, timeoutMs } = options;
  const pacers = createRequestPacers(options.rate);
  const counts: ScimConnection["counts"] = { byRoute: {}, byKind: { read: 0, write: 0 }, total: 0, alreadyDeleted: 0 };

  // ofetch's own retry is off (`retry: 0`): every retry goes through the pacers, so the counts
  // are exact and throttling slows every request of its kind, not just the one that saw the 429.
  const http = ofetch.create({
    baseURL,
    retry: 0,
    timeout: timeoutMs,
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
  });
  const { onAnswer } = options;

  /** One logical request: attempts under the limiter, errors translated without the token. */
  async function send(request: ScimRequest, onFailedAttempt?: (error: ScimRequestError) => void, onAttempt?: () => void): Promise<FetchResponse<unknown>> {
    const kind = requestKind(request.method);
    return pacers.run(kind, async () => {
      onAttempt?.();
      counts.byRoute[request.route] = (counts.byRoute[request.route] ?? 0) + 1;
      counts.byKind[kind]++;
      counts.total++;
      const started = Date.now();
      try {
        const response = await http.raw<unknown>(request.path, {
          method: request.method,
          ...(request.body === undefined ? {} : { body: request.body as Record<string, unknown> }),
          ...(onAnswer ? { onResponse: ({ response }: { response: Response }) => onAnswer(response.headers, started) } : {}),
        });
        log?.debug(`SCIM ${request.route}${request.target ? ` (${request.target})` : ""}: ${response.status} in ${Date.now() - started} ms`);
        return response;
      } catch (error) {
        const failure = toScimRequestError(error, request, token, timeoutMs, baseURL);
        log?.debug(`${failure.message} after ${Date.now() - started} ms`);
        onFailedAttempt?.(failure);
        throw failure;
      }
    }, classifyScimError);
  }

  return { baseURL, token, ...(log ? { log } : {}), pacers, counts, send };
}

/**
 * An answer that is not SCIM: the endpoint (or a proxy in front of it) is not IAM Identity
 * Center's. The message names the request and the endpoint; nothing in it comes from our request.
 */
export function unexpected(conn: ScimConnection, request: RequestLabel, what: string, status?: number): ScimRequestError {
  return new ScimRequestError("response", `SCIM ${request.route}${request.target ? ` (${request.target})` : ""} at ${conn.baseURL} answered ${what}`, {
    hint: RESPONSE_HINT,
    ...(status === undefined ? {} : { status }),
  });
}

/** A JSON object body, or a "response" error naming the request and endpoint (never the token). */
export function objectBody(conn: ScimConnection, response: FetchResponse<unknown>, request: RequestLabel): Record<string, unknown> {
  const data = response._data;
  if (typeof data === "object" && data !== null && !Array.isArray(data)) return data as Record<string, unknown>;
  const scrub = (text: string) => text.split(conn.token).join("[redacted]");
  throw unexpected(conn, request, `${response.status} with ${describeAnswer(data, response.headers.get("content-type"), scrub)}, not SCIM JSON`, response.status);
}

/** The same connection, calling `onWriteAttempt` as each attempt of a write (not a read) is sent: the audit trail's attempt count. */
export function observedConnection(conn: ScimConnection, onWriteAttempt: () => void): ScimConnection {
  return {
    ...conn,
    send: (request, onFailedAttempt, onAttempt) =>
      conn.send(request, onFailedAttempt, () => {
        onAttempt?.();
        if (requestKind(request.method) === "write") onWriteAttempt();
      }),
  };
}
