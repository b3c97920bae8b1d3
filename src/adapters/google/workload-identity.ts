/**
 * @module Keyless Google authentication (`gws.auth = "workload-identity"`): the AWS credentials the
 * process already has become a Directory API access token with domain-wide delegation, and no key
 * file exists anywhere. § cites docs/google-directory.md (§11 the chain, §12 its errors).
 *
 * 1. AWS credentials and region: the AWS SDK's own provider chain (environment, profile, web
 *    identity, container, EC2 instance metadata with IMDSv2), never code of ours.
 * 2. Google STS (§11.2): google-auth-library's AwsClient signs a GetCallerIdentity request with
 *    them and exchanges it for a federated token (cached by the library for its lifetime).
 * 3. IAM Credentials `signJwt` (§11.3): the federated identity has the service account sign the
 *    JWT-bearer assertion a key would have signed, `sub` included. This step is ours: the library's
 *    impersonation (`generateAccessToken`) cannot carry `sub`, so it cannot do delegation.
 * 4. The OAuth token endpoint (§7.3) exchanges that assertion for the access token, as with a key.
 */
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { Gaxios, type GaxiosOptionsPrepared } from "gaxios";
import { AwsClient, OAuth2Client, type AwsSecurityCredentialsSupplier } from "google-auth-library";
import { SyncError } from "../../core/errors.ts";
import { describeAnswer } from "../http-answer.ts";
import { DIRECTORY_READONLY_SCOPES, jsonObject } from "./service-account.ts";
import { chainStepError, ChainStepError, type ChainStep } from "./workload-identity-errors.ts";

export { ChainStepError, type ChainStep } from "./workload-identity-errors.ts";

/** §11.1: the subject token type of an AWS provider's credential configuration. */
export const AWS_SUBJECT_TOKEN_TYPE = "urn:ietf:params:aws:token-type:aws4_request";
export const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";
export const IAM_CREDENTIALS_URL = "https://iamcredentials.googleapis.com";
const AUDIENCE = /^\/\/iam\.googleapis\.com\/projects\/(\d+)\/locations\/global\/workloadIdentityPools\/([a-z0-9-]{4,32})\/providers\/([a-z0-9-]{4,32})$/;

/** What idpscim reads of the credential configuration `gcloud iam workload-identity-pools create-cred-config --aws` writes (§11.1). */
export interface WorkloadIdentityConfig {
  /** `//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER`. */
  audience: string;
  /** The pool's project number, read off the audience (the principal names it). */
  projectNumber: string;
  /** Google STS, normally https://sts.googleapis.com/v1/token. */
  stsUrl: string;
}

const CONFIG_HINT =
  "write it with: gcloud iam workload-identity-pools create-cred-config projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER --aws --output-file=wif.json " +
  "(README: Set up Google Workspace, keyless)";

/** Checks the credential configuration before any request; a message never quotes more than a short, non-secret field. */
export function parseWorkloadIdentityConfig(text: string): WorkloadIdentityConfig {
  const invalid = (what: string) => new SyncError("CONFIG_INVALID", `the credential configuration (gws.workload_identity_config) ${what}`, { hint: CONFIG_HINT });
  const c = jsonObject(text, invalid);
  const shown = (v: unknown) => (typeof v === "string" ? JSON.stringify(v.slice(0, 120)) : "(missing)");
  if (c.type !== "external_account") {
    throw invalid(`has type ${shown(c.type)}, not "external_account"${c.type === "service_account" ? ": that is a key file; use it with gws.auth = \"key\"" : ""}`);
  }
  if (c.subject_token_type !== AWS_SUBJECT_TOKEN_TYPE) {
    throw invalid(`has subject_token_type ${shown(c.subject_token_type)}, not ${AWS_SUBJECT_TOKEN_TYPE}: it is not for an AWS provider (create it with --aws)`);
  }
  const audience = typeof c.audience === "string" ? c.audience : "";
  const match = AUDIENCE.exec(audience);
  if (!match) {
    throw invalid(
      `has audience ${shown(c.audience)}, not //iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER ` +
        "(the project's number, not its id: gcloud projects describe PROJECT --format='value(projectNumber)')",
    );
  }
  const stsUrl = typeof c.token_url === "string" ? c.token_url : "https://sts.googleapis.com/v1/token";
  if (!/^https?:\/\/[^/\s]+\/\S*$/.test(stsUrl)) throw invalid(`has token_url ${shown(c.token_url)}, not a URL (normally https://sts.googleapis.com/v1/token)`);
  const source = c.credential_source as { environment_id?: unknown } | undefined;
  if (source !== undefined && (typeof source !== "object" || source === null || source.environment_id !== "aws1")) {
    throw invalid(`has a credential_source that is not AWS's (environment_id ${shown(source?.environment_id)}, not "aws1")`);
  }
  return { audience, projectNumber: match[1]!, stsUrl };
}

export interface WorkloadIdentityOptions {
  config: WorkloadIdentityConfig;
  /** `gws.service_account_email`: the account whose domain-wide delegation is used. */
  serviceAccountEmail: string;
  /** The DWD subject, `gws.user_email`. */
  subject: string;
  /** OAuth token endpoint (`gws.token_url`); default https://oauth2.googleapis.com/token. */
  tokenUrl?: string;
  /** IAM Credentials API root (`gws.iam_credentials_url`); default https://iamcredentials.googleapis.com. */
  iamCredentialsUrl?: string;
  /** AWS credentials; default the SDK's provider chain (`defaultProvider()`). */
  awsCredentials?: ReturnType<typeof defaultProvider>;
  /** Where AWS_REGION / AWS_DEFAULT_REGION are read; default process.env. */
  environment?: Record<string, string | undefined>;
  /** Called once per request the chain sends: "sts", "signJwt" or "token", for request counts. */
  onRequest?: (step: "sts" | "signJwt" | "token") => void;
  /** Called with every secret the chain handles (AWS secret key and session token, each token), to keep it out of messages. */
  onSecret?: (secret: string) => void;
  now?: () => number;
}

/** The steps of one token, each callable alone (the doctor runs them one by one). */
export interface WorkloadIdentityChain {
  awsCredentials(): Promise<{ accessKeyId: string }>;
  awsRegion(): Promise<string>;
  federatedToken(): Promise<string>;
  signAssertion(federatedToken: string): Promise<string>;
  accessToken(assertion: string): Promise<{ token: string; expiresAt: number }>;
}

/** AwsClient whose STS exchange goes through our transporter (the library gives its StsCredentials a Gaxios of its own). */
class ChainAwsClient extends AwsClient {
  constructor(options: ConstructorParameters<typeof AwsClient>[0], transporter: Gaxios) {
    super({ ...options, transporter });
    (this.stsCredential as unknown as { transporter: Gaxios }).transporter = transporter;
  }
}

/** One transporter for the chain: no gaxios retries (the source's backoff is the only retry, §6.3), every call counted. */
function chainTransporter(options: WorkloadIdentityOptions, urls: { sts: string; oauth: string }): Gaxios {
  const transporter = new Gaxios();
  transporter.interceptors.request.add({
    resolved: async (config: GaxiosOptionsPrepared) => {
      const url = String(config.url);
      config.retry = false;
      delete config.retryConfig;
      if (url.startsWith(urls.sts)) options.onRequest?.("sts");
      else if (url.endsWith(":signJwt")) options.onRequest?.("signJwt");
      else if (url.startsWith(urls.oauth)) options.onRequest?.("token");
      return config;
    },
  });
  return transporter;
}

/** The AWS side through the SDK: credentials from its chain, the region from the environment (Lambda sets it). */
function awsSupplier(options: WorkloadIdentityOptions): AwsSecurityCredentialsSupplier {
  const provider = options.awsCredentials ?? defaultProvider();
  const env = options.environment ?? process.env;
  return {
    getAwsRegion: async () => {
      const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
      if (!region) throw new ChainStepError("aws-region", "no AWS region: AWS_REGION and AWS_DEFAULT_REGION are unset", { transient: false });
      return region;
    },
    getAwsSecurityCredentials: async () => {
      let c;
      try {
        c = await provider();
      } catch (error) {
        throw chainStepError("aws-credentials", error);
      }
      options.onSecret?.(c.secretAccessKey);
      if (c.sessionToken) options.onSecret?.(c.sessionToken);
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { token: c.sessionToken } : {}) };
    },
  };
}

/** The chain's steps, sharing one transporter and the library's cache of the federated token. */
export function createWorkloadIdentityChain(options: WorkloadIdentityOptions): WorkloadIdentityChain {
  const oauthUrl = options.tokenUrl ?? GOOGLE_TOKEN_URL;
  const iamUrl = (options.iamCredentialsUrl ?? IAM_CREDENTIALS_URL).replace(/\/+$/, "");
  const now = options.now ?? Date.now;
  const transporter = chainTransporter(options, { sts: options.config.stsUrl, oauth: oauthUrl });
  const supplier = awsSupplier(options);
  // No credential_source (the SDK supplies AWS credentials) and no service_account_impersonation_url
  // (generateAccessToken cannot carry `sub`, §11.3): the library does STS only.
  const aws = new ChainAwsClient(
    { audience: options.config.audience, subject_token_type: AWS_SUBJECT_TOKEN_TYPE, token_url: options.config.stsUrl, aws_security_credentials_supplier: supplier },
    transporter,
  );
  aws.on("tokens", (t: { access_token?: string | null }) => t.access_token && options.onSecret?.(t.access_token));
  const context = { audience: options.config.audience, subjectTokenType: AWS_SUBJECT_TOKEN_TYPE, transporter };

  return {
    awsCredentials: async () => ({ accessKeyId: (await supplier.getAwsSecurityCredentials(context)).accessKeyId }),
    awsRegion: () => supplier.getAwsRegion(context),
    federatedToken: async () => {
      try {
        const { token } = await aws.getAccessToken();
        if (!token) throw new ChainStepError("sts", "Google STS answered without an access token", { transient: false });
        options.onSecret?.(token);
        return token;
      } catch (error) {
        throw chainStepError("sts", error);
      }
    },
    signAssertion: (federatedToken) => signAssertion(transporter, iamUrl, options, federatedToken, now),
    accessToken: (assertion) => exchangeAssertion(transporter, oauthUrl, options, assertion, now),
  };
}

/** §11.3: `signJwt` with the claims a key would sign (§7.2); the answer's `signedJwt` is the assertion. */
async function signAssertion(transporter: Gaxios, iamUrl: string, options: WorkloadIdentityOptions, federatedToken: string, now: () => number): Promise<string> {
  const iat = Math.floor(now() / 1000);
  const claims = { iss: options.serviceAccountEmail, sub: options.subject, scope: DIRECTORY_READONLY_SCOPES.join(" "), aud: GOOGLE_TOKEN_URL, iat, exp: iat + 3600 };
  let data: unknown;
  try {
    const response = await transporter.request({
      url: `${iamUrl}/v1/projects/-/serviceAccounts/${encodeURIComponent(options.serviceAccountEmail)}:signJwt`,
      method: "POST",
      headers: { authorization: `Bearer ${federatedToken}`, "content-type": "application/json" },
      data: JSON.stringify({ payload: JSON.stringify(claims) }),
      responseType: "json",
    });
    data = response.data;
    const signed = (data as { signedJwt?: unknown } | null)?.signedJwt;
    if (typeof signed !== "string" || signed.split(".").length !== 3) {
      throw new ChainStepError("sign-jwt", `IAM Credentials answered ${response.status} with ${describeAnswer(data, response.headers.get("content-type"))}, not a signed JWT`, { transient: false });
    }
    options.onSecret?.(signed);
    return signed;
  } catch (error) {
    throw chainStepError("sign-jwt", error, { serviceAccountEmail: options.serviceAccountEmail, projectNumber: options.config.projectNumber });
  }
}

/** §7.3: the signed assertion for an access token, exactly as the key's JWT client sends it. */
async function exchangeAssertion(transporter: Gaxios, oauthUrl: string, options: WorkloadIdentityOptions, assertion: string, now: () => number): Promise<{ token: string; expiresAt: number }> {
  try {
    const response = await transporter.request({
      url: oauthUrl,
      method: "POST",
      data: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
      responseType: "json",
    });
    const body = response.data as { access_token?: unknown; expires_in?: unknown } | null;
    if (typeof body?.access_token !== "string" || body.access_token === "") {
      throw new ChainStepError("token", `the token endpoint answered ${response.status} with ${describeAnswer(response.data, response.headers.get("content-type"))}, not an OAuth token`, {
        transient: false,
        hint: "check gws.token_url (leave it unset for https://oauth2.googleapis.com/token) and any proxy in between",
      });
    }
    options.onSecret?.(body.access_token);
    const lifetime = typeof body.expires_in === "number" ? body.expires_in : 3600;
    return { token: body.access_token, expiresAt: now() + lifetime * 1000 };
  } catch (error) {
    throw chainStepError("token", error, { serviceAccountEmail: options.serviceAccountEmail });
  }
}

/**
 * An auth client for googleapis whose tokens come from the chain. OAuth2Client's `refreshHandler`
 * keeps each token for its lifetime and asks for a new one 5 minutes before it ends; concurrent
 * requests share one refresh. The federated token is cached apart by AwsClient, so a refresh within
 * its hour costs signJwt + token only.
 */
export function createWorkloadIdentityClient(options: WorkloadIdentityOptions & { transporter: Gaxios }): OAuth2Client {
  const chain = createWorkloadIdentityChain(options);
  let pending: Promise<{ access_token: string; expiry_date: number }> | undefined;
  const refresh = async () => {
    const federated = await chain.federatedToken();
    const { token, expiresAt } = await chain.accessToken(await chain.signAssertion(federated));
    return { access_token: token, expiry_date: expiresAt };
  };
  const client = new OAuth2Client({ transporter: options.transporter });
  client.refreshHandler = () => {
    pending ??= refresh().finally(() => (pending = undefined));
    return pending;
  };
  return client;
}

/** One step of `checkWorkloadIdentity`: what it established, or why it failed and the fix. */
export interface ChainStepReport {
  step: ChainStep;
  ok: boolean;
  /** What the step found ("AWS access key ASIA…XYZW", "federated token for …"); never a secret. */
  detail: string;
  hint?: string;
}

const STEP_TITLES: Record<ChainStep, string> = {
  "aws-credentials": "AWS credentials from the SDK's provider chain",
  "aws-region": "AWS region",
  sts: "Google STS token exchange (workload identity pool provider)",
  "sign-jwt": "IAM Credentials signJwt for the service account",
  token: "OAuth token with domain-wide delegation",
};

/**
 * Runs the keyless chain step by step, as `doctor` shows it: each step's outcome in order, ending at
 * the first that fails (its message and fix). Sends at most one request of each kind.
 *
 * @example
 * const steps = await checkWorkloadIdentity({ config: parseWorkloadIdentityConfig(text), serviceAccountEmail, subject });
 * const failed = steps.find((s) => !s.ok);
 */
export async function checkWorkloadIdentity(options: WorkloadIdentityOptions): Promise<ChainStepReport[]> {
  const chain = createWorkloadIdentityChain(options);
  const reports: ChainStepReport[] = [];
  let federated = "";
  let assertion = "";
  const steps: [ChainStep, () => Promise<string>][] = [
    ["aws-credentials", async () => `access key ${maskKeyId((await chain.awsCredentials()).accessKeyId)}`],
    ["aws-region", async () => `GetCallerIdentity signed for ${await chain.awsRegion()}`],
    ["sts", async () => ((federated = await chain.federatedToken()), `federated token for ${options.config.audience}`)],
    ["sign-jwt", async () => ((assertion = await chain.signAssertion(federated)), `assertion signed by ${options.serviceAccountEmail} for gws.user_email`)],
    ["token", async () => ((await chain.accessToken(assertion)), `access token for gws.user_email with the ${DIRECTORY_READONLY_SCOPES.length} read-only scopes`)],
  ];
  for (const [step, run] of steps) {
    try {
      reports.push({ step, ok: true, detail: `${STEP_TITLES[step]}: ${await run()}` });
    } catch (error) {
      const e = error instanceof ChainStepError ? error : chainStepError(step, error);
      const failure = e.toSyncError();
      reports.push({ step, ok: false, detail: `${STEP_TITLES[step]}: ${failure.message}`, ...(failure.hint ? { hint: failure.hint } : {}) });
      break;
    }
  }
  return reports;
}

/** An access key id as a report may show it: its kind (AKIA long-term, ASIA temporary) and last four characters. */
function maskKeyId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 4)}…${id.slice(-4)}` : "…";
}
