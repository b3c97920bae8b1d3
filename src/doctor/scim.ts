/**
 * @module The SCIM side's checks: the endpoint answers as IAM Identity Center's does (GET
 * /ServiceProviderConfig), the token is accepted (GET /Users?count=1), the token's expiry, and
 * this host's clock against AWS's. § cites docs/aws-scim.md.
 */
import { connect, objectBody, type ScimConnection } from "../adapters/scim/connection.ts";
import { NEW_TOKEN_STEPS } from "../adapters/scim/errors.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import { listPage } from "../adapters/scim/listing.ts";
import { missingLine, missingOptions } from "../config/requirements.ts";
import { isSyncError, ScimRequestError } from "../core/errors.ts";
import { check, fail, failedBy, pass, skip, type Check } from "./checks.ts";
import { clockCheck, dateSamples } from "./clock.ts";
import { scimTokenCheck } from "../shell/token-expiry.ts";
import { ONLY, type DoctorContext } from "./context.ts";

const SERVICE_PROVIDER_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const CONSOLE = "the IAM Identity Center console (Settings > Automatic provisioning)";
const ENDPOINT_FIX = `copy the SCIM endpoint from ${CONSOLE} into aws.scim_endpoint: https://scim.<region>.amazonaws.com/<tenant id>/scim/v2/`;
const TOKEN_FIX = `generate a new access token in ${CONSOLE} > Manage access token and set it as aws.scim_access_token; a token lasts a year and works only with the endpoint shown beside it`;

/** One attempt and a second after half a second: a doctor reports what it sees, it does not wait out an outage. */
const DOCTOR_RATE = { initialRps: 10, minRps: 1, maxRps: 10, maxConcurrency: 1, retry: { attempts: 2, baseDelayMs: 500, maxDelayMs: 500 } };

/**
 * aws.scim_token_expires_at against this host's clock, by the rule every sync logs
 * (shell/token-expiry.ts): 8 to 30 days left warns, 7 or fewer (or expired) fails.
 */
export function tokenExpiryCheck(config: Pick<ResolvedConfig, "aws">): Check {
  const expiry = scimTokenCheck(config, Date.now());
  if (expiry === undefined) return skip("scim-token-expiry", "not configured: set aws.scim_token_expires_at to the date the console shows, to be warned 30 days before");
  if (expiry.level === "ok") return pass("scim-token-expiry", expiry.message);
  return check("scim-token-expiry", expiry.level === "warn" ? "warn" : "fail", expiry.message, NEW_TOKEN_STEPS);
}

export async function scimChecks(ctx: DoctorContext): Promise<Check[]> {
  let config;
  try {
    config = (await ctx.resolve(ONLY.scim)).config;
  } catch (error) {
    // The token's file or secret, or else the endpoint's secret: the check of the setting named.
    const { scimAccessTokenSecretName } = ctx.config.aws;
    const checks = isSyncError(error) && (error.message.includes("aws.scim_access_token") || error.message.includes(`"${scimAccessTokenSecretName}"`))
      ? [skip("scim-endpoint", "needs the token (scim-token)"), failedBy("scim-token", error, TOKEN_FIX)]
      : [failedBy("scim-endpoint", error, ENDPOINT_FIX), skip("scim-token", "needs the endpoint (scim-endpoint)")];
    return [...checks, tokenExpiryCheck(ctx.config), skip("scim-clock", "no request was sent to AWS")];
  }
  const missing = missingOptions(config, "doctor").filter((o) => o.table === "aws");
  const endpoint = config.aws.scimEndpoint;
  const token = config.aws.scimAccessToken;
  if (endpoint === undefined || token === undefined) {
    const line = (key: string) => missing.find((o) => o.key === key);
    const endpointMissing = line("scim_endpoint");
    const tokenMissing = line("scim_access_token");
    return [
      endpointMissing ? fail("scim-endpoint", missingLine(endpointMissing), ENDPOINT_FIX) : skip("scim-endpoint", "needs aws.scim_access_token to ask it anything (scim-token)"),
      tokenMissing ? fail("scim-token", missingLine(tokenMissing), TOKEN_FIX) : skip("scim-token", "needs aws.scim_endpoint (scim-endpoint)"),
      tokenExpiryCheck(ctx.config),
      skip("scim-clock", "no request was sent to AWS"),
    ];
  }
  const dates = dateSamples();
  const conn = connect({
    baseURL: endpoint.replace(/\/+$/, ""),
    token,
    log: ctx.log,
    rate: { read: DOCTOR_RATE, write: DOCTOR_RATE },
    timeoutMs: 15_000,
    onAnswer: (headers, sentAt) => dates.note(headers.get("date"), sentAt),
  });
  const reached = await endpointCheck(conn);
  const tokenResult = reached.answered ? await tokenCheck(conn) : skip("scim-token", "needs an endpoint that answers (scim-endpoint)");
  return [reached.check, tokenResult, tokenExpiryCheck(ctx.config), clockCheck("scim-clock", "AWS", dates.samples, "no answer came from AWS (scim-endpoint)")];
}

/** GET /ServiceProviderConfig: the endpoint is IAM Identity Center's SCIM (§2); a 401 still proves it reached a SCIM service (§1). */
async function endpointCheck(conn: ScimConnection): Promise<{ check: Check; answered: boolean }> {
  const request = { method: "GET", route: "GET /ServiceProviderConfig", path: "/ServiceProviderConfig" };
  try {
    const body = objectBody(conn, await conn.send(request), request);
    const schemas = Array.isArray(body.schemas) ? body.schemas : [];
    if (!schemas.includes(SERVICE_PROVIDER_CONFIG_SCHEMA)) {
      return { check: fail("scim-endpoint", `${conn.baseURL}/ServiceProviderConfig answered JSON that is not a SCIM ServiceProviderConfig`, ENDPOINT_FIX), answered: false };
    }
    return { check: pass("scim-endpoint", `${conn.baseURL} answers as a SCIM service (ServiceProviderConfig read)`), answered: true };
  } catch (error) {
    if (error instanceof ScimRequestError && error.kind === "auth") {
      return { check: pass("scim-endpoint", `${conn.baseURL} answered ${error.status}: a SCIM service that refuses the token (scim-token)`), answered: true };
    }
    if (error instanceof ScimRequestError && error.kind === "notFound") {
      return { check: fail("scim-endpoint", `${conn.baseURL}/ServiceProviderConfig answered 404: no SCIM service at that path`, ENDPOINT_FIX), answered: false };
    }
    return { check: failedBy("scim-endpoint", error, ENDPOINT_FIX), answered: false };
  }
}

/** GET /Users?count=1: the token is accepted for this tenant (§1, §4.2). */
async function tokenCheck(conn: ScimConnection): Promise<Check> {
  const request = { method: "GET", route: "GET /Users", path: "/Users?count=1" };
  try {
    listPage(conn, await conn.send(request), request);
    return pass("scim-token", "accepted: GET /Users?count=1 answered a ListResponse");
  } catch (error) {
    if (error instanceof ScimRequestError && error.kind === "auth") {
      return fail("scim-token", `refused (${error.status}): the token is wrong, expired or revoked, or the endpoint names another tenant`, TOKEN_FIX);
    }
    return failedBy("scim-token", error, TOKEN_FIX);
  }
}
