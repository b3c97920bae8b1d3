/** @module Reads the config file (the only node: import in src/config) and re-exports the pure resolver for the shells. */

import { readFileSync } from "node:fs";
import { SyncError } from "../core/errors.ts";
import { configFileChoice, resolveConfig, shorten, type ResolvedConfig } from "./validate.ts";

export { requireFor, requirementProblems, type RequirementOptions, type RequirementProblems } from "./requirements.ts";
export { configFileChoice, flagSecretWarnings, redactedConfig, resolveConfig } from "./validate.ts";
export type { Command, ResolvedConfig, Source } from "./schema.ts";
export type { ResolveConfigInput } from "./validate.ts";

/** The file's text, `"missing"`, or why it cannot be read as a phrase naming the fix (a directory, no permission). */
function readFile(path: string): { text: string } | "missing" | { problem: string } {
  try {
    return { text: readFileSync(path, "utf8") };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT") return "missing";
    if (code === "EISDIR") {
      return { problem: `${shorten(path)} is a directory, not a file; give the path of the TOML file in it, like ${shorten(`${path.replace(/\/+$/, "")}/config.toml`)}` };
    }
    return { problem: `cannot read ${shorten(path)}: ${typeof code === "string" ? code : String(error)}; check the path and its permissions` };
  }
}

/** The file's text, or `undefined` when it does not exist; other read errors (a directory, no permission) are configuration errors. */
export function readConfigFile(path: string): { text: string } | undefined {
  const file = readFile(path);
  if (file === "missing") return undefined;
  if ("problem" in file) throw new SyncError("CONFIG_INVALID", `config file ${file.problem}`);
  return file;
}

export interface LoadConfigInput {
  argv: Record<string, unknown>;
  env: Record<string, string | undefined>;
  /** false: IDPSCIM_* variables (and argv) only, no file is read (Lambda: the package may hold a stray config.toml). */
  readFile?: boolean;
}

/**
 * What the shells and tests call: picks the file (--config-file, IDPSCIM_CONFIG_FILE, else
 * ./config.toml if it exists), reads it and resolves. An explicitly named file that is missing or
 * unreadable, and a --config-file given twice, are reported with the other problems.
 */
export function loadConfig(input: LoadConfigInput): ResolvedConfig {
  if (input.readFile === false) return resolveConfig({ argv: input.argv, env: input.env });
  const choice = configFileChoice(input.argv, input.env);
  // An unusable --config-file (given twice, empty): the resolver reports it; reading ./config.toml instead would only add noise.
  if (choice.path === undefined) return resolveConfig(input);
  const file = readFile(choice.path);
  if (file === "missing" && !choice.explicit) return resolveConfig(input);
  const read = file === "missing" ? {} : "problem" in file ? { fileProblem: file.problem } : { fileText: file.text };
  return resolveConfig({ ...input, filePath: choice.path, ...read });
}
