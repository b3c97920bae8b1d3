/** @module Google emulator HTTP server: OAuth2 token endpoint (JWT bearer + DWD) and Directory API read methods on one port (§ = docs/google-directory.md). */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { KeyObject } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createFaults, sleep, type FaultOptions } from "../faults.ts";
import { RequestLog } from "../request-log.ts";
import type { Scenario } from "../scenario.ts";
import type { WorkMeter } from "../work.ts";
import { Directory, RESPONSE_FIELDS } from "./directory.ts";
import { GoogleApiError, OAuthError, backendError, notAuthorized } from "./errors.ts";
import { applyFields, parseFields, validateTopLevel } from "./fields.ts";
import { TokenStore, checkTokenRequest, createServiceAccount } from "./oauth.ts";
import { Federation, signJwtPayload, type FederationOptions } from "./federation.ts";

const SCOPE = "https://www.googleapis.com/auth/admin.directory.";
const USER_READONLY = `${SCOPE}user.readonly`;
const GROUP_READONLY = `${SCOPE}group.readonly`;
const GROUP_MEMBER_READONLY = `${SCOPE}group.member.readonly`;

/** §7.5: the three read-only scopes the sync requests. */
export const DIRECTORY_READONLY_SCOPES: readonly string[] = [USER_READONLY, GROUP_READONLY, GROUP_MEMBER_READONLY];

type Route = keyof typeof RESPONSE_FIELDS;

/** Scopes that authorise each method ([DISCO] method scope lists, §7.5); read-write scopes imply read. */
const ROUTE_SCOPES: Record<Route, string[]> = {
  "users.list": [USER_READONLY, `${SCOPE}user`],
  "users.get": [USER_READONLY, `${SCOPE}user`],
  "groups.list": [GROUP_READONLY, `${SCOPE}group`],
  "groups.get": [GROUP_READONLY, `${SCOPE}group`],
  "members.list": [GROUP_MEMBER_READONLY, `${SCOPE}group.member`, GROUP_READONLY, `${SCOPE}group`],
};

export interface GoogleEmulatorOptions {
  scenario: Scenario;
  /** Scopes the DWD allow-list grants the service account; default DIRECTORY_READONLY_SCOPES. */
  grantedScopes?: readonly string[];
  faults?: Partial<FaultOptions>;
  /** Probabilities of quota errors per API request: 403 userRateLimitExceeded, 403 quotaExceeded, 429 rateLimitExceeded. */
  quota?: { userRateLimitRate?: number; quotaExceededRate?: number; rateLimitRate?: number };
  /** Fail the Nth (1-based) members.list / users.list / groups.list page request with 503 backendError (once each listed N). */
  failPages?: { route: "users.list" | "groups.list" | "members.list"; nth: number }[];
  tokenLifetimeSeconds?: number; // default 3599
  /** How far the emulated Google's clock is ahead of this host's (negative: behind), in seconds; default 0. */
  clockSkewSeconds?: number;
  /** Workload Identity Federation (§11): the pool, provider, AWS identity and bindings; defaults trust the identity it plays. */
  federation?: FederationOptions;
  directory: string; // a directory where the emulator writes the service-account key file
}

export interface GoogleEmulator {
  url: string;
  tokenUrl: string;
  serviceAccountFile: string;
  serviceAccountKey: Record<string, string>;
  adminEmail: string;
  log: RequestLog;
  faults: FaultOptions;
  quota: NonNullable<GoogleEmulatorOptions["quota"]>;
  grantedScopes: string[];
  /** STS (`POST /v1/token`) and signJwt (§11): the AWS identity to put in the product's environment, the credential configuration. */
  federation: Federation;
  /** Google STS on this emulator: the credential configuration's token_url. */
  stsUrl: string;
  /** Entries examined answering requests (test/emulators/work.ts), to pin per-request cost as a count. */
  work: WorkMeter;
  /**
   * The emulated Google's clock, mutable at run time: `skewSeconds` ahead of this host's. It is
   * the clock the JWT's `iat` and `exp` are judged by (§7.2), tokens expire by and every answer's
   * `Date` header tells.
   */
  clock: { skewSeconds: number };
  close(): Promise<void>;
}

const JSON_TYPE = "application/json; charset=utf-8";

export async function startGoogleEmulator(options: GoogleEmulatorOptions): Promise<GoogleEmulator> {
  const log = new RequestLog();
  const faults = createFaults(options.faults);
  const quota: NonNullable<GoogleEmulatorOptions["quota"]> = { ...options.quota };
  const grantedScopes = [...(options.grantedScopes ?? DIRECTORY_READONLY_SCOPES)];
  const tokenLifetime = options.tokenLifetimeSeconds ?? 3599;
  const failPages = (options.failPages ?? []).map((f) => ({ ...f }));
  const routeCounts = new Map<string, number>();
  const tokens = new TokenStore();
  const directory = new Directory(options.scenario);
  const adminEmail = options.scenario.google.adminEmail;
  const clock = { skewSeconds: options.clockSkewSeconds ?? 0 };
  const now = () => Date.now() + clock.skewSeconds * 1000;
  // §7.4: the admin, and every user of the scenario, is an account a `sub` may name.
  const isAccount = (email: string) =>
    email.toLowerCase() === adminEmail.toLowerCase() || options.scenario.google.users.some((u) => u.primaryEmail.toLowerCase() === email.toLowerCase());
  // Filled once the port (hence the token URL and key file name) is known, before any request can arrive.
  let context: { clientEmail: string; publicKey: KeyObject; privateKeyId: string; tokenUrl: string; privateKey: string };
  const federation = new Federation(options.federation);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const e = new GoogleApiError(500, "backendError", `Emulator failure: ${(error as Error).message}`);
      if (!res.headersSent) send(res, e.code, e.body());
      else res.destroy();
    });
  });

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "Content-Type": JSON_TYPE, "Content-Length": Buffer.byteLength(text), Date: new Date(now()).toUTCString(), ...headers });
    res.end(text);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://emulator");
    const method = req.method ?? "GET";
    const isToken = url.pathname === "/token";
    const federationRoute = matchFederationRoute(method, url.pathname);
    const apiRoute = isToken || federationRoute ? undefined : matchApiRoute(method, url.pathname);
    const route = isToken ? "/token" : (federationRoute?.route ?? apiRoute?.route ?? url.pathname);
    const record = (status: number) => log.record({ method, route, url: req.url ?? "/", status });
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record(status);
      send(res, status, body, headers);
    };

    // Faults first (faults.ts: "before doing anything").
    if (faults.dropRate > 0 && faults.random() < faults.dropRate) {
      record(0);
      req.socket.destroy();
      return;
    }
    let delay = faults.latencyMs;
    if (faults.slowRate > 0 && faults.random() < faults.slowRate) delay += faults.slowMs;
    if (delay > 0) await sleep(delay);

    if (federationRoute?.route === "sts") {
      try {
        return answer(200, federation.exchange(new URLSearchParams(await readBody(req))), { "Cache-Control": "no-store" });
      } catch (error) {
        if (error instanceof OAuthError) return answer(error.status, error.body());
        throw error;
      }
    }
    if (federationRoute?.route === "signJwt") {
      const [status, body] = signJwt(req.headers.authorization, federationRoute.email, await readBody(req));
      return answer(status, body);
    }

    if (isToken) {
      if (method !== "POST") return answer(405, { error: "invalid_request", error_description: "Token requests must use POST." });
      const form = new URLSearchParams(await readBody(req));
      try {
        const grant = checkTokenRequest(
          form,
          { clientEmail: context.clientEmail, publicKey: context.publicKey, privateKeyId: context.privateKeyId, ownTokenUrl: context.tokenUrl, grantedScopes, isAccount },
          Math.floor(now() / 1000),
        );
        const accessToken = tokens.issue(grant.scopes, grant.subject, tokenLifetime, now());
        // §7.3: a realistic expires_in matters — the client refreshes when < 5 min remain.
        return answer(200, { access_token: accessToken, expires_in: tokenLifetime, token_type: "Bearer" }, { "Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", Pragma: "no-cache" });
      } catch (error) {
        if (error instanceof OAuthError) return answer(error.status, error.body());
        throw error;
      }
    }

    try {
      if (!apiRoute) throw new GoogleApiError(404, "notFound", "Not Found");
      if (faults.errorRate > 0 && faults.random() < faults.errorRate) throw backendError();
      const grant = authenticate(req, url);
      // §7.5 / [DISCO]: each method lists the scopes that authorise it.
      if (!ROUTE_SCOPES[apiRoute.route].some((s) => grant.scopes.has(s))) {
        throw new GoogleApiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.");
      }
      // §6.1: a token for a non-admin (or no) subject is issued but every call is refused.
      if (grant.subject === undefined || grant.subject.toLowerCase() !== adminEmail.toLowerCase()) throw notAuthorized();
      checkQuota();
      const n = (routeCounts.get(apiRoute.route) ?? 0) + 1;
      routeCounts.set(apiRoute.route, n);
      const failing = failPages.findIndex((f) => f.route === apiRoute.route && f.nth === n);
      if (failing >= 0) {
        failPages.splice(failing, 1);
        throw backendError();
      }
      const params = url.searchParams;
      const fieldsText = params.get("fields");
      const selection = fieldsText ? parseFields(fieldsText) : null;
      if (selection) validateTopLevel(selection, RESPONSE_FIELDS[apiRoute.route]);
      const body = runRoute(apiRoute.route, apiRoute.key, params);
      // §4: with `fields`, only selected keys come back (kind/etag/nextPageToken included).
      return answer(200, applyFields(body, selection));
    } catch (error) {
      if (error instanceof GoogleApiError) return answer(error.code, error.body(), error.headers);
      throw error;
    }
  }

  function runRoute(route: Route, key: string | undefined, params: URLSearchParams): unknown {
    switch (route) {
      case "users.list":
        return directory.usersList(params);
      case "users.get":
        return directory.usersGet(key!, params);
      case "groups.list":
        return directory.groupsList(params);
      case "groups.get":
        return directory.groupsGet(key!);
      case "members.list":
        return directory.membersList(key!, params);
    }
  }

  /** §11.3 / §12.2: the caller's federated token, the API being enabled, the token-creator binding, then the signature. */
  function signJwt(authorization: string | undefined, email: string, text: string): [number, unknown] {
    const fail = (code: number, status: string, message: string, reason?: string, domain = "iam.googleapis.com") => [
      code,
      { error: { code, message, status, ...(reason ? { details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain, metadata: {} }] } : {}) } },
    ] as [number, unknown];
    const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const grant = bearer ? federation.lookup(bearer) : undefined;
    if (!grant) return fail(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
    if (federation.options.iamCredentialsDisabled) {
      return fail(403, "PERMISSION_DENIED", `IAM Service Account Credentials API has not been used in project ${federation.projectNumber} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/iamcredentials.googleapis.com/overview?project=${federation.projectNumber} then retry.`, "SERVICE_DISABLED", "googleapis.com");
    }
    // Google answers an unknown account like a missing permission ("or it may not exist").
    if (email !== context.clientEmail || !federation.maySign(grant)) {
      return fail(403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.signJwt' denied on resource (or it may not exist).", "IAM_PERMISSION_DENIED");
    }
    try {
      const body = JSON.parse(text) as { payload?: unknown };
      const signedJwt = signJwtPayload(body.payload, { privateKey: context.privateKey, keyId: context.privateKeyId }, Math.floor(Date.now() / 1000));
      return [200, { keyId: context.privateKeyId, signedJwt }];
    } catch {
      return fail(400, "INVALID_ARGUMENT", "Request contains an invalid argument.");
    }
  }

  function authenticate(req: IncomingMessage, url: URL) {
    const header = req.headers.authorization;
    const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? url.searchParams.get("access_token") ?? undefined;
    const grant = bearer ? tokens.lookup(bearer, now()) : undefined;
    if (!grant) {
      // The brief fixes reason authError for missing, unknown and expired tokens alike.
      throw new GoogleApiError(401, "authError", "Invalid Credentials", "global", { location: "Authorization", locationType: "header" }, {
        "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"',
      });
    }
    return grant;
  }

  function checkQuota(): void {
    // §6.2: reasons and statuses; domain usageLimits.
    const roll = (rate: number | undefined) => rate !== undefined && rate > 0 && faults.random() < rate;
    if (roll(quota.userRateLimitRate)) throw new GoogleApiError(403, "userRateLimitExceeded", "User Rate Limit Exceeded", "usageLimits");
    if (roll(quota.quotaExceededRate)) throw new GoogleApiError(403, "quotaExceeded", "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'.", "usageLimits");
    if (roll(quota.rateLimitRate)) throw new GoogleApiError(429, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits");
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const tokenUrl = `${url}/token`;
  const account = createServiceAccount(options.directory, tokenUrl, port);
  context = { clientEmail: account.key.client_email!, publicKey: account.publicKey, privateKeyId: account.key.private_key_id!, tokenUrl, privateKey: account.key.private_key! };

  return {
    url,
    tokenUrl,
    serviceAccountFile: account.file,
    serviceAccountKey: account.key,
    adminEmail,
    log,
    faults,
    quota,
    grantedScopes,
    federation,
    stsUrl: `${url}/v1/token`,
    work: directory.work,
    clock,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

const API_PREFIX = "/admin/directory/v1/";

/** §11: Google STS (`sts.googleapis.com/v1/token`) and IAM Credentials signJwt, served at the root like the Directory API (§8.2). */
function matchFederationRoute(method: string, pathname: string): { route: "sts" } | { route: "signJwt"; email: string } | undefined {
  if (method !== "POST") return undefined;
  if (pathname === "/v1/token") return { route: "sts" };
  const m = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):signJwt$/.exec(pathname);
  return m ? { route: "signJwt", email: decodeURIComponent(m[1]!) } : undefined;
}

/** Maps a path under /admin/directory/v1/ (served at the root, §8.2) to a method name and its path key. */
function matchApiRoute(method: string, pathname: string): { route: Route; key?: string } | undefined {
  if (method !== "GET" || !pathname.startsWith(API_PREFIX)) return undefined;
  const parts = pathname.slice(API_PREFIX.length).split("/").map((p) => decodeURIComponent(p));
  if (parts.length === 1 && parts[0] === "users") return { route: "users.list" };
  if (parts.length === 2 && parts[0] === "users" && parts[1]) return { route: "users.get", key: parts[1] };
  if (parts.length === 1 && parts[0] === "groups") return { route: "groups.list" };
  if (parts.length === 2 && parts[0] === "groups" && parts[1]) return { route: "groups.get", key: parts[1] };
  if (parts.length === 3 && parts[0] === "groups" && parts[1] && parts[2] === "members") return { route: "members.list", key: parts[1] };
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
