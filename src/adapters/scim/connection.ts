/** @module One logical SCIM request (attempts under the shared limiter, counted, errors without the token) and the reading of its JSON answer. */
import { ofetch, type FetchResponse } from "ofetch";
import { ScimRequestError } from "../../core/errors.ts";
import { createRateControl, type RateControl, type RateControlOptions } from "../../core/rate-control.ts";
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
  rate: RateControl;
  /** Requests sent by route (retries included), and deletes that found nothing. */
  counts: { byRoute: Record<string, number>; total: number; alreadyDeleted: number };
  send(request: ScimRequest, onFailedAttempt?: (error: ScimRequestError) => void): Promise<FetchResponse<unknown>>;
}

export interface ConnectOptions {
  baseURL: string;
  token: string;
  log?: { debug(message: string): void };
  rate: RateControlOptions;
  timeoutMs: number;
}

export function connect(options: ConnectOptions): ScimConnection {
  const { baseURL, token, log, timeoutMs } = options;
  const rate = createRateControl(options.rate);
  const counts: ScimConnection["counts"] = { byRoute: {}, total: 0, alreadyDeleted: 0 };

  // ofetch's own retry is off (`retry: 0`): every retry goes through RateControl, so the
  // counts are exact and throttling slows every request, not just the one that saw the 429.
  const http = ofetch.create({
    baseURL,
    retry: 0,
    timeout: timeoutMs,
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
  });

  /** One logical request: attempts under the limiter, errors translated without the token. */
  async function send(request: ScimRequest, onFailedAttempt?: (error: ScimRequestError) => void): Promise<FetchResponse<unknown>> {
    return rate.run(async () => {
      counts.byRoute[request.route] = (counts.byRoute[request.route] ?? 0) + 1;
      counts.total++;
      const started = Date.now();
      try {
        const response = await http.raw<unknown>(request.path, {
          method: request.method,
          ...(request.body === undefined ? {} : { body: request.body as Record<string, unknown> }),
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

  return { baseURL, token, ...(log ? { log } : {}), rate, counts, send };
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
