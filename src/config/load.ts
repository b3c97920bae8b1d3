/** @module Reads the config file (the only node: import in src/config) and re-exports the pure resolver for the shells. */

import { readFileSync } from "node:fs";
import { SyncError } from "../core/errors.ts";
import { configFileChoice, resolveConfig, shorten, type ResolvedConfig } from "./validate.ts";

export { configFileChoice, flagSecretWarnings, redactedConfig, requireForSync, resolveConfig } from "./validate.ts";
export type { ResolveConfigInput, ResolvedConfig, Source } from "./validate.ts";

/** Why `path` cannot be read, as a phrase naming the fix; for a code other than ENOENT. */
function readProblem(path: string, code: unknown, error: unknown): string {
  if (code === "EISDIR") return `${shorten(path)} is a directory, not a file; give the path of the TOML file in it, like ${shorten(`${path.replace(/\/+$/, "")}/config.toml`)}`;
  return `cannot read ${shorten(path)}: ${typeof code === "string" ? code : String(error)}; check the path and its permissions`;
}

/** The file's text, or `undefined` when it does not exist; other read errors (a directory, no permission) are configuration errors. */
export function readConfigFile(path: string): { text: string } | undefined {
  try {
    return { text: readFileSync(path, "utf8") };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT") return undefined;
    throw new SyncError("CONFIG_INVALID", `config file ${readProblem(path, code, error)}`, { cause: error });
  }
}

/**
 * What the shells call: picks the file (--config-file, IDPSCIM_CONFIG_FILE, else ./config.toml if
 * it exists), reads it and resolves. An explicitly named file that is missing or unreadable, and a
 * --config-file given twice, are reported with the other problems.
 */
export function loadConfig(input: { argv: Record<string, unknown>; env: Record<string, string | undefined> }): ResolvedConfig {
  const choice = configFileChoice(input.argv, input.env);
  // An unusable --config-file (given twice, empty): the resolver reports it; reading ./config.toml instead would only add noise.
  if (choice.path === undefined) return resolveConfig(input);
  let text: string | undefined;
  try {
    text = readFileSync(choice.path, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT" && !choice.explicit) return resolveConfig(input);
    if (code !== "ENOENT") return resolveConfig({ ...input, filePath: choice.path, fileProblem: readProblem(choice.path, code, error) });
  }
  return resolveConfig({ ...input, filePath: choice.path, ...(text === undefined ? {} : { fileText: text }) });
}
