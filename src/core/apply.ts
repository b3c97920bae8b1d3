/**
 * @module The executor: runs a plan's operations phase by phase through the ScimTarget port with
 * bounded concurrency, isolates failing records, and keeps a working state that always says what
 * AWS holds for the managed resources (so a run stopped at any point resumes correctly).
 */
import type { SyncState, UserAttributeName, UserAttributes } from "../model/index.ts";
import { ScimRequestError, SyncError } from "./errors.ts";
import type { Operation, OperationKind, Plan, UserRef } from "./plan.ts";
import { matchesAnyGlob } from "./match.ts";
import { PHASES, blockedGroupReason, blockedUserReason, diffAttributes, phaseOf, sendsRequest, wavesOf } from "./plan.ts";
import type { ScimTarget } from "./ports.ts";
import { managedGroup, managedUser } from "./state.ts";
import { shown } from "./text.ts";

export interface ApplyOptions {
  target: ScimTarget;
  /** Operations in flight at once; the target's rate control paces the requests themselves. */
  concurrency: number;
  /** Attributes this run manages, for diffing a resource adopted after a 409. */
  managedAttributes: ReadonlySet<UserAttributeName>;
  /** Whether a group create that meets 409 may adopt an unmanaged group of that name (as the plan's policy). */
  adoptGroupsByName: boolean;
  /** Group names never adopted (`sync.protected_groups`). */
  protectedGroups: readonly string[];
  /** Epoch ms after which no new operation starts (the rest continues next run). */
  stopStartingAt?: number;
  /**
   * Called with a consistent copy of the working state every `checkpointEvery` operations, every
   * `checkpointEveryMs`, at the end of each phase, and before a fatal error is rethrown. A failing
   * checkpoint (a state conflict) stops the run at once: another run owns the state now.
   */
  checkpoint?: (state: SyncState) => Promise<void>;
  checkpointEvery?: number;
  checkpointEveryMs?: number;
  now?: () => number;
  onProgress?: (progress: { phase: number; done: number; total: number }) => void;
  log?: { debug(message: string): void; warn(message: string): void };
}

export interface FailedOperation {
  /** The operation that failed, or "user"/"group" for a record the plan could not act on. */
  kind: OperationKind | "user" | "group";
  /** What the record is, for the log: user name, group name or id (never a secret). */
  subject: string;
  reason: string;
}

export interface ApplyResult {
  state: SyncState;
  done: Record<OperationKind, number>;
  failed: FailedOperation[];
  /** Operations not started because the deadline came; they run next time. */
  notStarted: number;
  /** Resources adopted after a create met 409 (a retried POST or a resource made by hand). */
  adoptedOnConflict: number;
}

export async function apply(plan: Plan, initial: SyncState, options: ApplyOptions): Promise<ApplyResult> {
  const state: SyncState = structuredClone(initial);
  const done = Object.fromEntries(PHASES.flat().map((k) => [k, 0])) as Record<OperationKind, number>;
  const failed: FailedOperation[] = [];
  const now = options.now ?? Date.now;
  let notStarted = 0;
  let adoptedOnConflict = 0;
  let sinceCheckpoint = 0;
  let lastCheckpointAt = now();
  // Time bounds what a crash can lose (and what is lost is adopted by externalId next run); the
  // count matters for fast runs. Each save serialises the whole state, so not too often.
  const checkpointEvery = options.checkpointEvery ?? 1000;
  // Slow (throttled) runs reach 200 operations rarely: time bounds what a killed run loses too.
  const checkpointEveryMs = options.checkpointEveryMs ?? 15_000;
  let checkpointing: Promise<void> = Promise.resolve();
  /** The error that stops the whole run (bad credentials, a failed state write); the first one wins. */
  let fatal: { error: unknown; fromCheckpoint: boolean } | undefined;
  const { target } = options;

  const checkpoint = () => {
    if (!options.checkpoint || fatal?.fromCheckpoint) return;
    sinceCheckpoint = 0;
    lastCheckpointAt = now();
    const snapshot = structuredClone(state);
    checkpointing = checkpointing.then(async () => {
      if (fatal?.fromCheckpoint) return;
      try {
        await options.checkpoint!(snapshot);
      } catch (error) {
        // Never write SCIM on without a place to record it, nor over a state another run wrote.
        fatal ??= { error, fromCheckpoint: true };
      }
    });
  };

  for (const sourceId of plan.bookkeeping.forgetUsers) forgetUser(state, sourceId);
  for (const sourceId of plan.bookkeeping.forgetGroups) delete state.groups[sourceId];

  const userScimId = (ref: UserRef): string | undefined => ref.scimId ?? state.users[ref.sourceId ?? ""]?.scimId;
  const groupScimId = (ref: UserRef): string | undefined => ref.scimId ?? state.groups[ref.sourceId ?? ""]?.scimId;
  const managedBy = (scimId: string) => Object.entries(state.users).find(([, u]) => u.scimId === scimId)?.[0];
  const groupManagedBy = (scimId: string) => Object.entries(state.groups).find(([, g]) => g.scimId === scimId)?.[0];

  const run = async (op: Operation): Promise<void> => {
    switch (op.kind) {
      case "createUser": {
        const manager = op.manager ? userScimId(op.manager) : undefined;
        // Without its manager's SCIM id (the manager's create failed) the user is created without
        // one; the state says so, and a later run sets it.
        const { managerSourceId: _m, ...withoutManager } = op.attributes;
        const written: UserAttributes = manager === undefined ? withoutManager : op.attributes;
        let scimId: string;
        try {
          scimId = await target.createUser(op.sourceId, written, manager);
        } catch (error) {
          if (!(error instanceof ScimRequestError && error.kind === "conflict")) throw error;
          // A retried POST whose first try succeeded, or a user made by hand with this name:
          // adopt it rather than fail (never a 409 storm, never a duplicate).
          const existing =
            (await target.findUser({ externalId: op.sourceId })) ?? (await target.findUser({ userName: op.attributes.userName }));
          const owner = existing ? managedBy(existing.scimId) : undefined;
          if (!existing || (owner !== undefined && owner !== op.sourceId)) throw error;
          // One with another externalId is another tool's or another source user's (the plan may give
          // it to them in a later phase, e.g. renaming it away): never taken over.
          if (existing.externalId !== undefined && existing.externalId !== op.sourceId) throw new Error(blockedUserReason(existing, "foreign-external-id"));
          const diff = diffAttributes(withoutManager, existing.attributes, options.managedAttributes);
          if (manager !== undefined && existing.managerScimId !== manager) diff.set.managerSourceId = op.attributes.managerSourceId;
          const externalId = existing.externalId === op.sourceId ? undefined : op.sourceId;
          if (Object.keys(diff.set).length > 0 || diff.clear.length > 0 || externalId !== undefined) {
            await target.updateUser(existing.scimId, {
              ...diff,
              ...(externalId !== undefined ? { externalId } : {}),
              ...(diff.set.managerSourceId !== undefined ? { managerScimId: manager } : {}),
            });
          }
          scimId = existing.scimId;
          adoptedOnConflict++;
        }
        state.users[op.sourceId] = managedUser(scimId, written);
        return;
      }
      case "createGroup": {
        const members = resolveAll(op.members, userScimId);
        let scimId: string;
        try {
          scimId = await target.createGroup(op.sourceId, op.displayName, members.scimIds);
        } catch (error) {
          if (!(error instanceof ScimRequestError && error.kind === "conflict")) throw error;
          const existing =
            (await target.findGroup({ externalId: op.sourceId })) ?? (await target.findGroup({ displayName: op.displayName }));
          const owner = existing ? groupManagedBy(existing.scimId) : undefined;
          if (!existing || (owner !== undefined && owner !== op.sourceId)) throw error;
          // The same ownership rule as the plan's: never a protected group (whatever externalId it
          // carries); ours by externalId, else adopted by name only when allowed.
          if (matchesAnyGlob(existing.displayName, options.protectedGroups)) throw new Error(blockedGroupReason(existing, "protected"));
          if (existing.externalId !== op.sourceId) {
            if (existing.externalId !== undefined) throw new Error(blockedGroupReason(existing, "foreign-external-id"));
            if (!options.adoptGroupsByName) throw new Error(blockedGroupReason(existing, "adoption-off"));
          }
          if (existing.externalId !== op.sourceId) await target.updateGroup(existing.scimId, { externalId: op.sourceId });
          // Adding a present member is a no-op in AWS; members it holds beyond these are removed at the next full read.
          if (members.scimIds.length > 0) await target.addMembers(existing.scimId, members.scimIds);
          scimId = existing.scimId;
          adoptedOnConflict++;
        }
        state.groups[op.sourceId] = managedGroup(scimId, op.displayName, members.sourceIds);
        if (members.missing.length > 0) throw new Error(`created without ${members.missing.length} member(s) whose user could not be created`);
        return;
      }
      case "updateUser": {
        const scimId = op.scimId ?? userScimId({ sourceId: op.sourceId });
        if (scimId === undefined) throw new Error("its create failed earlier in this run");
        const manager = op.manager ? userScimId(op.manager) : undefined;
        if (op.manager && manager === undefined) throw new Error("its manager could not be created");
        if (sendsRequest(op)) {
          try {
            await target.updateUser(scimId, {
              set: op.set,
              clear: op.clear,
              ...(op.externalId !== undefined ? { externalId: op.externalId } : {}),
              ...(manager !== undefined ? { managerScimId: manager } : {}),
            });
          } catch (error) {
            // Deleted under us: forget it so the next run creates it again.
            if (error instanceof ScimRequestError && error.kind === "notFound") forgetUser(state, op.sourceId);
            throw error;
          }
        }
        state.users[op.sourceId] = managedUser(scimId, op.attributes);
        return;
      }
      case "updateGroup": {
        if (sendsRequest(op)) {
          try {
            await target.updateGroup(op.scimId, {
              ...(op.displayName !== undefined ? { displayName: op.displayName } : {}),
              ...(op.externalId !== undefined ? { externalId: op.externalId } : {}),
            });
          } catch (error) {
            if (error instanceof ScimRequestError && error.kind === "notFound") delete state.groups[op.sourceId];
            throw error;
          }
        }
        // The members the plan read (or, from the state, those it records): after a run stopped
        // before saving, AWS may hold members the state does not know, and the next runs would add them again.
        state.groups[op.sourceId] = managedGroup(op.scimId, op.desiredDisplayName, op.currentMemberSourceIds);
        return;
      }
      case "addMembers":
      case "removeMembers": {
        const groupId = groupScimId(op.group);
        const record = state.groups[op.groupSourceId];
        if (groupId === undefined || record === undefined) throw new Error("its group could not be created or adopted");
        const members = resolveAll(op.members, userScimId);
        if (members.scimIds.length > 0) {
          if (op.kind === "addMembers") await target.addMembers(groupId, members.scimIds);
          else await target.removeMembers(groupId, members.scimIds);
        }
        const current = new Set(state.groups[op.groupSourceId]?.memberSourceIds ?? record.memberSourceIds);
        for (const id of members.sourceIds) {
          if (op.kind === "addMembers") current.add(id);
          else current.delete(id);
        }
        state.groups[op.groupSourceId] = managedGroup(groupId, record.displayName, current);
        if (members.missing.length > 0) throw new Error(`${members.missing.length} member(s) could not be created`);
        return;
      }
      case "deleteGroup": {
        await target.deleteGroup(op.scimId);
        if (op.sourceId !== undefined) delete state.groups[op.sourceId];
        return;
      }
      case "deleteUser": {
        await target.deleteUser(op.scimId);
        if (op.sourceId !== undefined) forgetUser(state, op.sourceId);
        return;
      }
    }
  };

  let phaseIndex = 0;
  try {
    for (let index = 0; index < PHASES.length; index++) {
      // Progress numbers the phases from creates = 1 (of 7); deletes that free a name run as phase 0.
      phaseIndex = index;
      const ops = plan.operations.filter((op) => phaseOf(op) === index);
      if (ops.length === 0) continue;
      let finished = 0;
      let deadline = false;
      // Users whose manager this run creates too come in later waves, so each is created with its
      // manager's SCIM id already known: one request per user instead of a create and a PATCH.
      for (const wave of wavesOf(ops)) {
        let next = 0;
        const worker = async () => {
          while (fatal === undefined && !deadline && next < wave.length) {
            if (options.stopStartingAt !== undefined && now() >= options.stopStartingAt) {
              deadline = true;
              break;
            }
            const op = wave[next++]!;
            try {
              await run(op);
              done[op.kind]++;
            } catch (error) {
              if ((error instanceof SyncError && error.exitCode === 2) || (error instanceof ScimRequestError && error.kind === "response")) {
                // Bad credentials, or an endpoint that does not answer SCIM (a proxy's HTML page):
                // every other request would fail the same way. Let the operations in flight finish,
                // save, then stop.
                fatal ??= { error, fromCheckpoint: false };
                finished++;
                break;
              }
              const reason = error instanceof SyncError ? error.describe() : (error as Error).message;
              failed.push({ kind: op.kind, subject: subjectOf(op), reason: shown(reason, 600) });
              // Listed once at the end of the run (after the summary); here only for following along.
              options.log?.debug(`${op.kind} ${subjectOf(op)} failed: ${reason}`);
            }
            finished++;
            options.onProgress?.({ phase: phaseIndex, done: finished, total: ops.length });
            if (++sinceCheckpoint >= checkpointEvery || now() - lastCheckpointAt >= checkpointEveryMs) checkpoint();
          }
        };
        await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, wave.length)) }, worker));
        if (fatal !== undefined || deadline) break;
      }
      notStarted += ops.length - finished;
      checkpoint();
      await checkpointing;
      if (fatal !== undefined || deadline) {
        notStarted += plan.operations.filter((op) => phaseOf(op) > index).length;
        break;
      }
    }
  } catch (error) {
    // Not expected (per-record errors are caught above); still save what was done before failing.
    fatal ??= { error, fromCheckpoint: false };
    checkpoint();
  }
  await checkpointing;
  if (fatal !== undefined) throw fatal.error;
  return { state, done, failed, notStarted, adoptedOnConflict };
}

function resolveAll(refs: readonly UserRef[], resolve: (ref: UserRef) => string | undefined) {
  const scimIds: string[] = [];
  const sourceIds: string[] = [];
  const missing: UserRef[] = [];
  for (const ref of refs) {
    const id = resolve(ref);
    if (id === undefined) missing.push(ref);
    else {
      scimIds.push(id);
      if (ref.sourceId !== undefined) sourceIds.push(ref.sourceId);
    }
  }
  return { scimIds, sourceIds, missing };
}

function forgetUser(state: SyncState, sourceId: string): void {
  delete state.users[sourceId];
  for (const group of Object.values(state.groups)) {
    if (!group.memberSourceIds.includes(sourceId)) continue;
    group.memberSourceIds = group.memberSourceIds.filter((id) => id !== sourceId);
    group.hash = ""; // changed: hashed again at the next save
  }
}

/** What an operation is about, for messages: escaped and shortened (names come from Google and AWS). */
export function subjectOf(op: Operation): string {
  switch (op.kind) {
    case "createUser":
    case "updateUser":
      return shown(op.attributes.userName);
    case "createGroup":
      return `"${shown(op.displayName)}"`;
    case "updateGroup":
      return `"${shown(op.desiredDisplayName)}"`;
    case "addMembers":
    case "removeMembers":
      return `group ${shown(op.groupSourceId)} (${op.members.length} member(s))`;
    case "deleteGroup":
      return `"${shown(op.displayName)}"`;
    case "deleteUser":
      return shown(op.userName);
  }
}
