/**
 * @module The audit trail: every SCIM write a run sends, with what it changed and how AWS answered,
 * and every refusal, as one AuditEvent each ("who removed Ana from AWS Admins, and when"). The
 * executor wraps the target of each operation (`auditedTarget`), so a write made on the way (an
 * adoption after a 409) is recorded as well as the planned one. Where the lines go is the shell's.
 */
import type { SyncState, UserAttributes } from "../model/index.ts";
import { ScimRequestError } from "./errors.ts";
import type { Operation } from "./plan.ts";
import type { AuditEvent, AuditTrail, GroupChange, RejectedRecord, ScimTarget, UserChange } from "./ports.ts";
import type { Refusal } from "./refusals.ts";

/** A run's trail and its id, as the core is given them. */
export interface Audit {
  trail: AuditTrail;
  run: string;
}

type Fields = Omit<AuditEvent, "audit" | "time" | "run" | "result">;

/** What an operation is about: the record every write made for it names. */
function recordOf(op: Operation, state: SyncState): Pick<AuditEvent, "resource" | "externalId" | "name" | "why"> {
  const why = "why" in op ? { why: op.why } : {};
  const externalId = (id: string | undefined) => (id === undefined ? {} : { externalId: id });
  switch (op.kind) {
    case "createUser":
    case "updateUser":
      return { resource: "User", ...externalId(op.sourceId), name: op.attributes.userName, ...why };
    case "deleteUser":
      return { resource: "User", ...externalId(op.sourceId), name: op.userName, ...why };
    case "createGroup":
      return { resource: "Group", externalId: op.sourceId, name: op.displayName };
    case "updateGroup":
      return { resource: "Group", externalId: op.sourceId, name: op.desiredDisplayName, ...why };
    case "deleteGroup":
      return { resource: "Group", ...externalId(op.sourceId), name: op.displayName, ...why };
    case "addMembers":
    case "removeMembers": {
      const name = state.groups[op.groupSourceId]?.displayName;
      return { resource: "Group", externalId: op.groupSourceId, ...(name === undefined ? {} : { name }) };
    }
  }
}

/** The userName of each member an operation names, by SCIM id, as the working state knows them when the write is sent. */
function memberNames(op: Operation, state: SyncState): Map<string, string> {
  const names = new Map<string, string>();
  if (op.kind !== "createGroup" && op.kind !== "addMembers" && op.kind !== "removeMembers") return names;
  for (const ref of op.members) {
    const user = ref.sourceId === undefined ? undefined : state.users[ref.sourceId];
    const scimId = ref.scimId ?? user?.scimId;
    if (scimId !== undefined && user !== undefined) names.set(scimId, user.attributes.userName);
  }
  return names;
}

/** The user attributes a create or an update writes, by name; the manager as the SCIM id sent. */
function userValues(set: Partial<UserAttributes>, managerScimId: string | undefined): Record<string, unknown> {
  const { managerSourceId: _m, ...values } = set;
  return { ...values, ...(managerScimId === undefined ? {} : { manager: managerScimId }) };
}

/**
 * `target` for the writes of one operation: each write is recorded in `audit` once it ends, with
 * what it changed, its attempts, and AWS's answer. Reads pass through unrecorded.
 */
export function auditedTarget(target: ScimTarget, op: Operation, state: SyncState, audit: Audit, now: () => number): ScimTarget {
  const record = recordOf(op, state);
  const members = (ids: readonly string[]) => {
    const names = memberNames(op, state);
    return ids.map((scimId) => {
      const userName = names.get(scimId);
      return userName === undefined ? { scimId } : { scimId, userName };
    });
  };
  const write = <T>(operation: AuditEvent["operation"], fields: Partial<Fields>, send: (t: ScimTarget) => Promise<T>, idOf?: (value: T) => string) =>
    recorded({ target, audit, now, base: { operation, ...record, ...(operation === op.kind ? {} : { planned: op.kind }), ...fields } as Fields }, send, idOf);
  const groupChange = (change: GroupChange) => ({ changed: { ...change } });
  return {
    ...target,
    createUser: (externalId, attributes, managerScimId) =>
      write("createUser", { externalId, changed: userValues(attributes, managerScimId) }, (t) => t.createUser(externalId, attributes, managerScimId), (id) => id),
    updateUser: (scimId, change: UserChange) =>
      write(
        "updateUser",
        {
          scimId,
          changed: { ...userValues(change.set, change.managerScimId), ...(change.externalId === undefined ? {} : { externalId: change.externalId }) },
          ...(change.clear.length > 0 ? { cleared: [...change.clear] } : {}),
        },
        (t) => t.updateUser(scimId, change),
      ),
    deleteUser: (scimId) => write("deleteUser", { scimId }, (t) => t.deleteUser(scimId)),
    createGroup: (externalId, displayName, memberScimIds) =>
      write("createGroup", { externalId, changed: { displayName }, members: members(memberScimIds) }, (t) => t.createGroup(externalId, displayName, memberScimIds), (id) => id),
    updateGroup: (scimId, change) => write("updateGroup", { scimId, ...groupChange(change) }, (t) => t.updateGroup(scimId, change)),
    addMembers: (groupScimId, userScimIds) => write("addMembers", { scimId: groupScimId, members: members(userScimIds) }, (t) => t.addMembers(groupScimId, userScimIds)),
    removeMembers: (groupScimId, userScimIds) => write("removeMembers", { scimId: groupScimId, members: members(userScimIds) }, (t) => t.removeMembers(groupScimId, userScimIds)),
    deleteGroup: (scimId) => write("deleteGroup", { scimId }, (t) => t.deleteGroup(scimId)),
  };
}

interface Recording {
  target: ScimTarget;
  audit: Audit;
  now: () => number;
  base: Fields;
}

/** Sends one write through a view of the target that counts its attempts, and records how it ended; its result or error passes through. */
async function recorded<T>(r: Recording, send: (t: ScimTarget) => Promise<T>, idOf?: (value: T) => string): Promise<T> {
  let attempts = 0;
  const view = r.target.observed?.(() => attempts++) ?? r.target;
  const event = (result: AuditEvent["result"], fields: Partial<AuditEvent>): AuditEvent => ({
    audit: "idpscim",
    time: new Date(r.now()).toISOString(),
    run: r.audit.run,
    ...r.base,
    result,
    // A target that cannot count attempts leaves them out rather than guess.
    ...(r.target.observed === undefined ? {} : { attempts }),
    ...fields,
  });
  try {
    const value = await send(view);
    r.audit.trail.record(event("ok", idOf === undefined ? {} : { scimId: idOf(value) }));
    return value;
  } catch (error) {
    const answered = error instanceof ScimRequestError && error.status !== undefined ? error : undefined;
    // AWS's reason in its words when it gave one; else what failed (no answer, a bug).
    const reason = answered?.answer ?? (error as Error)?.message ?? String(error);
    r.audit.trail.record(event(answered ? "rejected" : "failed", { ...(answered ? { status: answered.status! } : {}), reason }));
    throw error;
  }
}

/** A run the safety rails refused (result "refused") or let go over them with --force (result "allowed"): one event per rule. */
export function refusalEvents(refusals: readonly Refusal[], result: "refused" | "allowed", audit: Audit, now: number): AuditEvent[] {
  return refusals.map((r) => ({
    audit: "idpscim",
    time: new Date(now).toISOString(),
    run: audit.run,
    operation: "refuseRun",
    resource: "Run",
    rule: r.rule,
    reason: r.rule === "empty_source" ? `the source returned no ${r.what}` : `would remove ${r.count} ${r.what}, more than the limit`,
    ...(r.rule === "empty_source" ? { managed: r.managed } : { count: r.count, limit: r.limit, managed: r.managed, names: r.names }),
    result,
  }));
}

/** A source record the run does not act on (AWS would refuse it as it is, or its name is another's): never sent, so a refusal. */
export function rejectedRecordEvent(rejected: RejectedRecord, audit: Audit, now: number): AuditEvent {
  return {
    audit: "idpscim",
    time: new Date(now).toISOString(),
    run: audit.run,
    operation: "refuseRecord",
    resource: rejected.kind === "user" ? "User" : "Group",
    externalId: rejected.sourceId,
    name: rejected.subject,
    result: "refused",
    reason: rejected.reason,
  };
}
