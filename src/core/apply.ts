/**
 * @module The executor: runs a plan's operations phase by phase through the ScimTarget port with
 * bounded concurrency, isolates failing records, and keeps a working state that always says what
 * AWS holds for the managed resources (so a run stopped at any point resumes correctly).
 */
import type { SyncState } from "../model/index.ts";
import { auditedTarget, type Audit } from "./audit.ts";
import { ScimRequestError, SyncError } from "./errors.ts";
import { forgetUser, runOperation, type ConflictPolicy, type OperationContext } from "./handlers.ts";
import type { Operation, OperationKind, Plan } from "./plan.ts";
import { PHASES, phaseOf, wavesOf } from "./plan.ts";
import type { ScimTarget } from "./ports.ts";
import { forEachLimit } from "./pool.ts";
import { shown } from "./text.ts";

export interface ApplyOptions extends ConflictPolicy {
  target: ScimTarget;
  /** Operations in flight at once; the target's rate control paces the requests themselves. */
  concurrency: number;
  /** Epoch ms after which no new operation starts (the rest continues next run). */
  stopStartingAt?: number;
  /**
   * Aborted from outside (SIGTERM, Ctrl-C; its `reason` says which): as at `stopStartingAt`, no new
   * operation starts, those in flight finish and the state is saved; the rest continues next run.
   */
  signal?: AbortSignal;
  /**
   * How long, once `signal` aborts, the operations in flight are waited for (default 10 s). Past
   * it the state is saved without them (a create that lands later is adopted by externalId next
   * run), so a stop ends in time whatever one request does (systemd's TimeoutStopSec).
   */
  stopGraceMs?: number;
  /**
   * Aborted when the run hands its writes over to another plan (a head start's creates end when
   * the source read does): as at `stopStartingAt` no new operation starts, and those in flight
   * finish, however long they take (no grace: the next plan starts from what they recorded).
   */
  handOver?: AbortSignal;
  /**
   * Called with the working state itself every `checkpointEvery` operations, every
   * `checkpointEveryMs` (spaced SAVE_SPACING times the last one's duration), at the end of each
   * phase but the last, and before a fatal error is rethrown; it must read it before its first await
   * (StateStore.save does). Not at the end of the run, finished or stopped by `stopStartingAt`,
   * `signal` or `handOver`: its caller saves the state returned. A failing checkpoint (a state conflict) stops the run at
   * once: another run owns the state now.
   */
  checkpoint?: (state: SyncState) => Promise<void>;
  checkpointEvery?: number;
  checkpointEveryMs?: number;
  now?: () => number;
  onProgress?: (progress: { phase: number; done: number; total: number }) => void;
  log?: { debug(message: string): void; warn(message: string): void };
  /** Where every SCIM write is recorded, with what it changed and AWS's answer (src/core/audit.ts). */
  audit?: Audit;
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
  /** Operations not started because the deadline or the stop signal came (or a fatal error); they run next time. */
  notStarted: number;
  notStartedOperations: Operation[];
  /** Why operations stopped starting before the plan's end, when they did: `stopStartingAt` or `signal`. */
  stopped?: "deadline" | "signal";
  /** Operations still in flight when `stopGraceMs` ran out after the signal: their outcome is not in the state. */
  leftInFlight: number;
  /** Resources adopted after a create met 409 (a retried POST or a resource made by hand). */
  adoptedOnConflict: number;
}

export async function apply(plan: Plan, initial: SyncState, options: ApplyOptions): Promise<ApplyResult> {
  const now = options.now ?? Date.now;
  const ctx: OperationContext = {
    target: options.target,
    // A copy of the records, not of the entries: handlers replace a loaded entry, never change it
    // (a deep copy of a 200,000-user state would double the memory a run needs).
    state: { ...initial, users: { ...initial.users }, groups: { ...initial.groups } },
    managedAttributes: options.managedAttributes,
    adoptGroupsByName: options.adoptGroupsByName,
    protectedGroups: options.protectedGroups,
    counts: { adoptedOnConflict: 0 },
    ownGroups: new WeakSet(),
  };
  const status: RunStatus = {};
  const run: Run = {
    ctx,
    options,
    now,
    status,
    checkpoints: createCheckpoints(ctx.state, options, now, status),
    done: Object.fromEntries(PHASES.flat().map((k) => [k, 0])) as Record<OperationKind, number>,
    failed: [],
    started: new Set(),
    inFlight: 0,
  };
  for (const sourceId of plan.bookkeeping.forgetUsers) forgetUser(ctx.state, sourceId);
  for (const sourceId of plan.bookkeeping.forgetGroups) delete ctx.state.groups[sourceId];
  let leftInFlight = 0;
  try {
    const phases = PHASES.map((_, phase) => plan.operations.filter((op) => phaseOf(op) === phase));
    const last = phases.findLastIndex((ops) => ops.length > 0);
    for (let phase = 0; phase <= last; phase++) {
      const ops = phases[phase]!;
      if (ops.length === 0) continue;
      if ((await withinStopGrace(runPhase(phase, ops, run), options)) === "grace over") {
        leftInFlight = run.inFlight;
        run.status.stopped = "signal";
        options.log?.warn(`${leftInFlight} operation(s) still in flight ${(options.stopGraceMs ?? STOP_GRACE_MS) / 1000} s after the stop: the state is saved without them`);
      }
      // A run stopped by its deadline or a signal returns now, and so does one past its last
      // phase: its caller saves the state at once (the pending creates and the full read
      // recorded), and a save here would be that one twice (3-4 s at 200,000 users).
      if (run.status.fatal !== undefined || (run.status.stopped === undefined && phase < last)) run.checkpoints.save();
      await run.checkpoints.settled();
      if (run.status.fatal !== undefined || run.status.stopped !== undefined || options.handOver?.aborted) break;
    }
  } catch (error) {
    // Not expected (per-record errors are caught in runOne); still save what was done before failing.
    run.status.fatal ??= { error, fromCheckpoint: false };
    run.checkpoints.save();
  }
  await run.checkpoints.settled();
  // Operations abandoned in flight may still end: from now on the caller saves, never a checkpoint.
  run.checkpoints.close();
  if (run.status.fatal !== undefined) throw run.status.fatal.error;
  const notStarted = plan.operations.filter((op) => !run.started.has(op));
  return {
    state: ctx.state,
    done: run.done,
    failed: run.failed,
    notStarted: notStarted.length,
    notStartedOperations: notStarted,
    ...(run.status.stopped !== undefined && (notStarted.length > 0 || leftInFlight > 0) ? { stopped: run.status.stopped } : {}),
    leftInFlight,
    adoptedOnConflict: ctx.counts.adoptedOnConflict,
  };
}

/** The operations in the order apply starts them: phase by phase, each phase wave by wave, each wave in plan order. */
export function inApplyOrder(operations: readonly Operation[]): Operation[] {
  return PHASES.flatMap((_, phase) => wavesOf(operations.filter((op) => phaseOf(op) === phase)).flat());
}

/** The default of `stopGraceMs`: well inside the 30 s TimeoutStopSec of scripts/systemd/idpscim.service. */
export const STOP_GRACE_MS = 10_000;

/** `work`'s end, or "grace over" once `stopGraceMs` has passed since `signal` aborted (never without a signal). */
async function withinStopGrace(work: Promise<unknown>, options: ApplyOptions): Promise<"done" | "grace over"> {
  const { signal } = options;
  if (signal === undefined) return work.then(() => "done");
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort = () => {};
  const graceOver = new Promise<"grace over">((resolve) => {
    onAbort = () => (timer = setTimeout(() => resolve("grace over"), options.stopGraceMs ?? STOP_GRACE_MS));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work.then(() => "done" as const), graceOver]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/** One apply() as it goes: what the phases, the operations and the checkpoints share. */
interface Run {
  ctx: OperationContext;
  options: ApplyOptions;
  now: () => number;
  status: RunStatus;
  checkpoints: Checkpoints;
  done: Record<OperationKind, number>;
  failed: FailedOperation[];
  /** Operations started so far (all phases), and how many of them have not ended yet. */
  started: Set<Operation>;
  inFlight: number;
}

interface RunStatus {
  /** The error that stops the whole run (bad credentials, a failed state write); the first one wins. */
  fatal?: { error: unknown; fromCheckpoint: boolean };
  /** `stopStartingAt` has come, or `signal` aborted: no new operation starts (the rest continues next run). */
  stopped?: "deadline" | "signal";
}

/**
 * Runs one phase's operations, wave after wave, `concurrency` at a time; stops starting new ones
 * at a fatal error, the deadline or the stop signal.
 */
async function runPhase(phase: number, ops: readonly Operation[], run: Run): Promise<void> {
  const { options, status } = run;
  let finished = 0;
  const stop = () => {
    if (status.fatal === undefined && status.stopped === undefined) {
      if (options.signal?.aborted) status.stopped = "signal";
      else if (options.stopStartingAt !== undefined && run.now() >= options.stopStartingAt) status.stopped = "deadline";
    }
    return status.fatal !== undefined || status.stopped !== undefined || options.handOver?.aborted === true;
  };
  for (const wave of wavesOf(ops)) {
    await forEachLimit(
      wave,
      options.concurrency,
      async (op) => {
        run.started.add(op);
        run.inFlight++;
        const outcome = await runOne(op, run).finally(() => run.inFlight--);
        finished++;
        if (outcome === "fatal") return;
        // Progress numbers the phases from creates = 1 (of 7); deletes that free a name run as phase 0.
        options.onProgress?.({ phase, done: finished, total: ops.length });
        run.checkpoints.counted();
      },
      { stop },
    );
    if (status.fatal !== undefined || status.stopped !== undefined || options.handOver?.aborted) break;
  }
}

/** Runs one operation and records its outcome: done, failed (the record's alone), or fatal (the run stops). */
async function runOne(op: Operation, run: Run): Promise<"done" | "failed" | "fatal"> {
  try {
    const { audit } = run.options;
    await runOperation(op, audit === undefined ? run.ctx : { ...run.ctx, target: auditedTarget(run.ctx.target, op, run.ctx.state, audit, run.now) });
    run.done[op.kind]++;
    return "done";
  } catch (error) {
    if ((error instanceof SyncError && error.exitCode === 2) || (error instanceof ScimRequestError && error.kind === "response")) {
      // Bad credentials, or an endpoint that does not answer SCIM (a proxy's HTML page): every
      // other request would fail the same way. Let the operations in flight finish, save, then stop.
      run.status.fatal ??= { error, fromCheckpoint: false };
      return "fatal";
    }
    const reason = error instanceof SyncError ? error.describe() : (error as Error).message;
    run.failed.push({ kind: op.kind, subject: subjectOf(op), reason: shown(reason, 600) });
    // Listed once at the end of the run (after the summary); here only for following along.
    run.options.log?.debug(`${op.kind} ${subjectOf(op)} failed: ${reason}`);
    return "failed";
  }
}

interface Checkpoints {
  /** Queues the save of a copy of the working state as it is now. */
  save(): void;
  /** After each finished operation: saves every `checkpointEvery` operations or `checkpointEveryMs`. */
  counted(): void;
  /** Resolves once every queued save has ended. */
  settled(): Promise<void>;
  /** No save is queued from now on (apply has returned; its caller saves the final state). */
  close(): void;
}

/**
 * How many times the last save's duration a periodic save waits from that save's start: saving
 * then takes at most a twentieth of a run. A save serialises and writes the whole state at once,
 * and no request is sent meanwhile (measured: 0.6 s at 20,000 users, 3–4 s at 200,000), so saves
 * every 30 s of a state that size would leave a tenth of a throttled run without a write.
 */
export const SAVE_SPACING = 20;

/**
 * Saves go one after another, never two at once: a save asked while one runs is made when it
 * ends, of the state as it is then (the asks in between come to one save). Each save serialises
 * the working state at once, so no copy of it is kept. A failing save (a state conflict) is the
 * run's fatal error and no later save is tried: another run owns the state now, and SCIM is never
 * written on without a place to record it, nor over a state another run wrote.
 *
 * What a periodic save is for: a run killed mid-way (kill -9, Lambda's timeout, out of memory)
 * loses from its state only what it did since the last one, and nothing of it in AWS: the next
 * run plans it again, a create meets 409 and is adopted by externalId (handlers.ts), a member
 * added again is a no-op. What a kill costs is those requests once more. So saves come every
 * `checkpointEvery` operations or `checkpointEveryMs`, which bound that cost while the state is
 * small and saving cheap, but never sooner than SAVE_SPACING times the last save's duration after
 * its start, which bounds what saving costs a run that never fails once the state is large (a
 * kill then costs at most that many save durations of work again: about a minute at 200,000
 * users). The saves that matter whatever they cost are made all the same: at the end of each
 * phase and before a fatal error is rethrown.
 */
function createCheckpoints(state: SyncState, options: ApplyOptions, now: () => number, status: RunStatus): Checkpoints {
  // The count matters for fast (unthrottled) runs, the time for slow ones.
  const every = options.checkpointEvery ?? 1000;
  const everyMs = options.checkpointEveryMs ?? 30_000;
  let since = 0;
  let lastAt = now();
  // How long the last save took (the serialisation included: it blocks the run).
  let lastSaveMs = 0;
  let wanted = false;
  let running: Promise<void> | undefined;
  let closed = false;
  const writeWhileWanted = async () => {
    while (wanted && !status.fatal?.fromCheckpoint) {
      wanted = false;
      const started = now();
      try {
        await options.checkpoint!(state);
      } catch (error) {
        status.fatal ??= { error, fromCheckpoint: true };
      }
      lastSaveMs = now() - started;
    }
  };
  const save = () => {
    if (!options.checkpoint || status.fatal?.fromCheckpoint || closed) return;
    since = 0;
    lastAt = now();
    wanted = true;
    // An ask that came after the loop's last look is made now (`finally` runs after this assignment).
    running ??= writeWhileWanted().finally(() => {
      running = undefined;
      if (wanted) save();
    });
  };
  return {
    save,
    counted: () => {
      const sinceLast = now() - lastAt;
      // Not while a save runs: periodic saves never queue up behind one another.
      if ((++since >= every || sinceLast >= everyMs) && running === undefined && sinceLast >= SAVE_SPACING * lastSaveMs) save();
    },
    settled: async () => {
      while (running !== undefined) await running;
    },
    close: () => {
      closed = true;
    },
  };
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
