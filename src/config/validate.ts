/** @module Layers defaults < config.toml < IDPSCIM_* env < flags into a frozen ResolvedConfig, reporting every problem at once (web APIs only). */

import { parse as parseToml, TomlError } from "smol-toml";
import { SyncError } from "../core/errors.ts";
import { OPTIONS, envName, flagName, optionByPath, tomlPath, type OptionSpec } from "./schema.ts";

export type Source = "default" | "file" | "env" | "flag" | "secret";
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";
export type SuspendedUsers = "deactivate" | "delete" | "ignore";
export type RemovedUsers = "delete" | "deactivate";
export type SyncMode = "sync" | "upsert";
export type MaxDeletes = { percent: number } | { count: number };
export type AdoptGroups = "first-run" | "always" | "never";

/** Frozen at runtime (deeply); `sources` is keyed by TOML path, e.g. "aws.scim_endpoint". */
export interface ResolvedConfig {
  configFile?: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  useSecretsManager: boolean;
  gws: {
    serviceAccountFile?: string;
    serviceAccountFileSecretName: string;
    userEmail?: string;
    userEmailSecretName: string;
    groupsFilter: string[];
    apiUrl: string;
    tokenUrl: string;
  };
  aws: {
    scimEndpoint?: string;
    scimAccessToken?: string;
    scimEndpointSecretName: string;
    scimAccessTokenSecretName: string;
    s3BucketName?: string;
    s3BucketKey: string;
    scimRateLimit: number;
  };
  state: { file?: string };
  sync: {
    method: "groups";
    userFields: string[];
    suspendedUsers: SuspendedUsers;
    removedUsers: RemovedUsers;
    deleteUnmanaged: boolean;
    reconcileEveryMs: number;
    maxDeletes: MaxDeletes;
    mode: SyncMode;
    maxMembershipRemovals: MaxDeletes;
    adoptGroups: AdoptGroups;
    protectedGroups: string[];
  };
  sources: Record<string, Source>;
}

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

// ---------------------------------------------------------------------------------------------
// Naming a key in the layer the user used, so each message points at the thing to edit.

function where(o: OptionSpec, source: Source, fileLabel: string): string {
  switch (source) {
    case "flag":
      return `--${flagName(o)}`;
    case "env":
      return envName(o);
    case "file":
      return `${o.table === undefined ? "" : `[${o.table}] `}${o.key} in ${fileLabel}`;
    default:
      return tomlPath(o);
  }
}

/** "pass --aws-scim-endpoint, set IDPSCIM_AWS_SCIM_ENDPOINT, or add scim_endpoint under [aws]" */
export function howToSet(o: OptionSpec): string {
  const file = o.cliOnly ? "" : o.table === undefined ? `, or add ${o.key} at the top of config.toml` : `, or add ${o.key} under [${o.table}]`;
  return `pass --${flagName(o)}, set ${envName(o)}${file}`;
}

/** Longest text quoted in a message: a 10 KB value pasted by mistake must not fill the log line. */
const SHOWN_MAX = 60;

/** `text` cut to about SHOWN_MAX characters with an ellipsis and its full length, or as it is when short. */
export function shorten(text: string, max: number = SHOWN_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}… (${text.length} characters)`;
}

/** A value as quoted in a message: JSON-quoted and shortened (the length is outside the quotes). */
export function quote(value: string): string {
  return value.length <= SHOWN_MAX ? JSON.stringify(value) : `${JSON.stringify(`${value.slice(0, SHOWN_MAX - 1)}…`)} (${value.length} characters)`;
}

/** A value as a message may quote it: hidden for secrets and unquoted settings, shortened otherwise. */
function show(o: OptionSpec, value: unknown): string {
  if (o.secret || o.unquoted) return "***";
  if (typeof value === "string") return quote(value);
  return shorten(Array.isArray(value) ? JSON.stringify(value) : String(value));
}

/**
 * Why a SCIM token cannot be sent, or `undefined`. A line break, a space or a control character
 * (a copy-paste accident) cannot go in an Authorization header: fetch refuses it, and the run would
 * retry it as a network failure. Characters outside printable ASCII fail the same way.
 */
export function tokenProblem(token: string): string | undefined {
  const kind = /[\r\n]/.test(token)
    ? "a line break"
    : /\s/.test(token)
      ? "whitespace"
      : /[\x00-\x1f\x7f]/.test(token)
        ? "a control character"
        : /[^\x21-\x7e]/.test(token)
          ? "a character that is not printable ASCII"
          : undefined;
  return kind === undefined ? undefined : `contains ${kind} (the token is not shown); copy the token again without it`;
}

// ---------------------------------------------------------------------------------------------
// Value parsers. Each returns a problem phrase (what is wrong and what to write instead).

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const DURATION_SYNTAX = /^(\d+(ms|s|m|h|d|w))+$/;

/** The longest sync.reconcile_every: drift made by hand in AWS must be found and undone within a month. */
const RECONCILE_EVERY_MAX_MS = 30 * DURATION_UNITS.d!;

/** "30m", "24h", "7d", "1h30m" → milliseconds; `undefined` if not a positive duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION_SYNTAX.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) {
    total += Number(match[1]) * (DURATION_UNITS[match[2] ?? ""] ?? 0);
  }
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

/** "25%" → { percent: 25 }, "50" or 50 → { count: 50 }; `undefined` otherwise. */
export function parseMaxDeletes(value: unknown): MaxDeletes | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? { count: value } : undefined;
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
  if (percent) {
    const n = Number(percent[1]);
    return n <= 100 ? { percent: n } : undefined;
  }
  return /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? { count: Number(text) } : undefined;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** A URL as it may be shown in a message: scheme, host and path, never credentials or a query; shortened. */
function showUrl(url: URL): string {
  return quote(`${url.protocol}//${url.host}${url.pathname}`);
}

/** `scim.us-east-1.amazonaws.com/…`: a host name, maybe a port and a path, with no scheme. */
const SCHEMELESS = /^([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})(?::\d{1,5})?(?:\/\S*)?$/i;

/**
 * Problem phrase for a URL option value, or `undefined` when fine. Also used after secrets resolve.
 * A value that is not a URL at all is not echoed unless it reads as a host name: swapped settings
 * (the token given as the endpoint) are a common mistake, and the message must not print the token.
 */
export function urlProblem(text: string, options: { hidden?: boolean } = {}): string | undefined {
  const hidden = options.hidden === true;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const host = hidden ? undefined : SCHEMELESS.exec(text)?.[1];
    return host !== undefined
      ? `is not a URL: it has no scheme; write the full URL starting with https://, like ${quote(`https://${host}/...`)}`
      : `is not a URL (a ${text.length}-character value, not shown in case it is a secret); write a full URL like "https://host/path"`;
  }
  if (url.protocol === "https:") return undefined;
  const got = hidden ? "" : ` (got ${showUrl(url)})`;
  if (url.protocol === "http:") {
    return isLoopback(url.hostname) ? undefined : `must use https${got}; http is allowed only on localhost, 127.0.0.0/8 and [::1]`;
  }
  return `must be an https URL${got}`;
}

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

/**
 * A light syntax check of Directory API group queries, so a typo fails before the first API call
 * instead of as a 400 mid-run. The grammar is from
 * https://developers.google.com/admin-sdk/directory/v1/guides/search-groups: `name` and `email`
 * take `=` (exact) or `:` with a trailing `*` (prefix); `memberKey` takes `=` only. Values with
 * spaces are single-quoted.
 */
export function groupsFilterProblem(query: string): string | undefined {
  if ((query.match(/'/g) ?? []).length % 2 !== 0) return `${quote(query)} has an unbalanced single quote; close it`;
  const clauses = query.match(/(?:[^\s']+|'[^']*')+/g) ?? [];
  if (clauses.length === 0) return "is an empty query; remove it (no filter means all groups)";
  for (const clause of clauses) {
    const match = /^(name|email|memberKey)(=|:)(.*)$/.exec(clause);
    const value = match?.[3]?.replace(/^'(.*)'$/, "$1") ?? "";
    const ok =
      match !== null &&
      value.length > 0 &&
      !value.includes("'") &&
      (match[2] === "=" ? true : match[1] !== "memberKey" && value.endsWith("*") && value.length > 1);
    if (!ok) {
      return `${quote(clause)} is not a Directory group query clause; use name=X, name:Prefix*, email=x, email:prefix*, or memberKey=x, space-separated`;
    }
  }
  return undefined;
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

function parseValue(o: OptionSpec, input: unknown, layer: Layer): Parsed {
  let raw = input;
  if (o.type !== "string[]" && Array.isArray(raw)) {
    // yargs turns a repeated scalar flag into an array; guessing which one was meant hides mistakes.
    if (raw.length !== 1) return { problem: `was given ${raw.length} times; pass it once` };
    raw = raw[0];
  }
  if (layer !== "file" && typeof raw === "number") raw = String(raw);

  switch (o.type) {
    case "string":
    case "path": {
      if (typeof raw !== "string") return { problem: `must be a string (got ${show(o, raw)}); quote it` };
      const value = raw.trim();
      if (value === "") return { problem: "is empty; give a value or leave it out" };
      const problem = o.type === "path" ? pathProblem(o, value) : undefined;
      return problem === undefined ? { value } : { problem };
    }
    case "boolean": {
      if (typeof raw === "boolean") return { value: raw };
      if (layer !== "file" && typeof raw === "string") {
        const text = raw.trim().toLowerCase();
        if (text === "true" || text === "1") return { value: true };
        if (text === "false" || text === "0") return { value: false };
      }
      return { problem: `must be ${layer === "file" ? "true or false" : "true, false, 1 or 0"} (got ${show(o, raw)})` };
    }
    case "integer": {
      const value = typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
      return typeof value === "number" && Number.isSafeInteger(value)
        ? { value }
        : { problem: `must be a whole number (got ${show(o, raw)})` };
    }
    case "string[]": {
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
      if (o.choices) {
        const bad = list.filter((item) => !o.choices?.includes(item));
        if (bad.length > 0) {
          return { problem: `has unknown value${bad.length > 1 ? "s" : ""} ${bad.map(quote).join(", ")}; choose from ${o.choices.join(", ")}` };
        }
      }
      return { value: [...new Set(list)] };
    }
    case "enum": {
      const value = typeof raw === "string" ? raw.trim().toLowerCase() : undefined;
      const match = o.choices?.find((c) => c.toLowerCase() === value);
      return match !== undefined ? { value: match } : { problem: `must be one of ${(o.choices ?? []).join(", ")} (got ${show(o, raw)})` };
    }
    case "url": {
      if (typeof raw !== "string" || raw.trim() === "") return { problem: `must be a URL (got ${show(o, raw)})` };
      const problem = urlProblem(raw.trim());
      return problem === undefined ? { value: raw.trim() } : { problem };
    }
    case "duration": {
      const ms = typeof raw === "string" ? parseDuration(raw) : undefined;
      if (ms !== undefined) return { value: ms };
      // Well-formed but past Number.MAX_SAFE_INTEGER ms ("99999999999999999999d"): too long, not malformed.
      if (typeof raw === "string" && DURATION_SYNTAX.test(raw.trim()) && /[1-9]/.test(raw)) return { value: Infinity };
      return { problem: `must be a duration like "30m", "24h" or "7d" (got ${show(o, raw)})` };
    }
    case "percent-or-count": {
      const value = parseMaxDeletes(raw);
      return value !== undefined
        ? { value }
        : { problem: `must be a percentage like "25%" (0-100) or a count like "50" (got ${show(o, raw)})` };
    }
  }
}

/** Checks beyond the type, per key. */
function extraProblem(o: OptionSpec, value: unknown): string | undefined {
  switch (tomlPath(o)) {
    case "gws.groups_filter":
      for (const query of value as string[]) {
        const problem = groupsFilterProblem(query);
        if (problem !== undefined) return problem;
      }
      return undefined;
    case "gws.user_email":
      return /^[^@\s]+@[^@\s]+$/.test(value as string) ? undefined : `must be an email address like admin@example.com (got ${show(o, value)})`;
    case "aws.scim_access_token":
      return tokenProblem(value as string);
    case "aws.scim_rate_limit":
      return (value as number) >= 1 && (value as number) <= 10_000 ? undefined : `must be from 1 to 10000 requests per second (got ${show(o, value)})`;
    case "sync.reconcile_every":
      return (value as number) <= RECONCILE_EVERY_MAX_MS
        ? undefined
        : 'is longer than 30 days; the full reconcile is what finds and undoes changes made by hand in AWS, so write at most "30d" (the default is "24h")';
    default:
      return o.type === "duration" && !Number.isFinite(value) ? "is too long; write a shorter duration" : undefined;
  }
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
function named(path: string, sources: Record<string, Source>, fileLabel: string): string {
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
  patch: { gws?: Partial<ResolvedConfig["gws"]>; aws?: Partial<ResolvedConfig["aws"]>; sources?: Record<string, Source> },
): ResolvedConfig {
  const copy = structuredClone(config) as ResolvedConfig;
  Object.assign(copy.gws, patch.gws);
  Object.assign(copy.aws, patch.aws);
  Object.assign(copy.sources, patch.sources);
  return deepFreeze(copy);
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
  const configFileOption = optionByPath("config_file");
  const configFilePick = pick(configFileOption, input, {});

  if (input.filePath !== undefined && input.fileText === undefined) {
    const by = configFilePick === undefined ? "config file" : where(configFileOption, configFilePick.layer, fileLabel);
    problems.push(`${by}: ${input.fileProblem ?? `cannot read ${shorten(input.filePath)}: no such file; check the path`}`);
  }
  const doc = input.fileText === undefined ? {} : parseFile(input.fileText, fileLabel, problems);
  problems.push(...unknownFileKeys(doc, fileLabel), ...unknownEnvVars(input.env));

  const values = new Map<string, unknown>();
  const sources: Record<string, Source> = {};
  for (const o of OPTIONS) {
    const path = tomlPath(o);
    const picked = pick(o, input, doc);
    if (picked === undefined) {
      const fallback = o.type === "duration" ? parseDuration(String(o.default)) : o.type === "percent-or-count" ? parseMaxDeletes(o.default) : o.default;
      values.set(path, structuredClone(fallback));
      sources[path] = "default";
      continue;
    }
    const parsed = parseValue(o, picked.raw, picked.layer);
    const problem = "problem" in parsed ? parsed.problem : extraProblem(o, parsed.value);
    if (problem !== undefined || !("value" in parsed)) {
      problems.push(`${where(o, picked.layer, fileLabel)}: ${problem}`);
      continue;
    }
    values.set(path, parsed.value);
    sources[path] = picked.layer;
  }
  if (input.filePath !== undefined && sources.config_file === "default") values.set("config_file", input.filePath);
  problems.push(...contradictions(values, sources, fileLabel));

  if (problems.length > 0) throw new SyncError("CONFIG_INVALID", problems.join("\n"));

  const v = <T>(path: string): T => values.get(path) as T;
  let logLevel = v<LogLevel>("log.level");
  if (v<boolean>("debug")) {
    logLevel = "debug";
    sources["log.level"] = sources.debug ?? "default";
  }
  const config: ResolvedConfig = {
    logLevel,
    logFormat: v("log.format"),
    useSecretsManager: v("use_secrets_manager"),
    gws: {
      serviceAccountFileSecretName: v("gws.service_account_file_secret_name"),
      userEmailSecretName: v("gws.user_email_secret_name"),
      groupsFilter: v("gws.groups_filter"),
      apiUrl: v("gws.api_url"),
      tokenUrl: v("gws.token_url"),
    },
    aws: {
      scimEndpointSecretName: v("aws.scim_endpoint_secret_name"),
      scimAccessTokenSecretName: v("aws.scim_access_token_secret_name"),
      s3BucketKey: v("aws.s3_bucket_key"),
      scimRateLimit: v("aws.scim_rate_limit"),
    },
    state: {},
    sync: {
      method: v("sync.method"),
      userFields: v("sync.user_fields"),
      suspendedUsers: v("sync.suspended_users"),
      removedUsers: v("sync.removed_users"),
      deleteUnmanaged: v("sync.delete_unmanaged"),
      reconcileEveryMs: v("sync.reconcile_every"),
      maxDeletes: v("sync.max_deletes"),
      mode: v("sync.mode"),
      maxMembershipRemovals: v("sync.max_membership_removals"),
      adoptGroups: v("sync.adopt_groups"),
      protectedGroups: v("sync.protected_groups"),
    },
    sources,
  };
  // Optional values are left out rather than set to undefined, so exactOptionalPropertyTypes-style checks and JSON output stay clean.
  const optional: [object, string, string][] = [
    [config, "configFile", "config_file"],
    [config.gws, "serviceAccountFile", "gws.service_account_file"],
    [config.gws, "userEmail", "gws.user_email"],
    [config.aws, "scimEndpoint", "aws.scim_endpoint"],
    [config.aws, "scimAccessToken", "aws.scim_access_token"],
    [config.aws, "s3BucketName", "aws.s3_bucket_name"],
    [config.state, "file", "state.file"],
  ];
  for (const [target, field, path] of optional) {
    const value = values.get(path);
    if (value !== undefined) (target as Record<string, unknown>)[field] = value;
  }
  return deepFreeze(config);
}

// ---------------------------------------------------------------------------------------------
// After resolution.

function describeSource(config: ResolvedConfig, path: string): string {
  const o = optionByPath(path);
  const source = config.sources[path] ?? "default";
  return source === "file" ? where(o, source, config.configFile ?? DEFAULT_CONFIG_FILE) : source === "default" ? path : `${path} (${where(o, source, "")})`;
}

/**
 * What a sync or plan needs, checked after resolveSecrets so values from Secrets Manager count.
 * The service-account file is not required with use_secrets_manager (the key comes from a secret).
 * Missing values → CONFIG_MISSING; a state backend problem (both or neither) → CONFIG_INVALID.
 */
export function requireForSync(config: ResolvedConfig): void {
  const missing: string[] = [];
  const need = (path: string, value: unknown) => {
    if (value === undefined) missing.push(`${path} is not set: ${howToSet(optionByPath(path))}`);
  };
  need("aws.scim_endpoint", config.aws.scimEndpoint);
  need("aws.scim_access_token", config.aws.scimAccessToken);
  need("gws.user_email", config.gws.userEmail);
  if (!config.useSecretsManager) need("gws.service_account_file", config.gws.serviceAccountFile);

  const invalid: string[] = [];
  const bucket = optionByPath("aws.s3_bucket_name");
  const file = optionByPath("state.file");
  if (config.aws.s3BucketName !== undefined && config.state.file !== undefined) {
    invalid.push(
      `both ${describeSource(config, "aws.s3_bucket_name")} and ${describeSource(config, "state.file")} are set: keep one state backend and remove the other`,
    );
  } else if (config.aws.s3BucketName === undefined && config.state.file === undefined) {
    invalid.push(
      `no state backend: set aws.s3_bucket_name (--${flagName(bucket)}, ${envName(bucket)}) or state.file (--${flagName(file)}, ${envName(file)}), exactly one`,
    );
  }
  const problems = [...missing, ...invalid];
  if (problems.length > 0) throw new SyncError(invalid.length > 0 ? "CONFIG_INVALID" : "CONFIG_MISSING", problems.join("\n"));
}

/**
 * One warning per secret setting given as a flag: it works, but the command line of a running
 * process is readable by every user of the machine (`ps`, /proc/PID/cmdline). Names the ways that
 * are not: the env var, the config file, and Secrets Manager when the setting has a secret name.
 */
export function flagSecretWarnings(config: ResolvedConfig): string[] {
  return OPTIONS.filter((o) => o.secret && config.sources[tomlPath(o)] === "flag").map((o) => {
    const secretName = OPTIONS.find((candidate) => candidate.table === o.table && candidate.key === `${o.key}_secret_name`);
    const file = o.cliOnly ? "" : `, put ${o.key}${o.table === undefined ? "" : ` under [${o.table}]`} in a config file only you can read`;
    const manager = secretName === undefined ? "" : `, or store it in Secrets Manager (--use-secrets-manager; the secret's name is ${tomlPath(secretName)})`;
    const flag = `--${flagName(o)}${o.alias === undefined ? "" : ` (-${o.alias})`}`;
    return `${flag} was given on the command line, where other users of this machine can read it in the process list; set ${envName(o)} instead${file}${manager}`;
  });
}

/** A plain copy for `config validate` and debug logs, with every secret value, and every value read from Secrets Manager, replaced by "***". */
export function redactedConfig(config: ResolvedConfig): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, Record<string, unknown>>;
  for (const o of OPTIONS) {
    if (!(o.secret || config.sources[tomlPath(o)] === "secret") || o.table === undefined) continue;
    const section = copy[o.table];
    const field = camelCase(o.key.replaceAll("_", "-"));
    if (section !== undefined && section[field] !== undefined) section[field] = "***";
  }
  return copy;
}
