/**
 * @module Safety rails checked after planning and before any write (pure): `sync.max_deletes`,
 * the empty-source check, and the upsert filter. A refused run writes nothing: no SCIM request,
 * no state.
 */
import type { SyncState } from "../model/index.ts";
import { SyncError } from "./errors.ts";
import type { Operation, Plan } from "./plan.ts";
import type { SourceSnapshot } from "./ports.ts";

/** `sync.max_deletes`: a share of the managed objects ("25%") or a count ("50"). */
export type DeleteLimit = { percent: number } | { count: number };

/**
 * Below this many removals a percentage never refuses: with 12 managed users, 25% would refuse
 * at 4 and block ordinary leavers in a small tenant. A count (`"5"`) is taken as written.
 */
export const DELETE_FLOOR = 10;

/** How many names a refusal lists. */
const NAMES_SHOWN = 10;

export interface GuardrailOptions {
  maxDeletes: DeleteLimit;
  /** `--force`: this run may go over `maxDeletes`. */
  force?: boolean;
  /** `--allow-empty-source`: this run may act on a source with no groups or no users. */
  allowEmptySource?: boolean;
}

export interface RemovalCount {
  /** Deletions plus deactivations (both take access away). */
  count: number;
  /** What the state manages: the base of a percentage. */
  managed: number;
  /** The most removals allowed. */
  limit: number;
  /** The first removals' user or group names, at most 10. */
  names: string[];
}

export interface Refusal {
  rule: "max_deletes" | "empty_source";
  /** One line: what the run would do and why it is refused. */
  message: string;
  /** The knob to turn. */
  hint: string;
}

export interface GuardrailVerdict {
  users: RemovalCount;
  groups: RemovalCount;
  /** Rules that stop this run. */
  refusals: Refusal[];
  /** Rules the run breaks but a flag allows for this run (`--force`, `--allow-empty-source`). */
  overridden: Refusal[];
}

/** "25%" or "50", as the user writes it. */
export function formatDeleteLimit(limit: DeleteLimit): string {
  return "percent" in limit ? `${limit.percent}%` : String(limit.count);
}

/**
 * The most removals `limit` allows out of `managed` objects: a count as written; a percentage
 * rounded down, but never under the floor of 10.
 *
 * @example
 * allowedRemovals({ percent: 25 }, 100); // 25
 * allowedRemovals({ percent: 25 }, 12);  // 10 (the floor)
 * allowedRemovals({ count: 5 }, 1000);   // 5
 */
export function allowedRemovals(limit: DeleteLimit, managed: number): number {
  if ("count" in limit) return limit.count;
  return Math.max(DELETE_FLOOR, Math.floor((managed * limit.percent) / 100));
}

/** Does this operation take a user's access away? Deletions and deactivations both do. */
function userRemoval(op: Operation): string | undefined {
  if (op.kind === "deleteUser") return op.userName;
  if (op.kind === "updateUser" && op.why === "deactivate") return op.attributes.userName;
  return undefined;
}

export function checkGuardrails(plan: Plan, state: SyncState, source: SourceSnapshot, options: GuardrailOptions): GuardrailVerdict {
  const userNames: string[] = [];
  const groupNames: string[] = [];
  for (const op of plan.operations) {
    const user = userRemoval(op);
    if (user !== undefined) userNames.push(user);
    if (op.kind === "deleteGroup") groupNames.push(op.displayName);
  }
  const count = (names: string[], managed: number): RemovalCount => ({
    count: names.length,
    managed,
    limit: allowedRemovals(options.maxDeletes, managed),
    names: names.slice(0, NAMES_SHOWN),
  });
  const users = count(userNames, Object.keys(state.users).length);
  const groups = count(groupNames, Object.keys(state.groups).length);

  const refusals: Refusal[] = [];
  const overridden: Refusal[] = [];
  const setting = formatDeleteLimit(options.maxDeletes);
  const limitHint =
    `if this is intended, raise sync.max_deletes (--sync-max-deletes, IDPSCIM_SYNC_MAX_DELETES, or max_deletes under [sync]; now "${setting}") ` +
    "or pass --force to allow it for this run only";
  for (const [what, removal, verb] of [
    ["users", users, "delete or deactivate"],
    ["groups", groups, "delete"],
  ] as const) {
    if (removal.count <= removal.limit) continue;
    const more = removal.count - removal.names.length;
    const refusal: Refusal = {
      rule: "max_deletes",
      message:
        `this run would ${verb} ${removal.count} ${what} of the ${removal.managed} it manages, more than sync.max_deletes = "${setting}" allows (${removal.limit}): ` +
        `${removal.names.join(", ")}${more > 0 ? ` and ${more} more` : ""}`,
      hint: limitHint,
    };
    (options.force ? overridden : refusals).push(refusal);
  }

  for (const [what, found, managed] of [
    ["groups", source.groups.length, groups.managed],
    ["users", source.users.length, users.managed],
  ] as const) {
    if (found > 0 || managed === 0) continue;
    const refusal: Refusal = {
      rule: "empty_source",
      message: `the source returned no ${what} while the state manages ${managed}: a wrong gws.groups_filter or a Directory problem looks like everyone left`,
      hint: "check gws.groups_filter and the admin's read rights; if the source is meant to be empty, pass --allow-empty-source",
    };
    (options.allowEmptySource ? overridden : refusals).push(refusal);
  }
  return { users, groups, refusals, overridden };
}

/** The error a sync stops with when the verdict refuses (exit 3), or `undefined`. */
export function refusalError(verdict: GuardrailVerdict): SyncError | undefined {
  if (verdict.refusals.length === 0) return undefined;
  const message = ["refused for safety, nothing was written", ...verdict.refusals.map((r) => `  ${r.message}`), "  to go on"].join("\n");
  const hints = [...new Set(verdict.refusals.map((r) => r.hint))];
  return new SyncError("SAFETY_REFUSED", message, { hint: hints.join("; ") });
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
