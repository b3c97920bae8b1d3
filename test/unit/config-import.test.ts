/**
 * @module `config import`'s mappings, one row per option of each tool (idp-scim-sync's
 * internal/config/config.go keys of every release; ssosync's cmd/root.go flags, SSOSYNC_*
 * variables and its Lambda's unprefixed ones): what each becomes in config.toml, and what is said
 * on stderr instead. The rendered TOML goes through the real resolver, so a key idpscim would
 * refuse fails here.
 */
import { describe, expect, test } from "bun:test";
import { importIdpScimSync } from "../../src/config/import/idp-scim-sync.ts";
import { newStateKey, renderImportedToml, type Imported } from "../../src/config/import/imported.ts";
import { importSsosync, parseSsosyncFile, ssosyncFromEnvironment } from "../../src/config/import/ssosync.ts";
import { resolveConfig } from "../../src/config/validate.ts";
import { SyncError } from "../../src/core/errors.ts";

const TOKEN = "AQoDYXdzEJr-SECRET-TOKEN-0123456789";
const KEY_JSON = '{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----SECRETKEY"}';
const ARN = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;

/** The settings written, by TOML path, as config.toml spells them once resolved. */
function written(imported: Imported): Record<string, unknown> {
  return Object.fromEntries(imported.settings.map((s) => [s.path, s.value]));
}

/** The TOML the importer prints, resolved by idpscim's own resolver: no problem, and the values it reads. */
function resolvedToml(imported: Imported): { toml: string; sources: Record<string, string> } {
  const toml = renderImportedToml(imported, ["test"]);
  const config = resolveConfig({ argv: {}, env: {}, fileText: toml, filePath: "imported.toml" });
  return { toml, sources: config.sources };
}

type Row = [theirs: Record<string, unknown>, settings: Record<string, unknown>, note?: string];

/**
 * `imported` writes exactly `settings` (the key path is always allowed), its notes contain
 * `note`, and idpscim itself reads the result: every written key from the file (or refuses what
 * the note said it would).
 */
function expectImported(imported: Imported, settings: Record<string, unknown>, note: string): void {
    const got = written(imported);
    for (const [path, value] of Object.entries(settings)) expect(got[path]).toEqual(value);
    const extra = Object.keys(got).filter((p) => !(p in settings) && p !== "gws.service_account_file");
    expect(extra).toEqual([]);
    if (note !== "") expect(imported.notes.join("\n")).toContain(note);
  if (note.includes("will refuse it at start")) {
    expect(() => resolvedToml(imported)).toThrow(SyncError);
    return;
  }
  const { sources } = resolvedToml(imported);
  for (const path of Object.keys(got)) expect(sources[path]).toBe("file");
}

describe("idp-scim-sync: every key of .idpscim.yaml", () => {
  const rows: Row[] = [
    [{ log_level: "debug" }, { "log.level": "debug" }],
    [{ log_level: "trace" }, { "log.level": "debug" }],
    [{ log_level: "warn" }, { "log.level": "warn" }],
    [{ log_level: "fatal" }, { "log.level": "error" }],
    [{ log_level: "panic" }, { "log.level": "error" }],
    [{ log_level: "loud" }, {}, 'log_level: "loud" is not a log level idpscim knows'],
    [{ log_format: "json" }, { "log.format": "json" }],
    [{ log_format: "xml" }, {}, "log.format left at its default"],
    [{ debug: true }, { debug: true }],
    [{ use_secrets_manager: true }, { use_secrets_manager: true }],
    [{ gws_service_account_file: "/etc/gws.json" }, { "gws.service_account_file": "/etc/gws.json" }],
    [{ gws_user_email: "admin@example.com" }, { "gws.user_email": "admin@example.com" }],
    [{ gws_service_account_file_secret_name: "SA" }, { "gws.service_account_file_secret_name": "SA" }],
    [{ gws_service_account_file_secret_arn: ARN("SA") }, { "gws.service_account_file_secret_name": ARN("SA") }],
    [{ gws_user_email_secret_name: "EM" }, { "gws.user_email_secret_name": "EM" }],
    [{ gws_user_email_secret_arn: ARN("EM") }, { "gws.user_email_secret_name": ARN("EM") }],
    [{ gws_groups_filter: ["name:AWS* email:aws*", "email:administrators*"] }, { "gws.groups_filter": ["name:AWS* email:aws*", "email:administrators*"] }],
    [{ gws_groups_filter: "name:AWS*" }, { "gws.groups_filter": ["name:AWS*"] }],
    [{ gws_groups_filter: [""] }, {}, "holds a blank query, which idp-scim-sync reads as every group"],
    [{ gws_groups_filter: ["name:AWS*", "bogus"] }, { "gws.groups_filter": ["name:AWS*", "bogus"] }, '"bogus": idpscim will refuse it at start'],
    [{ gws_users_filter: ["name:John*"] }, {}, "gws_users_filter: no equivalent"],
    [{ gws_service_account_scopes: ["https://www.googleapis.com/auth/admin.directory.user.readonly"] }, {}, "gws_service_account_scopes: no equivalent"],
    [{ aws_scim_endpoint: "https://scim.eu-west-1.amazonaws.com/t/scim/v2/" }, { "aws.scim_endpoint": "https://scim.eu-west-1.amazonaws.com/t/scim/v2/" }],
    [{ scim_endpoint: "https://scim.eu-west-1.amazonaws.com/t/scim/v2/" }, { "aws.scim_endpoint": "https://scim.eu-west-1.amazonaws.com/t/scim/v2/" }],
    [{ aws_scim_endpoint_secret_name: "EP" }, { "aws.scim_endpoint_secret_name": "EP" }],
    [{ scim_endpoint_secret_name: "EP" }, { "aws.scim_endpoint_secret_name": "EP" }],
    [{ aws_scim_endpoint_secret_arn: ARN("EP") }, { "aws.scim_endpoint_secret_name": ARN("EP") }],
    [{ aws_scim_access_token_secret_name: "TK" }, { "aws.scim_access_token_secret_name": "TK" }],
    [{ scim_access_token_secret_name: "TK" }, { "aws.scim_access_token_secret_name": "TK" }],
    [{ aws_scim_access_token_secret_arn: ARN("TK") }, { "aws.scim_access_token_secret_name": ARN("TK") }],
    [{ aws_s3_bucket_name: "b" }, { "aws.s3_bucket_name": "b", "aws.s3_bucket_key": "idpscim-state.json" }, "idpscim keeps its own"],
    [{ aws_s3_bucket_name: "b", aws_s3_bucket_key: "data/state.json" }, { "aws.s3_bucket_name": "b", "aws.s3_bucket_key": "data/idpscim-state.json" }, '"data/state.json" is idp-scim-sync\'s state'],
    [{ sync_method: "groups" }, { "sync.method": "groups" }],
    [{ sync_method: "users" }, {}, 'sync_method: "users" has no equivalent'],
    [{ disable_state: true }, {}, "disable_state: no equivalent"],
    [{ "config-file": "x.yaml" }, {}, "pass --config-file"],
    [{ Log_Level: "info" }, { "log.level": "info" }],
    [{ something_else: 1 }, {}, '"something_else": not an idp-scim-sync setting'],
  ];
  test.each(rows.map(([a, b, c]) => [a, b, c ?? ""] as const))("%j", (theirs, settings, note) => {
    expectImported(importIdpScimSync(theirs), settings, note);
  });

  test("the SCIM token is never copied: a commented line and a note say where it goes", () => {
    for (const key of ["aws_scim_access_token", "scim_access_token"]) {
      const imported = importIdpScimSync({ [key]: TOKEN });
      const { toml } = resolvedToml(imported);
      expect(toml).not.toContain("SECRET");
      expect(toml).toContain('# scim_access_token = "..."');
      expect(imported.notes.join("\n")).toContain(`${key}: a secret, not copied`);
      expect(imported.notes.join("\n")).toContain("IDPSCIM_AWS_SCIM_ACCESS_TOKEN");
      expect(imported.notes.join("\n")).not.toContain("SECRET");
    }
  });

  test("a service-account key pasted as the file's value is not copied either", () => {
    const imported = importIdpScimSync({ gws_service_account_file: KEY_JSON });
    const { toml } = resolvedToml(imported);
    expect(toml).not.toContain("SECRETKEY");
    expect(toml).toContain('# service_account_file = "..."');
    expect(imported.notes.join("\n")).toContain("holds the service-account key itself");
  });

  test("their defaults: credentials.json unless Secrets Manager; no bucket is said", () => {
    expect(written(importIdpScimSync({}))["gws.service_account_file"]).toBe("credentials.json");
    expect(written(importIdpScimSync({ use_secrets_manager: true }))["gws.service_account_file"]).toBeUndefined();
    expect(importIdpScimSync({}).notes.join("\n")).toContain("aws_s3_bucket_name: not set");
    expect(importIdpScimSync(null).settings.map((s) => s.path)).toEqual(["gws.service_account_file"]);
  });

  test("a document that is not a mapping is refused", () => {
    for (const doc of [[1, 2], "text", 3]) expect(() => importIdpScimSync(doc)).toThrow(SyncError);
  });

  test("the new state key is never theirs", () => {
    for (const key of ["state.json", "data/state.json", "a/b/c.json", "x/"]) {
      expect(newStateKey(key)).not.toBe(key);
      expect(newStateKey(key).startsWith(key.slice(0, key.lastIndexOf("/") + 1))).toBe(true);
    }
  });
});

describe("ssosync: every flag, SSOSYNC_* variable and Lambda variable", () => {
  const fromFile = (text: string) => importSsosync(parseSsosyncFile(text, "ssosync.env"));
  const rows: [line: string, settings: Record<string, unknown>, note?: string][] = [
    ["SSOSYNC_GOOGLE_ADMIN=admin@example.com", { "gws.user_email": "admin@example.com" }],
    ["--google-admin=admin@example.com", { "gws.user_email": "admin@example.com" }],
    ["-u admin@example.com", { "gws.user_email": "admin@example.com" }],
    [`SSOSYNC_GOOGLE_ADMIN=${ARN("admin")}`, { "gws.user_email_secret_name": ARN("admin"), use_secrets_manager: true }],
    ["GOOGLE_ADMIN=SSOSyncGoogleAdminEmail", { "gws.user_email_secret_name": "SSOSyncGoogleAdminEmail", use_secrets_manager: true }],
    ["SSOSYNC_GOOGLE_CREDENTIALS=/etc/key.json", { "gws.service_account_file": "/etc/key.json" }],
    ["--google-credentials /etc/key.json", { "gws.service_account_file": "/etc/key.json" }],
    ["-c=/etc/key.json", { "gws.service_account_file": "/etc/key.json" }],
    [`GOOGLE_CREDENTIALS=${ARN("creds")}`, { "gws.service_account_file_secret_name": ARN("creds"), use_secrets_manager: true }],
    ["SSOSYNC_SCIM_ENDPOINT=https://scim.us-east-1.amazonaws.com/t/scim/v2/", { "aws.scim_endpoint": "https://scim.us-east-1.amazonaws.com/t/scim/v2/" }],
    ["--endpoint=https://scim.us-east-1.amazonaws.com/t/scim/v2/", { "aws.scim_endpoint": "https://scim.us-east-1.amazonaws.com/t/scim/v2/" }],
    ["--scim-endpoint https://scim.us-east-1.amazonaws.com/t/scim/v2/", { "aws.scim_endpoint": "https://scim.us-east-1.amazonaws.com/t/scim/v2/" }],
    ["SCIM_ENDPOINT=SSOSyncSCIMEndpointURL", { "aws.scim_endpoint_secret_name": "SSOSyncSCIMEndpointURL", use_secrets_manager: true }],
    [`SSOSYNC_SCIM_ACCESS_TOKEN=${ARN("tok")}`, { "aws.scim_access_token_secret_name": ARN("tok"), use_secrets_manager: true }],
    ["SCIM_ACCESS_TOKEN=SSOSyncSCIMAccessToken", { "aws.scim_access_token_secret_name": "SSOSyncSCIMAccessToken", use_secrets_manager: true }],
    ["SSOSYNC_REGION=us-east-1", {}, "SSOSYNC_REGION: no equivalent"],
    ["--region=us-east-1", {}, "--region: no equivalent"],
    ["REGION=SSOSyncRegion", {}, "REGION: no equivalent"],
    ["SSOSYNC_IDENTITY_STORE_ID=d-1234567890", {}, "SSOSYNC_IDENTITY_STORE_ID: no equivalent; idpscim uses the SCIM API only"],
    ["-i d-1234567890", {}, "-i: no equivalent"],
    ["SSOSYNC_GROUP_MATCH=name:AWS*", { "gws.groups_filter": ["name:AWS*"] }],
    ["SSOSYNC_GROUP_MATCH=name:Admin*,email:aws-*", { "gws.groups_filter": ["name:Admin*", "email:aws-*"] }],
    ["-g '*'", {}],
    ["GROUP_MATCH=name=Administrators", { "gws.groups_filter": ["name=Administrators"] }],
    ["SSOSYNC_GROUP_MATCH=orgName=Eng", { "gws.groups_filter": ["orgName=Eng"] }, '"orgName=Eng": idpscim will refuse it at start'],
    ["SSOSYNC_USER_MATCH=name:John*", {}, 'SSOSYNC_USER_MATCH: no equivalent; not imported: ssosync read it only with users_groups; the nearest is sync.method = "users"'],
    ["-m '*'", {}, "-m: no equivalent"],
    ["SSOSYNC_SYNC_METHOD=groups", { "sync.method": "groups" }],
    ["-s users_groups", {}, "users_groups has no equivalent"],
    ["SSOSYNC_SYNC_METHOD=other", {}, 'sync.method left at "groups"'],
    ["SSOSYNC_IGNORE_USERS=a@example.com,b@example.com", { "sync.exclude_users": ["a@example.com", "b@example.com"] }],
    ["--ignore-groups=g@example.com", { "sync.exclude_groups": ["g@example.com"] }],
    ["SSOSYNC_INCLUDE_GROUPS=g@example.com", {}, "reads it only with --sync-method users_groups"],
    ["SSOSYNC_LOG_LEVEL=trace", { "log.level": "debug" }],
    ["--log-level=warning", { "log.level": "warn" }],
    ["LOG_LEVEL=error", { "log.level": "error" }],
    ["SSOSYNC_LOG_FORMAT=json", { "log.format": "json" }],
    ["--log-format=yaml", {}, "log.format left at its default"],
    ["--debug", { debug: true }],
    ["-d true", { debug: true }],
    ["SSOSYNC_DRY_RUN=true", {}, "run `idpscim plan`"],
    ["DRY_RUN=false", {}, "SSOSYNC_DRY_RUN".slice(8)],
    ["SSOSYNC_FOO=1", {}, '"SSOSYNC_FOO": not an ssosync setting'],
    ["AWS_PROFILE=x", {}, '"AWS_PROFILE": not an ssosync setting'],
  ];
  test.each(rows.map(([a, b, c]) => [a, b, c ?? ""] as const))("%s", (line, settings, note) => {
    expectImported(fromFile(line), settings, note);
  });

  test("users_groups with include_groups: the included groups' emails are the filter", () => {
    const imported = fromFile("SSOSYNC_SYNC_METHOD=users_groups\nSSOSYNC_INCLUDE_GROUPS=a@example.com, b@example.com\nSSOSYNC_GROUP_MATCH=name:AWS*");
    expect(written(imported)["gws.groups_filter"]).toEqual(["email=a@example.com", "email=b@example.com"]);
    expect(imported.notes.join("\n")).toContain("also match SSOSYNC_GROUP_MATCH");
  });

  test("the SCIM token and a pasted key are never copied, whatever their name", () => {
    for (const line of [`SSOSYNC_SCIM_ACCESS_TOKEN=${TOKEN}`, `--access-token=${TOKEN}`, `-t ${TOKEN}`, `--scim-access-token "${TOKEN}"`]) {
      const imported = fromFile(line);
      const { toml } = resolvedToml(imported);
      expect(toml).not.toContain("SECRET");
      expect(toml).toContain('# scim_access_token = "..."');
      expect(imported.notes.join("\n")).not.toContain("SECRET");
      expect(imported.notes.join("\n")).toContain("IDPSCIM_AWS_SCIM_ACCESS_TOKEN");
    }
    const key = fromFile(`SSOSYNC_GOOGLE_CREDENTIALS='${KEY_JSON}'`);
    expect(resolvedToml(key).toml).not.toContain("SECRETKEY");
    expect(key.notes.join("\n")).toContain("holds the service-account key itself");
  });

  test("file syntax: export, quotes, comments; a bad line is named by number, never shown", () => {
    const imported = fromFile('# ssosync\n\nexport SSOSYNC_GOOGLE_ADMIN="admin@example.com"\nSSOSYNC_LOG_LEVEL=debug # chatty\n');
    expect(written(imported)).toMatchObject({ "gws.user_email": "admin@example.com", "log.level": "debug" });
    try {
      parseSsosyncFile(`SSOSYNC_GOOGLE_ADMIN=a@b.c\n${TOKEN} is here\n`, "ssosync.env");
      throw new Error("parsed");
    } catch (error) {
      expect((error as SyncError).code).toBe("CONFIG_INVALID");
      expect((error as SyncError).describe()).toContain("ssosync.env: line 2 is not KEY=value");
      expect((error as SyncError).describe()).not.toContain("SECRET");
    }
  });

  test("from the environment: SSOSYNC_* only (an unprefixed LOG_LEVEL there is not ssosync's), a later value wins in a file", () => {
    const env = { SSOSYNC_GOOGLE_ADMIN: "admin@example.com", LOG_LEVEL: "error", PATH: "/bin", SSOSYNC_GROUP_MATCH: "" };
    const imported = importSsosync(ssosyncFromEnvironment(env));
    expect(written(imported)).toEqual({ "gws.user_email": "admin@example.com", "gws.service_account_file": "credentials.json" });
    expect(imported.notes.join("\n")).not.toContain("PATH");
    expect(written(fromFile("SSOSYNC_LOG_LEVEL=info\nSSOSYNC_LOG_LEVEL=warn"))["log.level"]).toBe("warn");
  });

  test("defaults and state: credentials.json unless the secrets are in Secrets Manager; the state is always mentioned", () => {
    expect(written(fromFile(""))["gws.service_account_file"]).toBe("credentials.json");
    expect(written(fromFile("GOOGLE_CREDENTIALS=SSOSyncGoogleCredentials"))["gws.service_account_file"]).toBeUndefined();
    expect(fromFile("").notes.join("\n")).toContain("ssosync keeps none");
  });
});
