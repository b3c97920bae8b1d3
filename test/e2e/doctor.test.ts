/**
 * @module End-to-end: `idpscim doctor` on a good set-up (every check passes, exit 0, the few
 * requests it takes, nothing left behind in S3 or SCIM) and on each way a first-time set-up goes
 * wrong, each broken for real in the emulators or slapd: the check that fails is named with its
 * fix, the other checks still run, exit 1, and no secret is printed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, startWorld, type CliResult, type World } from "../support/harness.ts";
import { slapdUnavailable } from "../support/slapd.ts";

interface ReportedCheck {
  id: string;
  title: string;
  verdict: "pass" | "fail" | "warn" | "skip";
  detail: string;
  fix?: string;
}

interface Report {
  ok: boolean;
  exitCode: number;
  counts: Record<string, number>;
  checks: ReportedCheck[];
}

const WRONG_TOKEN = "WRONGTOKEN-doctor-e2e-7c2d9f4a1b6e3c8d5a0f";

let world: World;
const outputs: CliResult[] = [];

/** `doctor --output json` with `env` over the world's config; the report, and the run for its exit code and stderr. */
async function doctor(env: Record<string, string> = {}, configFile?: string): Promise<{ run: CliResult; report: Report; byId: Record<string, ReportedCheck> }> {
  const args = ["doctor", "--output", "json", ...(configFile === undefined ? [] : ["--config-file", configFile])];
  const run = await world.run(args, { env, config: configFile === undefined });
  outputs.push(run);
  const report = JSON.parse(run.stdout) as Report;
  expect(run.code).toBe(report.exitCode);
  return { run, report, byId: Object.fromEntries(report.checks.map((c) => [c.id, c])) };
}

/** The verdict of each check, by id. */
const verdicts = (report: Report): Record<string, string> => Object.fromEntries(report.checks.map((c) => [c.id, c.verdict]));

/** Every check but `failing` passes (the token expiry skips: the world sets no expiry date; `also` names other expected verdicts). */
function expectOnly(report: Report, failing: string, also: Record<string, string> = {}): void {
  const expected = Object.fromEntries(report.checks.map((c) => [c.id, c.id === failing ? "fail" : c.id === "scim-token-expiry" ? "skip" : (also[c.id] ?? "pass")]));
  expect(verdicts(report)).toEqual(expected);
  expect(report.exitCode).toBe(1);
}

async function bucketKeys(w: World): Promise<string[]> {
  const s3 = w.emulators.s3;
  const client = new S3Client({ endpoint: s3.url, forcePathStyle: true, region: s3.region, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
  return (listed.Contents ?? []).map((o) => o.Key ?? "").sort();
}

beforeAll(async () => {
  world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) }, { state: "s3" });
});

afterAll(async () => {
  await world?.close();
});

describe("doctor on the Google source", () => {
  test("a good set-up: every check passes, exit 0; 1 token request, 1 users.list, 2 SCIM reads, the state read and a probe written and removed", async () => {
    // A state to read: the first sync writes it.
    expect((await world.run(["sync"])).code).toBe(0);
    const before = await bucketKeys(world);
    const scimBefore = world.emulators.scim.snapshot();
    for (const e of [world.emulators.google, world.emulators.scim, world.emulators.s3]) e.log.clear();

    const { run, report } = await doctor();
    expect(run.code).toBe(0);
    expect(report.ok).toBe(true);
    expect(verdicts(report)).toEqual({
      config: "pass",
      "gws-key": "pass",
      "gws-delegation": "pass",
      "gws-admin": "pass",
      "gws-clock": "pass",
      "scim-endpoint": "pass",
      "scim-token": "pass",
      "scim-token-expiry": "skip",
      "scim-clock": "pass",
      state: "pass",
    });
    expect(report.checks.find((c) => c.id === "scim-token-expiry")!.detail).toStartWith("not configured");
    expect(world.emulators.google.log.counts()).toEqual({ "POST /token": 1, "GET users.list": 1 });
    expect(world.emulators.scim.log.counts()).toEqual({ "GET /ServiceProviderConfig": 1, "GET /Users": 1 });
    const s3 = world.emulators.s3.log.entries.map((e) => `${e.method} ${e.url.split("?")[0]!.replace(/doctor-probe-[0-9a-f]+/, "doctor-probe-*")} ${e.status}`);
    expect(s3).toEqual([
      `GET /${world.emulators.s3.bucket}/data/state.json 200`,
      `PUT /${world.emulators.s3.bucket}/data/state.json.doctor-probe-* 200`,
      `DELETE /${world.emulators.s3.bucket}/data/state.json.doctor-probe-* 204`,
    ]);
    // Nothing left behind, nothing changed in AWS.
    expect(await bucketKeys(world)).toEqual(before);
    expect(world.emulators.scim.snapshot()).toEqual(scimBefore);

    // The human form: one line per check, then the summary.
    const text = await world.run(["doctor"]);
    outputs.push(text);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^PASS {2}config {13}configuration: /);
    expect(text.stdout).toContain("\nSKIP  scim-token-expiry  SCIM token expiry: not configured");
    expect(text.stdout.trimEnd().split("\n").at(-1)).toBe("doctor: 9 passed, 0 failed, 0 warned, 1 skipped");
  });

  test("the key file missing: gws-key fails naming the path; the Google checks that need it skip, the rest still run", async () => {
    const missing = join(world.emulators.directory, "no-such-key.json");
    const { report, byId } = await doctor({ IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: missing });
    expectOnly(report, "gws-key", { "gws-delegation": "skip", "gws-admin": "skip", "gws-clock": "skip" });
    expect(byId["gws-key"]!.detail).toContain(`cannot read ${missing}: ENOENT`);
    expect(byId["gws-key"]!.fix).toBeDefined();
    expect(byId["gws-delegation"]!.detail).toBe("needs the key (gws-key)");
  });

  test("a malformed key file: gws-key fails saying what is wrong with it, never quoting it", async () => {
    const broken = join(world.emulators.directory, "broken-key.json");
    const key = world.emulators.google.serviceAccountKey;
    writeFileSync(broken, JSON.stringify({ ...key, private_key: key.private_key!.slice(0, 400) }));
    const { report, byId } = await doctor({ IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: broken });
    expectOnly(report, "gws-key", { "gws-delegation": "skip", "gws-admin": "skip", "gws-clock": "skip" });
    expect(byId["gws-key"]!.detail).toContain("has a private_key that does not decode");
    expect(byId["gws-key"]!.fix).toContain("download a JSON key");
  });

  test("a key Google does not accept (deleted, or another account's): gws-key passes, gws-delegation fails on the signature", async () => {
    const other = join(world.emulators.directory, "other-key.json");
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    writeFileSync(other, JSON.stringify({ ...world.emulators.google.serviceAccountKey, private_key: privateKey }));
    const { report, byId } = await doctor({ IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: other });
    expectOnly(report, "gws-delegation", { "gws-admin": "skip" });
    expect(byId["gws-delegation"]!.detail).toContain("(400 invalid_grant: Invalid JWT Signature.)");
    expect(byId["gws-delegation"]!.fix).toStartWith("the key was deleted or revoked, or belongs to another service account");
    expect(`${report.checks.map((c) => c.detail).join("\n")}`).not.toContain(privateKey.split("\n")[1]!);
  });

  test("a scope not delegated: gws-delegation names it (each scope asked for alone) and the client ID", async () => {
    const granted = world.emulators.google.grantedScopes;
    const memberScope = "https://www.googleapis.com/auth/admin.directory.group.member.readonly";
    granted.splice(granted.indexOf(memberScope), 1);
    world.emulators.google.log.clear();
    try {
      const { report, byId } = await doctor();
      expectOnly(report, "gws-delegation");
      const clientId = world.emulators.google.serviceAccountKey.client_id!;
      expect(byId["gws-delegation"]!.detail).toBe(`not delegated to client ID ${clientId}: ${memberScope} (the others are)`);
      expect(byId["gws-delegation"]!.fix).toContain(`Domain Wide Delegation) add client ID ${clientId}`);
      // The three together, then each alone; the admin check used the token of the users scope.
      expect(world.emulators.google.log.counts()).toEqual({ "POST /token": 4, "GET users.list": 1 });
    } finally {
      granted.push(memberScope);
    }
  });

  test("an admin email Google does not know: gws-admin fails (invalid_grant: Invalid email or User ID)", async () => {
    const { report, byId } = await doctor({ IDPSCIM_GWS_USER_EMAIL: "nobody@example.com" });
    expectOnly(report, "gws-admin", { "gws-delegation": "skip" });
    expect(byId["gws-admin"]!.detail).toBe("Google does not know nobody@example.com (invalid_grant: Invalid email or User ID)");
    expect(byId["gws-admin"]!.fix).toContain("super admin");
  });

  test("no scope delegated and an unknown admin: both named, each in its check", async () => {
    const granted = world.emulators.google.grantedScopes;
    const saved = granted.splice(0, granted.length, "https://www.googleapis.com/auth/admin.directory.user.readonly");
    try {
      const { report, byId } = await doctor({ IDPSCIM_GWS_USER_EMAIL: "nobody@example.com" });
      expectOnly(report, "gws-delegation", { "gws-admin": "fail" });
      expect(byId["gws-delegation"]!.detail).toContain("admin.directory.group.readonly, https://www.googleapis.com/auth/admin.directory.group.member.readonly (the others are)");
      expect(byId["gws-admin"]!.detail).toBe("Google does not know nobody@example.com (invalid_grant: Invalid email or User ID)");

      granted.splice(0, granted.length);
      const none = await doctor();
      expectOnly(none.report, "gws-delegation", { "gws-admin": "skip" });
      expect(none.byId["gws-delegation"]!.detail).toStartWith(`no scope is delegated to client ID ${world.emulators.google.serviceAccountKey.client_id} (unauthorized_client: Client is unauthorized`);
      expect(none.byId["gws-admin"]!.detail).toBe("needs a token with the users scope (gws-delegation)");
    } finally {
      granted.splice(0, granted.length, ...saved);
    }
  });

  test("a user who is not an admin: gws-admin fails on the Directory's 403", async () => {
    const { report, byId } = await doctor({ IDPSCIM_GWS_USER_EMAIL: "ana.lima@example.com" });
    expectOnly(report, "gws-admin");
    expect(byId["gws-admin"]!.detail).toBe("ana.lima@example.com may not read the directory (403: Not Authorized to access this resource/api)");
  });

  test("a wrong SCIM token: scim-token fails on the 401, the endpoint passes", async () => {
    const { run, report, byId } = await doctor({ IDPSCIM_AWS_SCIM_ACCESS_TOKEN: WRONG_TOKEN });
    expectOnly(report, "scim-token");
    expect(byId["scim-token"]!.detail).toStartWith("refused (401)");
    expect(byId["scim-token"]!.fix).toContain("Manage access token");
    expect(`${run.stdout}${run.stderr}`).not.toContain(WRONG_TOKEN);
  });

  test("the SCIM token's expiry: 20 days left warns (exit 0), 5 days left fails (exit 1) with the steps to a new token", async () => {
    const inDays = (days: number) => new Date(Date.now() + days * 86_400_000 + 3_600_000).toISOString();
    const soon = await doctor({ IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT: inDays(20) });
    expect(soon.run.code).toBe(0);
    expect(soon.byId["scim-token-expiry"]!.verdict).toBe("warn");
    expect(soon.byId["scim-token-expiry"]!.detail).toContain("expires in 20 days");
    const near = await doctor({ IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT: inDays(5) });
    expect(near.run.code).toBe(1);
    expect(near.byId["scim-token-expiry"]!.verdict).toBe("fail");
    expect(near.byId["scim-token-expiry"]!.fix).toContain("Generate token");
    const far = await doctor({ IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT: inDays(200) });
    expect(far.byId["scim-token-expiry"]!.verdict).toBe("pass");
  });

  test("a wrong SCIM endpoint: nothing listening, or a server that is not SCIM (404); the token check skips", async () => {
    const refused = await doctor({ IDPSCIM_AWS_SCIM_ENDPOINT: "http://127.0.0.1:9/tenant/scim/v2" });
    expectOnly(refused.report, "scim-endpoint", { "scim-token": "skip", "scim-clock": "skip" });
    expect(refused.byId["scim-endpoint"]!.detail).toContain("no answer");
    expect(refused.byId["scim-endpoint"]!.fix).toContain("aws.scim_endpoint");
    expect(refused.byId["scim-token"]!.detail).toBe("needs an endpoint that answers (scim-endpoint)");

    const elsewhere = await doctor({ IDPSCIM_AWS_SCIM_ENDPOINT: `${world.emulators.google.url}/tenant/scim/v2` });
    expectOnly(elsewhere.report, "scim-endpoint", { "scim-token": "skip" });
    expect(elsewhere.byId["scim-endpoint"]!.detail).toBe(`${world.emulators.google.url}/tenant/scim/v2/ServiceProviderConfig answered 404: no SCIM service at that path`);
    expect(elsewhere.byId["scim-endpoint"]!.fix).toContain("https://scim.<region>.amazonaws.com/<tenant id>/scim/v2/");
  });

  test("a state bucket that does not exist: state fails naming it", async () => {
    const { report, byId } = await doctor({ IDPSCIM_AWS_S3_BUCKET_NAME: "no-such-bucket" });
    expectOnly(report, "state");
    expect(byId.state!.detail).toContain("s3://no-such-bucket/data/state.json");
    expect(byId.state!.detail).toContain("NoSuchBucket");
  });

  test("no write access to the bucket: state fails naming s3:PutObject, and nothing was written", async () => {
    const before = await bucketKeys(world);
    world.emulators.s3.access.write = false;
    try {
      const { report, byId } = await doctor();
      expectOnly(report, "state");
      expect(byId.state!.detail).toContain("cannot write the probe object s3://");
      expect(byId.state!.detail).toContain("AccessDenied");
      expect(byId.state!.fix).toContain("s3:PutObject");
    } finally {
      world.emulators.s3.access.write = true;
    }
    expect(await bucketKeys(world)).toEqual(before);
  });

  test("clock skew: a minute and more warns (exit 0); ten minutes fails against both services, and Google refuses the assertion's times", async () => {
    const { google, scim } = world.emulators;
    try {
      google.clock.skewSeconds = scim.clock.skewSeconds = 120;
      const warned = await doctor();
      expect(warned.run.code).toBe(0);
      expect(verdicts(warned.report)).toMatchObject({ "gws-clock": "warn", "scim-clock": "warn", "gws-delegation": "pass" });
      expect(warned.byId["gws-clock"]!.detail).toMatch(/^this host's clock is 1(19|20|21) s behind Google's/);

      google.clock.skewSeconds = scim.clock.skewSeconds = -600;
      const failed = await doctor();
      expectOnly(failed.report, "gws-clock", { "scim-clock": "fail", "gws-delegation": "fail", "gws-admin": "skip" });
      expect(failed.byId["gws-admin"]!.detail).toBe("needs a token (gws-delegation)");
      expect(failed.byId["scim-clock"]!.detail).toMatch(/^this host's clock is (599|600|601) s ahead of AWS's \(over 300 s/);
      expect(failed.byId["gws-delegation"]!.detail).toContain("invalid_grant: Invalid JWT: Token must be a short-lived token");
      expect(failed.byId["gws-delegation"]!.fix).toBe("synchronise this host's clock (gws-clock)");
      expect(failed.byId["gws-clock"]!.fix).toContain("NTP");
    } finally {
      google.clock.skewSeconds = scim.clock.skewSeconds = 0;
    }
  });

  test("settings missing: each fails in its own check, the others still run", async () => {
    const config = world.configPath;
    const partial = join(world.emulators.directory, "partial.toml");
    // The world's config without its [aws] SCIM lines and without gws.user_email.
    const text = (await Bun.file(config).text())
      .split("\n")
      .filter((line) => !/^(scim_endpoint|scim_access_token|user_email) =/.test(line))
      .join("\n");
    writeFileSync(partial, text);
    const { report, byId } = await doctor({}, partial);
    expectOnly(report, "scim-endpoint", { "scim-token": "fail", "gws-admin": "fail", "gws-delegation": "skip", "gws-clock": "skip", "scim-clock": "skip" });
    expect(byId["scim-endpoint"]!.detail).toStartWith("aws.scim_endpoint is not set: pass --aws-scim-endpoint");
    expect(byId["gws-admin"]!.detail).toStartWith("gws.user_email is not set: pass --gws-user-email");
  });

  test("with Secrets Manager: the token and the key come from their secrets; a secret that cannot be read fails the check of its setting", async () => {
    const { secrets } = world.emulators;
    const partial = join(world.emulators.directory, "with-secrets.toml");
    const text = (await Bun.file(world.configPath).text())
      .split("\n")
      .filter((line) => !/^(scim_access_token|service_account_file) =/.test(line))
      .join("\n");
    writeFileSync(partial, `use_secrets_manager = true\n${text}`);
    secrets.secrets.set("IDPSCIM_SCIMAccessToken", world.emulators.scim.token);
    secrets.secrets.set("IDPSCIM_GWSServiceAccountFile", await Bun.file(world.emulators.google.serviceAccountFile).text());
    const good = await doctor({}, partial);
    expect(good.run.code).toBe(0);
    expect(good.byId["gws-key"]!.detail).toStartWith("the secret IDPSCIM_GWSServiceAccountFile: service account ");

    secrets.secrets.delete("IDPSCIM_SCIMAccessToken");
    const { report, byId } = await doctor({}, partial);
    expectOnly(report, "scim-token", { "scim-endpoint": "skip", "scim-clock": "skip" });
    expect(byId["scim-token"]!.detail).toBe('cannot read secret "IDPSCIM_SCIMAccessToken" from Secrets Manager (ResourceNotFoundException)');
    expect(byId["scim-token"]!.fix).toContain("secretsmanager:GetSecretValue");
  });

  test("a configuration that does not load: config fails with the problem, every other check skips, exit 1", async () => {
    const { report, byId } = await doctor({ IDPSCIM_SYNC_MODE: "mirror" });
    expect(report.exitCode).toBe(1);
    expect(byId.config!.verdict).toBe("fail");
    expect(byId.config!.detail).toContain("IDPSCIM_SYNC_MODE");
    expect(report.checks.filter((c) => c.id !== "config").every((c) => c.verdict === "skip")).toBe(true);
  });

  test("no secret in anything doctor printed: the SCIM token, the key, access tokens", () => {
    const key = world.emulators.google.serviceAccountKey;
    const pemLines = key.private_key!.split("\n").filter((line) => line.length >= 16 && !line.includes("PRIVATE KEY"));
    expect(outputs.length).toBeGreaterThan(10);
    for (const { stdout, stderr } of outputs) {
      const all = `${stdout}${stderr}`;
      expect(all).not.toContain(world.emulators.scim.token);
      expect(all).not.toContain(WRONG_TOKEN);
      expect(all).not.toContain(key.private_key_id!);
      for (const line of pemLines) expect(all).not.toContain(line);
      expect(all).not.toMatch(/ya29\.|PRIVATE KEY/);
    }
  });
});

const unavailable = slapdUnavailable();

describe.skipIf(unavailable !== undefined)("doctor on an LDAP source (slapd)", () => {
  let ldapWorld: World;
  const ldapOutputs: CliResult[] = [];
  beforeAll(async () => {
    ldapWorld = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) }, {}, {});
  });
  afterAll(async () => {
    await ldapWorld?.close();
  });
  const ldapDoctor = async (env: Record<string, string> = {}) => {
    const run = await ldapWorld.run(["doctor", "--output", "json"], { env });
    ldapOutputs.push(run);
    const report = JSON.parse(run.stdout) as Report;
    return { run, report, byId: Object.fromEntries(report.checks.map((c) => [c.id, c])) };
  };

  test("a good set-up: the bind and the base DNs pass, no Google check runs; the file store's probe is removed", async () => {
    const before = readdirSync(ldapWorld.emulators.directory).sort();
    const { run, report, byId } = await ldapDoctor();
    expect(byId.state!.detail).toBe(`no state at file ${ldapWorld.statePath} yet (the first sync creates it); created and removed a probe file in ${ldapWorld.emulators.directory}`);
    expect(readdirSync(ldapWorld.emulators.directory).sort()).toEqual(before);
    expect(run.code).toBe(0);
    expect(verdicts(report)).toEqual({
      config: "pass",
      "ldap-bind": "pass",
      "ldap-base-dn": "pass",
      "scim-endpoint": "pass",
      "scim-token": "pass",
      "scim-token-expiry": "skip",
      "scim-clock": "pass",
      state: "pass",
    });
  });

  test("a wrong bind password: ldap-bind fails (invalid credentials), the base DN check skips", async () => {
    const { report, byId } = await ldapDoctor({ IDPSCIM_LDAP_BIND_PASSWORD: "not-the-password-4711" });
    expectOnly(report, "ldap-bind", { "ldap-base-dn": "skip" });
    expect(byId["ldap-bind"]!.detail).toContain("invalid credentials");
    expect(byId["ldap-bind"]!.fix).toContain("ldap.bind_dn");
  });

  test("a base DN that does not exist: ldap-base-dn fails naming the setting", async () => {
    const { report, byId } = await ldapDoctor({ IDPSCIM_LDAP_GROUP_BASE_DN: "ou=nowhere,dc=example,dc=com" });
    expectOnly(report, "ldap-base-dn");
    expect(byId["ldap-base-dn"]!.detail).toBe('ldap.group_base_dn "ou=nowhere,dc=example,dc=com" does not exist on the server (noSuchObject)');
    expect(byId["ldap-base-dn"]!.fix).toContain("ldap.base_dn");
  });

  test("a server that does not answer, and settings missing: ldap-bind fails naming them", async () => {
    const down = await ldapDoctor({ IDPSCIM_LDAP_URL: "ldaps://127.0.0.1:9" });
    expectOnly(down.report, "ldap-bind", { "ldap-base-dn": "skip" });
    expect(down.byId["ldap-bind"]!.detail).toContain("cannot reach the server (ECONNREFUSED)");

    ldapWorld.writeConfig("", { ldap: { base_dn: null, preset: null } });
    try {
      const missing = await ldapDoctor();
      expectOnly(missing.report, "ldap-bind", { "ldap-base-dn": "skip" });
      expect(missing.byId["ldap-bind"]!.detail).toBe(
        "ldap.base_dn is not set: pass --ldap-base-dn, set IDPSCIM_LDAP_BASE_DN, or add base_dn under [ldap]; ldap.preset is not set: pass --ldap-preset, set IDPSCIM_LDAP_PRESET, or add preset under [ldap]",
      );
    } finally {
      ldapWorld.writeConfig();
    }
  });

  test("the bind password is never printed", () => {
    for (const { stdout, stderr } of ldapOutputs) {
      expect(`${stdout}${stderr}`).not.toContain(ldapWorld.ldap!.slapd.bindPassword);
      expect(`${stdout}${stderr}`).not.toContain("not-the-password-4711");
    }
  });
});
