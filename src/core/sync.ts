/**
 * @module One sync run: load state, read the source, read the tenant only when due, plan, check
 * the guardrails, apply, save. The CLI and the Lambda are thin shells over `runSync`.
 */
import type { SyncState, TenantGroup, TenantSnapshot } from "../model/index.ts";
import { emptyState } from "../model/index.ts";
import { apply, type ApplyResult } from "./apply.ts";
import { refusalEvents, rejectedRecordEvent, type Audit } from "./audit.ts";
import { fitForAws } from "./aws-limits.ts";
import { SyncError } from "./errors.ts";
import { READ_CONCURRENCY, confirmOwnership } from "./confirm.ts";
import { checkGuardrails, refusalError, upsertOnly, type DeleteLimit, type GuardrailVerdict, type Refusal } from "./guardrails.ts";
import { mapLimit } from "./pool.ts";
import { plan as makePlan, summarisePlan, type Plan, type PlanPolicy, type PlanSummary } from "./plan.ts";
import { continuesFromState } from "./resume.ts";
import type { DirectorySource, LoadedState, Logger, ScimTarget, SourceSnapshot, StateStore, SyncTargets } from "./ports.ts";
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
  const { loaded, state, source, policy, tenantRead, plan, counted = source } = await unlessStopped(readAndPlan(deps, options, now), options.signal);
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
  checkBeforeWriting(report, options, now(), deps.audit);
  await applyAndSave(deps, report, { loaded, state, policy, options, now });
  return report;
}

/** Everything before the first write: the state, the source, the tenant as far as needed, and the plan. */
async function readAndPlan(deps: SyncDependencies, options: SyncOptions, now: () => number) {
  const loaded = await loadState(deps);
  deps.settle?.();
  const state: SyncState = loaded?.state ?? emptyState();
  // Adopting an AWS group by its name is the migration case: until the first run that read the
  // whole tenant has finished (a large one takes several runs), unless set otherwise.
  const firstRun = loaded?.state.lastFullReadAt === undefined;
  const policy: PlanPolicy = { ...options.policy, adoptGroupsByName: options.adoptGroups === "always" || (options.adoptGroups === "first-run" && firstRun) };
  if (options.targets !== undefined) return { loaded, state, policy, ...(await readAndPlanTargets(deps, state, policy, options.targets)) };
  const source = await readSource(deps.source, state);
  deps.settle?.();
  for (const warning of source.warnings) deps.log.warn(warning);
  deps.log.info(`source: ${source.groups.length} groups, ${source.users.length} users`);
  const tenantRead = decideTenantRead(loaded?.state, options, now());
  const plan = await planRun(deps, source, state, policy, tenantRead);
  deps.settle?.();
  return { loaded, state, source, policy, tenantRead, plan, counted: undefined };
}

/**
 * The source as the run plans on it, read in its own call: the snapshot as read (every user with
 * its own attributes, about 100 MB at 200,000 users) must be unreachable once its users share the
 * state's attributes, and a value left in the caller's frame is still found by the collector's
 * scan of the stack (measured: the dropped snapshot was kept until the next await).
 */
async function readSource(source: DirectorySource, state: SyncState): Promise<SourceSnapshot> {
  return sourceSharingState(fitForAws(await source.read()), state);
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
 * claims confirmed by reading what the plan would touch. Upsert drops what takes access away.
 */
async function planRun(deps: SyncDependencies, source: SourceSnapshot, state: SyncState, policy: PlanPolicy, tenantRead: SyncReport["tenantRead"]): Promise<Plan> {
  const { log } = deps;
  const tenant: TenantSnapshot = tenantRead === "skipped" ? tenantFromState(state) : await readTenant(deps.target, source, state);
  if (tenantRead !== "skipped") log.info(`tenant (${tenantRead} full read): ${tenant.users.length} users, ${tenant.groups.length} groups`);
  deps.settle?.();
  const planStarted = performance.now();
  let planned = makePlan(source, tenant, state, policy);
  log.debug(`plan: ${planned.operations.length} operations in ${(performance.now() - planStarted).toFixed(1)} ms`);
  if (tenantRead === "skipped") {
    const confirmed = await confirmOwnership(planned, tenant, state, deps.target, (t) => makePlan(source, t, state, policy));
    planned = confirmed.plan;
    if (confirmed.reads > 0) log.info(`ownership: read ${confirmed.reads} time(s) what this run would change, to confirm it is ours`);
  }
  return upsertFiltered(log, planned, source, policy);
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
  state: SyncState;
  policy: PlanPolicy;
  options: SyncOptions;
  now: () => number;
}

/** Runs the plan, saving progress as it goes and the final state when anything changed; fills `report.applied`. */
async function applyAndSave(deps: SyncDependencies, report: SyncReport, ctx: ApplyContext): Promise<void> {
  const { plan, tenantRead } = report;
  const { state, policy, options, now } = ctx;
  let version = ctx.loaded?.version;
  const save = async (next: SyncState) => {
    const started = performance.now();
    version = await deps.store.save(next, version);
    deps.log.debug(`state: saved ${Object.keys(next.users).length} users, ${Object.keys(next.groups).length} groups in ${(performance.now() - started).toFixed(0)} ms`);
  };
  const { audit } = deps;
  // Refused at planning: recorded before the writes, in the order they were decided.
  if (audit !== undefined) for (const rejected of plan.rejected) audit.trail.record(rejectedRecordEvent(rejected, audit, now()));
  // apply saves what was done before it rethrows (auth failure mid-run, state conflict, bug).
  const result = await apply(plan, state, {
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
    checkpoint: save,
    now,
    log: deps.log,
    ...(audit === undefined ? {} : { audit }),
  });
  const { state: finalState, notStartedOperations: notStarted, ...applied } = result;
  // Records the plan could not act on are failed records too: the run exits 1 and says why.
  applied.failed = [...plan.rejected.map((r) => ({ kind: r.kind, subject: r.subject, reason: r.reason })), ...applied.failed];
  report.applied = applied;
  // A run cut short records its full read only when the next run, trusting the state, would plan
  // every operation it left again (see continuesFromState): a 200,000-user first sync takes ten
  // runs, and a full read would cost each of them a third of its 15 minutes.
  const resumable = applied.leftInFlight === 0 && notStarted.every((op) => continuesFromState(op, finalState));
  if (tenantRead !== "skipped" && tenantRead !== "targeted" && resumable) finalState.lastFullReadAt = new Date(now()).toISOString();
  // A scheduled run with nothing to do must cost nothing: a state as loaded is not written again.
  const changed = !ctx.loaded || !sameState(finalState, state);
  if (changed) {
    finalState.updatedAt = new Date(now()).toISOString();
    await save(finalState);
    report.stateSaved = true;
  }
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
 * Reads every user and group of the tenant (cursor pagination), then the members of the groups
 * this run manages or may adopt: AWS never lists members with a group, so each costs a filter query.
 */
export async function readTenant(target: ScimTarget, source: SourceSnapshot, state: SyncState): Promise<TenantSnapshot> {
  const [users, groups] = await Promise.all([target.listUsers(tenantUserSharing(source, state)), target.listGroups()]);
  const managedScimIds = new Set(Object.values(state.groups).map((g) => g.scimId));
  const sourceIds = new Set(source.groups.map((g) => g.sourceId));
  const names = new Set(source.groups.map((g) => g.displayName));
  const relevant = (g: TenantGroup) =>
    managedScimIds.has(g.scimId) || (g.externalId !== undefined && sourceIds.has(g.externalId)) || names.has(g.displayName);
  // Each member id read is a new string; sharing the user's own keeps 1,000,000 memberships from holding as many copies.
  const userIds = new Map<string, string>();
  for (const u of users) userIds.set(u.scimId, u.scimId);
  const withMembers = await mapLimit(groups.filter(relevant), READ_CONCURRENCY, async (g) => {
    const memberScimIds = (await target.listGroupMembers(g.scimId)).map((id) => userIds.get(id) ?? id);
    return { ...g, memberScimIds };
  });
  return { users, groups: [...withMembers, ...groups.filter((g) => !relevant(g))] };
}
