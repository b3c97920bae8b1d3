/**
 * @module The Google side's checks, through the production clients: the service-account key, a
 * real token request with domain-wide delegation (each scope alone when the three are refused,
 * to name the one not delegated), a Directory call as gws.user_email, and this host's clock
 * against Google's. § cites docs/google-directory.md.
 */
import { Gaxios } from "gaxios";
import type { OAuth2Client } from "google-auth-library";
import { admin_directory_v1 } from "googleapis/build/src/apis/admin/directory_v1.js";
import { NO_RETRY } from "../adapters/google/requests.ts";
import { checkWorkloadIdentity, createWorkloadIdentityClient, parseWorkloadIdentityConfig, type WorkloadIdentityOptions } from "../adapters/google/workload-identity.ts";
import { createJwtClient, DIRECTORY_READONLY_SCOPES, parseServiceAccountKey, TokenAnswerError, type ServiceAccountKey } from "../adapters/google/service-account.ts";
import { missingLine, missingOptions } from "../config/requirements.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import { redactSecretShapes } from "../core/errors.ts";
import { fail, failedBy, pass, skip, type Check } from "./checks.ts";
import { clockCheck, dateSamples, type DateSamples } from "./clock.ts";
import { ONLY, type DoctorContext } from "./context.ts";

const KEY_FIX =
  "download a JSON key (Google Cloud console > IAM & Admin > Service accounts > Keys > Add key > JSON) and point gws.service_account_file at it (or store it in the secret gws.service_account_file_secret_name)";
const ADMIN_FIX = "set gws.user_email to the primary email of a super admin of the Workspace (not an alias, a group or a service account)";
const NETWORK_FIX = "check gws.token_url and gws.api_url (leave them unset for Google's) and that this host can reach Google";
const DELEGATION_PAGE = "in the Google Admin console (Security > Access and data control > API controls > Manage Domain Wide Delegation)";

/** The key's check and, when it passes, what the token checks need. */
export interface KeyFound {
  check: Check;
  key?: ServiceAccountKey;
  config?: ResolvedConfig;
}

/**
 * gws-key: the service-account key from gws.service_account_file (or its secret, or systemd's
 * credential) parses as a key. The one place the Google credential is found: a keyless set-up
 * gets its own function beside this one.
 */
export async function serviceAccountKeyCheck(ctx: DoctorContext): Promise<KeyFound> {
  try {
    const { config, serviceAccountKey } = await ctx.resolve(ONLY.google);
    const key = parseServiceAccountKey(serviceAccountKey);
    const from = config.gws.serviceAccountFile ?? `the secret ${config.gws.serviceAccountFileSecretName}`;
    return { check: pass("gws-key", `${from}: service account ${key.clientEmail}${key.clientId ? ` (client ID ${key.clientId})` : ""}`), key, config };
  } catch (error) {
    return { check: failedBy("gws-key", error, KEY_FIX) };
  }
}

export async function googleChecks(ctx: DoctorContext): Promise<Check[]> {
  if (ctx.config.gws.auth === "workload-identity") return keylessChecks(ctx);
  const found = await serviceAccountKeyCheck(ctx);
  const dates = dateSamples();
  const noAnswer = "no request was sent to Google";
  const { key, config } = found;
  if (key === undefined || config === undefined) {
    return [found.check, skip("gws-delegation", "needs the key (gws-key)"), skip("gws-admin", "needs the key (gws-key)"), clockCheck("gws-clock", "Google", [], noAnswer)];
  }
  const adminEmail = config.gws.userEmail;
  if (adminEmail === undefined) {
    const missing = missingOptions(config, "doctor").find((o) => o.table === "gws" && o.key === "user_email");
    return [
      found.check,
      skip("gws-delegation", "a token with delegation names the admin it acts as: needs gws.user_email (gws-admin)"),
      fail("gws-admin", missing ? missingLine(missing) : "gws.user_email is not set", ADMIN_FIX),
      clockCheck("gws-clock", "Google", [], noAnswer),
    ];
  }
  const tokens = new TokenRequests(ctx, key, adminEmail, config.gws.tokenUrl, dates);
  const delegation = await delegationCheck(tokens);
  const admin = await adminCheck(delegation, adminEmail, config.gws.apiUrl, dates);
  return [found.check, delegation.check, admin, clockCheck("gws-clock", "Google", dates.samples, noAnswer)];
}

/** How a token request failed: the OAuth `error` and its description (§7.4), or what came back instead. */
interface TokenFailure {
  status?: number;
  error: string;
  description: string;
}

/** Token requests as `subject` for chosen scopes, each through the production JWT client (§7.2–7.4), their answers' dates noted. */
class TokenRequests {
  constructor(
    private readonly ctx: DoctorContext,
    readonly key: ServiceAccountKey,
    readonly subject: string,
    private readonly tokenUrl: string,
    private readonly dates: DateSamples,
  ) {}

  async request(scopes: readonly string[]): Promise<{ client: OAuth2Client } | { failure: TokenFailure }> {
    const client = createJwtClient({ key: this.key, subject: this.subject, scopes, tokenUrl: this.tokenUrl, onAccessToken: (token) => this.ctx.redact(token) });
    const sentAt = Date.now();
    try {
      await client.authorize();
      return { client };
    } catch (error) {
      const response = (error as { response?: { status?: number; data?: unknown; headers?: unknown } }).response;
      if (response !== undefined) this.dates.note(header(response.headers, "date"), sentAt);
      return { failure: tokenFailure(error) };
    }
  }
}

function tokenFailure(error: unknown): TokenFailure {
  if (error instanceof TokenAnswerError) return { status: error.status, error: "not an OAuth answer", description: error.message };
  const e = error as { response?: { status?: number; data?: { error?: unknown; error_description?: unknown } }; code?: unknown; message?: unknown };
  const data = e.response?.data;
  const text = (value: unknown) => redactSecretShapes(String(value ?? ""));
  if (typeof data?.error === "string") return { ...(e.response?.status ? { status: e.response.status } : {}), error: data.error, description: text(data.error_description) };
  if (e.response?.status !== undefined) return { status: e.response.status, error: `HTTP ${e.response.status}`, description: text(e.message) };
  return { error: typeof e.code === "string" ? e.code : "no answer", description: text(e.message) };
}

/** A header of a gaxios response: a `Headers` object, or a plain object in older versions. */
function header(headers: unknown, name: string): string | null {
  const h = headers as { get?: (n: string) => string | null } & Record<string, unknown>;
  if (typeof h?.get === "function") return h.get(name);
  const value = h?.[name];
  return typeof value === "string" ? value : null;
}

/** §7.5: the scope users.list needs, which the admin check calls. */
const USERS_SCOPE = DIRECTORY_READONLY_SCOPES[0];

/** §7.4: Google's description when the assertion's `sub` names no account of the Workspace. */
const UNKNOWN_SUBJECT = /invalid email or user id/i;

interface Delegation {
  check: Check;
  /** A client holding a token with the users scope, for the admin's Directory call. */
  client?: OAuth2Client;
  /** Google does not know gws.user_email: the admin check says so. */
  unknownAdmin?: TokenFailure;
  /** What the admin check would need and did not get ("a token (gws-delegation)"). */
  blocked?: string;
}

/** gws-delegation: a token for the three scopes as the admin; when refused, each scope alone names what is not delegated. */
async function delegationCheck(tokens: TokenRequests): Promise<Delegation> {
  const all = await tokens.request(DIRECTORY_READONLY_SCOPES);
  if ("client" in all) return { check: pass("gws-delegation", `a token for ${DIRECTORY_READONLY_SCOPES.length} scopes as ${tokens.subject}: ${DIRECTORY_READONLY_SCOPES.join(", ")}`), client: all.client };
  const { failure } = all;
  const said = `${failure.error}: ${failure.description}`;
  if (failure.error === "invalid_grant" && UNKNOWN_SUBJECT.test(failure.description)) {
    return { check: skip("gws-delegation", `the token request names an admin Google does not know (gws-admin)`), unknownAdmin: failure };
  }
  if (failure.error !== "unauthorized_client") {
    const fix = /reasonable timeframe/i.test(failure.description)
      ? "synchronise this host's clock (gws-clock)"
      : failure.error === "invalid_grant"
        ? `the key was deleted or revoked, or belongs to another service account: ${KEY_FIX}`
        : NETWORK_FIX;
    return { check: fail("gws-delegation", `the token request for ${tokens.key.clientEmail} failed (${failure.status ?? "no answer"} ${said})`, fix), blocked: "a token (gws-delegation)" };
  }
  return scopeByScope(tokens, said);
}

/** Each scope alone, to tell "not set up at all" from "one scope missing" (Google names neither, §7.4). */
async function scopeByScope(tokens: TokenRequests, said: string): Promise<Delegation> {
  const answers = [];
  for (const scope of DIRECTORY_READONLY_SCOPES) answers.push({ scope, answer: await tokens.request([scope]) });
  const failures = answers.flatMap((a) => ("failure" in a.answer ? [{ scope: a.scope, failure: a.answer.failure }] : []));
  const missing = failures.filter((f) => f.failure.error === "unauthorized_client").map((f) => f.scope);
  // A scope that is delegated gets past the scope check to the `sub` one: Google may not know the admin either.
  const unknownAdmin = failures.find((f) => f.failure.error === "invalid_grant" && UNKNOWN_SUBJECT.test(f.failure.description))?.failure;
  const clientId = tokens.key.clientId ?? "(the key's client_id)";
  const users = answers.find((a) => a.scope === USERS_SCOPE && "client" in a.answer)?.answer;
  const client = users !== undefined && "client" in users ? users.client : undefined;
  const detail =
    missing.length === DIRECTORY_READONLY_SCOPES.length
      ? `no scope is delegated to client ID ${clientId} (${said})`
      : missing.length > 0
        ? `not delegated to client ID ${clientId}: ${missing.join(", ")} (the others are)`
        : `the three scopes are refused together but each is delegated alone (${said})`;
  const fix = `${DELEGATION_PAGE} add client ID ${clientId}, or edit it, with the scopes ${DIRECTORY_READONLY_SCOPES.join(",")}`;
  const next = client ? { client } : unknownAdmin ? { unknownAdmin } : { blocked: "a token with the users scope (gws-delegation)" };
  return { check: fail("gws-delegation", detail, fix), ...next };
}

/** gws-admin: one users.list as gws.user_email: it must be an admin allowed to read the directory (§6.1). */
async function adminCheck(delegation: Delegation, adminEmail: string, apiUrl: string, dates: DateSamples): Promise<Check> {
  if (delegation.unknownAdmin !== undefined) {
    return fail("gws-admin", `Google does not know ${adminEmail} (${delegation.unknownAdmin.error}: ${delegation.unknownAdmin.description})`, ADMIN_FIX);
  }
  if (delegation.client === undefined) return skip("gws-admin", `needs ${delegation.blocked ?? "a token"}`);
  const admin = new admin_directory_v1.Admin({ auth: delegation.client, rootUrl: apiUrl });
  const sentAt = Date.now();
  try {
    const answer = await admin.users.list({ customer: "my_customer", maxResults: 1, fields: "users(primaryEmail)" }, NO_RETRY);
    dates.note(header(answer.headers, "date"), sentAt);
    return pass("gws-admin", `${adminEmail} may read the directory (users.list answered)`);
  } catch (error) {
    const response = (error as { response?: { status?: number; headers?: unknown; data?: { error?: { message?: unknown } } } }).response;
    if (response !== undefined) dates.note(header(response.headers, "date"), sentAt);
    const said = redactSecretShapes(String(response?.data?.error?.message ?? (error as Error).message));
    if (response?.status === 403) return fail("gws-admin", `${adminEmail} may not read the directory (403: ${said})`, ADMIN_FIX);
    return fail("gws-admin", `users.list as ${adminEmail} failed (${response?.status ?? "no answer"}: ${said})`, NETWORK_FIX);
  }
}

const KEYLESS_FIX = "set gws.workload_identity_config to the file gcloud iam workload-identity-pools create-cred-config --aws wrote, and gws.service_account_email (README: Set up Google Workspace, keyless)";

/**
 * With gws.auth = "workload-identity": gws-keyless runs the chain step by step (AWS credentials,
 * region, STS, signJwt) and names the step that fails; its last step, the token as gws.user_email
 * for the three scopes, is the delegation check; gws-admin then reads the directory through the
 * same chain, as a run would.
 */
async function keylessChecks(ctx: DoctorContext): Promise<Check[]> {
  const noKey = skip("gws-key", 'gws.auth = "workload-identity": no key is read');
  const clock = (samples: DateSamples["samples"]) => clockCheck("gws-clock", "Google", samples, "no Directory call was answered");
  const broken = (chain: Check) => [noKey, chain, skip("gws-delegation", "needs the keyless chain (gws-keyless)"), skip("gws-admin", "needs the keyless chain (gws-keyless)"), clock([])];
  const found = await keylessOptions(ctx);
  if ("check" in found) return broken(found.check);
  const { options } = found;
  const steps = await checkWorkloadIdentity(options);
  const token = steps.find((s) => s.step === "token");
  const failed = steps.find((s) => !s.ok && s.step !== "token");
  const chainDetail = steps.filter((s) => s.step !== "token").map((s) => s.detail).join("; ");
  const chain = failed ? fail("gws-keyless", chainDetail, failed.hint ?? KEYLESS_FIX) : pass("gws-keyless", chainDetail);
  if (token === undefined) return broken(chain);
  if (!token.ok) return [noKey, chain, fail("gws-delegation", token.detail, token.hint ?? KEYLESS_FIX), skip("gws-admin", "needs a token (gws-delegation)"), clock([])];
  const dates = dateSamples();
  const delegation = pass("gws-delegation", token.detail);
  const client = createWorkloadIdentityClient({ ...options, transporter: new Gaxios() });
  const admin = await adminCheck({ check: delegation, client }, options.subject, ctx.config.gws.apiUrl, dates);
  return [noKey, chain, delegation, admin, clock(dates.samples)];
}

/** The chain's options from the resolved configuration, or gws-keyless failed on what is missing or malformed. */
async function keylessOptions(ctx: DoctorContext): Promise<{ options: WorkloadIdentityOptions } | { check: Check }> {
  try {
    const { config } = await ctx.resolve(ONLY.google);
    const { workloadIdentityConfig, serviceAccountEmail, userEmail, tokenUrl, iamCredentialsUrl } = config.gws;
    if (workloadIdentityConfig === undefined || serviceAccountEmail === undefined || userEmail === undefined) {
      const missing = missingOptions(config, "doctor").filter((o) => o.table === "gws").map(missingLine);
      return { check: fail("gws-keyless", missing.join("; ") || "a keyless setting is not set", KEYLESS_FIX) };
    }
    return { options: { config: parseWorkloadIdentityConfig(workloadIdentityConfig), serviceAccountEmail, subject: userEmail, tokenUrl, iamCredentialsUrl, environment: ctx.env, onSecret: (secret) => ctx.redact(secret) } };
  } catch (error) {
    return { check: failedBy("gws-keyless", error, KEYLESS_FIX) };
  }
}
