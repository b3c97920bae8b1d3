/**
 * @module The configured sync both shells run: configuration → secrets → adapters → `runSync`,
 * with the run's figures (requests by API, duration) and its exit code. The CLI and the Lambda
 * differ only in where arguments come from and where results go. Also the deadline margin.
 */
import { composeSource, composeStore, composeTarget, createSecretResolver, policyFor } from "../compose.ts";
import { resolveSecrets, type SecretsNeeded } from "../config/resolve-secrets.ts";
import { redactedConfig, requireFor, type ResolvedConfig } from "../config/load.ts";
import { EXIT } from "../core/errors.ts";
import type { RunLock } from "../core/ports.ts";
import { runSync, type SyncReport } from "../core/sync.ts";
import type { ManagedLogger } from "../log/logger.ts";
import { exit, onSignal, readTextFile } from "../platform/runtime.ts";
import { renderRefusal } from "./messages.ts";
import { summaryLine, type RunFigures } from "./render.ts";

export interface ConfiguredSyncOptions {
  dryRun: boolean;
  reconcile: boolean;
  /** Go over sync.max_deletes and sync.max_membership_removals for this run (the CLI's --force). */
  force?: boolean;
  /** Act on a source with no groups or no users (the CLI's --allow-empty-source). */
  allowEmptySource?: boolean;
  /** Epoch ms after which no new operation starts (see `stopStartingAtFor`). */
  stopStartingAt?: number;
  /** Epoch ms by which the runtime ends the process (Lambda's deadline): recorded in the run lock. */
  endsBy?: number;
  onProgress?: (progress: { phase: number; done: number; total: number }) => void;
  /** Told the run's figures once it ends, also when it stops on an error (for `sync --output json`). */
  onFigures?: (figures: RunFigures) => void;
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
  const secrets = config.useSecretsManager ? createSecretResolver() : { get: async () => "" };
  const resolved = await resolveSecrets(config, secrets, readTextFile, needed);
  log.redact(resolved.config.aws.scimAccessToken);
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
  const { config: finalConfig, serviceAccountKey } = await resolveRunConfig(config, log);
  requireFor(finalConfig, options.dryRun ? "plan" : "sync");
  const source = composeSource(finalConfig, serviceAccountKey, log);
  const target = composeTarget(finalConfig, log);
  const store = composeStore(finalConfig, environment);
  // A second run stops before reading anything (plan and dry runs write nothing: no lock).
  const locking = options.dryRun ? undefined : store.lockForRun?.(log, options.endsBy === undefined ? {} : { endsBy: options.endsBy });
  // Ctrl-C and systemd's stop leave no lock behind (progress is in the last checkpoint), also
  // when they come while the lock is being taken. An S3 lock's delete is a request: given 3 s,
  // then the process exits anyway (the lock goes stale).
  const releaseAndExit = (code: number) => () => {
    const released = locking?.then((held) => held.release(), () => undefined);
    void Promise.race([released, new Promise((resolve) => setTimeout(resolve, 3_000))]).finally(() => exit(code));
  };
  // Removed after the run: a Lambda sandbox runs many invocations in one process.
  const unsubscribe = locking ? [onSignal("SIGINT", releaseAndExit(130)), onSignal("SIGTERM", releaseAndExit(143))] : [];
  let lock: RunLock | undefined;
  let report: SyncReport;
  const figuresNow = (): RunFigures => ({ durationMs: Date.now() - started, scimRequests: target.stats().byRoute, googleRequests: source.stats().requests });
  try {
    lock = await locking;
    report = await runSync(
      { source, target, store, log },
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
        onOverridden: (allowed) => {
          for (const rule of allowed) log.warn(`allowed for this run only: ${renderRefusal(rule).message}`);
        },
        ...(options.stopStartingAt !== undefined ? { stopStartingAt: options.stopStartingAt } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      },
    );
  } finally {
    for (const remove of unsubscribe) remove();
    options.onFigures?.(figuresNow());
    await lock?.release();
  }
  const figures = figuresNow();
  log.info(summaryLine(report, figures));
  for (const failure of report.applied?.failed ?? []) log.error(`failed: ${failure.kind} ${failure.subject}: ${failure.reason}`);
  const notStarted = report.applied?.notStarted ?? 0;
  if (notStarted > 0) log.warn(`time budget reached: ${notStarted} operation(s) not started; they continue next run (the state holds what was done)`);
  // A run cut by its deadline is healthy (a large first sync on Lambda takes several runs): exit 0.
  return { report, figures, exitCode: (report.applied?.failed.length ?? 0) > 0 ? EXIT.partial : EXIT.ok };
}

/**
 * When to stop starting operations for a run that must end by `deadline`: early enough for the
 * operations in flight to finish and the state to be saved. The margin is max(10 s, 10% of the
 * budget), but at most half the budget so a short budget still does some work.
 *
 * @example
 * stopStartingAtFor(start, start + 600_000); // start + 540 s (60 s margin)
 * stopStartingAtFor(start, start + 60_000);  // start + 50 s (10 s margin)
 */
export function stopStartingAtFor(startedAt: number, deadline: number): number {
  const budget = Math.max(0, deadline - startedAt);
  const margin = Math.min(Math.max(10_000, budget * 0.1), budget / 2);
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
