/**
 * @module The keyless chain's failures (docs/google-directory.md §12): each answer a first-time
 * setup meets becomes one line naming the step and the fix. Text from the wire is scrubbed of
 * credential shapes before it goes into a message.
 */
import { SyncError, redactSecretShapes } from "../../core/errors.ts";
import { DIRECTORY_READONLY_SCOPES } from "./service-account.ts";

export type ChainStep = "aws-credentials" | "aws-region" | "sts" | "sign-jwt" | "token";

/** A failed step: final (a setup problem, SOURCE_AUTH, exit 2) or transient (retried by the source's backoff). */
export class ChainStepError extends Error {
  override name = "ChainStepError";
  readonly step: ChainStep;
  readonly transient: boolean;
  readonly status: number | undefined;
  readonly reason: string;
  readonly hint: string | undefined;

  constructor(step: ChainStep, message: string, options: { transient: boolean; status?: number; reason?: string; hint?: string }) {
    super(message);
    this.step = step;
    this.transient = options.transient;
    this.status = options.status;
    this.reason = options.reason ?? "unknown";
    this.hint = options.hint;
  }

  /** The SyncError this step's failure ends a run with; `attempts` > 1 when it was retried. */
  toSyncError(attempts = 1): SyncError {
    const after = attempts > 1 ? ` (after ${attempts} attempts)` : "";
    return new SyncError(this.transient ? "SOURCE_READ" : "SOURCE_AUTH", `keyless Google authentication, ${this.step}: ${this.message}${after}`, {
      hint: this.hint ?? (this.transient ? "Google or AWS did not answer; nothing was changed, run again later" : "see README: Set up Google Workspace, keyless"),
    });
  }
}

interface StepContext {
  serviceAccountEmail?: string;
  projectNumber?: string;
}

/** What a thrown error says about the wire: status, OAuth `error` / Google `error.status`, description. */
function readWire(error: unknown): { status?: number; reason: string; text: string } {
  const e = error as { response?: { status?: unknown; data?: unknown }; message?: unknown; code?: unknown };
  const status = typeof e?.response?.status === "number" ? e.response.status : undefined;
  const data = e?.response?.data as Record<string, unknown> | undefined;
  const message = typeof e?.message === "string" ? e.message : String(error);
  if (data && typeof data.error === "string") return { ...(status ? { status } : {}), reason: data.error, text: String(data.error_description ?? data.error) };
  const envelope = data?.error as { status?: unknown; message?: unknown; details?: { reason?: unknown }[] } | undefined;
  if (envelope && typeof envelope === "object") {
    const detail = envelope.details?.find((d) => typeof d?.reason === "string")?.reason;
    return { ...(status ? { status } : {}), reason: String(detail ?? envelope.status ?? "unknown"), text: String(envelope.message ?? message) };
  }
  return { ...(status ? { status } : {}), reason: typeof e?.code === "string" ? e.code : status ? "unknown" : "network error", text: message };
}

/** Any failure of `step` as a ChainStepError with the fix for what Google or AWS answered. */
export function chainStepError(step: ChainStep, error: unknown, ctx: StepContext = {}): ChainStepError {
  if (error instanceof ChainStepError) return error;
  const wire = readWire(error);
  const text = redactSecretShapes(wire.text).replace(/\s+/g, " ").slice(0, 300);
  const transient = step !== "aws-credentials" && (wire.status === undefined || wire.status === 429 || wire.status >= 500);
  const fail = (message: string, hint?: string) =>
    new ChainStepError(step, message, { transient, reason: wire.reason, ...(wire.status ? { status: wire.status } : {}), ...(hint ? { hint } : {}) });
  if (transient) return fail(`${wire.status ?? "network"} ${wire.reason}: ${text}`);
  switch (step) {
    case "aws-credentials":
      return fail(
        `the AWS SDK found no credentials (${text})`,
        "on Lambda the function's role provides them; on EC2 attach an instance profile (IMDSv2); elsewhere set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
      );
    case "sts":
      return stsError(wire.reason, text, fail);
    case "sign-jwt":
      return signJwtError(wire.status, wire.reason, text, ctx, fail);
    default:
      return tokenError(wire.reason, text, ctx, fail);
  }
}

type Fail = (message: string, hint?: string) => ChainStepError;

/** §12.1: Google STS refusing the signed GetCallerIdentity request. */
function stsError(reason: string, text: string, fail: Fail): ChainStepError {
  if (reason === "invalid_target") {
    return fail(
      `Google STS: ${text}`,
      "the audience in gws.workload_identity_config names a pool or provider that does not exist or is disabled: check it with gcloud iam workload-identity-pools providers describe PROVIDER --workload-identity-pool=POOL --location=global",
    );
  }
  if (reason === "invalid_request" && /audience/i.test(text)) {
    return fail(`Google STS: ${text}`, "fix the audience in gws.workload_identity_config: write the file again with gcloud iam workload-identity-pools create-cred-config … --aws");
  }
  if (reason === "unauthorized_client" || reason === "access_denied") {
    return fail(
      `Google STS: ${text}`,
      "the provider does not trust this AWS role: create it with --account-id=<this AWS account> and an attribute condition that admits the role (attribute.aws_role == 'arn:aws:sts::ACCOUNT:assumed-role/ROLE'); changes take up to 5 minutes",
    );
  }
  if (reason === "invalid_grant") {
    return fail(`Google STS: ${text}`, "AWS refused the signed GetCallerIdentity request: the AWS credentials are invalid or expired, or the clock is off");
  }
  return fail(`Google STS: ${reason}: ${text}`, "check gws.workload_identity_config against the provider (README: Set up Google Workspace, keyless)");
}

/** §12.2: IAM Credentials refusing signJwt. */
function signJwtError(status: number | undefined, reason: string, text: string, ctx: StepContext, fail: Fail): ChainStepError {
  const account = ctx.serviceAccountEmail ?? "the service account";
  const principal = `principalSet://iam.googleapis.com/projects/${ctx.projectNumber ?? "PROJECT_NUMBER"}/locations/global/workloadIdentityPools/POOL/attribute.aws_role/arn:aws:sts::ACCOUNT:assumed-role/ROLE`;
  if (reason === "SERVICE_DISABLED") {
    return fail(`IAM Credentials: ${text}`, `enable the IAM Service Account Credentials API in the pool's project: gcloud services enable iamcredentials.googleapis.com --project=${ctx.projectNumber ?? "PROJECT"}`);
  }
  if (status === 404) return fail(`IAM Credentials: ${text}`, `gws.service_account_email (${account}) names no service account: check the address`);
  if (status === 403) {
    return fail(
      `IAM Credentials: ${text}`,
      `the federated AWS role may not sign as ${account}: gcloud iam service-accounts add-iam-policy-binding ${account} --role=roles/iam.serviceAccountTokenCreator --member=${principal} ` +
        "(roles/iam.workloadIdentityUser is not enough: it lacks iam.serviceAccounts.signJwt), and check that gws.service_account_email is the account's address; bindings take up to 7 minutes",
    );
  }
  return fail(`IAM Credentials: ${status ?? "no status"} ${reason}: ${text}`, "check gws.service_account_email and gws.iam_credentials_url (leave it unset)");
}

/** §12.3 / §7.4: the token endpoint refusing the signed assertion. */
function tokenError(reason: string, text: string, ctx: StepContext, fail: Fail): ChainStepError {
  const account = ctx.serviceAccountEmail ?? "the service account";
  if (reason === "unauthorized_client") {
    return fail(
      `token endpoint: ${reason}: ${text}`,
      `in the Google Admin console (Security > API controls > Domain-wide delegation) authorise the client ID of ${account} ` +
        `(gcloud iam service-accounts describe ${account} --format='value(uniqueId)') for the scopes ${DIRECTORY_READONLY_SCOPES.join(",")}`,
    );
  }
  return fail(`token endpoint: ${reason}: ${text}`, "check that gws.user_email is an existing user of the Workspace and that the clock is right");
}
