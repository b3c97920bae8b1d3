/**
 * @module The head start's pure parts (src/core/head-start.ts): what a cut run records as left
 * to create, when the next run takes a head start, and which creates it makes from fresh records.
 */
import { describe, expect, test } from "bun:test";
import { headStartIds, headStartPlan, pendingUserCreates } from "../../src/core/head-start.ts";
import type { Operation, PlanPolicy } from "../../src/core/plan.ts";
import type { SourceUser } from "../../src/core/ports.ts";
import { managedGroup, managedUser } from "../../src/core/state.ts";
import { emptyState, managedAttributesFor, type SyncState, type UserAttributes } from "../../src/model/index.ts";

const POLICY: PlanPolicy = {
  suspendedUsers: "deactivate",
  removedUsers: "delete",
  deleteUnmanaged: false,
  mode: "sync",
  managedAttributes: managedAttributesFor(["enterprise"]),
  adoptGroupsByName: false,
  protectedGroups: [],
};

const attrs = (name: string, extra: Partial<UserAttributes> = {}): UserAttributes => ({
  userName: `${name}@example.com`, displayName: name, givenName: name, familyName: "T", email: `${name}@example.com`, active: true, ...extra,
});
const user = (sourceId: string, name: string, extra: Partial<SourceUser> = {}): SourceUser => ({ sourceId, attributes: attrs(name), suspended: false, ...extra });

/** The last run made ana (u1) and the group; it left bo (u2), cy (u3) and dee (u4) to create. */
function cutState(): SyncState {
  const state = emptyState();
  state.users.u1 = managedUser("s1", attrs("ana"));
  state.groups.g1 = managedGroup("sg1", "Admins", ["u1"]);
  state.pendingUserCreates = ["u2", "u3", "u4"];
  return state;
}

const created = (ops: readonly Operation[]) => ops.map((op) => (op.kind === "createUser" ? op.sourceId : `${op.kind}!`));

describe("pendingUserCreates", () => {
  test("the user creates not started, sorted; undefined when none", () => {
    const ops: Operation[] = [
      { kind: "createUser", sourceId: "u9", attributes: attrs("z") },
      { kind: "createGroup", sourceId: "g9", displayName: "G", members: [] },
      { kind: "createUser", sourceId: "u3", attributes: attrs("c") },
    ];
    expect(pendingUserCreates(ops)).toEqual(["u3", "u9"]);
    expect(pendingUserCreates(ops.slice(1, 2))).toBeUndefined();
  });
});

describe("headStartIds", () => {
  test("the state's users and the pending ones, when some pending user is not in the state yet", () => {
    expect([...headStartIds(cutState())!].sort()).toEqual(["u1", "u2", "u3", "u4"]);
    const done = cutState();
    done.pendingUserCreates = ["u1"]; // created since (a checkpoint saved it): nothing left
    expect(headStartIds(done)).toBeUndefined();
    expect(headStartIds(emptyState())).toBeUndefined();
  });
});

describe("headStartPlan", () => {
  test("creates the pending users the fresh read holds, as the planner would: none the read lacks, none already made", () => {
    const plan = headStartPlan([user("u1", "ana"), user("u2", "bo"), user("u3", "cy")], cutState(), POLICY);
    expect(created(plan.operations)).toEqual(["u2", "u3"]); // u4 deleted in the source since; u1 exists
    expect(plan.operations[0]).toMatchObject({ kind: "createUser", sourceId: "u2", attributes: attrs("bo") });
    // Nothing else: the group the read lacks is not deleted, ana left alone.
    expect(plan.bookkeeping).toEqual({ forgetUsers: [], forgetGroups: [] });
  });

  test("a user suspended since follows sync.suspended_users: created inactive under deactivate, not created under delete or ignore, never active", () => {
    const users = [user("u1", "ana"), user("u2", "bo", { suspended: true }), user("u3", "cy")];
    const deactivate = headStartPlan(users, cutState(), POLICY).operations;
    expect(deactivate.find((op) => op.kind === "createUser" && op.sourceId === "u2")).toMatchObject({ attributes: { active: false } });
    for (const suspendedUsers of ["delete", "ignore"] as const) expect(created(headStartPlan(users, cutState(), { ...POLICY, suspendedUsers }).operations)).toEqual(["u3"]);
  });

  test("managers: one already made is named by its SCIM id; one made here comes a wave before its report", () => {
    const users = [
      user("u1", "ana"),
      user("u2", "bo", { attributes: attrs("bo", { managerSourceId: "u1" }) }),
      user("u3", "cy", { attributes: attrs("cy", { managerSourceId: "u4" }) }),
      user("u4", "dee"),
    ];
    const ops = headStartPlan(users, cutState(), POLICY).operations;
    expect(created(ops)).toEqual(["u2", "u4", "u3"]);
    expect(ops[0]).toMatchObject({ manager: { scimId: "s1", sourceId: "u1" } });
    expect(ops[2]).toMatchObject({ manager: { sourceId: "u4" }, wave: 1 });
  });

  test("a create whose name a managed user holds (deleted and re-made in the source) is left to the full plan, which frees the name first", () => {
    const state = cutState();
    state.pendingUserCreates = ["u2", "u5"];
    // ana's account was deleted in Google and made again: a new id (u5), the same email.
    const ops = headStartPlan([user("u2", "bo"), user("u5", "ana")], state, POLICY).operations;
    expect(created(ops)).toEqual(["u2"]);
  });

  test("a user AWS would refuse is not created (the full plan reports it)", () => {
    const ops = headStartPlan([user("u1", "ana"), user("u2", "bo", { attributes: attrs("bo", { userName: "has space@example.com" }) }), user("u3", "cy")], cutState(), POLICY).operations;
    expect(created(ops)).toEqual(["u3"]);
  });
});
