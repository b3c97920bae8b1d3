/**
 * @module End-to-end ownership: the real `idpscim` CLI against the emulators, tried as an attacker
 * and as a careless administrator would. Nothing the tool does not own is taken over, changed or
 * deleted, whatever Google (a group named like Control Tower's), the tenant (another tool's
 * externalId) or the state file (a tampered SCIM id) says; and the rails count what takes access away.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { loadScenarioFile, parseScenario, type Scenario } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, scimRequest as scim, startWorld, type World } from "../support/harness.ts";
import { editStateFile, readStateFile } from "../support/state-file.ts";
import type { SyncState } from "../../src/model/index.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
const example = () => loadScenarioFile(EXAMPLE_SCENARIO);
const AWS_ONLY = ["--gws-groups-filter", "name:AWS*"];

type SnapshotGroup = { id: string; displayName: string; externalId?: string; members: string[] };
const groupNamed = (w: World, name: string): SnapshotGroup | undefined => w.emulators.scim.snapshot().groups.find((g) => g.displayName === name);
const userNamed = (w: World, userName: string) => w.emulators.scim.snapshot().users.find((u) => String(u.userName).toLowerCase() === userName.toLowerCase());
const requests = (w: World) => w.emulators.scim.log.counts();
const writesTo = (w: World, id: string) => w.emulators.scim.log.entries.filter((e) => e.method !== "GET" && e.url.includes(id));

const readState = (w: World) => readStateFile(w.statePath);
const editState = (w: World, edit: (state: SyncState) => void) => editStateFile(w.statePath, edit);

function googleGroup(scenario: Scenario, id: string, name: string, members: string[]): void {
  scenario.google.groups.push({
    id,
    email: `${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}@example.com`,
    name,
    members: members.map((email) => ({ email, type: "USER", role: "MEMBER", status: "ACTIVE" })),
  } as Scenario["google"]["groups"][number]);
}

const googleId = (scenario: Scenario, email: string) => scenario.google.users.find((u) => u.primaryEmail === email)!.id;

describe("protected groups (Control Tower's)", () => {
  test("a Google group named AWSControlTowerAdmins, made after the first sync, is skipped: the AWS group keeps its members, is never adopted nor deleted", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    const w = world;
    expect((await w.run(["sync", ...AWS_ONLY])).code).toBe(0);
    const before = groupNamed(w, "AWSControlTowerAdmins")!;

    googleGroup(scenario, "300000000000000000001", "AWSControlTowerAdmins", ["ana.lima@example.com"]);
    w.emulators.scim.log.clear();
    const run = await w.run(["sync", ...AWS_ONLY]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('Google group "AWSControlTowerAdmins" (300000000000000000001) has a protected name (sync.protected_groups): skipped');
    for (const args of [["sync", "--reconcile", ...AWS_ONLY], ["sync", "--reconcile", "--sync-delete-unmanaged", ...AWS_ONLY]]) {
      expect((await w.run(args)).code).toBe(0);
    }
    scenario.google.groups = scenario.google.groups.filter((g) => g.name !== "AWSControlTowerAdmins");
    expect((await w.run(["sync", "--reconcile", ...AWS_ONLY])).code).toBe(0);
    expect(writesTo(w, before.id)).toEqual([]);
    expect(groupNamed(w, "AWSControlTowerAdmins")).toEqual({ ...before, members: [] });
    // The one member was the unmanaged Control Tower user, which --sync-delete-unmanaged deleted (AWS drops its memberships): the group stays.
  });

  test("on a first run, a Google group with a protected name is skipped too, while a hand-made group of another name is adopted (the migration case)", async () => {
    const scenario = example();
    scenario.scim.groups.push({ id: "hand-admins", displayName: "AWS Admins", members: [] });
    googleGroup(scenario, "300000000000000000002", "AWSControlTowerAdmins", ["ana.lima@example.com", "bo.chen@example.com"]);
    world = await startWorld({ scenario });
    const w = world;
    const run = await w.run(["sync"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("has a protected name");
    expect(groupNamed(w, "AWSControlTowerAdmins")).toEqual({ id: "ct-group-0001", displayName: "AWSControlTowerAdmins", members: ["ct-user-0001"] });
    expect(groupNamed(w, "AWS Admins")).toMatchObject({ id: "hand-admins", externalId: scenario.google.groups.find((g) => g.name === "AWS Admins")!.id });
    expect(readState(w).groups).not.toHaveProperty("300000000000000000002");
  });
});

describe("group adoption by name (sync.adopt_groups)", () => {
  test('after the first run, a new Google group named like a hand-made AWS group is a failed record naming both and the setting; "always" adopts it', async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    const w = world;
    expect((await w.run(["sync"])).code).toBe(0);
    const made = await scim(w, "POST", "/Groups", { schemas: [GROUP_SCHEMA], displayName: "AWS Finance", members: [{ value: "ct-user-0001" }] });
    expect(made.status).toBe(201);
    const financeId = (made.body as { id: string }).id;
    googleGroup(scenario, "300000000000000000003", "AWS Finance", ["ana.lima@example.com"]);

    for (const args of [["sync"], ["sync", "--reconcile"]]) {
      w.emulators.scim.log.clear();
      const run = await w.run(args);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/failed: (createGroup|group) "AWS Finance": AWS group "AWS Finance" \(.+\) already has this name and idpscim does not manage it: .*sync\.adopt_groups/);
      expect(writesTo(w, financeId).filter((e) => e.method === "PATCH" || e.method === "DELETE")).toEqual([]);
      expect(groupNamed(w, "AWS Finance")).toEqual({ id: financeId, displayName: "AWS Finance", members: ["ct-user-0001"] });
    }

    const adopted = await w.run(["sync", "--reconcile", "--sync-adopt-groups", "always"]);
    expect(adopted.code).toBe(0);
    const ana = userNamed(w, "ana.lima@example.com")!.id as string;
    expect(groupNamed(w, "AWS Finance")).toEqual({ id: financeId, displayName: "AWS Finance", externalId: "300000000000000000003", members: [ana] });
  });
});

describe("another owner's externalId", () => {
  const okta = {
    id: "okta-ana",
    externalId: "00u-okta-123",
    userName: "ana.lima@example.com",
    displayName: "Ana (Okta)",
    name: { givenName: "Ana", familyName: "Okta" },
    emails: [{ value: "ana.lima@example.com", type: "work", primary: true }],
    active: true,
  };

  test("a first run (full read) never adopts a user carrying another tool's externalId: failed record, untouched, never deleted", async () => {
    const scenario = example();
    scenario.scim.users.push(structuredClone(okta));
    world = await startWorld({ scenario });
    const w = world;
    for (const args of [["sync"], ["sync", "--reconcile"]]) {
      const run = await w.run(args);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('failed: user ana.lima@example.com: AWS user "ana.lima@example.com" (okta-ana) carries externalId "00u-okta-123", set by another tool or source');
    }
    const anaId = googleId(scenario, "ana.lima@example.com");
    for (const g of scenario.google.groups) g.members = g.members.filter((m) => m.email !== "ana.lima@example.com");
    expect((await w.run(["sync", "--reconcile"])).code).toBe(0);
    expect(writesTo(w, "okta-ana")).toEqual([]);
    expect(userNamed(w, "ana.lima@example.com")).toMatchObject({ id: "okta-ana", externalId: "00u-okta-123", displayName: "Ana (Okta)" });
    expect(readState(w).users).not.toHaveProperty(anaId);
  });

  test("an incremental run whose create meets it (409) fails the record with the same reason, and the next reconcile does not adopt it", async () => {
    const scenario = example();
    const ana = "ana.lima@example.com";
    const groupsOfAna = scenario.google.groups.filter((g) => g.members.some((m) => m.email === ana)).map((g) => g.name);
    for (const g of scenario.google.groups) g.members = g.members.filter((m) => m.email !== ana);
    world = await startWorld({ scenario });
    const w = world;
    expect((await w.run(["sync"])).code).toBe(0);
    expect((await scim(w, "POST", "/Users", { schemas: [USER_SCHEMA], ...okta, id: undefined })).status).toBe(201);
    const oktaId = userNamed(w, ana)!.id as string;
    for (const g of scenario.google.groups) if (groupsOfAna.includes(g.name)) g.members.push({ email: ana, type: "USER", role: "MEMBER", status: "ACTIVE" } as never);

    w.emulators.scim.log.clear();
    const run = await w.run(["sync"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`AWS user "${ana}" (${oktaId}) carries externalId "00u-okta-123", set by another tool or source: idpscim never takes it over`);
    const reconcile = await w.run(["sync", "--reconcile"]);
    expect(reconcile.code).toBe(1);
    expect(writesTo(w, oktaId)).toEqual([]);
    expect(userNamed(w, ana)).toMatchObject({ id: oktaId, externalId: "00u-okta-123" });
  });
});

describe("a tampered state", () => {
  test("a state record pointing at an unmanaged user is confirmed before any write: no PATCH on a rename, no DELETE when the user leaves, and the real user is renamed in place", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    const w = world;
    expect((await w.run(["sync"])).code).toBe(0);
    const bo = googleId(scenario, "bo.chen@example.com");
    const carla = googleId(scenario, "carla.diaz@example.com");
    const boScimId = readState(w).users[bo]!.scimId;
    editState(w, (s) => {
      s.users[bo]!.scimId = "ct-user-0001";
    });

    // Bo's email changes: the run from the state reads ct-user-0001 first, finds another externalId, and leaves it alone.
    scenario.google.users.find((u) => u.id === bo)!.primaryEmail = "bo.c@example.com";
    for (const g of scenario.google.groups) for (const m of g.members) if (m.email === "bo.chen@example.com") m.email = "bo.c@example.com";
    w.emulators.scim.log.clear();
    const rename = await w.run(["sync"]);
    expect(rename.stderr).toContain(`the state names AWS user "cloud-admin@example.com" (ct-user-0001) as source ${bo}'s, but it carries no externalId`);
    expect(requests(w)["GET /Users/{id}"]).toBeGreaterThanOrEqual(1);
    expect(userNamed(w, "bo.c@example.com")!.id).toBe(boScimId);

    // Carla leaves the scope: her record points at the Control Tower user, which is not deleted.
    editState(w, (s) => {
      s.users[carla]!.scimId = "ct-user-0001";
    });
    for (const g of scenario.google.groups) g.members = g.members.filter((m) => m.email !== "carla.diaz@example.com");
    const leave = await w.run(["sync"]);
    expect(leave.code).toBe(0);
    expect(writesTo(w, "ct-user-0001")).toEqual([]);
    expect(userNamed(w, "cloud-admin@example.com")).toMatchObject({ id: "ct-user-0001", userName: "cloud-admin@example.com" });
    expect(groupNamed(w, "AWSControlTowerAdmins")!.members).toEqual(["ct-user-0001"]);
    expect(Object.values(readState(w).users).map((u) => u.scimId)).not.toContain("ct-user-0001");
  });

  test("a reconcile never puts the user a tampered record names into groups, and the real user is found by externalId", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    const w = world;
    expect((await w.run(["sync"])).code).toBe(0);
    const dev = googleId(scenario, "dev.patel@example.com");
    const devScimId = readState(w).users[dev]!.scimId;
    editState(w, (s) => {
      s.users[dev]!.scimId = "ct-user-0001";
    });
    const run = await w.run(["sync", "--reconcile"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("not ours, dropped from the state and left untouched");
    const groups = w.emulators.scim.snapshot().groups;
    expect(groups.filter((g) => g.members.includes("ct-user-0001")).map((g) => g.displayName)).toEqual(["AWSControlTowerAdmins"]);
    expect(readState(w).users[dev]!.scimId).toBe(devScimId);
  });
});

describe("rails that count what takes access away", () => {
  /** `users` users; every group holds the users `members(k)` gives. */
  function org(users: number, groups: { name: string; email: string; members: number[] }[]): Scenario {
    const people = Array.from({ length: users }, (_, i) => ({
      id: `1${String(i).padStart(20, "0")}`,
      primaryEmail: `user${String(i).padStart(3, "0")}@example.com`,
      name: { givenName: `Given${i}`, familyName: `Family${i}` },
    }));
    return parseScenario({
      google: {
        domain: "example.com",
        customerId: "C1",
        adminEmail: "admin@example.com",
        users: people,
        groups: groups.map((g, k) => ({
          id: `2${String(k).padStart(20, "0")}`,
          email: g.email,
          name: g.name,
          members: g.members.map((i) => ({ email: people[i]!.primaryEmail, type: "USER", role: "MEMBER" })),
        })),
      },
    });
  }
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);

  test("a filter typo in a small tenant (10 users, 4 groups) is refused: the floor never allows more than half", async () => {
    const scenario = org(10, [0, 1, 2, 3].map((k) => ({ name: `Team ${k}`, email: k === 0 ? "aws-admins@example.com" : `aws-team${k}@example.com`, members: range(10).filter((i) => i % 4 === k) })));
    world = await startWorld({ scenario });
    const w = world;
    expect((await w.run(["sync", "--gws-groups-filter", "email:aws-*"])).code).toBe(0);
    w.emulators.scim.log.clear();
    const typo = await w.run(["sync", "--gws-groups-filter", "email:aws-admin*"]);
    expect(typo.code).toBe(3);
    expect(typo.stderr).toContain('this run would delete or deactivate 7 users of the 10 it manages, more than sync.max_deletes = "25%" allows (5)');
    expect(typo.stderr).toContain('this run would delete 3 groups of the 4 it manages, more than sync.max_deletes = "25%" allows (2)');
    expect(w.emulators.scim.log.writes()).toBe(0);
  });

  test("membership removals count against sync.max_membership_removals; --force allows them for one run", async () => {
    const scenario = org(40, [
      { name: "Everyone", email: "everyone@example.com", members: range(40) },
      { name: "Admins", email: "admins@example.com", members: range(40) },
    ]);
    world = await startWorld({ scenario });
    const w = world;
    expect((await w.run(["sync"])).code).toBe(0);
    scenario.google.groups[1]!.members = scenario.google.groups[1]!.members.slice(0, 10);
    w.emulators.scim.log.clear();
    const refused = await w.run(["sync"]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('this run would remove 30 group memberships of the 80 it manages, more than sync.max_membership_removals = "25%" allows (20)');
    expect(refused.stderr).toContain("--sync-max-membership-removals");
    expect(w.emulators.scim.log.writes()).toBe(0);
    expect((await w.run(["sync", "--sync-max-membership-removals", "30"])).code).toBe(0);
    expect(groupNamed(w, "Admins")!.members).toHaveLength(10);
  });

  test("a first run that adopts a group counts the members the adoption would remove", async () => {
    const scenario = org(3, [{ name: "Admins", email: "admins@example.com", members: [0, 1, 2] }]);
    scenario.scim.users = range(30).map((i) => ({
      id: `hand-${i}`,
      userName: `hand${i}@example.com`,
      displayName: `Hand ${i}`,
      name: { givenName: "Hand", familyName: String(i) },
      emails: [{ value: `hand${i}@example.com`, type: "work", primary: true }],
      active: true,
    }));
    scenario.scim.groups = [{ id: "hand-admins", displayName: "Admins", members: range(30).map((i) => `hand-${i}`) }];
    world = await startWorld({ scenario });
    const w = world;
    const run = await w.run(["sync"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('this run would remove 30 group memberships of the 33 it manages, more than sync.max_membership_removals = "25%" allows (10)');
    expect(w.emulators.scim.log.writes()).toBe(0);
  });
});

describe("settings and state that would put the rails off", () => {
  test("a lastFullReadAt in the future counts as due: the run reads the whole tenant and repairs drift", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    const w = world;
    expect((await w.run(["sync"])).code).toBe(0);
    const admins = groupNamed(w, "AWS Admins")!;
    expect((await scim(w, "PATCH", `/Groups/${admins.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "remove", path: "members", value: [{ value: admins.members[0] }] }] })).status).toBe(204);
    editState(w, (s) => {
      (s as { lastFullReadAt?: string }).lastFullReadAt = "2099-01-01T00:00:00.000Z";
    });
    const run = await w.run(["sync"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("tenant (due full read)");
    expect(groupNamed(w, "AWS Admins")!.members.sort()).toEqual([...admins.members].sort());
  });
});

describe("upsert never leaves a suspended user active", () => {
  for (const policy of ["delete", "deactivate", "ignore"] as const) {
    test(`sync.suspended_users = "${policy}"`, async () => {
      const scenario = example();
      world = await startWorld({ scenario });
      const w = world;
      const upsert = ["sync", "--sync-mode", "upsert", "--sync-suspended-users", policy];
      expect((await w.run(upsert)).code).toBe(0);
      const eun = scenario.google.users.find((u) => u.primaryEmail === "eun.kim@example.com")!;
      eun.suspended = true;
      const run = await w.run(upsert);
      expect(run.code).toBe(0);
      const user = userNamed(w, "eun.kim@example.com");
      // "ignore" means: leave as it is in AWS, whatever the mode; the two others take access away without deleting.
      expect(user?.active).toBe(policy === "ignore");
      if (policy === "delete") expect(run.stderr).toContain("upsert mode never deletes: users suspended at the source are deactivated instead");
    });
  }
});

describe("names freed and names shared", () => {
  test("a user deleted and re-made in Google with the same email is replaced in one run: the DELETE goes before the POST", async () => {
    const scenario = example();
    world = await startWorld({ scenario });
    const w = world;
    expect((await w.run(["sync"])).code).toBe(0);
    const jo = scenario.google.users.find((u) => u.primaryEmail === "jo.ng@example.com")!;
    jo.id = "100000000000000000777";
    w.emulators.scim.log.clear();
    const run = await w.run(["sync", "--reconcile"]);
    expect(run.code).toBe(0);
    const order = w.emulators.scim.log.entries.filter((e) => e.method === "DELETE" || e.method === "POST").map((e) => `${e.method} ${e.route} ${e.status}`);
    expect(order.slice(0, 2)).toEqual(["DELETE /Users/{id} 204", "POST /Users 201"]);
    expect(userNamed(w, "jo.ng@example.com")).toMatchObject({ externalId: "100000000000000000777" });
  });

  test("two Google groups with one name: one is synced, the other is a failed record naming both", async () => {
    const scenario = example();
    googleGroup(scenario, "300000000000000000009", "AWS Admins", ["kai.berg@example.com"]);
    world = await startWorld({ scenario });
    const w = world;
    for (let run = 1; run <= 2; run++) {
      const result = await w.run(["sync"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/failed: group "AWS Admins": 2 Google groups share this name \(ids \d+, \d+\); AWS group names are unique, so only \d+ is synced: rename the others in Google/);
      // No create was tried and refused: no 409 answer (stderr may hold "409" in a rate, like "google 9 (409.1/s)").
      expect(w.emulators.scim.log.entries.filter((e) => e.status === 409)).toEqual([]);
    }
    expect(w.emulators.scim.snapshot().groups.filter((g) => g.displayName === "AWS Admins")).toHaveLength(1);
  });
});
