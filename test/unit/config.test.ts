/** @module Config layering, validation messages, secrets resolution and docs drift, through the real resolver and real yargs. */

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yargs from "yargs";
import { SyncError } from "../../src/core/errors.ts";
import { README_BEGIN, README_END, renderExampleToml, renderMarkdownTable, replaceConfigTable } from "../../src/config/docs.ts";
import { flagSecretWarnings, loadConfig, readConfigFile, redactedConfig, requireFor, resolveConfig, type ResolvedConfig } from "../../src/config/load.ts";
import { resolveSecrets, UNIT_CREDENTIALS_ID } from "../../src/config/resolve-secrets.ts";
import { OPTIONS, envName, flagName, tomlPath, yargsOptions } from "../../src/config/schema.ts";
import { parseDuration, parseMaxDeletes } from "../../src/config/validate.ts";
import { readTextFile } from "../../src/platform/runtime.ts";

const root = join(import.meta.dir, "..", "..");

type Input = Partial<Parameters<typeof resolveConfig>[0]>;
const resolve = (input: Input = {}): ResolvedConfig => resolveConfig({ argv: {}, env: {}, ...input });

/** The problem lines of the CONFIG_* error `run` throws. */
function problems(run: () => unknown, code: string = "CONFIG_INVALID"): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SyncError);
    expect((error as SyncError).code).toBe(code as SyncError["code"]);
    expect((error as SyncError).exitCode).toBe(2);
    return (error as SyncError).message.split("\n");
  }
  throw new Error("expected a SyncError");
}

async function rejection(run: () => Promise<unknown>): Promise<SyncError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(SyncError);
    return error as SyncError;
  }
  throw new Error("expected a SyncError");
}

/** Parses a command line with the real yargs and the options derived from the table. */
function argvOf(args: string[]): Record<string, unknown> {
  return yargs(args).options(yargsOptions()).strict(false).parseSync() as Record<string, unknown>;
}

const complete = {
  "aws.scim_endpoint": "https://scim.us-east-1.amazonaws.com/t/scim/v2",
  env: {
    IDPSCIM_AWS_SCIM_ENDPOINT: "https://scim.us-east-1.amazonaws.com/t/scim/v2",
    IDPSCIM_AWS_SCIM_ACCESS_TOKEN: "tok-123",
    IDPSCIM_GWS_USER_EMAIL: "admin@example.com",
    IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: "key.json",
    IDPSCIM_STATE_FILE: "state.json",
  },
};

describe("schema naming", () => {
  test("one name per setting across TOML, flag and env", () => {
    const o = OPTIONS.find((x) => tomlPath(x) === "aws.scim_endpoint");
    expect(o).toBeDefined();
    if (!o) return;
    expect(flagName(o)).toBe("aws-scim-endpoint");
    expect(envName(o)).toBe("IDPSCIM_AWS_SCIM_ENDPOINT");
    const top = OPTIONS.find((x) => x.key === "use_secrets_manager");
    expect(top && [tomlPath(top), flagName(top), envName(top)]).toEqual(["use_secrets_manager", "use-secrets-manager", "IDPSCIM_USE_SECRETS_MANAGER"]);
  });

  test("yargs options carry aliases, arrays and choices but no defaults", () => {
    const options = yargsOptions();
    expect(Object.keys(options)).toHaveLength(OPTIONS.length);
    expect(options["gws-groups-filter"]).toMatchObject({ alias: "q", array: true, type: "string" });
    expect(options["log-level"]).toMatchObject({ alias: "l", choices: ["debug", "info", "warn", "error"] });
    expect(options.debug).toMatchObject({ alias: "d", type: "boolean" });
    expect(Object.values(options).some((o) => "default" in o)).toBe(false);
  });
});

describe("precedence and sources", () => {
  test("defaults apply with source default", () => {
    const config = resolve();
    expect(config.logLevel).toBe("info");
    expect(config.sync.maxDeletes).toEqual({ percent: 25 });
    expect(config.sync.reconcileEveryMs).toBe(24 * 3_600_000);
    expect(config.gws.apiUrl).toBe("https://admin.googleapis.com");
    expect(config.sync.userFields).toContain("enterprise");
    expect(config.sources["log.level"]).toBe("default");
    expect(config.aws.scimEndpoint).toBeUndefined();
    expect("scimEndpoint" in config.aws).toBe(false);
  });

  test("flag > env > file > default, each recorded", () => {
    const fileText = `[log]\nlevel = "warn"\nformat = "json"\n[sync]\nmode = "upsert"\n[aws]\ns3_bucket_key = "file.json"\n`;
    const config = resolve({
      fileText,
      filePath: "/etc/idpscim/config.toml",
      env: { IDPSCIM_LOG_LEVEL: "error", IDPSCIM_LOG_FORMAT: "text" },
      argv: argvOf(["--log-level", "debug"]),
    });
    expect(config.logLevel).toBe("debug");
    expect(config.sources["log.level"]).toBe("flag");
    expect(config.logFormat).toBe("text");
    expect(config.sources["log.format"]).toBe("env");
    expect(config.sync.mode).toBe("upsert");
    expect(config.sources["sync.mode"]).toBe("file");
    expect(config.aws.s3BucketKey).toBe("file.json");
    expect(config.sync.suspendedUsers).toBe("deactivate");
    expect(config.sources["sync.suspended_users"]).toBe("default");
    expect(config.configFile).toBe("/etc/idpscim/config.toml");
  });

  test("the resolved config is deeply frozen", () => {
    const config = resolve({ argv: argvOf(["-q", "name:AWS*"]) });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.gws)).toBe(true);
    expect(Object.isFrozen(config.gws.groupsFilter)).toBe(true);
    expect(Object.isFrozen(config.sources)).toBe(true);
  });

  test("debug wins over log.level and takes its source", () => {
    const config = resolve({ env: { IDPSCIM_LOG_LEVEL: "warn" }, argv: argvOf(["-d"]) });
    expect(config.logLevel).toBe("debug");
    expect(config.sources["log.level"]).toBe("flag");
  });

  test("empty env vars count as unset", () => {
    expect(resolve({ env: { IDPSCIM_LOG_LEVEL: "" } }).sources["log.level"]).toBe("default");
  });

  test("argv keys may be kebab, camelCase or the alias", () => {
    expect(resolve({ argv: { "log-level": "warn" } }).logLevel).toBe("warn");
    expect(resolve({ argv: { logLevel: "warn" } }).logLevel).toBe("warn");
    expect(resolve({ argv: { l: "warn" } }).logLevel).toBe("warn");
  });
});

describe("flags", () => {
  test("every idp-scim-sync short alias reaches its setting", () => {
    const argv = argvOf([
      ...["-c", "c.toml", "-d", "-g", "-l", "warn", "-f", "json"],
      ...["-s", "key.json", "-o", "sa-secret", "-u", "admin@example.com", "-p", "email-secret", "-q", "name:AWS*"],
      ...["-e", "https://scim.example.com/scim/v2", "-t", "tok", "-n", "ep-secret", "-j", "tok-secret", "-b", "bucket", "-k", "k.json"],
      ...["-m", "groups"],
    ]);
    const config = resolve({ argv, fileText: "", filePath: "c.toml" });
    expect(config.configFile).toBe("c.toml");
    expect(config.sources.config_file).toBe("flag");
    expect(config.sources.debug).toBe("flag");
    expect(config.logLevel).toBe("debug");
    expect(config.useSecretsManager).toBe(true);
    expect(config.logFormat).toBe("json");
    expect(config.gws).toMatchObject({
      serviceAccountFile: "key.json",
      serviceAccountFileSecretName: "sa-secret",
      userEmail: "admin@example.com",
      userEmailSecretName: "email-secret",
      groupsFilter: ["name:AWS*"],
    });
    expect(config.aws).toMatchObject({
      scimEndpoint: "https://scim.example.com/scim/v2",
      scimAccessToken: "tok",
      scimEndpointSecretName: "ep-secret",
      scimAccessTokenSecretName: "tok-secret",
      s3BucketName: "bucket",
      s3BucketKey: "k.json",
    });
    expect(config.sync.method).toBe("groups");
    const aliased = OPTIONS.filter((o) => o.alias !== undefined).map((o) => `${o.alias}:${flagName(o)}`);
    expect(aliased).toEqual([
      "c:config-file", "d:debug", "g:use-secrets-manager", "l:log-level", "f:log-format",
      "s:gws-service-account-file", "o:gws-service-account-file-secret-name", "u:gws-user-email", "p:gws-user-email-secret-name", "q:gws-groups-filter",
      "e:aws-scim-endpoint", "t:aws-scim-access-token", "n:aws-scim-endpoint-secret-name", "j:aws-scim-access-token-secret-name", "b:aws-s3-bucket-name", "k:aws-s3-bucket-key",
      "m:sync-method",
    ]);
  });

  test("-q is repeatable, comma lists split, and the command after it is not swallowed", () => {
    const argv = argvOf(["-q", "name:AWS*", "--gws-groups-filter", "email:aws-*,memberKey=a@example.com", "sync"]);
    expect(argv._).toEqual(["sync"]);
    expect(resolve({ argv }).gws.groupsFilter).toEqual(["name:AWS*", "email:aws-*", "memberKey=a@example.com"]);
    expect(resolve({ argv: argvOf(["--sync-user-fields", "title,locale", "--sync-user-fields", "timezone"]) }).sync.userFields).toEqual(["title", "locale", "timezone"]);
  });

  test("env lists are comma-separated and env booleans accept true/false/1/0", () => {
    const config = resolve({ env: { IDPSCIM_SYNC_USER_FIELDS: "title, locale", IDPSCIM_SYNC_DELETE_UNMANAGED: "1", IDPSCIM_USE_SECRETS_MANAGER: "FALSE" } });
    expect(config.sync.userFields).toEqual(["title", "locale"]);
    expect(config.sync.deleteUnmanaged).toBe(true);
    expect(config.useSecretsManager).toBe(false);
    expect(resolve({ env: { IDPSCIM_DEBUG: "0" } }).logLevel).toBe("info");
  });

  test("a scalar flag given twice is refused", () => {
    expect(problems(() => resolve({ argv: argvOf(["-e", "https://a.example", "-e", "https://b.example"]) }))).toEqual([
      "--aws-scim-endpoint: was given 2 times; pass it once",
    ]);
  });
});

describe("validation messages", () => {
  test("unknown TOML key suggests the nearest", () => {
    const lines = problems(() => resolve({ fileText: `[aws]\nscim_endpont = "https://x.example"\n`, filePath: "config.toml" }));
    expect(lines).toEqual(["[aws] scim_endpont in config.toml: unknown key; did you mean scim_endpoint?"]);
  });

  test("a key in the wrong table or an unknown table points to the right place", () => {
    const lines = problems(() => resolve({ fileText: `scim_endpoint = "https://x.example"\n[gws]\nmode = "sync"\n[awss]\nx = 1\n` }));
    expect(lines).toEqual([
      "scim_endpoint in config.toml: unknown key; did you mean scim_endpoint under [aws]?",
      "[gws] mode in config.toml: unknown key; did you mean mode under [sync]?",
      "[awss] in config.toml: unknown table; did you mean [aws]?",
    ]);
  });

  test("config_file cannot be set inside the file", () => {
    expect(problems(() => resolve({ fileText: `config_file = "x.toml"\n` }))[0]).toContain("pass --config-file or set IDPSCIM_CONFIG_FILE");
  });

  test("unknown IDPSCIM_ env var suggests the nearest; other variables are ignored", () => {
    const lines = problems(() => resolve({ env: { IDPSCIM_AWS_SCIM_ENDPONT: "x", IDPSCIM_WHATEVER_ELSE_ENTIRELY: "y", HOME: "/root" } }));
    expect(lines).toEqual([
      "IDPSCIM_AWS_SCIM_ENDPONT: unknown variable; did you mean IDPSCIM_AWS_SCIM_ENDPOINT?",
      "IDPSCIM_WHATEVER_ELSE_ENTIRELY: unknown variable; unset it (config.example.toml lists every IDPSCIM_* name)",
    ]);
  });

  test("wrong types name the key in the layer used", () => {
    const lines = problems(() =>
      resolve({
        fileText: `debug = "yes"\n[sync]\nuser_fields = "title"\n[aws]\ns3_bucket_name = 42\n`,
        filePath: "conf/idpscim.toml",
        env: { IDPSCIM_SYNC_DELETE_UNMANAGED: "yes" },
      }),
    );
    expect(lines).toEqual([
      'debug in conf/idpscim.toml: must be true or false (got "yes")',
      "[aws] s3_bucket_name in conf/idpscim.toml: must be a string (got 42); quote it",
      '[sync] user_fields in conf/idpscim.toml: must be an array of strings, e.g. ["phoneNumbers","addresses"] (got "title")',
      'IDPSCIM_SYNC_DELETE_UNMANAGED: must be true, false, 1 or 0 (got "yes")',
    ]);
  });

  test("a bad enum lists the choices", () => {
    expect(problems(() => resolve({ env: { IDPSCIM_LOG_LEVEL: "verbose" } }))).toEqual([
      'IDPSCIM_LOG_LEVEL: must be one of debug, info, warn, error (got "verbose")',
    ]);
    expect(resolve({ env: { IDPSCIM_LOG_LEVEL: "WARN" } }).logLevel).toBe("warn");
    expect(problems(() => resolve({ argv: { "sync-user-fields": ["title,nickname"] } }))).toEqual([
      `--sync-user-fields: has unknown value "nickname"; choose from phoneNumbers, addresses, title, preferredLanguage, nickName, profileUrl, userType, locale, timezone, enterprise`,
    ]);
  });

  test("malformed TOML names the file, line and column and the parser's reason", () => {
    const lines = problems(() => resolve({ fileText: `[log]\nlevel = "info"\nformat = = "json"\n`, filePath: "/etc/idpscim.toml" }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\/etc\/idpscim\.toml:3:\d+: invalid TOML: \S.*; fix the syntax there$/);
  });

  test("malformed TOML does not hide env and flag problems", () => {
    const lines = problems(() => resolve({ fileText: "[[[", env: { IDPSCIM_LOG_FORMAT: "xml" } }));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('IDPSCIM_LOG_FORMAT: must be one of text, json (got "xml")');
  });

  test("http endpoint refused, loopback allowed", () => {
    expect(problems(() => resolve({ argv: { "aws-scim-endpoint": "http://scim.example.com/scim/v2" } }))).toEqual([
      '--aws-scim-endpoint: must use https (got "http://scim.example.com/scim/v2"); http is allowed only on localhost, 127.0.0.0/8 and [::1]',
    ]);
    for (const url of ["http://127.0.0.1:8080/scim/v2", "http://127.1.2.3/", "http://localhost:9000", "http://[::1]:1234/scim"]) {
      expect(resolve({ env: { IDPSCIM_AWS_SCIM_ENDPOINT: url } }).aws.scimEndpoint).toBe(url);
    }
    expect(problems(() => resolve({ env: { IDPSCIM_AWS_SCIM_ENDPOINT: "scim.example.com" } }))[0]).toStartWith("IDPSCIM_AWS_SCIM_ENDPOINT: is not a URL");
    expect(problems(() => resolve({ fileText: `[gws]\napi_url = "ftp://x"\n` }))[0]).toStartWith("[gws] api_url in config.toml: must be an https URL");
  });

  test("SCIM rate limits: writes 25 and reads 40 by default, each 1 to 10000", () => {
    expect(resolve().aws).toMatchObject({ scimRateLimit: 25, scimReadRateLimit: 40 });
    expect(resolve({ argv: { "aws-scim-read-rate-limit": "80" } }).aws).toMatchObject({ scimRateLimit: 25, scimReadRateLimit: 80 });
    const found = problems(() => resolve({ fileText: `[aws]\nscim_read_rate_limit = 0\n`, env: { IDPSCIM_AWS_SCIM_RATE_LIMIT: "20000" } }));
    expect(found).toContain("[aws] scim_read_rate_limit in config.toml: must be from 1 to 10000 requests per second (got 0)");
    expect(found).toContain("IDPSCIM_AWS_SCIM_RATE_LIMIT: must be from 1 to 10000 requests per second (got 20000)");
  });

  test("durations", () => {
    expect(parseDuration("30m")).toBe(1_800_000);
    expect(parseDuration("24h")).toBe(86_400_000);
    expect(parseDuration("7d")).toBe(604_800_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    for (const bad of ["", "30", "0h", "1.5h", "h", "30 minutes", "-1h"]) expect(parseDuration(bad)).toBeUndefined();
    expect(resolve({ env: { IDPSCIM_SYNC_RECONCILE_EVERY: "30m" } }).sync.reconcileEveryMs).toBe(1_800_000);
    expect(problems(() => resolve({ fileText: `[sync]\nreconcile_every = 3600\n` }))).toEqual([
      '[sync] reconcile_every in config.toml: must be a duration like "30m", "24h" or "7d" (got 3600)',
    ]);
  });

  test("max_deletes", () => {
    expect(parseMaxDeletes("25%")).toEqual({ percent: 25 });
    expect(parseMaxDeletes("50")).toEqual({ count: 50 });
    expect(parseMaxDeletes(50)).toEqual({ count: 50 });
    for (const bad of ["abc", "150%", "-1", "", "5.5", 1.5]) expect(parseMaxDeletes(bad)).toBeUndefined();
    expect(resolve({ env: { IDPSCIM_SYNC_MAX_DELETES: "50" } }).sync.maxDeletes).toEqual({ count: 50 });
    expect(resolve({ fileText: `[sync]\nmax_deletes = 10\n` }).sync.maxDeletes).toEqual({ count: 10 });
    expect(problems(() => resolve({ argv: { "sync-max-deletes": "abc" } }))).toEqual([
      '--sync-max-deletes: must be a percentage like "25%" (0-100) or a count like "50" (got "abc")',
    ]);
  });

  test("sync.mode = upsert with sync.delete_unmanaged = true is refused, naming both where they were set", () => {
    expect(
      problems(() => resolve({ fileText: `[sync]\nmode = "upsert"\n`, env: { IDPSCIM_SYNC_DELETE_UNMANAGED: "true", IDPSCIM_LOG_LEVEL: "loud" } })),
    ).toEqual([
      'IDPSCIM_LOG_LEVEL: must be one of debug, info, warn, error (got "loud")',
      'sync.mode ([sync] mode in config.toml) is "upsert" and sync.delete_unmanaged (IDPSCIM_SYNC_DELETE_UNMANAGED) is true, but upsert never deletes: remove delete_unmanaged, or set sync.mode = "sync" to delete the users and groups this tool did not create',
    ]);
    expect(problems(() => resolve({ argv: argvOf(["--sync-mode", "upsert", "--sync-delete-unmanaged"]) }))[0]).toStartWith(
      'sync.mode (--sync-mode) is "upsert" and sync.delete_unmanaged (--sync-delete-unmanaged) is true',
    );
    expect(resolve({ argv: argvOf(["--sync-mode", "upsert"]) }).sync.deleteUnmanaged).toBe(false);
    expect(resolve({ argv: argvOf(["--sync-delete-unmanaged"]) }).sync.mode).toBe("sync");
    // A bad value of either is reported as itself, not as a contradiction.
    expect(problems(() => resolve({ env: { IDPSCIM_SYNC_MODE: "upsrt", IDPSCIM_SYNC_DELETE_UNMANAGED: "true" } }))).toEqual([
      'IDPSCIM_SYNC_MODE: must be one of sync, upsert (got "upsrt")',
    ]);
  });

  test("sync.reconcile_every is at most 30 days, also for values that overflow", () => {
    expect(resolve({ env: { IDPSCIM_SYNC_RECONCILE_EVERY: "30d" } }).sync.reconcileEveryMs).toBe(30 * 86_400_000);
    expect(resolve({ env: { IDPSCIM_SYNC_RECONCILE_EVERY: "720h" } }).sync.reconcileEveryMs).toBe(30 * 86_400_000);
    const tooLong = 'is longer than 30 days; the full reconcile is what finds and undoes changes made by hand in AWS, so write at most "30d" (the default is "24h")';
    for (const value of ["721h", "31d", "999999d", "99999999999999999999d", "9007199254740993ms", "5w"]) {
      expect(problems(() => resolve({ env: { IDPSCIM_SYNC_RECONCILE_EVERY: value } }))).toEqual([`IDPSCIM_SYNC_RECONCILE_EVERY: ${tooLong}`]);
    }
    expect(problems(() => resolve({ fileText: `[sync]\nreconcile_every = "999999d"\n` }))).toEqual([`[sync] reconcile_every in config.toml: ${tooLong}`]);
  });

  test('max_deletes and max_membership_removals take "0%" and "0" as zero', () => {
    for (const key of ["max_deletes", "max_membership_removals"]) {
      const path = `sync.${key}`;
      const env = `IDPSCIM_SYNC_${key.toUpperCase()}`;
      const field = key === "max_deletes" ? "maxDeletes" : "maxMembershipRemovals";
      expect(resolve({ env: { [env]: "0%" } }).sync[field]).toEqual({ percent: 0 });
      expect(resolve({ env: { [env]: "0" } }).sync[field]).toEqual({ count: 0 });
      expect(resolve({ fileText: `[sync]\n${key} = 0\n` }).sync[field]).toEqual({ count: 0 });
      expect(resolve({ env: { [env]: "0" } }).sources[path]).toBe("env");
    }
  });

  test("groups filter clauses are checked and the offending one named", () => {
    const ok = ["name:AWS*", "email=aws@example.com", "name:'AWS Team*' email:aws-*", "memberKey=user@example.com"];
    expect(resolve({ argv: { q: ok } }).gws.groupsFilter).toEqual(ok);
    expect(problems(() => resolve({ argv: { q: ["name:AWS* emial:aws-*"] } }))).toEqual([
      '--gws-groups-filter: "emial:aws-*" is not a Directory group query clause; use name=X, name:Prefix*, email=x, email:prefix*, or memberKey=x, space-separated',
    ]);
    expect(problems(() => resolve({ argv: { q: "name:AWS" } }))[0]).toContain('"name:AWS" is not a Directory group query clause');
    expect(problems(() => resolve({ argv: { q: "memberKey:a*" } }))[0]).toContain('"memberKey:a*"');
  });

  test("all problems are reported at once, one line each", () => {
    const lines = problems(() =>
      resolve({
        fileText: `[aws]\nscim_endpont = "x"\n`,
        env: { IDPSCIM_LOG_LEVEL: "loud", IDPSCIM_SYNC_MAX_DELETES: "abc" },
        argv: { "aws-scim-endpoint": "http://example.com", "gws-user-email": "nobody" },
      }),
    );
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe("[aws] scim_endpont in config.toml: unknown key; did you mean scim_endpoint?");
    expect(lines.some((l) => l.startsWith("IDPSCIM_LOG_LEVEL:"))).toBe(true);
    expect(lines.some((l) => l.startsWith("IDPSCIM_SYNC_MAX_DELETES:"))).toBe(true);
    expect(lines.some((l) => l.startsWith("--aws-scim-endpoint:"))).toBe(true);
    expect(lines).toContain("--gws-user-email: must be an email address like admin@example.com (got ***)");
  });

  describe("blank list entries are refused, naming the key and the entry, for every list setting", () => {
    const lists = OPTIONS.filter((o) => o.type === "string[]");
    test("the table has the eight lists", () => {
      expect(lists.map(tomlPath)).toEqual([
        "gws.groups_filter", "gws.users_filter", "ldap.user_attributes", "ldap.group_attributes", "sync.user_fields", "sync.exclude_users", "sync.exclude_groups", "sync.protected_groups",
      ]);
    });
    for (const o of lists) {
      const good = String((o.example as string[] | undefined)?.[0] ?? o.choices?.[0] ?? (o.default as string[])[0]);
      test(tomlPath(o), () => {
        const file = (value: string) => resolve({ fileText: `[${o.table}]\n${o.key} = ${value}\n` });
        const blank = problems(() => file(`[""]`));
        expect(blank).toHaveLength(1);
        expect(blank[0]).toStartWith(`[${o.table}] ${o.key} in config.toml: entry 1 is blank; remove it from the array`);
        expect(problems(() => file(`[${JSON.stringify(good)}, "  "]`))[0]).toContain("entry 2 is blank");
        expect(problems(() => resolve({ argv: argvOf([`--${flagName(o)}`, ""]) }))[0]).toStartWith(`--${flagName(o)}: entry 1 is blank; remove it or give a value`);
        expect(problems(() => resolve({ argv: argvOf([`--${flagName(o)}`, good, `--${flagName(o)}`, " "]) }))[0]).toStartWith(`--${flagName(o)}: entry 2 is blank`);
        expect(problems(() => resolve({ env: { [envName(o)]: "," } }))[0]).toStartWith(`${envName(o)}: entries 1 and 2 are blank; remove them and the extra comma`);
        expect(problems(() => resolve({ env: { [envName(o)]: `${good},,${good}` } }))[0]).toStartWith(`${envName(o)}: entry 2 is blank`);
        expect(problems(() => resolve({ env: { [envName(o)]: `${good},` } }))[0]).toStartWith(`${envName(o)}: entry 2 is blank`);
        // Still fine: an env var set to "" is unset (Terraform and Lambda set optional ones so), and an explicit [] is an empty list.
        expect(resolve({ env: { [envName(o)]: "" } }).sources[tomlPath(o)]).toBe("default");
        const empty = file("[]");
        expect(empty.sources[tomlPath(o)]).toBe("file");
      });
    }
    test("groups_filter: the message says what means all groups, and [] still does", () => {
      expect(problems(() => resolve({ env: { IDPSCIM_GWS_GROUPS_FILTER: "," } }))).toEqual([
        "IDPSCIM_GWS_GROUPS_FILTER: entries 1 and 2 are blank; remove them and the extra comma; only an empty list (leave it out, or write []) means all groups",
      ]);
      expect(resolve({ fileText: `[gws]\ngroups_filter = []\n` }).gws.groupsFilter).toEqual([]);
      expect(resolve({ fileText: `[sync]\nprotected_groups = []\nuser_fields = []\n` }).sync).toMatchObject({ protectedGroups: [], userFields: [] });
    });
  });

  test("secret values are never echoed", () => {
    const lines = problems(() => resolve({ argv: { "aws-scim-access-token": ["s3cr3t-a", "s3cr3t-b"] }, fileText: `[aws]\nscim_access_token = 12345\n` }));
    expect(lines.join("\n")).not.toContain("s3cr3t");
    expect(problems(() => resolve({ fileText: `[aws]\nscim_access_token = 98765\n` }))).toEqual([
      "[aws] scim_access_token in config.toml: must be a string (got ***); quote it",
    ]);
  });
});

describe("values in messages", () => {
  test("gws.user_email is never quoted (it may come from Secrets Manager)", () => {
    for (const argv of [argvOf(["--gws-user-email", "not-an-email-7f3a"]), argvOf(["-u", "x7f3a@"]), { "gws-user-email": 42 }]) {
      const text = problems(() => resolve({ argv })).join("\n");
      expect(text).toStartWith("--gws-user-email: must be");
      expect(text).not.toMatch(/7f3a|42/);
    }
    expect(problems(() => resolve({ fileText: `[gws]\nuser_email = "someone.7f3a"\n` }))).toEqual([
      "[gws] user_email in config.toml: must be an email address like admin@example.com (got ***)",
    ]);
  });

  test("long values are shortened to about 60 characters with their length", () => {
    const long = `x${"A".repeat(10_239)}`;
    const lines = problems(() =>
      resolve({
        env: { IDPSCIM_LOG_LEVEL: long, IDPSCIM_AWS_SCIM_ENDPOINT: `http://scim.example.com/${long}`, IDPSCIM_SYNC_USER_FIELDS: `title,${long}` },
        argv: { q: [`name:${long}`], "sync-max-deletes": long, "state-file": [long, long] },
        fileText: `[sync]\nreconcile_every = "${long}"\n`,
      }),
    );
    expect(lines).toHaveLength(7);
    for (const line of lines) expect(line.length).toBeLessThan(260);
    expect(lines).toContain(`IDPSCIM_LOG_LEVEL: must be one of debug, info, warn, error (got ${JSON.stringify(`${long.slice(0, 59)}…`)} (10240 characters))`);
    expect(lines.filter((line) => line.includes("characters)"))).toHaveLength(6);
  });

  describe("a SCIM token that cannot go in a header is a configuration error, never shown", () => {
    const cases: [string, string][] = [
      ["line break", "a line break"],
      ["tab", "whitespace"],
      ["space", "whitespace"],
      ["control", "a control character"],
      ["non-ascii", "a character that is not printable ASCII"],
    ];
    const token = (kind: string) =>
      `tok-7f3a${{ "line break": "\n", tab: "\t", space: " ", control: "\u0007", "non-ascii": "\u201d" }[kind]}rest-of-token`;
    for (const [kind, phrase] of cases) {
      test(kind, () => {
        const fix = `contains ${phrase} (the token is not shown); copy the token again without it`;
        expect(problems(() => resolve({ env: { IDPSCIM_AWS_SCIM_ACCESS_TOKEN: token(kind) } }))).toEqual([`IDPSCIM_AWS_SCIM_ACCESS_TOKEN: ${fix}`]);
        expect(problems(() => resolve({ argv: argvOf(["-t", token(kind)]) }))).toEqual([`--aws-scim-access-token: ${fix}`]);
        expect(problems(() => resolve({ fileText: `[aws]\nscim_access_token = ${JSON.stringify(token(kind))}\n` }))).toEqual([
          `[aws] scim_access_token in config.toml: ${fix}`,
        ]);
      });
    }
    test("a trailing newline (a file or a variable read with one) is still trimmed, not refused", () => {
      expect(resolve({ env: { IDPSCIM_AWS_SCIM_ACCESS_TOKEN: "tok-123\n" } }).aws.scimAccessToken).toBe("tok-123");
    });
  });
});

describe("secrets given as flags", () => {
  test("warn once per secret option whose value came from a flag, naming the env var, the file and Secrets Manager", () => {
    expect(flagSecretWarnings(resolve({ argv: argvOf(["-t", "tok-7f3a"]) }))).toEqual([
      "--aws-scim-access-token (-t) was given on the command line, where other users of this machine can read it in the process list; " +
        "set IDPSCIM_AWS_SCIM_ACCESS_TOKEN instead, put scim_access_token under [aws] in a config file only you can read, " +
        "or store it in Secrets Manager (--use-secrets-manager; the secret's name is aws.scim_access_token_secret_name)",
    ]);
    expect(flagSecretWarnings(resolve({ env: { IDPSCIM_AWS_SCIM_ACCESS_TOKEN: "tok" } }))).toEqual([]);
    expect(flagSecretWarnings(resolve({ fileText: `[aws]\nscim_access_token = "tok"\n` }))).toEqual([]);
    expect(flagSecretWarnings(resolve({ argv: argvOf(["-e", "https://scim.example/scim/v2", "-u", "admin@example.com"]) }))).toEqual([]);
  });

  test("every secret option is covered, by the table's secret mark alone", () => {
    const secrets = OPTIONS.filter((o) => o.secret);
    expect(secrets.length).toBeGreaterThan(0);
    for (const o of secrets) {
      const warnings = flagSecretWarnings(resolve({ argv: { [flagName(o)]: "value-7f3a" } }));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toStartWith(`--${flagName(o)}`);
      expect(warnings[0]).toContain(envName(o));
      expect(warnings[0]).not.toContain("7f3a");
    }
  });
});

describe("config file", () => {
  // Each test's directory, removed after it: a test run must not leave files in the system's temp directory.
  let dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "idpscim-config-"));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs = [];
  });

  test("readConfigFile returns undefined for a missing file", () => {
    expect(readConfigFile(join(tmpdir(), "idpscim-does-not-exist.toml"))).toBeUndefined();
  });

  test("loadConfig reads --config-file and reports an explicit missing file with the other problems", () => {
    const dir = tempDir();
    const path = join(dir, "config.toml");
    writeFileSync(path, `[sync]\nmode = "upsert"\n`);
    const config = loadConfig({ argv: argvOf(["-c", path]), env: {} });
    expect(config.sync.mode).toBe("upsert");
    expect(config.sources["sync.mode"]).toBe("file");
    expect(config.configFile).toBe(path);

    const missing = join(dir, "nope.toml");
    expect(problems(() => loadConfig({ argv: {}, env: { IDPSCIM_CONFIG_FILE: missing, IDPSCIM_LOG_LEVEL: "x" } }))).toEqual([
      `IDPSCIM_CONFIG_FILE: cannot read ${missing}: no such file; check the path`,
      'IDPSCIM_LOG_LEVEL: must be one of debug, info, warn, error (got "x")',
    ]);
  });
  test("--config-file given twice is one problem, and no other file is read in its place", () => {
    const dir = tempDir();
    const a = join(dir, "a.toml");
    writeFileSync(a, `[sync]\nmode = "upsert"\n`);
    expect(problems(() => loadConfig({ argv: argvOf(["--config-file", a, "--config-file", join(dir, "b.toml")]), env: {} }))).toEqual([
      "--config-file: was given 2 times; pass it once",
    ]);
    expect(problems(() => loadConfig({ argv: argvOf(["-c", a, "-c", a]), env: { IDPSCIM_LOG_LEVEL: "x" } }))).toEqual([
      "--config-file: was given 2 times; pass it once",
      'IDPSCIM_LOG_LEVEL: must be one of debug, info, warn, error (got "x")',
    ]);
  });

  test("a config path that is a directory is reported with the other problems and names the fix", () => {
    const dir = tempDir();
    expect(problems(() => loadConfig({ argv: argvOf(["-c", dir]), env: { IDPSCIM_LOG_FORMAT: "xml" } }))).toEqual([
      `--config-file: ${dir} is a directory, not a file; give the path of the TOML file in it, like ${dir}/config.toml`,
      'IDPSCIM_LOG_FORMAT: must be one of text, json (got "xml")',
    ]);
    expect(() => readConfigFile(dir)).toThrow(`config file ${dir} is a directory, not a file`);
  });
});

describe("requireFor(config, \"sync\")", () => {
  test("a complete config passes", () => {
    expect(() => requireFor(resolve({ env: complete.env }), "sync")).not.toThrow();
  });

  test("missing values name all three layers", () => {
    const lines = problems(() => requireFor(resolve({ env: { IDPSCIM_STATE_FILE: "s.json" } }), "sync"), "CONFIG_MISSING");
    expect(lines).toEqual([
      "aws.scim_endpoint is not set: pass --aws-scim-endpoint, set IDPSCIM_AWS_SCIM_ENDPOINT, or add scim_endpoint under [aws]",
      "aws.scim_access_token is not set: pass --aws-scim-access-token, set IDPSCIM_AWS_SCIM_ACCESS_TOKEN, or add scim_access_token under [aws]",
      "gws.user_email is not set: pass --gws-user-email, set IDPSCIM_GWS_USER_EMAIL, or add user_email under [gws]",
      "gws.service_account_file is not set: pass --gws-service-account-file, set IDPSCIM_GWS_SERVICE_ACCOUNT_FILE, or add service_account_file under [gws]",
    ]);
  });

  test("exactly one state backend", () => {
    const { IDPSCIM_STATE_FILE: _, ...noState } = complete.env;
    const neither = problems(() => requireFor(resolve({ env: noState }), "sync"));
    expect(neither).toEqual([
      "no state backend: set aws.s3_bucket_name (--aws-s3-bucket-name, IDPSCIM_AWS_S3_BUCKET_NAME) or state.file (--state-file, IDPSCIM_STATE_FILE), exactly one",
    ]);
    const both = problems(() => requireFor(resolve({ env: complete.env, fileText: `[aws]\ns3_bucket_name = "b"\n` }), "sync"));
    expect(both).toEqual([
      "both [aws] s3_bucket_name in config.toml and state.file (IDPSCIM_STATE_FILE) are set: keep one state backend and remove the other",
    ]);
    expect(() => requireFor(resolve({ env: { ...noState, IDPSCIM_AWS_S3_BUCKET_NAME: "b" } }), "sync")).not.toThrow();
  });
});

describe("resolveSecrets", () => {
  const key = JSON.stringify({ type: "service_account", client_email: "sa@p.iam.gserviceaccount.com" });
  /** Our SecretResolver port's input, backed by a map, recording what was asked. */
  function secretStore(values: Record<string, string>) {
    const asked: string[] = [];
    return {
      asked,
      async get(name: string): Promise<string> {
        asked.push(name);
        const value = values[name];
        if (value === undefined) throw new SyncError("SECRET_UNAVAILABLE", `secret ${name} not found`);
        return value;
      },
    };
  }
  const noFiles = async (path: string): Promise<string> => {
    throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
  };

  test("secrets fill what was not given, explicit values win, sources become secret", async () => {
    const store = secretStore({
      IDPSCIM_GWSServiceAccountFile: key,
      IDPSCIM_GWSUserEmail: "admin@example.com\n",
      IDPSCIM_SCIMEndpoint: "https://scim.from-secret.example/scim/v2",
      IDPSCIM_SCIMAccessToken: "secret-token",
    });
    const config = resolve({ argv: { g: true, "aws-scim-endpoint": "https://scim.explicit.example/scim/v2" }, env: { IDPSCIM_STATE_FILE: "s.json" } });
    const result = await resolveSecrets(config, store, noFiles);
    expect(result.serviceAccountKey).toBe(key);
    expect(result.config.gws.userEmail).toBe("admin@example.com");
    expect(result.config.aws.scimEndpoint).toBe("https://scim.explicit.example/scim/v2");
    expect(result.config.aws.scimAccessToken).toBe("secret-token");
    expect(result.config.sources["gws.user_email"]).toBe("secret");
    expect(result.config.sources["aws.scim_access_token"]).toBe("secret");
    expect(result.config.sources["aws.scim_endpoint"]).toBe("flag");
    expect(store.asked.sort()).toEqual(["IDPSCIM_GWSServiceAccountFile", "IDPSCIM_GWSUserEmail", "IDPSCIM_SCIMAccessToken"]);
    expect(Object.isFrozen(result.config.aws)).toBe(true);
    expect(config.aws.scimAccessToken).toBeUndefined();
    expect(() => requireFor(result.config, "sync")).not.toThrow();
  });

  test("custom secret names are used, and an explicit key file wins over the secret", async () => {
    const store = secretStore({ email: "a@example.com", ep: "https://scim.example/scim/v2", tok: "t" });
    const config = resolve({ argv: argvOf(["-g", "-s", "key.json", "-p", "email", "-n", "ep", "-j", "tok"]) });
    const result = await resolveSecrets(config, store, async (path) => (path === "key.json" ? key : noFiles(path)));
    expect(result.serviceAccountKey).toBe(key);
    expect(store.asked.sort()).toEqual(["email", "ep", "tok"]);
  });

  test("an endpoint from a secret is validated again", async () => {
    const store = secretStore({ IDPSCIM_GWSServiceAccountFile: key, IDPSCIM_GWSUserEmail: "a@example.com", IDPSCIM_SCIMEndpoint: "http://scim.example/scim/v2", IDPSCIM_SCIMAccessToken: "t" });
    const error = await rejection(() => resolveSecrets(resolve({ argv: { g: true } }), store, noFiles));
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toStartWith("aws.scim_endpoint from secret IDPSCIM_SCIMEndpoint: must use https");
  });

  test("a token from a secret with a line break inside is CONFIG_INVALID, and an endpoint from a secret is never quoted", async () => {
    const values = { IDPSCIM_GWSServiceAccountFile: key, IDPSCIM_GWSUserEmail: "a@example.com", IDPSCIM_SCIMEndpoint: "https://scim.example/scim/v2" };
    const token = await rejection(() => resolveSecrets(resolve({ argv: { g: true } }), secretStore({ ...values, IDPSCIM_SCIMAccessToken: "tok-7f3a\nsecond-line\n" }), noFiles));
    expect(token.code).toBe("CONFIG_INVALID");
    expect(token.exitCode).toBe(2);
    expect(token.message).toBe(
      "aws.scim_access_token from secret IDPSCIM_SCIMAccessToken: contains a line break (the token is not shown); copy the token again without it, and store it in the secret again",
    );
    const endpoint = await rejection(() =>
      resolveSecrets(resolve({ argv: { g: true } }), secretStore({ ...values, IDPSCIM_SCIMEndpoint: "http://tenant-7f3a.example/scim/v2", IDPSCIM_SCIMAccessToken: "t" }), noFiles),
    );
    expect(endpoint.message).toStartWith("aws.scim_endpoint from secret IDPSCIM_SCIMEndpoint: must use https; http is allowed only on");
    expect(endpoint.message).not.toContain("7f3a");
    const notUrl = await rejection(() =>
      resolveSecrets(resolve({ argv: { g: true } }), secretStore({ ...values, IDPSCIM_SCIMEndpoint: "tenant-7f3a.example.com/scim/v2", IDPSCIM_SCIMAccessToken: "t" }), noFiles),
    );
    expect(notUrl.message).not.toContain("7f3a");
  });

  test("unavailable secrets are all reported", async () => {
    const error = await rejection(() => resolveSecrets(resolve({ argv: { g: true } }), secretStore({ IDPSCIM_GWSServiceAccountFile: key }), noFiles));
    expect(error.code).toBe("SECRET_UNAVAILABLE");
    expect(error.message.split("\n")).toEqual(["secret IDPSCIM_GWSUserEmail not found", "secret IDPSCIM_SCIMEndpoint not found", "secret IDPSCIM_SCIMAccessToken not found"]);
  });

  test("without Secrets Manager the key is read from gws.service_account_file", async () => {
    const store = secretStore({});
    const ok = await resolveSecrets(resolve({ env: { IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: "key.json" } }), store, async () => key);
    expect(ok.serviceAccountKey).toBe(key);
    expect(store.asked).toEqual([]);

    const missing = await rejection(() => resolveSecrets(resolve({ env: { IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: "/nope/key.json" } }), store, noFiles));
    expect(missing.code).toBe("CONFIG_INVALID");
    expect(missing.message).toBe("gws.service_account_file: cannot read /nope/key.json: ENOENT: pass --gws-service-account-file with the path of the service-account key JSON");

    const unset = await rejection(() => resolveSecrets(resolve(), store, noFiles));
    expect(unset.code).toBe("CONFIG_MISSING");
    expect(unset.message).toStartWith("gws.service_account_file is not set: pass --gws-service-account-file");

    const notJson = await rejection(() => resolveSecrets(resolve({ env: { IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: "k" } }), store, async () => "-----BEGIN PRIVATE KEY-----"));
    expect(notJson.message).not.toContain("PRIVATE");
  });
});

describe("secrets from files: aws.scim_access_token_file and $CREDENTIALS_DIRECTORY", () => {
  const key = JSON.stringify({ type: "service_account", client_email: "sa@p.iam.gserviceaccount.com" });
  const token = "tok-9c41-AbCdEf0123456789";
  const noSecrets = { get: async (name: string): Promise<string> => Promise.reject(new Error(`no secret ${name} here`)) };
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "idpscim-secret-files-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  test("the token is read from the file, its trailing newline dropped; the path may be shown, not the content", async () => {
    const path = file("scim-token", `${token}\n`);
    const { config } = await resolveSecrets(resolve({ env: { IDPSCIM_AWS_SCIM_ACCESS_TOKEN_FILE: path, IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: file("k.json", key) } }), noSecrets, readTextFile);
    expect(config.aws.scimAccessToken).toBe(token);
    expect(JSON.stringify(redactedConfig(config))).not.toContain(token);
    expect(JSON.stringify(redactedConfig(config))).toContain(path);
    // A path on the command line is no secret: no warning (the token given as a flag still warns).
    expect(flagSecretWarnings(resolve({ argv: { "aws-scim-access-token-file": path } }))).toEqual([]);
    expect(flagSecretWarnings(resolve({ argv: { "aws-scim-access-token": token } }))).toHaveLength(1);
  });

  test("a missing, empty or malformed token file is one CONFIG_INVALID line (exit 2) that never quotes the content", async () => {
    const run = (path: string) => rejection(() => resolveSecrets(resolve({ env: { IDPSCIM_AWS_SCIM_ACCESS_TOKEN_FILE: path, IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: file("k.json", key) } }), noSecrets, readTextFile));
    const missing = await run(join(dir, "nope"));
    expect([missing.code, missing.exitCode]).toEqual(["CONFIG_INVALID", 2]);
    expect(missing.message).toBe(
      `aws.scim_access_token_file ${join(dir, "nope")}: cannot read it: ENOENT; check the path and that the user running idpscim may read it (under systemd: leave aws.scim_access_token_file out and put the file in /etc/idpscim/credentials/scim-token, which idpscim.service hands over as a credential)`,
    );
    expect((await run(file("empty", "\n"))).message).toBe(`aws.scim_access_token_file ${join(dir, "empty")} is empty; put the SCIM access token of IAM Identity Center in it`);
    for (const [content, kind] of [[`${token} extra`, "whitespace"], [`${token}\nsecond-line\n`, "a line break"], [`${token}\u0007x`, "a control character"]] as const) {
      const error = await run(file("bad", content));
      expect(error.code).toBe("CONFIG_INVALID");
      expect(error.message).toContain(`contains ${kind} (the token is not shown)`);
      expect(error.message).not.toContain("tok-9c41");
      expect(error.message.split("\n")).toHaveLength(1);
    }
  });

  test("the token and the token file both set: CONFIG_INVALID before anything is read, naming both", async () => {
    const config = resolve({ env: { IDPSCIM_AWS_SCIM_ACCESS_TOKEN: token, IDPSCIM_AWS_SCIM_ACCESS_TOKEN_FILE: file("scim-token", "tok-other") } });
    const error = await rejection(() => resolveSecrets(config, noSecrets, readTextFile));
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain("both aws.scim_access_token (IDPSCIM_AWS_SCIM_ACCESS_TOKEN) and aws.scim_access_token_file (IDPSCIM_AWS_SCIM_ACCESS_TOKEN_FILE) are set: keep one");
    expect(error.message).not.toContain(token);
  });

  test("$CREDENTIALS_DIRECTORY: scim-token and gws-service-account.json are read when the settings are not given; given settings win", async () => {
    file("scim-token", `${token}\n`);
    file("gws-service-account.json", key);
    const found = await resolveSecrets(resolve(), noSecrets, readTextFile, { credentialsDirectory: dir });
    expect(found.config.aws.scimAccessToken).toBe(token);
    expect(found.config.aws.scimAccessTokenFile).toBe(join(dir, "scim-token"));
    expect(found.config.gws.serviceAccountFile).toBe(join(dir, "gws-service-account.json"));
    expect(found.serviceAccountKey).toBe(key);

    const otherKey = file("other.json", JSON.stringify({ type: "service_account", client_email: "other@p.iam.gserviceaccount.com" }));
    const given = await resolveSecrets(resolve({ env: { IDPSCIM_AWS_SCIM_ACCESS_TOKEN: "tok-from-env", IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: otherKey } }), noSecrets, readTextFile, { credentialsDirectory: dir });
    expect(given.config.aws.scimAccessToken).toBe("tok-from-env");
    expect(given.config.aws.scimAccessTokenFile).toBeUndefined();
    expect(given.serviceAccountKey).toContain("other@");

    // They count as given, so they win over Secrets Manager too.
    const store = { asked: [] as string[], get: async (name: string) => (store.asked.push(name), name === "IDPSCIM_GWSUserEmail" ? "a@example.com" : "https://scim.example/scim/v2") };
    const managed = await resolveSecrets(resolve({ argv: { g: true } }), store, readTextFile, { credentialsDirectory: dir });
    expect(managed.config.aws.scimAccessToken).toBe(token);
    expect(store.asked.sort()).toEqual(["IDPSCIM_GWSUserEmail", "IDPSCIM_SCIMEndpoint"]);
  });

  test("$CREDENTIALS_DIRECTORY as idpscim.service fills it from credentials/ (idpscim_<name>); a credential of its own name, from a drop-in, wins", async () => {
    file(`${UNIT_CREDENTIALS_ID}_scim-token`, `${token}\n`);
    file(`${UNIT_CREDENTIALS_ID}_gws-service-account.json`, key);
    const found = await resolveSecrets(resolve(), noSecrets, readTextFile, { credentialsDirectory: dir });
    expect(found.config.aws.scimAccessToken).toBe(token);
    expect(found.config.aws.scimAccessTokenFile).toBe(join(dir, `${UNIT_CREDENTIALS_ID}_scim-token`));
    expect(found.serviceAccountKey).toBe(key);

    file("scim-token", "tok-from-a-drop-in");
    const both = await resolveSecrets(resolve(), noSecrets, readTextFile, { credentialsDirectory: dir });
    expect(both.config.aws.scimAccessToken).toBe("tok-from-a-drop-in");
  });

  test("$CREDENTIALS_DIRECTORY without the files changes nothing: the settings are still missing, as without it", async () => {
    const unset = await rejection(() => resolveSecrets(resolve(), noSecrets, readTextFile, { credentialsDirectory: dir }));
    expect(unset.code).toBe("CONFIG_MISSING");
    expect(unset.message).toStartWith("gws.service_account_file is not set");
    file("gws-service-account.json", key);
    const { config } = await resolveSecrets(resolve(), noSecrets, readTextFile, { credentialsDirectory: dir });
    expect(config.aws.scimAccessToken).toBeUndefined();
    expect(() => requireFor(config, "sync")).toThrow("aws.scim_access_token is not set");
  });
});

describe("the LDAP bind password: a secret like the SCIM token", () => {
  const password = "s3cr3t pw with spaces ";
  const ldap = { IDPSCIM_SOURCE_TYPE: "ldap" };
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "idpscim-ldap-secret-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const noSecrets = { get: async (name: string): Promise<string> => Promise.reject(new Error(`no secret ${name} here`)) };

  test("from ldap.bind_password_file (a trailing newline dropped, spaces kept), from $CREDENTIALS_DIRECTORY, or from Secrets Manager; never shown", async () => {
    writeFileSync(join(dir, "pw"), `${password}\n`);
    const fromFile = await resolveSecrets(resolve({ env: { ...ldap, IDPSCIM_LDAP_BIND_PASSWORD_FILE: join(dir, "pw") } }), noSecrets, readTextFile);
    expect(fromFile.config.ldap.bindPassword).toBe(password);
    expect(fromFile.serviceAccountKey).toBe(""); // a Google key is neither needed nor read
    expect(JSON.stringify(redactedConfig(fromFile.config))).not.toContain("s3cr3t");

    // As idpscim.service hands over /etc/idpscim/credentials/ldap-bind-password (the directory, loaded whole).
    writeFileSync(join(dir, `${UNIT_CREDENTIALS_ID}_ldap-bind-password`), `${password}\n`);
    const fromCredentials = await resolveSecrets(resolve({ env: ldap }), noSecrets, readTextFile, { credentialsDirectory: dir });
    expect(fromCredentials.config.ldap.bindPassword).toBe(password);
    writeFileSync(join(dir, "ldap-bind-password"), "from a drop-in\n");
    expect((await resolveSecrets(resolve({ env: ldap }), noSecrets, readTextFile, { credentialsDirectory: dir })).config.ldap.bindPassword).toBe("from a drop-in");

    const store = { asked: [] as string[], get: async (name: string) => (store.asked.push(name), name === "IDPSCIM_LDAPBindPassword" ? `${password}\n` : "https://scim.example/scim/v2") };
    const managed = await resolveSecrets(resolve({ env: { ...ldap, IDPSCIM_USE_SECRETS_MANAGER: "true", IDPSCIM_AWS_SCIM_ACCESS_TOKEN: "tok-1" } }), store, readTextFile);
    expect(managed.config.ldap.bindPassword).toBe(password);
    expect(managed.config.sources["ldap.bind_password"]).toBe("secret");
    // The Google secrets are not asked for when the source is LDAP.
    expect(store.asked.sort()).toEqual(["IDPSCIM_LDAPBindPassword", "IDPSCIM_SCIMEndpoint"]);
    expect(JSON.stringify(redactedConfig(managed.config))).not.toContain("s3cr3t");
  });

  test("as a flag it warns; a missing or empty file, or the password and its file both set, is one CONFIG_INVALID line without the content", async () => {
    expect(flagSecretWarnings(resolve({ argv: { "ldap-bind-password": password } }))).toEqual([
      "--ldap-bind-password was given on the command line, where other users of this machine can read it in the process list; set IDPSCIM_LDAP_BIND_PASSWORD instead, put bind_password under [ldap] in a config file only you can read, or store it in Secrets Manager (--use-secrets-manager; the secret's name is ldap.bind_password_secret_name)",
    ]);
    const run = (env: Record<string, string>) => rejection(() => resolveSecrets(resolve({ env: { ...ldap, ...env } }), noSecrets, readTextFile));
    const missing = await run({ IDPSCIM_LDAP_BIND_PASSWORD_FILE: join(dir, "nope") });
    expect([missing.code, missing.exitCode]).toEqual(["CONFIG_INVALID", 2]);
    expect(missing.message).toBe(
      `ldap.bind_password_file ${join(dir, "nope")}: cannot read it: ENOENT; check the path and that the user running idpscim may read it (under systemd: leave ldap.bind_password_file out and put the file in /etc/idpscim/credentials/ldap-bind-password, which idpscim.service hands over as a credential)`,
    );
    writeFileSync(join(dir, "empty"), "\n");
    expect((await run({ IDPSCIM_LDAP_BIND_PASSWORD_FILE: join(dir, "empty") })).message).toBe(`ldap.bind_password_file ${join(dir, "empty")} is empty; put the password of ldap.bind_dn in it`);
    writeFileSync(join(dir, "pw"), password);
    const both = await run({ IDPSCIM_LDAP_BIND_PASSWORD: password, IDPSCIM_LDAP_BIND_PASSWORD_FILE: join(dir, "pw") });
    expect(both.message).toBe(
      "both ldap.bind_password (IDPSCIM_LDAP_BIND_PASSWORD) and ldap.bind_password_file (IDPSCIM_LDAP_BIND_PASSWORD_FILE) are set: keep one (the file keeps the password out of the environment)",
    );
  });
});

describe("LDAP values: each refused with one line naming the setting and the fix", () => {
  test("bind_dn: a DN, or the userPrincipalName or DOMAIN\\name Active Directory also binds with; anything else named", () => {
    for (const name of ["CN=svc-idpscim,OU=Service Accounts,DC=example,DC=com", "svc-idpscim@example.com", "EXAMPLE\\svc-idpscim"]) {
      expect(resolve({ env: { IDPSCIM_LDAP_BIND_DN: name } }).ldap.bindDn).toBe(name);
    }
    expect(problems(() => resolve({ env: { IDPSCIM_LDAP_BIND_DN: "svc idpscim" } }))).toEqual([
      'IDPSCIM_LDAP_BIND_DN: is not a DN (got "svc idpscim"); write attribute=value pairs separated by commas, like "CN=svc-idpscim,OU=Service Accounts,DC=example,DC=com" (Active Directory also takes "svc-idpscim@example.com" or "EXAMPLE\\svc-idpscim")',
    ]);
  });
  test("url, DNs, filters, page size and mapping entries", () => {
    const env = {
      IDPSCIM_LDAP_URL: "https://dc1.example.com",
      IDPSCIM_LDAP_BASE_DN: "example.com",
      IDPSCIM_LDAP_GROUP_FILTER: "cn=AWS-*",
      IDPSCIM_LDAP_USER_FILTER: "(a=b)(c=d)",
      IDPSCIM_LDAP_SUSPENDED_FILTER: "(&(a=b)",
      IDPSCIM_LDAP_PAGE_SIZE: "0",
      IDPSCIM_LDAP_USER_ATTRIBUTES: "userName=uid,login=uid",
      IDPSCIM_LDAP_GROUP_ATTRIBUTES: "displayName",
      IDPSCIM_LDAP_PRESET: "samba",
      IDPSCIM_LDAP_REKEY_USERS_FROM: "objectSid;binary",
    };
    expect(problems(() => resolve({ env }))).toEqual([
      'IDPSCIM_LDAP_URL: must start with ldaps:// or ldap:// (got "https://dc1.example.com")',
      'IDPSCIM_LDAP_BASE_DN: is not a DN (got "example.com"); write attribute=value pairs separated by commas, like "OU=People,DC=example,DC=com"',
      'IDPSCIM_LDAP_USER_FILTER: holds more than one filter (got "(a=b)(c=d)"); combine them into one with (&...) or (|...)',
      'IDPSCIM_LDAP_GROUP_FILTER: must be wrapped in parentheses, like "(cn=AWS-*)" (got "cn=AWS-*")',
      'IDPSCIM_LDAP_SUSPENDED_FILTER: has unbalanced parentheses (got "(&(a=b)"); close every "(" once',
      "IDPSCIM_LDAP_PAGE_SIZE: must be from 1 to 100000 entries (got 0)",
      "IDPSCIM_LDAP_PRESET: must be one of active-directory, openldap, custom (got \"samba\")",
      'IDPSCIM_LDAP_USER_ATTRIBUTES: entry "login=uid" names an unknown target "login"; the targets are externalId, manager, phoneNumber, userName, email, givenName, familyName, displayName, formattedName, title, preferredLanguage, nickName, profileUrl, userType, locale, timezone, employeeNumber, costCenter, organization, division, department',
      'IDPSCIM_LDAP_GROUP_ATTRIBUTES: entry "displayName" is not target=ldapAttribute, like "displayName=name"',
      'IDPSCIM_LDAP_REKEY_USERS_FROM: is not an LDAP attribute name (got "objectSid;binary"); write one like "objectSid"',
    ]);
    expect(problems(() => resolve({ env: { IDPSCIM_LDAP_URL: "ldaps://u:p@dc1.example.com" } }))[0]).toBe(
      "IDPSCIM_LDAP_URL: holds credentials (not shown); put the account in ldap.bind_dn and its password in ldap.bind_password_file or Secrets Manager",
    );
    expect(problems(() => resolve({ env: { IDPSCIM_LDAP_URL: "ldaps://dc1.example.com/DC=example" } }))[0]).toContain("has a path or query");
    // ldap.ca_pem (the CA as text, for Lambda) must hold a whole PEM certificate; a path given there is refused, never echoed.
    const noPem = 'IDPSCIM_LDAP_CA_PEM: holds no PEM certificate ("-----BEGIN CERTIFICATE-----" to "-----END CERTIFICATE-----"): export the CA certificate as Base-64 (PEM)';
    expect(problems(() => resolve({ env: { IDPSCIM_LDAP_CA_PEM: "/etc/idpscim/ldap-ca.pem" } }))).toEqual([noPem]);
    expect(problems(() => resolve({ env: { IDPSCIM_LDAP_CA_PEM: "-----BEGIN CERTIFICATE-----\nMIIB" } }))).toEqual([noPem]);
    const pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
    expect(resolve({ env: { IDPSCIM_LDAP_CA_PEM: pem } }).ldap.caPem).toBe(pem.trimEnd()); // trimmed, as every string
    // Escaped characters are no syntax: an escaped parenthesis and an escaped comma pass.
    expect(resolve({ env: { IDPSCIM_LDAP_GROUP_FILTER: "(cn=AWS \\28prod\\29)", IDPSCIM_LDAP_BASE_DN: "OU=Sales\\, EMEA,DC=example,DC=com" } }).ldap.groupFilter).toBe("(cn=AWS \\28prod\\29)");
  });
});

describe("redactedConfig", () => {
  test("hides the token, keeps the endpoint", () => {
    const redacted = redactedConfig(resolve({ env: complete.env }));
    const text = JSON.stringify(redacted);
    expect(text).not.toContain("tok-123");
    expect((redacted.aws as Record<string, unknown>).scimAccessToken).toBe("***");
    expect((redacted.aws as Record<string, unknown>).scimEndpoint).toBe(complete.env.IDPSCIM_AWS_SCIM_ENDPOINT);
    expect("scimAccessToken" in (redactedConfig(resolve()).aws as object)).toBe(false);
  });

  test("hides every value that came from Secrets Manager", async () => {
    const key = JSON.stringify({ type: "service_account" });
    const secrets = { IDPSCIM_GWSServiceAccountFile: key, IDPSCIM_GWSUserEmail: "admin-7f3a@example.com", IDPSCIM_SCIMEndpoint: "https://tenant-7f3a.example/scim/v2", IDPSCIM_SCIMAccessToken: "t" };
    const { config } = await resolveSecrets(resolve({ argv: { g: true } }), { get: async (name: string) => secrets[name as keyof typeof secrets] }, async () => "");
    const redacted = redactedConfig(config) as { gws: Record<string, unknown>; aws: Record<string, unknown> };
    expect(JSON.stringify(redacted)).not.toContain("7f3a");
    expect([redacted.gws.userEmail, redacted.aws.scimEndpoint]).toEqual(["***", "***"]);
    expect(redactedConfig(resolve({ env: complete.env })).gws).toMatchObject({ userEmail: "admin@example.com" });
  });
});

describe("generated docs", () => {
  const example = readFileSync(join(root, "config.example.toml"), "utf8");

  test("config.example.toml matches the generator", () => {
    expect(example).toBe(renderExampleToml());
  });

  test("config.example.toml loads and validates as-is, and uncommented too", () => {
    const config = resolve({ fileText: example, filePath: "config.example.toml" });
    expect(Object.values(config.sources).every((s) => s === "default")).toBe(true);

    const uncommented = example.replace(/^# ([A-Za-z0-9_]+ = .*)$/gm, "$1");
    const full = resolve({ fileText: uncommented, filePath: "config.example.toml" });
    const fileKeys = OPTIONS.filter((o) => !o.cliOnly).map(tomlPath);
    for (const path of fileKeys) expect(full.sources[path]).toBe("file");
    expect(full.gws.groupsFilter).toEqual(["name:AWS*", "email:aws-*"]);
  });

  test("the README table has a row per option and replaces only between markers", () => {
    const table = renderMarkdownTable();
    expect(table.split("\n")).toHaveLength(OPTIONS.length + 2);
    expect(table).toContain("| `aws.scim_endpoint` | `--aws-scim-endpoint`, `-e` | `IDPSCIM_AWS_SCIM_ENDPOINT` | — |");
    const readme = `# idpscim\n\nintro\n${README_BEGIN}\nold\n${README_END}\n\nafter\n`;
    expect(replaceConfigTable(readme, "NEW")).toBe(`# idpscim\n\nintro\n${README_BEGIN}\nNEW\n${README_END}\n\nafter\n`);
    expect(replaceConfigTable("# no markers\n")).toBeUndefined();
  });
});
