/**
 * @module Unit tests of the planner: one regression test per bug the property test
 * (test/property/planner.test.ts) found, each with the smallest world that shows it.
 */
import { describe, expect, test } from "bun:test";
import { apply } from "../../src/core/apply.ts";
import { plan, sendsRequest, summarisePlan, type Operation, type PlanPolicy } from "../../src/core/plan.ts";
import type { SourceSnapshot, SourceUser } from "../../src/core/ports.ts";
import { tenantFromState } from "../../src/core/state.ts";
import type { DesiredGroup, SyncState, TenantGroup, TenantSnapshot, TenantUser, UserAttributes } from "../../src/model/index.ts";
import { managedAttributesFor, STATE_SCHEMA_VERSION } from "../../src/model/index.ts";
import { TenantModel } from "../support/tenant-model.ts";

const POLICY: PlanPolicy = {
  suspendedUsers: "deactivate",
  removedUsers: "delete",
  deleteUnmanaged: false,
  mode: "sync",
  managedAttributes: managedAttributesFor([]),
  adoptGroupsByName: true,
  protectedGroups: [],
};

function attrs(name: string, extra: Partial<UserAttributes> = {}): UserAttributes {
  return { userName: `${name}@example.com`, displayName: name, givenName: name, familyName: "Test", email: `${name}@example.com`, active: true, ...extra };
}

const sourceUser = (sourceId: string, name: string, extra: Partial<SourceUser> = {}): SourceUser => ({ sourceId, attributes: attrs(name), suspended: false, ...extra });
const tenantUser = (scimId: string, name: string, extra: Partial<TenantUser> = {}): TenantUser => ({ scimId, attributes: attrs(name), ...extra });
const group = (sourceId: string, displayName: string, memberSourceIds: string[] = []): DesiredGroup => ({ sourceId, displayName, memberSourceIds });
const tenantGroup = (scimId: string, displayName: string, extra: Partial<TenantGroup> = {}): TenantGroup => ({ scimId, displayName, memberScimIds: [], ...extra });

function source(users: SourceUser[], groups: DesiredGroup[] = []): SourceSnapshot {
  return { users, groups, warnings: [] };
}

function state(users: SyncState["users"] = {}, groups: SyncState["groups"] = {}): SyncState {
  return { schemaVersion: STATE_SCHEMA_VERSION, users, groups };
}

const kinds = (ops: Operation[]) => ops.map((op) => ("why" in op ? `${op.kind}:${op.why}` : op.kind));

describe("plan: regressions found by the property test", () => {
  test("a frozen (suspended, policy ignore) managed user deleted by hand is forgotten, not kept in the state forever", () => {
    const s = state({ u1: { scimId: "gone", attributes: attrs("ana") } });
    const p = plan(source([sourceUser("u1", "ana", { suspended: true })]), { users: [], groups: [] }, s, { ...POLICY, suspendedUsers: "ignore" });
    expect(p.operations).toEqual([]);
    expect(p.bookkeeping.forgetUsers).toEqual(["u1"]);
  });

  test("a userName match never takes a user another desired user matches by externalId", () => {
    // s1 is u4's (externalId) and still carries goran's old userName; u0 is goran now.
    const tenant: TenantSnapshot = { users: [tenantUser("s1", "goran", { externalId: "u4" })], groups: [] };
    const p = plan(source([sourceUser("u0", "goran"), sourceUser("u4", "ana")]), tenant, state(), POLICY);
    const adopt = p.operations.find((op) => op.kind === "updateUser" && op.why === "adopt");
    expect(adopt).toMatchObject({ sourceId: "u4", scimId: "s1", set: { userName: "ana@example.com" } });
    expect(p.operations.filter((op) => op.kind === "createUser").map((op) => (op as { sourceId: string }).sourceId)).toEqual(["u0"]);
  });

  test("a displayName match never takes a group another desired group matches by externalId", () => {
    const tenant: TenantSnapshot = { users: [], groups: [tenantGroup("t1", "Admins", { externalId: "g9" })] };
    const p = plan(source([], [group("g1", "Admins"), group("g9", "Operators")]), tenant, state(), POLICY);
    expect(p.operations.find((op) => op.kind === "updateGroup")).toMatchObject({ sourceId: "g9", scimId: "t1", displayName: "Operators" });
    expect(p.operations.find((op) => op.kind === "createGroup")).toMatchObject({ sourceId: "g1", displayName: "Admins" });
  });

  test("AWS already holds the wanted attributes but the state does not: recorded without a request", () => {
    // A run stopped after its PATCH and before saving, or a fix made by hand.
    const s = state({ u1: { scimId: "s1", attributes: attrs("ana", { displayName: "Old Name" }) } });
    const tenant: TenantSnapshot = { users: [tenantUser("s1", "ana", { externalId: "u1" })], groups: [] };
    const p = plan(source([sourceUser("u1", "ana")]), tenant, s, POLICY);
    expect(kinds(p.operations)).toEqual(["updateUser:record"]);
    expect(sendsRequest(p.operations[0]!)).toBe(false);
    expect(summarisePlan(p).requests).toBe(0);
    expect((p.operations[0] as { attributes: UserAttributes }).attributes.displayName).toBe("ana");
    // Without it, every later run from the state would PATCH again.
    const recorded = state({ u1: { scimId: "s1", attributes: attrs("ana") } });
    expect(plan(source([sourceUser("u1", "ana")]), tenantFromState(recorded), recorded, POLICY).operations).toEqual([]);
  });

  test("a user who left the scope is already inactive in AWS but active in the state: recorded, not deactivated again", () => {
    const s = state({ u1: { scimId: "s1", attributes: attrs("ana") } });
    const tenant: TenantSnapshot = { users: [tenantUser("s1", "ana", { externalId: "u1", attributes: attrs("ana", { active: false }) })], groups: [] };
    const p = plan(source([]), tenant, s, { ...POLICY, removedUsers: "deactivate" });
    expect(kinds(p.operations)).toEqual(["updateUser:record"]);
    expect(p.operations[0]).toMatchObject({ set: {}, attributes: { active: false } });
    expect(summarisePlan(p).requests).toBe(0);
  });

  test("a managed group renamed in AWS to the wanted name while the state kept the old one: recorded without a request", () => {
    const s = state({}, { g1: { scimId: "t1", displayName: "Old", memberSourceIds: [] } });
    const tenant: TenantSnapshot = { users: [], groups: [tenantGroup("t1", "Admins", { externalId: "g1" })] };
    const p = plan(source([], [group("g1", "Admins")]), tenant, s, POLICY);
    expect(kinds(p.operations)).toEqual(["updateGroup:record"]);
    expect(p.operations[0]).toMatchObject({ desiredDisplayName: "Admins" });
    expect(summarisePlan(p).requests).toBe(0);
  });

  test("a managed group whose members in AWS are not those of the state (an adopted user already a member): the members read are recorded", () => {
    const s = state({}, { g1: { scimId: "t1", displayName: "Admins", memberSourceIds: [] } });
    const tenant: TenantSnapshot = {
      users: [tenantUser("s1", "ana")],
      groups: [tenantGroup("t1", "Admins", { externalId: "g1", memberScimIds: ["s1"] })],
    };
    const p = plan(source([sourceUser("u1", "ana")], [group("g1", "Admins", ["u1"])]), tenant, s, POLICY);
    expect(kinds(p.operations)).toEqual(["updateUser:adopt", "updateGroup:record"]);
    expect(p.operations[1]).toMatchObject({ currentMemberSourceIds: ["u1"] });
    expect(p.operations.some((op) => op.kind === "addMembers")).toBe(false);
  });

  test("from the state alone (no members read beyond it) a consistent group plans nothing", () => {
    const s = state({ u1: { scimId: "s1", attributes: attrs("ana") } }, { g1: { scimId: "t1", displayName: "Admins", memberSourceIds: ["u1"] } });
    const p = plan(source([sourceUser("u1", "ana")], [group("g1", "Admins", ["u1"])]), tenantFromState(s), s, POLICY);
    expect(p.operations).toEqual([]);
  });
});

describe("plan: managers created in the same run", () => {
  const enterprise: PlanPolicy = { ...POLICY, managedAttributes: managedAttributesFor(["enterprise"]) };
  const managed = (sourceId: string, name: string, manager?: string): SourceUser =>
    sourceUser(sourceId, name, { attributes: attrs(name, manager ? { managerSourceId: manager } : {}) });

  test("a chain of new users is created in waves, each with its manager, and needs no PATCH afterwards", () => {
    // Listed report-first on purpose: the plan must still create the manager first.
    const p = plan(source([managed("c", "carol", "b"), managed("b", "bob", "a"), managed("a", "alice")]), { users: [], groups: [] }, state(), enterprise);
    const creates = p.operations.filter((op) => op.kind === "createUser");
    expect(creates.map((op) => [op.sourceId, op.wave ?? 0, op.manager?.sourceId])).toEqual([
      ["a", 0, undefined],
      ["b", 1, "a"],
      ["c", 2, "b"],
    ]);
    expect(p.operations.filter((op) => op.kind === "updateUser")).toHaveLength(0);
    expect(summarisePlan(p).requests).toBe(3);
  });

  test("a manager loop falls back to creating without the manager and setting it afterwards", () => {
    const p = plan(source([managed("a", "alice", "b"), managed("b", "bob", "a")]), { users: [], groups: [] }, state(), enterprise);
    expect(kinds(p.operations)).toEqual(["createUser", "createUser", "updateUser:manager", "updateUser:manager"]);
  });

  test('suspended_users = "ignore": a suspended manager left as it is in AWS stays the manager of the active users it manages', () => {
    const s = state({
      a: { scimId: "s-a", attributes: attrs("alice") },
      b: { scimId: "s-b", attributes: attrs("bob", { managerSourceId: "a" }) },
    });
    const tenant: TenantSnapshot = {
      users: [tenantUser("s-a", "alice", { externalId: "a" }), tenantUser("s-b", "bob", { externalId: "b", managerScimId: "s-a" })],
      groups: [],
    };
    const p = plan(source([managed("b", "bob", "a"), { ...managed("a", "alice"), suspended: true }]), tenant, s, { ...enterprise, suspendedUsers: "ignore" });
    expect(p.operations).toEqual([]);
  });

  test("a new user whose manager exists already is created with the manager's SCIM id in the first wave", () => {
    const p = plan(source([managed("b", "bob", "a"), managed("a", "alice")]), { users: [tenantUser("s-a", "alice", { externalId: "a" })], groups: [] }, state(), enterprise);
    const create = p.operations.find((op) => op.kind === "createUser");
    expect(create).toMatchObject({ sourceId: "b", manager: { scimId: "s-a" } });
    expect(create && create.kind === "createUser" ? (create.wave ?? 0) : -1).toBe(0);
  });
});

test("a member AWS lists twice is removed once, and one wanted is neither added nor removed, however often it is listed", () => {
  const tenant: TenantSnapshot = {
    users: [tenantUser("t-u0", "ana", { externalId: "u0" }), tenantUser("t-u1", "bo", { externalId: "u1" }), tenantUser("t-u2", "cy", { externalId: "u2" })],
    groups: [tenantGroup("t-g0", "Admins", { externalId: "g0", memberScimIds: ["t-u1", "t-u0", "t-u1", "t-x", "t-x", "t-u0"] })],
  };
  const recorded = state(
    { u0: { scimId: "t-u0", attributes: attrs("ana") }, u1: { scimId: "t-u1", attributes: attrs("bo") }, u2: { scimId: "t-u2", attributes: attrs("cy") } },
    { g0: { scimId: "t-g0", displayName: "Admins", memberSourceIds: ["u0", "u1"] } },
  );
  // u1 leaves the group (not the scope), u2 joins, u0 stays; t-x is a stranger AWS lists twice.
  const users = [sourceUser("u0", "ana"), sourceUser("u1", "bo"), sourceUser("u2", "cy")];
  const p = plan(source(users, [group("g0", "Admins", ["u0", "u2"])]), tenant, recorded, POLICY);
  const members = (kind: string) => p.operations.filter((op) => op.kind === kind).flatMap((op) => ("members" in op ? op.members.map((m) => m.scimId ?? m.sourceId) : []));
  expect(members("removeMembers")).toEqual(["t-u1", "t-x"]);
  expect(members("addMembers")).toEqual(["t-u2"]);
});

// Found by the ownership property (issue #8), each fixed, with the smallest world that showed it.
describe("ownership: regressions found by the property test", () => {
  const model = (tenant: TenantSnapshot) => TenantModel.from(tenant, "t");
  const run = (p: ReturnType<typeof plan>, s: SyncState, m: TenantModel, policy: PlanPolicy) =>
    apply(p, s, { target: m.target(), concurrency: 1, managedAttributes: policy.managedAttributes, adoptGroupsByName: policy.adoptGroupsByName, protectedGroups: policy.protectedGroups });

  test("a disowned record of a frozen user does not keep the resource it names in a managed group", () => {
    // u0 is blocked (hana's AWS user carries another source's externalId u1); a tampered state
    // record says u0 is t-u0. t-u0 is not ours and not a member in Google: the managed group g0
    // must drop it now, as it does without the tampered record (and as the next run does).
    const tenant: TenantSnapshot = {
      users: [tenantUser("t-u0", "hana", { externalId: "u1" })],
      groups: [tenantGroup("t-g0", "Admins", { externalId: "g0", memberScimIds: ["t-u0"] })],
    };
    const tampered = state({ u0: { scimId: "t-u0", attributes: attrs("hana") } }, { g0: { scimId: "t-g0", displayName: "Admins", memberSourceIds: [] } });
    const p = plan(source([sourceUser("u0", "hana")], [group("g0", "Admins")]), tenant, tampered, POLICY);
    expect(p.bookkeeping.forgetUsers).toEqual(["u0"]);
    expect(p.operations).toContainEqual(expect.objectContaining({ kind: "removeMembers", groupSourceId: "g0", members: [{ scimId: "t-u0" }] }));
  });

  test("an early delete of a member is not recorded back into the group by an updateGroup that runs after it", async () => {
    // u1 (managed) left the scope; new u0 takes its email, so u1's delete runs early (phase 0).
    // Group "Developers" is adopted by name in phase 3 and records the members read, u1 among them.
    const tenant: TenantSnapshot = {
      users: [tenantUser("t-u0", "bo", { externalId: "u1" })],
      groups: [tenantGroup("t-g0", "Developers", { memberScimIds: ["t-u0"] })],
    };
    const s = state({ u1: { scimId: "t-u0", attributes: attrs("bo") } });
    const p = plan(source([sourceUser("u0", "bo")], [group("g0", "Developers")]), tenant, s, POLICY);
    expect(p.operations[0]).toMatchObject({ kind: "deleteUser", sourceId: "u1", early: true });
    const m = model(tenant);
    const result = await run(p, s, m, POLICY);
    expect(m.groups.get("t-g0")?.members.size).toBe(0);
    expect(result.state.groups.g0?.memberSourceIds).toEqual([]); // fails: ["u1"], a user the same run deleted
  });

  test("of Google groups sharing a name, the one whose state record is confirmed is synced, not one with a tampered record", () => {
    // g3 manages t-g0 (externalId g3); a tampered record says g0 is t-g0 too. g0 wins on that
    // record, which this run forgets: the next run syncs g3 instead (and renames t-g0).
    const tenant: TenantSnapshot = { users: [], groups: [tenantGroup("t-g0", "Admins", { externalId: "g3" })] };
    const s = state({}, { g3: { scimId: "t-g0", displayName: "Admins", memberSourceIds: [] }, g0: { scimId: "t-g0", displayName: "Admins", memberSourceIds: [] } });
    const p = plan(source([], [group("g0", "Ops"), group("g3", "Ops")]), tenant, s, POLICY);
    expect(p.bookkeeping.forgetGroups).toEqual(["g0"]);
    expect(p.rejected.map((r) => r.sourceId)).toEqual(["g0"]); // fails: ["g3"]
    expect(p.operations).toContainEqual(expect.objectContaining({ kind: "updateGroup", sourceId: "g3", displayName: "Ops" }));
  });

  test("a create that meets 409 never adopts a protected group, even one carrying our externalId (apply.ts)", async () => {
    // From the state alone the run plans g0's create again (its name is held by an unmanaged
    // group, adoption by name is off); the 409 lookup by externalId finds a Control Tower group
    // that carries g0 and adopts it, adding u0 to it.
    const policy: PlanPolicy = { ...POLICY, adoptGroupsByName: false, protectedGroups: ["AWSControlTower*"] };
    const tenant: TenantSnapshot = {
      users: [tenantUser("t-u0", "ana", { externalId: "u0" })],
      groups: [tenantGroup("t-ct", "AWSControlTowerAdmins", { externalId: "g0" }), tenantGroup("t-ops", "Operators")],
    };
    const s = state({ u0: { scimId: "t-u0", attributes: attrs("ana") } });
    const src = source([sourceUser("u0", "ana")], [group("g0", "Operators", ["u0"])]);
    expect(plan(src, tenant, s, policy).rejected.map((r) => r.sourceId)).toEqual(["g0"]);
    const fromState = plan(src, tenantFromState(s), s, policy);
    expect(kinds(fromState.operations)).toEqual(["createGroup"]);
    const m = model(tenant);
    const result = await run(fromState, s, m, policy);
    expect(m.groups.get("t-ct")?.members.size).toBe(0); // fails: t-u0 was added to the protected group
    expect(result.state.groups.g0).toBeUndefined();
    expect(result.failed).toHaveLength(1);
  });
});

// SourceUser.formerId (ldap.rekey_users_from): AWS's Active Directory sample keys users by SID.
describe("re-keying: a user another tool keyed by an id the source reads too", () => {
  const SID = "S-1-5-21-1004336348-1177238915-682003330-1104";
  const model = (tenant: TenantSnapshot) => TenantModel.from(tenant, "t");
  const run = (p: ReturnType<typeof plan>, s: SyncState, m: TenantModel) =>
    apply(p, s, { target: m.target(), concurrency: 1, managedAttributes: POLICY.managedAttributes, adoptGroupsByName: true, protectedGroups: [] });

  test("the AWS user carrying the former id is adopted in place and given the source id; without the former id it is a failed record naming the setting", async () => {
    const tenant: TenantSnapshot = { users: [tenantUser("t-ana", "ana", { externalId: SID, attributes: attrs("ana", { displayName: "Ana (old)" }) })], groups: [] };
    const rekeyed = plan(source([sourceUser("guid-ana", "ana", { formerId: SID })]), tenant, state(), POLICY);
    expect(updatesOf(rekeyed)).toEqual([{ kind: "updateUser", why: "adopt", scimId: "t-ana", externalId: "guid-ana", set: { displayName: "ana" } }]);
    expect(rekeyed.rejected).toEqual([]);
    const m = model(tenant);
    const result = await run(rekeyed, state(), m);
    expect(m.users.get("t-ana")?.externalId).toBe("guid-ana");
    expect(result.state.users["guid-ana"]?.scimId).toBe("t-ana");
    // The next plan from that state: the user is ours by rule 1, nothing to do.
    expect(plan(source([sourceUser("guid-ana", "ana", { formerId: SID })]), m.snapshot(), result.state, POLICY).operations).toEqual([]);

    const refused = plan(source([sourceUser("guid-ana", "ana")]), tenant, state(), POLICY);
    expect(refused.operations).toEqual([]);
    expect(refused.rejected.map((r) => r.reason)).toEqual([
      `AWS user "ana@example.com" (t-ana) carries externalId "${SID}", set by another tool or source: idpscim never takes it over; delete it in AWS, or clear its externalId to let idpscim adopt it` +
        ' (a Windows SID: if AWS\'s Active Directory sample made this user, ldap.rekey_users_from = "objectSid" takes over each user whose objectSid it is)',
    ]);
  });

  test("a former id never takes a user another desired user matches by its source id, nor one the state confirms", () => {
    // t1 carries u2 as its externalId: u2's by rule 2, though u1 names u2 as its former id.
    const tenant: TenantSnapshot = { users: [tenantUser("t1", "ana", { externalId: "u2" }), tenantUser("t2", "bo", { externalId: "u3" })], groups: [] };
    const s = state({ u3: { scimId: "t2", attributes: attrs("bo") } });
    const src = source([sourceUser("u1", "cy", { formerId: "u2" }), sourceUser("u2", "ana"), sourceUser("u3", "bo"), sourceUser("u4", "di", { formerId: "u3" })]);
    const planned = plan(src, tenant, s, POLICY);
    expect(planned.operations.filter((op) => op.kind === "createUser").map((op) => (op as { sourceId: string }).sourceId).sort()).toEqual(["u1", "u4"]);
    expect(planned.operations.filter((op) => op.kind === "updateUser").map((op) => [op.sourceId, (op as { scimId?: string }).scimId])).toEqual([["u2", "t1"]]);
  });

  test("a create planned from the state that meets 409 takes over the user carrying its former id and re-keys it (apply.ts)", async () => {
    // A run that trusts the state sees no tenant user for guid-ana and plans a create; AWS holds the sample's user.
    const tenant: TenantSnapshot = { users: [tenantUser("t-ana", "ana", { externalId: SID })], groups: [] };
    const fromState = plan(source([sourceUser("guid-ana", "ana", { formerId: SID })]), tenantFromState(state()), state(), POLICY);
    expect(fromState.operations).toEqual([{ kind: "createUser", sourceId: "guid-ana", formerId: SID, attributes: attrs("ana") }]);
    const m = model(tenant);
    const result = await run(fromState, state(), m);
    expect(result.failed).toEqual([]);
    expect(m.users.size).toBe(1);
    expect(m.users.get("t-ana")?.externalId).toBe("guid-ana");
    expect(result.state.users["guid-ana"]?.scimId).toBe("t-ana");
  });
});

/** A plan's operations, updates with what their request carries. */
function updatesOf(planned: ReturnType<typeof plan>) {
  return planned.operations.map((op) =>
    op.kind === "updateUser" ? { kind: op.kind, why: op.why, scimId: op.scimId, externalId: op.externalId, set: op.set } : { kind: op.kind },
  );
}

describe("plan: memory at 200,000 users (issue 11)", () => {
  test("a user named by many groups is one reference, shared by every operation that names it", () => {
    const users = [sourceUser("u1", "ana"), sourceUser("u2", "ben")];
    const created = plan(source(users, [group("g1", "One", ["u1", "u2"]), group("g2", "Two", ["u1"])]), { users: [], groups: [] }, state(), POLICY);
    const members = created.operations.flatMap((op) => (op.kind === "createGroup" ? [op.members] : []));
    expect(members).toHaveLength(2);
    expect(members[0]![0]).toEqual({ sourceId: "u1" });
    expect(members[1]![0]).toBe(members[0]![0]!);
    const recorded = state({ u1: { scimId: "s1", attributes: attrs("ana") }, u2: { scimId: "s2", attributes: attrs("ben") } }, {
      g1: { scimId: "G1", displayName: "One", memberSourceIds: [] },
      g2: { scimId: "G2", displayName: "Two", memberSourceIds: [] },
    });
    const added = plan(source(users, [group("g1", "One", ["u1", "u2"]), group("g2", "Two", ["u1"])]), tenantFromState(recorded), recorded, POLICY);
    const adds = added.operations.flatMap((op) => (op.kind === "addMembers" ? [op.members] : []));
    expect(adds).toHaveLength(2);
    expect(adds[0]![0]).toEqual({ scimId: "s1", sourceId: "u1" });
    expect(adds[1]![0]).toBe(adds[0]![0]!);
  });
});

describe("plan: a group compared by walking its record (a tenant made from the state)", () => {
  const users = { u1: { scimId: "s1", attributes: attrs("ana") }, u2: { scimId: "s2", attributes: attrs("bo") }, u3: { scimId: "s3", attributes: attrs("cy") } };
  const recorded = state(users, { g: { scimId: "sg", displayName: "G", memberSourceIds: ["u1", "u2", "u3"] } });
  // The same tenant in copied lists: no link to the record (membersOfRecord), compared member by member.
  const unlinked = (t: TenantSnapshot): TenantSnapshot => ({ users: t.users, groups: t.groups.map((g) => ({ ...g, memberScimIds: [...g.memberScimIds!] })) });

  test("a member the plan deletes leaves the group: the record is stale, no remove is sent; a member left out is removed, a new one added", () => {
    // u2 left the source (deleted), u3 left the group, u4 is new.
    const src = source([sourceUser("u1", "ana"), sourceUser("u3", "cy"), sourceUser("u4", "di")], [group("g", "G", ["u1", "u4"])]);
    const tenant = tenantFromState(recorded);
    const p = plan(src, tenant, recorded, POLICY);
    expect(kinds(p.operations)).toEqual(["createUser", "updateGroup:record", "addMembers", "removeMembers", "deleteUser:left-scope"]);
    expect(p.operations.find((op) => op.kind === "updateGroup")).toMatchObject({ currentMemberSourceIds: ["u1", "u3"] });
    expect(p.operations.find((op) => op.kind === "removeMembers")).toMatchObject({ members: [{ scimId: "s3", sourceId: "u3" }] });
    expect(p.operations.find((op) => op.kind === "addMembers")).toMatchObject({ members: [{ sourceId: "u4" }] });
    expect(p).toEqual(plan(src, unlinked(tenant), recorded, POLICY));
  });

  test("a frozen member (suspended, policy ignore) stays in the group; a source list out of order is compared member by member, with the same plan", () => {
    const src = source([sourceUser("u1", "ana"), sourceUser("u2", "bo", { suspended: true }), sourceUser("u3", "cy")], [group("g", "G", ["u3", "u1"])]);
    const policy = { ...POLICY, suspendedUsers: "ignore" as const };
    const tenant = tenantFromState(recorded);
    const p = plan(src, tenant, recorded, policy);
    expect(p.operations).toEqual([]);
    expect(p).toEqual(plan(src, unlinked(tenant), recorded, policy));
    const sorted = source(src.users, [group("g", "G", ["u1", "u3"])]);
    expect(plan(sorted, tenant, recorded, policy)).toEqual(p);
  });
});
