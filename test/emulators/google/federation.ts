/**
 * @module Workload Identity Federation on the Google emulator (docs/google-directory.md §11–§12):
 * the STS token exchange for an AWS provider and IAM Credentials `signJwt`. The emulator plays AWS
 * too: it knows the test's AWS secret key, so it recomputes the SigV4 signature of the subject
 * token, which is the honest check available offline (the real STS has AWS check the request).
 */
import { createHmac, createHash, createSign, randomBytes } from "node:crypto";
import { OAuthError } from "./errors.ts";

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
export const AWS_SUBJECT_TOKEN_TYPE = "urn:ietf:params:aws:token-type:aws4_request";
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
export const TOKEN_CREATOR = "roles/iam.serviceAccountTokenCreator";
/** §12.1: Google STS's descriptions, word for word. */
export const INVALID_TARGET_DESCRIPTION =
  "The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.";
export const INVALID_AUDIENCE_DESCRIPTION =
  "Invalid value for \"audience\". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.";
export const ATTRIBUTE_CONDITION_DESCRIPTION = "The given credential is rejected by the attribute condition.";

/** An AWS identity the emulator recognises: temporary credentials of an assumed role, as Lambda and EC2 have. */
export interface AwsIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** The caller's ARN as GetCallerIdentity answers it: arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION. */
  arn: string;
}

export interface FederationOptions {
  projectNumber?: string;
  poolId?: string;
  providerId?: string;
  /** The AWS account the provider is created for (`--account-id`); default the identity's. */
  awsAccountId?: string;
  /** Role ARNs (arn:aws:sts::ACCOUNT:assumed-role/ROLE) the provider's attribute condition admits; default the identity's role. */
  trustedRoles?: string[];
  /** The pool or provider is deleted or disabled: STS answers invalid_target. */
  providerMissing?: boolean;
  /** IAM bindings on the service account: member → roles. Default: the identity's role principal set holds TOKEN_CREATOR. */
  serviceAccountBindings?: { member: string; role: string }[];
  /** The IAM Service Account Credentials API is not enabled in the pool's project. */
  iamCredentialsDisabled?: boolean;
  /** Lifetime of federated tokens; default 3599 s. */
  federatedTokenLifetimeSeconds?: number;
  identity?: Partial<AwsIdentity>;
}

interface FederatedGrant {
  awsRole: string;
  expiresAt: number;
}

/** The federation side of the emulator: setup as a test made it, the identity it plays, the tokens it issued. */
export class Federation {
  readonly projectNumber: string;
  readonly poolId: string;
  readonly providerId: string;
  readonly identity: AwsIdentity;
  readonly options: FederationOptions;
  private readonly tokens = new Map<string, FederatedGrant>();

  constructor(options: FederationOptions = {}) {
    this.options = options;
    this.projectNumber = options.projectNumber ?? "123456789012";
    this.poolId = options.poolId ?? "idpscim-pool";
    this.providerId = options.providerId ?? "aws-lambda";
    this.identity = {
      accessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(96).toString("base64")}`,
      arn: "arn:aws:sts::210987654321:assumed-role/idpscim-sync/idpscim-sync",
      ...options.identity,
    };
  }

  get audience(): string {
    return `//iam.googleapis.com/projects/${this.projectNumber}/locations/global/workloadIdentityPools/${this.poolId}/providers/${this.providerId}`;
  }

  /** The pool-relative principal set of an assumed role, as IAM bindings name it (attribute.aws_role). */
  rolePrincipal(awsRole: string): string {
    return `principalSet://iam.googleapis.com/projects/${this.projectNumber}/locations/global/workloadIdentityPools/${this.poolId}/attribute.aws_role/${awsRole}`;
  }

  /** The credential configuration `gcloud iam workload-identity-pools create-cred-config --aws` writes, its STS at `stsUrl`. */
  credentialConfig(stsUrl: string): Record<string, unknown> {
    return {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: this.audience,
      subject_token_type: AWS_SUBJECT_TOKEN_TYPE,
      token_url: stsUrl,
      credential_source: {
        environment_id: "aws1",
        region_url: "http://169.254.169.254/latest/meta-data/placement/availability-zone",
        url: "http://169.254.169.254/latest/meta-data/iam/security-credentials",
        regional_cred_verification_url: "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
        imdsv2_session_token_url: "http://169.254.169.254/latest/api/token",
      },
    };
  }

  /** §11.2: `POST /v1/token`, the form checked as Google documents it; returns the federated token's answer. */
  exchange(form: URLSearchParams, now = Date.now()): Record<string, unknown> {
    const bad = (description: string, error = "invalid_request") => new OAuthError(400, error, description);
    const grantType = form.get("grant_type");
    if (grantType !== TOKEN_EXCHANGE_GRANT) throw bad(`Invalid value for "grant_type": ${grantType ?? "(missing)"}`, "unsupported_grant_type");
    if (form.get("requested_token_type") !== ACCESS_TOKEN_TYPE) throw bad('Invalid value for "requested_token_type".');
    if (form.get("subject_token_type") !== AWS_SUBJECT_TOKEN_TYPE) throw bad('Invalid value for "subject_token_type".');
    const scopes = (form.get("scope") ?? "").split(" ");
    if (!scopes.includes(CLOUD_PLATFORM_SCOPE)) throw new OAuthError(400, "invalid_scope", "Invalid scope.");
    const audience = form.get("audience") ?? "";
    if (!/^\/\/iam\.googleapis\.com\/projects\/[^/]+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+$/.test(audience)) throw bad(INVALID_AUDIENCE_DESCRIPTION);
    if (audience !== this.audience || this.options.providerMissing) throw new OAuthError(400, "invalid_target", INVALID_TARGET_DESCRIPTION);
    const arn = this.verifySubjectToken(form.get("subject_token") ?? "", audience, now);
    const awsRole = assumedRole(arn);
    const account = arn.split(":")[4];
    const trusted = this.options.trustedRoles ?? [assumedRole(this.identity.arn)];
    if (account !== (this.options.awsAccountId ?? this.identity.arn.split(":")[4]) || !trusted.includes(awsRole)) {
      throw new OAuthError(400, "unauthorized_client", ATTRIBUTE_CONDITION_DESCRIPTION);
    }
    const lifetime = this.options.federatedTokenLifetimeSeconds ?? 3599;
    const token = `ya29.d.${randomBytes(64).toString("base64url")}`;
    this.tokens.set(token, { awsRole, expiresAt: now + lifetime * 1000 });
    return { access_token: token, issued_token_type: ACCESS_TOKEN_TYPE, token_type: "Bearer", expires_in: lifetime };
  }

  /**
   * §11.2: the subject token is a URL-encoded JSON GetCallerIdentity request signed with SigV4.
   * Checks its shape, then plays AWS: the key id names a known identity, the session token is its
   * own, the date is fresh, and the signature recomputed with its secret key matches. Returns the
   * caller's ARN. AWS's refusals come back as invalid_grant (their exact wording is unknown, §12.1).
   */
  private verifySubjectToken(subjectToken: string, audience: string, now: number): string {
    const bad = (why: string) => new OAuthError(400, "invalid_request", `Invalid subject token: ${why}.`);
    const aws = (code: string, message: string) => new OAuthError(400, "invalid_grant", `Received invalid AWS response of type ${code} with error message: ${message}`);
    let request: { url?: unknown; method?: unknown; headers?: unknown };
    try {
      request = JSON.parse(decodeURIComponent(subjectToken));
    } catch {
      throw bad("not URL-encoded JSON");
    }
    const url = typeof request.url === "string" ? request.url : "";
    const region = /^https:\/\/sts\.([a-z0-9-]+)\.amazonaws\.com\?Action=GetCallerIdentity&Version=2011-06-15$/.exec(url)?.[1];
    if (!region) throw bad("the url is not a regional GetCallerIdentity request");
    if (request.method !== "POST") throw bad("the method is not POST");
    if (!Array.isArray(request.headers)) throw bad("no headers list");
    const headers = new Map<string, string>();
    for (const h of request.headers as { key?: unknown; value?: unknown }[]) {
      if (typeof h?.key !== "string" || typeof h.value !== "string") throw bad("a header is not {key, value}");
      headers.set(h.key.toLowerCase(), h.value);
    }
    if (headers.get("host") !== `sts.${region}.amazonaws.com`) throw bad("the host header does not match the url");
    if (headers.get("x-goog-cloud-target-resource") !== audience) throw bad("x-goog-cloud-target-resource is not the audience");
    const amzDate = headers.get("x-amz-date") ?? "";
    const auth = /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)\/(\d{8})\/([a-z0-9-]+)\/sts\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(headers.get("authorization") ?? "");
    if (!auth || !/^\d{8}T\d{6}Z$/.test(amzDate)) throw bad("no SigV4 Authorization and x-amz-date");
    const [, keyId, dateStamp, scopeRegion, signedHeaderList, signature] = auth as unknown as string[];
    const signed = signedHeaderList!.split(";");
    if (dateStamp !== amzDate.slice(0, 8) || scopeRegion !== region) throw aws("SignatureDoesNotMatch", "Credential should be scoped to a valid region and date.");
    if (!signed.includes("host") || !signed.includes("x-amz-date") || (headers.has("x-amz-security-token") && !signed.includes("x-amz-security-token"))) {
      throw aws("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
    }
    const id = this.identity;
    if (keyId !== id.accessKeyId) throw aws("InvalidClientTokenId", "The security token included in the request is invalid.");
    if ((headers.get("x-amz-security-token") ?? undefined) !== id.sessionToken) throw aws("InvalidClientTokenId", "The security token included in the request is invalid.");
    const signedAt = Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    if (Math.abs(now - signedAt) > 15 * 60_000) throw aws("SignatureDoesNotMatch", "Signature expired.");
    const expected = sigV4Signature({ secretAccessKey: id.secretAccessKey, region, amzDate, url, headers, signed });
    if (expected !== signature) throw aws("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
    return id.arn;
  }

  /** The grant of a federated token, or undefined when unknown or expired. */
  lookup(token: string, now = Date.now()): FederatedGrant | undefined {
    const grant = this.tokens.get(token);
    return grant && grant.expiresAt > now ? grant : undefined;
  }

  /** §11.3: may the federated identity of `grant` sign as the service account? */
  maySign(grant: FederatedGrant): boolean {
    const bindings = this.options.serviceAccountBindings ?? [{ member: this.rolePrincipal(grant.awsRole), role: TOKEN_CREATOR }];
    const pool = `principalSet://iam.googleapis.com/projects/${this.projectNumber}/locations/global/workloadIdentityPools/${this.poolId}/*`;
    return bindings.some((b) => b.role === TOKEN_CREATOR && (b.member === this.rolePrincipal(grant.awsRole) || b.member === pool));
  }
}

/** arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION → arn:aws:sts::ACCOUNT:assumed-role/ROLE (the AWS provider's attribute.aws_role). */
function assumedRole(arn: string): string {
  const m = /^(arn:aws:sts::\d{12}:assumed-role\/[^/]+)\/.+$/.exec(arn);
  return m ? m[1]! : arn;
}

/** SigV4 (AWS's "Create a signed AWS API request"), written from the spec, not from the client's signer. */
function sigV4Signature(r: { secretAccessKey: string; region: string; amzDate: string; url: string; headers: Map<string, string>; signed: string[] }): string {
  const url = new URL(r.url);
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalHeaders = r.signed.map((h) => `${h}:${(r.headers.get(h) ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  const canonical = ["POST", url.pathname || "/", query, canonicalHeaders, r.signed.join(";"), sha("")].join("\n");
  const dateStamp = r.amzDate.slice(0, 8);
  const scope = `${dateStamp}/${r.region}/sts/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", r.amzDate, scope, sha(canonical)].join("\n");
  const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${r.secretAccessKey}`, dateStamp), r.region), "sts"), "aws4_request");
  return createHmac("sha256", key).update(toSign).digest("hex");
}

function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * §11.3: what signJwt checks of the payload (a JSON object; `exp`, when there, an integer not past
 * and at most 12 hours ahead), then the JWT it returns: RS256 with the service account's key, the
 * header naming the key (`kid`), as the token endpoint verifies a key's assertion (§7.2).
 */
export function signJwtPayload(payload: unknown, key: { privateKey: string; keyId: string }, nowSeconds: number): string {
  if (typeof payload !== "string") throw new Error("payload");
  const claims: unknown = JSON.parse(payload);
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) throw new Error("payload");
  const exp = (claims as { exp?: unknown }).exp;
  if (exp !== undefined && (typeof exp !== "number" || !Number.isInteger(exp) || exp < nowSeconds || exp > nowSeconds + 12 * 3600)) throw new Error("exp");
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${part({ alg: "RS256", kid: key.keyId, typ: "JWT" })}.${part(claims)}`;
  const signature = createSign("RSA-SHA256").update(input).sign(key.privateKey).toString("base64url");
  return `${input}.${signature}`;
}
