/**
 * @module End-to-end: the compiled binary as a Lambda custom runtime (bootstrap), driven through
 * the Runtime API emulator by scheduled events against the Google, SCIM, S3 and Secrets Manager
 * emulators, and once against a real OpenLDAP slapd as the source. linux-x64 natively;
 * linux-arm64 (what Lambda runs) under qemu-user.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileBinary } from "../../scripts/build.ts";
import { buildEmf, membershipChanges, metricsFromRun } from "../../src/log/emf.ts";
import { outcomeOfError, outcomeOfRun, traceRoot } from "../../src/shell/lambda.ts";
import { SyncError } from "../../src/core/errors.ts";
import { startGoogleEmulator } from "../emulators/google/server.ts";
import { awsEnvironment, startEmulators, type Emulators } from "../emulators/index.ts";
import { scheduledEvent } from "../emulators/lambda/events.ts";
import { DECOY_BUNFIG_MARKER, startLambdaFunction, type LambdaFunction, type LambdaFunctionOptions } from "../emulators/lambda/function.ts";
import type { InvocationResult } from "../emulators/lambda/server.ts";
import { startRuntimeApi } from "../emulators/lambda/server.ts";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, startWorld, type World } from "../support/harness.ts";
import { scenarioDirectory, SUSPENDED_FILTER } from "../support/ldif.ts";
import { slapdUnavailable, startSlapd } from "../support/slapd.ts";

const QEMU = "/usr/bin/qemu-aarch64-static";
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";
const qemuMissing = !existsSync(QEMU) ? `${QEMU} not found` : !existsSync(ARM64_SYSROOT) ? `${ARM64_SYSROOT} not found` : undefined;
/** The ≥ 6-minute long poll is opt-in (IDPSCIM_SLOW_TESTS=1); a fast equivalent always runs. */
const slowTests = process.env.IDPSCIM_SLOW_TESTS === "1";

let buildDir = "";
let x64 = "";
let arm64 = "";
beforeAll(async () => {
  buildDir = mkdtempSync(join(tmpdir(), "idpscim-lambda-e2e-"));
  const started = performance.now();
  const [native, arm] = await Promise.all([
    compileBinary({ target: "bun-linux-x64", outfile: join(buildDir, "x64", "bootstrap") }),
    qemuMissing ? undefined : compileBinary({ target: "bun-linux-arm64", outfile: join(buildDir, "arm64", "bootstrap") }),
  ]);
  x64 = native.outfile;
  arm64 = arm?.outfile ?? "";
  console.log(`built bootstrap for linux-x64${arm ? " and linux-arm64" : ""} in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  if (qemuMissing) console.log(`linux-arm64 under qemu: skipped (${qemuMissing}; apt-get install qemu-user-static libc6-arm64-cross)`);
}, 300_000);
afterAll(() => {
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  // Functions first (they hold connections to the emulators), then the emulators.
  for (const item of open.splice(0).reverse()) await item.close();
});

async function emulators(options: Parameters<typeof startEmulators>[0] = { scenario: loadScenarioFile(EXAMPLE_SCENARIO) }): Promise<Emulators> {
  const started = await startEmulators(options);
  open.push(started);
  return started;
}

async function lambda(options: LambdaFunctionOptions): Promise<LambdaFunction> {
  const fn = await startLambdaFunction(options);
  open.push(fn);
  return fn;
}

/** The function's configuration, as the Terraform module would set it: IDPSCIM_* variables. */
function functionEnv(e: Emulators, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...awsEnvironment(e),
    IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: e.google.serviceAccountFile,
    IDPSCIM_GWS_USER_EMAIL: e.google.adminEmail,
    IDPSCIM_GWS_API_URL: e.google.url,
    IDPSCIM_GWS_TOKEN_URL: e.google.tokenUrl,
    IDPSCIM_AWS_SCIM_ENDPOINT: e.scim.url,
    IDPSCIM_AWS_SCIM_ACCESS_TOKEN: e.scim.token,
    IDPSCIM_AWS_S3_BUCKET_NAME: e.s3.bucket,
    // The emulators are not throttled unless a test says so.
    IDPSCIM_AWS_SCIM_RATE_LIMIT: "1000",
    ...extra,
  };
}


interface LogLine {
  level: string;
  message: string;
  timestamp: string;
  service: string;
  function_request_id?: string;
  cold_start?: boolean;
  xray_trace_id?: string;
}

/** Every stderr line must be one JSON object with Powertools' keys. */
function logLines(fn: LambdaFunction): LogLine[] {
  return fn.stderrLines().map((line) => {
    const parsed = JSON.parse(line) as LogLine;
    expect(Object.keys(parsed).slice(0, 4)).toEqual(["level", "message", "timestamp", "service"]);
    return parsed;
  });
}

/** Every stdout line must be an EMF document (stdout carries nothing else in Lambda). */
function emfLines(fn: LambdaFunction): Record<string, unknown>[] {
  return fn.stdoutLines().map((line) => {
    const parsed = JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] } };
    expect(parsed._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: "idpscim", Dimensions: [["Service"]] });
    expect(parsed.Service).toBe("idpscim");
    return parsed;
  });
}

/**
 * An LDAP source's function, as a deployment in a VPC would configure it: the [ldap] settings of a
 * world reading slapd as IDPSCIM_* variables, and the bind password from Secrets Manager.
 */
function ldapFunctionEnv(w: World, bindPasswordSecret: string, extra: Record<string, string> = {}): Record<string, string> {
  const e = w.emulators;
  const { slapd, directory } = w.ldap!;
  return {
    ...awsEnvironment(e),
    IDPSCIM_SOURCE_TYPE: "ldap",
    IDPSCIM_LDAP_URL: slapd.ldapsUrl ?? slapd.url,
    IDPSCIM_LDAP_CA_FILE: slapd.caFile,
    IDPSCIM_LDAP_BIND_DN: slapd.bindDn,
    IDPSCIM_LDAP_BASE_DN: directory.baseDn,
    IDPSCIM_LDAP_USER_BASE_DN: directory.peopleDn,
    IDPSCIM_LDAP_GROUP_BASE_DN: directory.groupsDn,
    IDPSCIM_LDAP_PRESET: "openldap",
    IDPSCIM_LDAP_SUSPENDED_FILTER: SUSPENDED_FILTER,
    IDPSCIM_USE_SECRETS_MANAGER: "true",
    IDPSCIM_LDAP_BIND_PASSWORD_SECRET_NAME: bindPasswordSecret,
    // Given explicitly, so they win over their secrets: only the bind password is asked for.
    IDPSCIM_AWS_SCIM_ENDPOINT: e.scim.url,
    IDPSCIM_AWS_SCIM_ACCESS_TOKEN: e.scim.token,
    IDPSCIM_AWS_S3_BUCKET_NAME: e.s3.bucket,
    IDPSCIM_AWS_SCIM_RATE_LIMIT: "1000",
    ...extra,
  };
}

const summaryOf = (r: InvocationResult) => JSON.parse(r.response ?? "null") as { requests: { scim: number; google: number }; plan: Record<string, number>; continuesNextRun: boolean; failures: number };
const ms = (r: InvocationResult) => r.endedAt - (r.startedAt ?? r.queuedAt);

/** Figures of the native run, for the arm64 ratios. */
const measured: { x64?: { coldInitMs: number; firstMs: number; secondMs: number } } = {};

describe("compiled linux-x64 bootstrap", () => {
  test("two scheduled invocations: the first creates, the second sends zero SCIM requests; EMF and JSON logs", async () => {
    const e = await emulators();
    const fn = await lambda({ command: [x64], env: functionEnv(e), timeoutMs: 120_000 });

    const first = await fn.invoke(scheduledEvent());
    expect(first).toMatchObject({ status: "success" });
    expect(first.contentType).toBe("application/json");
    const firstSummary = summaryOf(first);
    expect(firstSummary.plan).toMatchObject({ createUser: 12, createGroup: 5 });
    const firstScim = e.scim.log.total();
    const firstGoogle = e.google.log.total();
    expect(firstSummary.requests).toMatchObject({ scim: firstScim, google: firstGoogle });
    const users = e.scim.snapshot().users.map((u) => u.userName);
    expect(users).toContain("ana.lima@example.com");
    expect(users).toHaveLength(13);
    e.scim.log.clear();
    e.google.log.clear();
    const second = await fn.invoke(scheduledEvent());
    expect(second).toMatchObject({ status: "success" });
    expect(e.scim.log.total()).toBe(0);
    expect(summaryOf(second).requests.scim).toBe(0);
    expect(fn.sandboxes).toHaveLength(1); // warm: one init for both

    const emf = emfLines(fn);
    expect(emf).toHaveLength(2);
    expect(emf[0]).toMatchObject({ function_request_id: first.requestId, UsersCreated: 12, UsersUpdated: 0, GroupsCreated: 5, FailedRecords: 0, ScimRequests: firstScim, GoogleRequests: firstGoogle });
    expect(emf[1]).toMatchObject({ function_request_id: second.requestId, UsersCreated: 0, GroupsCreated: 0, MembershipChanges: 0, ScimRequests: 0, GoogleRequests: e.google.log.total() });
    // SourceRequests, the same figure whichever the source, is Google's here; no LDAP metric.
    expect(emf.map((d) => d.SourceRequests)).toEqual([firstGoogle, e.google.log.total()]);
    expect(emf.every((d) => !("LdapSearches" in d) && !("LdapPages" in d))).toBe(true);
    expect(emf[0]!.DurationMs).toBeGreaterThan(0);
    // The Google read's rate, a gauge (Count/Second), declared with the others.
    expect(emf[0]!.GoogleRequestRate).toBeGreaterThan(0);
    expect((emf[0]!._aws as { CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[] }[] }).CloudWatchMetrics[0]!.Metrics).toContainEqual({ Name: "GoogleRequestRate", Unit: "Count/Second" });

    const logs = logLines(fn);
    const during = (r: InvocationResult) => logs.filter((l) => l.function_request_id === r.requestId);
    expect(during(first).length).toBeGreaterThan(3);
    expect(during(first).every((l) => l.cold_start === true && /^1-[0-9a-f]{8}-[0-9a-f]{24}$/.test(l.xray_trace_id ?? ""))).toBe(true);
    expect(during(second).every((l) => l.cold_start === false)).toBe(true);
    expect(during(first).some((l) => l.message.startsWith("summary: users created 12"))).toBe(true);
    expect(logs.filter((l) => l.function_request_id === undefined).map((l) => l.message)).toEqual([expect.stringContaining("lambda runtime ready")]);
    const everything = fn.stderrLines().join("\n") + fn.stdoutLines().join("\n");
    expect(everything).not.toContain(e.scim.token);
    expect(everything).not.toContain(DECOY_BUNFIG_MARKER);

    const coldInitMs = first.startedAt! - fn.sandboxes[0]!.startedAt;
    measured.x64 = { coldInitMs, firstMs: ms(first), secondMs: ms(second) };
    console.log(
      `lambda linux-x64: init ${coldInitMs} ms; 1st invocation ${ms(first)} ms (SCIM ${firstScim}, Google ${firstGoogle} requests); ` +
        `2nd ${ms(second)} ms (SCIM 0, Google ${e.google.log.total()}); 2nd/1st = ${(ms(second) / ms(first)).toFixed(2)}`,
    );
  });

  const slapdMissing = slapdUnavailable();
  if (slapdMissing) console.log(`skipping the Lambda LDAP test: ${slapdMissing}`);
  test.skipIf(slapdMissing !== undefined)("an LDAP source: EMF carries SourceRequests, LdapSearches and LdapPages (the pages slapd answered), and no Google metric", async () => {
    // slapd logs one SRCH line per operation: a page of a paged search is one (RFC 2696).
    const world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) }, {}, { slapd: { logLevel: "stats" } });
    open.push(world);
    const e = world.emulators;
    const secret = "idpscim/ldap-bind-password";
    e.secrets.secrets.set(secret, `${world.ldap!.slapd.bindPassword}\n`);
    const slapdPages = () => world.ldap!.slapd.log().match(/ SRCH base=/g)?.length ?? 0;
    // Pages of 5 entries: the 12 users take 3, so pages and searches differ.
    const fn = await lambda({ command: [x64], env: ldapFunctionEnv(world, secret, { IDPSCIM_LDAP_PAGE_SIZE: "5" }), timeoutMs: 120_000 });

    const first = await fn.invoke(scheduledEvent());
    expect(first).toMatchObject({ status: "success" });
    const firstPages = slapdPages();
    const firstScim = e.scim.log.total();
    const firstLdap = (JSON.parse(first.response!) as { requests: { google: number; ldap: { searches: number; pages: number } } }).requests;
    expect(firstLdap).toMatchObject({ google: 0, ldap: { pages: firstPages } });
    expect(firstLdap.ldap.searches).toBeLessThan(firstPages);
    expect(e.scim.snapshot().users).toHaveLength(13);
    e.scim.log.clear();
    const second = await fn.invoke(scheduledEvent());
    expect(second).toMatchObject({ status: "success" });
    expect(e.scim.log.total()).toBe(0);
    const secondPages = slapdPages() - firstPages;
    expect(e.google.log.total()).toBe(0);
    // Only the bind password is read from Secrets Manager, at each invocation; no Google secret.
    expect(e.secrets.log.counts()).toEqual({ "POST GetSecretValue": 2 });

    const emf = emfLines(fn);
    expect(emf).toHaveLength(2);
    expect(emf[0]).toMatchObject({ function_request_id: first.requestId, UsersCreated: 12, GroupsCreated: 5, ScimRequests: firstScim, SourceRequests: firstPages, LdapSearches: firstLdap.ldap.searches, LdapPages: firstPages });
    expect(emf[1]).toMatchObject({ function_request_id: second.requestId, UsersCreated: 0, ScimRequests: 0, SourceRequests: secondPages, LdapSearches: firstLdap.ldap.searches, LdapPages: secondPages });
    for (const document of emf) {
      expect(document).not.toHaveProperty("GoogleRequests");
      expect(document).not.toHaveProperty("GoogleRequestRate");
      const declared = (document._aws as { CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[] }[] }).CloudWatchMetrics[0]!.Metrics;
      expect(declared).toEqual(expect.arrayContaining([{ Name: "SourceRequests", Unit: "Count" }, { Name: "LdapSearches", Unit: "Count" }, { Name: "LdapPages", Unit: "Count" }]));
      expect(declared.map((m) => m.Name)).not.toContain("GoogleRequests");
    }
    const everything = fn.stderrLines().join("\n") + fn.stdoutLines().join("\n");
    expect(everything).not.toContain(world.ldap!.slapd.bindPassword);
    expect(everything).not.toContain(e.scim.token);
    console.log(`lambda linux-x64, LDAP source (page size 5): 1st invocation ${firstLdap.ldap.searches} searches in ${firstPages} pages, SCIM ${firstScim}; 2nd ${secondPages} pages, SCIM 0`);
  });

  test("configuration from Secrets Manager (re-read every invocation); the decoy .env in the task root is not loaded", async () => {
    const e = await emulators();
    const names = { key: "idpscim/gws-key", email: "idpscim/gws-email", endpoint: "idpscim/scim-endpoint", token: "idpscim/scim-token" };
    e.secrets.secrets.set(names.key, readFileSync(e.google.serviceAccountFile, "utf8"));
    e.secrets.secrets.set(names.email, `${e.google.adminEmail}\n`);
    e.secrets.secrets.set(names.endpoint, e.scim.url);
    e.secrets.secrets.set(names.token, e.scim.token);
    const env = {
      ...awsEnvironment(e),
      IDPSCIM_USE_SECRETS_MANAGER: "true",
      IDPSCIM_GWS_SERVICE_ACCOUNT_FILE_SECRET_NAME: names.key,
      IDPSCIM_GWS_USER_EMAIL_SECRET_NAME: names.email,
      IDPSCIM_AWS_SCIM_ENDPOINT_SECRET_NAME: names.endpoint,
      IDPSCIM_AWS_SCIM_ACCESS_TOKEN_SECRET_NAME: names.token,
      IDPSCIM_GWS_API_URL: e.google.url,
      IDPSCIM_GWS_TOKEN_URL: e.google.tokenUrl,
      IDPSCIM_AWS_S3_BUCKET_NAME: e.s3.bucket,
      IDPSCIM_AWS_SCIM_RATE_LIMIT: "1000",
    };
    const fn = await lambda({ command: [x64], env, timeoutMs: 120_000 });
    // The task root's .env says IDPSCIM_AWS_SCIM_ACCESS_TOKEN=wrong: loaded, it would win over the secret (401).
    expect(readFileSync(join(fn.taskRoot, ".env"), "utf8")).toContain("IDPSCIM_AWS_SCIM_ACCESS_TOKEN=wrong");

    const first = await fn.invoke(scheduledEvent());
    expect(first).toMatchObject({ status: "success" });
    expect(summaryOf(first).plan.createUser).toBe(12);
    expect(e.scim.log.total((r) => r.status === 401)).toBe(0);
    expect(e.secrets.log.counts()).toEqual({ "POST GetSecretValue": 4 });
    const second = await fn.invoke(scheduledEvent());
    expect(second).toMatchObject({ status: "success" });
    // Read again each run, so a rotated SCIM token is used without waiting for a cold start.
    expect(e.secrets.log.counts()).toEqual({ "POST GetSecretValue": 8 });
    const everything = fn.stderrLines().join("\n") + fn.stdoutLines().join("\n");
    expect(everything).not.toContain(e.scim.token);
    expect(everything).not.toContain(DECOY_BUNFIG_MARKER);
  });

  test("keyless (gws_auth = workload-identity as the Terraform module sets it): the role's AWS credentials in the environment, the credential configuration inline, no key anywhere", async () => {
    // The role's credentials are the ones the S3 emulator (the state bucket) knows: one AWS account.
    const e = await emulators({ scenario: loadScenarioFile(EXAMPLE_SCENARIO), google: { federation: { identity: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } } } });
    const id = e.google.federation.identity;
    const env = {
      ...awsEnvironment(e),
      // What Lambda puts in a function's environment from its execution role.
      AWS_ACCESS_KEY_ID: id.accessKeyId,
      AWS_SECRET_ACCESS_KEY: id.secretAccessKey,
      AWS_SESSION_TOKEN: id.sessionToken!,
      IDPSCIM_GWS_AUTH: "workload-identity",
      IDPSCIM_GWS_WORKLOAD_IDENTITY_CONFIG: JSON.stringify(e.google.federation.credentialConfig(e.google.stsUrl)),
      IDPSCIM_GWS_SERVICE_ACCOUNT_EMAIL: e.google.serviceAccountKey.client_email!,
      IDPSCIM_GWS_USER_EMAIL: e.google.adminEmail,
      IDPSCIM_GWS_API_URL: e.google.url,
      IDPSCIM_GWS_TOKEN_URL: e.google.tokenUrl,
      IDPSCIM_GWS_IAM_CREDENTIALS_URL: e.google.url,
      IDPSCIM_AWS_SCIM_ENDPOINT: e.scim.url,
      IDPSCIM_AWS_SCIM_ACCESS_TOKEN: e.scim.token,
      IDPSCIM_AWS_S3_BUCKET_NAME: e.s3.bucket,
      IDPSCIM_AWS_SCIM_RATE_LIMIT: "1000",
    };
    const fn = await lambda({ command: [x64], env, timeoutMs: 120_000 });
    const first = await fn.invoke(scheduledEvent());
    expect(first).toMatchObject({ status: "success" });
    expect(summaryOf(first).plan.createUser).toBe(12);
    expect(e.google.log.counts()).toMatchObject({ "POST sts": 1, "POST signJwt": 1, "POST /token": 1 });
    // Each invocation is a run of its own: its tokens are fetched anew (a run caches them, §11.4).
    const second = await fn.invoke(scheduledEvent());
    expect(second).toMatchObject({ status: "success" });
    expect(e.google.log.counts()).toMatchObject({ "POST sts": 2, "POST signJwt": 2, "POST /token": 2 });
    const everything = fn.stderrLines().join("\n") + fn.stdoutLines().join("\n");
    for (const secret of [id.sessionToken!, "IQoJb3JpZ2lu", "ya29.", "eyJhbGciOi", "Signature="]) expect(everything).not.toContain(secret);
  });

  test.skipIf(slapdUnavailable() !== undefined)(
    "source_type = ldap as the Terraform module sets it: the bind password and SCIM pair from Secrets Manager by name, the CA as IDPSCIM_LDAP_CA_PEM, no file; the second run sends no SCIM request",
    async () => {
      const e = await emulators();
      const directory = scenarioDirectory(loadScenarioFile(EXAMPLE_SCENARIO).google);
      const slapd = await startSlapd({ baseDn: directory.baseDn, ldif: directory.entries() });
      open.push({ close: () => slapd.stop() });
      const names = { password: "idpscim/ldap-bind-password-AbCdEf", endpoint: "idpscim/scim-endpoint-GhIjKl", token: "idpscim/scim-access-token-MnOpQr" };
      e.secrets.secrets.set(names.password, slapd.bindPassword);
      e.secrets.secrets.set(names.endpoint, e.scim.url);
      e.secrets.secrets.set(names.token, e.scim.token);
      // terraform/main.tf's local.environment for source_type = "ldap" (module.test.ts checks those names against the option table).
      const env = {
        ...awsEnvironment(e),
        IDPSCIM_LOG_FORMAT: "json",
        IDPSCIM_USE_SECRETS_MANAGER: "true",
        IDPSCIM_SOURCE_TYPE: "ldap",
        IDPSCIM_AWS_S3_BUCKET_NAME: e.s3.bucket,
        IDPSCIM_AWS_S3_BUCKET_KEY: "data/state.json",
        IDPSCIM_LDAP_BIND_PASSWORD_SECRET_NAME: names.password,
        IDPSCIM_AWS_SCIM_ENDPOINT_SECRET_NAME: names.endpoint,
        IDPSCIM_AWS_SCIM_ACCESS_TOKEN_SECRET_NAME: names.token,
        IDPSCIM_LDAP_URL: slapd.ldapsUrl!,
        IDPSCIM_LDAP_CA_PEM: readFileSync(slapd.caFile, "utf8"),
        IDPSCIM_LDAP_BIND_DN: slapd.bindDn,
        IDPSCIM_LDAP_BASE_DN: directory.baseDn,
        IDPSCIM_LDAP_USER_BASE_DN: directory.peopleDn,
        IDPSCIM_LDAP_GROUP_BASE_DN: directory.groupsDn,
        IDPSCIM_LDAP_PRESET: "openldap",
        IDPSCIM_LDAP_SUSPENDED_FILTER: SUSPENDED_FILTER,
        IDPSCIM_AWS_SCIM_RATE_LIMIT: "1000",
      };
      const fn = await lambda({ command: [x64], env, timeoutMs: 120_000 });
      const first = await fn.invoke(scheduledEvent());
      expect(first).toMatchObject({ status: "success" });
      expect(summaryOf(first).plan.createUser).toBeGreaterThan(0);
      // Three secrets, none of Google's: what the module's role may read for source_type = ldap.
      expect(e.secrets.log.counts()).toEqual({ "POST GetSecretValue": 3 });
      expect(e.google.log.total()).toBe(0);
      e.scim.log.clear();
      const second = await fn.invoke(scheduledEvent());
      expect(second).toMatchObject({ status: "success" });
      expect(summaryOf(second).requests.scim).toBe(0);
      expect(e.scim.log.total()).toBe(0);
      const everything = fn.stderrLines().join("\n") + fn.stdoutLines().join("\n");
      expect(everything).not.toContain(slapd.bindPassword);
      expect(everything).not.toContain(e.scim.token);
    },
  );

  test("an invalid configuration → POST /runtime/init/error (Runtime.ConfigInvalid), exit 2; the next invoke inits again", async () => {
    const e = await emulators();
    const env = functionEnv(e, { IDPSCIM_SYNC_MODE: "mirror" });
    delete env.IDPSCIM_AWS_SCIM_ENDPOINT;
    const fn = await lambda({ command: [x64], env });
    const result = await fn.invoke(scheduledEvent());
    expect(result.status).toBe("init-error");
    expect(result.errorType).toBe("Runtime.ConfigInvalid");
    expect(result.contentType).toBe("application/vnd.aws.lambda.error+json");
    const body = result.error as { errorMessage: string; errorType: string; stackTrace: unknown[] };
    expect(body.errorType).toBe("CONFIG_INVALID");
    expect(body.errorMessage).toContain("IDPSCIM_SYNC_MODE");
    expect(body.stackTrace).toEqual([]);
    expect((await fn.exited())?.exitCode).toBe(2);
    expect(logLines(fn).some((l) => l.level === "ERROR" && l.message.includes("init failed"))).toBe(true);
    expect(e.scim.log.total() + e.google.log.total()).toBe(0);

    expect((await fn.invoke(scheduledEvent())).status).toBe("init-error");
    expect(fn.sandboxes).toHaveLength(2);
    expect(fn.api.initErrors).toHaveLength(2);
  });

  test("a record AWS rejects → POST /error Function.RecordsFailed; the async retry repairs it (same request id)", async () => {
    const scenario = loadScenarioFile(EXAMPLE_SCENARIO);
    const e = await emulators({ scenario });
    const setup = await lambda({ command: [x64], env: functionEnv(e) });
    expect((await setup.invoke(scheduledEvent())).status).toBe("success");
    await setup.close();

    // Ana's email changes in Google and a newcomer gets her old one: the newcomer's create runs
    // before Ana's rename and meets 409 (a user deleted by hand would not do: the run reads what
    // it changes first, and re-creates it in the same run). The retry, after the rename, succeeds.
    // Two records fail: the create, and adding the newcomer to AWS Admins.
    const changed = structuredClone(scenario);
    const ana = changed.google.users.find((u) => u.primaryEmail === "ana.lima@example.com")!;
    ana.primaryEmail = "ana.l@example.com";
    for (const g of changed.google.groups) for (const m of g.members) if (m.email === "ana.lima@example.com") m.email = "ana.l@example.com";
    changed.google.users.push({ id: "100000000000000000099", primaryEmail: "ana.lima@example.com", name: { givenName: "Ana", familyName: "Lima" } } as never);
    changed.google.groups.find((g) => g.name === "AWS Admins")!.members.push({ email: "ana.lima@example.com", type: "USER", role: "MEMBER", status: "ACTIVE" } as never);
    const google = await startGoogleEmulator({ scenario: changed, directory: e.directory });
    open.push(google);
    const anaId = e.scim.snapshot().users.find((u) => u.userName === "ana.lima@example.com")!.id;

    const fn = await lambda({
      command: [x64],
      env: functionEnv(e, { IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: google.serviceAccountFile, IDPSCIM_GWS_API_URL: google.url, IDPSCIM_GWS_TOKEN_URL: google.tokenUrl }),
      retryDelaysMs: [500, 500],
    });
    const attempts = await fn.invokeAsync(scheduledEvent());
    expect(attempts.map((a) => [a.attempt, a.status, a.errorType])).toEqual([
      [1, "error", "Function.RecordsFailed"],
      [2, "success", undefined],
    ]);
    expect(attempts[1]!.requestId).toBe(attempts[0]!.requestId);
    const body = attempts[0]!.error as { errorMessage: string; errorType: string };
    expect(body.errorType).toBe("RECORDS_FAILED");
    expect(body.errorMessage).toContain("ana.lima@example.com");
    const [failedRun, retry] = emfLines(fn);
    expect(failedRun).toMatchObject({ FailedRecords: 2, UsersUpdated: 1, error_type: "Function.RecordsFailed" });
    expect(retry).toMatchObject({ FailedRecords: 0, UsersCreated: 1 });
    expect(retry!.MembershipChanges).toBeGreaterThan(0);
    const snapshot = e.scim.snapshot();
    expect(snapshot.users.find((u) => u.id === anaId)?.userName).toBe("ana.l@example.com");
    const newcomer = snapshot.users.find((u) => u.userName === "ana.lima@example.com");
    expect(newcomer?.externalId).toBe("100000000000000000099");
    expect(snapshot.groups.find((g) => g.displayName === "AWS Admins")?.members).toContain(newcomer!.id);
  });

  test("the audit trail in the log stream (one log line per SCIM write, selected by audit = idpscim) and ScimTokenDaysLeft in EMF", async () => {
    const e = await emulators();
    // Five days and an hour left: an error line each run, and the metric the module's alarm watches.
    const expiresAt = new Date(Date.now() + 5 * 86_400_000 + 3_600_000).toISOString();
    const fn = await lambda({ command: [x64], env: functionEnv(e, { IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT: expiresAt }) });
    const run = await fn.invoke(scheduledEvent());
    expect(run.status).toBe("success");
    const logs = logLines(fn) as (LogLine & Record<string, any>)[];
    const audit = logs.filter((l) => l.audit === "idpscim");
    expect(audit.length).toBeGreaterThan(0);
    // Every write AWS received is in the trail; each line is a log line of this invocation.
    expect(audit.reduce((n, l) => n + (l.attempts as number), 0)).toBe(e.scim.log.writes());
    expect(audit.every((l) => l.run === run.requestId && l.function_request_id === run.requestId && l.level === "INFO" && l.result === "ok")).toBe(true);
    expect(audit.find((l) => l.operation === "createUser" && l.name === "ana.lima@example.com")?.changed).toMatchObject({ userName: "ana.lima@example.com" });
    expect(logs.filter((l) => l.audit === undefined).every((l) => !l.message.startsWith("audit:"))).toBe(true);
    const token = logs.filter((l) => l.message.includes("SCIM access token"));
    expect(token.map((l) => l.level)).toEqual(["ERROR"]);
    expect(token[0]!.message).toContain("expires in 5 days");
    const [emf] = emfLines(fn);
    expect(emf!.ScimTokenDaysLeft).toBe(5);
    expect((emf!._aws as { CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[] }[] }).CloudWatchMetrics[0]!.Metrics).toContainEqual({ Name: "ScimTokenDaysLeft", Unit: "None" });
    expect(fn.stderrLines().join("\n")).not.toContain(e.scim.token);
  });

  test("deadline near → no new operation after the margin; /response says continuesNextRun; the next run finishes", async () => {
    const e = await emulators();
    // A 10 s timeout: no new operation after 5 s (the margin is at most half the time); SCIM answers in 2 s.
    e.scim.faults.latencyMs = 2_000;
    const fn = await lambda({ command: [x64], env: functionEnv(e), timeoutMs: 10_000 });
    const first = await fn.invoke(scheduledEvent());
    expect(first).toMatchObject({ status: "success" });
    expect(ms(first)).toBeLessThan(10_000);
    const cut = JSON.parse(first.response!) as { continuesNextRun: boolean; notStarted: number };
    expect(cut.continuesNextRun).toBe(true);
    expect(cut.notStarted).toBeGreaterThan(0);
    console.log(`deadline run: answered after ${ms(first)} ms of 10000; ${cut.notStarted} operations left for the next run`);
    expect(logLines(fn).some((l) => l.message.includes("continues next run"))).toBe(true);

    e.scim.faults.latencyMs = 0;
    const second = await fn.invoke(scheduledEvent());
    expect(second).toMatchObject({ status: "success" });
    expect(summaryOf(second).continuesNextRun).toBe(false);
    const [partial, rest] = emfLines(fn);
    expect((partial!.UsersCreated as number) + (rest!.UsersCreated as number)).toBe(12);
    expect((partial!.GroupsCreated as number) + (rest!.GroupsCreated as number)).toBe(5);
    expect(e.scim.snapshot().users).toHaveLength(13);
  });

  test("no answer by the deadline → the emulator kills the sandbox (SIGKILL); the next invoke cold-starts", async () => {
    const e = await emulators();
    e.scim.faults.latencyMs = 6_000;
    const fn = await lambda({ command: [x64], env: functionEnv(e), timeoutMs: 2_500 });
    const timedOut = await fn.invoke(scheduledEvent());
    expect(timedOut.status).toBe("timeout");
    const killed = await fn.exited();
    expect(killed?.killedForTimeout).toBe(true);
    expect(killed?.signal).toBe("SIGKILL");

    e.scim.faults.latencyMs = 0;
    const next = await fn.invoke(scheduledEvent(), { timeoutMs: 60_000 });
    expect(next).toMatchObject({ status: "success" });
    expect(fn.sandboxes).toHaveLength(2);
    expect(logLines(fn).filter((l) => l.function_request_id === next.requestId).every((l) => l.cold_start === true)).toBe(true);
  });

  test("Runtime API faults: a reset /next is polled again; a 500 on /next makes the runtime exit", async () => {
    const e = await emulators();
    const fn = await lambda({ command: [x64], env: functionEnv(e) });
    fn.api.faults.nextPolls.push("reset");
    fn.start();
    // Once the runtime polls again after the reset, the poll after the coming invocation gets a 500.
    for (const started = Date.now(); fn.api.waitingPolls() === 0; ) {
      if (Date.now() - started > 20_000) throw new Error("the runtime did not poll again after the reset");
      await Bun.sleep(20);
    }
    fn.api.faults.nextPolls.push("500");
    const result = await fn.invoke(scheduledEvent());
    expect(result).toMatchObject({ status: "success" });
    expect(logLines(fn).some((l) => l.level === "WARN" && l.message.includes("GET /next failed"))).toBe(true);

    const sandbox = await fn.exited();
    expect(sandbox?.exitCode).toBe(1);
    expect(logLines(fn).at(-1)?.message).toContain("GET /next answered 500");
  });

  test("the long poll has no client timeout (Bun's idle timeout cut to 2 s; a plain fetch is the control)", async () => {
    const e = await emulators();
    const fn = await lambda({ command: [x64], env: functionEnv(e, { BUN_CONFIG_HTTP_IDLE_TIMEOUT: "2" }) });
    fn.start();
    // Control: with the same setting, a plain fetch() poll is dropped by the client.
    const control = await startRuntimeApi();
    open.push(control);
    const plain = Bun.spawn([process.execPath, "-e", `await fetch(${JSON.stringify(`${control.url}/2018-06-01/runtime/invocation/next`)}).catch(() => {});`], {
      env: { PATH: process.env.PATH ?? "", BUN_CONFIG_HTTP_IDLE_TIMEOUT: "2" },
      stdout: "ignore",
      stderr: "ignore",
    });
    await Bun.sleep(15_000);
    plain.kill();
    expect(control.abandonedPolls()).toBeGreaterThanOrEqual(1);
    expect(fn.api.abandonedPolls()).toBe(0);
    expect(fn.api.waitingPolls()).toBe(1);
    expect((await fn.invoke(scheduledEvent())).status).toBe("success");
  }, 60_000);

  test.skipIf(!slowTests)("the long poll outlasts Bun's default 300 s idle timeout: waits 6 min 10 s, then serves the invoke", async () => {
    const e = await emulators();
    const fn = await lambda({ command: [x64], env: functionEnv(e) });
    fn.start();
    await Bun.sleep(370_000);
    expect(fn.api.abandonedPolls()).toBe(0);
    expect(fn.api.waitingPolls()).toBe(1);
    expect((await fn.invoke(scheduledEvent())).status).toBe("success");
    expect(fn.sandboxes).toHaveLength(1);
  }, 420_000);
  if (!slowTests) console.log("6-minute long-poll test: skipped (set IDPSCIM_SLOW_TESTS=1 to run it)");
});

describe("compiled linux-arm64 bootstrap under qemu-user", () => {
  test.skipIf(qemuMissing !== undefined)("two scheduled invocations, as on Lambda arm64", async () => {
    const e = await emulators();
    const fn = await lambda({ command: [QEMU, "-L", ARM64_SYSROOT, arm64], env: functionEnv(e), timeoutMs: 120_000 });
    const first = await fn.invoke(scheduledEvent());
    expect(first).toMatchObject({ status: "success" });
    expect(summaryOf(first).plan).toMatchObject({ createUser: 12, createGroup: 5 });
    const firstScim = e.scim.log.total();
    e.scim.log.clear();
    const second = await fn.invoke(scheduledEvent());
    expect(second).toMatchObject({ status: "success" });
    expect(e.scim.log.total()).toBe(0);
    const emf = emfLines(fn);
    expect(emf.map((m) => m.UsersCreated)).toEqual([12, 0]);
    expect(logLines(fn).some((l) => l.function_request_id === first.requestId)).toBe(true);
    expect(fn.stderrLines().join("\n")).not.toContain(DECOY_BUNFIG_MARKER);

    const coldInitMs = first.startedAt! - fn.sandboxes[0]!.startedAt;
    const x = measured.x64;
    const ratio = (a: number, b: number | undefined) => (b ? ` (${(a / b).toFixed(1)}× x64)` : "");
    console.log(
      `lambda linux-arm64 under qemu: init ${coldInitMs} ms${ratio(coldInitMs, x?.coldInitMs)}; 1st invocation ${ms(first)} ms${ratio(ms(first), x?.firstMs)} ` +
        `(SCIM ${firstScim}); 2nd ${ms(second)} ms${ratio(ms(second), x?.secondMs)} (SCIM 0)`,
    );
  }, 180_000);
});

describe("lambda shell decisions (pure parts)", () => {
  test("error types: configuration, safety, anything else; messages scrubbed of known secrets", () => {
    expect(outcomeOfError(new SyncError("SECRET_UNAVAILABLE", "secret x cannot be read"))).toMatchObject({ kind: "error", errorType: "Function.ConfigInvalid", body: { errorType: "SECRET_UNAVAILABLE" } });
    expect(outcomeOfError(new SyncError("SAFETY_REFUSED", "would delete 80%"))).toMatchObject({ errorType: "Function.SafetyRefused" });
    expect(outcomeOfError(new SyncError("SOURCE_READ", "google down"))).toMatchObject({ errorType: "Function.SyncFailed" });
    const scrubbed = outcomeOfError(new Error("bad token abcdefghijkl"), new Set(["abcdefghijkl"]));
    expect(scrubbed).toMatchObject({ errorType: "Function.SyncFailed", body: { errorMessage: "unexpected error: bad token ***", errorType: "Error", stackTrace: [] } });
    for (const outcome of [outcomeOfError(new Error("x")), outcomeOfError(new SyncError("CONFIG_MISSING", "y"))]) {
      expect(outcome.kind === "error" && /^(Runtime|Function)\.[A-Z][a-zA-Z]+$/.test(outcome.errorType)).toBe(true);
    }
  });

  test("a complete dry run answers /response; EMF declares only the metrics it carries", () => {
    const report = {
      plan: { operations: [], bookkeeping: { forgetUsers: [], forgetGroups: [] }, warnings: [] },
      planSummary: { createUser: 0, updateUser: 0, deleteUser: 0, createGroup: 0, updateGroup: 0, deleteGroup: 0, addMembers: 0, removeMembers: 0, requests: 0 },
      tenantRead: "skipped" as const,
      stateSaved: false,
      sourceCounts: { users: 0, groups: 0, warnings: 0 },
    };
    const figures = { durationMs: 5, scimRequests: {}, googleRequests: { "groups.list": 1 } };
    const outcome = outcomeOfRun({ report: report as never, figures, exitCode: 0 }, true);
    expect(outcome).toMatchObject({ kind: "response", summary: { outcome: "planned", done: null, continuesNextRun: false, requests: { scim: 0, google: 1 } } });
    expect(metricsFromRun(report as never, figures)).toMatchObject({ FailedRecords: 0, SourceRequests: 1, GoogleRequests: 1, DurationMs: 5 });
    const ldap = metricsFromRun(report as never, { ...figures, googleRequests: {}, ldapRequests: { searches: 3, pages: 8 } });
    expect(ldap).toMatchObject({ SourceRequests: 8, LdapSearches: 3, LdapPages: 8 });
    expect(ldap).not.toHaveProperty("GoogleRequests");
    expect(membershipChanges(report as never)).toBe(0);

    const emf = buildEmf({ service: "idpscim", timestamp: 1, metrics: { DurationMs: 9 }, properties: { function_request_id: "r", Service: "x", DurationMs: -1 } });
    expect(emf).toEqual({
      _aws: { Timestamp: 1, CloudWatchMetrics: [{ Namespace: "idpscim", Dimensions: [["Service"]], Metrics: [{ Name: "DurationMs", Unit: "Milliseconds" }] }] },
      function_request_id: "r",
      Service: "idpscim",
      DurationMs: 9,
    });
  });

  test("xray_trace_id is the Root of the trace header", () => {
    expect(traceRoot("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")).toBe("1-5759e988-bd862e3fe1be46a994272793");
    expect(traceRoot(undefined)).toBeUndefined();
  });
});
