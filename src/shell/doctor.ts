/**
 * @module `idpscim doctor`: loads the configuration as a run would, runs every check
 * (src/doctor/) and prints one line per check and a summary, or one JSON document with
 * --output json. Exit 0 when no check failed, 1 otherwise. Writes nothing but the state's probe,
 * which it removes; every secret met is scrubbed from what it prints.
 */
import { loadConfig, type ResolvedConfig } from "../config/load.ts";
import { escapeControls, safeJson } from "../core/text.ts";
import type { Check, Verdict } from "../doctor/checks.ts";
import { configFailed, doctorExitCode, runDoctor } from "../doctor/run.ts";
import { createLogger, type LogFormat, type LogLevelName, type ManagedLogger } from "../log/logger.ts";
import { writeStdout } from "../platform/runtime.ts";
import { resolveRunConfig } from "./run-sync.ts";

const LABEL: Record<Verdict, string> = { pass: "PASS", fail: "FAIL", warn: "WARN", skip: "SKIP" };

function counts(checks: readonly Check[]): Record<Verdict, number> {
  const out: Record<Verdict, number> = { pass: 0, fail: 0, warn: 0, skip: 0 };
  for (const c of checks) out[c.verdict]++;
  return out;
}

/** One line per check (`FAIL  scim-token  SCIM access token: …`), its fix indented below, then the summary. */
export function renderDoctorText(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((c) => c.id.length));
  const lines = checks.flatMap((c) => {
    const line = `${LABEL[c.verdict]}  ${c.id.padEnd(width)}  ${c.title}: ${escapeControls(c.detail)}`;
    return c.fix === undefined ? [line] : [line, `${" ".repeat(width + 8)}fix: ${escapeControls(c.fix)}`];
  });
  const n = counts(checks);
  const verdict = n.fail > 0 ? `; fix the ${n.fail === 1 ? "failing check" : "failing checks"} and run idpscim doctor again` : "";
  lines.push("", `doctor: ${n.pass} passed, ${n.fail} failed, ${n.warn} warned, ${n.skip} skipped${verdict}`);
  return `${lines.join("\n")}\n`;
}

/** `{ ok, exitCode, counts, checks: [{ id, title, verdict, detail, fix? }] }`. */
export function renderDoctorJson(checks: readonly Check[]): string {
  const exitCode = doctorExitCode(checks);
  return `${safeJson(JSON.stringify({ ok: exitCode === 0, exitCode, counts: counts(checks), checks }, null, 2))}\n`;
}

export interface DoctorRequest {
  argv: Record<string, unknown>;
  env: Record<string, string | undefined>;
  output: "table" | "json";
  early: { level: LogLevelName; format: LogFormat };
}

export async function runDoctorCommand(request: DoctorRequest): Promise<number> {
  let config: ResolvedConfig;
  try {
    config = loadConfig({ argv: request.argv, env: request.env });
  } catch (error) {
    return report(configFailed(error), createLogger(request.early), request.output);
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  log.redact(config.aws.scimAccessToken);
  log.redact(config.ldap.bindPassword);
  const checks = await runDoctor({
    config,
    env: request.env,
    log,
    resolve: (needed) => resolveRunConfig(config, log, needed),
    redact: (secret) => log.redact(secret),
  });
  return report(checks, log, request.output);
}

/** The checks on stdout, every secret the logger knows scrubbed; the exit code. */
function report(checks: readonly Check[], log: ManagedLogger, output: DoctorRequest["output"]): number {
  writeStdout(log.scrub(output === "json" ? renderDoctorJson(checks) : renderDoctorText(checks)));
  return doctorExitCode(checks);
}
