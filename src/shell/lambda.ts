/**
 * @module The AWS Lambda shell (custom runtime provided.al2023): the binary polls the Runtime API
 * itself, with no runtime library. Init reads the configuration from IDPSCIM_* variables; then,
 * forever: GET /next → the configured sync, bounded by the invocation's deadline → POST /response
 * or /error, with one JSON log line per event (Powertools keys) and one EMF metrics line per run.
 * Protocol: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 *
 * Outcomes: a run that left records failed answers /error (Function.RecordsFailed), like exit 1 on
 * the command line. EventBridge invokes asynchronously and Lambda retries a function error twice
 * (about 1 and 3 minutes later): a retry re-plans from the saved state, so it is harmless, and it
 * often repairs the record (a transient rejection, a user deleted by hand); the error also makes
 * Lambda's Errors metric, and any alarm on it, fire. A run cut short by its deadline with nothing
 * failed is healthy (a large first sync takes several runs): /response with continuesNextRun.
 */
import { loadConfig, requireFor, type ResolvedConfig } from "../config/load.ts";
import { EXIT, isSyncError, SyncError } from "../core/errors.ts";
import type { OperationKind, PlanSummary } from "../core/plan.ts";
import type { SyncReport } from "../core/sync.ts";
import { buildEmf, metricsFromRun, writeEmf, type MetricValues } from "../log/emf.ts";
import { createLogger, type ManagedLogger } from "../log/logger.ts";
import { fetchWithoutTimeout, setEnvironmentVariable } from "../platform/runtime.ts";
import { logStreamAudit } from "./audit-log.ts";
import { describeError } from "./messages.ts";
import { requestsJson } from "./render.ts";
import { runConfiguredSync, stopStartingAtFor, type ConfiguredSyncResult } from "./run-sync.ts";
import { scimTokenCheck } from "./token-expiry.ts";

const API_VERSION = "2018-06-01";
/** What the Runtime API's OpenAPI file asks error bodies to be sent as. */
const ERROR_CONTENT_TYPE = "application/vnd.aws.lambda.error+json";
/** A lost /next connection is polled again after a pause that grows to this. */
const POLL_PAUSE_MAX_MS = 2_000;
/** Consecutive failed polls after which the Runtime API is taken as gone (about a minute). */
const POLL_FAILURES_MAX = 30;

/** `Lambda-Runtime-Function-Error-Type` values; the Runtime API accepts `(Runtime|Function)\.[A-Z][a-zA-Z]+`. */
export type FunctionErrorType =
  | "Function.ConfigInvalid"
  | "Function.SafetyRefused"
  | "Function.SyncFailed"
  | "Function.RecordsFailed";

export interface LambdaErrorBody {
  errorMessage: string;
  errorType: string;
  /** Always empty: a compiled binary's minified stack says nothing useful. */
  stackTrace: string[];
}

/** The /response body: what an `aws lambda invoke` prints (EventBridge discards it). */
export interface InvocationSummary {
  outcome: "synced" | "planned";
  plan: PlanSummary;
  done: Record<OperationKind, number> | null;
  failures: number;
  notStarted: number;
  /** True when operations were left for the next run (deadline reached). */
  continuesNextRun: boolean;
  tenantRead: SyncReport["tenantRead"];
  requests: { scim: number; google: number; scimByRoute: Record<string, number>; googleByMethod: Record<string, number>; ldap?: { searches: number; pages: number } };
  durationMs: number;
}

export type InvocationOutcome =
  | { kind: "response"; summary: InvocationSummary }
  | { kind: "error"; errorType: FunctionErrorType; body: LambdaErrorBody; summary?: InvocationSummary };

interface NextInvocation {
  requestId: string;
  deadlineMs?: number;
  traceId?: string;
  body: string;
}

/**
 * Runs the Runtime API loop until the API says the sandbox is unusable, and returns the exit
 * code. An init failure is posted to /runtime/init/error first (and returns 2).
 */
export async function runLambda(env: Record<string, string | undefined>): Promise<number> {
  const api = `http://${env.AWS_LAMBDA_RUNTIME_API}/${API_VERSION}/runtime`;
  const service = env.POWERTOOLS_SERVICE_NAME || "idpscim";
  const secrets = new Set<string>();
  let log = redactionAware(createLogger({ level: "info", format: "json", service }), secrets);

  let config: ResolvedConfig;
  try {
    config = initialConfig(env);
    log = redactionAware(createLogger({ level: config.logLevel, format: "json", service }), secrets);
    log.redact(config.aws.scimAccessToken);
    if (config.state.file !== undefined) {
      log.warn(
        `state.file ${config.state.file}: a Lambda sandbox's files do not outlive it, so each cold start reads the whole AWS tenant again; set aws.s3_bucket_name (IDPSCIM_AWS_S3_BUCKET_NAME) instead`,
      );
    }
    if (config.auditLog !== undefined) {
      log.warn(`audit_log ${config.auditLog}: in Lambda the audit trail goes to the log stream (lines with "audit":"idpscim"), not to a file; unset IDPSCIM_AUDIT_LOG`);
    }
    log.info(`lambda runtime ready: function ${env.AWS_LAMBDA_FUNCTION_NAME ?? "?"} (${env.AWS_LAMBDA_FUNCTION_VERSION ?? "?"}), configuration from environment${config.useSecretsManager ? " and Secrets Manager" : ""}`);
  } catch (error) {
    const body = errorBody(error, secrets);
    log.error(`init failed: ${body.errorMessage}`);
    const type = isSyncError(error) && error.exitCode === EXIT.config ? "Runtime.ConfigInvalid" : "Runtime.InitFailed";
    await postToApi(`${api}/init/error`, JSON.stringify(body), { "Content-Type": ERROR_CONTENT_TYPE, "Lambda-Runtime-Function-Error-Type": type }, log);
    return EXIT.config;
  }

  let coldStart = true;
  for (;;) {
    const next = await nextInvocation(api, log);
    if ("fatal" in next) {
      log.error(`runtime API: ${next.fatal}; exiting so Lambda starts a new sandbox`);
      return EXIT.partial;
    }
    await handleInvocation(next, { api, env, config, log, service, secrets, coldStart });
    coldStart = false;
  }
}

/**
 * The configuration from IDPSCIM_* variables only, checked as far as it can be without the
 * network: values that Secrets Manager will provide are not reported missing here.
 */
export function initialConfig(env: Record<string, string | undefined>): ResolvedConfig {
  const config = loadConfig({ argv: {}, env, readFile: false });
  if (config.configFile !== undefined) {
    throw new SyncError("CONFIG_INVALID", "IDPSCIM_CONFIG_FILE is set, but in Lambda the configuration comes only from environment variables and Secrets Manager", {
      hint: "remove it and set the function's IDPSCIM_* variables instead",
    });
  }
  requireFor(config, "sync", { secretsPending: true });
  return config;
}

/** Long-polls /next with no client timeout; a lost connection is polled again, a refusal is fatal. */
async function nextInvocation(api: string, log: ManagedLogger): Promise<NextInvocation | { fatal: string }> {
  for (let failures = 0; ; ) {
    let response: Response;
    let body: string;
    try {
      response = await fetchWithoutTimeout(`${api}/invocation/next`);
      body = await response.text();
    } catch (error) {
      failures++;
      if (failures >= POLL_FAILURES_MAX) return { fatal: `GET /next failed ${failures} times in a row (last: ${(error as Error).message})` };
      const pause = Math.min(POLL_PAUSE_MAX_MS, 100 * 2 ** (failures - 1));
      log.warn(`runtime API: GET /next failed (${(error as Error).message}); polling again in ${pause} ms`);
      await new Promise((resolve) => setTimeout(resolve, pause));
      continue;
    }
    if (response.status !== 200) return { fatal: `GET /next answered ${response.status} ${body.slice(0, 200)}` };
    const requestId = response.headers.get("lambda-runtime-aws-request-id");
    if (!requestId) return { fatal: "GET /next answered without Lambda-Runtime-Aws-Request-Id" };
    const deadline = Number(response.headers.get("lambda-runtime-deadline-ms"));
    const traceId = response.headers.get("lambda-runtime-trace-id");
    return { requestId, body, ...(Number.isFinite(deadline) && deadline > 0 ? { deadlineMs: deadline } : {}), ...(traceId ? { traceId } : {}) };
  }
}

interface InvocationContext {
  api: string;
  env: Record<string, string | undefined>;
  config: ResolvedConfig;
  log: ManagedLogger;
  service: string;
  secrets: Set<string>;
  coldStart: boolean;
}

async function handleInvocation(next: NextInvocation, context: InvocationContext): Promise<void> {
  const { api, env, config, log, service, secrets } = context;
  const started = Date.now();
  // OS-only runtimes must copy the trace header themselves for the X-Ray SDK (and Powertools' xray_trace_id).
  setEnvironmentVariable("_X_AMZN_TRACE_ID", next.traceId);
  log.setContext({ function_request_id: next.requestId, cold_start: context.coldStart, xray_trace_id: traceRoot(next.traceId) });

  const event = parseEvent(next.body);
  const options = invocationOptions(event);
  // The same margin as the command line's --max-duration (30 s of a 900 s timeout): operations in flight finish and the state is saved in time.
  const stopAt = next.deadlineMs === undefined ? undefined : stopStartingAtFor(started, next.deadlineMs);
  log.info(
    `invocation: ${describeEvent(event)}` +
      (options.dryRun || options.reconcile ? ` (${[options.dryRun ? "dryRun" : "", options.reconcile ? "reconcile" : ""].filter(Boolean).join(", ")})` : "") +
      (next.deadlineMs === undefined || stopAt === undefined
        ? "; no deadline given"
        : `; deadline in ${((next.deadlineMs - started) / 1000).toFixed(1)}s, no new operation after ${((stopAt - started) / 1000).toFixed(1)}s`),
  );

  let outcome: InvocationOutcome;
  let metrics: MetricValues;
  try {
    const result = await runConfiguredSync(config, env, log, {
      dryRun: options.dryRun,
      reconcile: options.reconcile,
      // The invocation's id names the run, as function_request_id names its log lines.
      runId: next.requestId,
      auditTrail: logStreamAudit(log),
      ...(stopAt === undefined ? {} : { stopStartingAt: stopAt }),
      // Lambda ends the sandbox at its deadline: a lock this invocation leaves is free from then on.
      ...(next.deadlineMs === undefined ? {} : { endsBy: next.deadlineMs }),
    });
    outcome = outcomeOfRun(result, options.dryRun);
    metrics = metricsFromRun(result.report, result.figures);
  } catch (error) {
    outcome = outcomeOfError(error, secrets);
    // Figures of an aborted run are not known: report only its duration.
    metrics = { DurationMs: Date.now() - started };
    if (isSyncError(error)) log.error(describeError(error));
    else {
      log.error(`unexpected error: ${(error as Error)?.message ?? String(error)}`);
      log.debug((error as Error)?.stack ?? "");
    }
  }

  // Also when the run failed: a run refused with 401 is when the token's days left matter most.
  const token = scimTokenCheck(config, Date.now());
  if (token !== undefined) metrics.ScimTokenDaysLeft = token.daysLeft;
  // Metrics and logs go out before the answer: after it, Lambda may freeze the sandbox.
  writeEmf(
    buildEmf({
      service,
      timestamp: Date.now(),
      metrics,
      properties: { function_request_id: next.requestId, ...(outcome.kind === "error" ? { error_type: outcome.errorType } : {}) },
    }),
  );
  if (outcome.kind === "error") log.error(`invocation failed (${outcome.errorType}): ${outcome.body.errorMessage}`);

  const status =
    outcome.kind === "response"
      ? await postToApi(`${api}/invocation/${encodeURIComponent(next.requestId)}/response`, JSON.stringify(outcome.summary), { "Content-Type": "application/json" }, log)
      : await postToApi(
          `${api}/invocation/${encodeURIComponent(next.requestId)}/error`,
          JSON.stringify(outcome.body),
          { "Content-Type": ERROR_CONTENT_TYPE, "Lambda-Runtime-Function-Error-Type": outcome.errorType },
          log,
        );
  if (status !== undefined && status !== 202) log.error(`runtime API refused the ${outcome.kind} for ${next.requestId} with status ${status}`);
  log.setContext({ function_request_id: undefined, cold_start: undefined, xray_trace_id: undefined });
  setEnvironmentVariable("_X_AMZN_TRACE_ID", undefined);
}

/** A finished run: records failed → /error; otherwise /response, also when the deadline left work for the next run. */
export function outcomeOfRun(result: ConfiguredSyncResult, dryRun: boolean): InvocationOutcome {
  const { report, figures } = result;
  const failed = report.applied?.failed ?? [];
  const notStarted = report.applied?.notStarted ?? 0;
  const summary: InvocationSummary = {
    outcome: dryRun ? "planned" : "synced",
    plan: report.planSummary,
    done: report.applied?.done ?? null,
    failures: failed.length,
    notStarted,
    continuesNextRun: notStarted > 0,
    tenantRead: report.tenantRead,
    requests: requestsJson(figures),
    durationMs: figures.durationMs,
  };
  if (failed.length > 0) {
    const shown = failed.slice(0, 5).map((f) => `${f.kind} ${f.subject}: ${f.reason}`);
    const more = failed.length > shown.length ? `; and ${failed.length - shown.length} more` : "";
    return {
      kind: "error",
      errorType: "Function.RecordsFailed",
      body: {
        errorMessage: `${failed.length} record(s) failed, the others were synced; they are tried again next run${notStarted > 0 ? ` (and ${notStarted} operations were left for it)` : ""}: ${shown.join("; ")}${more}`,
        errorType: "RECORDS_FAILED",
        stackTrace: [],
      },
      summary,
    };
  }
  return { kind: "response", summary };
}

/** A run that threw: configuration (exit 2), safety refusal (exit 3) or anything else. */
export function outcomeOfError(error: unknown, secrets: ReadonlySet<string> = new Set()): InvocationOutcome {
  const body = errorBody(error, secrets);
  const errorType: FunctionErrorType = isSyncError(error)
    ? error.exitCode === EXIT.config
      ? "Function.ConfigInvalid"
      : error.exitCode === EXIT.safety
        ? "Function.SafetyRefused"
        : "Function.SyncFailed"
    : "Function.SyncFailed";
  return { kind: "error", errorType, body };
}

function errorBody(error: unknown, secrets: ReadonlySet<string>): LambdaErrorBody {
  const message = isSyncError(error) ? describeError(error) : `unexpected error: ${(error as Error)?.message ?? String(error)}`;
  let scrubbed = message;
  for (const secret of secrets) scrubbed = scrubbed.split(secret).join("***");
  return { errorMessage: scrubbed, errorType: isSyncError(error) ? error.code : ((error as Error)?.name ?? "Error"), stackTrace: [] };
}

/** Any JSON is accepted (EventBridge rule envelope, Scheduler input, a manual invoke); not JSON → undefined. */
export function parseEvent(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Optional switches for manual or scheduled invokes: `{"reconcile": true}` reads the whole tenant,
 * `{"dryRun": true}` only plans. Anything else, such as EventBridge's envelope, means a plain sync.
 */
export function invocationOptions(event: unknown): { dryRun: boolean; reconcile: boolean } {
  const record = typeof event === "object" && event !== null ? (event as Record<string, unknown>) : {};
  return { dryRun: record.dryRun === true, reconcile: record.reconcile === true };
}

function describeEvent(event: unknown): string {
  if (typeof event !== "object" || event === null) return event === undefined ? "event (not JSON)" : `event ${JSON.stringify(event).slice(0, 80)}`;
  const e = event as Record<string, unknown>;
  if (typeof e["detail-type"] === "string") {
    const resources = Array.isArray(e.resources) ? e.resources.filter((r) => typeof r === "string") : [];
    return `"${e["detail-type"]}" from ${String(e.source ?? "?")}${resources.length ? ` (${resources.join(", ")})` : ""}${typeof e.time === "string" ? ` at ${e.time}` : ""}`;
  }
  return `event with keys ${Object.keys(e).slice(0, 10).join(", ") || "(none)"}`;
}

/** Powertools logs the Root part of the X-Ray header as xray_trace_id. */
export function traceRoot(traceId: string | undefined): string | undefined {
  if (!traceId) return undefined;
  return /(?:^|;)Root=([^;]+)/.exec(traceId)?.[1] ?? traceId;
}

/** POSTs to the Runtime API, retrying a lost connection twice; the status, or undefined if never answered. */
async function postToApi(url: string, body: string, headers: Record<string, string>, log: ManagedLogger): Promise<number | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, { method: "POST", body, headers });
      await response.arrayBuffer();
      return response.status;
    } catch (error) {
      if (attempt >= 3) {
        log.error(`runtime API: POST ${new URL(url).pathname} failed: ${(error as Error).message}`);
        return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/** The logger, also remembering every redacted value, so error bodies sent to Lambda are scrubbed the same way. */
function redactionAware(log: ManagedLogger, secrets: Set<string>): ManagedLogger {
  return {
    ...log,
    redact(secret) {
      log.redact(secret);
      if (secret && secret.length >= 8) secrets.add(secret);
    },
  };
}
