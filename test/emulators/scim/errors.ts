/** @module AWS-flavoured SCIM errors and timestamps for the SCIM emulator (docs/aws-scim.md §8). */

export const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";

/** The detail AWS sends for schema violations and for more than 100 member changes (§6.3, §8.1). */
export const UNPARSABLE = "Request is unparsable, syntactically incorrect, or violates schema.";
/** The detail of every captured 409, for users and groups alike (§6.1, test/fixtures/aws-captures/*_Conflict.json). */
export const DUPLICATE = "Refused to create a new, duplicate resource.";

export type ScimException =
  | "ValidationException"
  | "UnauthorizedException"
  | "AccessDeniedException"
  | "ResourceNotFoundException"
  | "ConflictException"
  | "ThrottlingException"
  | "InternalServerException";

/** Thrown by the emulator's handlers; the server turns it into the AWS error body. */
export class ScimError extends Error {
  override name = "ScimError";
  constructor(
    readonly status: number,
    readonly exception: ScimException,
    readonly detail: string,
  ) {
    super(`${status} ${exception}: ${detail}`);
  }
}

export const badRequest = (detail: string) => new ScimError(400, "ValidationException", detail);
export const notFound = (detail: string) => new ScimError(404, "ResourceNotFoundException", detail);
export const conflict = () => new ScimError(409, "ConflictException", DUPLICATE);

/**
 * The AWS error body (§8.1): both `schema` (non-standard) and `schemas`, `status` as a string,
 * `exceptionRequestId` and `timeStamp` "YYYY-MM-DD HH:MM:SS.mmm" (UTC, no zone). No `scimType`:
 * none of the captured bodies carries one. Used for every status, 401 and 429 included (their
 * real shape is NOT KNOWN, §12.1).
 */
export function errorBody(status: number, detail: string, requestId: string, now = new Date()) {
  return {
    schema: [ERROR_SCHEMA],
    schemas: [ERROR_SCHEMA],
    detail,
    status: String(status),
    exceptionRequestId: requestId,
    timeStamp: errorTimestamp(now),
  };
}

/** "2022-03-18 10:57:08.014" as in the captured 409 bodies. */
export function errorTimestamp(d: Date): string {
  return d.toISOString().replace("T", " ").replace("Z", "");
}

/** Resource timestamps: "2020-03-31T02:36:15Z", second precision with Z (§5.2). */
export function resourceTimestamp(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}
