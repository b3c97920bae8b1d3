/** @module Renders config.example.toml and the README option table from the option table, so neither can drift from the code. */

import { OPTIONS, envName, flagName, tomlPath, type OptionSpec } from "./schema.ts";

export const README_BEGIN = "<!-- BEGIN CONFIG TABLE -->";
export const README_END = "<!-- END CONFIG TABLE -->";

/** TOML literal for a default or example; JSON string escapes are valid TOML basic-string escapes. */
function tomlLiteral(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(tomlLiteral).join(", ")}]`;
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

function flags(o: OptionSpec): string[] {
  return [`--${flagName(o)}`, ...(o.alias === undefined ? [] : [`-${o.alias}`])];
}

function defaultText(o: OptionSpec): string {
  return o.default === undefined ? "none" : tomlLiteral(o.default);
}

function choicesText(o: OptionSpec): string {
  return o.choices === undefined ? "" : ` ${o.type === "string[]" ? "Any" : "One"} of: ${o.choices.join(", ")}.`;
}

/**
 * Every key, commented out, with its doc, flag, env var and default. Commented out rather than set
 * so a copied file keeps following the code's defaults; loaded as-is it validates, and uncommenting
 * any single line yields a valid value (the tests check both).
 */
export function renderExampleToml(): string {
  const lines: string[] = [
    "# idpscim configuration. Generated from src/config/schema.ts by `bun run scripts/gen-config-docs.ts`.",
    "#",
    "# Each setting has one name in three layers: the TOML key below, a flag (--table-key) and an",
    "# env var (IDPSCIM_TABLE_KEY). Precedence: flag > env > this file > default.",
    "# Lines are commented out; the value shown is the default, or an example when there is none.",
    "#",
  ];
  for (const o of OPTIONS.filter((option) => option.cliOnly)) {
    lines.push(`# ${o.key} (flag and env only): ${o.doc}`, `#   flag: ${flags(o).join(", ")} | env: ${envName(o)}`);
  }
  let table: string | undefined;
  for (const o of OPTIONS.filter((option) => !option.cliOnly)) {
    if (o.table !== table) {
      table = o.table;
      lines.push("", `[${table}]`);
    }
    lines.push(
      "",
      `# ${o.doc}${choicesText(o)}`,
      `# flag: ${flags(o).join(", ")} | env: ${envName(o)} | default: ${defaultText(o)}`,
      `# ${o.key} = ${tomlLiteral(o.example ?? o.default)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** key | flag | env | default | description, one row per option. */
export function renderMarkdownTable(): string {
  const rows = OPTIONS.map((o) =>
    [
      `\`${tomlPath(o)}\``,
      flags(o).map((f) => `\`${f}\``).join(", "),
      `\`${envName(o)}\``,
      o.default === undefined ? "—" : `\`${cell(tomlLiteral(o.default))}\``,
      cell(`${o.doc}${choicesText(o)}${o.cliOnly ? " Flag and env only." : ""}${o.secret ? " Secret: never logged." : ""}`),
    ].join(" | "),
  );
  return ["| key | flag | env | default | description |", "| --- | --- | --- | --- | --- |", ...rows.map((r) => `| ${r} |`)].join("\n");
}

/** README text with the table replaced between the markers, or `undefined` when the markers are absent. */
export function replaceConfigTable(readme: string, table: string = renderMarkdownTable()): string | undefined {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END, begin + README_BEGIN.length);
  if (begin === -1 || end === -1) return undefined;
  return `${readme.slice(0, begin + README_BEGIN.length)}\n${table}\n${readme.slice(end)}`;
}
