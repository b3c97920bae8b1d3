/**
 * @module Errors with a stable code, a hint that names the knob to turn, and the exit code
 * the shells use. Adapters translate vendor errors into these; secrets never go in a message.
 */

export const EXIT = {
  ok: 0,
  /** The run finished but some records failed; they are tried again next run. */
  partial: 1,
  /** Usage or configuration error: nothing was read or written. */
  config: 2,
  /** Refused for safety: nothing was written. */
  safety: 3,
} as const;

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
  | "DEADLINE";

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
};

export interface SyncErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class SyncError extends Error {
  override name = "SyncError";
  readonly code: ErrorCode;
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options: SyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.hint !== undefined) this.hint = options.hint;
  }

  get exitCode(): number {
    return EXIT_BY_CODE[this.code];
  }

  /** One line for the user: what failed and how to fix it. */
  describe(): string {
    return this.hint ? `${this.message}: ${this.hint}` : this.message;
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

  constructor(kind: ScimFailureKind, message: string, options: SyncErrorOptions & { status?: number } = {}) {
    super(kind === "auth" ? "SCIM_AUTH" : kind === "response" ? "SCIM_RESPONSE" : "SCIM_REQUEST", message, options);
    this.kind = kind;
    if (options.status !== undefined) this.status = options.status;
  }
}
