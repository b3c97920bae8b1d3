/** @module Unit tests of the [mapping] language: parsing with positions, evaluation through the table, what a read requests, and the settings. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { resolveConfig } from "../../src/config/load.ts";
import { ldapProblems, ldapSettings } from "../../src/config/ldap-settings.ts";
import { configuredMapping } from "../../src/config/mapping.ts";
import { SyncError } from "../../src/core/errors.ts";
import { parseExpression, parseFallbacks } from "../../src/mapping/expression.ts";
import { keysReadUnder, mapUser, sourceFields } from "../../src/mapping/map-user.ts";
import { GOOGLE_USER } from "../../src/mapping/presets/google.ts";
import { ldapPreset } from "../../src/mapping/presets/ldap.ts";
import type { ValueExpr } from "../../src/mapping/table.ts";
import { withMapping, type MappingTarget } from "../../src/mapping/targets.ts";
import { USER_FIELD_NAMES, type UserFieldName } from "../../src/model/index.ts";
import { ROOT } from "../support/paths.ts";

const ALL = new Set<UserFieldName>(USER_FIELD_NAMES);

function expr(source: string | string[]): ValueExpr {
  const parsed = parseFallbacks(typeof source === "string" ? [source] : source);
  if ("problem" in parsed) throw new Error(parsed.problem);
  return parsed.expr;
}

const problem = (source: string) => {
  const parsed = parseExpression(source);
  return "problem" in parsed ? parsed.problem : undefined;
};

/** The Google preset with `mapping` laid over it, applied to `user`. */
function mapped(mapping: Partial<Record<MappingTarget, string | string[]>>, user: object) {
  const exprs = Object.fromEntries(Object.entries(mapping).map(([target, source]) => [target, expr(source)]));
  return mapUser(withMapping(GOOGLE_USER, exprs), user, { fields: ALL }).attributes;
}

const ana = {
  id: "1",
  primaryEmail: "ana@example.com",
  name: { givenName: "Ana", familyName: "Lima", fullName: "Ana Lima" },
  orgUnitPath: "/Engineering/Platform",
  organizations: [{ name: "Acme", department: "Sales" }, { primary: true, department: "Platform", costCenter: "CC-10" }],
  externalIds: [{ type: "custom", value: "X" }, { type: "organization", value: "E-0001" }],
  phones: [{ type: "mobile", value: "+1 555 0100" }, { type: "work", value: "+1 555 0199" }],
  customSchemas: { HR: { login: "alima", employeeId: "1001", projects: [{ type: "work", value: "Apollo" }] } },
};

describe("parseExpression", () => {
  test("paths, selections, literals and templates", () => {
    expect(expr("organizations[primary].department")).toEqual({ kind: "field", steps: [{ key: "organizations", select: { primary: true } }, { key: "department" }] });
    expect(expr("externalIds[type=organization].value")).toEqual({ kind: "field", steps: [{ key: "externalIds", select: { type: "organization" } }, { key: "value" }] });
    expect(expr("phones[1].value")).toEqual({ kind: "field", steps: [{ key: "phones", select: 1 }, { key: "value" }] });
    expect(expr("'it''s'")).toEqual({ kind: "text", text: "it's" });
    expect(expr("{{{a}}}")).toEqual({ kind: "template", parts: ["{", { kind: "field", steps: [{ key: "a" }] }, "}"] });
  });

  test("a problem names the position (from 1) and what was expected there", () => {
    expect(problem("organizations[primary]].x")).toBe('unexpected "]" at position 23; expected ".", "[" or the end');
    expect(problem("a..b")).toBe('unexpected "." at position 3; expected a field name');
    expect(problem("a[type=]")).toBe('unexpected "]" at position 8; expected a value after "=", like [type=work]');
    expect(problem("{name.givenName")).toBe('unexpected end at position 16; expected ".", "[" or "}"');
    expect(problem("a}")).toBe('unexpected "}" at position 2; expected text or "{" (write "}}" for a "}" as text)');
    expect(problem("'abc")).toBe("unexpected end at position 5; expected a closing \"'\"");
    expect(problem("given name")).toBe('unexpected "n" at position 7; expected ".", "[" or the end');
    expect(problem(" ")).toStartWith("is empty;");
    expect(parseFallbacks(["mail", "a["])).toEqual({ problem: "entry 2: unexpected end at position 3; expected a field name or an index, like [primary], [type=work] or [0]" });
  });
});

describe("a mapping laid over the Google preset", () => {
  test("a custom-schema userName, a selected element, a literal, the rest the preset's", () => {
    const user = mapped({ userName: "customSchemas.HR.login", department: "organizations[primary].department", userType: "'Employee'" }, ana);
    expect(user.userName).toBe("alima");
    expect(user.department).toBe("Platform");
    expect(user.userType).toBe("Employee");
    expect(user.email).toBe("ana@example.com");
    expect(user.costCenter).toBe("CC-10");
  });

  test("without a selection a list step takes the first element; a selection that matches nothing is missing", () => {
    expect(mapped({ department: "organizations.department" }, ana).department).toBe("Sales");
    expect(mapped({ employeeNumber: "externalIds[type=organization].value" }, ana).employeeNumber).toBe("E-0001");
    expect(mapped({ title: "customSchemas.HR.projects.value" }, ana).title).toBe("Apollo");
    expect(mapped({ title: "externalIds[type=nothing].value" }, ana).title).toBeUndefined();
    expect(mapped({ title: "name[primary].givenName" }, ana).title).toBeUndefined();
    // Custom fields of type int64, double and bool are JSON numbers and booleans.
    expect(mapped({ employeeNumber: "customSchemas.HR.n", title: "{customSchemas.HR.b}/{customSchemas.HR.d}" }, { ...ana, customSchemas: { HR: { n: 42, b: false, d: 1.5 } } })).toMatchObject({ employeeNumber: "42", title: "false/1.5" });
  });

  test("a template has a value only when all its fields do; a fallback list takes the first value", () => {
    expect(mapped({ displayName: "{name.familyName}, {name.givenName}" }, ana).displayName).toBe("Lima, Ana");
    expect(mapped({ title: "{customSchemas.HR.nothing} x" }, ana).title).toBeUndefined();
    expect(mapped({ employeeNumber: ["customSchemas.HR.badgeId", "customSchemas.HR.employeeId"] }, ana).employeeNumber).toBe("1001");
    // A blank name falls through to the next entry.
    expect(mapped({ givenName: ["customSchemas.HR.blank", "name.givenName"] }, { ...ana, customSchemas: { HR: { blank: "\u200b " } } }).givenName).toBe("Ana");
  });

  test("phone number and address from an expression; the manager stays a reference the adapter resolves", () => {
    const user = mapped({ phoneNumber: "phones[type=mobile].value", address: "'1 Main St, Lisbon'", manager: "customSchemas.HR.login" }, ana);
    expect(user.phoneNumber).toEqual({ value: "+1 555 0100", type: "work" });
    expect(user.address).toEqual({ formatted: "1 Main St, Lisbon", type: "work" });
    const result = mapUser(withMapping(GOOGLE_USER, { manager: expr("customSchemas.HR.login") }), ana, { fields: ALL });
    expect(result.manager).toBe("alima");
  });

  test("an LDAP attribute is a path: its first value", () => {
    const table = withMapping(ldapPreset("openldap", [], []).user, { employeeNumber: expr("employeeType"), title: expr("{ou} ({o})") });
    const attributes = mapUser(table, { dn: "uid=a,dc=x", mail: ["a@x.io"], employeeType: ["", "staff"], ou: ["R&D"], o: "Acme" }, { fields: ALL }).attributes;
    expect(attributes.employeeNumber).toBe("staff");
    expect(attributes.title).toBe("R&D (Acme)");
    expect(sourceFields(table, ALL)).toContain("employeeType");
  });
});

describe("what a read requests", () => {
  test("custom schemas only when a selected attribute reads them", () => {
    expect(keysReadUnder(GOOGLE_USER, ALL, "customSchemas")).toEqual([]);
    const table = withMapping(GOOGLE_USER, { userName: expr(["customSchemas.HR.login", "primaryEmail"]), employeeNumber: expr("{customSchemas.Badge.id}") });
    expect(keysReadUnder(table, ALL, "customSchemas")).toEqual(["HR", "Badge"]);
    expect(keysReadUnder(table, new Set(), "customSchemas")).toEqual(["HR"]);
    expect(sourceFields(table, new Set())).toEqual(["id", "primaryEmail", "name", "suspended", "archived", "customSchemas"]);
  });
});

describe("[mapping] settings", () => {
  const resolve = (fileText: string, env: Record<string, string> = {}) => resolveConfig({ argv: {}, env, fileText, filePath: "config.toml" });
  const refusal = (fileText: string, env: Record<string, string> = {}) => {
    try {
      resolve(fileText, env);
    } catch (error) {
      expect(error).toBeInstanceOf(SyncError);
      return (error as SyncError).message;
    }
    throw new Error("resolved");
  };

  test("a string or a fallback array in the file; one expression or a JSON array from the environment", () => {
    const config = resolve('[mapping]\nuserName = ["customSchemas.HR.login", "primaryEmail"]\ntitle = "organizations[primary].title"\n', {
      IDPSCIM_MAPPING_DEPARTMENT: '["customSchemas.HR.dept", "orgUnitPath"]',
    });
    expect(config.mapping.userName).toEqual(["customSchemas.HR.login", "primaryEmail"]);
    expect(config.mapping.department).toEqual(["customSchemas.HR.dept", "orgUnitPath"]);
    expect(Object.keys(configuredMapping(config))).toEqual(["userName", "title", "department"]);
    expect(resolve("").mapping).toEqual({});
  });

  test("an invalid expression names the key and the position; a mapping of an unselected attribute is refused", () => {
    expect(refusal('[mapping]\nuserName = "customSchemas.HR]login"\n')).toBe('[mapping] userName in config.toml: unexpected "]" at position 17; expected ".", "[" or the end');
    expect(refusal("[mapping]\ntitle = 7\n")).toStartWith("[mapping] title in config.toml: must be an expression or an array of them");
    expect(refusal('[mapping]\nusername = "mail"\n')).toBe("[mapping] username in config.toml: unknown key; did you mean userName?");
    expect(refusal('[mapping]\ntitle = "x"\n[sync]\nuser_fields = ["enterprise"]\n')).toBe(
      'mapping.title ([mapping] title in config.toml) is set, but sync.user_fields ([sync] user_fields in config.toml) leaves out title, so title is never written: add "title" to sync.user_fields, or remove mapping.title',
    );
    expect(refusal("", { IDPSCIM_MAPPING_TITLE: "[x" })).toStartWith('IDPSCIM_MAPPING_TITLE: starts with "[" but is not a JSON array');
  });
});

describe("[mapping] with an LDAP source", () => {
  const ldapConfig = (extra: string) =>
    resolveConfig({
      argv: {},
      env: {},
      fileText: `[source]\ntype = "ldap"\n[ldap]\nurl = "ldaps://dc1.example.com"\nbind_dn = "cn=svc,dc=x"\nbase_dn = "dc=x"\n${extra}`,
    });

  test("with preset custom, [mapping] may give userName and email; naming a target in ldap.user_attributes too is refused", () => {
    const custom = ldapConfig('preset = "custom"\nuser_filter = "(objectClass=person)"\ngroup_filter = "(objectClass=groupOfNames)"\nuser_attributes = ["externalId=entryUUID"]\ngroup_attributes = ["externalId=entryUUID", "displayName=cn", "members=member"]\n[mapping]\nuserName = "uid"\nemail = ["mail", "{uid}@example.com"]\n');
    expect(ldapProblems(custom)).toEqual({ missing: [], invalid: [] });
    const user = ldapSettings({ ...custom, ldap: { ...custom.ldap, bindPassword: "pw" } }).preset.user;
    expect(mapUser(user, { dn: "uid=ana,dc=x", uid: "ana" }, { fields: ALL }).attributes).toMatchObject({ userName: "ana", email: "ana@example.com" });

    const twice = ldapConfig('preset = "openldap"\nuser_attributes = ["userName=uid"]\n[mapping]\nuserName = "mail"\n');
    expect(ldapProblems(twice).invalid).toEqual(["mapping.userName and ldap.user_attributes both map userName: keep one (a [mapping] expression can be any LDAP attribute)"]);
  });
});

describe("README's Mapping section", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Mapping"), readme.indexOf("### Scoping"));

  test("each example resolves, and the error it quotes is the one given", () => {
    const blocks = [...section.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(3);
    for (const block of blocks) expect(Object.keys(configuredMapping(resolveConfig({ argv: {}, env: {}, fileText: block }))).length).toBeGreaterThan(0);
    const quoted = /`(\[mapping\] department in config\.toml: [^`]+)`/.exec(section)![1];
    expect(() => resolveConfig({ argv: {}, env: {}, fileText: '[mapping]\ndepartment = "organizations[primary.department"\n', filePath: "config.toml" })).toThrow(quoted);
  });
});
