/** @module The safety rails as pure functions: max_deletes and max_membership_removals (percent, count, floor), the empty source, upsert, and the deadline margin. */

import { describe, expect, test } from "bun:test";
import { allowedRemovals, checkGuardrails, DELETE_FLOOR, formatDeleteLimit, refusalError, upsertOnly, type DeleteLimit } from "../../src/core/guardrails.ts";
import { describeError, renderRefusal } from "../../src/shell/messages.ts";
import { plan, type Operation, type Plan, type PlanPolicy } from "../../src/core/plan.ts";
import type { SourceSnapshot, SourceUser } from "../../src/core/ports.ts";
import { managedGroup, managedUser, tenantFromState as tenantOfState } from "../../src/core/state.ts";
import { emptyState, managedAttributesFor, type SyncState, type UserAttributes } from "../../src/model/index.ts";
import { stopStartingAtFor } from "../../src/shell/run-sync.ts";

const attributes = (i: number): UserAttributes => ({
  userName: `user${i}@example.com`,
  displayName: `User ${i}`,
  givenName: "User",
  familyName: String(i),
  email: `user${i}@example.com`,
  active: true,
});
const sourceUser = (i: number): SourceUser => ({ sourceId: `u${i}`, attributes: attributes(i), suspended: false });

/** A state managing `users` users and `groups` groups (ids u0.., g0..). */
function stateOf(users: number, groups: number): SyncState {
  const state = emptyState();
  for (let i = 0; i < users; i++) state.users[`u${i}`] = managedUser(`scim-u${i}`, attributes(i));
  for (let i = 0; i < groups; i++) state.groups[`g${i}`] = managedGroup(`scim-g${i}`, `Group ${i}`, []);
  return state;
}

/** A source still holding everything of `stateOf(users, groups)` (so the empty-source rule is quiet). */
function sourceOf(users: number, groups: number): SourceSnapshot {
  return {
    users: Array.from({ length: users }, (_, i) => sourceUser(i)),
    groups: Array.from({ length: groups }, (_, i) => ({ sourceId: `g${i}`, displayName: `Group ${i}`, memberSourceIds: [] })),
    warnings: [],
  };
}

function deletions(users: number, groups: number): Plan {
  const operations: Operation[] = [
    ...Array.from({ length: groups }, (_, i): Operation => ({ kind: "deleteGroup", scimId: `scim-g${i}`, sourceId: `g${i}`, displayName: `Group ${i}`, why: "left-scope" })),
    ...Array.from({ length: users }, (_, i): Operation => ({ kind: "deleteUser", scimId: `scim-u${i}`, sourceId: `u${i}`, userName: `user${i}@example.com`, why: "left-scope" })),
  ];
  return { operations, bookkeeping: { forgetUsers: [], forgetGroups: [] }, warnings: [], rejected: [], managed: { users: 0, groups: 0, memberships: 0 } };
}

/** `p` with the base of the percentages a plan over `state` has when it creates and adopts nothing. */
function over(p: Plan, state: SyncState): Plan {
  const memberships = Object.values(state.groups).reduce((n, g) => n + g.memberSourceIds.length, 0);
  return { ...p, managed: { users: Object.keys(state.users).length, groups: Object.keys(state.groups).length, memberships } };
}

const NO_LIMIT: DeleteLimit = { percent: 100 };

const policy = (overrides: Partial<PlanPolicy> = {}): PlanPolicy => ({
  suspendedUsers: "deactivate",
  removedUsers: "delete",
  deleteUnmanaged: false,
  mode: "sync",
  managedAttributes: managedAttributesFor([]),
  adoptGroupsByName: false,
  protectedGroups: [],
  ...overrides,
});

const verdict = (p: Plan, state: SyncState, limit: DeleteLimit, options: { force?: boolean; allowEmptySource?: boolean; source?: SourceSnapshot } = {}) =>
  checkGuardrails(over(p, state), state, options.source ?? sourceOf(1, 1), {
    maxDeletes: limit,
    maxMembershipRemovals: NO_LIMIT,
    force: options.force ?? false,
    allowEmptySource: options.allowEmptySource ?? false,
  });

describe("allowedRemovals", () => {
  test("a percentage of what the state manages, rounded down", () => {
    expect(allowedRemovals({ percent: 25 }, 100)).toBe(25);
    expect(allowedRemovals({ percent: 25 }, 103)).toBe(25);
    expect(allowedRemovals({ percent: 10 }, 1000)).toBe(100);
    expect(allowedRemovals({ percent: 100 }, 40)).toBe(40);
  });

  test("a percentage is raised to the floor of 10, but never above half of what is managed", () => {
    expect(DELETE_FLOOR).toBe(10);
    expect(allowedRemovals({ percent: 25 }, 40)).toBe(10);
    expect(allowedRemovals({ percent: 25 }, 12)).toBe(6);
    expect(allowedRemovals({ percent: 25 }, 10)).toBe(5);
    expect(allowedRemovals({ percent: 25 }, 1)).toBe(0);
    expect(allowedRemovals({ percent: 25 }, 0)).toBe(0);
  });

  test('"0%" means zero: no floor', () => {
    expect(allowedRemovals({ percent: 0 }, 1000)).toBe(0);
    expect(allowedRemovals({ percent: 0 }, 12)).toBe(0);
  });

  test("a count is taken as written, floor included: \"0\" means never without --force", () => {
    expect(allowedRemovals({ count: 50 }, 10_000)).toBe(50);
    expect(allowedRemovals({ count: 3 }, 100)).toBe(3);
    expect(allowedRemovals({ count: 0 }, 100)).toBe(0);
  });

  test("formatDeleteLimit writes the setting as the user does", () => {
    expect(formatDeleteLimit({ percent: 25 })).toBe("25%");
    expect(formatDeleteLimit({ count: 50 })).toBe("50");
  });
});

describe("checkGuardrails: sync.max_deletes", () => {
  test("at the limit passes, one over refuses, for users and for groups separately", () => {
    const state = stateOf(100, 80);
    expect(verdict(deletions(25, 20), state, { percent: 25 }).refusals).toEqual([]);
    const users = verdict(deletions(26, 0), state, { percent: 25 });
    expect(users.refusals.map((r) => r.rule)).toEqual(["max_deletes"]);
    expect(users.users).toMatchObject({ count: 26, managed: 100, limit: 25 });
    expect(renderRefusal(users.refusals[0]!).message).toContain("26 users of the 100 it manages");
    const groups = verdict(deletions(0, 21), state, { percent: 25 });
    expect(groups.refusals).toHaveLength(1);
    expect(renderRefusal(groups.refusals[0]!).message).toContain("21 groups of the 80 it manages");
  });

  test("the floor: 10 removals pass in a tenant of 40, 11 do not; in a tenant of 10 (a filter typo), 5 pass and 7 do not", () => {
    expect(verdict(deletions(10, 10), stateOf(40, 40), { percent: 25 }).refusals).toEqual([]);
    expect(verdict(deletions(11, 0), stateOf(40, 40), { percent: 25 }).refusals).toHaveLength(1);
    expect(verdict(deletions(5, 0), stateOf(10, 4), { percent: 25 }).refusals).toEqual([]);
    expect(verdict(deletions(7, 3), stateOf(10, 4), { percent: 25 }).refusals.map((r) => renderRefusal(r).message.split(" of the ")[0])).toEqual([
      "this run would delete or deactivate 7 users",
      "this run would delete 3 groups",
    ]);
  });

  test("the count form: 50 of 1000 pass, 51 refuse; a count of 5 refuses 6 even in a tiny tenant", () => {
    expect(verdict(deletions(50, 0), stateOf(1000, 1), { count: 50 }).refusals).toEqual([]);
    expect(verdict(deletions(51, 0), stateOf(1000, 1), { count: 50 }).refusals).toHaveLength(1);
    expect(verdict(deletions(6, 0), stateOf(8, 1), { count: 5 }).refusals).toHaveLength(1);
  });

  test("the refusal names the count, the first 10 names and the setting; --force moves it to overridden", () => {
    const refused = verdict(deletions(40, 0), stateOf(100, 1), { percent: 25 });
    const error = refusalError(refused)!;
    expect(error.code).toBe("SAFETY_REFUSED");
    expect(error.exitCode).toBe(3);
    const text = describeError(error);
    expect(text).toContain("40 users");
    for (let i = 0; i < 10; i++) expect(text).toContain(`user${i}@example.com`);
    expect(text).not.toContain("user10@example.com");
    expect(text).toContain("and 30 more");
    expect(text).toContain("sync.max_deletes");
    expect(text).toContain("--sync-max-deletes");
    expect(text).toContain("--force");
    const forced = checkGuardrails(over(deletions(40, 0), stateOf(100, 1)), stateOf(100, 1), sourceOf(1, 1), { maxDeletes: { percent: 25 }, maxMembershipRemovals: NO_LIMIT, force: true });
    expect(forced.refusals).toEqual([]);
    expect(forced.overridden.map((r) => r.rule)).toEqual(["max_deletes"]);
    expect(refusalError(forced)).toBeUndefined();
  });

  test("deactivations of users that left (removed_users = deactivate) count as removals", () => {
    const state = stateOf(20, 1);
    const source = sourceOf(20, 1);
    source.users.splice(0, 11); // 11 users leave
    const planned = plan(source, tenantOfState(state), state, policy({ removedUsers: "deactivate" }));
    expect(planned.operations.filter((op) => op.kind === "updateUser" && op.why === "deactivate")).toHaveLength(11);
    expect(planned.operations.some((op) => op.kind === "deleteUser")).toBe(false);
    const v = checkGuardrails(planned, state, source, { maxDeletes: { percent: 25 }, maxMembershipRemovals: NO_LIMIT });
    expect(v.users.count).toBe(11);
    expect(v.refusals).toHaveLength(1);
    expect(renderRefusal(v.refusals[0]!).message).toContain("delete or deactivate 11 users");
  });

  test("additions and updates never count", () => {
    const state = stateOf(20, 1);
    const source = sourceOf(40, 1);
    const planned = plan(source, tenantOfState(state), state, policy());
    expect(planned.operations.length).toBe(20);
    expect(checkGuardrails(planned, state, source, { maxDeletes: { count: 0 }, maxMembershipRemovals: { count: 0 } }).refusals).toEqual([]);
  });
});

describe("checkGuardrails: empty source", () => {
  test("no groups, or no users, while the state manages some: refused unless --allow-empty-source", () => {
    const state = stateOf(3, 2);
    const noGroups: SourceSnapshot = { users: [sourceUser(0)], groups: [], warnings: [] };
    const v = verdict(deletions(0, 0), state, { percent: 100 }, { source: noGroups });
    expect(v.refusals.map((r) => r.rule)).toEqual(["empty_source"]);
    expect(renderRefusal(v.refusals[0]!).message).toContain("no groups");
    expect(renderRefusal(v.refusals[0]!).hint).toContain("--allow-empty-source");
    const noUsers: SourceSnapshot = { users: [], groups: [{ sourceId: "g0", displayName: "Group 0", memberSourceIds: [] }], warnings: [] };
    expect(renderRefusal(verdict(deletions(0, 0), state, { percent: 100 }, { source: noUsers }).refusals[0]!).message).toContain("no users");
    const allowed = verdict(deletions(0, 0), state, { percent: 100 }, { source: noGroups, allowEmptySource: true });
    expect(allowed.refusals).toEqual([]);
    expect(allowed.overridden.map((r) => r.rule)).toEqual(["empty_source"]);
  });

  test("an empty source with an empty state (first run) is not refused; --force does not allow an empty source", () => {
    const empty: SourceSnapshot = { users: [], groups: [], warnings: [] };
    expect(verdict(deletions(0, 0), emptyState(), { percent: 25 }, { source: empty }).refusals).toEqual([]);
    expect(verdict(deletions(0, 0), stateOf(1, 1), { percent: 25 }, { source: empty, force: true }).refusals.map((r) => r.rule)).toEqual(["empty_source", "empty_source"]);
  });
});

describe("upsertOnly", () => {
  test("drops membership removals and deactivations of leavers; keeps creates, updates and suspensions", () => {
    const state = stateOf(4, 1);
    state.groups.g0 = managedGroup("scim-g0", "Group 0", ["u0", "u1", "u2", "u3"]);
    const source = sourceOf(4, 1);
    source.users = source.users.filter((u) => u.sourceId !== "u3"); // left the scope
    source.users[0] = { ...source.users[0]!, suspended: true }; // u0 suspended at the source
    source.users.push(sourceUser(9)); // a newcomer
    source.groups[0]!.memberSourceIds = ["u0", "u9"]; // u1, u2 removed from the group
    const planned = plan(source, tenantOfState(state), state, policy({ mode: "upsert", removedUsers: "deactivate" }));
    expect(planned.operations.some((op) => op.kind === "removeMembers")).toBe(true);
    const { plan: filtered, keptMemberships, keptUsers } = upsertOnly(planned, source);
    const kinds = filtered.operations.map((op) => `${op.kind}${op.kind === "updateUser" ? `:${op.sourceId}:${op.why}` : ""}`);
    expect(kinds).toContain("createUser");
    expect(kinds).toContain("addMembers");
    expect(kinds).toContain("updateUser:u0:deactivate");
    expect(kinds).not.toContain("updateUser:u3:deactivate");
    expect(kinds.some((k) => k === "removeMembers" || k === "deleteUser" || k === "deleteGroup")).toBe(false);
    expect(keptMemberships).toBe(3); // u1, u2, and u3 who left
    expect(keptUsers).toBe(1);
  });
});

describe("stopStartingAtFor: the deadline margin", () => {
  test("10% of the budget before the deadline, at least 10 s, at most 30 s, and at most half the budget", () => {
    expect(stopStartingAtFor(0, 60_000)).toBe(50_000);
    expect(stopStartingAtFor(0, 90_000)).toBe(80_000);
    expect(stopStartingAtFor(0, 200_000)).toBe(180_000);
    expect(stopStartingAtFor(0, 300_000)).toBe(270_000);
    // Lambda's longest invocation: 30 s kept back, not 90 (2,250 more writes at 25/s).
    expect(stopStartingAtFor(0, 900_000)).toBe(870_000);
    expect(stopStartingAtFor(0, 3_300_000)).toBe(3_270_000);
    expect(stopStartingAtFor(1_000, 7_000)).toBe(4_000);
  });
});
