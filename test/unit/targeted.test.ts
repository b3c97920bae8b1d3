/**
 * @module Unit tests of sync on demand's pure rules (src/core/targeted.ts): which names become
 * targets, the source the planner is given, and the plan cut down to the targets.
 */
import { describe, expect, test } from "bun:test";
import { SyncError } from "../../src/core/errors.ts";
import { plan, type Operation, type PlanPolicy } from "../../src/core/plan.ts";
import type { SourceSnapshot, SourceUser, TargetedRead } from "../../src/core/ports.ts";
import { tenantFromState } from "../../src/core/state.ts";
import { explainNameClashes, knownRecords, resolveTargets, restrictPlan, targetedSource, targetsFromSnapshot, type TargetScope } from "../../src/core/targeted.ts";
import type { SyncState, UserAttributes } from "../../src/model/index.ts";
import { managedAttributesFor, STATE_SCHEMA_VERSION } from "../../src/model/index.ts";

const POLICY: PlanPolicy = {
  suspendedUsers: "deactivate",
  removedUsers: "delete",
  deleteUnmanaged: true,
  mode: "sync",
  managedAttributes: managedAttributesFor([]),
  adoptGroupsByName: true,
  protectedGroups: [],
};

function attrs(name: string, extra: Partial<UserAttributes> = {}): UserAttributes {
  return { userName: `${name}@example.com`, displayName: name, givenName: name, familyName: "Test", email: `${name}@example.com`, active: true, ...extra };
}

const sourceUser = (sourceId: string, name: string, extra: Partial<UserAttributes> = {}): SourceUser => ({ sourceId, attributes: attrs(name, extra), suspended: false });

/** Ana (u1), Bo (u2) and Cy (u3); G1 holds Ana and Bo, G2 Bo and Cy. */
function world(): SyncState {
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    lastFullReadAt: "2026-01-01T00:00:00Z",
    users: { u1: { scimId: "s1", attributes: attrs("ana") }, u2: { scimId: "s2", attributes: attrs("bo") }, u3: { scimId: "s3", attributes: attrs("cy") } },
    groups: {
      g1: { scimId: "sg1", displayName: "G1", memberSourceIds: ["u1", "u2"] },
      g2: { scimId: "sg2", displayName: "G2", memberSourceIds: ["u2", "u3"] },
    },
  };
}

const read = (snapshot: Partial<SourceSnapshot>, answers: Partial<TargetedRead> = {}): TargetedRead => ({
  users: [],
  groups: [],
  ...answers,
  snapshot: { users: [], groups: [], warnings: [], ...snapshot },
});

const describeOps = (ops: readonly Operation[]) =>
  ops.map((op) =>
    op.kind === "addMembers" || op.kind === "removeMembers"
      ? `${op.kind} ${op.groupSourceId} ${op.members.map((m) => m.sourceId).join(",")}`
      : `${op.kind} ${"sourceId" in op ? op.sourceId : ""}`,
  );

describe("resolveTargets", () => {
  test("names the source lacks and the state does not manage are one problem line, naming each", () => {
    const answers = read({}, {
      users: [{ asked: "nobody@example.com", inScope: false, note: "is not a user" }],
      groups: [{ asked: "Nope", sourceId: "g9", inScope: false, note: "is not selected" }],
    });
    let thrown: unknown;
    try {
      resolveTargets(answers, world());
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SyncError);
    expect((thrown as SyncError).code).toBe("TARGET_UNKNOWN");
    expect((thrown as SyncError).message).toBe('nothing to sync on demand: user "nobody@example.com" is not a user; group "Nope" is not selected');
    expect((thrown as SyncError).exitCode).toBe(2);
  });

  test("a managed user gone from the source (by email) and a managed group out of scope are named, to be removed", () => {
    const scope = resolveTargets(
      read({}, { users: [{ asked: "CY@example.com", inScope: false }], groups: [{ asked: "G1", sourceId: "g1", inScope: false }] }),
      world(),
    );
    expect([...scope.namedUsers]).toEqual(["u3"]);
    expect([...scope.users]).toEqual([]);
    expect([...scope.namedGroups]).toEqual(["g1"]);
    // G2 records Cy: Cy's membership there is the run's to change.
    expect([...scope.groups]).toEqual(["g2"]);
  });
});

describe("targetsFromSnapshot (a source without a targeted read)", () => {
  test("a name now held by another group is that group; the state's group of that name is not taken for gone (property test counterexample)", () => {
    const state = world();
    // G1 was renamed "G2", and G2 renamed "G3": "G2" names the former G1 now.
    const full: SourceSnapshot = {
      users: [],
      groups: [
        { sourceId: "g1", displayName: "G2", memberSourceIds: [] },
        { sourceId: "g2", displayName: "G3", memberSourceIds: [] },
      ],
      warnings: [],
    };
    const answers = targetsFromSnapshot(full, { users: [], groups: ["G2"] }, knownRecords(state));
    expect(answers.groups).toEqual([{ asked: "G2", sourceId: "g1", inScope: true }]);
    expect([...resolveTargets(answers, state).namedGroups]).toEqual(["g1"]);
  });

  test("a user named by the email the state knows is found by its id when its email changed", () => {
    const state = world();
    const full: SourceSnapshot = { users: [sourceUser("u1", "ana.souza")], groups: [], warnings: [] };
    expect(targetsFromSnapshot(full, { users: ["ana@example.com"], groups: [] }, knownRecords(state)).users).toEqual([{ asked: "ana@example.com", sourceId: "u1", inScope: true }]);
  });

  test("a name several groups share is a problem, and the state's group of that name is not removed", () => {
    const state = world();
    const answers = read({}, { groups: [{ asked: "G1", inScope: false, several: true, note: "is the name of several groups" }] });
    expect(() => resolveTargets(answers, state)).toThrow('group "G1" is the name of several groups');
  });
});

describe("a targeted plan", () => {
  test("for a named user: its record and its memberships only, the others' left as the state holds them", () => {
    const state = world();
    // Ana changed title and moved from G1 to G2. Bo changed too, but is not named.
    const answers = read(
      { users: [sourceUser("u1", "ana", { familyName: "Lead" })], groups: [{ sourceId: "g2", displayName: "G2", memberSourceIds: ["u1"] }] },
      { users: [{ asked: "ana@example.com", sourceId: "u1", inScope: true }] },
    );
    const scope = resolveTargets(answers, state);
    const source = targetedSource(answers.snapshot, scope, state);
    const planned = restrictPlan(plan(source, tenantFromState(state), state, POLICY), scope);
    expect(describeOps(planned.operations)).toEqual(["updateUser u1", "addMembers g2 u1", "removeMembers g1 u1"]);
    // G2 keeps Bo and Cy as the state records them (the read knew only Ana's membership).
    expect(source.groups.find((g) => g.sourceId === "g2")!.memberSourceIds).toEqual(["u1", "u2", "u3"]);
  });

  test("whatever the full plan holds for other records is dropped: their updates, deletes, member changes and bookkeeping", () => {
    const state = world();
    const scope: TargetScope = { users: new Set(["u1"]), namedUsers: new Set(["u1"]), groups: new Set(["g1"]), namedGroups: new Set() };
    // A source in which Bo changed, Cy is gone, G2 is gone, and Ana left G1 with Bo.
    const full = plan(
      { users: [sourceUser("u1", "ana"), sourceUser("u2", "bo", { familyName: "New" })], groups: [{ sourceId: "g1", displayName: "G1", memberSourceIds: [] }], warnings: [] },
      { ...tenantFromState(state), users: [...tenantFromState(state).users, { scimId: "x9", attributes: attrs("stranger") }] },
      state,
      POLICY,
    );
    const all = describeOps(full.operations);
    for (const op of ["updateUser u2", "deleteUser u3", "deleteGroup g2", "removeMembers g1 u1,u2", "deleteUser "]) expect(all).toContain(op);
    const restricted = restrictPlan(full, scope);
    expect(describeOps(restricted.operations)).toEqual(["removeMembers g1 u1"]);
  });

  test("a group read whose name a managed group not read holds: a failed record saying so, the holder untouched", () => {
    const state = world();
    // Google: a new group g5 named "G1" holds Ana (G1, g1, was renamed or deleted: this run does not know).
    const answers = read(
      { users: [sourceUser("u1", "ana")], groups: [{ sourceId: "g5", displayName: "G1", memberSourceIds: ["u1"] }] },
      { users: [{ asked: "ana@example.com", sourceId: "u1", inScope: true }] },
    );
    const scope = resolveTargets(answers, state);
    const source = targetedSource(answers.snapshot, scope, state);
    const planned = explainNameClashes(restrictPlan(plan(source, tenantFromState(state), state, POLICY), scope), answers.snapshot, state);
    expect(planned.rejected.map((r) => [r.sourceId, r.reason])).toEqual([
      ["g5", "its name is still held in AWS by the managed group of Google group g1, which this run was not asked about (renamed or deleted in Google?): name both with --group, or let the scheduled run settle it"],
    ]);
    expect(planned.operations.filter((op) => op.kind === "deleteGroup" || op.kind === "createGroup")).toEqual([]);
  });

  test("for a named group: its whole member list, and its members' records but no deletes of them", () => {
    const state = world();
    // G2 now holds Ana and Cy (Bo left it); Cy changed.
    const answers = read(
      { users: [sourceUser("u1", "ana"), sourceUser("u3", "cy", { familyName: "New" })], groups: [{ sourceId: "g2", displayName: "G2", memberSourceIds: ["u1", "u3"] }] },
      { groups: [{ asked: "G2", sourceId: "g2", inScope: true }] },
    );
    const scope = resolveTargets(answers, state);
    const source = targetedSource(answers.snapshot, scope, state);
    const planned = restrictPlan(plan(source, tenantFromState(state), state, POLICY), scope);
    expect(describeOps(planned.operations)).toEqual(["updateUser u3", "addMembers g2 u1", "removeMembers g2 u2"]);
  });
});
