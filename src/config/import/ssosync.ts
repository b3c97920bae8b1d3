/**
 * @module ssosync's settings (awslabs/ssosync cmd/root.go: flags, `SSOSYNC_*` variables, and the
 * unprefixed variables its Lambda reads, which name Secrets Manager secrets) as idpscim settings.
 * Pure: takes `KEY=value` text or an environment. Secrets are never copied.
 */
import { SyncError } from "../../core/errors.ts";
import type { OptionPath } from "../schema.ts";
import { groupsFilterProblem, quote } from "../values.ts";
import { defaultKeyFile, emptyImport, isKeyContent, isSecretArn, logLevelOf, secretHome, setPlaceholder, setValue, type Imported } from "./imported.ts";

/** ssosync's settings by their viper name (`google_admin`), and every other name one goes by. */
const NAMES: Record<string, readonly string[]> = {
  google_admin: ["--google-admin", "-u"],
  google_credentials: ["--google-credentials", "-c"],
  scim_endpoint: ["--endpoint", "-e", "--scim-endpoint"],
  scim_access_token: ["--access-token", "-t", "--scim-access-token"],
  region: ["--region", "-r"],
  identity_store_id: ["--identity-store-id", "-i"],
  group_match: ["--group-match", "-g"],
  user_match: ["--user-match", "-m"],
  sync_method: ["--sync-method", "-s"],
  ignore_users: ["--ignore-users"],
  ignore_groups: ["--ignore-groups"],
  include_groups: ["--include-groups"],
  log_level: ["--log-level"],
  log_format: ["--log-format"],
  debug: ["--debug", "-d"],
  dry_run: ["--dry-run"],
};

/** The variables ssosync's Lambda reads without prefix (cmd/root.go configLambda): the first six hold secret ARNs or names. */
const LAMBDA_SECRETS = ["google_admin", "google_credentials", "scim_endpoint", "scim_access_token", "region", "identity_store_id"];
const LAMBDA_PLAIN = ["log_level", "log_format", "sync_method", "user_match", "group_match", "ignore_groups", "ignore_users", "include_groups", "dry_run"];

/** The settings whose value may be a secret ARN (or, from its Lambda, a secret name), and the `*_secret_name` it becomes. */
const SECRET_NAME_OF: Record<string, OptionPath> = {
  google_admin: "gws.user_email_secret_name",
  google_credentials: "gws.service_account_file_secret_name",
  scim_endpoint: "aws.scim_endpoint_secret_name",
  scim_access_token: "aws.scim_access_token_secret_name",
};

export interface SsosyncSetting {
  /** The viper name, e.g. "google_admin". */
  name: string;
  /** As written, e.g. "SSOSYNC_GOOGLE_ADMIN" or "--google-admin". */
  written: string;
  value: string;
  /** From a Lambda-style unprefixed variable: for the first six settings the value names a secret. */
  lambda: boolean;
}

export interface SsosyncInput {
  settings: SsosyncSetting[];
  /** Keys that are not ssosync's (only reported for a file: an environment holds many other variables). */
  unknown: string[];
}

/** A key of a file or an environment as one of ssosync's settings, or `undefined`. `fromFile` also accepts flag names and the Lambda's unprefixed variables. */
function settingName(key: string, fromFile: boolean): { name: string; lambda: boolean } | undefined {
  if (/^SSOSYNC_/i.test(key)) {
    const name = key.slice("SSOSYNC_".length).toLowerCase();
    return NAMES[name] !== undefined ? { name, lambda: false } : undefined;
  }
  if (!fromFile) return undefined;
  const flagged = Object.entries(NAMES).find(([, names]) => names.includes(key) || names.includes(`--${key}`));
  if (flagged !== undefined) return { name: flagged[0], lambda: false };
  const lower = key.toLowerCase();
  if (key === key.toUpperCase() && (LAMBDA_SECRETS.includes(lower) || LAMBDA_PLAIN.includes(lower))) return { name: lower, lambda: true };
  return undefined;
}

/**
 * `KEY=value` lines (an env file, `export KEY=value`, `--flag=value`, `--flag value`), with `#`
 * comments, blank lines and single or double quotes around a value. A line that is none of these
 * is reported by its number only: it may hold a secret.
 */
export function parseSsosyncFile(text: string, label: string): SsosyncInput {
  const input: SsosyncInput = { settings: [], unknown: [] };
  const bad: number[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^(?:export\s+)?(--?[A-Za-z][\w-]*|[A-Za-z_][\w]*)(?:\s*=\s*|\s+)(.*)$/.exec(line) ?? /^(--?[A-Za-z][\w-]*)$/.exec(line);
    if (match === null) return void bad.push(index + 1);
    const key = match[1]!;
    const value = unquote(match[2] ?? (key.startsWith("-") ? "true" : ""));
    const setting = settingName(key, true);
    if (setting === undefined) input.unknown.push(key);
    else input.settings.push({ ...setting, written: key, value });
  });
  if (bad.length > 0) {
    throw new SyncError("CONFIG_INVALID", `${label}: line ${bad.join(", ")} is not KEY=value (nor --flag=value); the line is not shown, it may hold a secret`, {
      hint: "write one setting a line, like SSOSYNC_GOOGLE_ADMIN=admin@example.com; # starts a comment",
    });
  }
  return input;
}

/** The `SSOSYNC_*` variables of an environment (other variables are not ssosync's and are not reported). */
export function ssosyncFromEnvironment(env: Record<string, string | undefined>): SsosyncInput {
  const settings: SsosyncSetting[] = [];
  for (const [key, value] of Object.entries(env)) {
    const setting = value === undefined ? undefined : settingName(key, false);
    if (setting !== undefined) settings.push({ ...setting, written: key, value: value! });
  }
  return { settings, unknown: [] };
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) return v.slice(1, -1);
  return v.replace(/\s+#.*$/, "");
}

const list = (value: string) => value.split(",").map((v) => v.trim()).filter((v) => v !== "");

/** Their settings with no equivalent, and what idpscim does instead. */
const NO_EQUIVALENT: Record<string, string> = {
  region: "idpscim talks to the SCIM endpoint only; the AWS SDK's usual AWS_REGION picks the region of the S3 state and Secrets Manager",
  identity_store_id: "idpscim uses the SCIM API only (no Identity Store API, so no IAM permissions for it)",
  user_match:
    'not imported: ssosync read it only with users_groups; the nearest is sync.method = "users" with gws.users_filter (Directory user queries too), which syncs every user a query matches: set both by hand once you have checked which users that selects (idpscim plan)',
  dry_run: "not a setting in idpscim: run `idpscim plan` (or `idpscim sync --dry-run`) to see what a sync would do",
};

/**
 * @example importSsosync(parseSsosyncFile("SSOSYNC_GOOGLE_ADMIN=admin@example.com", "ssosync.env"))
 * A later line wins, as with the shell's variables.
 */
export function importSsosync(input: SsosyncInput): Imported {
  const out = emptyImport();
  const byName = new Map<string, SsosyncSetting>();
  for (const setting of input.settings) if (setting.value.trim() !== "") byName.set(setting.name, setting);
  const method = byName.get("sync_method")?.value.trim().toLowerCase();

  for (const setting of byName.values()) {
    const { name, written } = setting;
    const value = setting.value.trim();
    const secretName = SECRET_NAME_OF[name];
    if (secretName !== undefined && (setting.lambda || isSecretArn(value))) {
      // ssosync's Lambda reads these four from Secrets Manager: the same secrets serve idpscim.
      setValue(out, secretName, value, written);
      setValue(out, "use_secrets_manager", true, written);
      continue;
    }
    switch (name) {
      case "google_admin":
        setValue(out, "gws.user_email", value, written);
        break;
      case "google_credentials":
        if (isKeyContent(value)) {
          setPlaceholder(out, "gws.service_account_file", written);
          out.notes.push(`${written}: holds the service-account key itself, not copied; save it to a file only you can read and set gws.service_account_file to its path, or store it in Secrets Manager (gws.service_account_file_secret_name)`);
        } else setValue(out, "gws.service_account_file", value, written);
        break;
      case "scim_endpoint":
        setValue(out, "aws.scim_endpoint", value, written);
        break;
      case "scim_access_token":
        setPlaceholder(out, "aws.scim_access_token", written);
        out.notes.push(`${written}: a secret, not copied into the output; set ${secretHome("aws.scim_access_token")}`);
        break;
      case "group_match":
        // With users_groups, ssosync syncs only the included groups: those are the filter then.
        if (!(method === "users_groups" && byName.has("include_groups"))) groupMatch(value, written, out);
        break;
      case "include_groups":
        includeGroups(value, written, method, byName.get("group_match"), out);
        break;
      case "sync_method":
        if (value === "groups") setValue(out, "sync.method", "groups", written);
        else if (value === "users_groups") {
          out.notes.push(
            `${written}: users_groups has no equivalent; idpscim syncs groups, their members and those users (sync.method = "groups"). ssosync's users_groups named AWS groups by the Google group's email, idpscim names them by the group's name: an email-named AWS group that does not carry the Google group's id as externalId is not adopted; idpscim creates the group by name and leaves that one as it is (move its permission-set assignments, then delete it)`,
          );
        } else out.notes.push(`${written}: ${quote(value)} is not a method ssosync knows; sync.method left at "groups"`);
        break;
      case "ignore_users":
        // ssosync skips users by primary email and groups by email, exactly: the exclusion lists take emails as they are.
        setValue(out, "sync.exclude_users", list(value), written);
        break;
      case "ignore_groups":
        setValue(out, "sync.exclude_groups", list(value), written);
        break;
      case "log_level": {
        const level = logLevelOf(value);
        if (level === undefined) out.notes.push(`${written}: ${quote(value)} is not a log level idpscim knows; log.level left at its default ("info")`);
        else setValue(out, "log.level", level, written);
        break;
      }
      case "log_format":
        if (value === "text" || value === "json") setValue(out, "log.format", value, written);
        else out.notes.push(`${written}: ${quote(value)} is not text or json; log.format left at its default ("text")`);
        break;
      case "debug":
        if (/^(true|1)$/i.test(value)) setValue(out, "debug", true, written);
        break;
      default:
        out.notes.push(`${written}: no equivalent; ${NO_EQUIVALENT[name]}`);
    }
  }
  defaultKeyFile(out, "ssosync's default (--google-credentials)");
  for (const key of input.unknown) out.notes.push(`${quote(key)}: not an ssosync setting; not imported`);
  out.notes.push(
    "state: ssosync keeps none; give idpscim one before the first run: aws.s3_bucket_name (with aws.s3_bucket_key) or state.file. The first run reads the whole tenant and adopts what ssosync created: users by userName, groups by displayName",
  );
  return out;
}

/** `*` (ssosync's default) is every group: the filter is left out. Since ssosync 2.2 a comma separates queries, which are ORed, as gws.groups_filter's are. */
function groupMatch(value: string, written: string, out: Imported): void {
  const queries = list(value);
  if (queries.length === 0 || queries.includes("*")) return;
  setValue(out, "gws.groups_filter", queries, written);
  for (const query of queries) {
    const problem = groupsFilterProblem(query);
    if (problem !== undefined) out.notes.push(`${written}: ${quote(query)}: idpscim will refuse it at start: ${problem}`);
  }
}

/** ssosync reads include_groups (group emails) only with users_groups; they become `email=` queries then. */
function includeGroups(value: string, written: string, method: string | undefined, match: SsosyncSetting | undefined, out: Imported): void {
  if (method !== "users_groups") {
    out.notes.push(`${written}: ssosync reads it only with --sync-method users_groups, so it had no effect; not imported`);
    return;
  }
  const emails = list(value);
  if (emails.length === 0) return;
  setValue(out, "gws.groups_filter", emails.map((email) => `email=${email}`), written);
  const narrowed = match !== undefined && !list(match.value).includes("*") && list(match.value).length > 0;
  if (narrowed) {
    out.notes.push(`${written}: ssosync kept only the included groups that also match ${match.written}; gws.groups_filter selects every included group: check the list`);
  }
}
