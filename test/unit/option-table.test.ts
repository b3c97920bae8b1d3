/** @module The option table is the one source: names, the resolved type and the requirements derive from it; the stops' renderer words them as before. */
import { describe, expect, test } from "bun:test";
import { renderExampleToml } from "../../src/config/docs.ts";
import { requirementProblems, resolveConfig, type Command, type ResolvedConfig } from "../../src/config/load.ts";
import {
  COMMANDS,
  OPTIONS,
  envName,
  fieldName,
  flagName,
  holderOf,
  tomlPath,
  yargsOptions,
  type AdoptGroups,
  type LogLevel,
  type MaxDeletes,
  type SuspendedUsers,
  type SyncMode,
  type ValueAt,
} from "../../src/config/schema.ts";
import { SyncError } from "../../src/core/errors.ts";
import { refusalError, type Refusal } from "../../src/core/guardrails.ts";
import { describeError, renderRefusal } from "../../src/shell/messages.ts";

const resolve = (env: Record<string, string> = {}, argv: Record<string, unknown> = {}): ResolvedConfig => resolveConfig({ argv, env });

describe("names derive from each entry", () => {
  test("every entry's flag, env var and TOML path are its table and key, and each reaches the resolver", () => {
    const yargs = yargsOptions();
    for (const o of OPTIONS) {
      const parts = [o.table, o.key].filter((p) => p !== undefined);
      expect(flagName(o)).toBe(parts.join("-").replaceAll("_", "-"));
      expect(envName(o)).toBe(`IDPSCIM_${parts.join("_").toUpperCase()}`);
      expect(tomlPath(o)).toBe(parts.join("."));
      expect(yargs[flagName(o)]).toBeDefined();
      expect(renderExampleToml()).toContain(envName(o));
    }
    // No two entries share a name in any layer.
    for (const name of [flagName, envName, tomlPath]) expect(new Set(OPTIONS.map(name)).size).toBe(OPTIONS.length);
  });

  test("every entry with a default lands at its derived property, typed from the table", () => {
    const config = resolve();
    for (const o of OPTIONS.filter((x) => x.default !== undefined && !x.noField)) {
      expect(holderOf(config, o)[fieldName(o)]).toBeDefined();
    }
    expect(fieldName(OPTIONS.find((o) => tomlPath(o) === "sync.reconcile_every")!)).toBe("reconcileEveryMs");
    expect(fieldName(OPTIONS.find((o) => tomlPath(o) === "log.level")!)).toBe("logLevel");
    // Compile-time: the types come from the table's choices and types.
    const mode: SyncMode = config.sync.mode;
    const level: LogLevel = config.logLevel;
    const suspended: SuspendedUsers = config.sync.suspendedUsers;
    const adopt: AdoptGroups = config.sync.adoptGroups;
    const limit: MaxDeletes = config.sync.maxDeletes;
    const every: number = config.sync.reconcileEveryMs;
    const endpoint: string | undefined = config.aws.scimEndpoint;
    const fields: ValueAt<"sync.user_fields"> = config.sync.userFields;
    // @ts-expect-error: not one of sync.mode's choices
    const wrong: SyncMode = "mirror";
    // @ts-expect-error: debug has no property of its own (it sets logLevel)
    void config.debug;
    expect([mode, level, suspended, adopt, limit, every, endpoint, fields.length, wrong]).toEqual(["sync", "info", "deactivate", "first-run", { percent: 25 }, 86_400_000, undefined, 10, "mirror"]);
  });
});

describe("requirementProblems: what each command needs", () => {
  const complete = {
    IDPSCIM_AWS_SCIM_ENDPOINT: "https://scim.example.com/scim/v2",
    IDPSCIM_AWS_SCIM_ACCESS_TOKEN: "tok-123",
    IDPSCIM_GWS_USER_EMAIL: "admin@example.com",
    IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: "key.json",
    IDPSCIM_STATE_FILE: "state.json",
  };
  const missingFor = (config: ResolvedConfig, command: Command) => requirementProblems(config, command).missing.map((line) => line.split(" ")[0]);

  test("with nothing set", () => {
    const empty = resolve();
    const expected: Record<Command, string[]> = {
      sync: ["aws.scim_endpoint", "aws.scim_access_token", "gws.user_email", "gws.service_account_file"],
      plan: ["aws.scim_endpoint", "aws.scim_access_token", "gws.user_email", "gws.service_account_file"],
      "inspect gws": ["gws.user_email", "gws.service_account_file"],
      "inspect ldap": ["ldap.url", "ldap.bind_dn", "ldap.base_dn", "ldap.preset", "ldap.bind_password"],
      "inspect scim": ["aws.scim_endpoint", "aws.scim_access_token"],
      "state show": [],
      "config validate": [],
      doctor: ["aws.scim_endpoint", "aws.scim_access_token", "gws.user_email", "gws.service_account_file"],
    };
    for (const command of COMMANDS) expect(missingFor(empty, command)).toEqual(expected[command]);
    for (const command of ["sync", "plan", "state show", "doctor"] as const) expect(requirementProblems(empty, command).invalid).toHaveLength(1);
    for (const command of ["inspect gws", "inspect ldap", "inspect scim", "config validate"] as const) expect(requirementProblems(empty, command).invalid).toEqual([]);
  });

  const ldapComplete = {
    IDPSCIM_LDAP_URL: "ldaps://dc1.example.com:636",
    IDPSCIM_LDAP_BIND_DN: "CN=svc,DC=example,DC=com",
    IDPSCIM_LDAP_BIND_PASSWORD: "pw",
    IDPSCIM_LDAP_BASE_DN: "DC=example,DC=com",
    IDPSCIM_LDAP_PRESET: "active-directory",
  };

  test("source.type picks the source whose settings sync and plan need; each inspect needs its own", () => {
    const ldap = resolve({ IDPSCIM_SOURCE_TYPE: "ldap", IDPSCIM_STATE_FILE: "s.json" });
    expect(missingFor(ldap, "sync")).toEqual(["aws.scim_endpoint", "aws.scim_access_token", "ldap.url", "ldap.bind_dn", "ldap.base_dn", "ldap.preset", "ldap.bind_password"]);
    expect(missingFor(ldap, "inspect gws")).toEqual(["gws.user_email", "gws.service_account_file"]);
    const ready = resolve({ ...complete, ...ldapComplete, IDPSCIM_SOURCE_TYPE: "ldap", IDPSCIM_GWS_USER_EMAIL: "", IDPSCIM_GWS_SERVICE_ACCOUNT_FILE: "" });
    for (const command of ["sync", "plan", "inspect ldap"] as const) expect(requirementProblems(ready, command)).toEqual({ missing: [], invalid: [] });
    // The password from a file or (before secrets are read) from Secrets Manager counts.
    const { IDPSCIM_LDAP_BIND_PASSWORD: _, ...withoutPassword } = ldapComplete;
    expect(missingFor(resolve({ ...withoutPassword, IDPSCIM_LDAP_BIND_PASSWORD_FILE: "pw.txt" }), "inspect ldap")).toEqual([]);
    expect(requirementProblems(resolve({ ...withoutPassword, IDPSCIM_USE_SECRETS_MANAGER: "true" }), "inspect ldap", { secretsPending: true }).missing).toEqual([]);
  });

  test("LDAP combinations refused before any request: clear text, StartTLS on ldaps, a CA never used or given twice, server nesting on OpenLDAP, re-keying users from their own id, custom left incomplete", () => {
    const problems = (env: Record<string, string>) => requirementProblems(resolve({ ...ldapComplete, ...env }), "inspect ldap");
    expect(problems({ IDPSCIM_LDAP_URL: "ldap://dc1.example.com:389" }).invalid).toEqual([
      'ldap.url "ldap://dc1.example.com:389" would send the bind password and every entry in clear text: use ldaps://dc1.example.com:636, or set ldap.start_tls = true, or (on a network you trust) ldap.allow_insecure = true',
    ]);
    const fine: Record<string, string>[] = [
      { IDPSCIM_LDAP_URL: "ldap://dc1.example.com:389", IDPSCIM_LDAP_START_TLS: "true" },
      { IDPSCIM_LDAP_URL: "ldap://dc1.example.com:389", IDPSCIM_LDAP_ALLOW_INSECURE: "true" },
      { IDPSCIM_LDAP_URL: "ldap://127.0.0.1:3890" },
    ];
    for (const env of fine) expect(problems(env).invalid).toEqual([]);
    expect(problems({ IDPSCIM_LDAP_START_TLS: "true" }).invalid[0]).toStartWith("ldap.start_tls is true but ldap.url");
    expect(problems({ IDPSCIM_LDAP_URL: "ldap://localhost:389", IDPSCIM_LDAP_CA_FILE: "ca.pem" }).invalid[0]).toStartWith("ldap.ca_file is set but ldap.url");
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    expect(problems({ IDPSCIM_LDAP_URL: "ldap://localhost:389", IDPSCIM_LDAP_CA_PEM: pem }).invalid[0]).toStartWith("ldap.ca_pem is set but ldap.url");
    expect(problems({ IDPSCIM_LDAP_CA_PEM: pem }).invalid).toEqual([]);
    expect(problems({ IDPSCIM_LDAP_CA_FILE: "ca.pem", IDPSCIM_LDAP_CA_PEM: pem }).invalid).toEqual([
      "ldap.ca_file and ldap.ca_pem are both set: give the CA bundle once, as a file (ca_file) or as its text (ca_pem)",
    ]);
    expect(problems({ IDPSCIM_LDAP_PRESET: "openldap", IDPSCIM_LDAP_NESTED: "server" }).invalid[0]).toStartWith('ldap.nested = "server"');
    expect(problems({ IDPSCIM_LDAP_REKEY_USERS_FROM: "objectguid" }).invalid).toEqual([
      "ldap.rekey_users_from names objectGUID, the users' id itself: name the attribute the other tool keyed users by (objectSid for AWS's Active Directory sample), or remove it",
    ]);
    expect(problems({ IDPSCIM_LDAP_REKEY_USERS_FROM: "objectSid" }).invalid).toEqual([]);
    expect(problems({ IDPSCIM_LDAP_PRESET: "custom", IDPSCIM_LDAP_USER_ATTRIBUTES: "userName=uid" }).missing).toEqual([
      "ldap.user_filter is not set, and preset custom has no default: pass --ldap-user-filter, set IDPSCIM_LDAP_USER_FILTER, or add user_filter under [ldap]",
      "ldap.group_filter is not set, and preset custom has no default: pass --ldap-group-filter, set IDPSCIM_LDAP_GROUP_FILTER, or add group_filter under [ldap]",
      'ldap.user_attributes does not map externalId, email, and preset custom maps only what it names: add entries like "externalId=entryUUID", "userName=mail", "email=mail" (userName and email may come from [mapping] instead)',
      'ldap.group_attributes does not map externalId, displayName, members, and preset custom maps only what it names: add entries like "externalId=entryUUID", "displayName=cn", "members=member"',
    ]);
  });

  test("a complete config passes every command; use_secrets_manager drops the key file, and before secrets are read, what a secret holds", () => {
    for (const command of COMMANDS) expect(requirementProblems(resolve({ ...complete, ...ldapComplete }), command)).toEqual({ missing: [], invalid: [] });
    const withSecrets = resolve({ IDPSCIM_USE_SECRETS_MANAGER: "true", IDPSCIM_STATE_FILE: "s.json" });
    expect(missingFor(withSecrets, "sync")).toEqual(["aws.scim_endpoint", "aws.scim_access_token", "gws.user_email"]);
    expect(requirementProblems(withSecrets, "sync", { secretsPending: true })).toEqual({ missing: [], invalid: [] });
    // Without use_secrets_manager, "pending" secrets change nothing.
    expect(missingFor(resolve({ IDPSCIM_STATE_FILE: "s.json" }), "sync")).toHaveLength(4);
    expect(requirementProblems(resolve({ IDPSCIM_STATE_FILE: "s.json" }), "sync", { secretsPending: true }).missing).toHaveLength(4);
  });

  test("two state backends: refused for a run, not for state show (it reads S3, as before)", () => {
    const both = resolve({ ...complete, IDPSCIM_AWS_S3_BUCKET_NAME: "b" });
    expect(requirementProblems(both, "sync").invalid).toEqual([
      "both aws.s3_bucket_name (IDPSCIM_AWS_S3_BUCKET_NAME) and state.file (IDPSCIM_STATE_FILE) are set: keep one state backend and remove the other",
    ]);
    expect(requirementProblems(both, "state show").invalid).toEqual([]);
  });
});

describe("the stops' renderer: a structured refusal reads as it always has", () => {
  const names = Array.from({ length: 10 }, (_, i) => `user${i}@example.com`);
  const users: Refusal = { rule: "max_deletes", what: "users", setting: { percent: 25 }, count: 40, managed: 100, limit: 25, names };
  const memberships: Refusal = { rule: "max_membership_removals", what: "memberships", setting: { count: 5 }, count: 6, managed: 50, limit: 5, names: ["u1 from group g1"] };
  const empty: Refusal = { rule: "empty_source", what: "groups", managed: 5 };

  test("each rule", () => {
    expect(renderRefusal(users)).toEqual({
      rule: "max_deletes",
      message: `this run would delete or deactivate 40 users of the 100 it manages, more than sync.max_deletes = "25%" allows (25): ${names.join(", ")} and 30 more`,
      hint: 'if this is intended, raise sync.max_deletes (--sync-max-deletes, IDPSCIM_SYNC_MAX_DELETES, or max_deletes under [sync]; now "25%") or pass --force to allow it for this run only',
    });
    expect(renderRefusal(memberships)).toEqual({
      rule: "max_membership_removals",
      message: 'this run would remove 6 group memberships of the 50 it manages, more than sync.max_membership_removals = "5" allows (5): u1 from group g1 and 5 more',
      hint:
        'if this is intended, raise sync.max_membership_removals (--sync-max-membership-removals, IDPSCIM_SYNC_MAX_MEMBERSHIP_REMOVALS, or max_membership_removals under [sync]; now "5") ' +
        "or pass --force to allow it for this run only",
    });
    expect(renderRefusal(empty)).toEqual({
      rule: "empty_source",
      message:
        "the source returned no groups while the state manages 5: a wrong gws.groups_filter (with an LDAP source: ldap.group_base_dn and ldap.group_filter) or a directory problem looks like everyone left",
      hint: "check gws.groups_filter (with an LDAP source: ldap.group_base_dn and ldap.group_filter) and the reader's rights; if the source is meant to be empty, pass --allow-empty-source",
    });
  });

  test("the SAFETY_REFUSED error and the DEADLINE stop, as the shells print them", () => {
    const verdict = { users: { ...users, names }, groups: { count: 0, managed: 0, limit: 0, names: [] }, memberships: { count: 0, managed: 0, limit: 0, names: [] }, refusals: [users, empty], overridden: [] };
    const refused = refusalError(verdict)!;
    expect(refused.exitCode).toBe(3);
    expect(refused.message).not.toContain("--");
    expect(describeError(refused)).toBe(
      [
        "refused for safety, nothing was written",
        `  ${renderRefusal(users).message}`,
        `  ${renderRefusal(empty).message}`,
        `  to go on: ${renderRefusal(users).hint}; ${renderRefusal(empty).hint}`,
      ].join("\n"),
    );
    const deadline = new SyncError("DEADLINE", "the time budget ran out while reading the source and the tenant, before any write; nothing was written", {
      detail: { kind: "deadline", phase: "reads" },
    });
    expect(describeError(deadline)).toBe(
      "the time budget ran out while reading the source and the tenant, before any write; nothing was written: give the run more time (--max-duration, or the Lambda timeout): the reads alone take longer than the budget's working part",
    );
    expect(describeError(new SyncError("CONFIG_MISSING", "x is not set", { hint: "set it" }))).toBe("x is not set: set it");
  });
});
