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
});
