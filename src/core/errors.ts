/**
 * @module Errors with a stable code, a hint that names the knob to turn, and the exit code
 * the shells use. Adapters translate vendor errors into these; secrets never go in a message.
 */

import type { StopDetail } from "./refusals.ts";

export const EXIT = {
  ok: 0,
  /** The run finished but some records failed; they are tried again next run. */
  partial: 1,
  /** Usage or configuration error: nothing was read or written. */
  config: 2,
  /** Refused for safety: nothing was written. */
  safety: 3,
  /** `plan --detailed-exitcode` only: changes are pending (distinct from 1, 2 and 3, so CI can tell them apart). */
  pending: 4,
  /**
   * Stopped by Ctrl-C (SIGINT, 128 + 2) or by SIGTERM (128 + 15: `systemctl stop`, a shutdown,
   * systemd's TimeoutStartSec): operations in flight finished, the state holds what was done,
   * the rest continues next run. The shell's usual codes for these signals, so scripts read them.
   */
  interrupted: 130,
  terminated: 143,
} as const;

/** The exit code of a run stopped from outside, by the AbortSignal's reason: 130 for "SIGINT", else 143. */
export function exitForStop(by: unknown): number {
  return by === "SIGINT" ? EXIT.interrupted : EXIT.terminated;
}

export type ErrorCode =
  | "CONFIG_INVALID"
  | "CONFIG_MISSING"
  | "SECRET_UNAVAILABLE"
  | "SOURCE_AUTH"
  | "SOURCE_READ"
  | "SCIM_AUTH"
  | "SCIM_REQUEST"
  | "SCIM_RESPONSE"
  | "STATE_READ"
  | "STATE_WRITE"
  | "STATE_CONFLICT"
  | "STATE_INVALID"
  | "SAFETY_REFUSED"
  | "DEADLINE"
  | "STOPPED"
  | "TARGET_UNKNOWN";

const EXIT_BY_CODE: Record<ErrorCode, number> = {
  CONFIG_INVALID: EXIT.config,
  CONFIG_MISSING: EXIT.config,
  SECRET_UNAVAILABLE: EXIT.config,
  SOURCE_AUTH: EXIT.config,
  SOURCE_READ: EXIT.partial,
  SCIM_AUTH: EXIT.config,
  SCIM_REQUEST: EXIT.partial,
  SCIM_RESPONSE: EXIT.partial,
  STATE_READ: EXIT.partial,
  STATE_WRITE: EXIT.partial,
  STATE_CONFLICT: EXIT.partial,
  STATE_INVALID: EXIT.config,
  SAFETY_REFUSED: EXIT.safety,
  DEADLINE: EXIT.partial,
  STOPPED: EXIT.terminated,
  /** `sync --user` / `--group` naming what the source does not have in scope (nor the state manages). */
  TARGET_UNKNOWN: EXIT.config,
};

export interface SyncErrorOptions {
  hint?: string;
  cause?: unknown;
  /** A stop on the run's own rules, as a value the shells word (src/shell/messages.ts). */
  detail?: StopDetail;
}

export class SyncError extends Error {
  override name = "SyncError";
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly detail?: StopDetail;

  constructor(code: ErrorCode, message: string, options: SyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.hint !== undefined) this.hint = options.hint;
    if (options.detail !== undefined) this.detail = options.detail;
  }

  get exitCode(): number {
    if (this.detail?.kind === "stopped") return exitForStop(this.detail.by);
    return EXIT_BY_CODE[this.code];
  }

  /** One line for the user: what failed and how to fix it. */
  describe(): string {
    // "…is not valid.: check…" reads badly: AWS's details end with a full stop.
    return this.hint ? `${this.message.replace(/\.$/, "")}: ${this.hint}` : this.message;
  }
}

export function isSyncError(error: unknown): error is SyncError {
  return error instanceof SyncError;
}

/** How a failed SCIM request failed, as far as the executor cares. */
export type ScimFailureKind = "conflict" | "notFound" | "invalid" | "throttled" | "server" | "network" | "auth" | "response";

/** A SCIM request that failed after the adapter's retries. Carries no token and no body with secrets. */
export class ScimRequestError extends SyncError {
  override name = "ScimRequestError";
  readonly kind: ScimFailureKind;
  readonly status?: number;
  /** AWS's own words for the failure (its `detail`), token-free and shortened: the audit trail's reason. */
  readonly answer?: string;

  constructor(kind: ScimFailureKind, message: string, options: SyncErrorOptions & { status?: number; answer?: string } = {}) {
    super(kind === "auth" ? "SCIM_AUTH" : kind === "response" ? "SCIM_RESPONSE" : "SCIM_REQUEST", message, options);
    this.kind = kind;
    if (options.status !== undefined) this.status = options.status;
    if (options.answer !== undefined && options.answer !== "") this.answer = options.answer;
  }
}

/**
 * Credential shapes recognisable without knowing the value: Google OAuth access tokens (`ya29.`),
 * bearer headers, PEM private keys (raw, or inside JSON with `\n` escapes), signed JWTs (the
 * service account's token assertion is one), a service-account key id next to its name, and the
 * AWS shapes of the keyless route (subject token, SigV4 signature, session token). The
 * logger applies these to every line and the adapters to every string they take off the wire,
 * so a secret echoed by a proxy or a library never reaches a log, an error or the state.
 */
const SECRET_SHAPES: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, "[private key]"],
  [/\bya29\.[\w.~+/=-]+/g, "[access token]"],
  [/\beyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]*/g, "[jwt]"],
  [/\b(Bearer)(\s+|%20)(?!\*\*\*)[\w.~+/=-]{8,}/g, "$1$2***"],
  [/(private_key_id\W{1,8})[0-9a-f]{16,}/gi, "$1***"],
  // Keyless (gws.auth = "workload-identity"): the STS subject token (a URL-encoded signed AWS
  // request), a SigV4 signature, an AWS session token (STS's base64 shapes) and a secret key's field.
  [/%7B%22url%22%3A%22https?%3A%2F%2Fsts\.[\w.%~+/=-]*/gi, "[aws subject token]"],
  [/(Signature=)[0-9a-f]{64}/g, "$1***"],
  [/\b(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[\w+/=%-]{16,}/g, "[aws session token]"],
  [/((?:aws_)?secret_?access_?key\W{1,8})[\w+/]{40}\b/gi, "$1***"],
];

/** `text` with every recognisable credential (see SECRET_SHAPES) replaced by a placeholder. */
export function redactSecretShapes(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_SHAPES) out = out.replace(pattern, replacement);
  return out;
}
