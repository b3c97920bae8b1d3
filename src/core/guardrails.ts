/**
 * @module Safety rails checked after planning and before any write (pure): `sync.max_deletes`,
 * the empty-source check, and the upsert filter. A refused run writes nothing: no SCIM request,
 * no state.
 */
import type { SyncState } from "../model/index.ts";
import { SyncError } from "./errors.ts";
import type { Operation, Plan } from "./plan.ts";
import type { SourceSnapshot } from "./ports.ts";
import type { DeleteLimit, Refusal, RemovalCount, RemovalCounts, RemovalRefusal } from "./refusals.ts";

export type { DeleteLimit, EmptySourceRefusal, Refusal, RemovalCount, RemovalRefusal, StopDetail } from "./refusals.ts";

/**
 * Below this many removals a percentage never refuses: with 12 managed users, 25% would refuse
 * at 4 and block ordinary leavers in a small tenant. But the floor never allows more than half of
 * what is managed, so a filter typo cannot empty a small tenant. "0%" and counts are as written.
 */
export const DELETE_FLOOR = 10;

/** How many names a refusal lists. */
const NAMES_SHOWN = 10;

export interface GuardrailOptions {
  maxDeletes: DeleteLimit;
  maxMembershipRemovals: DeleteLimit;
  /** This run may go over `maxDeletes` and `maxMembershipRemovals` (the CLI's force flag). */
  force?: boolean;
  /** This run may act on a source with no groups or no users (the CLI's allow-empty-source flag). */
  allowEmptySource?: boolean;
}

export interface GuardrailVerdict extends RemovalCounts {
  /** Rules that stop this run. */
  refusals: Refusal[];
  /** Rules the run breaks but its options allow for this run (`force`, `allowEmptySource`). */
  overridden: Refusal[];
}

/** "25%" or "50", as the user writes it. */
export function formatDeleteLimit(limit: DeleteLimit): string {
  return "percent" in limit ? `${limit.percent}%` : String(limit.count);
}

/**
 * The most removals `limit` allows out of `managed` objects: a count as written; a percentage
 * rounded down, raised to the floor of 10 but never above half of `managed`; "0%" is zero.
 *
 * @example
 * allowedRemovals({ percent: 25 }, 100); // 25
 * allowedRemovals({ percent: 25 }, 40);  // 10 (the floor)
 * allowedRemovals({ percent: 25 }, 10);  // 5 (the floor, at most half)
 * allowedRemovals({ percent: 0 }, 100);  // 0
 * allowedRemovals({ count: 5 }, 1000);   // 5
 */
export function allowedRemovals(limit: DeleteLimit, managed: number): number {
  if ("count" in limit) return limit.count;
  if (limit.percent === 0) return 0;
  const share = Math.floor((managed * limit.percent) / 100);
  return Math.max(share, Math.min(DELETE_FLOOR, Math.floor(managed / 2)));
}

/** Does this operation take a user's access away? Deletions and deactivations both do. */
function userRemoval(op: Operation): string | undefined {
  if (op.kind === "deleteUser") return op.userName;
  if (op.kind === "updateUser" && op.why === "deactivate") return op.attributes.userName;
  return undefined;
}


/** Whether the rails count `op`: a user deleted or deactivated, a group deleted, a membership removed. */
export function countedByRails(op: Operation): boolean {
  return userRemoval(op) !== undefined || op.kind === "deleteGroup" || op.kind === "removeMembers";
}

export function checkGuardrails(plan: Plan, state: SyncState, source: SourceSnapshot, options: GuardrailOptions): GuardrailVerdict {
  const userNames: string[] = [];
  const groupNames: string[] = [];
  const membershipNames: string[] = [];
  for (const op of plan.operations) {
    const user = userRemoval(op);
    if (user !== undefined) userNames.push(user);
    if (op.kind === "deleteGroup") groupNames.push(op.displayName);
    if (op.kind === "removeMembers") for (const member of op.members) membershipNames.push(`${member.sourceId ?? member.scimId} from group ${op.groupSourceId}`);
  }
  const count = (names: string[], managed: number, limit: DeleteLimit): RemovalCount => ({
    count: names.length,
    managed,
    limit: allowedRemovals(limit, managed),
    names: names.slice(0, NAMES_SHOWN),
  });
  // The base counts what this run creates and adopts too: a first run that adopts groups has one.
  const managed = plan.managed;
  const users = count(userNames, managed.users, options.maxDeletes);
  const groups = count(groupNames, managed.groups, options.maxDeletes);
  const memberships = count(membershipNames, managed.memberships, options.maxMembershipRemovals);

  const refusals: Refusal[] = [];
  const overridden: Refusal[] = [];
  const rails: RemovalRefusal[] = [
    { rule: "max_deletes", what: "users", setting: options.maxDeletes, ...users },
    { rule: "max_deletes", what: "groups", setting: options.maxDeletes, ...groups },
    { rule: "max_membership_removals", what: "memberships", setting: options.maxMembershipRemovals, ...memberships },
  ];
  for (const rail of rails) if (rail.count > rail.limit) (options.force ? overridden : refusals).push(rail);

  for (const [what, found, stateManaged] of [
    ["groups", source.groups.length, Object.keys(state.groups).length],
    ["users", source.users.length, Object.keys(state.users).length],
  ] as const) {
    if (found > 0 || stateManaged === 0) continue;
    (options.allowEmptySource ? overridden : refusals).push({ rule: "empty_source", what, managed: stateManaged });
  }
  return { users, groups, memberships, refusals, overridden };
}

/**
 * The error a sync stops with when the verdict refuses (exit 3), or `undefined`. Its `detail`
 * holds the whole verdict; the shells word the refusals (the core's own message names only the rules).
 */
export function refusalError(verdict: GuardrailVerdict): SyncError | undefined {
  if (verdict.refusals.length === 0) return undefined;
  const rules = verdict.refusals.map((r) => `${r.rule} (${r.what})`).join(", ");
  return new SyncError("SAFETY_REFUSED", `refused for safety, nothing was written: ${rules}`, {
    detail: { kind: "refused", refusals: verdict.refusals, overridden: verdict.overridden, counts: { users: verdict.users, groups: verdict.groups, memberships: verdict.memberships } },
  });
}

export interface UpsertFiltered {
  plan: Plan;
  /** Operations left out: membership removals and deactivations of users that left the scope. */
  keptMemberships: number;
  keptUsers: number;
}

/**
 * `sync.mode = "upsert"` creates and updates, and takes nothing away: the planner already skips
 * user and group deletions; this also drops membership removals (removing someone from an admin
 * group revokes access as surely as deleting them) and deactivations of users that left the
 * scope. Users suspended at the source are still deactivated: that mirrors the source's own
 * attribute, it is not a departure.
 */
export function upsertOnly(plan: Plan, source: SourceSnapshot): UpsertFiltered {
  const inSource = new Set(source.users.map((u) => u.sourceId));
  let keptMemberships = 0;
  let keptUsers = 0;
  const operations = plan.operations.filter((op) => {
    if (op.kind === "removeMembers") {
      keptMemberships += op.members.length;
      return false;
    }
    if (op.kind === "deleteUser" || op.kind === "deleteGroup") return false; // the planner skips these in upsert already
    if (op.kind === "updateUser" && op.why === "deactivate" && !inSource.has(op.sourceId)) {
      keptUsers++;
      return false;
    }
    return true;
  });
  return { plan: { ...plan, operations }, keptMemberships, keptUsers };
}
