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
});
