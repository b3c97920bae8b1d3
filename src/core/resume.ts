/**
 * @module When a run cut short may be continued from the state alone. A run that trusts the
 * state plans from the source and what the state records; an operation the cut-short run left
 * comes back in that plan only when the difference it acts on is between the source and the
 * state. One that acts on what only the full read saw (a resource the state does not record,
 * drift made by hand in AWS, a record lagging behind AWS) would be lost until the next full read.
 */
import type { ManagedUser, SyncState, UserAttributeName } from "../model/index.ts";
import { sameValue, type Operation, type UserRef } from "./plan.ts";
import { includesSorted } from "./state.ts";

/** Whether a run that trusts `state` (the state this run saves) plans `op` again. */
export function continuesFromState(op: Operation, state: SyncState): boolean {
  switch (op.kind) {
    case "createUser":
    case "createGroup":
      return true; // the state records only what was created
    case "updateUser":
      return op.why !== "adopt" && op.why !== "record" && attributesDifferFromRecord(op, state.users[op.sourceId]);
    case "updateGroup":
      return op.why === "rename" && state.groups[op.sourceId] !== undefined && state.groups[op.sourceId]!.displayName !== op.desiredDisplayName;
    case "addMembers":
      return membersRecorded(op.members, state.groups[op.groupSourceId]?.memberSourceIds, false);
    case "removeMembers":
      return membersRecorded(op.members, state.groups[op.groupSourceId]?.memberSourceIds, true);
    case "deleteUser":
      return op.why !== "unmanaged" && op.sourceId !== undefined && state.users[op.sourceId] !== undefined;
    case "deleteGroup":
      return op.why !== "unmanaged" && op.sourceId !== undefined && state.groups[op.sourceId] !== undefined;
  }
}

/** Every attribute the update sets or clears differs, by the planner's rule (sameValue), from what the state records as written. */
function attributesDifferFromRecord(op: Extract<Operation, { kind: "updateUser" }>, record: ManagedUser | undefined): boolean {
  if (record === undefined) return false;
  const set = Object.keys(op.set) as UserAttributeName[];
  return set.every((name) => !sameValue(record.attributes[name], op.attributes[name])) && op.clear.every((name) => !sameValue(record.attributes[name], undefined));
}

/**
 * For an add (`recorded` false): no member is in the group's record yet, or the group has none
 * (its create has not run either). For a removal: every member is in the record. The record is
 * sorted: a binary search, not a set per operation (All Staff at 200,000 members has 2,000 chunks).
 */
function membersRecorded(members: readonly UserRef[], record: readonly string[] | undefined, recorded: boolean): boolean {
  if (record === undefined) return !recorded;
  return members.every((m) => m.sourceId !== undefined && includesSorted(record, m.sourceId) === recorded);
}
