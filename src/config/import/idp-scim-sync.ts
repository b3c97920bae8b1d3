/**
 * @module idp-scim-sync's `.idpscim.yaml` (flat keys, slashdevops/idp-scim-sync
 * internal/config/config.go, every release's keys) as idpscim settings. Pure: takes the parsed
 * YAML document. Secrets are never copied; the state goes to a new key next to theirs.
 */
import { SyncError } from "../../core/errors.ts";
import { groupsFilterProblem, quote } from "../values.ts";
import type { OptionPath } from "../schema.ts";
import { defaultKeyFile, emptyImport, isKeyContent, logLevelOf, newStateKey, secretHome, setPlaceholder, setValue, type Imported } from "./imported.ts";

/** idp-scim-sync's default aws_s3_bucket_key (DefaultAWSS3BucketKey). */
const THEIR_DEFAULT_STATE_KEY = "state.json";

type Handler = (value: unknown, key: string, out: Imported) => void;

/** Their key → ours, for plain values. Older releases' names (scim_*, *_secret_arn) included. */
const SAME: Record<string, OptionPath> = {
  gws_user_email: "gws.user_email",
  gws_service_account_file_secret_name: "gws.service_account_file_secret_name",
  gws_service_account_file_secret_arn: "gws.service_account_file_secret_name",
  gws_user_email_secret_name: "gws.user_email_secret_name",
  gws_user_email_secret_arn: "gws.user_email_secret_name",
  aws_scim_endpoint: "aws.scim_endpoint",
  scim_endpoint: "aws.scim_endpoint",
  aws_scim_endpoint_secret_name: "aws.scim_endpoint_secret_name",
  scim_endpoint_secret_name: "aws.scim_endpoint_secret_name",
  aws_scim_endpoint_secret_arn: "aws.scim_endpoint_secret_name",
  aws_scim_access_token_secret_name: "aws.scim_access_token_secret_name",
  scim_access_token_secret_name: "aws.scim_access_token_secret_name",
  aws_scim_access_token_secret_arn: "aws.scim_access_token_secret_name",
  aws_s3_bucket_name: "aws.s3_bucket_name",
};

/** Their keys with no equivalent, and what idpscim does instead. */
const NO_EQUIVALENT: Record<string, string> = {
  gws_users_filter: "not imported: idp-scim-sync never implemented it, so it filtered nothing there; idpscim's gws.users_filter does (README, Scoping): add it by hand if you want it",
  gws_service_account_scopes: "idpscim always asks for the three read-only Directory scopes (README: Set up Google Workspace)",
  disable_state: "idpscim always keeps a state (idp-scim-sync never implemented disable_state); it is what lets a run with nothing to do send no SCIM request",
  "config-file": "pass --config-file (or set IDPSCIM_CONFIG_FILE) to idpscim",
  config_file: "pass --config-file (or set IDPSCIM_CONFIG_FILE) to idpscim",
};

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() === "" ? undefined : value.trim();
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return undefined;
}

function flag(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  const t = text(value)?.toLowerCase();
  return t === "true" ? true : t === "false" ? false : undefined;
}

const HANDLERS: Record<string, Handler> = {
  log_level: (value, key, out) => {
    const level = logLevelOf(text(value) ?? "");
    if (level === undefined) out.notes.push(`${key}: ${quote(String(value))} is not a log level idpscim knows; log.level left at its default ("info")`);
    else setValue(out, "log.level", level, key);
  },
  log_format: (value, key, out) => {
    const format = text(value)?.toLowerCase();
    if (format === "text" || format === "json") setValue(out, "log.format", format, key);
    else out.notes.push(`${key}: ${quote(String(value))} is not text or json; log.format left at its default ("text"), as idp-scim-sync falls back to text`);
  },
  debug: (value, key, out) => {
    const on = flag(value);
    if (on !== undefined) setValue(out, "debug", on, key);
  },
  use_secrets_manager: (value, key, out) => {
    const on = flag(value);
    if (on !== undefined) setValue(out, "use_secrets_manager", on, key);
  },
  gws_service_account_file: (value, key, out) => {
    const path = text(value);
    if (path === undefined) return;
    if (isKeyContent(path)) {
      setPlaceholder(out, "gws.service_account_file", key);
      out.notes.push(`${key}: holds the service-account key itself, not copied; save it to a file only you can read and set gws.service_account_file to its path, or store it in Secrets Manager (gws.service_account_file_secret_name)`);
    } else setValue(out, "gws.service_account_file", path, key);
  },
  gws_groups_filter: (value, key, out) => groupsFilter(value, key, out),
  aws_scim_access_token: (value, key, out) => accessToken(value, key, out),
  scim_access_token: (value, key, out) => accessToken(value, key, out),
  aws_s3_bucket_key: (value, key, out) => {
    const theirs = text(value);
    if (theirs !== undefined) stateKey(theirs, key, out);
  },
  sync_method: (value, key, out) => {
    const method = text(value);
    if (method === "groups") setValue(out, "sync.method", "groups", key);
    else if (method !== undefined) out.notes.push(`${key}: ${quote(method)} has no equivalent; idpscim syncs groups, their members and those users (sync.method = "groups"), the only method idp-scim-sync runs`);
  },
};

function accessToken(value: unknown, key: string, out: Imported): void {
  if (text(value) === undefined) return;
  setPlaceholder(out, "aws.scim_access_token", key);
  out.notes.push(`${key}: a secret, not copied into the output; move it out of the YAML file: set ${secretHome("aws.scim_access_token")}`);
}

/** A blank query lists every group in idp-scim-sync (its default is [""]), so a list holding one is "all groups": the filter is left out. */
function groupsFilter(value: unknown, key: string, out: Imported): void {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  const queries = list.map((q) => (typeof q === "string" ? q.trim() : String(q)));
  if (queries.length === 0) return;
  if (queries.some((q) => q === "")) {
    out.notes.push(`${key}: holds a blank query, which idp-scim-sync reads as every group; gws.groups_filter is left out, which means every group here too`);
    return;
  }
  setValue(out, "gws.groups_filter", queries, key);
  for (const query of queries) {
    const problem = groupsFilterProblem(query);
    if (problem !== undefined) out.notes.push(`${key}: ${quote(query)}: idpscim will refuse it at start: ${problem}`);
  }
}

function stateKey(theirs: string, key: string, out: Imported): void {
  const ours = newStateKey(theirs);
  setValue(out, "aws.s3_bucket_key", ours, `${key} (a new key: not theirs)`);
  out.notes.push(
    `${key}: ${quote(theirs)} is idp-scim-sync's state; idpscim keeps its own at ${quote(ours)} and never reads theirs: the first run reads the whole tenant and adopts what idp-scim-sync created (by externalId)`,
  );
}

/**
 * @example importIdpScimSync(Bun.YAML.parse(text)) // { settings, placeholders, notes }
 * Keys are matched case-insensitively, as viper does.
 */
export function importIdpScimSync(doc: unknown): Imported {
  if (doc === null || doc === undefined) return finish(emptyImport());
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new SyncError("CONFIG_INVALID", "the idp-scim-sync file is not a YAML mapping of keys (like `log_level: info`)", {
      hint: "give the .idpscim.yaml file idp-scim-sync reads",
    });
  }
  const out = emptyImport();
  for (const [rawKey, value] of Object.entries(doc as Record<string, unknown>)) {
    const key = rawKey.toLowerCase();
    if (value === null || value === undefined) continue;
    const same = SAME[key];
    const handler = HANDLERS[key];
    if (same !== undefined) {
      const t = text(value);
      if (t !== undefined) setValue(out, same, t, rawKey);
    } else if (handler !== undefined) handler(value, rawKey, out);
    else if (NO_EQUIVALENT[key] !== undefined) {
      // An empty list or false (their defaults) loses nothing.
      if (!isEmpty(value)) out.notes.push(`${rawKey}: no equivalent; ${NO_EQUIVALENT[key]}`);
    } else out.notes.push(`${quote(rawKey)}: not an idp-scim-sync setting; not imported`);
  }
  return finish(out);
}

const isEmpty = (value: unknown): boolean =>
  value === false || (typeof value === "string" && value.trim() === "") || (Array.isArray(value) && value.every((v) => typeof v === "string" && v.trim() === ""));

/** The state: with a bucket and no key, theirs is at their default key, so ours still moves next to it. */
function finish(out: Imported): Imported {
  const has = (path: OptionPath) => out.settings.some((s) => s.path === path);
  defaultKeyFile(out, "idp-scim-sync's default (gws_service_account_file)");
  if (has("aws.s3_bucket_name") && !has("aws.s3_bucket_key")) stateKey(THEIR_DEFAULT_STATE_KEY, "aws_s3_bucket_key (their default)", out);
  if (!has("aws.s3_bucket_name")) {
    out.notes.push("aws_s3_bucket_name: not set; give idpscim a state location before the first run: aws.s3_bucket_name (with aws.s3_bucket_key) or state.file");
  }
  return out;
}
