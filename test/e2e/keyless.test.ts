/**
 * @module End-to-end: keyless Google authentication (gws.auth = "workload-identity", issue 14)
 * through the real CLI. The Google emulator plays Google STS, IAM Credentials signJwt and AWS (it
 * knows the AWS identity's secret key and recomputes the SigV4 signature): docs/google-directory.md
 * §11–§12. No key file is named anywhere; each first-time misconfiguration ends with one line
 * naming the step and the fix, exit 2, and no SCIM write.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkWorkloadIdentity, parseWorkloadIdentityConfig } from "../../src/adapters/google/workload-identity.ts";
import type { FederationOptions } from "../emulators/google/federation.ts";
import type { GoogleEmulatorOptions } from "../emulators/google/server.ts";
import { startInstanceMetadata } from "../emulators/imds.ts";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, scimCounts, startWorld, type CliResult, type World } from "../support/harness.ts";

const open: World[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) await w.close();
});

interface KeylessWorld {
  world: World;
  /** The AWS identity's environment, as Lambda gives it to the function. */
  env: Record<string, string>;
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
}

/** A world whose [gws] table is keyless: the credential configuration file, the service account, no key. */
async function keylessWorld(
  federation: FederationOptions = {},
  google: Omit<GoogleEmulatorOptions, "scenario" | "directory"> = {},
  configOverride?: (c: Record<string, unknown>) => Record<string, unknown>,
  secrets: Record<string, string> = {},
): Promise<KeylessWorld> {
  const world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO), google: { ...google, federation }, secrets });
  open.push(world);
  const g = world.emulators.google;
  const configFile = join(world.emulators.directory, "wif.json");
  const credentialConfig = g.federation.credentialConfig(g.stsUrl);
  writeFileSync(configFile, JSON.stringify(configOverride ? configOverride(credentialConfig) : credentialConfig));
  // The key file the emulator generates stays its own: the product never sees it.
  world.writeConfig(
    `[gws]\nauth = "workload-identity"\nworkload_identity_config = "${configFile}"\nservice_account_email = "${g.serviceAccountKey.client_email}"\n` +
      `user_email = "${g.adminEmail}"\napi_url = "${g.url}"\ntoken_url = "${g.tokenUrl}"\niam_credentials_url = "${g.url}"\nrate_limit = 1000\n`,
  );
  // writeConfig puts the world's own [gws] table (with the key) first: drop it.
  const text = readFileSync(world.configPath, "utf8");
  writeFileSync(world.configPath, text.slice(text.indexOf("[aws]")));
  const id = g.federation.identity;
  const env = { AWS_ACCESS_KEY_ID: id.accessKeyId, AWS_SECRET_ACCESS_KEY: id.secretAccessKey, AWS_SESSION_TOKEN: id.sessionToken ?? "", AWS_REGION: "eu-west-1" };
  return { world, env, run: (args, extra = {}) => world.run(args, { env: { ...env, ...extra } }) };
}

const googleCounts = (w: World) => w.emulators.google.log.counts();

/** The run failed on configuration (exit 2) with exactly `pattern` in its error, and wrote nothing to SCIM. */
function expectSetupFailure(r: CliResult, w: World, pattern: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(scimCounts(w).writes).toBe(0);
}

describe("keyless Google authentication (Workload Identity Federation)", () => {
  test("a full sync without any key: STS once, signJwt once, one token; the second run sends no SCIM write", async () => {
    const k = await keylessWorld();
    const first = await k.run(["sync", "--output", "json"]);
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    const counts = googleCounts(k.world);
    expect(counts["POST sts"]).toBe(1);
    expect(counts["POST signJwt"]).toBe(1);
    expect(counts["POST /token"]).toBe(1);
    const summary = JSON.parse(first.stdout) as { requests?: { google?: Record<string, number> } };
    expect(JSON.stringify(summary)).toMatch(/"sts":1/);
    expect(scimCounts(k.world).writes).toBeGreaterThan(0);
    k.world.emulators.scim.log.clear();
    const second = await k.run(["sync"]);
    expect(second.code).toBe(0);
    expect(scimCounts(k.world).writes).toBe(0);
  });

  test("the credential configuration inline in IDPSCIM_GWS_WORKLOAD_IDENTITY_CONFIG, as the Terraform module passes it", async () => {
    const k = await keylessWorld();
    const g = k.world.emulators.google;
    const r = await k.run(["plan"], { IDPSCIM_GWS_WORKLOAD_IDENTITY_CONFIG: JSON.stringify(g.federation.credentialConfig(g.stsUrl)) });
    expect(r.code).toBe(0);
    expect(googleCounts(k.world)["POST sts"]).toBe(1);
  });

  test("the credential configuration from Secrets Manager (use_secrets_manager, not given): read once, no key secret asked for", async () => {
    const k = await keylessWorld({}, {}, undefined, {});
    const g = k.world.emulators.google;
    k.world.emulators.secrets.secrets.set("IDPSCIM_GWSWorkloadIdentityConfig", JSON.stringify(g.federation.credentialConfig(g.stsUrl)));
    const text = readFileSync(k.world.configPath, "utf8").replace(/workload_identity_config = .*\n/, "");
    writeFileSync(k.world.configPath, `use_secrets_manager = true\n${text}`);
    const r = await k.run(["plan"]);
    expect(r.stderr).not.toMatch(/ERROR/);
    expect(r.code).toBe(0);
    // Only the configuration: the SCIM pair and the admin are given explicitly, and no key is read.
    expect(k.world.emulators.secrets.log.counts()).toEqual({ "POST GetSecretValue": 1 });
  });

  test("inspect gws users reads keyless too", async () => {
    const k = await keylessWorld();
    const r = await k.run(["inspect", "gws", "users", "--output", "json"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ana.lima@example.com");
    expect(googleCounts(k.world)["POST signJwt"]).toBe(1);
  });

  test("tokens are refreshed before they expire within a long run; the federated token is reused for its lifetime", async () => {
    // 301 s tokens are due for refresh (5 minutes before expiry) a second after they are issued.
    const k = await keylessWorld({}, { tokenLifetimeSeconds: 301, faults: { latencyMs: 700 } });
    const r = await k.run(["plan"]);
    expect(r.code).toBe(0);
    const counts = googleCounts(k.world);
    const tokens = counts["POST /token"] ?? 0;
    expect(tokens).toBeGreaterThanOrEqual(2);
    expect(counts["POST signJwt"]).toBe(tokens);
    expect(counts["POST sts"]).toBe(1);
    // Refreshed before expiry: no Directory call was refused for its token.
    expect(k.world.emulators.google.log.entries.filter((e) => e.status === 401)).toEqual([]);
  });

  test("on an EC2 bastion: the instance role's credentials through IMDSv2, found by the AWS SDK (no AWS key in the environment)", async () => {
    const k = await keylessWorld();
    const id = k.world.emulators.google.federation.identity;
    const imds = await startInstanceMetadata({ name: "idpscim-sync", accessKeyId: id.accessKeyId, secretAccessKey: id.secretAccessKey, sessionToken: id.sessionToken! });
    try {
      const r = await k.run(["plan"], { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_SESSION_TOKEN: "", AWS_EC2_METADATA_DISABLED: "false", AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, AWS_SHARED_CREDENTIALS_FILE: "/nonexistent", AWS_CONFIG_FILE: "/nonexistent" });
      expect(r.stderr).not.toMatch(/ERROR/);
      expect(r.code).toBe(0);
      expect(googleCounts(k.world)["POST sts"]).toBe(1);
      // IMDSv2: a session token first; no GET went without it (each would be a 401).
      expect(imds.log.counts()["PUT /latest/api/token"]).toBeGreaterThanOrEqual(1);
      expect(imds.log.entries.filter((e) => e.status === 401)).toEqual([]);
      expect(imds.log.counts()["GET /latest/meta-data/iam/security-credentials/idpscim-sync"]).toBeGreaterThanOrEqual(1);
    } finally {
      await imds.close();
    }
  });

  test("no token, AWS secret, session token or signature in any output, at debug level in JSON logs", async () => {
    const k = await keylessWorld();
    const r = await k.run(["sync", "--debug", "--log-format", "json", "--output", "json"]);
    expect(r.code).toBe(0);
    const all = r.stdout + r.stderr;
    expect(all).not.toMatch(/ya29\./);
    expect(all).not.toMatch(/eyJ[\w-]{4,}\.eyJ/);
    expect(all).not.toContain(k.env.AWS_SECRET_ACCESS_KEY);
    expect(all).not.toContain(k.env.AWS_SESSION_TOKEN);
    expect(all).not.toMatch(/Signature=[0-9a-f]{64}/);
    expect(all).not.toMatch(/IQoJb3JpZ2lu/);
  });
});

describe("keyless: each first-time misconfiguration is one line with the fix (exit 2, nothing written)", () => {
  test("the pool or provider does not exist (or is disabled): invalid_target", async () => {
    const k = await keylessWorld({ providerMissing: true });
    expectSetupFailure(await k.run(["sync"]), k.world, /sts: Google STS: The target service.*audience in gws\.workload_identity_config names a pool or provider that does not exist/);
  });

  test("the provider does not trust this AWS role (attribute condition)", async () => {
    const k = await keylessWorld({ trustedRoles: ["arn:aws:sts::210987654321:assumed-role/someone-else"] });
    expectSetupFailure(await k.run(["sync"]), k.world, /rejected by the attribute condition.*provider does not trust this AWS role/);
  });

  test("the provider is for another AWS account", async () => {
    const k = await keylessWorld({ awsAccountId: "111122223333" });
    expectSetupFailure(await k.run(["sync"]), k.world, /provider does not trust this AWS role: create it with --account-id/);
  });

  test("roles/iam.serviceAccountTokenCreator not granted to the role's principal set", async () => {
    const k = await keylessWorld({ serviceAccountBindings: [] });
    expectSetupFailure(await k.run(["sync"]), k.world, /sign-jwt: IAM Credentials: Permission 'iam\.serviceAccounts\.signJwt' denied.*roles\/iam\.serviceAccountTokenCreator --member=principalSet:\/\/iam\.googleapis\.com\/projects\/123456789012\//);
  });

  test("only roles/iam.workloadIdentityUser granted: signJwt is denied, and the hint says why", async () => {
    const principal = "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/idpscim-pool/attribute.aws_role/arn:aws:sts::210987654321:assumed-role/idpscim-sync";
    const k = await keylessWorld({ serviceAccountBindings: [{ member: principal, role: "roles/iam.workloadIdentityUser" }] });
    expectSetupFailure(await k.run(["sync"]), k.world, /roles\/iam\.workloadIdentityUser is not enough/);
  });

  test("the IAM Service Account Credentials API is not enabled", async () => {
    const k = await keylessWorld({ iamCredentialsDisabled: true });
    expectSetupFailure(await k.run(["sync"]), k.world, /gcloud services enable iamcredentials\.googleapis\.com/);
  });

  test("the delegation scopes are not authorised for the service account's client id", async () => {
    const k = await keylessWorld({}, { grantedScopes: [] });
    expectSetupFailure(await k.run(["sync"]), k.world, /token: token endpoint: unauthorized_client.*Domain-wide delegation.*gcloud iam service-accounts describe idpscim-sync@idpscim-emulator\.iam\.gserviceaccount\.com --format='value\(uniqueId\)'/);
  });

  test("a wrong audience (a project id where the number goes) is refused before any request", async () => {
    const k = await keylessWorld({}, {}, (c) => ({ ...c, audience: "//iam.googleapis.com/projects/my-project/locations/global/workloadIdentityPools/idpscim-pool/providers/aws-lambda" }));
    const r = await k.run(["sync"]);
    expectSetupFailure(r, k.world, /gws\.workload_identity_config\) has audience .*the project's number, not its id/);
    expect(k.world.emulators.google.log.total()).toBe(0);
  });

  test("an audience naming another pool: invalid_target", async () => {
    const k = await keylessWorld({}, {}, (c) => ({ ...c, audience: String(c.audience).replace("idpscim-pool", "other-pool") }));
    expectSetupFailure(await k.run(["sync"]), k.world, /invalid|pool or provider that does not exist/);
  });

  test("a key file given as the credential configuration", async () => {
    const k = await keylessWorld();
    const r = await k.run(["sync"], { IDPSCIM_GWS_WORKLOAD_IDENTITY_CONFIG: k.world.emulators.google.serviceAccountFile });
    expectSetupFailure(r, k.world, /has type "service_account", not "external_account": that is a key file/);
  });

  test("no AWS credentials at all", async () => {
    const k = await keylessWorld();
    const r = await k.run(["sync"], { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_SESSION_TOKEN: "", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent", AWS_CONFIG_FILE: "/nonexistent" });
    expectSetupFailure(r, k.world, /aws-credentials: the AWS SDK found no credentials.*instance profile/);
  });

  test("AWS credentials the emulator (playing AWS) does not know: the signed request is refused", async () => {
    const k = await keylessWorld();
    const r = await k.run(["sync"], { AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYxx" });
    expectSetupFailure(r, k.world, /SignatureDoesNotMatch.*AWS refused the signed GetCallerIdentity request/);
    expect(r.stderr).not.toContain("wJalrXUtnFEMI");
  });

  test("a key file named as well as gws.auth = workload-identity", async () => {
    const k = await keylessWorld();
    const r = await k.run(["sync"], { IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: k.world.emulators.google.serviceAccountFile });
    expectSetupFailure(r, k.world, /gws\.service_account_file .*is set, but gws\.auth = "workload-identity" reads no key/);
  });

  test("gws.service_account_email missing", async () => {
    const k = await keylessWorld();
    const text = readFileSync(k.world.configPath, "utf8").replace(/service_account_email = .*\n/, "");
    writeFileSync(k.world.configPath, text);
    const r = await k.run(["sync"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/gws\.service_account_email is not set/);
  });
});

describe("checkWorkloadIdentity (for doctor): every step of the chain, and the one that fails", () => {
  async function check(federation: FederationOptions) {
    const k = await keylessWorld(federation);
    const g = k.world.emulators.google;
    const id = g.federation.identity;
    return checkWorkloadIdentity({
      config: parseWorkloadIdentityConfig(JSON.stringify(g.federation.credentialConfig(g.stsUrl))),
      serviceAccountEmail: g.serviceAccountKey.client_email!,
      subject: g.adminEmail,
      tokenUrl: g.tokenUrl,
      iamCredentialsUrl: g.url,
      awsCredentials: async () => ({ accessKeyId: id.accessKeyId, secretAccessKey: id.secretAccessKey, sessionToken: id.sessionToken! }),
      environment: { AWS_REGION: "eu-west-1" },
    });
  }

  test("a working setup: the five steps pass, in order, and none shows a secret", async () => {
    const steps = await check({});
    expect(steps.map((s) => [s.step, s.ok])).toEqual([
      ["aws-credentials", true],
      ["aws-region", true],
      ["sts", true],
      ["sign-jwt", true],
      ["token", true],
    ]);
    expect(steps[0]!.detail).toMatch(/access key ASIA…[0-9A-F]{4}$/);
    expect(JSON.stringify(steps)).not.toMatch(/ya29|eyJ|IQoJ/);
  });

  test("the token-creator binding missing: STS passes, signJwt is the step named, with its fix", async () => {
    const steps = await check({ serviceAccountBindings: [] });
    expect(steps.map((s) => [s.step, s.ok])).toEqual([
      ["aws-credentials", true],
      ["aws-region", true],
      ["sts", true],
      ["sign-jwt", false],
    ]);
    expect(steps[3]!.hint).toMatch(/roles\/iam\.serviceAccountTokenCreator/);
  });

  test("the provider not trusting the role stops at sts", async () => {
    const steps = await check({ trustedRoles: [] });
    expect(steps.at(-1)).toMatchObject({ step: "sts", ok: false });
    expect(steps.at(-1)!.hint).toMatch(/does not trust this AWS role/);
  });
});

describe("doctor with gws.auth = workload-identity: the chain's steps, the delegation and the admin through it", () => {
  type Report = { exitCode: number; checks: { id: string; verdict: string; detail: string; fix?: string }[] };
  async function doctor(k: KeylessWorld): Promise<{ code: number; report: Report; verdicts: Record<string, string>; byId: Record<string, Report["checks"][number]>; output: string }> {
    const r = await k.run(["doctor", "--output", "json"]);
    const report = JSON.parse(r.stdout) as Report;
    return { code: r.code, report, verdicts: Object.fromEntries(report.checks.map((c) => [c.id, c.verdict])), byId: Object.fromEntries(report.checks.map((c) => [c.id, c])), output: r.stdout + r.stderr };
  }

  test("a good keyless set-up: no key asked for, the chain, the delegation and the admin pass (exit 0), no token printed", async () => {
    const k = await keylessWorld();
    const d = await doctor(k);
    expect(d.code).toBe(0);
    expect(d.verdicts).toMatchObject({ "gws-key": "skip", "gws-keyless": "pass", "gws-delegation": "pass", "gws-admin": "pass", "gws-clock": "pass" });
    expect(d.byId["gws-keyless"]!.detail).toContain("federated token for");
    expect(d.output).not.toMatch(/ya29|eyJ|IQoJ/);
    expect(d.output).not.toContain(k.env.AWS_SECRET_ACCESS_KEY);
  });

  test("the token-creator binding missing: gws-keyless fails naming signJwt and the role to grant; the admin check skips", async () => {
    const d = await doctor(await keylessWorld({ serviceAccountBindings: [] }));
    expect(d.code).toBe(1);
    expect(d.verdicts).toMatchObject({ "gws-keyless": "fail", "gws-delegation": "skip", "gws-admin": "skip" });
    expect(d.byId["gws-keyless"]!.detail).toContain("signJwt");
    expect(d.byId["gws-keyless"]!.fix).toMatch(/roles\/iam\.serviceAccountTokenCreator/);
  });

  test("the delegation scopes not authorised: the chain passes, gws-delegation fails with the client id's fix", async () => {
    const d = await doctor(await keylessWorld({}, { grantedScopes: [] }));
    expect(d.code).toBe(1);
    expect(d.verdicts).toMatchObject({ "gws-keyless": "pass", "gws-delegation": "fail", "gws-admin": "skip" });
    expect(d.byId["gws-delegation"]!.detail).toContain("unauthorized_client");
  });
});
