/**
 * @module End-to-end: sync on demand (`sync --user`, `--group`) with the real CLI against the
 * emulators: what AWS ends up holding, what the state keeps byte for byte, and the requests it took
 * on both sides (the emulators' request logs).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, orgEmail, scimRequest, spreadOrg, startWorld, type World } from "../support/harness.ts";
import { slapdUnavailable } from "../support/slapd.ts";
import { entryText, readStateFile } from "../support/state-file.ts";
import type { ManagedGroup, ManagedUser, SyncState } from "../../src/model/index.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const example = () => loadScenarioFile(EXAMPLE_SCENARIO);

/** What AWS holds: userName → active, group name → member userNames. */
function tenantView(w: World) {
  const snap = w.emulators.scim.snapshot();
  const nameById = new Map(snap.users.map((u) => [u.id, String(u.userName)]));
  return {
    users: Object.fromEntries(snap.users.map((u) => [String(u.userName), u.active !== false])),
    groups: Object.fromEntries(snap.groups.map((g) => [g.displayName, g.members.map((m) => nameById.get(m)).sort()])),
  };
}

/** The state file's records as their canonical JSON text, by kind and source id: what "byte-identical" is checked on. */
function stateRecords(w: World): { users: Record<string, string>; groups: Record<string, string>; lastFullReadAt?: string } {
  const state = readStateFile(w.statePath);
  const text = (records: Record<string, ManagedUser | ManagedGroup>) => Object.fromEntries(Object.entries(records).map(([id, r]) => [id, entryText(r)]));
  return { users: text(state.users), groups: text(state.groups), ...(state.lastFullReadAt ? { lastFullReadAt: state.lastFullReadAt } : {}) };
}

function clearLogs(w: World): void {
  w.emulators.scim.log.clear();
  w.emulators.google.log.clear();
}

const ANA = "100000000000000000001";
const ADMINS = "200000000000000000001";
const DEVELOPERS = "200000000000000000002";
const READONLY = "200000000000000000003";
const ALL_STAFF = "200000000000000000005";

describe("sync --user", () => {
  test("provisions one person before any full sync: the user and its groups in scope, with it alone as member", async () => {
    world = await startWorld({ scenario: example() });
    const run = await world.run(["sync", "--user", "ana.lima@example.com"]);
    expect(run.stderr).toContain("tenant read targeted");
    expect(run.code).toBe(0);
    const view = tenantView(world);
    expect(Object.keys(view.users).sort()).toEqual(["ana.lima@example.com", "cloud-admin@example.com"]);
    expect(view.groups["AWS Admins"]).toEqual(["ana.lima@example.com"]);
    expect(view.groups["All Staff"]).toEqual(["ana.lima@example.com"]);
    expect(view.groups["AWS Developers"]).toBeUndefined();
    const state = readStateFile(world.statePath);
    expect(Object.keys(state.users)).toEqual([ANA]);
    expect(Object.keys(state.groups).sort()).toEqual([ADMINS, ALL_STAFF]);
    // Not a full read: the next scheduled run still reads the whole tenant (and syncs everyone).
    expect(state.lastFullReadAt).toBeUndefined();
    const google = world.emulators.google.log.counts();
    const scim = world.emulators.scim.log.counts();
    console.log(`sync --user on an empty tenant: google ${JSON.stringify(google)}; scim ${JSON.stringify(scim)}`);
    expect(scim["GET /Users"] ?? 0).toBeLessThanOrEqual(3);

    const full = await world.run(["sync"]);
    expect(full.code).toBe(0);
    expect(full.stderr).toContain("tenant read due");
    expect(tenantView(world).groups["All Staff"]).toHaveLength(12);
  });

  test("after a full sync: only the named user's changes are applied, every other record of the state stays byte-identical", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    expect((await world.run(["sync"])).code).toBe(0);
    const before = stateRecords(world);
    // Two people change in Google; only Ana is synced now.
    const ana = scenario.google.users.find((u) => u.id === ANA)!;
    ana.organizations = [{ primary: true, title: "Principal Engineer", department: "Platform" }];
    const jo = scenario.google.users.find((u) => u.primaryEmail === "jo.ng@example.com")!;
    jo.organizations = [{ primary: true, title: "Incident Commander" }];
    const admins = scenario.google.groups.find((g) => g.id === ADMINS)!;
    admins.members = admins.members.filter((m) => m.email !== "ana.lima@example.com");
    const developers = scenario.google.groups.find((g) => g.id === DEVELOPERS)!;
    developers.members.push({ email: "ana.lima@example.com", type: "USER", role: "MEMBER", status: "ACTIVE" });

    clearLogs(world);
    const run = await world.run(["sync", "--user", "ana.lima@example.com"]);
    expect(run.code).toBe(0);
    const google = world.emulators.google.log.counts();
    const scim = world.emulators.scim.log.counts();
    console.log(`sync --user after a full sync (example scenario): google ${world.emulators.google.log.total()} ${JSON.stringify(google)}; scim ${world.emulators.scim.log.total()} ${JSON.stringify(scim)}`);
    // Google: Ana (users.get; her manager Bo is known to the state by email), then her groups level by level up the nesting
    // (Ana → AWS Developers, All Staff → AWS ReadOnly → none). SCIM: Ana by id, her groups (one
    // filter), the three groups the plan changes (one listing: cheaper than three reads), the writes.
    expect(google).toEqual({ "POST /token": 1, "GET users.get": 1, "GET groups.list": 4 });
    expect(scim).toEqual({ "GET /Users/{id}": 1, "GET /Groups": 2, "PATCH /Users/{id}": 1, "PATCH /Groups/{id}": 3 });

    const view = tenantView(world);
    expect(view.groups["AWS Admins"]).not.toContain("ana.lima@example.com");
    expect(view.groups["AWS Developers"]).toContain("ana.lima@example.com");
    // Nested: AWS Developers is in AWS ReadOnly, so Ana is a derived member of it now.
    expect(view.groups["AWS ReadOnly"]).toContain("ana.lima@example.com");
    const snap = world.emulators.scim.snapshot();
    const anaInAws = snap.users.find((u) => u.userName === "ana.lima@example.com") as Record<string, unknown>;
    expect(anaInAws.title).toBe("Principal Engineer");
    // Her manager, resolved through the state without reading Bo, is kept.
    const bo = snap.users.find((u) => u.userName === "bo.chen@example.com")!;
    expect(anaInAws["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]).toMatchObject({ manager: { value: bo.id } });
    expect((snap.users.find((u) => u.userName === "jo.ng@example.com") as Record<string, unknown>).title).not.toBe("Incident Commander");

    const after = stateRecords(world);
    expect(after.lastFullReadAt).toBe(before.lastFullReadAt!);
    for (const id of Object.keys(before.users)) if (id !== ANA) expect(after.users[id]).toBe(before.users[id]!);
    expect(after.users[ANA]).not.toBe(before.users[ANA]!);
    expect(Object.keys(after.users).sort()).toEqual(Object.keys(before.users).sort());
    // Groups whose membership of Ana did not change are untouched; the three that did change record it.
    for (const id of Object.keys(before.groups)) if (![ADMINS, DEVELOPERS, READONLY].includes(id)) expect(after.groups[id]).toBe(before.groups[id]!);
    const members = (id: string, s: typeof before) => (JSON.parse(s.groups[id]!) as { memberSourceIds: string[] }).memberSourceIds;
    expect(members(ADMINS, after)).toEqual(members(ADMINS, before).filter((m) => m !== ANA));
    expect(members(DEVELOPERS, after)).toEqual([...members(DEVELOPERS, before), ANA].sort());

    // Jo's change is still pending for the scheduled run.
    const scheduled = await world.run(["sync"]);
    expect(scheduled.code).toBe(0);
    expect((world.emulators.scim.snapshot().users.find((u) => u.userName === "jo.ng@example.com") as Record<string, unknown>).title).toBe("Incident Commander");
  });
});

describe("sync --user with gws.groups_filter", () => {
  test("only the groups the filter selects: one listing per query, then the user's groups up the nesting", async () => {
    world = await startWorld({ scenario: example() });
    writeFilter(world, ["email:aws-*"]);
    const run = await world.run(["sync", "--user", "ana.lima@example.com"]);
    expect(run.code).toBe(0);
    const view = tenantView(world);
    expect(view.groups["AWS Admins"]).toEqual(["ana.lima@example.com"]);
    // All Staff holds Ana too, but the filter does not select it.
    expect(view.groups["All Staff"]).toBeUndefined();
    // The filter's listing, Ana, her manager; her groups (AWS Admins, All Staff), then theirs (none).
    expect(world.emulators.google.log.counts()).toEqual({ "POST /token": 1, "GET groups.list": 4, "GET users.get": 2 });
  });
});

describe("sync --user repairs the named user's drift", () => {
  test("a membership removed by hand in AWS is put back, one added by hand to a managed group is taken away", async () => {
    world = await startWorld({ scenario: example() });
    expect((await world.run(["sync"])).code).toBe(0);
    const snap = world.emulators.scim.snapshot();
    const jo = snap.users.find((u) => u.userName === "jo.ng@example.com")!.id;
    const breakglass = snap.groups.find((g) => g.displayName === "AWS BreakGlass")!.id;
    const developers = snap.groups.find((g) => g.displayName === "AWS Developers")!.id;
    const patch = (group: string, op: "add" | "remove") =>
      scimRequest(world!, "PATCH", `/Groups/${group}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op, path: "members", value: [{ value: jo }] }] });
    expect((await patch(breakglass, "remove")).status).toBe(204);
    expect((await patch(developers, "add")).status).toBe(204);
    // A scheduled run trusts the state: it sees neither.
    expect((await world.run(["sync"])).code).toBe(0);
    expect(tenantView(world).groups["AWS BreakGlass"]).toEqual([]);

    const run = await world.run(["sync", "--user", "jo.ng@example.com"]);
    expect(run.code).toBe(0);
    const view = tenantView(world);
    expect(view.groups["AWS BreakGlass"]).toEqual(["jo.ng@example.com"]);
    expect(view.groups["AWS Developers"]).not.toContain("jo.ng@example.com");
  });
});

describe("sync --group", () => {
  test("syncs the group's member list and its members, and nothing else", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    expect((await world.run(["sync"])).code).toBe(0);
    const before = stateRecords(world);
    const developers = scenario.google.groups.find((g) => g.id === DEVELOPERS)!;
    developers.members = developers.members.filter((m) => m.email !== "goran.ivic@example.com");
    developers.members.push({ email: "kai.berg@example.com", type: "USER", role: "MEMBER", status: "ACTIVE" });

    clearLogs(world);
    const run = await world.run(["sync", "--group", "aws-developers@example.com"]);
    expect(run.code).toBe(0);
    console.log(`sync --group (example scenario): google ${JSON.stringify(world.emulators.google.log.counts())}; scim ${JSON.stringify(world.emulators.scim.log.counts())}`);
    const view = tenantView(world);
    expect(view.groups["AWS Developers"]).toContain("kai.berg@example.com");
    expect(view.groups["AWS Developers"]).not.toContain("goran.ivic@example.com");
    // Goran is still a user (All Staff) and still in AWS ReadOnly: that group was not named.
    expect(view.users["goran.ivic@example.com"]).toBe(true);
    expect(view.groups["AWS ReadOnly"]).toContain("goran.ivic@example.com");
    const after = stateRecords(world);
    for (const id of Object.keys(before.groups)) if (id !== DEVELOPERS) expect(after.groups[id]).toBe(before.groups[id]!);
    expect(after.users).toEqual(before.users);
    expect(after.lastFullReadAt).toBe(before.lastFullReadAt!);
  });
});

describe("what a targeted run may remove", () => {
  test("a named user who left every group is removed by sync.removed_users; the others who left stay for the scheduled run", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    expect((await world.run(["sync"])).code).toBe(0);
    const allStaff = scenario.google.groups.find((g) => g.id === ALL_STAFF)!;
    // Lena (only in All Staff) and Kai (only in All Staff) both leave the scope.
    allStaff.members = allStaff.members.filter((m) => m.email !== "lena.vogel@example.com" && m.email !== "kai.berg@example.com");
    const before = stateRecords(world);
    clearLogs(world);

    const dry = await world.run(["sync", "--dry-run", "--user", "lena.vogel@example.com", "--output", "json"]);
    expect(dry.code).toBe(0);
    const planned = JSON.parse(dry.stdout) as { tenantRead: string; summary: { requests: number }; operations: { kind: string; userName?: string; why?: string }[] };
    expect(planned.tenantRead).toBe("targeted");
    // The delete, and All Staff's record noting she left it (no request: AWS drops a deleted user's memberships).
    expect(planned.operations.map((op) => `${op.kind} ${op.userName ?? op.why}`)).toEqual(["updateGroup record", "deleteUser lena.vogel@example.com"]);
    expect(planned.summary.requests).toBe(1);
    expect(world.emulators.scim.log.writes()).toBe(0);
    expect(stateRecords(world)).toEqual(before);

    const run = await world.run(["sync", "--user", "lena.vogel@example.com"]);
    expect(run.code).toBe(0);
    const view = tenantView(world);
    expect(view.users["lena.vogel@example.com"]).toBeUndefined();
    expect(view.users["kai.berg@example.com"]).toBe(true);
    expect(view.groups["All Staff"]).toContain("kai.berg@example.com");
    const after = stateRecords(world);
    expect(Object.keys(after.users).sort()).toEqual(Object.keys(before.users).filter((id) => id !== "100000000000000000012").sort());
  });

  test("a named group that left the scope is deleted; plan --group shows it; groups not named are not", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    writeFilter(world, ["email:aws-*", "email:all-*"]);
    expect((await world.run(["sync"])).code).toBe(0);
    // BreakGlass gets an address the filter does not select (it stays nested in AWS Admins).
    const breakglass = scenario.google.groups.find((g) => g.email === "aws-breakglass@example.com")!;
    breakglass.email = "breakglass@example.com";
    const admins = scenario.google.groups.find((g) => g.id === ADMINS)!;
    admins.members = admins.members.map((m) => (m.email === "aws-breakglass@example.com" ? { ...m, email: "breakglass@example.com" } : m));
    writeFilter(world, ["email:aws-*"]);

    const planned = await world.run(["plan", "--group", "AWS BreakGlass", "--output", "json"]);
    expect(planned.code).toBe(0);
    const ops = (JSON.parse(planned.stdout) as { operations: { kind: string; displayName?: string }[] }).operations;
    expect(ops.map((op) => `${op.kind} ${op.displayName ?? ""}`.trim())).toEqual(["deleteGroup AWS BreakGlass"]);

    const run = await world.run(["sync", "--group", "AWS BreakGlass"]);
    expect(run.code).toBe(0);
    const view = tenantView(world);
    expect(view.groups["AWS BreakGlass"]).toBeUndefined();
    // All Staff left the scope too, but was not named: the scheduled run deletes it.
    expect(view.groups["All Staff"]).toHaveLength(12);
    expect((await world.run(["sync"])).code).toBe(0);
    expect(tenantView(world).groups["All Staff"]).toBeUndefined();
  });

  test("S3 state: a targeted run saves with a conditional write and leaves every other record as it was", async () => {
    const scenario = example();
    world = await startWorld({ scenario }, { state: "s3" });
    expect((await world.run(["sync"])).code).toBe(0);
    const show = async () => JSON.parse((await world!.run(["state", "show", "--output", "json"])).stdout) as SyncState;
    const before = await show();
    scenario.google.users.find((u) => u.id === ANA)!.name = { givenName: "Ana", familyName: "Lima Souza" };
    const run = await world.run(["sync", "--user", "ana.lima@example.com"]);
    expect(run.code).toBe(0);
    const after = await show();
    expect(after.users[ANA]!.attributes.familyName).toBe("Lima Souza");
    expect({ ...after.users, [ANA]: undefined }).toEqual({ ...before.users, [ANA]: undefined });
    expect(after.groups).toEqual(before.groups);
    expect(after.lastFullReadAt).toBe(before.lastFullReadAt!);
  });
});

/** The world's config with `gws.groups_filter` set (the harness writes the [gws] table itself). */
function writeFilter(w: World, filter: string[]): void {
  w.writeConfig();
  writeFileSync(w.configPath, readFileSync(w.configPath, "utf8").replace("[gws]\n", `[gws]\ngroups_filter = ${JSON.stringify(filter)}\n`));
}

describe("a name the source no longer has, that the state knows", () => {
  test("a user whose email changed and a renamed group, named as the state knew them, are synced, never taken for deleted", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    expect((await world.run(["sync"])).code).toBe(0);
    const before = world.emulators.scim.snapshot();
    const ana = scenario.google.users.find((u) => u.id === ANA)!;
    ana.primaryEmail = "ana.souza@example.com";
    for (const g of scenario.google.groups) for (const m of g.members) if (m.email === "ana.lima@example.com") m.email = ana.primaryEmail;
    scenario.google.groups.find((g) => g.id === ADMINS)!.name = "AWS Administrators";

    clearLogs(world);
    const run = await world.run(["sync", "--user", "ana.lima@example.com", "--group", "AWS Admins"]);
    expect(run.code).toBe(0);
    const after = world.emulators.scim.snapshot();
    const anaId = before.users.find((u) => u.userName === "ana.lima@example.com")!.id;
    expect(after.users.find((u) => u.id === anaId)!.userName).toBe("ana.souza@example.com");
    const adminsId = before.groups.find((g) => g.displayName === "AWS Admins")!.id;
    expect(after.groups.find((g) => g.id === adminsId)!.displayName).toBe("AWS Administrators");
    const counts = world.emulators.scim.log.counts();
    for (const route of ["POST /Users", "POST /Groups", "DELETE /Users/{id}", "DELETE /Groups/{id}"]) expect(counts[route] ?? 0).toBe(0);
    // Each asked again by the id the state holds: users.get by email (404) then by id; groups.list by name (none) then groups.get.
    expect(world.emulators.google.log.counts()).toMatchObject({ "GET groups.get": 1 });
    expect(world.emulators.google.log.total((e) => e.route === "users.get" && e.status === 404)).toBe(1);
  });
});

describe("a named user deleted in Google", () => {
  test("is deleted in AWS (asked by email, then by the id the state holds: both 404)", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    expect((await world.run(["sync"])).code).toBe(0);
    scenario.google.users = scenario.google.users.filter((u) => u.primaryEmail !== "lena.vogel@example.com");
    for (const g of scenario.google.groups) g.members = g.members.filter((m) => m.email !== "lena.vogel@example.com");
    const run = await world.run(["sync", "--user", "lena.vogel@example.com"]);
    expect(run.code).toBe(0);
    expect(tenantView(world).users["lena.vogel@example.com"]).toBeUndefined();
    expect(tenantView(world).users["kai.berg@example.com"]).toBe(true);
    expect(world.emulators.google.log.total((e) => e.route === "users.get" && e.status === 404)).toBe(2);
  });
});

describe("on top of a run cut short", () => {
  test("syncs only its target; the next scheduled run continues the cut run's work as it would have, without duplicates", async () => {
    const scenario = spreadOrg(400, 4);
    world = await startWorld({ scenario, scim: { faults: { latencyMs: 100 } } });
    const cut = await world.run(["sync", "--max-duration", "8s"]);
    expect(cut.code).toBe(0);
    expect(cut.stderr).toContain("continues next run");
    const created = new Set(world.emulators.scim.snapshot().users.map((u) => String(u.userName)));
    expect(created.size).toBeGreaterThan(0);
    expect(created.size).toBeLessThan(400);
    const before = stateRecords(world);
    // The last user of the organisation: the cut run had not reached it.
    const target = orgEmail(399);
    expect(created.has(target)).toBe(false);

    world.emulators.scim.faults.latencyMs = 0;
    clearLogs(world);
    const run = await world.run(["sync", "--user", target]);
    expect(run.code).toBe(0);
    expect(world.emulators.scim.log.counts()["POST /Users"]).toBe(1);
    const after = stateRecords(world);
    expect(Object.keys(after.users)).toHaveLength(Object.keys(before.users).length + 1);
    for (const id of Object.keys(before.users)) expect(after.users[id]).toBe(before.users[id]!);
    expect(after.lastFullReadAt).toBe(before.lastFullReadAt!);

    clearLogs(world);
    const rest = await world.run(["sync"]);
    expect(rest.code).toBe(0);
    expect(world.emulators.scim.log.counts()["POST /Users"]).toBe(400 - created.size - 1);
    expect(world.emulators.scim.log.total((e) => e.status === 409)).toBe(0);
    const snap = world.emulators.scim.snapshot();
    expect(snap.users.filter((u) => String(u.userName).startsWith("user"))).toHaveLength(400);
    const nameOf = new Map(snap.users.map((u) => [u.id, String(u.userName)]));
    for (const group of scenario.google.groups) {
      const held = snap.groups.filter((g) => g.displayName === group.name);
      expect(held).toHaveLength(1);
      expect(held[0]!.members.map((id) => nameOf.get(id)).sort()).toEqual(group.members.map((m) => m.email).sort());
    }
  });
});

describe("bad targets: one line, exit 2, nothing written", () => {
  test("an unknown email, a group that does not exist, and a user outside gws.groups_filter", async () => {
    world = await startWorld({ scenario: example() });
    writeFilter(world, ["email:aws-*"]);
    for (const [args, words] of [
      [["--user", "nobody@example.com"], 'user "nobody@example.com" is not a user of this Google Workspace'],
      [["--group", "No Such Team"], 'group "No Such Team" is not a group of this Google Workspace'],
      [["--user", "kai.berg@example.com"], 'user "kai.berg@example.com" is not a member of any group in scope (gws.groups_filter)'],
      [["--group", "all-staff@example.com"], 'group "all-staff@example.com" is not selected by gws.groups_filter'],
    ] as const) {
      clearLogs(world);
      const run = await world.run(["sync", ...args]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`TARGET_UNKNOWN: nothing to sync on demand: ${words}`);
      expect(run.stderr.trim().split("\n").filter((l) => l.includes("TARGET_UNKNOWN"))).toHaveLength(1);
      expect(world.emulators.scim.log.writes()).toBe(0);
      expect(() => statSync(world!.statePath)).toThrow();
    }
  });

  test("usage: a --user that is no email, and --reconcile with --user, stop before any request", async () => {
    world = await startWorld({ scenario: example() });
    for (const args of [["--user", "ana"], ["--user", "ana.lima@example.com", "--reconcile"], ["--group", ""]]) {
      const run = await world.run(["sync", ...args]);
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(world.emulators.google.log.total()).toBe(0);
    expect(world.emulators.scim.log.total()).toBe(0);
  });
});

const slapdMissing = slapdUnavailable();

describe.skipIf(slapdMissing !== undefined)("sync --user with an LDAP source", () => {
  test("the directory is read as a full sync reads it, then only the named user is synced", async () => {
    world = await startWorld({ scenario: example() }, {}, {});
    expect((await world.run(["sync"])).code).toBe(0);
    const before = stateRecords(world);
    const dn = (email: string) => world!.ldap!.directory.user(email)!.dn;
    await world.ldap!.slapd.modify(
      `dn: ${dn("ana.lima@example.com")}\nchangetype: modify\nreplace: title\ntitle: Principal Engineer\n\n` +
        `dn: ${dn("jo.ng@example.com")}\nchangetype: modify\nreplace: title\ntitle: Incident Commander\n`,
    );
    clearLogs(world);
    const run = await world.run(["sync", "--user", "ana.lima@example.com"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("tenant read targeted");
    const users = world.emulators.scim.snapshot().users as Record<string, unknown>[];
    expect(users.find((u) => u.userName === "ana.lima@example.com")!.title).toBe("Principal Engineer");
    expect(users.find((u) => u.userName === "jo.ng@example.com")!.title).not.toBe("Incident Commander");
    expect(world.emulators.scim.log.counts()).toEqual({ "GET /Users/{id}": 1, "GET /Groups": 1, "PATCH /Users/{id}": 1 });
    const after = stateRecords(world);
    const ana = Object.keys(before.users).find((id) => before.users[id]!.includes("ana.lima@example.com"))!;
    expect({ ...after.users, [ana]: "" }).toEqual({ ...before.users, [ana]: "" });
    expect(after.groups).toEqual(before.groups);

    const unknown = await world.run(["sync", "--user", "nobody@example.com"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('TARGET_UNKNOWN: nothing to sync on demand: user "nobody@example.com" is not a user of the source in scope');
  });
});

describe("sync --user and --group under the scope settings, as a full run applies them", () => {
  const KAI = "kai.berg@example.com"; // the one user in /Contractors, a member of All Staff only
  function scoped(w: World, gws: string, sync = ""): void {
    w.writeConfig(sync === "" ? "" : `[sync]\n${sync}\n`);
    writeFileSync(w.configPath, readFileSync(w.configPath, "utf8").replace("[gws]\n", `[gws]\n${gws}\n`));
  }

  test("gws.users_filter: a named user the queries do not match is not synced; one they match is, asked by the query ANDed with its email", async () => {
    world = await startWorld({ scenario: example() });
    scoped(world, `users_filter = ["orgUnitPath='/Contractors'"]`);
    const outside = await world.run(["sync", "--user", "ana.lima@example.com"]);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('user "ana.lima@example.com" matches no gws.users_filter query');
    expect(world.emulators.scim.log.writes()).toBe(0);

    clearLogs(world);
    const inside = await world.run(["sync", "--user", KAI]);
    expect(inside.code).toBe(0);
    const view = tenantView(world);
    expect(view.groups["All Staff"]).toEqual([KAI]);
    expect(Object.keys(view.users).sort()).toEqual(["cloud-admin@example.com", KAI]); // cloud-admin: AWS's own, there before
    const queries = world.emulators.google.log.entries.filter((e) => e.url.includes("/users?")).map((e) => new URL(e.url, "http://x").searchParams.get("query"));
    expect(queries).toEqual([`orgUnitPath='/Contractors' email='${KAI}'`]);
  });

  test('sync.method = "users" with sync.exclude_groups: a matching user in no synced group is synced alone', async () => {
    world = await startWorld({ scenario: example() });
    scoped(world, `users_filter = ["orgUnitPath='/Contractors'"]`, `method = "users"\nexclude_groups = ["All Staff"]`);
    const run = await world.run(["sync", "--user", KAI]);
    expect(run.code).toBe(0);
    const view = tenantView(world);
    expect(Object.keys(view.users).sort()).toEqual(["cloud-admin@example.com", KAI]); // cloud-admin and its group: AWS's own, there before
    expect(Object.keys(view.groups)).toEqual(["AWSControlTowerAdmins"]);
    const named = await world.run(["sync", "--group", "All Staff"]);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain('group "All Staff" is excluded by sync.exclude_groups');
  });

  test("sync.exclude_users: a managed user named once excluded is removed as one that left the scope; nobody else is", async () => {
    world = await startWorld({ scenario: example() });
    expect((await world.run(["sync"])).code).toBe(0);
    const before = tenantView(world);
    scoped(world, "", `exclude_users = ["bo.*@example.com"]`);
    const run = await world.run(["sync", "--user", "bo.chen@example.com"]);
    expect(run.code).toBe(0);
    const after = tenantView(world);
    expect(Object.keys(after.users).sort()).toEqual(Object.keys(before.users).filter((u) => u !== "bo.chen@example.com").sort());
    expect(after.groups["AWS Admins"]).toEqual(before.groups["AWS Admins"]!.filter((u) => u !== "bo.chen@example.com"));
  });
});
