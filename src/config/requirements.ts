/**
 * @module What each command needs of the resolved configuration: the settings the option table
 * marks `requiredFor` it, and exactly one state backend. The one place these are checked; the
 * shells call it, compose.ts trusts it.
 */

import { SyncError } from "../core/errors.ts";
import { OPTIONS, envName, fieldName, flagName, holderOf, howToSet, optionByPath, secretNameOf, tomlPath, where, type Command, type OptionPath, type OptionSpec, type ResolvedConfig, type SourceType } from "./schema.ts";
import { ldapProblems } from "./ldap-settings.ts";

export interface RequirementProblems {
  /** "aws.scim_endpoint is not set: pass --aws-scim-endpoint, …": CONFIG_MISSING. */
  missing: string[];
  /** Settings that cannot hold together for this command (two state backends): CONFIG_INVALID. */
  invalid: string[];
}

export interface RequirementOptions {
  /**
   * Secrets Manager has not been read yet (Lambda's init): with use_secrets_manager, a setting
   * that has a `*_secret_name` counts as set, since its value will come from the secret.
   */
  secretsPending?: boolean;
}

/** The state backends; a run needs exactly one, `state show` at least one (and reads S3 when both are set). */
const STATE_BACKENDS: readonly [OptionPath, OptionPath] = ["aws.s3_bucket_name", "state.file"];
const NEEDS_STATE: readonly Command[] = ["sync", "plan", "state show", "doctor"];
const ONE_STATE_ONLY: readonly Command[] = ["sync", "plan", "doctor"];

function isSet(config: ResolvedConfig, o: OptionSpec): boolean {
  const value = holderOf(config, o)[fieldName(o)];
  // A file that holds the value (aws.scim_access_token_file) is read before the run: it counts.
  if (o.fromFile !== undefined && isSet(config, optionByPath(o.fromFile as OptionPath))) return true;
  // An empty value from a secret (a blank token) is as good as none.
  return value !== undefined && value !== "";
}

/** The source a command reads: inspect names its own, sync, plan and doctor read source.type's. */
function sourceOf(config: ResolvedConfig, command: Command): SourceType | undefined {
  if (command === "inspect gws") return "google";
  if (command === "inspect ldap") return "ldap";
  return command === "sync" || command === "plan" || command === "doctor" ? config.source.type : undefined;
}

function isRequired(config: ResolvedConfig, o: OptionSpec, command: Command, options: RequirementOptions): boolean {
  if (!o.requiredFor?.includes(command)) return false;
  if (o.source !== undefined && o.source !== sourceOf(config, command)) return false;
  if (o.onlyWhen !== undefined) {
    const [path, value] = o.onlyWhen;
    const steering = optionByPath(path as OptionPath);
    if (holderOf(config, steering)[fieldName(steering)] !== value) return false;
  }
  const exemptWith = o.notRequiredWith === undefined ? undefined : optionByPath(o.notRequiredWith as OptionPath);
  if (exemptWith !== undefined && holderOf(config, exemptWith)[fieldName(exemptWith)] === true) return false;
  return !(options.secretsPending && config.useSecretsManager && secretNameOf(o) !== undefined);
}

/**
 * The order missing settings are listed in, as it has always been: the SCIM side before the Google
 * side, and those required only without Secrets Manager last. Stable otherwise (table order).
 */
function reportRank(o: OptionSpec): number {
  return (o.notRequiredWith === undefined ? 0 : 2) + (o.table === "aws" ? 0 : 1);
}

/** `path` named as the user set it: "[aws] s3_bucket_name in config.toml", "state.file (IDPSCIM_STATE_FILE)". */
function describeSource(config: ResolvedConfig, path: OptionPath): string {
  const o = optionByPath(path);
  const source = config.sources[path] ?? "default";
  return source === "file" ? where(o, source, config.configFile ?? "config.toml") : source === "default" ? path : `${path} (${where(o, source, "")})`;
}

/** Why `command` cannot use the state backends `config` sets (none, or two where one is needed), or `undefined`. */
export function stateBackendProblem(config: ResolvedConfig, command: Command): string | undefined {
  const [bucket, file] = STATE_BACKENDS.map(optionByPath) as [OptionSpec, OptionSpec];
  const set = [bucket, file].filter((o) => isSet(config, o));
  if (set.length === 2 && ONE_STATE_ONLY.includes(command)) {
    return `both ${describeSource(config, STATE_BACKENDS[0])} and ${describeSource(config, STATE_BACKENDS[1])} are set: keep one state backend and remove the other`;
  }
  if (set.length === 0 && NEEDS_STATE.includes(command)) {
    const named = (o: OptionSpec) => `${tomlPath(o)} (--${flagName(o)}, ${envName(o)})`;
    return `no state backend: set ${named(bucket)} or ${named(file)}, exactly one`;
  }
  return undefined;
}

/** The settings `command` requires that `config` leaves unset, in report order (`doctor` files each under its system's check). */
export function missingOptions(config: ResolvedConfig, command: Command, options: RequirementOptions = {}): OptionSpec[] {
  return OPTIONS.filter((o) => isRequired(config, o, command, options) && !isSet(config, o)).sort((a, b) => reportRank(a) - reportRank(b));
}

/** The line a missing setting is reported with. */
export function missingLine(o: OptionSpec): string {
  return `${tomlPath(o)} is not set: ${howToSet(o)}`;
}

/** Keyless reads no key: a key file named as well is a leftover that would mislead whoever reads the configuration. */
function gwsAuthProblem(config: ResolvedConfig): string | undefined {
  if (config.gws.auth !== "workload-identity" || config.gws.serviceAccountFile === undefined) return undefined;
  return `${describeSource(config, "gws.service_account_file")} is set, but gws.auth = "workload-identity" reads no key: remove it (or set gws.auth = "key")`;
}

/** Every problem `command` has with `config`, all at once; both lists empty when it can run. */
export function requirementProblems(config: ResolvedConfig, command: Command, options: RequirementOptions = {}): RequirementProblems {
  const missing = missingOptions(config, command, options).map(missingLine);
  const state = stateBackendProblem(config, command);
  const auth = sourceOf(config, command) === "google" ? gwsAuthProblem(config) : undefined;
  const ldap = sourceOf(config, command) === "ldap" ? ldapProblems(config) : { missing: [], invalid: [] };
  return { missing: [...missing, ...ldap.missing], invalid: [...(state === undefined ? [] : [state]), ...(auth === undefined ? [] : [auth]), ...ldap.invalid] };
}

/**
 * Throws what `requirementProblems` finds: CONFIG_INVALID when something cannot hold together,
 * else CONFIG_MISSING; one problem a line. Checked after resolveSecrets, so values from Secrets
 * Manager count (or before it with `secretsPending`).
 */
export function requireFor(config: ResolvedConfig, command: Command, options: RequirementOptions = {}): void {
  const { missing, invalid } = requirementProblems(config, command, options);
  const problems = [...missing, ...invalid];
  if (problems.length > 0) throw new SyncError(invalid.length > 0 ? "CONFIG_INVALID" : "CONFIG_MISSING", problems.join("\n"));
}
