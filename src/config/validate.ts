/** @module Layers defaults < config.toml < IDPSCIM_* env < flags into a frozen ResolvedConfig, reporting every problem at once (web APIs only). */

import { parse as parseToml, TomlError } from "smol-toml";
import { SyncError } from "../core/errors.ts";
import { OPTIONS, envName, fieldName, flagName, holderOf, optionByPath, secretNameOf, tomlPath, where, type OptionPath, type OptionSpec, type ResolvedConfig, type Source } from "./schema.ts";
import { MAPPING_TARGET_NAMES } from "../mapping/targets.ts";
import type { UserFieldName } from "../model/index.ts";
import { unselectedTargets } from "./mapping.ts";
import { DURATION_SYNTAX, parseDate, parseDuration, parseMaxDeletes, quote, shorten, urlProblem } from "./values.ts";

export type { AdoptGroups, LogFormat, LogLevel, MaxDeletes, RemovedUsers, ResolvedConfig, Source, SuspendedUsers, SyncMode } from "./schema.ts";
export { howToSet } from "./schema.ts";
export { emailProblem, groupsFilterProblem, parseDuration, parseMaxDeletes, quote, shorten, tokenProblem, urlProblem } from "./values.ts";

export interface ResolveConfigInput {
  /** yargs' parsed argv: kebab, camelCase or alias keys; `undefined` means not given. */
  argv: Record<string, unknown>;
  env: Record<string, string | undefined>;
  /** Text of the config file; with `filePath` but without text, the file is reported as missing. */
  fileText?: string;
  filePath?: string;
  /** Why `filePath` could not be read (a directory, no permission), reported with the other problems instead of "missing". */
  fileProblem?: string;
}

type Layer = "file" | "env" | "flag";
type Parsed = { value: unknown } | { problem: string };

const DEFAULT_CONFIG_FILE = "config.toml";

/** A value as a message may quote it: hidden for secrets and unquoted settings, shortened otherwise. */
function show(o: OptionSpec, value: unknown): string {
  if (o.secret || o.unquoted) return "***";
  if (typeof value === "string") return quote(value);
  return shorten(Array.isArray(value) ? JSON.stringify(value) : String(value));
}

// ---------------------------------------------------------------------------------------------
// Value parsers. Each returns a problem phrase (what is wrong and what to write instead).

/**
 * A path option holding file content instead of a path: the key JSON pasted into
 * IDPSCIM_GWS_SERVICE_ACCOUNT_FILE is the usual case. Never echoed (it is the private key).
 */
function pathProblem(o: OptionSpec, value: string): string | undefined {
  if (!/^\s*[{[]|PRIVATE KEY|[\r\n]/.test(value)) return undefined;
  return tomlPath(o) === "gws.service_account_file"
    ? "holds the key's JSON content, not a path (not shown: it is the private key); save it to a file and give that file's path, or store it in Secrets Manager and pass --use-secrets-manager"
    : "holds file content, not a path (not shown); give the path of the file instead";
}

/** Flag and env lists: one value per flag occurrence, each split on commas; blanks are kept so they can be reported. */
function splitList(raw: unknown): string[] {
  const items = Array.isArray(raw) ? raw : [raw];
  return items.flatMap((item) => String(item).split(",")).map((s) => s.trim());
}

/** "1", "1 and 3", "1, 2 and 4" */
function positions(list: number[]): string {
  return list.length === 1 ? String(list[0]) : `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]}`;
}

/**
 * Blank entries are refused rather than dropped: `groups_filter = [""]` or
 * IDPSCIM_GWS_GROUPS_FILTER="," would otherwise mean "no filter", i.e. every group.
 */
function blankEntriesProblem(o: OptionSpec, blank: number[], layer: Layer, raw: unknown): string {
  const which = blank.length === 1 ? `entry ${blank[0]} is blank` : `entries ${positions(blank)} are blank`;
  const them = blank.length === 1 ? "it" : "them";
  const commas = layer !== "file" && String(raw).includes(",");
  const fix = layer === "file" ? `remove ${them} from the array` : commas ? `remove ${them} and the extra comma` : `remove ${them} or give a value`;
  const empty = tomlPath(o) === "gws.groups_filter" ? "; only an empty list (leave it out, or write []) means all groups" : "";
  return `${which}; ${fix}${empty}`;
}

type Parser = (o: OptionSpec, raw: unknown, layer: Layer) => Parsed;

function parseText(o: OptionSpec, raw: unknown): Parsed {
  if (typeof raw !== "string") return { problem: `must be a string (got ${show(o, raw)}); quote it` };
  const value = raw.trim();
  if (value === "") return { problem: "is empty; give a value or leave it out" };
  const problem = o.type === "path" ? pathProblem(o, value) : undefined;
  return problem === undefined ? { value } : { problem };
}

function parseList(o: OptionSpec, raw: unknown, layer: Layer): Parsed {
  let list: string[];
  if (layer === "file") {
    if (!Array.isArray(raw) || raw.some((item) => typeof item !== "string")) {
      return { problem: `must be an array of strings, e.g. ${JSON.stringify(o.example ?? o.choices?.slice(0, 2) ?? ["value"])} (got ${show(o, raw)})` };
    }
    list = raw.map((item: string) => item.trim());
  } else {
    list = splitList(raw);
  }
  const blank = list.flatMap((item, i) => (item === "" ? [i + 1] : []));
  if (blank.length > 0) return { problem: blankEntriesProblem(o, blank, layer, raw) };
  const bad = o.choices === undefined ? [] : list.filter((item) => !o.choices?.includes(item));
  if (bad.length > 0) {
    return { problem: `has unknown value${bad.length > 1 ? "s" : ""} ${bad.map(quote).join(", ")}; choose from ${(o.choices ?? []).join(", ")}` };
  }
  return { value: [...new Set(list)] };
}

/**
 * One expression or a fallback list of them: in the file a string or an array of strings; from a
 * flag one per occurrence; from the environment one, or a JSON array of them (`["a", "b"]`). The
 * expressions themselves are the entry's `check`.
 */
function parseExpressions(o: OptionSpec, raw: unknown, layer: Layer): Parsed {
  let list: unknown = typeof raw === "string" ? [raw] : raw;
  if (layer === "env" && typeof raw === "string" && raw.trim().startsWith("[")) {
    try {
      list = JSON.parse(raw);
    } catch {
      return { problem: `starts with "[" but is not a JSON array of expressions, like ${JSON.stringify(JSON.stringify(o.example))}` };
    }
  }
  if (!Array.isArray(list) || list.length === 0 || list.some((item) => typeof item !== "string")) {
    return { problem: `must be an expression or an array of them (a fallback list), e.g. ${JSON.stringify(o.example)} (got ${show(o, raw)})` };
  }
  return { value: list };
}

/** Each option type's parser: TOML values as they are, flag and env values from their text. */
const PARSERS: Record<OptionSpec["type"], Parser> = {
  string: parseText,
  path: parseText,
  "string[]": parseList,
  expression: parseExpressions,
  boolean(o, raw, layer) {
    if (typeof raw === "boolean") return { value: raw };
    if (layer !== "file" && typeof raw === "string") {
      const text = raw.trim().toLowerCase();
      if (text === "true" || text === "1") return { value: true };
      if (text === "false" || text === "0") return { value: false };
    }
    return { problem: `must be ${layer === "file" ? "true or false" : "true, false, 1 or 0"} (got ${show(o, raw)})` };
  },
  integer(o, raw) {
    const value = typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    return typeof value === "number" && Number.isSafeInteger(value) ? { value } : { problem: `must be a whole number (got ${show(o, raw)})` };
  },
  enum(o, raw) {
    const value = typeof raw === "string" ? raw.trim().toLowerCase() : undefined;
    const match = o.choices?.find((c) => c.toLowerCase() === value);
    return match !== undefined ? { value: match } : { problem: `must be one of ${(o.choices ?? []).join(", ")} (got ${show(o, raw)})` };
  },
  url(o, raw) {
    if (typeof raw !== "string" || raw.trim() === "") return { problem: `must be a URL (got ${show(o, raw)})` };
    const problem = urlProblem(raw.trim());
    return problem === undefined ? { value: raw.trim() } : { problem };
  },
  duration(o, raw) {
    const ms = typeof raw === "string" ? parseDuration(raw) : undefined;
    if (ms !== undefined) return { value: ms };
    // Well-formed but past Number.MAX_SAFE_INTEGER ms ("99999999999999999999d"): too long, not malformed.
    if (typeof raw === "string" && DURATION_SYNTAX.test(raw.trim()) && /[1-9]/.test(raw)) return { value: Infinity };
    return { problem: `must be a duration like "30m", "24h" or "7d" (got ${show(o, raw)})` };
  },
  date(o, raw) {
    // TOML's own date literals (scim_token_expires_at = 2027-06-30) arrive as Date objects whose
    // toISOString() keeps the form written: a local date-time has no offset there either.
    const text = raw instanceof Date ? raw.toISOString() : raw;
    if (typeof text === "string" && parseDate(text) !== undefined) return { value: text.trim() };
    return { problem: `must be a date like "2027-06-30" or a time with its offset like "2027-06-30T09:00:00Z" (got ${show(o, text)})` };
  },
  "percent-or-count"(o, raw) {
    const value = parseMaxDeletes(raw);
    return value !== undefined ? { value } : { problem: `must be a percentage like "25%" (0-100) or a count like "50" (got ${show(o, raw)})` };
  },
};

/** The value of `o` from one layer, then the entry's own check; a problem phrase when either fails. */
function parseValue(o: OptionSpec, input: unknown, layer: Layer): Parsed {
  let raw = input;
  if (o.type !== "string[]" && o.type !== "expression" && Array.isArray(raw)) {
    // yargs turns a repeated scalar flag into an array; guessing which one was meant hides mistakes.
    if (raw.length !== 1) return { problem: `was given ${raw.length} times; pass it once` };
    raw = raw[0];
  }
  if (layer !== "file" && typeof raw === "number") raw = String(raw);
  const parsed = PARSERS[o.type](o, raw, layer);
  if (!("value" in parsed)) return parsed;
  const problem = o.check
    ? o.check(parsed.value as never, show(o, parsed.value))
    : o.type === "duration" && !Number.isFinite(parsed.value)
      ? "is too long; write a shorter duration"
      : undefined;
  return problem === undefined ? parsed : { problem };
}

// ---------------------------------------------------------------------------------------------
// Unknown keys, with a "did you mean" from the nearest valid name.

export function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Nearest candidate within a distance that still reads as a typo (a third of the word, at least 2). */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = levenshtein(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

const TABLES = [...new Set(OPTIONS.flatMap((o) => (o.table === undefined ? [] : [o.table])))];
const FILE_OPTIONS = OPTIONS.filter((o) => !o.cliOnly);

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function unknownFileKeys(doc: Record<string, unknown>, fileLabel: string): string[] {
  const problems: string[] = [];
  const suggestAnywhere = (key: string): string | undefined => {
    const o = FILE_OPTIONS.find((candidate) => candidate.key === nearest(key, FILE_OPTIONS.map((f) => f.key)));
    return o === undefined ? undefined : o.table === undefined ? o.key : `${o.key} under [${o.table}]`;
  };
  for (const [key, value] of Object.entries(doc)) {
    if (TABLES.includes(key)) {
      if (!isTable(value)) {
        problems.push(`${key} in ${fileLabel}: must be a table; write [${key}] on its own line and its keys below it`);
        continue;
      }
      const keys = FILE_OPTIONS.filter((o) => o.table === key).map((o) => o.key);
      for (const inner of Object.keys(value)) {
        if (keys.includes(inner)) continue;
        const sameTable = nearest(inner, keys);
        const hint = sameTable ?? suggestAnywhere(inner);
        problems.push(
          `[${key}] ${inner} in ${fileLabel}: unknown key; ${hint !== undefined ? `did you mean ${hint}?` : `valid keys under [${key}] are ${keys.join(", ")}`}`,
        );
      }
      continue;
    }
    if (FILE_OPTIONS.some((o) => o.table === undefined && o.key === key)) continue;
    if (key === "config_file") {
      problems.push(`config_file in ${fileLabel}: cannot be set inside the config file; pass --config-file or set IDPSCIM_CONFIG_FILE`);
      continue;
    }
    if (isTable(value)) {
      const table = nearest(key, TABLES);
      problems.push(`[${key}] in ${fileLabel}: unknown table; ${table !== undefined ? `did you mean [${table}]?` : `valid tables are ${TABLES.map((t) => `[${t}]`).join(", ")}`}`);
      continue;
    }
    const hint = suggestAnywhere(key);
    problems.push(`${key} in ${fileLabel}: unknown key; ${hint !== undefined ? `did you mean ${hint}?` : "remove it (config.example.toml lists every key)"}`);
  }
  return problems;
}

const ENV_NAMES = OPTIONS.map(envName);

function unknownEnvVars(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith("IDPSCIM_") || ENV_NAMES.includes(name)) continue;
    const hint = nearest(name.slice("IDPSCIM_".length), ENV_NAMES.map((n) => n.slice("IDPSCIM_".length)));
    problems.push(`${name}: unknown variable; ${hint !== undefined ? `did you mean IDPSCIM_${hint}?` : "unset it (config.example.toml lists every IDPSCIM_* name)"}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Layering.

function camelCase(kebab: string): string {
  return kebab.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function fromArgv(o: OptionSpec, argv: Record<string, unknown>): unknown {
  const name = flagName(o);
  for (const key of [name, camelCase(name), o.alias]) {
    if (key !== undefined && argv[key] !== undefined) return argv[key];
  }
  return undefined;
}

function fromFile(o: OptionSpec, doc: Record<string, unknown>): unknown {
  if (o.cliOnly) return undefined;
  if (o.table === undefined) return doc[o.key];
  const table = doc[o.table];
  return isTable(table) ? table[o.key] : undefined;
}

/** Highest-precedence layer that has a value. Empty env vars count as unset: Lambda and Terraform often set optional ones to "". */
function pick(o: OptionSpec, input: ResolveConfigInput, doc: Record<string, unknown>): { raw: unknown; layer: Layer } | undefined {
  const flag = fromArgv(o, input.argv);
  if (flag !== undefined) return { raw: flag, layer: "flag" };
  const env = input.env[envName(o)];
  if (env !== undefined && env !== "") return { raw: env, layer: "env" };
  const file = fromFile(o, doc);
  if (file !== undefined) return { raw: file, layer: "file" };
  return undefined;
}

/**
 * The config file to read: --config-file, then IDPSCIM_CONFIG_FILE, then ./config.toml if present
 * (`explicit` false). No `path` when the one given is unusable (given twice, empty): the resolver
 * reports that, and no file is read in its place.
 */
export function configFileChoice(argv: Record<string, unknown>, env: Record<string, string | undefined>): { path?: string; explicit: boolean } {
  const o = optionByPath("config_file");
  const picked = pick(o, { argv, env }, {});
  if (picked === undefined) return { path: DEFAULT_CONFIG_FILE, explicit: false };
  const parsed = parseValue(o, picked.raw, picked.layer);
  return "value" in parsed ? { path: parsed.value as string, explicit: true } : { explicit: true };
}

function parseFile(text: string, fileLabel: string, problems: string[]): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      // smol-toml's message is "Invalid TOML document: <reason>\n\n<code frame>"; the frame is noise on one line.
      const reason = (error.message.split("\n")[0] ?? "").replace(/^Invalid TOML document:\s*/, "");
      problems.push(`${fileLabel}:${error.line}:${error.column}: invalid TOML: ${shorten(reason)}; fix the syntax there`);
    } else {
      problems.push(`${fileLabel}: invalid TOML: ${error instanceof Error ? error.message : String(error)}`);
    }
    // Keep going with an empty file so env and flag problems are reported in the same run.
    return {};
  }
}

/** "sync.mode ([sync] mode in config.toml)": the setting and where this value came from. */
function named(path: OptionPath, sources: Record<string, Source>, fileLabel: string): string {
  const source = sources[path] ?? "default";
  return source === "default" ? `${path} (the default)` : `${path} (${where(optionByPath(path), source, fileLabel)})`;
}

/**
 * Settings valid one by one that cannot hold together; checked only when each of them parsed, so
 * a bad value is reported once, as itself.
 */
function contradictions(values: Map<string, unknown>, sources: Record<string, Source>, fileLabel: string): string[] {
  const problems: string[] = [];
  if (values.get("sync.mode") === "upsert" && values.get("sync.delete_unmanaged") === true) {
    problems.push(
      `${named("sync.mode", sources, fileLabel)} is "upsert" and ${named("sync.delete_unmanaged", sources, fileLabel)} is true, but upsert never deletes: ` +
        'remove delete_unmanaged, or set sync.mode = "sync" to delete the users and groups this tool did not create',
    );
  }
  const userFields = values.get("sync.user_fields") as UserFieldName[] | undefined;
  const mapped = MAPPING_TARGET_NAMES.filter((target) => values.get(`mapping.${target}`) !== undefined);
  for (const { target, field } of userFields === undefined ? [] : unselectedTargets(mapped, userFields)) {
    problems.push(
      `${named(`mapping.${target}`, sources, fileLabel)} is set, but ${named("sync.user_fields", sources, fileLabel)} leaves out ${field}, so ${target} is never written: ` +
        `add "${field}" to sync.user_fields, or remove mapping.${target}`,
    );
  }
  const usersFilter = values.get("gws.users_filter");
  if (values.get("sync.method") === "users" && values.get("source.type") === "google" && Array.isArray(usersFilter) && usersFilter.length === 0) {
    problems.push(
      `${named("sync.method", sources, fileLabel)} is "users" but gws.users_filter is empty: say which users to sync, e.g. users_filter = ["orgUnitPath='/Engineering'"] under [gws]; ` +
        `users_filter = ["orgUnitPath='/'"] syncs every user of the domain`,
    );
  }
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** A deep, frozen copy of `config` with `patch` applied to the nested objects; for resolveSecrets. */
export function patchConfig(
  config: ResolvedConfig,
  patch: { gws?: Partial<ResolvedConfig["gws"]>; aws?: Partial<ResolvedConfig["aws"]>; ldap?: Partial<ResolvedConfig["ldap"]>; sources?: Record<string, Source> },
): ResolvedConfig {
  const copy = structuredClone(config) as ResolvedConfig;
  Object.assign(copy.gws, patch.gws);
  Object.assign(copy.aws, patch.aws);
  Object.assign(copy.ldap, patch.ldap);
  Object.assign(copy.sources, patch.sources);
  return deepFreeze(copy);
}

/** `input.filePath` given but not read: missing or unreadable, named the way the user named it. */
function fileProblem(input: ResolveConfigInput, fileLabel: string): string | undefined {
  if (input.filePath === undefined || input.fileText !== undefined) return undefined;
  const o = optionByPath("config_file");
  const picked = pick(o, input, {});
  const by = picked === undefined ? "config file" : where(o, picked.layer, fileLabel);
  return `${by}: ${input.fileProblem ?? `cannot read ${shorten(input.filePath)}: no such file; check the path`}`;
}

/** The default of `o` in its parsed form (durations in ms, limits as objects), a fresh copy. */
function defaultValue(o: OptionSpec): unknown {
  const fallback = o.type === "duration" ? parseDuration(String(o.default)) : o.type === "percent-or-count" ? parseMaxDeletes(o.default) : o.default;
  return structuredClone(fallback);
}

/** Each setting's value from its highest layer, or its default; a problem per value that does not parse. */
function layeredValues(input: ResolveConfigInput, doc: Record<string, unknown>, fileLabel: string, problems: string[]) {
  const values = new Map<string, unknown>();
  const sources: Record<string, Source> = {};
  for (const o of OPTIONS) {
    const path = tomlPath(o);
    const picked = pick(o, input, doc);
    if (picked === undefined) {
      values.set(path, defaultValue(o));
      sources[path] = "default";
      continue;
    }
    const parsed = parseValue(o, picked.raw, picked.layer);
    if ("problem" in parsed) {
      problems.push(`${where(o, picked.layer, fileLabel)}: ${parsed.problem}`);
      continue;
    }
    values.set(path, parsed.value);
    sources[path] = picked.layer;
  }
  return { values, sources };
}

/**
 * The ResolvedConfig object from the values, placed as the table says (see `fieldName`): tables
 * as nested objects, flat and top-level keys on the root. Unset optional values are left out
 * rather than set to undefined, so `"scimEndpoint" in config.aws` and JSON output stay clean.
 */
function buildConfig(values: Map<string, unknown>, sources: Record<string, Source>): ResolvedConfig {
  const root: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    if (o.noField) continue;
    const group = o.table === undefined || o.flat ? root : ((root[o.table] ??= {}) as Record<string, unknown>);
    const value = values.get(tomlPath(o));
    if (value !== undefined) group[fieldName(o)] = value;
  }
  root.sources = sources;
  return root as ResolvedConfig;
}

/**
 * Layers defaults < file < env < flags and validates each effective value. Throws one
 * SyncError("CONFIG_INVALID") listing every problem, one per line.
 *
 * @example
 * const config = resolveConfig({ argv: { "log-level": "debug" }, env: process.env, fileText, filePath: "config.toml" });
 * config.sources["log.level"]; // "flag"
 */
export function resolveConfig(input: ResolveConfigInput): ResolvedConfig {
  const problems: string[] = [];
  const fileLabel = input.filePath ?? DEFAULT_CONFIG_FILE;
  const unread = fileProblem(input, fileLabel);
  if (unread !== undefined) problems.push(unread);
  const doc = input.fileText === undefined ? {} : parseFile(input.fileText, fileLabel, problems);
  problems.push(...unknownFileKeys(doc, fileLabel), ...unknownEnvVars(input.env));

  const { values, sources } = layeredValues(input, doc, fileLabel, problems);
  if (input.filePath !== undefined && sources.config_file === "default") values.set("config_file", input.filePath);
  problems.push(...contradictions(values, sources, fileLabel));
  if (problems.length > 0) throw new SyncError("CONFIG_INVALID", problems.join("\n"));

  // debug = true is log.level = "debug", from debug's layer.
  if (values.get("debug") === true) {
    values.set("log.level", "debug");
    sources["log.level"] = sources.debug ?? "default";
  }
  return deepFreeze(buildConfig(values, sources));
}

// ---------------------------------------------------------------------------------------------
// After resolution.

/**
 * One warning per secret setting given as a flag: it works, but the command line of a running
 * process is readable by every user of the machine (`ps`, /proc/PID/cmdline). Names the ways that
 * are not: the env var, the config file, and Secrets Manager when the setting has a secret name.
 */
export function flagSecretWarnings(config: ResolvedConfig): string[] {
  return OPTIONS.filter((o) => o.secret && config.sources[tomlPath(o)] === "flag").map((o) => {
    const secretName = secretNameOf(o);
    const file = o.cliOnly ? "" : `, put ${o.key}${o.table === undefined ? "" : ` under [${o.table}]`} in a config file only you can read`;
    const manager = secretName === undefined ? "" : `, or store it in Secrets Manager (--use-secrets-manager; the secret's name is ${tomlPath(secretName)})`;
    const flag = `--${flagName(o)}${o.alias === undefined ? "" : ` (-${o.alias})`}`;
    return `${flag} was given on the command line, where other users of this machine can read it in the process list; set ${envName(o)} instead${file}${manager}`;
  });
}

/** A plain copy for `config validate` and debug logs, with every secret value, and every value read from Secrets Manager, replaced by "***". */
export function redactedConfig(config: ResolvedConfig): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const o of OPTIONS) {
    if (!(o.secret || config.sources[tomlPath(o)] === "secret") || o.noField) continue;
    const holder = holderOf(copy, o);
    if (holder[fieldName(o)] !== undefined) holder[fieldName(o)] = "***";
  }
  return copy;
}
