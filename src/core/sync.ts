/**
 * @module One sync run: load state, read the source, read the tenant only when due, plan, check
 * the guardrails, apply, save. The CLI and the Lambda are thin shells over `runSync`.
 */
import type { SyncState, TenantGroup, TenantSnapshot, TenantUser } from "../model/index.ts";
import { emptyState } from "../model/index.ts";
import { apply, inApplyOrder, type ApplyOptions, type ApplyResult } from "./apply.ts";
import { refusalEvents, rejectedRecordEvent, type Audit } from "./audit.ts";
import { fitForAws } from "./aws-limits.ts";
import { SyncError } from "./errors.ts";
import { READ_CONCURRENCY, confirmOwnership } from "./confirm.ts";
import { checkGuardrails, countedByRails, refusalError, upsertOnly, type DeleteLimit, type GuardrailVerdict, type Refusal } from "./guardrails.ts";
import { mapLimit } from "./pool.ts";
import { plan as makePlan, sendsRequest, summarisePlan, type Operation, type Plan, type PlanPolicy, type PlanSummary } from "./plan.ts";
import { headStartHint, headStartIds, headStartPlan, pendingUserCreates } from "./head-start.ts";
import { continuesFromState } from "./resume.ts";
import type { DirectorySource, HeadStart, LoadedState, Logger, ScimTarget, SourceSnapshot, StateStore, SyncTargets } from "./ports.ts";
import { sourceSharingState, tenantUserSharing } from "./shared-attributes.ts";
import { sameState, tenantFromState } from "./state.ts";
import { explainNameClashes, knownRecords, resolveTargets, restrictPlan, targetedSource, targetedTenant, targetsFromSnapshot } from "./targeted.ts";

export interface SyncDependencies {
  source: DirectorySource;
  target: ScimTarget;
  store: StateStore;
  log: Logger;
  now?: () => number;
  /**
   * Called between the phases of a run (state loaded, source read, tenant read, plan made), each of
   * which leaves the previous one's working data behind: the shell collects that garbage there,
   * so the run's peak is what it holds, not what it held and dropped.
   */
  settle?: () => void;
  /** Where a sync records each SCIM write and each refusal, and the run's id (a plan records nothing: it writes nothing). */
  audit?: Audit;
}

export interface SyncOptions {
  policy: Omit<PlanPolicy, "adoptGroupsByName">;
  /** `sync.adopt_groups`: when an unmanaged AWS group may be taken over by its name. */
  adoptGroups: "first-run" | "always" | "never";
  /** Plan only: no SCIM write, no state write. */
  dryRun: boolean;
  /** Read the whole tenant even if `reconcileEveryMs` has not passed. */
  forceReconcile: boolean;
  reconcileEveryMs: number;
  concurrency: number;
  /** `sync.max_deletes`: required, so no caller can forget the rail. */
  maxDeletes: DeleteLimit;
  /** `sync.max_membership_removals`: required too. */
  maxMembershipRemovals: DeleteLimit;
  /** Go over `maxDeletes` and `maxMembershipRemovals` for this run. */
  force?: boolean;
  /** Act on a source with no groups or no users. */
  allowEmptySource?: boolean;
  /** Told, before any write, of the rules this run breaks but `force` or `allowEmptySource` allow; the shell words them. */
  onOverridden?: (allowed: readonly Refusal[]) => void;
  /** Epoch ms after which no new operation starts; reads that end after it abort the run before any write. */
  stopStartingAt?: number;
  /**
   * The most SCIM writes per second the target sends (its write pacer's limit, `aws.scim_rate_limit`).
   * With `stopStartingAt` it bounds how many operations the run can start: those past it are not
   * started, nor confirmed unless the rails count them (see `beyondReachFor`).
   */
  writesPerSecond?: number;
  /**
   * A stop asked from outside (SIGTERM, Ctrl-C; its `reason` names it). During the reads it ends
   * the run at once with STOPPED, before any write and with the state untouched; during the writes
   * no new operation starts, those in flight finish (at most `stopGraceMs`) and the state is saved.
   */
  signal?: AbortSignal;
  stopGraceMs?: number;
  onProgress?: (progress: { phase: number; done: number; total: number }) => void;
  /**
   * Sync on demand (`sync --user`, `--group`): read, plan and apply only these (src/core/targeted.ts).
   * The rest of the state is saved as it was loaded, and the last full read is not moved.
   */
  targets?: SyncTargets;
}

export interface SyncReport {
  plan: Plan;
  planSummary: PlanSummary;
  /** Why the tenant was (or was not) read in full. */
  tenantRead: "first-run" | "forced" | "due" | "skipped" | "targeted";
  /** What the safety rails say of this plan; a refused plan is never applied (dry runs report it). */
  guardrails: GuardrailVerdict;
  applied?: Omit<ApplyResult, "state" | "notStartedOperations">;
  stateSaved: boolean;
  sourceCounts: { users: number; groups: number; warnings: number };
}

export async function runSync(deps: SyncDependencies, options: SyncOptions): Promise<SyncReport> {
  const now = deps.now ?? Date.now;
  const saver = stateSaver(deps);
  const early: { run?: HeadStartRun } = {};
  let read: Awaited<ReturnType<typeof readAndPlan>>;
  try {
    read = await unlessStopped(readAndPlan(deps, options, now, saver, early), options.signal);
  } catch (error) {
    // A stop or a failure during the reads: the head start's creates end first, and their state is saved.
    const created = await early.run?.finish().then((r) => r?.done.createUser ?? 0, () => 0);
    throw created ? withHeadStartNote(error, created) : error;
  }
  early.run = undefined; // its known ids (every user's) are let go
  const { loaded, state, source, policy, tenantRead, plan, pastReach, counted = source, headStart } = read;
  const guardrails = checkGuardrails(plan, state, source, {
    maxDeletes: options.maxDeletes,
    maxMembershipRemovals: options.maxMembershipRemovals,
    force: options.force === true,
    allowEmptySource: options.allowEmptySource === true,
  });
  const report: SyncReport = {
    plan,
    planSummary: summarisePlan(plan),
    tenantRead,
    guardrails,
    stateSaved: false,
    sourceCounts: { users: counted.users.length, groups: counted.groups.length, warnings: counted.warnings.length },
  };
  if (options.dryRun) {
    for (const rejected of plan.rejected) deps.log.warn(`a sync would not sync ${rejected.kind} ${rejected.subject}: ${rejected.reason}`);
    return report;
  }
  try {
    checkBeforeWriting(report, options, now(), deps.audit);
  } catch (error) {
    const created = headStart?.done.createUser ?? 0;
    if (created > 0 && error instanceof SyncError && error.code === "SAFETY_REFUSED") {
      // Creates are never guarded: they give no access by themselves (no group yet), and the state holds them.
      deps.log.warn(`the head start created ${created} user(s) the last run left before the plan was checked (creates take no access away); nothing else was written`);
    }
    throw created > 0 ? withHeadStartNote(error, created) : error;
  }
  await applyAndSave(deps, report, { loaded, state, policy, options, now, saver, pastReach, ...(headStart ? { headStart } : {}) });
  return report;
}

/** Where the run saves its state: one version chain for the head start's saves and the plan's. */
interface StateSaver {
  version: string | undefined;
  save(next: SyncState): Promise<void>;
}

function stateSaver(deps: SyncDependencies): StateSaver {
  const saver: StateSaver = {
    version: undefined,
    save: async (next) => {
      const started = performance.now();
      saver.version = await deps.store.save(next, saver.version);
      deps.log.debug(`state: saved ${Object.keys(next.users).length} users, ${Object.keys(next.groups).length} groups in ${(performance.now() - started).toFixed(0)} ms`);
    },
  };
  return saver;
}

/** A head start's creates as they run: started by the source once it has read the users, ended by the run. */
interface HeadStartRun {
  hint: HeadStart;
  /**
   * The read is over (done, failed or stopped): no new create starts. The creates' result once
   * those in flight have ended and their state is saved; undefined when none ran. The same promise every call.
   */
  finish(): Promise<ApplyResult | undefined>;
}

/**
 * A head start for a run continuing one cut short (src/core/head-start.ts), or undefined: only
 * when this run trusts the state (its tenant read skipped) and the last run left users to create.
 */
function startHeadStart(deps: SyncDependencies, options: SyncOptions, state: SyncState, policy: PlanPolicy, writes: Omit<ApplyOptions, "handOver">): HeadStartRun | undefined {
  const knownIds = headStartIds(state);
  if (knownIds === undefined) return undefined;
  const handOver = new AbortController();
  let running: Promise<ApplyResult> | undefined;
  let finished: Promise<ApplyResult | undefined> | undefined;
  const hint = headStartHint(knownIds, (users) => {
    if (handOver.signal.aborted || options.signal?.aborted) return;
    const plan = headStartPlan(users, state, policy);
    deps.log.info(`head start: creating ${plan.operations.length} of the ${state.pendingUserCreates?.length ?? 0} user(s) the last run left, while the source read goes on`);
    if (plan.operations.length === 0) return;
    running = apply(plan, state, { ...writes, handOver: handOver.signal });
    running.catch(() => undefined); // awaited by finish; until then a failure must not count as unhandled
  });
  const finish = async () => {
    handOver.abort();
    const creates = running;
    running = undefined;
    const result = await creates;
    if (result === undefined) return undefined;
    // apply leaves the last save to its caller: the run may end before the plan's writes
    // (DEADLINE, STOPPED, a refused plan), and what the creates did must be in the state.
    await writes.checkpoint?.(result.state);
    deps.log.info(`head start: ${result.done.createUser} user(s) created while reading; the plan goes on from there`);
    // The creates not started are the plan's now: not held through the run (190,000 operations at the start of a large one).
    return { ...result, notStartedOperations: [] };
  };
  return { hint, finish: () => (finished ??= finish()) };
}

/** The error of a run that stopped after its head start created users: it says they are saved, not that nothing was written. */
function withHeadStartNote(error: unknown, created: number): unknown {
  if (!(error instanceof SyncError) || (error.code !== "STOPPED" && error.code !== "DEADLINE")) return error;
  const what = error.detail?.kind === "stopped" ? `stopped by ${error.detail.by} during the reads` : "the time budget ran out while reading the source";
  return new SyncError(error.code, `${what}; the ${created} user(s) created while reading (the head start) are saved in the state: the next run goes on from there`, {
    ...(error.detail !== undefined ? { detail: error.detail } : {}),
  });
}

/** How the run's writes are carried out: the same for the head start's creates and the plan's operations. */
function applyOptions(deps: SyncDependencies, options: SyncOptions, policy: PlanPolicy, saver: StateSaver, now: () => number): Omit<ApplyOptions, "handOver"> {
  const { audit } = deps;
  return {
    target: deps.target,
    concurrency: options.concurrency,
    managedAttributes: policy.managedAttributes,
    adoptGroupsByName: policy.adoptGroupsByName,
    protectedGroups: policy.protectedGroups,
    ...(options.stopStartingAt !== undefined ? { stopStartingAt: options.stopStartingAt } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.stopGraceMs !== undefined ? { stopGraceMs: options.stopGraceMs } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    // Progress is saved while the run goes, so a run killed half-way resumes without duplicates.
    // Then the garbage its requests left is collected: left to itself, the collector let a first
    // sync of 200,000 users pile up to its peak (592 MiB measured, 521 with a collection after each
    // save). Not after the final save: the run ends there.
    checkpoint: async (state) => {
      await saver.save(state);
      deps.settle?.();
    },
    now,
    log: deps.log,
    ...(audit === undefined ? {} : { audit }),
  };
}

/**
 * Everything before the first write of the plan: the state, the source, the tenant as far as
 * needed, and the plan. A head start's creates (`early.run`) may write while the source is read:
 * the plan is made from the state they leave.
 */
async function readAndPlan(deps: SyncDependencies, options: SyncOptions, now: () => number, saver: StateSaver, early: { run?: HeadStartRun }) {
  const loaded = await loadState(deps);
  saver.version = loaded?.version;
  deps.settle?.();
  const loadedState: SyncState = loaded?.state ?? emptyState();
  // Adopting an AWS group by its name is the migration case: until the first run that read the
  // whole tenant has finished (a large one takes several runs), unless set otherwise.
  const firstRun = loaded?.state.lastFullReadAt === undefined;
  const policy: PlanPolicy = { ...options.policy, adoptGroupsByName: options.adoptGroups === "always" || (options.adoptGroups === "first-run" && firstRun) };
  if (options.targets !== undefined) return { loaded, state: loadedState, policy, ...(await readAndPlanTargets(deps, loadedState, policy, options.targets)), pastReach: NONE, headStart: undefined };
  const tenantRead = decideTenantRead(loaded?.state, options, now());
  if (tenantRead === "skipped" && !options.dryRun) early.run = startHeadStart(deps, options, loadedState, policy, applyOptions(deps, options, policy, saver, now));
  const { source, state, headStart } = await readSource(deps.source, early.run, loadedState);
  deps.settle?.();
  for (const warning of source.warnings) deps.log.warn(warning);
  deps.log.info(`source: ${source.groups.length} groups, ${source.users.length} users`);
  const { plan, pastReach } = await planRun(deps, source, state, policy, tenantRead, beyondReachFor(options, now));
  deps.settle?.();
  return { loaded, state, source, policy, tenantRead, plan, pastReach, counted: undefined, headStart };
}

/**
 * The source as the run plans on it, read in its own call: the snapshot as read (every user with
 * its own attributes, about 100 MB at 200,000 users) must be unreachable once its users share the
 * state's attributes, and a value left in the caller's frame is still found by the collector's
 * scan of the stack (measured: the dropped snapshot was kept until the next await). A head start
 * (`early`) creates while the source is read, and has finished when this returns.
 */
async function readSource(source: DirectorySource, early: HeadStartRun | undefined, loadedState: SyncState): Promise<{ source: SourceSnapshot; state: SyncState; headStart: ApplyResult | undefined }> {
  let read: SourceSnapshot;
  let headStart: ApplyResult | undefined;
  try {
    read = await source.read(early?.hint, (sourceId) => (Object.hasOwn(loadedState.users, sourceId) ? loadedState.users[sourceId]!.attributes : undefined));
  } finally {
    headStart = await early?.finish();
  }
  // The head start's creates are in the state it leaves: the plan (and the sharing) starts from it.
  const state = headStart?.state ?? loadedState;
  return { source: sourceSharingState(fitForAws(read), state), state, headStart };
}

/**
 * A targeted run's reads and plan: the named users and groups from the source, what AWS holds for
 * them, and the full planner's plan on those cut down to them (see targeted.ts). It runs on top of
 * whatever a cut-short run left: it touches only its targets and never records a full read, so
 * the next scheduled run plans the rest as it would have. `counted` is what was read.
 */
async function readAndPlanTargets(deps: SyncDependencies, state: SyncState, policy: PlanPolicy, targets: SyncTargets) {
  const { log } = deps;
  const known = knownRecords(state);
  const answered = deps.source.readTargets ? await deps.source.readTargets(targets, known) : targetsFromSnapshot(await deps.source.read(), targets, known);
  const read = sourceSharingState(fitForAws(answered.snapshot), state);
  deps.settle?.();
  for (const warning of read.warnings) log.warn(warning);
  const scope = resolveTargets({ ...answered, snapshot: read }, state);
  log.info(`source (on demand): ${scope.namedUsers.size} named user(s), ${scope.namedGroups.size} named group(s); read ${read.users.length} users, ${read.groups.length} groups`);
  const { tenant, reads, alreadyRead } = await targetedTenant(deps.target, state, scope, read);
  log.info(`tenant (on demand): read ${reads} time(s) what AWS holds for the named users and groups`);
  const source = targetedSource(read, scope, state);
  const planOf = (t: TenantSnapshot) => explainNameClashes(restrictPlan(makePlan(source, t, state, policy), scope), read, state);
  const confirmed = await confirmOwnership(planOf(tenant), tenant, state, deps.target, planOf, alreadyRead);
  if (confirmed.reads > 0) log.info(`ownership: read ${confirmed.reads} time(s) what this run would change, to confirm it is ours`);
  return { source, tenantRead: "targeted" as const, plan: upsertFiltered(log, confirmed.plan, source, policy), counted: read };
}

function stoppedError(signal: AbortSignal): SyncError {
  const by = typeof signal.reason === "string" ? signal.reason : "a stop request";
  return new SyncError("STOPPED", `stopped by ${by} during the reads, before any write; nothing was written and the state is as it was: the next run starts over`, {
    detail: { kind: "stopped", phase: "reads", by },
  });
}

/**
 * `work`, unless `signal` aborts first: then STOPPED at once, without waiting for the reads (a
 * large tenant's takes minutes; systemd allows a stop seconds). What they would return is dropped.
 */
async function unlessStopped<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  // Dropped, not awaited: its later failure (a request cut by the exit) must not count as unhandled.
  work.catch(() => undefined);
  let onAbort = () => {};
  const stopped = new Promise<never>((_, reject) => {
    onAbort = () => reject(stoppedError(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  stopped.catch(() => undefined);
  try {
    return await Promise.race([work, stopped]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

async function loadState(deps: SyncDependencies): Promise<LoadedState | undefined> {
  const loaded = await deps.store.load();
  const where = deps.store.describe();
  if (!loaded) deps.log.info(`state: none yet at ${where}; first run`);
  else deps.log.info(`state: ${Object.keys(loaded.state.users).length} managed users, ${Object.keys(loaded.state.groups).length} managed groups (${where})`);
  return loaded;
}

/**
 * The plan against the tenant as this run knows it: read in full when due, else the state's
 * claims confirmed by reading what the plan would touch, as far as this run can reach (`reach`).
 * Upsert drops what takes access away. `pastReach`: the operations past the reach, which this
 * run must not start (the next run plans and confirms them again).
 */
async function planRun(
  deps: SyncDependencies,
  source: SourceSnapshot,
  state: SyncState,
  policy: PlanPolicy,
  tenantRead: SyncReport["tenantRead"],
  reach: Reach,
): Promise<{ plan: Plan; pastReach: ReadonlySet<Operation> }> {
  const { log } = deps;
  const tenant: TenantSnapshot = tenantRead === "skipped" ? tenantFromState(state) : await readTenant(deps.target, source, state, deps.settle);
  if (tenantRead !== "skipped") log.info(`tenant (${tenantRead} full read): ${tenant.users.length} users, ${tenant.groups.length} groups`);
  deps.settle?.();
  const planStarted = performance.now();
  let planned = makePlan(source, tenant, state, policy);
  log.debug(`plan: ${planned.operations.length} operations in ${(performance.now() - planStarted).toFixed(1)} ms`);
  let pastReach: ReadonlySet<Operation> = NONE;
  if (tenantRead === "skipped") {
    // Each confirmation round plans in full; what it confirms is the part within reach, and what
    // the rails count wherever it is: they judge the plan on what AWS holds, as without a deadline.
    let full = planned;
    const toConfirm = (p: Plan): Plan => {
      full = p;
      pastReach = reach(p);
      return pastReach.size === 0 ? p : { ...p, operations: p.operations.filter((op) => !pastReach.has(op) || countedByRails(op)) };
    };
    const confirmed = await confirmOwnership(toConfirm(planned), tenant, state, deps.target, (t) => toConfirm(makePlan(source, t, state, policy)));
    if (confirmed.reads > 0) log.info(`ownership: read ${confirmed.reads} time(s) what this run would change, to confirm it is ours`);
    planned = full;
    if (pastReach.size > 0) log.debug(`plan: ${pastReach.size} operation(s) past what this run can start before its deadline: left to the next run, most unread`);
  }
  return { plan: upsertFiltered(log, planned, source, policy), pastReach };
}

const NONE: ReadonlySet<Operation> = new Set();

/** The operations of a plan that the run cannot start (none without a deadline). */
type Reach = (plan: Plan) => ReadonlySet<Operation>;

/**
 * How far a run with a deadline can get: every operation that sends a request sends at least one
 * write, the write pacer sends at most `writesPerSecond` (retries and 409 adoptions take more,
 * never fewer), and `concurrency` more may have started, waiting for their request's slot. So
 * from now to `stopStartingAt` the run starts at most that many, in apply's order (phase by
 * phase, wave by wave): the operations past them are not started, nor read to be confirmed
 * unless the rails count them. (One that fails before its request, a member add whose users all
 * failed, takes no slot: the run may then run out of operations before its stop, never start one
 * past it.) A large first sync's continued runs are creates up to their deadline, yet each would
 * otherwise read every user the groups it will create later hold (1,500 list pages, 38 s at 40
 * reads/s, once 150,000 users are made) and plan a second time on what it read.
 */
function beyondReachFor(options: SyncOptions, now: () => number): Reach {
  const { stopStartingAt, writesPerSecond } = options;
  if (options.dryRun || stopStartingAt === undefined || writesPerSecond === undefined) return () => NONE;
  return (plan) => {
    // The pacer's first slot comes at once, then one every 1/writesPerSecond s.
    let starts = Math.max(0, ((stopStartingAt - now()) / 1000) * writesPerSecond) + 1 + options.concurrency;
    const past = new Set<Operation>();
    for (const op of inApplyOrder(plan.operations)) {
      if (starts <= 0) past.add(op);
      else if (sendsRequest(op)) starts--;
    }
    return past;
  };
}

/** The plan's warnings logged; in upsert mode, the plan less what takes access away. */
function upsertFiltered(log: Logger, planned: Plan, source: SourceSnapshot, policy: PlanPolicy): Plan {
  for (const warning of planned.warnings) log.warn(warning);
  if (policy.mode !== "upsert") return planned;
  const filtered = upsertOnly(planned, source);
  if (filtered.keptMemberships + filtered.keptUsers > 0) {
    log.info(`upsert mode: left in place ${filtered.keptMemberships} membership(s) and ${filtered.keptUsers} user(s) that left the scope`);
  }
  return filtered.plan;
}

/** Throws when the rails refuse the plan, or when the reads used up the time to write in. */
function checkBeforeWriting(report: SyncReport, options: SyncOptions, now: number, audit: Audit | undefined): void {
  const { guardrails, plan } = report;
  if (guardrails.overridden.length > 0) options.onOverridden?.(guardrails.overridden);
  const refused = refusalError(guardrails);
  // The rules broken, or (when the run goes on) those --force and --allow-empty-source let it break.
  if (audit !== undefined) {
    for (const event of refused ? refusalEvents(guardrails.refusals, "refused", audit, now) : refusalEvents(guardrails.overridden, "allowed", audit, now)) audit.trail.record(event);
  }
  if (refused) throw refused;
  if (options.signal?.aborted && plan.operations.length > 0) throw stoppedError(options.signal);
  if (options.stopStartingAt !== undefined && now >= options.stopStartingAt && plan.operations.length > 0) {
    throw new SyncError("DEADLINE", "the time budget ran out while reading the source and the tenant, before any write; nothing was written", {
      detail: { kind: "deadline", phase: "reads" },
    });
  }
}

interface ApplyContext {
  loaded: LoadedState | undefined;
  /** The state the plan was made from: the one loaded, or what the head start's creates left. */
  state: SyncState;
  policy: PlanPolicy;
  options: SyncOptions;
  now: () => number;
  saver: StateSaver;
  /** The head start's creates, counted in the run's result. */
  headStart?: ApplyResult;
  /** The plan's operations past what the run can start before its deadline: not started, left to the next run. */
  pastReach: ReadonlySet<Operation>;
}

/** Runs the plan, saving progress as it goes and the final state when anything changed; fills `report.applied`. */
async function applyAndSave(deps: SyncDependencies, report: SyncReport, ctx: ApplyContext): Promise<void> {
  const { plan, tenantRead } = report;
  const { state, policy, options, now, saver } = ctx;
  const { audit } = deps;
  // Refused at planning: recorded before the writes, in the order they were decided.
  if (audit !== undefined) for (const rejected of plan.rejected) audit.trail.record(rejectedRecordEvent(rejected, audit, now()));
  // apply saves what was done before it rethrows (auth failure mid-run, state conflict, bug).
  const { pastReach } = ctx;
  const runnable = pastReach.size === 0 ? plan : { ...plan, operations: plan.operations.filter((op) => !pastReach.has(op)) };
  const result = await apply(runnable, state, applyOptions(deps, options, policy, saver, now));
  const { state: finalState, notStartedOperations: leftByApply, ...applied } = result;
  const notStarted = pastReach.size === 0 ? leftByApply : [...leftByApply, ...plan.operations.filter((op) => pastReach.has(op))];
  applied.notStarted = notStarted.length;
  if (ctx.headStart !== undefined) addHeadStart(applied, ctx.headStart);
  // Records the plan could not act on are failed records too: the run exits 1 and says why.
  applied.failed = [...plan.rejected.map((r) => ({ kind: r.kind, subject: r.subject, reason: r.reason })), ...applied.failed];
  report.applied = applied;
  // The next run's head start; a targeted run leaves the last full run's as it was.
  if (tenantRead !== "targeted") {
    const pending = pendingUserCreates(notStarted);
    if (pending === undefined) delete finalState.pendingUserCreates;
    else finalState.pendingUserCreates = pending;
  }
  // A run cut short records its full read only when the next run, trusting the state, would plan
  // every operation it left again (see continuesFromState): a 200,000-user first sync takes ten
  // runs, and a full read would cost each of them a third of its 15 minutes.
  const resumable = applied.leftInFlight === 0 && notStarted.every((op) => continuesFromState(op, finalState));
  if (tenantRead !== "skipped" && tenantRead !== "targeted" && resumable) finalState.lastFullReadAt = new Date(now()).toISOString();
  // A scheduled run with nothing to do must cost nothing: a state as loaded is not written again.
  const changed = !ctx.loaded || !sameState(finalState, ctx.loaded.state);
  if (changed) {
    finalState.updatedAt = new Date(now()).toISOString();
    await saver.save(finalState);
    report.stateSaved = true;
  }
}

/** The head start's writes counted in the run's result (the plan ran after it, from what it left). */
function addHeadStart(applied: Omit<ApplyResult, "state" | "notStartedOperations">, headStart: ApplyResult): void {
  for (const kind of Object.keys(applied.done) as (keyof ApplyResult["done"])[]) applied.done[kind] += headStart.done[kind];
  applied.failed = [...headStart.failed, ...applied.failed];
  applied.adoptedOnConflict += headStart.adoptedOnConflict;
}

function decideTenantRead(state: SyncState | undefined, options: SyncOptions, now: number): SyncReport["tenantRead"] {
  if (!state) return "first-run";
  if (options.forceReconcile) return "forced";
  // The state records none of the users only_groups puts in groups (they are not ours): only the tenant knows them.
  if (options.policy.onlyGroups) return "due";
  const last = state.lastFullReadAt ? Date.parse(state.lastFullReadAt) : Number.NaN;
  // A time in the future (a clock set wrong, a state edited by hand) must not put drift repair off: due.
  if (Number.isNaN(last) || last > now || now - last >= options.reconcileEveryMs) return "due";
  return "skipped";
}

/**
 * How many users listed, and groups' members read, between two garbage collections (`settle`)
 * in a full read: each page AWS answers is garbage once mapped, and left to itself the collector
 * let 200,000 users' pages pile up to the peak of a reconcile (measured: +140 MiB RSS).
 */
const USERS_PER_SETTLE = 25_000;
const GROUPS_PER_SETTLE = 2_500;

/**
 * Reads every user and group of the tenant (cursor pagination), then the members of the groups
 * this run manages or may adopt: AWS never lists members with a group, so each costs a filter query.
 */
export async function readTenant(target: ScimTarget, source: SourceSnapshot, state: SyncState, settle?: () => void): Promise<TenantSnapshot> {
  const share = tenantUserSharing(source, state);
  let listed = 0;
  const each = (user: TenantUser) => {
    if (++listed % USERS_PER_SETTLE === 0) settle?.();
    return share(user);
  };
  const [users, groups] = await Promise.all([target.listUsers(each), target.listGroups()]);
  const managedScimIds = new Set(Object.values(state.groups).map((g) => g.scimId));
  const sourceIds = new Set(source.groups.map((g) => g.sourceId));
  const names = new Set(source.groups.map((g) => g.displayName));
  const relevant = (g: TenantGroup) =>
    managedScimIds.has(g.scimId) || (g.externalId !== undefined && sourceIds.has(g.externalId)) || names.has(g.displayName);
  // Each member id read is a new string; sharing the user's own keeps 1,000,000 memberships from holding as many copies.
  const userIds = new Map<string, string>();
  for (const u of users) userIds.set(u.scimId, u.scimId);
  let read = 0;
  const withMembers = await mapLimit(groups.filter(relevant), READ_CONCURRENCY, async (g) => {
    const memberScimIds = (await target.listGroupMembers(g.scimId)).map((id) => userIds.get(id) ?? id);
    if (++read % GROUPS_PER_SETTLE === 0) settle?.();
    return { ...g, memberScimIds };
  });
  return { users, groups: [...withMembers, ...groups.filter((g) => !relevant(g))] };
}
