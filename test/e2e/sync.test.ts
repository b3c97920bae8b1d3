/**
 * @module End-to-end: the real `idpscim` CLI against the emulators, asserting what AWS ends up
 * holding and how many requests it took. Each test would fail with its feature removed.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { generateOrg } from "../../scripts/gen-org.ts";
import { loadScenarioFile, parseScenario, type Scenario } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, startWorld, type World, scimRequest } from "../support/harness.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const example = () => loadScenarioFile(EXAMPLE_SCENARIO);

/** What AWS holds, keyed for comparison: userName → active, group name → member userNames. */
function tenantView(w: World) {
  const snap = w.emulators.scim.snapshot();
  const nameById = new Map(snap.users.map((u) => [u.id, String(u.userName)]));
  return {
    users: Object.fromEntries(snap.users.map((u) => [String(u.userName), u.active !== false])),
    groups: Object.fromEntries(snap.groups.map((g) => [g.displayName, g.members.map((m) => nameById.get(m)).sort()])),
    raw: snap,
  };
}

const scim = scimRequest;

describe("first sync and incremental runs (example scenario)", () => {
  test("first sync creates the in-scope users and groups; a second run sends zero SCIM requests", async () => {
    world = await startWorld({ scenario: example() });
    const first = await world.run(["sync"]);
    expect(first.stderr).toContain("summary:");
    // Google's requests (token included) and the rate they were read at.
    expect(first.stderr).toMatch(new RegExp(`summary: .*; requests: scim \\d+ \\(\\d+ reads, \\d+ writes\\) \\{.*\\}, google ${world.emulators.google.log.total()} \\(\\d+\\.\\d/s\\); `));
    expect(first.code).toBe(0);
    const view = tenantView(world);
    // 11 in-scope Directory users (the external contractor has none), plus the Control Tower user.
    expect(Object.keys(view.users).sort()).toEqual(
      [
        "ana.lima@example.com", "bo.chen@example.com", "carla.diaz@example.com", "cloud-admin@example.com", "dev.patel@example.com",
        "eun.kim@example.com", "farah@example.com", "goran.ivic@example.com", "hana.sato@example.com", "ivan.petrov@example.com",
        "jo.ng@example.com", "kai.berg@example.com", "lena.vogel@example.com",
      ].sort(),
    );
    expect(view.users["dev.patel@example.com"]).toBe(false); // suspended → deactivated
    expect(view.groups["AWS Admins"]).toEqual(["ana.lima@example.com", "bo.chen@example.com", "jo.ng@example.com"]);
    expect(view.groups["AWS ReadOnly"]).toContain("goran.ivic@example.com"); // nested through AWS Developers
    expect(view.groups.AWSControlTowerAdmins).toEqual(["cloud-admin@example.com"]);
    expect(first.stderr).toContain("contractor@partner.example");
    // Mapping: enterprise attributes, and the manager as the manager's SCIM id.
    const ana = view.raw.users.find((u) => u.userName === "ana.lima@example.com")! as Record<string, unknown>;
    const bo = view.raw.users.find((u) => u.userName === "bo.chen@example.com")!;
    expect(ana.title).toBe("Staff Engineer");
    expect(ana.externalId).toBe("100000000000000000001");
    expect(ana["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]).toMatchObject({
      employeeNumber: "E-0001",
      department: "Platform",
      costCenter: "CC-10",
      manager: { value: bo.id },
    });
    expect((ana.phoneNumbers as { value: string }[])[0]!.value).toBe("+351 21 000 0001");
    const firstCounts = world.emulators.scim.log.counts();
    const firstTotal = world.emulators.scim.log.total();
    console.log(`first sync of the example scenario: ${firstTotal} SCIM requests ${JSON.stringify(firstCounts)}; google ${JSON.stringify(world.emulators.google.log.counts())}`);

    world.emulators.scim.log.clear();
    world.emulators.google.log.clear();
    const second = await world.run(["sync"]);
    expect(second.code).toBe(0);
    expect(world.emulators.scim.log.total()).toBe(0);
    console.log(`no-change sync: 0 SCIM requests; google ${JSON.stringify(world.emulators.google.log.counts())}`);
  });

  test("plan and sync --dry-run print the same plan and write nothing", async () => {
    world = await startWorld({ scenario: example() });
    const planned = await world.run(["plan", "--output", "json"]);
    expect(planned.code).toBe(0);
    const dry = await world.run(["sync", "--dry-run", "--output", "json"]);
    expect(JSON.parse(dry.stdout).operations).toEqual(JSON.parse(planned.stdout).operations);
    expect(world.emulators.scim.log.writes()).toBe(0);
    expect(() => statSync(world!.statePath)).toThrow();
    const summary = JSON.parse(planned.stdout).summary;
    expect(summary.createUser).toBe(12);
    expect(summary.createGroup).toBe(5);
  });

  test("an email change and a group rename are PATCHed in place, keeping SCIM ids", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    expect((await world.run(["sync"])).code).toBe(0);
    const before = world.emulators.scim.snapshot();
    const anaId = before.users.find((u) => u.userName === "ana.lima@example.com")!.id;
    const adminsId = before.groups.find((g) => g.displayName === "AWS Admins")!.id;

    const ana = scenario.google.users.find((u) => u.id === "100000000000000000001")!;
    ana.primaryEmail = "ana.lima-souza@example.com";
    for (const g of scenario.google.groups) for (const m of g.members) if (m.email === "ana.lima@example.com") m.email = ana.primaryEmail;
    scenario.google.groups.find((g) => g.id === "200000000000000000001")!.name = "AWS Administrators";

    world.emulators.scim.log.clear();
    expect((await world.run(["sync"])).code).toBe(0);
    const after = world.emulators.scim.snapshot();
    const renamed = after.users.find((u) => u.id === anaId)!;
    expect(renamed.userName).toBe("ana.lima-souza@example.com");
    expect((renamed.emails as { value: string }[])[0]!.value).toBe("ana.lima-souza@example.com");
    expect(after.groups.find((g) => g.id === adminsId)!.displayName).toBe("AWS Administrators");
    expect(after.groups.find((g) => g.id === adminsId)!.members).toContain(anaId);
    const counts = world.emulators.scim.log.counts();
    expect(counts["POST /Users"] ?? 0).toBe(0);
    expect(counts["POST /Groups"] ?? 0).toBe(0);
    expect(counts["DELETE /Users/{id}"] ?? 0).toBe(0);
    expect(counts["DELETE /Groups/{id}"] ?? 0).toBe(0);
  });

  test("suspending deactivates and keeps memberships; leaving scope deletes; Control Tower objects are untouched", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    expect((await world.run(["sync"])).code).toBe(0);
    const hana = scenario.google.users.find((u) => u.primaryEmail === "hana.sato@example.com")!;
    hana.suspended = true;
    for (const g of scenario.google.groups) {
      for (const m of g.members) if (m.email === hana.primaryEmail) m.status = "SUSPENDED";
      g.members = g.members.filter((m) => m.email !== "lena.vogel@example.com");
    }
    expect((await world.run(["sync"])).code).toBe(0);
    const view = tenantView(world);
    expect(view.users["hana.sato@example.com"]).toBe(false);
    expect(view.groups["AWS ReadOnly"]).toContain("hana.sato@example.com");
    expect(view.users["lena.vogel@example.com"]).toBeUndefined();
    expect(view.users["cloud-admin@example.com"]).toBe(true);
    expect(view.groups.AWSControlTowerAdmins).toEqual(["cloud-admin@example.com"]);
  });
});

describe("shapes the other tools get wrong", () => {
  test("a group of 250 members, a user in 120 groups and a mononym are synced exactly", async () => {
    const users = Array.from({ length: 250 }, (_, i) => ({
      id: `1${String(i).padStart(20, "0")}`,
      primaryEmail: `user${i}@example.com`,
      name: i === 7 ? { givenName: "Madonna", familyName: "", fullName: "Madonna" } : { givenName: `Given${i}`, familyName: `Family${i}`, fullName: `Given${i} Family${i}` },
    }));
    const groups = [
      { id: "2000", email: "big@example.com", name: "Big", members: users.map((u) => ({ email: u.primaryEmail, type: "USER", role: "MEMBER" })) },
      ...Array.from({ length: 120 }, (_, i) => ({ id: `3${i}`, email: `g${i}@example.com`, name: `Group ${i}`, members: [{ email: "user0@example.com", type: "USER", role: "MEMBER" }] })),
    ];
    world = await startWorld({ scenario: parseScenario({ google: { domain: "example.com", customerId: "C1", adminEmail: "admin@example.com", users, groups } }) });
    const result = await world.run(["sync"]);
    expect(result.code).toBe(0);
    const snap = world.emulators.scim.snapshot();
    expect(snap.groups.find((g) => g.displayName === "Big")!.members).toHaveLength(250);
    const user0 = snap.users.find((u) => u.userName === "user0@example.com")!.id;
    expect(snap.groups.filter((g) => g.members.includes(user0))).toHaveLength(121);
    const madonna = snap.users.find((u) => u.userName === "user7@example.com")!;
    expect(madonna.name).toMatchObject({ givenName: "Madonna", familyName: "Madonna" });
    const counts = world.emulators.scim.log.counts();
    // 250 members: 100 in the create, then 2 PATCHes of at most 100.
    expect(counts["POST /Groups"]).toBe(121);
    expect(counts["PATCH /Groups/{id}"]).toBe(2);
  });

  test("first run into a tenant holding 100+ users and groups adopts by externalId/userName: no duplicates, no 409 storm", async () => {
    const scenario = generateOrg({ users: 300, groups: 130, seed: 7, scimUsers: 150 });
    // Groups left by another sync (idp-scim-sync): same names, no externalId, stale members.
    scenario.scim.groups.push(...scenario.google.groups.slice(0, 110).map((g, i) => ({ id: `pre-g-${i}`, displayName: g.name, members: [] })));
    // Short cursor pages (AWS may send them): a client that stops on one would miss resources and duplicate them.
    world = await startWorld({ scenario: parseScenario(scenario), scim: { shortPageSize: 37 } });
    const before = world.emulators.scim.snapshot();
    expect(before.users.length).toBeGreaterThan(100);
    expect(before.groups.length).toBeGreaterThan(100);
    const result = await world.run(["sync"]);
    expect(result.code).toBe(0);
    const after = world.emulators.scim.snapshot();
    const counts = world.emulators.scim.log.counts();
    const conflicts = world.emulators.scim.log.entries.filter((e) => e.status === 409).length;
    expect(conflicts).toBe(0);
    // Every pre-existing resource keeps its id; no user name or group name appears twice.
    for (const u of before.users) expect(after.users.some((a) => a.id === u.id)).toBe(true);
    for (const g of before.groups) expect(after.groups.some((a) => a.id === g.id)).toBe(true);
    expect(new Set(after.users.map((u) => String(u.userName).toLowerCase())).size).toBe(after.users.length);
    expect(new Set(after.groups.map((g) => g.displayName)).size).toBe(after.groups.length);
    expect(counts["POST /Groups"]).toBe(scenario.google.groups.length - 110);
    // Adopted groups carry our externalId now.
    const adopted = after.groups.find((g) => g.id === "pre-g-0")!;
    expect(adopted.externalId).toBe(scenario.google.groups[0]!.id);
    expect(after.groups.find((g) => g.displayName === "AWSControlTowerAdmins")).toBeDefined();
    console.log(`adoption run (300 users / 130 groups, ${before.users.length} users and ${before.groups.length} groups pre-existing): ${JSON.stringify(counts)}`);
    // A second run plans nothing.
    world.emulators.scim.log.clear();
    expect((await world.run(["sync"])).code).toBe(0);
    expect(world.emulators.scim.log.total()).toBe(0);
  });
});

describe("drift repair", () => {
  test("--reconcile puts back a member removed by hand and re-creates a managed user deleted by hand", async () => {
    world = await startWorld({ scenario: example() });
    expect((await world.run(["sync"])).code).toBe(0);
    const snap = world.emulators.scim.snapshot();
    const jo = snap.users.find((u) => u.userName === "jo.ng@example.com")!.id;
    const ivan = snap.users.find((u) => u.userName === "ivan.petrov@example.com")!.id;
    const admins = snap.groups.find((g) => g.displayName === "AWS Admins")!.id;
    expect((await scim(world, "PATCH", `/Groups/${admins}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "remove", path: "members", value: [{ value: jo }] }] })).status).toBe(204);
    expect((await scim(world, "DELETE", `/Users/${ivan}`)).status).toBe(204);

    // Without a full read the drift is not seen (and costs nothing).
    world.emulators.scim.log.clear();
    expect((await world.run(["sync"])).code).toBe(0);
    expect(world.emulators.scim.log.total()).toBe(0);

    const repaired = await world.run(["sync", "--reconcile"]);
    expect(repaired.code).toBe(0);
    const view = tenantView(world);
    expect(view.groups["AWS Admins"]).toContain("jo.ng@example.com");
    expect(view.users["ivan.petrov@example.com"]).toBe(true);
    expect(view.groups["AWS ReadOnly"]).toContain("ivan.petrov@example.com");
    expect(view.groups["All Staff"]).toContain("ivan.petrov@example.com");
  });
});

describe("scheduled drift repair", () => {
  test("when sync.reconcile_every has passed, a plain sync reads the tenant and repairs drift", async () => {
    world = await startWorld({ scenario: example() });
    expect((await world.run(["sync"])).code).toBe(0);
    const snap = world.emulators.scim.snapshot();
    const jo = snap.users.find((u) => u.userName === "jo.ng@example.com")!.id;
    const breakglass = snap.groups.find((g) => g.displayName === "AWS BreakGlass")!.id;
    await scim(world, "PATCH", `/Groups/${breakglass}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "remove", path: "members", value: [{ value: jo }] }] });
    world.writeConfig(`[sync]\nreconcile_every = "1ms"\n`);
    const run = await world.run(["sync"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("tenant read due");
    expect(tenantView(world).groups["AWS BreakGlass"]).toEqual(["jo.ng@example.com"]);
  });
});

describe("state backends and secrets", () => {
  test("S3 state: the first run writes it, the second reads it and sends no SCIM request", async () => {
    world = await startWorld({ scenario: example() }, { state: "s3" });
    expect((await world.run(["sync"])).code).toBe(0);
    const shown = await world.run(["state", "show", "--output", "json"]);
    expect(shown.code).toBe(0);
    const state = JSON.parse(shown.stdout);
    expect(Object.keys(state.users)).toHaveLength(12);
    expect(Object.keys(state.groups)).toHaveLength(5);
    world.emulators.scim.log.clear();
    expect((await world.run(["sync"])).code).toBe(0);
    expect(world.emulators.scim.log.total()).toBe(0);
  });

  test("file state is written 0600 and holds no secret", async () => {
    world = await startWorld({ scenario: example() });
    expect((await world.run(["sync"])).code).toBe(0);
    expect(statSync(world.statePath).mode & 0o777).toBe(0o600);
    const text = readFileSync(world.statePath, "utf8");
    expect(text).not.toContain(world.emulators.scim.token);
    expect(text).not.toContain("PRIVATE KEY");
  });

  test("endpoint, token, service account and admin email resolved from Secrets Manager", async () => {
    const scenario: Scenario = example();
    world = await startWorld({ scenario });
    const w = world;
    w.emulators.secrets.secrets.set("idpscim/endpoint", w.emulators.scim.url);
    w.emulators.secrets.secrets.set("idpscim/token", w.emulators.scim.token);
    w.emulators.secrets.secrets.set("idpscim/sa", readFileSync(w.emulators.google.serviceAccountFile, "utf8"));
    w.emulators.secrets.secrets.set("idpscim/admin", w.emulators.google.adminEmail);
    const result = await w.run(
      [
        "sync", "-g",
        "-n", "idpscim/endpoint", "-j", "idpscim/token", "-o", "idpscim/sa", "-p", "idpscim/admin",
        "--gws-api-url", w.emulators.google.url, "--gws-token-url", w.emulators.google.tokenUrl, "--state-file", w.statePath,
      ],
      { config: false },
    );
    expect(result.stderr).toContain("summary:");
    expect(result.code).toBe(0);
    expect(Object.keys(tenantView(w).users)).toContain("ana.lima@example.com");
    expect(w.emulators.secrets.log.total()).toBe(4);
  });
});

describe("bad configuration", () => {
  test("an unknown key, a non-https endpoint and a missing service-account file each fail with exit 2 and no request", async () => {
    world = await startWorld({ scenario: example() });
    world.writeConfig(`[sync]\nsuspended_user = "delete"\n`);
    const unknown = await world.run(["sync"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("suspended_users");

    world.writeConfig();
    const insecure = await world.run(["sync", "--aws-scim-endpoint", "http://scim.example.com/x/scim/v2"]);
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toContain("https");

    const missing = await world.run(["sync", "--gws-service-account-file", "/nonexistent/key.json"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("/nonexistent/key.json");
    expect(world.emulators.scim.log.total()).toBe(0);
    expect(world.emulators.google.log.total()).toBe(0);
  });
});

describe("inspect", () => {
  test("inspect gws and scim list what each side holds; inspect scim config shows the ServiceProviderConfig", async () => {
    world = await startWorld({ scenario: example() });
    const gwsUsers = await world.run(["inspect", "gws", "users", "--output", "json"]);
    expect(gwsUsers.code).toBe(0);
    expect(JSON.parse(gwsUsers.stdout)).toHaveLength(12);
    const members = await world.run(["inspect", "gws", "members"]);
    expect(members.stdout).toContain("jo.ng@example.com");
    const scimUsers = await world.run(["inspect", "scim", "users", "--output", "json"]);
    expect(JSON.parse(scimUsers.stdout).map((u: { userName: string }) => u.userName)).toEqual(["cloud-admin@example.com"]);
    const config = await world.run(["inspect", "scim", "config"]);
    expect(JSON.parse(config.stdout).patch.supported).toBe(true);
    expect(world.emulators.scim.log.writes()).toBe(0);
    const bad = await world.run(["inspect", "scim", "members"]);
    expect(bad.code).toBe(2);
  });
});

describe("progress", () => {
  test("on a terminal a sync shows progress on stderr; through a pipe it does not", async () => {
    world = await startWorld({ scenario: example() });
    const piped = await world.run(["sync", "--dry-run"]);
    expect(piped.stderr).not.toContain("phase ");
    const hasScript = Bun.which("script");
    if (!hasScript) {
      console.log("skipped the terminal half: util-linux `script` is not installed");
      return;
    }
    const { awsEnvironment } = await import("../emulators/index.ts");
    const command = [process.execPath, `${import.meta.dir}/../../src/main.ts`, "sync", "--config-file", world.configPath].map((a) => `'${a}'`).join(" ");
    const child = Bun.spawn(["script", "-qec", command, "/dev/null"], { env: { ...process.env, ...awsEnvironment(world.emulators) }, stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    expect(code).toBe(0);
    expect(out).toMatch(/phase 1\/7: 12\/12 \(\d+(\.\d)?\/s\)/);
  });
});
