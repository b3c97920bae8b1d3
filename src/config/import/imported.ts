/**
 * @module What an importer (idp-scim-sync's YAML, ssosync's flags and variables) makes of another
 * tool's configuration, and how it becomes config.toml text. Pure: no I/O, no runtime.
 */
import { stringify } from "smol-toml";
import { envName, optionByPath, OPTIONS, secretNameOf, tomlPath, type OptionPath } from "../schema.ts";

/** A value as config.toml holds it. */
export type ImportedValue = string | boolean | string[];

export interface ImportedSetting {
  path: OptionPath;
  value: ImportedValue;
  /** Their key, as the comment next to ours says it (`aws_s3_bucket_name`, `SSOSYNC_GOOGLE_ADMIN`). */
  from: string;
}

/** A setting written commented out: their value was a secret, which is never copied. */
export interface ImportedPlaceholder {
  path: OptionPath;
  from: string;
}

export interface Imported {
  settings: ImportedSetting[];
  placeholders: ImportedPlaceholder[];
  /** One line each, for stderr: what has no equivalent and what idpscim does instead, secrets to move, values changed on purpose. */
  notes: string[];
}

export function emptyImport(): Imported {
  return { settings: [], placeholders: [], notes: [] };
}

/** Adds a setting, replacing an earlier one for the same key (a later source wins, as in the tools themselves). */
export function setValue(imported: Imported, path: OptionPath, value: ImportedValue, from: string): void {
  imported.settings = imported.settings.filter((s) => s.path !== path);
  imported.placeholders = imported.placeholders.filter((p) => p.path !== path);
  imported.settings.push({ path, value, from });
}

export function setPlaceholder(imported: Imported, path: OptionPath, from: string): void {
  imported.settings = imported.settings.filter((s) => s.path !== path);
  imported.placeholders = imported.placeholders.filter((p) => p.path !== path);
  imported.placeholders.push({ path, from });
}

/**
 * Both tools read ./credentials.json when no key file is named; idpscim has no default, so it is
 * written out. Not with use_secrets_manager: a value given explicitly would win over the secret.
 */
export function defaultKeyFile(imported: Imported, from: string): void {
  const named = imported.settings.some((s) => s.path === "gws.service_account_file") || imported.placeholders.some((p) => p.path === "gws.service_account_file");
  const secrets = imported.settings.some((s) => s.path === "use_secrets_manager" && s.value === true);
  if (!named && !secrets) setValue(imported, "gws.service_account_file", "credentials.json", from);
}

/** An AWS Secrets Manager secret ARN: what both tools' Lambda deployments put where a value would go. */
export function isSecretArn(value: string): boolean {
  return /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(value);
}

/** Text that reads as a service-account key's JSON itself, not as the path of its file. */
export function isKeyContent(value: string): boolean {
  return value.trimStart().startsWith("{");
}

/** `data/state.json` → `data/idpscim-state.json`: next to the other tool's state, never on it. */
export function newStateKey(theirs: string): string {
  const slash = theirs.lastIndexOf("/");
  const dir = theirs.slice(0, slash + 1);
  const base = theirs.slice(slash + 1) || "state.json";
  return `${dir}idpscim-${base}`;
}

/** Their log levels (logrus: panic, fatal, error, warn(ing), info, debug, trace) as ours; `undefined` for anything else. */
export function logLevelOf(value: string): "debug" | "info" | "warn" | "error" | undefined {
  const level = value.trim().toLowerCase();
  if (level === "trace" || level === "debug") return "debug";
  if (level === "info") return "info";
  if (level === "warn" || level === "warning") return "warn";
  if (level === "error" || level === "fatal" || level === "panic") return "error";
  return undefined;
}

/**
 * config.toml text: a header, then the settings in the order of the option table (top-level keys
 * first, then one TOML table each), each with a comment naming the key it came from; a secret is a
 * commented line saying where to put it instead.
 */
export function renderImportedToml(imported: Imported, header: readonly string[]): string {
  const lines = header.map((line) => `# ${line}`);
  const byTable = new Map<string, string[]>();
  for (const option of OPTIONS) {
    const path = tomlPath(option) as OptionPath;
    const setting = imported.settings.find((s) => s.path === path);
    const placeholder = imported.placeholders.find((p) => p.path === path);
    if (setting === undefined && placeholder === undefined) continue;
    const table = option.table ?? "";
    const out = byTable.get(table) ?? [];
    if (setting !== undefined) {
      out.push(`# from ${setting.from}`, stringify({ [option.key]: setting.value }).trimEnd());
    } else {
      out.push(`# from ${placeholder!.from}: a secret, not copied; set ${secretHome(path)}`, `# ${option.key} = "..."`);
    }
    byTable.set(table, out);
  }
  const top = byTable.get("");
  if (top !== undefined) lines.push("", ...top);
  for (const [table, out] of byTable) if (table !== "") lines.push("", `[${table}]`, ...out);
  return `${lines.join("\n")}\n`;
}

/** Where a secret goes instead of the file: its variable, or the Secrets Manager secret its `*_secret_name` names. */
export function secretHome(path: OptionPath): string {
  const option = optionByPath(path);
  const secretName = secretNameOf(option);
  return secretName === undefined
    ? envName(option)
    : `${envName(option)}, or store it in Secrets Manager under the name in ${tomlPath(secretName)} (with use_secrets_manager = true)`;
}
