/** @module Google API error envelope (docs/google-directory.md §6.1) and the OAuth token endpoint's error bodies (§7.4). */

/** One entry of `error.errors[]` in a Google API error envelope. */
export interface GoogleErrorItem {
  message: string;
  domain: string;
  reason: string;
  location?: string;
  locationType?: string;
}

/**
 * A Directory API error. The server renders it as
 * `{"error":{"code","message","errors":[{message,domain,reason}]}}` (§6.1). No `status` string is
 * added: §6.1/§9 say it is NOT KNOWN whether the Admin SDK sends one, so clients must not rely on it.
 */
export class GoogleApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly domain = "global",
    readonly extra: Partial<Pick<GoogleErrorItem, "location" | "locationType">> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): { error: { code: number; message: string; errors: GoogleErrorItem[] } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        errors: [{ message: this.message, domain: this.domain, reason: this.reason, ...this.extra }],
      },
    };
  }
}

export const badRequest = (message = "Bad Request") => new GoogleApiError(400, "badRequest", message);
export const invalid = (message = "Invalid Input") => new GoogleApiError(400, "invalid", message);
export const notFound = (what: string) => new GoogleApiError(404, "notFound", `Resource Not Found: ${what}`);
export const rangeError = (value: string, min: number, max: number) =>
  new GoogleApiError(400, "invalid", `Invalid value '${value}'. Values must be within the range: [${min}, ${max}]`);
/** §6.1: the impersonated `sub` is not an admin (or no `sub`). */
export const notAuthorized = () => new GoogleApiError(403, "forbidden", "Not Authorized to access this resource/api");
/** §6.2 / §2.4: what a flaky backend (and an expired members.list session) answers. */
export const backendError = () => new GoogleApiError(503, "backendError", "Service unavailable. Please try again");

/** An error of the OAuth token endpoint: a flat `{error, error_description}` body (§7.4). */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
  }

  body(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/** §7.4: the descriptions Google's token endpoint sends, word for word. */
export const UNAUTHORIZED_CLIENT_DESCRIPTION =
  "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.";
export const INVALID_SIGNATURE_DESCRIPTION = "Invalid JWT Signature.";
/** The `sub` of the assertion names no user of the Workspace (a mistyped gws.user_email). */
export const UNKNOWN_SUBJECT_DESCRIPTION = "Invalid email or User ID";
export const BAD_TIMES_DESCRIPTION =
  "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";
