/**
 * @module The `idpscim` command line: parses arguments (yargs, options from the option table),
 * resolves configuration, wires adapters and runs one command. Data on stdout, logs on stderr.
 */
import yargs, { type Argv } from "yargs";
import { composeSource, composeStore, composeTarget } from "../compose.ts";
import { flagSecretWarnings, loadConfig, redactedConfig, requireFor, requirementProblems, type ResolvedConfig } from "../config/load.ts";
import { envName, flagName, optionByPath, yargsOptions, type Command } from "../config/schema.ts";
import { nearest, parseDuration, quote } from "../config/validate.ts";
import { EXIT, redactSecretShapes, SyncError } from "../core/errors.ts";
import { createLogger, type LogFormat, type LogLevelName, type ManagedLogger } from "../log/logger.ts";
import { environment, stderrIsTerminal, writeStderr, writeStdout } from "../platform/runtime.ts";
import { VERSION } from "../version.ts";
import { describeError, renderRefusal, RUN_FLAGS } from "./messages.ts";
import { renderGuardrails, renderPlanJson, renderPlanText, renderSyncJson, renderTable, type RunFigures, type SyncOutcome } from "./render.ts";
import { resolveRunConfig, runConfiguredSync, stopStartingAtFor, type ConfiguredSyncResult } from "./run-sync.ts";
import type { SyncReport } from "../core/sync.ts";
import { runDoctorCommand } from "./doctor.ts";
import type { SyncTargets } from "../core/ports.ts";
import { CONFIG_IMPORT_OPTIONS, configImportRequest, runConfigImport, type ConfigImportRequest } from "./config-import.ts";

type Output = "table" | "json";

interface CommandRequest {
  command: "sync" | "plan" | "inspect" | "state-show" | "config-validate" | "config-import" | "doctor";
  dryRun: boolean;
  reconcile: boolean;
  /** Safety overrides for one `sync` run: CLI only, never a config key, so nothing leaves them on. */
  force?: boolean;
  allowEmptySource?: boolean;
  /** `--max-duration` in ms. */
  maxDurationMs?: number;
  output: Output;
  /** `plan --detailed-exitcode`: 0 nothing to do, 4 changes pending, 3 a sync would be refused. */
  detailedExitcode?: boolean;
  /** `config validate --for`: the command whose requirements are checked. */
  validateFor?: Command;
  inspect?: { system: "gws" | "ldap" | "scim"; what: string };
  configImport?: ConfigImportRequest;
  /** `sync --user/--group`, `plan --user/--group`: sync on demand. */
  targets?: SyncTargets;
  argv: Record<string, unknown>;
}

const COMMANDS = ["sync", "plan", "inspect", "state", "config", "doctor"];

/** `config validate --for` words (one word each, for the shell) and the commands they name. */
const VALIDATE_FOR: Record<string, Command> = {
  sync: "sync",
  plan: "plan",
  "inspect-gws": "inspect gws",
  "inspect-ldap": "inspect ldap",
  "inspect-scim": "inspect scim",
  "state-show": "state show",
  doctor: "doctor",
};

/**
 * A word from the command line quoted only when it reads as a mistyped command (short, lower-case
 * letters and dashes): anything else may be a token pasted after a "--flag=" by mistake.
 */
function shownWord(word: string): string | undefined {
  return /^[a-z][a-z-]{0,19}$/.test(word) ? JSON.stringify(word) : undefined;
}

function hiddenWord(word: string): string {
  return `a ${word.length}-character word, not shown as it may be a value meant for an option`;
}

/**
 * The usage problem of words left over after `command` took its own (yargs leaves them in
 * `argv._`), or `undefined` when there are none. `command` is undefined for the default command,
 * whose first stray word is a mistyped command (`idpscim paln`): without this check it would run
 * a real sync.
 */
export function strayWordsProblem(words: readonly unknown[], command: string | undefined): string | undefined {
  const stray = words.map(String);
  const first = stray[0];
  if (first === undefined) return undefined;
  if (command === undefined) {
    const shown = shownWord(first);
    const suggestion = shown === undefined ? undefined : nearest(first, COMMANDS);
    return `unknown command ${shown ?? `(${hiddenWord(first)})`}${suggestion !== undefined ? ` (did you mean ${suggestion}?)` : ""}; the commands are ${COMMANDS.join(", ")}`;
  }
  const more = stray.length > 1 ? ` and ${stray.length - 1} more` : "";
  return `${command} takes no further arguments, got ${shownWord(first) ?? `(${hiddenWord(first)})`}${more}; remove it, or give a value meant for an option right after that option`;
}

/** The commands' own flags that take a value; the option table's and config import's are read from them. */
const COMMAND_VALUE_FLAGS = ["output", RUN_FLAGS.maxDuration, "for", "user", "group"];

function valueFlags(): Set<string> {
  const flags = new Set(COMMAND_VALUE_FLAGS);
  for (const [name, option] of Object.entries({ ...yargsOptions(), ...CONFIG_IMPORT_OPTIONS })) {
    if (option.type !== "string") continue;
    // yargs also takes each flag in camel case (--awsScimEndpoint).
    flags.add(name).add(name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase()));
    if (typeof option.alias === "string") flags.add(option.alias);
  }
  return flags;
}

/**
 * The usage problem of a flag that takes a value but is followed by a word starting with "-".
 * yargs reads that word as flags of its own, so a token that starts with "-" would become a run of
 * one-letter "unknown arguments" (its letters echoed) or a stray word. Only `--flag=VALUE` keeps such a value whole.
 */
export function dashValueProblem(args: readonly string[]): string | undefined {
  const takesValue = valueFlags();
  for (let i = 0; i + 1 < args.length; i++) {
    const word = args[i]!;
    if (word === "--") return undefined;
    const flag = /^--?([^=]+)$/.exec(word)?.[1];
    const next = args[i + 1]!;
    if (flag === undefined || !takesValue.has(flag) || !/^-[^\d]/.test(next)) continue;
    return `${word} has no value: the next word starts with a dash and reads as an option; write ${word}=VALUE for a value that starts with a dash`;
  }
  return undefined;
}

/** yargs' own messages on one line, long quoted values shortened, known credential shapes hidden. */
function oneLine(message: string): string {
  return redactSecretShapes(message)
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ")
    .replace(/"([^"]{61,})"/g, (_, inner: string) => quote(inner));
}

/** What parsing the command line found: the command to run, or the usage problem to report. */
interface Parsing {
  request?: CommandRequest;
  usageError?: string;
  // Set by the handlers, which yargs runs even after .fail(); it names the real problem better than yargs does.
  strayError?: string;
}

function checkStray(p: Parsing, argv: { _: (string | number)[] }, command: string): void {
  const words = argv._;
  p.strayError ??= command === "sync" && words[0] !== "sync" ? strayWordsProblem(words, undefined) : strayWordsProblem(words.slice(1), command);
}

/** `--user` and `--group` (repeatable) of `sync` and `plan`: sync on demand. */
function withTargetOptions<T>(y: Argv<T>) {
  return y
    .option("user", { type: "string", array: true, describe: "Sync on demand: only this user (primary email) and its memberships in the groups in scope (repeatable)." })
    .option("group", { type: "string", array: true, describe: "Sync on demand: only this group (email or name) and its members (repeatable)." });
}

/**
 * The targets asked for, or undefined for a full run; a usage problem in `p` for an empty value,
 * a --user that is no email, or --reconcile with them (a targeted run never reads the whole tenant).
 */
function targetsOf(p: Parsing, argv: Record<string, unknown>): SyncTargets | undefined {
  const list = (value: unknown) => (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((v) => String(v).trim());
  // Each name once (an email in any case): a name given twice would be read twice.
  const users = [...new Map(list(argv.user).map((u) => [u.toLowerCase(), u])).values()];
  const groups = [...new Set(list(argv.group))];
  if (users.length + groups.length === 0) return undefined;
  const bad = users.find((u) => !/^[^@\s]+@[^@\s]+$/.test(u));
  if (bad !== undefined) p.usageError = `--user: must be a user's primary email, like ana@example.com (got ${quote(bad)})`;
  else if (groups.includes("")) p.usageError = "--group: must be a group's email or name (got an empty value)";
  else if (argv.reconcile === true) p.usageError = "--reconcile reads the whole tenant and --user/--group read only what they name: give one or the other";
  return { users, groups };
}

/** The commands, each recording in `p` what it was asked. */
function withCommands(parser: Argv, p: Parsing): Argv {
  return parser
    .command(["sync", "$0"], "Make AWS IAM Identity Center match Google Workspace (the default command).", (y) =>
      withTargetOptions(y)
        .option("dry-run", { type: "boolean", default: false, describe: "Plan only: print the plan, write nothing (same as `plan`)." })
        .option("reconcile", { type: "boolean", default: false, describe: "Read the whole AWS tenant now and undo drift made by hand." })
        .option(RUN_FLAGS.force, { type: "boolean", default: false, describe: "Allow this run to delete more than sync.max_deletes (this run only)." })
        .option(RUN_FLAGS.allowEmptySource, { type: "boolean", default: false, describe: "Allow this run to act on a source with no groups or no users (this run only)." })
        .option(RUN_FLAGS.maxDuration, { type: "string", describe: 'Time budget of this run, e.g. "10m": operations stop starting in time to save the state; the rest continues next run.' }),
      (argv) => {
        checkStray(p, argv, "sync");
        const maxDuration = argv[RUN_FLAGS.maxDuration];
        const maxDurationMs = maxDuration === undefined ? undefined : parseDuration(String(maxDuration));
        if (maxDuration !== undefined && maxDurationMs === undefined) {
          p.usageError = `--${RUN_FLAGS.maxDuration}: must be a duration like "90s", "10m" or "1h" (got ${quote(String(maxDuration))})`;
        }
        const targets = targetsOf(p, argv);
        p.request = {
          command: "sync",
          ...(targets !== undefined ? { targets } : {}),
          dryRun: Boolean(argv["dry-run"]),
          reconcile: Boolean(argv.reconcile),
          force: Boolean(argv[RUN_FLAGS.force]),
          allowEmptySource: Boolean(argv[RUN_FLAGS.allowEmptySource]),
          ...(maxDurationMs !== undefined ? { maxDurationMs } : {}),
          output: argv.output as Output,
          argv,
        };
      },
    )
    .command("plan", "Print what a sync would do, without writing anything.", (y) =>
      withTargetOptions(y)
        .option("reconcile", { type: "boolean", default: false, describe: "Plan against a full read of the AWS tenant." })
        .option("detailed-exitcode", {
          type: "boolean",
          default: false,
          describe: `Exit ${EXIT.ok} when there is nothing to do, ${EXIT.pending} when changes are pending (operations, or records a sync could not act on), ${EXIT.safety} when a sync would be refused.`,
        }),
      (argv) => {
        checkStray(p, argv, "plan");
        const targets = targetsOf(p, argv);
        p.request = { command: "plan", ...(targets !== undefined ? { targets } : {}), dryRun: true, reconcile: Boolean(argv.reconcile), detailedExitcode: Boolean(argv["detailed-exitcode"]), output: argv.output as Output, argv };
      },
    )
    .command("inspect <system> <what>", "List what a side holds: gws users|groups|members, ldap users|groups|members, scim users|groups|config.", (y) =>
      y
        .positional("system", { choices: ["gws", "ldap", "scim"] as const, describe: "gws (Google Workspace), ldap (an LDAP directory or Active Directory) or scim (AWS)" })
        .positional("what", { type: "string", describe: "users, groups, members (gws, ldap) or config (scim)" }),
      (argv) => {
        checkStray(p, argv, "inspect");
        const system = argv.system as "gws" | "ldap" | "scim";
        const what = String(argv.what);
        const allowed = system === "scim" ? ["users", "groups", "config"] : ["users", "groups", "members"];
        if (!allowed.includes(what)) p.usageError = `inspect ${system}: ${shownWord(what) ?? `(${hiddenWord(what)})`} is not one of ${allowed.join(", ")}`;
        p.request = { command: "inspect", dryRun: true, reconcile: false, output: argv.output as Output, inspect: { system, what }, argv };
      },
    )
    .command("doctor", "Check a set-up: the key, delegation, admin, SCIM endpoint and token, state access, clocks (or the LDAP bind). Exit 0 when nothing fails.", {}, (argv) => {
      checkStray(p, argv, "doctor");
      p.request = { command: "doctor", dryRun: true, reconcile: false, output: argv.output as Output, argv };
    })
    .command("state <action>", "state show: print the state: managed users and groups, last full read.", (y) => y.positional("action", { choices: ["show"] as const }), (argv) => {
      checkStray(p, argv, "state show");
      p.request = { command: "state-show", dryRun: true, reconcile: false, output: argv.output as Output, argv };
    })
    .command(
      "config <action> [file]",
      "config validate: check the configuration as a command would (no network), print it with each value's source, secrets hidden. config import --from idp-scim-sync FILE | --from ssosync [FILE]: print the equivalent config.toml.",
      (y) =>
        y
          .positional("action", { choices: ["validate", "import"] as const })
          .positional("file", { type: "string", describe: "config import: the other tool's configuration" })
          .options(CONFIG_IMPORT_OPTIONS)
          .option("for", { type: "string", choices: Object.keys(VALIDATE_FOR), default: "sync", describe: "config validate: the command whose requirements are checked." }),
      (argv) => {
        checkStray(p, argv, `config ${argv.action}`);
        const parsed = configImportRequest(argv);
        if (parsed.problem !== undefined) p.usageError = parsed.problem;
        const common = { dryRun: true, reconcile: false, output: argv.output as Output, argv };
        p.request =
          parsed.request !== undefined
            ? { command: "config-import", configImport: parsed.request, ...common }
            : { command: "config-validate", validateFor: VALIDATE_FOR[String(argv.for)] ?? "sync", ...common };
      },
    );
}

/** Runs the CLI with `args` (without the executable) and returns the exit code. */
export async function runCli(args: string[]): Promise<number> {
  const p: Parsing = {};
  const parser = withCommands(
    yargs(args)
      .scriptName("idpscim")
      .version(VERSION)
      .options(yargsOptions())
      .option("output", { type: "string", choices: ["table", "json"], default: "table", describe: "Format of the data on stdout." }),
    p,
  )
    // No strictCommands: every word the default command would swallow is checked by checkStray instead.
    .strictOptions()
    .exitProcess(false)
    .fail((message, error) => {
      p.usageError = message ?? error?.message ?? "invalid arguments";
    })
    .help();

  let helpText = "";
  try {
    await parser.parseAsync(args, {}, (_err, _argv, output) => {
      helpText = output;
    });
  } catch (error) {
    p.usageError ??= (error as Error).message;
  }
  const usageError = dashValueProblem(args) ?? p.strayError ?? p.usageError;
  if (usageError) {
    // One line, before any configuration is read or request sent; a log line of its own under --log-format json.
    const line = `idpscim: ${oneLine(usageError)}; see \`idpscim --help\``;
    const early = earlyLogOptions(args, environment());
    if (early.format === "json") createLogger(early).error(line);
    else writeStderr(`${line}\n`);
    return EXIT.config;
  }
  if (!p.request) {
    // --help or --version already printed by yargs.
    if (helpText) writeStdout(`${helpText}\n`);
    return EXIT.ok;
  }
  return execute(p.request, earlyLogOptions(args, environment()));
}

const truthy = (value: unknown) => value === true || (typeof value === "string" && ["true", "1"].includes(value.trim().toLowerCase()));

/**
 * The log level and format before the configuration is read (which may fail, or be refused): the
 * flags, then IDPSCIM_*, then the defaults; the file's [log] table is known only once it is read.
 * A lenient parse of the same flags (aliases, `--log-format=json`), so every line has the format asked for.
 */
export function earlyLogOptions(args: string[], env: Record<string, string | undefined>): { level: LogLevelName; format: LogFormat } {
  const [format, level, debug] = (["log.format", "log.level", "debug"] as const).map(optionByPath);
  const options = yargsOptions();
  const argv = yargs(args)
    .options(Object.fromEntries([format!, level!, debug!].map((o) => [flagName(o), { ...options[flagName(o)], choices: undefined }])))
    .help(false)
    .version(false)
    .exitProcess(false)
    .parseSync();
  const last = (value: unknown) => (Array.isArray(value) ? value.at(-1) : value);
  const pick = <T extends string>(choices: readonly T[], ...values: unknown[]): T | undefined =>
    values.map((v) => (typeof v === "string" ? v.trim().toLowerCase() : undefined)).find((v): v is T => v !== undefined && choices.includes(v as T));
  const formatName = pick(["text", "json"] as const, last(argv[flagName(format!)]), env[envName(format!)]) ?? "text";
  const wantsDebug = truthy(last(argv[flagName(debug!)])) || truthy(env[envName(debug!)]);
  const levelName = wantsDebug ? "debug" : (pick(["debug", "info", "warn", "error"] as const, last(argv[flagName(level!)]), env[envName(level!)]) ?? "info");
  return { level: levelName, format: formatName };
}

async function execute(request: CommandRequest, early: { level: LogLevelName; format: LogFormat }): Promise<number> {
  // Reads another tool's configuration, not ours: no config.toml, no IDPSCIM_* variables.
  if (request.command === "config-import") return runConfigImport(request.configImport!);
  // Reports a configuration that does not load as its first failing check, not as an error.
  if (request.command === "doctor") return runDoctorCommand({ argv: request.argv, env: environment(), output: request.output, early });
  const startedAt = Date.now();
  const env = environment();
  let log: ManagedLogger = createLogger(early);
  // Told by the run; for `sync --output json` after an error.
  let figures: RunFigures | undefined;
  try {
    const config = loadConfig({ argv: request.argv, env });
    log = createLogger({ level: config.logLevel, format: config.logFormat });
    log.redact(config.aws.scimAccessToken);
    for (const warning of flagSecretWarnings(config)) log.warn(warning);
    if (request.command === "config-validate") return validateConfig(config, request.validateFor ?? "sync", log);
    if (request.command === "state-show") return await showState(config, env, request.output);

    if (request.command === "inspect") {
      // Only the side inspected: `inspect scim` reads no Google key or bind password, `inspect gws` no SCIM token.
      const system = request.inspect!.system;
      const resolved = await resolveRunConfig(config, log, { google: system === "gws", scim: system === "scim", ldap: system === "ldap" });
      requireFor(resolved.config, `inspect ${request.inspect!.system}`);
      return await inspect(request, resolved.config, resolved.serviceAccountKey, log);
    }

    const progress = createProgress();
    try {
      const result = await runConfiguredSync(config, env, log, {
        dryRun: request.dryRun,
        reconcile: request.reconcile,
        force: request.force === true,
        allowEmptySource: request.allowEmptySource === true,
        ...(request.targets !== undefined ? { targets: request.targets } : {}),
        ...(request.maxDurationMs !== undefined ? { stopStartingAt: stopStartingAtFor(startedAt, startedAt + request.maxDurationMs) } : {}),
        ...(progress ? { onProgress: progress } : {}),
        onFigures: (f) => {
          figures = f;
        },
      });
      return request.dryRun ? showPlan(request, result.report, log) : showRun(request, result, log);
    } finally {
      progress?.({ phase: 0, done: 0, total: 0 });
    }
  } catch (error) {
    const exitCode = reportError(error, log);
    if (request.command === "sync" && !request.dryRun && request.output === "json") {
      writeStdout(renderSyncJson(stoppedOutcome(error, exitCode, figures ?? { durationMs: Date.now() - startedAt, scimRequests: {}, googleRequests: {} }), log.scrub));
    }
    return exitCode;
  }
}

/**
 * `plan` and `sync --dry-run`: the plan on stdout, and exit 0; a plan the rails would refuse is
 * still a plan. With --detailed-exitcode: 3 when a sync would be refused, 4 when anything is
 * pending (operations, or records a sync could not act on: AWS does not match), else 0.
 */
function showPlan(request: CommandRequest, report: SyncReport, log: ManagedLogger): number {
  writeStdout(request.output === "json" ? renderPlanJson(report) : `${renderPlanText(report.plan)}${renderGuardrails(report.guardrails)}`);
  for (const refusal of report.guardrails.refusals.map(renderRefusal)) log.warn(`a sync would be refused (exit 3): ${refusal.message}; ${refusal.hint}`);
  if (!request.detailedExitcode) return EXIT.ok;
  if (report.guardrails.refusals.length > 0) return EXIT.safety;
  return report.plan.operations.length > 0 || report.plan.rejected.length > 0 ? EXIT.pending : EXIT.ok;
}

/** A finished sync: its result document under --output json (the summary line is on stderr either way). */
function showRun(request: CommandRequest, result: ConfiguredSyncResult, log: ManagedLogger): number {
  if (request.output === "json") writeStdout(renderSyncJson({ exitCode: result.exitCode, report: result.report, figures: result.figures }, log.scrub));
  return result.exitCode;
}

/** What `sync --output json` says of a run an error stopped: the code and message, and the rails' verdict of a refusal. */
function stoppedOutcome(error: unknown, exitCode: number, figures: RunFigures): SyncOutcome {
  if (!(error instanceof SyncError)) return { exitCode, figures, error: { code: "UNEXPECTED", message: (error as Error)?.message ?? String(error) } };
  const { detail } = error;
  return {
    exitCode,
    figures,
    error: { code: error.code, message: describeError(error) },
    ...(detail?.kind === "refused" ? { guardrails: { ...detail.counts, refusals: [...detail.refusals], overridden: [...detail.overridden] } } : {}),
  };
}

/**
 * `config validate --for COMMAND`: the checks COMMAND makes before its first request (no network;
 * with use_secrets_manager, what a secret would hold counts as set). One line per problem, exit 2.
 */
function validateConfig(config: ResolvedConfig, command: Command, log: ManagedLogger): number {
  const { missing, invalid } = requirementProblems(config, command, { secretsPending: true });
  for (const problem of missing) log.error(`CONFIG_MISSING: ${problem}`);
  for (const problem of invalid) log.error(`CONFIG_INVALID: ${problem}`);
  if (missing.length + invalid.length > 0) return EXIT.config;
  writeStdout(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
  return EXIT.ok;
}

async function showState(config: ResolvedConfig, env: Record<string, string | undefined>, output: Output): Promise<number> {
  requireFor(config, "state show");
  const store = composeStore(config, env);
  const loaded = await store.load();
  if (!loaded) {
    writeStderr(`no state at ${store.describe()} yet: the first sync creates it\n`);
    return EXIT.ok;
  }
  const { state } = loaded;
  if (output === "json") {
    writeStdout(`${JSON.stringify(state, null, 2)}\n`);
    return EXIT.ok;
  }
  writeStdout(
    `state ${store.describe()}: schema ${state.schemaVersion}, ${Object.keys(state.users).length} users, ${Object.keys(state.groups).length} groups, ` +
      `last full read ${state.lastFullReadAt ?? "never"}, updated ${state.updatedAt ?? "?"}` +
      `${state.pendingUserCreates?.length ? `, ${state.pendingUserCreates.length} users left to create by the last run (the next one creates them while it reads)` : ""}\n`,
  );
  // Two tables, users then groups, a blank line between; renderTable escapes every name.
  const users = renderTable(
    Object.entries(state.users).map(([sourceId, u]) => ({ user: u.attributes.userName, displayName: u.attributes.displayName, sourceId, scimId: u.scimId })),
    ["user", "displayName", "sourceId", "scimId"],
  );
  const groups = renderTable(
    Object.entries(state.groups).map(([sourceId, g]) => ({ group: g.displayName, sourceId, scimId: g.scimId, members: g.memberSourceIds.length })),
    ["group", "sourceId", "scimId", "members"],
  );
  writeStdout(`\n${users}\n${groups}`);
  return EXIT.ok;
}

async function inspect(request: CommandRequest, config: ResolvedConfig, serviceAccountKey: string, log: ManagedLogger): Promise<number> {
  const { system, what } = request.inspect!;
  const emit = (rows: Record<string, unknown>[], columns: string[]) =>
    writeStdout(request.output === "json" ? `${JSON.stringify(rows, null, 2)}\n` : renderTable(rows, columns));
  if (system === "gws" || system === "ldap") {
    const snapshot = await composeSource(config, serviceAccountKey, log, system === "gws" ? "google" : "ldap").source.read();
    const userById = new Map(snapshot.users.map((u) => [u.sourceId, u]));
    if (what === "users") {
      emit(
        snapshot.users.map((u) => ({ id: u.sourceId, userName: u.attributes.userName, displayName: u.attributes.displayName, suspended: u.suspended })),
        ["id", "userName", "displayName", "suspended"],
      );
    } else if (what === "groups") {
      emit(snapshot.groups.map((g) => ({ id: g.sourceId, name: g.displayName, members: g.memberSourceIds.length })), ["id", "name", "members"]);
    } else {
      emit(
        snapshot.groups.flatMap((g) => g.memberSourceIds.map((id) => ({ group: g.displayName, member: userById.get(id)?.attributes.userName ?? id }))),
        ["group", "member"],
      );
    }
    return EXIT.ok;
  }
  const target = composeTarget(config, log);
  if (what === "users") {
    const users = await target.listUsers();
    emit(
      users.map((u) => ({ id: u.scimId, externalId: u.externalId, userName: u.attributes.userName, displayName: u.attributes.displayName, active: u.attributes.active })),
      ["id", "externalId", "userName", "displayName", "active"],
    );
  } else if (what === "groups") {
    const groups = await target.listGroups();
    emit(groups.map((g) => ({ id: g.scimId, externalId: g.externalId, displayName: g.displayName })), ["id", "externalId", "displayName"]);
  } else {
    writeStdout(`${JSON.stringify(await target.serviceProviderConfig(), null, 2)}\n`);
  }
  return EXIT.ok;
}

function reportError(error: unknown, log: ManagedLogger): number {
  if (error instanceof SyncError) {
    // The stable code first: one line to grep and alert on (SAFETY_REFUSED, STATE_CONFLICT, ...).
    log.error(`${error.code}: ${describeError(error)}`);
    return error.exitCode;
  }
  log.error(`unexpected error: ${(error as Error)?.message ?? String(error)}`);
  log.debug((error as Error)?.stack ?? "");
  return EXIT.partial;
}

/** Progress on a terminal only: never in Lambda or when stderr is a file or a pipe. */
function createProgress(): ((p: { phase: number; done: number; total: number }) => void) | undefined {
  if (!stderrIsTerminal() || environment().AWS_LAMBDA_RUNTIME_API) return undefined;
  const started = Date.now();
  let last = 0;
  return ({ phase, done, total }) => {
    if (total === 0) {
      writeStderr("\r\x1b[K");
      return;
    }
    const now = Date.now();
    if (now - last < 200 && done < total) return;
    last = now;
    const rate = done / Math.max(0.001, (now - started) / 1000);
    writeStderr(`\r\x1b[Kphase ${phase}/7: ${done}/${total} (${rate.toFixed(1)}/s)`);
  };
}
