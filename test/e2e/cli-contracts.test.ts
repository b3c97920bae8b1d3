/**
 * @module End-to-end: the CLI's contracts scripts rely on, with the real CLI against the emulators:
 * `sync --output json` (the result, also when a run stops), `plan --detailed-exitcode`,
 * `config validate --for`, `inspect` reading one side only, `state show` listing users, and the
 * log format from the very first line. Each test fails with its feature removed.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { loadScenarioFile, type Scenario } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, orgEmail, scimRequest, spreadOrg, startWorld, type World } from "../support/harness.ts";
import { readStateFile } from "../support/state-file.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const example = () => loadScenarioFile(EXAMPLE_SCENARIO);

/** The whole of stdout as one JSON document: throws on anything else (a log line, two documents). */
const onlyJson = (stdout: string) => JSON.parse(stdout) as Record<string, any>;

/** The world's config file without the lines setting `drop` (e.g. "scim_endpoint"). */
function configWithout(w: World, ...drop: string[]): void {
  w.writeConfig();
  const lines = readFileSync(w.configPath, "utf8").split("\n");
  const kept = lines.filter((line) => !drop.some((key) => line.startsWith(`${key} =`)));
  if (lines.length - kept.length !== drop.length) throw new Error(`not every one of ${drop.join(", ")} was in the config`);
  writeFileSync(w.configPath, kept.join("\n"));
}

describe("sync --output json: what was done", () => {
  test("a run with a record AWS rejects: done by kind, the failure with AWS's reason, requests by route, exit 1, one document", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    const w = world;
    expect((await w.run(["sync"])).code).toBe(0);
    // An unmanaged group takes the name a managed group is renamed to: AWS answers 409.
    expect((await scimRequest(w, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Finance" })).status).toBe(201);
    scenario.google.groups.find((g) => g.name === "AWS BreakGlass")!.name = "Finance";
    scenario.google.groups.find((g) => g.name === "AWS Admins")!.name = "AWS Administrators";
    scenario.google.users.push({ id: "100000000000000000099", primaryEmail: "zoe.new@example.com", name: { givenName: "Zoe", familyName: "New" } });
    scenario.google.groups.find((g) => g.name === "All Staff")!.members.push({ email: "zoe.new@example.com", type: "USER", role: "MEMBER", status: "ACTIVE" });

    w.emulators.scim.log.clear();
    w.emulators.google.log.clear();
    const run = await w.run(["sync", "--output", "json"]);
    expect(run.code).toBe(1);
    const doc = onlyJson(run.stdout);
    expect(doc.command).toBe("sync");
    expect(doc.exitCode).toBe(1);
    expect(doc.error).toBeNull();
    expect(doc.done).toMatchObject({ createUser: 1, updateGroup: 1, addMembers: 1, deleteUser: 0, deleteGroup: 0 });
    expect(doc.failed).toHaveLength(1);
    expect(doc.failed[0]).toMatchObject({ kind: "updateGroup", subject: '"Finance"' });
    expect(doc.failed[0].reason).toContain("409");
    expect(Object.keys(doc.failed[0]).sort()).toEqual(["kind", "reason", "subject"]);
    expect(doc.notStarted).toBe(0);
    expect(doc.plan).toMatchObject({ createUser: 1, updateGroup: 2 });
    expect(doc.stateSaved).toBe(true);
    expect(doc.guardrails).toMatchObject({ refused: false, refusals: [], overridden: [] });
    // The requests are the ones the emulators saw.
    expect(doc.requests.scimByRoute).toEqual(w.emulators.scim.log.counts());
    expect(doc.requests.scim).toBe(w.emulators.scim.log.total());
    expect(doc.requests.google).toBeGreaterThan(0);
    expect(typeof doc.durationMs).toBe("number");
    expect(run.stdout).not.toContain(w.emulators.scim.token);
    // The plan is not what sync prints any more; the summary line stays on stderr.
    expect(doc.operations).toBeUndefined();
    expect(run.stderr).toContain("summary:");
  });

  test("a refused run (exit 3): the error's code and message, the rails' verdict with counts, nothing done", async () => {
    const scenario = spreadOrg(40, 2);
    world = await startWorld({ scenario });
    expect((await world.run(["sync"])).code).toBe(0);
    for (const group of scenario.google.groups) group.members = group.members.filter((m) => !Array.from({ length: 20 }, (_, i) => orgEmail(i)).includes(m.email ?? ""));
    world.emulators.scim.log.clear();
    const refused = await world.run(["sync", "--output", "json"]);
    expect(refused.code).toBe(3);
    const doc = onlyJson(refused.stdout);
    expect(doc.exitCode).toBe(3);
    expect(doc.error.code).toBe("SAFETY_REFUSED");
    expect(doc.error.message).toContain("--force");
    expect(doc.guardrails.refused).toBe(true);
    expect(doc.guardrails.users).toMatchObject({ count: 20, managed: 40 });
    expect(doc.guardrails.refusals[0].rule).toBe("max_deletes");
    expect(doc.done).toBeNull();
    expect(doc.failed).toBeNull();
    expect(world.emulators.scim.log.writes()).toBe(0);
    expect(doc.requests.scim).toBe(world.emulators.scim.log.total());
  });

  test("a configuration error (exit 2): the code and message, no secret, no request", async () => {
    world = await startWorld({ scenario: example() });
    const token = world.emulators.scim.token;
    // The token pasted where the endpoint goes: refused, and never echoed.
    const wrong = await world.run(["sync", "--output", "json", "--aws-scim-endpoint", token]);
    expect(wrong.code).toBe(2);
    const doc = onlyJson(wrong.stdout);
    expect(doc.exitCode).toBe(2);
    expect(doc.error.code).toBe("CONFIG_INVALID");
    expect(doc.error.message).toContain("aws-scim-endpoint");
    expect(wrong.stdout).not.toContain(token);
    expect(doc.requests).toEqual({ scim: 0, google: 0, scimByRoute: {}, googleByMethod: {} });

    configWithout(world, "scim_endpoint");
    const missing = await world.run(["sync", "--output", "json"]);
    expect(missing.code).toBe(2);
    expect(onlyJson(missing.stdout).error).toMatchObject({ code: "CONFIG_MISSING" });
    expect(onlyJson(missing.stdout).error.message).toContain("aws.scim_endpoint");
    expect(world.emulators.scim.log.total() + world.emulators.google.log.total()).toBe(0);
  });
});

describe("plan --detailed-exitcode", () => {
  test("4 with changes pending, 0 with none, 4 for a record a sync could not act on; without the flag always 0", async () => {
    const scenario: Scenario = example();
    world = await startWorld({ scenario });
    expect((await world.run(["plan", "--detailed-exitcode"])).code).toBe(4);
    expect((await world.run(["plan"])).code).toBe(0);
    expect((await world.run(["sync"])).code).toBe(0);
    const clean = await world.run(["plan", "--detailed-exitcode", "--output", "json"]);
    expect(clean.code).toBe(0);
    expect(onlyJson(clean.stdout).operations).toEqual([]);

    // A group AWS would refuse (a control character in its name): no operation, one rejected record.
    scenario.google.groups.push({ id: "200000000000000000077", email: "bell@example.com", name: "Bell\u0007Group", members: [{ email: "ana.lima@example.com", type: "USER", role: "MEMBER", status: "ACTIVE" }] });
    const rejected = await world.run(["plan", "--detailed-exitcode", "--output", "json"]);
    const plan = onlyJson(rejected.stdout);
    expect(plan.operations).toEqual([]);
    expect(plan.rejected).toHaveLength(1);
    expect(rejected.code).toBe(4);
    expect((await world.run(["plan"])).code).toBe(0);
  });

  test("3 when a sync would be refused, also with changes pending; plain plan still 0", async () => {
    const scenario = spreadOrg(40, 2);
    world = await startWorld({ scenario });
    expect((await world.run(["sync"])).code).toBe(0);
    for (const group of scenario.google.groups) group.members = group.members.filter((m) => !Array.from({ length: 20 }, (_, i) => orgEmail(i)).includes(m.email ?? ""));
    const refused = await world.run(["plan", "--detailed-exitcode"]);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toContain("Guardrails: REFUSED");
    expect((await world.run(["plan"])).code).toBe(0);
    expect((await world.run(["plan", "--detailed-exitcode", "--sync-max-deletes", "100%"])).code).toBe(4);
  });
});

describe("config validate --for", () => {
  test("checks what the named command needs (default sync), one line per problem, exit 2; no network", async () => {
    world = await startWorld({ scenario: example() });
    configWithout(world, "scim_endpoint", "user_email");
    for (const args of [["config", "validate"], ["config", "validate", "--for", "sync"], ["config", "validate", "--for", "plan"]]) {
      const result = await world.run(args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      const lines = result.stderr.trim().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toContain("CONFIG_MISSING: aws.scim_endpoint is not set");
      expect(lines[1]).toContain("CONFIG_MISSING: gws.user_email is not set");
    }
    const scimSide = await world.run(["config", "validate", "--for", "inspect-gws"]);
    expect(scimSide.code).toBe(2);
    expect(scimSide.stderr).toContain("gws.user_email");
    expect(scimSide.stderr).not.toContain("aws.scim_endpoint");
    expect((await world.run(["config", "validate", "--for", "state-show"])).code).toBe(0);
    expect(world.emulators.scim.log.total() + world.emulators.google.log.total() + world.emulators.secrets.log.total()).toBe(0);
  });

  test("--for inspect-scim passes with no Google key; --for sync does not", async () => {
    world = await startWorld({ scenario: example() });
    configWithout(world, "service_account_file");
    const scim = await world.run(["config", "validate", "--for", "inspect-scim"]);
    expect(scim.code).toBe(0);
    expect(JSON.parse(scim.stdout).aws.scimEndpoint).toBe(world.emulators.scim.url);
    const sync = await world.run(["config", "validate", "--for", "sync"]);
    expect(sync.code).toBe(2);
    expect(sync.stderr).toContain("gws.service_account_file is not set");
  });

  test("with use_secrets_manager, a setting a secret will hold counts as set (no secret is read)", async () => {
    world = await startWorld({ scenario: example() });
    configWithout(world, "scim_endpoint");
    expect((await world.run(["config", "validate"])).code).toBe(2);
    expect((await world.run(["config", "validate", "--use-secrets-manager"])).code).toBe(0);
    expect(world.emulators.secrets.log.total()).toBe(0);
  });
});

describe("inspect reads only the side it lists", () => {
  test("inspect scim users with no Google setting at all; from Secrets Manager it reads only the SCIM secrets", async () => {
    world = await startWorld({ scenario: example() });
    const w = world;
    const env = { IDPSCIM_AWS_SCIM_ACCESS_TOKEN: w.emulators.scim.token };
    const plain = await w.run(["inspect", "scim", "users", "--output", "json", "--aws-scim-endpoint", w.emulators.scim.url], { config: false, env });
    expect(plain.code).toBe(0);
    expect(onlyJson(plain.stdout).map((u: { userName: string }) => u.userName)).toEqual(["cloud-admin@example.com"]);

    w.emulators.secrets.secrets.set("idpscim/endpoint", w.emulators.scim.url);
    w.emulators.secrets.secrets.set("idpscim/token", w.emulators.scim.token);
    const fromSecrets = await w.run(["inspect", "scim", "groups", "-g", "-n", "idpscim/endpoint", "-j", "idpscim/token"], { config: false });
    expect(fromSecrets.stderr).toBe("");
    expect(fromSecrets.code).toBe(0);
    expect(w.emulators.secrets.log.total()).toBe(2);
    expect(w.emulators.google.log.total()).toBe(0);
  });

  test("inspect gws users with no SCIM setting: from Secrets Manager it reads only the Google secrets", async () => {
    world = await startWorld({ scenario: example() });
    const w = world;
    w.emulators.secrets.secrets.set("idpscim/sa", readFileSync(w.emulators.google.serviceAccountFile, "utf8"));
    w.emulators.secrets.secrets.set("idpscim/admin", w.emulators.google.adminEmail);
    const result = await w.run(
      ["inspect", "gws", "users", "--output", "json", "-g", "-o", "idpscim/sa", "-p", "idpscim/admin", "--gws-api-url", w.emulators.google.url, "--gws-token-url", w.emulators.google.tokenUrl],
      { config: false },
    );
    expect(result.code).toBe(0);
    expect(onlyJson(result.stdout)).toHaveLength(12);
    expect(w.emulators.secrets.log.total()).toBe(2);
    expect(w.emulators.scim.log.total()).toBe(0);
  });
});

describe("state show", () => {
  test("lists the managed users and the groups, in two tables", async () => {
    world = await startWorld({ scenario: example() });
    expect((await world.run(["sync"])).code).toBe(0);
    const shown = await world.run(["state", "show"]);
    expect(shown.code).toBe(0);
    const state = readStateFile(world.statePath);
    for (const [sourceId, user] of Object.entries(state.users)) {
      const row = shown.stdout.split("\n").find((line) => line.startsWith(`${user.attributes.userName} `));
      expect(row).toContain(sourceId);
      expect(row).toContain(user.scimId);
    }
    expect(shown.stdout).toMatch(/^user\s+displayName\s+sourceId\s+scimId$/m);
    expect(shown.stdout).toMatch(/^group\s+sourceId\s+scimId\s+members$/m);
    expect(shown.stdout).toContain("All Staff");
  });
});

describe("log format from the first line", () => {
  test("--log-format json (and -f json) applies to the lines logged before the configuration is read, and to usage errors", async () => {
    world = await startWorld({ scenario: example() });
    world.writeConfig(`[sync]\nsuspended_user = "delete"\n`);
    for (const flags of [["--log-format", "json"], ["-f", "json"], ["--log-format=json"]]) {
      const result = await world.run(["sync", ...flags]);
      expect(result.code).toBe(2);
      const first = JSON.parse(result.stderr.split("\n")[0]!);
      expect(first.level).toBe("ERROR");
      expect(first.message).toContain("suspended_users");
    }
    const text = await world.run(["sync"]);
    expect(text.stderr.split("\n")[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+ ERROR /);

    const usage = await world.run(["paln", "--log-format", "json"]);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr.split("\n")[0]!).message).toContain('unknown command "paln"');
  });
});
