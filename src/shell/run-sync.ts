/**
 * @module The configured sync both shells run: configuration → secrets → adapters → `runSync`,
 * with the run's figures (requests by API, duration) and its exit code. The CLI and the Lambda
 * differ only in where arguments come from and where results go.
 */
import { composeSource, composeStore, composeTarget, createSecretResolver, policyFor } from "../compose.ts";
import { resolveSecrets } from "../config/resolve-secrets.ts";
import { redactedConfig, requireForSync, type ResolvedConfig } from "../config/validate.ts";
import { EXIT } from "../core/errors.ts";
import { runSync, type SyncReport } from "../core/sync.ts";
import type { ManagedLogger } from "../log/logger.ts";
import { readTextFile } from "../platform/runtime.ts";
import { summaryLine, type RunFigures } from "./render.ts";

export interface ConfiguredSyncOptions {
  dryRun: boolean;
  reconcile: boolean;
  /** Epoch ms after which no new operation starts (Lambda deadline, --max-duration). */
  stopStartingAt?: number;
  onProgress?: (progress: { phase: number; done: number; total: number }) => void;
}

export interface ConfiguredSyncResult {
  report: SyncReport;
  figures: RunFigures;
  exitCode: number;
}

/** Resolves secrets and registers every secret value with the logger's redaction before any request. */
export async function resolveRunConfig(config: ResolvedConfig, log: ManagedLogger): Promise<{ config: ResolvedConfig; serviceAccountKey: string }> {
  log.redact(config.aws.scimAccessToken);
  const secrets = config.useSecretsManager ? createSecretResolver() : { get: async () => "" };
  const resolved = await resolveSecrets(config, secrets, readTextFile);
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
  requireForSync(finalConfig);
  const source = composeSource(finalConfig, serviceAccountKey, log);
  const target = composeTarget(finalConfig, log);
  const store = composeStore(finalConfig, environment);
  const report = await runSync(
    { source, target, store, log },
    {
      policy: policyFor(finalConfig),
      dryRun: options.dryRun,
      forceReconcile: options.reconcile,
      reconcileEveryMs: finalConfig.sync.reconcileEveryMs,
      concurrency: 8,
      ...(options.stopStartingAt !== undefined ? { stopStartingAt: options.stopStartingAt } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    },
  );
  const figures: RunFigures = { durationMs: Date.now() - started, scimRequests: target.stats().byRoute, googleRequests: source.stats().requests };
  log.info(summaryLine(report, figures));
  for (const failure of report.applied?.failed ?? []) log.error(`failed: ${failure.kind} ${failure.subject}: ${failure.reason}`);
  const incomplete = (report.applied?.failed.length ?? 0) > 0 || (report.applied?.notStarted ?? 0) > 0;
  return { report, figures, exitCode: incomplete ? EXIT.partial : EXIT.ok };
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
