/**
 * @module Unit tests of the planner: one regression test per bug the property test
 * (test/property/planner.test.ts) found, each with the smallest world that shows it.
 */
import { describe, expect, test } from "bun:test";
import { plan, requestsFor, summarisePlan, type Operation, type PlanPolicy } from "../../src/core/plan.ts";
import type { SourceSnapshot, SourceUser } from "../../src/core/ports.ts";
import { tenantFromState } from "../../src/core/state.ts";
import { managedAttributesFor } from "../../src/core/sync.ts";
import type { DesiredGroup, SyncState, TenantGroup, TenantSnapshot, TenantUser, UserAttributes } from "../../src/model/index.ts";
import { STATE_SCHEMA_VERSION } from "../../src/model/index.ts";

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
    const s = state({ u1: { scimId: "gone", hash: "", attributes: attrs("ana") } });
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
    const s = state({ u1: { scimId: "s1", hash: "", attributes: attrs("ana", { displayName: "Old Name" }) } });
    const tenant: TenantSnapshot = { users: [tenantUser("s1", "ana", { externalId: "u1" })], groups: [] };
    const p = plan(source([sourceUser("u1", "ana")]), tenant, s, POLICY);
    expect(kinds(p.operations)).toEqual(["updateUser:record"]);
    expect(requestsFor(p.operations[0]!)).toBe(0);
    expect(summarisePlan(p).requests).toBe(0);
    expect((p.operations[0] as { attributes: UserAttributes }).attributes.displayName).toBe("ana");
    // Without it, every later run from the state would PATCH again.
    const recorded = state({ u1: { scimId: "s1", hash: "", attributes: attrs("ana") } });
    expect(plan(source([sourceUser("u1", "ana")]), tenantFromState(recorded), recorded, POLICY).operations).toEqual([]);
  });

  test("a user who left the scope is already inactive in AWS but active in the state: recorded, not deactivated again", () => {
    const s = state({ u1: { scimId: "s1", hash: "", attributes: attrs("ana") } });
    const tenant: TenantSnapshot = { users: [tenantUser("s1", "ana", { externalId: "u1", attributes: attrs("ana", { active: false }) })], groups: [] };
    const p = plan(source([]), tenant, s, { ...POLICY, removedUsers: "deactivate" });
    expect(kinds(p.operations)).toEqual(["updateUser:record"]);
    expect(p.operations[0]).toMatchObject({ set: {}, attributes: { active: false } });
    expect(summarisePlan(p).requests).toBe(0);
  });

  test("a managed group renamed in AWS to the wanted name while the state kept the old one: recorded without a request", () => {
    const s = state({}, { g1: { scimId: "t1", hash: "", displayName: "Old", memberSourceIds: [] } });
    const tenant: TenantSnapshot = { users: [], groups: [tenantGroup("t1", "Admins", { externalId: "g1" })] };
    const p = plan(source([], [group("g1", "Admins")]), tenant, s, POLICY);
    expect(kinds(p.operations)).toEqual(["updateGroup:record"]);
    expect(p.operations[0]).toMatchObject({ desiredDisplayName: "Admins" });
    expect(summarisePlan(p).requests).toBe(0);
  });

  test("a managed group whose members in AWS are not those of the state (an adopted user already a member): the members read are recorded", () => {
    const s = state({}, { g1: { scimId: "t1", hash: "", displayName: "Admins", memberSourceIds: [] } });
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
    const s = state({ u1: { scimId: "s1", hash: "", attributes: attrs("ana") } }, { g1: { scimId: "t1", hash: "", displayName: "Admins", memberSourceIds: ["u1"] } });
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

  test("a new user whose manager exists already is created with the manager's SCIM id in the first wave", () => {
    const p = plan(source([managed("b", "bob", "a"), managed("a", "alice")]), { users: [tenantUser("s-a", "alice", { externalId: "a" })], groups: [] }, state(), enterprise);
    const create = p.operations.find((op) => op.kind === "createUser");
    expect(create).toMatchObject({ sourceId: "b", manager: { scimId: "s-a" } });
    expect(create && create.kind === "createUser" ? (create.wave ?? 0) : -1).toBe(0);
  });
});
