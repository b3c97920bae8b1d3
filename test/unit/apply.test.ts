/**
 * @module Unit tests of the executor's one adopt-after-409 routine, for users and groups: a create
 * that meets the resource holding its name adopts it under the planner's ownership rule, or fails
 * the record with the planner's reason.
 */
import { describe, expect, test } from "bun:test";
import { apply, type ApplyOptions } from "../../src/core/apply.ts";
import type { Operation, Plan } from "../../src/core/plan.ts";
import type { SyncState, TenantSnapshot, UserAttributes } from "../../src/model/index.ts";
import { managedAttributesFor, STATE_SCHEMA_VERSION } from "../../src/model/index.ts";
import { TenantModel } from "../support/tenant-model.ts";

const attrs = (name: string): UserAttributes => ({ userName: `${name}@example.com`, displayName: name, givenName: name, familyName: "Test", email: `${name}@example.com`, active: true });

const planOf = (operations: Operation[]): Plan => ({
  operations,
  bookkeeping: { forgetUsers: [], forgetGroups: [] },
  warnings: [],
  rejected: [],
  managed: { users: 0, groups: 0, memberships: 0 },
});

const emptyState = (users: SyncState["users"] = {}): SyncState => ({ schemaVersion: STATE_SCHEMA_VERSION, users, groups: {} });

async function run(tenant: TenantSnapshot, operations: Operation[], state = emptyState(), options: Partial<ApplyOptions> = {}) {
  const model = TenantModel.from(tenant, "t");
  const result = await apply(planOf(operations), state, {
    target: model.target(),
    concurrency: 1,
    managedAttributes: managedAttributesFor([]),
    adoptGroupsByName: false,
    protectedGroups: [],
    ...options,
  });
  return { model, result };
}

const createAna: Operation = { kind: "createUser", sourceId: "u1", attributes: attrs("ana") };

describe("apply: a user create that meets 409", () => {
  test("a user nobody marked as theirs is adopted: its externalId is set, and it counts", async () => {
    const { model, result } = await run({ users: [{ scimId: "t1", attributes: attrs("ana") }], groups: [] }, [createAna]);
    expect(result.failed).toEqual([]);
    expect(result.adoptedOnConflict).toBe(1);
    expect(result.state.users.u1?.scimId).toBe("t1");
    expect(model.users.get("t1")?.externalId).toBe("u1");
  });

  test("one carrying another externalId is never taken over: the planner's reason", async () => {
    const { model, result } = await run({ users: [{ scimId: "t1", externalId: "other", attributes: attrs("ana") }], groups: [] }, [createAna]);
    expect(result.adoptedOnConflict).toBe(0);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]!.reason).toContain('AWS user "ana@example.com" (t1) carries externalId "other", set by another tool or source');
    expect(result.state.users.u1).toBeUndefined();
    expect(model.users.get("t1")?.externalId).toBe("other");
  });

  test("one the state records as another user's: the 409 itself is the reason", async () => {
    const recorded = emptyState({ u9: { scimId: "t1", attributes: attrs("ana") } });
    const { result } = await run({ users: [{ scimId: "t1", externalId: "u9", attributes: attrs("ana") }], groups: [] }, [createAna], recorded);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]!.reason).toContain("conflicts with t1");
    expect(result.state.users.u1).toBeUndefined();
  });
});

describe("apply: a group create that meets 409", () => {
  const createAdmins: Operation = { kind: "createGroup", sourceId: "g1", displayName: "Admins", members: [{ scimId: "t-u" }] };
  const tenant = (externalId?: string): TenantSnapshot => ({
    users: [{ scimId: "t-u", externalId: "u1", attributes: attrs("ana") }],
    groups: [{ scimId: "t-g", displayName: "Admins", ...(externalId !== undefined ? { externalId } : {}) }],
  });

  test("adoption by name off: not taken over, with the planner's reason naming sync.adopt_groups", async () => {
    const { model, result } = await run(tenant(), [createAdmins]);
    expect(result.failed[0]?.reason).toContain("does not manage it: it is not taken over, because sync.adopt_groups");
    expect(model.groups.get("t-g")?.externalId).toBeUndefined();
  });

  test("adoption by name on: adopted, its externalId set and the members added", async () => {
    const { model, result } = await run(tenant(), [createAdmins], emptyState(), { adoptGroupsByName: true });
    expect(result.failed).toEqual([]);
    expect(result.adoptedOnConflict).toBe(1);
    expect(result.state.groups.g1).toMatchObject({ scimId: "t-g", displayName: "Admins" });
    expect(model.groups.get("t-g")?.externalId).toBe("g1");
    expect([...(model.groups.get("t-g")?.members ?? [])]).toEqual(["t-u"]);
  });

  test("ours by externalId (a retried POST): adopted whatever the adoption setting", async () => {
    const { result } = await run(tenant("g1"), [createAdmins]);
    expect(result.failed).toEqual([]);
    expect(result.adoptedOnConflict).toBe(1);
  });

  test("a protected name is never taken over, even carrying our externalId", async () => {
    const { model, result } = await run(tenant("g1"), [createAdmins], emptyState(), { adoptGroupsByName: true, protectedGroups: ["adm*"] });
    expect(result.failed[0]?.reason).toContain('AWS group "Admins" (t-g) has a protected name (sync.protected_groups)');
    expect(result.adoptedOnConflict).toBe(0);
    expect(model.groups.get("t-g")?.members.size).toBe(0);
  });

  test("another externalId: never taken over", async () => {
    const { result } = await run(tenant("g7"), [createAdmins], emptyState(), { adoptGroupsByName: true });
    expect(result.failed[0]?.reason).toContain('carries externalId "g7", set by another tool or source');
  });
});

describe("apply: memory at 200,000 users (issue 11)", () => {
  test("a user created without a manager is recorded with the plan's attributes object, not a copy of it", async () => {
    const { result } = await run({ users: [], groups: [] }, [createAna]);
    expect(result.state.users.u1!.attributes).toBe((createAna as Extract<Operation, { kind: "createUser" }>).attributes);
  });
  test("one whose manager could not be named is recorded without it", async () => {
    const op: Operation = { kind: "createUser", sourceId: "u2", attributes: { ...attrs("ben"), managerSourceId: "u9" }, manager: { sourceId: "u9" } };
    const { result } = await run({ users: [], groups: [] }, [op]);
    expect(result.state.users.u2!.attributes).toEqual(attrs("ben"));
  });
});
