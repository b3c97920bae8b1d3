/**
 * @module End-to-end: no secret (SCIM token, service-account private key and key id, Google access
 * tokens and the signed assertion that buys them) reaches stdout, stderr or the state file, at
 * debug level, in text and JSON logs, on runs that succeed and on runs that fail every way we
 * know: 401, 400, Google scopes missing, an answer echoing the request's Authorization header,
 * dropped connections. Google's side is observed through a pass-through proxy that records every
 * access token the emulator issues.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, readFileSync, statSync } from "node:fs";
import { loadScenarioFile, type Scenario } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, startWorld, type CliResult, type World } from "../support/harness.ts";

/** What a proxy hook may answer instead of forwarding: a reply, or "drop" to cut the connection. */
type Override = { status: number; body: unknown; type?: string } | "drop" | undefined;

interface Proxy {
  url: string;
  /** Decides per request; `authorization` is the header the client sent. */
  hook: (request: { method: string; path: string; authorization: string }) => Override;
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy in front of an emulator: standing in for a corporate proxy or a
 * misconfigured gateway, it can answer instead of the emulator (echoing the caller's headers,
 * as broken proxies do) or drop the connection. `onExchange` sees each forwarded request and answer.
 */
async function startProxy(target: string, onExchange?: (path: string, requestBody: string, answer: string) => void): Promise<Proxy> {
  const origin = new URL(target).origin;
  const proxy: Proxy = { url: "", hook: () => undefined, close: async () => {} };
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = req.url ?? "/";
      const body = await readBody(req);
      const override = proxy.hook({ method: req.method ?? "GET", path, authorization: String(req.headers.authorization ?? "") });
      if (override === "drop") {
        req.socket.destroy();
        return;
      }
      if (override !== undefined) {
        const text = typeof override.body === "string" ? override.body : JSON.stringify(override.body);
        res.writeHead(override.status, { "Content-Type": override.type ?? "application/json" });
        res.end(text);
        return;
      }
      const headers: Record<string, string> = {};
      for (const name of ["authorization", "content-type", "accept"]) {
        const value = req.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      const answer = await fetch(`${origin}${path}`, { method: req.method ?? "GET", headers, ...(body === "" ? {} : { body }) });
      const text = await answer.text();
      onExchange?.(path, body, text);
      res.writeHead(answer.status, { "Content-Type": answer.headers.get("content-type") ?? "application/json" });
      res.end(text);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  proxy.url = `http://127.0.0.1:${port}${new URL(target).pathname.replace(/\/$/, "")}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return proxy;
}

/** A distinctive token that is not the tenant's: the 401 run passes it, and it must not show either. */
const WRONG_TOKEN = "WRONGTOKEN-idpscim-e2e-4f1c9a7d2b8e6c3a5f0d";

let world: World;
let scenario: Scenario;
let scimProxy: Proxy;
let googleProxy: Proxy;
/** Every access token the Google emulator issued and every assertion the product sent for one. */
const accessTokens = new Set<string>();
const assertions = new Set<string>();
/** label → everything the run printed. */
const outputs: { label: string; result: CliResult }[] = [];

async function run(label: string, args: string[], options: { proxied?: boolean; env?: Record<string, string> } = {}): Promise<CliResult> {
  const through =
    options.proxied === false
      ? []
      : ["--aws-scim-endpoint", scimProxy.url, "--gws-api-url", googleProxy.url, "--gws-token-url", `${googleProxy.url}/token`];
  const result = await world.run([...args, ...through], options.env ? { env: options.env } : {});
  outputs.push({ label, result });
  return result;
}

/** Every secret, by a label that says which one without printing it. */
function secrets(): { label: string; value: string }[] {
  const key = world.emulators.google.serviceAccountKey;
  const pemLines = (key.private_key ?? "")
    .split("\n")
    .filter((line) => line.length >= 16 && !line.includes("PRIVATE KEY"));
  expect(pemLines.length).toBeGreaterThan(10);
  return [
    { label: "SCIM token", value: world.emulators.scim.token },
    { label: "wrong SCIM token given on the command line", value: WRONG_TOKEN },
    { label: "private_key_id", value: key.private_key_id ?? "" },
    ...pemLines.map((value, i) => ({ label: `private key PEM line ${i + 1}`, value })),
    ...[...accessTokens].map((value, i) => ({ label: `Google access token ${i + 1}`, value })),
    ...[...assertions].map((value, i) => ({ label: `signed token assertion ${i + 1}`, value })),
  ];
}

function leaksIn(text: string): string[] {
  const found = secrets()
    .filter((s) => s.value !== "" && text.includes(s.value))
    .map((s) => s.label);
  if (/ya29\./.test(text)) found.push("a ya29. access token");
  if (/PRIVATE KEY/.test(text)) found.push("a PEM private key");
  return found;
}

beforeAll(async () => {
  scenario = loadScenarioFile(EXAMPLE_SCENARIO);
  world = await startWorld({ scenario });
  scimProxy = await startProxy(world.emulators.scim.url);
  googleProxy = await startProxy(world.emulators.google.url, (path, requestBody, answer) => {
    if (!path.startsWith("/token")) return;
    const assertion = new URLSearchParams(requestBody).get("assertion");
    if (assertion) assertions.add(assertion);
    try {
      const token = (JSON.parse(answer) as { access_token?: unknown }).access_token;
      if (typeof token === "string") accessTokens.add(token);
    } catch {
      // an error answer: no token issued
    }
  });
});

afterAll(async () => {
  await scimProxy?.close();
  await googleProxy?.close();
  await world?.close();
});

describe("secret hygiene", () => {
  test("successful runs at debug level, text and JSON logs: sync, plan, inspect, config validate, state show", async () => {
    expect((await run("first sync --debug", ["sync", "--debug"])).code).toBe(0);
    expect((await run("sync --reconcile --debug --log-format json", ["sync", "--reconcile", "--debug", "--log-format", "json"])).code).toBe(0);
    const plan = await run("plan --output json --debug", ["plan", "--output", "json", "--debug"]);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout)).toHaveProperty("operations");
    expect((await run("inspect scim users --debug", ["inspect", "scim", "users", "--debug"])).code).toBe(0);
    expect((await run("inspect gws users --debug --log-format json", ["inspect", "gws", "users", "--debug", "--log-format", "json"])).code).toBe(0);
    const validate = await run("config validate --debug", ["config", "validate", "--debug"]);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain('"scimAccessToken": "***"');
    expect((await run("state show --debug", ["state", "show", "--debug"], { proxied: false })).code).toBe(0);
    expect((await run("state show --output json", ["state", "show", "--output", "json"], { proxied: false })).code).toBe(0);
    // The proxy saw the tokens the product used, so the scan below looks for real values.
    expect(accessTokens.size).toBeGreaterThan(0);
    expect(assertions.size).toBeGreaterThan(0);
  });

  test("a 401 from SCIM (wrong token) and a 400 whose body echoes the Authorization header", async () => {
    const wrong = await run("401 wrong token --debug --output json", ["sync", "--reconcile", "--debug", "--output", "json", "--aws-scim-access-token", WRONG_TOKEN]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("401");
    expect(JSON.parse(wrong.stdout).error.code).toBe("SCIM_AUTH");

    // A gateway that rejects the listing and quotes the request's header back.
    scimProxy.hook = ({ method, authorization }) =>
      method === "GET" ? { status: 400, body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "400", detail: `Rejected header Authorization: ${authorization}` } } : undefined;
    const listing = await run("400 echo on GET --debug --log-format json", ["sync", "--reconcile", "--debug", "--log-format", "json"]);
    expect(listing.code).toBe(1);
    expect(listing.stderr).toContain("Rejected header Authorization: Bearer ");

    // The same on writes: a changed user is PATCHed and every PATCH is refused with the echo.
    const ana = scenario.google.users.find((u) => u.primaryEmail === "ana.lima@example.com")!;
    ana.name = { ...ana.name, givenName: "Anabela", fullName: "Anabela Lima" };
    scimProxy.hook = ({ method, authorization }) => (method === "PATCH" ? { status: 400, body: { detail: `bad request for ${authorization}`, status: "400" } } : undefined);
    const writes = await run("400 echo on PATCH --debug --output json", ["sync", "--debug", "--output", "json"]);
    expect(writes.code).toBe(1);
    expect(writes.stderr).toContain("bad request for Bearer ");
    // AWS's reason reaches stdout too (sync --output json), scrubbed as in the logs.
    expect(JSON.parse(writes.stdout).failed[0].reason).toContain("bad request for Bearer ");
    scimProxy.hook = () => undefined;
  });

  test("Google: scopes not granted (unauthorized_client), and 403/401 answers that echo the access token", async () => {
    const granted = [...world.emulators.google.grantedScopes];
    world.emulators.google.grantedScopes.splice(0, 1);
    const scopes = await run("Google scope missing --debug", ["sync", "--debug"]);
    world.emulators.google.grantedScopes.splice(0, world.emulators.google.grantedScopes.length, ...granted);
    expect(scopes.code).toBe(2);
    expect(scopes.stderr).toContain("unauthorized_client");

    googleProxy.hook = ({ path, authorization }) =>
      path.startsWith("/admin/directory/v1/groups")
        ? { status: 403, body: { error: { code: 403, message: `Not Authorized to access this resource/api with ${authorization}`, errors: [{ reason: "forbidden", message: authorization }] } } }
        : undefined;
    const forbidden = await run("Google 403 echo --debug --log-format json", ["sync", "--debug", "--log-format", "json"]);
    expect(forbidden.code).toBe(2);
    expect(forbidden.stderr).toContain("Not Authorized to access this resource/api with Bearer");

    googleProxy.hook = ({ path, authorization }) =>
      path.startsWith("/admin/directory/v1/")
        ? { status: 401, body: { error: { code: 401, message: `Invalid Credentials: ${authorization}`, errors: [{ reason: "authError", message: authorization }] } } }
        : undefined;
    const unauthorized = await run("Google 401 echo --debug", ["plan", "--output", "json", "--debug"]);
    expect(unauthorized.code).toBe(2);
    googleProxy.hook = () => undefined;
  });

  test("dropped connections: every Google request cut (the run fails), each SCIM request cut once (retried)", async () => {
    googleProxy.hook = ({ path }) => (path.startsWith("/admin/directory/v1/") ? "drop" : undefined);
    const google = await run("Google connections dropped --debug --log-format json", ["sync", "--debug", "--log-format", "json"]);
    googleProxy.hook = () => undefined;
    expect(google.code).toBe(1);
    expect(google.stderr).toContain("retry");

    // Each distinct SCIM request is cut the first time and passed on its retry.
    const seen = new Set<string>();
    scimProxy.hook = ({ method, path }) => {
      const key = `${method} ${path}`;
      if (seen.has(key)) return undefined;
      seen.add(key);
      return "drop";
    };
    const scim = await run("SCIM first attempts dropped --debug", ["sync", "--reconcile", "--debug"]);
    scimProxy.hook = () => undefined;
    expect(scim.code).toBe(0);
    expect(scim.stderr).toContain("no answer");
  });

  test("a secret put where a plain value goes (swapped settings) is refused without being echoed", async () => {
    const asEndpoint = await run("SCIM token given as the endpoint", ["config", "validate", "--aws-scim-endpoint", world.emulators.scim.token], { proxied: false });
    expect(asEndpoint.code).toBe(2);
    expect(asEndpoint.stderr).toContain("aws-scim-endpoint");
    // A token may start with a dash: yargs alone would read it as one-letter flags and name them.
    const dashed = await run("SCIM token with a leading dash given as the endpoint", ["config", "validate", "--aws-scim-endpoint", `-${world.emulators.scim.token}`], { proxied: false });
    expect(dashed.code).toBe(2);
    expect(dashed.stderr).toContain("--aws-scim-endpoint has no value");
    const keyText = readFileSync(world.emulators.google.serviceAccountFile, "utf8");
    const asPath = await run("key JSON given as the key file path, at debug", ["sync", "--debug"], { proxied: false, env: { IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: keyText } });
    expect(asPath.code).toBe(2);
    expect(asPath.stderr).toContain("IDPSCIM_GWS_SERVICE_ACCOUNT_FILE");
    const asFileValue = await run("key JSON given as the key file path, config validate", ["config", "validate", "--gws-service-account-file", keyText], { proxied: false });
    expect(asFileValue.code).toBe(2);
  });

  test("no output of any run, nor the state file, holds a secret; the state file is 0600", () => {
    expect(outputs.length).toBeGreaterThanOrEqual(20);
    const leaks = outputs.flatMap(({ label, result }) => [
      ...leaksIn(result.stdout).map((secret) => `${label}: stdout holds the ${secret}`),
      ...leaksIn(result.stderr).map((secret) => `${label}: stderr holds the ${secret}`),
    ]);
    expect(existsSync(world.statePath)).toBe(true);
    leaks.push(...leaksIn(readFileSync(world.statePath, "utf8")).map((secret) => `state file holds the ${secret}`));
    expect(leaks).toEqual([]);
    expect(statSync(world.statePath).mode & 0o777).toBe(0o600);
  });
});
