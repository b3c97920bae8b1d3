/**
 * @module A continuation run's head start (issue #11). A first sync of 200,000 users takes ten
 * budgeted runs, and each would spend a third of its 15 minutes reading the groups' members from
 * Google before its first write. A run cut short records the users it left to create
 * (`pendingUserCreates`); the next run, trusting the state (its tenant read skipped), has the
 * source read the users the last run had in scope first and creates those pending users from the
 * fresh records while the members read goes on. When the read ends the creates stop, and the run
 * plans as always from the fresh snapshot and the state, which now holds them.
 *
 * The head start plans with the planner itself, on the fresh users alone: whom it creates, with
 * which attributes, manager and wave, and whether a suspended user is created (inactive, under
 * `sync.suspended_users = "deactivate"`) is what a full plan would decide. Only creates run:
 * nothing it could take away is decided before the whole read (every other operation goes through
 * the full plan and the guardrails). A user the fresh read lacks (deleted) is not created. One the
 * full read then finds out of scope (it left every synced group in between) holds no group and so
 * no access, and the plan removes it as any user that left the scope.
 */
import type { SyncState } from "../model/index.ts";
import { fitForAws } from "./aws-limits.ts";
import { plan as makePlan, type Operation, type Plan, type PlanPolicy } from "./plan.ts";
import type { HeadStart, SourceUser } from "./ports.ts";
import { tenantFromState } from "./state.ts";

type CreateUser = Extract<Operation, { kind: "createUser" }>;

/** The source ids, sorted, of the user creates a run left (not started); undefined when none. */
export function pendingUserCreates(notStarted: readonly Operation[]): string[] | undefined {
  const ids = notStarted.flatMap((op) => (op.kind === "createUser" ? [op.sourceId] : []));
  return ids.length === 0 ? undefined : ids.sort();
}

/**
 * The users the last run had in scope (the state's and those it left to create), when it left
 * some to create that the state does not hold yet; undefined when there is no head start to take.
 */
export function headStartIds(state: SyncState): Set<string> | undefined {
  const pending = state.pendingUserCreates?.filter((id) => state.users[id] === undefined) ?? [];
  if (pending.length === 0) return undefined;
  const ids = new Set(Object.keys(state.users));
  for (const id of pending) ids.add(id);
  return ids;
}

/**
 * The creates of the pending users that a full plan of `users` (the fresh records of the users
 * the last run had in scope) against the state would make, in wave order. A create whose name a
 * managed user holds (one the full plan deletes first, to free it) is left to the full plan.
 */
export function headStartPlan(users: readonly SourceUser[], state: SyncState, policy: PlanPolicy): Plan {
  const pending = new Set(state.pendingUserCreates ?? []);
  const fitted = fitForAws({ users: [...users], groups: [], warnings: [] });
  const full = makePlan(fitted, tenantFromState(state), state, policy);
  const taken = new Set<string>();
  for (const op of full.operations) {
    if (op.kind !== "deleteUser" || op.early !== true || op.sourceId === undefined) continue;
    const record = state.users[op.sourceId]?.attributes;
    for (const name of [op.userName, record?.email ?? ""]) if (name !== "") taken.add(name.toLowerCase());
  }
  const creates = full.operations.filter(
    (op): op is CreateUser =>
      op.kind === "createUser" && pending.has(op.sourceId) && !taken.has(op.attributes.userName.toLowerCase()) && !taken.has(op.attributes.email.toLowerCase()),
  );
  return { operations: creates, bookkeeping: { forgetUsers: [], forgetGroups: [] }, warnings: [], rejected: [], managed: full.managed };
}

/** What the run does with the fresh users once the source has them: plans and starts the creates (it must not wait for them). */
export type StartCreates = (users: SourceUser[]) => void;

/** The hint for `DirectorySource.read`: the users to read first, and what to do with them. */
export function headStartHint(knownIds: ReadonlySet<string>, start: StartCreates): HeadStart {
  let called = false;
  return {
    knownIds,
    onUsers: (users) => {
      if (called) return;
      called = true;
      start(users);
    },
  };
}
