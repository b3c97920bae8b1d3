/** @module Reads the config file (the only node: import in src/config) and re-exports the pure resolver for the shells. */

import { readFileSync } from "node:fs";
import { SyncError } from "../core/errors.ts";
import { configFileChoice, resolveConfig, type ResolvedConfig } from "./validate.ts";

export { configFileChoice, redactedConfig, requireForSync, resolveConfig } from "./validate.ts";
export type { ResolveConfigInput, ResolvedConfig, Source } from "./validate.ts";

/** The file's text, or `undefined` when it does not exist; other read errors are configuration errors. */
export function readConfigFile(path: string): { text: string } | undefined {
  try {
    return { text: readFileSync(path, "utf8") };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT") return undefined;
    throw new SyncError("CONFIG_INVALID", `config file ${path}: cannot read: ${typeof code === "string" ? code : String(error)}; check the path and its permissions`, {
      cause: error,
    });
  }
}

/**
 * What the shells call: picks the file (--config-file, IDPSCIM_CONFIG_FILE, else ./config.toml if
 * it exists), reads it and resolves. An explicitly named file that is missing is reported with
 * the other problems.
 */
export function loadConfig(input: { argv: Record<string, unknown>; env: Record<string, string | undefined> }): ResolvedConfig {
  const choice = configFileChoice(input.argv, input.env);
  const file = readConfigFile(choice.path);
  if (file === undefined && !choice.explicit) return resolveConfig(input);
  return resolveConfig({ ...input, filePath: choice.path, ...(file === undefined ? {} : { fileText: file.text }) });
}
