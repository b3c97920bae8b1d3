/**
 * @module The configured sync both shells run: configuration → secrets → adapters → `runSync`,
 * with the run's figures (requests by API, duration) and its exit code. The CLI and the Lambda
 * differ only in where arguments come from and where results go. Also the deadline margin.
 */
import { composeSource, composeStore, composeTarget, createSecretResolver, policyFor } from "../compose.ts";
import { resolveSecrets, secretsForRun, type SecretsNeeded } from "../config/resolve-secrets.ts";
import { redactedConfig, requireFor, type ResolvedConfig } from "../config/load.ts";
import { STOP_GRACE_MS } from "../core/apply.ts";
import { EXIT, exitForStop } from "../core/errors.ts";
import type { Audit } from "../core/audit.ts";
import type { AuditTrail, RunLock, SyncTargets } from "../core/ports.ts";
import { runSync, type SyncReport } from "../core/sync.ts";
import type { ManagedLogger } from "../log/logger.ts";
import { collectGarbage, environment, memoryInUse, exit, exitSoon, onSignal, readTextFile } from "../platform/runtime.ts";
import { openAuditFile } from "./audit-log.ts";
import { renderRefusal } from "./messages.ts";
import { summaryLine, type RunFigures } from "./render.ts";
import { logScimTokenExpiry } from "./token-expiry.ts";

export interface ConfiguredSyncOptions {
  dryRun: boolean;
  reconcile: boolean;
  /** Go over sync.max_deletes and sync.max_membership_removals for this run (the CLI's --force). */
  force?: boolean;
  /** Act on a source with no groups or no users (the CLI's --allow-empty-source). */
  allowEmptySource?: boolean;
  /** `sync --user` / `--group`: only these (src/core/targeted.ts). */
  targets?: SyncTargets;
  /** Epoch ms after which no new operation starts (see `stopStartingAtFor`). */
  stopStartingAt?: number;
  /** Epoch ms by which the runtime ends the process (Lambda's deadline): recorded in the run lock. */
  endsBy?: number;
  onProgress?: (progress: { phase: number; done: number; total: number }) => void;
  /** Told the run's figures once it ends, also when it stops on an error (for `sync --output json`). */
  onFigures?: (figures: RunFigures) => void;
  /** The run's id in its summary and audit lines (the Lambda's request id); a random UUID by default. */
  runId?: string;
  /** Where a sync's audit trail goes instead of the `audit_log` file (the Lambda's log stream). */
  auditTrail?: AuditTrail;
}

export interface ConfiguredSyncResult {
  report: SyncReport;
  figures: RunFigures;
  exitCode: number;
}

/**
 * Resolves the secrets of the sides `needed` (both by default; `inspect` reads one side) and
 * registers every secret value with the logger's redaction before any request.
 */
export async function resolveRunConfig(config: ResolvedConfig, log: ManagedLogger, needed?: SecretsNeeded): Promise<{ config: ResolvedConfig; serviceAccountKey: string }> {
  log.redact(config.aws.scimAccessToken);
  log.redact(config.ldap.bindPassword);
  const secrets = config.useSecretsManager ? createSecretResolver() : { get: async () => "" };
  // systemd's LoadCredential= files, when it runs us with them (scripts/systemd/idpscim.service).
  const credentialsDirectory = environment().CREDENTIALS_DIRECTORY;
  const resolved = await resolveSecrets(config, secrets, readTextFile, {
    ...(needed !== undefined ? { needed } : {}),
    ...(credentialsDirectory !== undefined ? { credentialsDirectory } : {}),
  });
  log.redact(resolved.config.aws.scimAccessToken);
  log.redact(resolved.config.ldap.bindPassword);
  redactServiceAccount(log, resolved.serviceAccountKey);
  log.debug(`configuration: ${JSON.stringify(redactedConfig(resolved.config))}`);
  return resolved;
}

export async function runConfiguredSync(
  config: ResolvedConfig,
  environment: Record<string, string | undefined>,
  log: ManagedLogger,
  options: ConfiguredSyncOptions,
): Promise<ConfiguredSyncResult> {
  const started = Date.now();
  const runId = options.runId ?? crypto.randomUUID();
  // Before any request: a sync that cannot keep its audit trail writes nothing (exit 2). A plan writes nothing to record.
  const auditFile = options.dryRun || options.auditTrail !== undefined || config.auditLog === undefined ? undefined : openAuditFile(config.auditLog, log.scrub, log);
  const trail = options.dryRun ? undefined : (options.auditTrail ?? auditFile);
  try {
    logScimTokenExpiry(config, log, started);
    return await configuredSync(config, environment, log, options, { started, runId, ...(trail === undefined ? {} : { audit: { trail, run: runId } }) });
  } finally {
    auditFile?.close();
  }
}

async function configuredSync(
  config: ResolvedConfig,
  environment: Record<string, string | undefined>,
  log: ManagedLogger,
  options: ConfiguredSyncOptions,
  run: { started: number; runId: string; audit?: Audit },
): Promise<ConfiguredSyncResult> {
  const { started } = run;
  const { config: finalConfig, serviceAccountKey } = await resolveRunConfig(config, log, secretsForRun(config));
  requireFor(finalConfig, options.dryRun ? "plan" : "sync");
  const { source, figures: sourceFigures } = composeSource(finalConfig, serviceAccountKey, log);
  const target = composeTarget(finalConfig, log);
  const store = composeStore(finalConfig, environment);
  // A second run stops before reading anything (plan and dry runs write nothing: no lock).
  const locking = options.dryRun ? undefined : store.lockForRun?.(log, options.endsBy === undefined ? {} : { endsBy: options.endsBy });
  const stop = locking ? gracefulStop(log, locking) : undefined;
  let lock: RunLock | undefined;
  let report: SyncReport;
  const figuresNow = (): RunFigures => {
    const scim = target.stats();
    return {
      durationMs: Date.now() - started,
      scimRequests: scim.byRoute,
      scimByKind: { read: scim.byKind.read.requests, write: scim.byKind.write.requests },
      ...sourceFigures(),
    };
  };
  try {
    lock = await locking;
    report = await runSync(
      { source, target, store, log, settle: () => settle(log), ...(run.audit === undefined ? {} : { audit: run.audit }) },
      {
        policy: policyFor(finalConfig),
        dryRun: options.dryRun,
        forceReconcile: options.reconcile,
        reconcileEveryMs: finalConfig.sync.reconcileEveryMs,
        concurrency: 8,
        maxDeletes: finalConfig.sync.maxDeletes,
        maxMembershipRemovals: finalConfig.sync.maxMembershipRemovals,
        adoptGroups: finalConfig.sync.adoptGroups,
        force: options.force === true,
        allowEmptySource: options.allowEmptySource === true,
        ...(options.targets !== undefined ? { targets: options.targets } : {}),
        onOverridden: (allowed) => {
          for (const rule of allowed) log.warn(`allowed for this run only: ${renderRefusal(rule).message}`);
        },
        ...(options.stopStartingAt !== undefined ? { stopStartingAt: options.stopStartingAt } : {}),
        // The write pacer's limit (compose.ts): how many operations a run with a deadline can start.
        writesPerSecond: finalConfig.aws.scimRateLimit,
        ...(stop ? { signal: stop.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      },
    );
  } finally {
    // The handlers stay until the lock is released: a second signal while it is still exits at once.
    options.onFigures?.(figuresNow());
    await lock?.release();
    stop?.dispose();
  }
  const figures = figuresNow();
  log.info(summaryLine(report, figures, run.runId));
  for (const failure of report.applied?.failed ?? []) log.error(`failed: ${failure.kind} ${failure.subject}: ${failure.reason}`);
  const notStarted = report.applied?.notStarted ?? 0;
  if (report.applied?.stopped === "signal") {
    const by = String(stop?.signal.reason);
    const left = report.applied.leftInFlight > 0 ? ` and ${report.applied.leftInFlight} left in flight (adopted by externalId next run if they landed)` : "";
    log.warn(`stopped by ${by}: ${notStarted} operation(s) not started${left}; the state holds what was done; they continue next run`);
    return { report, figures, exitCode: exitForStop(by) };
  }
  if (notStarted > 0) log.warn(`time budget reached: ${notStarted} operation(s) not started; they continue next run (the state holds what was done)`);
  // A run cut by its deadline is healthy (a large first sync on Lambda takes several runs): exit 0.
  return { report, figures, exitCode: (report.applied?.failed.length ?? 0) > 0 ? EXIT.partial : EXIT.ok };
}

/**
 * Between a run's phases: the garbage they left collected, then what the run holds, in the debug
 * log (how memory is measured phase by phase), with what the collection took (the run waits for it).
 */
function settle(log: ManagedLogger): void {
  const started = performance.now();
  collectGarbage();
  const memory = memoryInUse();
  if (memory !== undefined) log.debug(`memory: rss ${memory.rssMiB} MiB, heap ${memory.heapMiB} MiB (collected in ${(performance.now() - started).toFixed(0)} ms)`);
}

/** After the stop signal, the most the run may take to end by itself before the process exits anyway (the state save hangs). */
const STOP_BACKSTOP_MS = 2 * STOP_GRACE_MS;
/** What an S3 lock's delete (a request) is given when the process exits without the run's own ending. */
const RELEASE_BOUND_MS = 1_000;

/**
 * SIGTERM (`systemctl stop`, a shutdown, TimeoutStartSec) and SIGINT (Ctrl-C) stop the run the way
 * its deadline does: `signal` aborts, so no new operation starts, those in flight finish (at most
 * STOP_GRACE_MS), the state is saved, the lock released, and the run exits 143 or 130. Reads in
 * progress end the run at once, before any write. A second signal, or a run still going
 * STOP_BACKSTOP_MS after the first, exits at once, the lock released best-effort (else it goes
 * stale; progress is in the last checkpoint). Removed after the run (`dispose`): a Lambda sandbox
 * runs many invocations in one process.
 */
function gracefulStop(log: ManagedLogger, locking: Promise<RunLock>): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let backstop: ReturnType<typeof setTimeout> | undefined;
  const exitNow = (code: number) => {
    const released = locking.then((held) => held.release(), () => undefined);
    void Promise.race([released, new Promise((resolve) => setTimeout(resolve, RELEASE_BOUND_MS))]).finally(() => exit(code));
  };
  const onStop = (name: "SIGINT" | "SIGTERM") => () => {
    const code = exitForStop(name);
    if (controller.signal.aborted) {
      log.error(`${name} again: exiting at once (exit ${code}); what was done since the last checkpoint is adopted by externalId next run`);
      exitNow(code);
      return;
    }
    log.warn(
      `${name}: stopping: no new operation starts, those in flight finish (at most ${STOP_GRACE_MS / 1000} s), then the state is saved and the run exits ${code}; send ${name} again to exit at once`,
    );
    controller.abort(name);
    backstop = setTimeout(() => {
      log.error(`the run did not end ${STOP_BACKSTOP_MS / 1000} s after ${name} (the state save hangs?): exiting (exit ${code}); the last checkpoint holds the progress`);
      exitNow(code);
    }, STOP_BACKSTOP_MS);
  };
  const unsubscribe = [onSignal("SIGINT", onStop("SIGINT")), onSignal("SIGTERM", onStop("SIGTERM"))];
  return {
    signal: controller.signal,
    dispose: () => {
      for (const remove of unsubscribe) remove();
      clearTimeout(backstop);
      // Reads or requests the stop dropped would keep the process alive: exit once the shell is done.
      if (controller.signal.aborted) exitSoon(1_000);
    },
  };
}

/**
 * The most a run keeps back at the end of its budget. What has to fit after the stop, at the
 * largest tenants (200,000 users):
 * - the operations in flight end: at most 8 (the SCIM pacers' concurrency), each a request or
 *   two that AWS answers in well under a second, or retried after a 429 (backoff from 250 ms,
 *   doubling, full jitter: its first five retries wait under 8 s in all);
 * - a checkpoint that may be running then, and the final state save: 2–6 s each (file or S3);
 * - the summary, the run lock's release, the Lambda's answer: well under a second.
 * That is under 20 s; 30 s leaves the rest as headroom. A fixed share would keep 90 s of a 900 s
 * run (2,250 writes at 25/s) for what takes 20. Not covered: a request that hangs until its 30 s
 * timeout just at the stop. The CLI then ends that much past its budget; Lambda ends the
 * invocation at its deadline, and what it did since its last checkpoint is adopted by
 * externalId next run (so nothing is duplicated nor lost).
 */
export const STOP_MARGIN_CAP_MS = 30_000;

/**
 * When to stop starting operations for a run that must end by `deadline`: early enough for the
 * operations in flight to finish and the state to be saved. The margin is 10% of the budget, at
 * least 10 s and at most STOP_MARGIN_CAP_MS (30 s from a 300 s budget on), and never more than
 * half the budget so a short one still does some work.
 *
 * @example
 * stopStartingAtFor(start, start + 900_000); // start + 870 s (30 s margin: Lambda's longest invocation)
 * stopStartingAtFor(start, start + 120_000); // start + 108 s (12 s margin)
 * stopStartingAtFor(start, start + 60_000);  // start + 50 s (10 s margin)
 */
export function stopStartingAtFor(startedAt: number, deadline: number): number {
  const budget = Math.max(0, deadline - startedAt);
  const margin = Math.min(Math.max(10_000, budget * 0.1), STOP_MARGIN_CAP_MS, budget / 2);
  return deadline - margin;
}

function redactServiceAccount(log: ManagedLogger, key: string): void {
  log.redact(key);
  try {
    const parsed = JSON.parse(key) as { private_key?: string; private_key_id?: string };
    log.redact(parsed.private_key);
    log.redact(parsed.private_key_id);
    // PEM lines are what ends up in an error message, if anything does.
    for (const line of parsed.private_key?.split("\n") ?? []) log.redact(line);
  } catch {
    // not JSON: the source adapter reports that clearly
  }
}
