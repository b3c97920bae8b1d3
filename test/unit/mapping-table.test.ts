/** @module Unit tests of the mapping table: its expressions, the required-name fill-in, field selection, and the LDAP preset. */
import { describe, expect, test } from "bun:test";
import { mapUser, sourceFields } from "../../src/mapping/map-user.ts";
import { GOOGLE_USER } from "../../src/mapping/presets/google.ts";
import { ldapPreset, type LdapEntry } from "../../src/mapping/presets/ldap.ts";

const LDAP_USER = ldapPreset("openldap", [], []).user;
import {
  before,
  firstOf,
  firstValue,
  inElement,
  join,
  name,
  path,
  text,
  trim,
  truncate,
  type UserMappingTable,
  type ValueExpr,
} from "../../src/mapping/table.ts";
import { USER_FIELD_NAMES, type UserFieldName } from "../../src/model/index.ts";

const ALL = new Set<UserFieldName>(USER_FIELD_NAMES);
const NONE = new Set<UserFieldName>();

/** A table whose only optional attribute, title, is the expression under test. */
function titleOf(record: object, expr: ValueExpr): string | undefined {
  const table: UserMappingTable = { ...minimal, attributes: { ...minimal.attributes, title: expr } };
  return mapUser(table, record, { fields: new Set(["title"]) }).attributes.title;
}

const minimal: UserMappingTable = {
  subject: firstOf(path("email"), text("(none)")),
  read: ["id"],
  nameFallback: name(before("@", path("email"))),
  attributes: {
    userName: path("email"),
    email: path("email"),
    givenName: name(path("given")),
    familyName: name(path("family")),
    displayName: name(path("display")),
  },
};

describe("expressions", () => {
  test("path: a non-blank string at a dotted path, as held; anything else is missing", () => {
    expect(titleOf({ a: { b: " x " } }, path("a.b"))).toBe(" x ");
    expect(titleOf({ a: { b: "  " } }, path("a.b"))).toBeUndefined();
    expect(titleOf({ a: { b: 7 } }, path("a.b"))).toBeUndefined();
    expect(titleOf({ a: "b" }, path("a.b"))).toBeUndefined();
    expect(titleOf({ a: ["x"] }, path("a"))).toBeUndefined();
  });

  test("firstValue: the first non-blank string of a multi-valued attribute, or the string itself", () => {
    expect(titleOf({ t: ["", " ", "x", "y"] }, firstValue("t"))).toBe("x");
    expect(titleOf({ t: "x" }, firstValue("t"))).toBe("x");
    expect(titleOf({ t: [] }, firstValue("t"))).toBeUndefined();
  });

  test("firstOf, join, trim, before, truncate, text", () => {
    const r = { a: "A", b: " B ", e: "ana@example.com", long: "abcdef" };
    expect(titleOf(r, firstOf(path("none"), path("b"), path("a")))).toBe(" B ");
    expect(titleOf(r, join("-", path("a"), path("none"), trim(path("b"))))).toBe("A-B");
    expect(titleOf(r, join("-", path("none")))).toBeUndefined();
    expect(titleOf(r, before("@", path("e")))).toBe("ana");
    expect(titleOf(r, before("@", path("a")))).toBe("A");
    expect(titleOf(r, truncate(3, path("long")))).toBe("abc");
    expect(titleOf({ s: "🙂🙂🙂" }, truncate(2, path("s")))).toBe("🙂🙂");
    expect(titleOf(r, text("fixed"))).toBe("fixed");
  });

  test("name: trimmed, and missing when it has no character AWS keeps in a name", () => {
    expect(titleOf({ n: "  Ana " }, name(path("n")))).toBe("Ana");
    expect(titleOf({ n: "\u200B\u0007" }, name(path("n")))).toBeUndefined();
  });

  test("inElement: prefer in order, among the elements `having` a value, else the first or none", () => {
    const list = [{ type: "home", v: "1" }, { type: "work", v: "" }, { type: "mobile", v: "3" }, "junk", null];
    const pick = (prefer: { type: string }[], otherwise?: "none") =>
      titleOf({ list }, inElement({ list: "list", having: "v", prefer, ...(otherwise ? { otherwise } : {}) }, "v"));
    expect(pick([{ type: "work" }, { type: "mobile" }])).toBe("3");
    expect(pick([{ type: "other" }])).toBe("1");
    expect(pick([{ type: "other" }], "none")).toBeUndefined();
    expect(titleOf({ list: "not a list" }, inElement({ list: "list" }, "v"))).toBeUndefined();
    expect(titleOf({ list: [{ primary: "true", v: "a" }, { primary: true, v: "b" }] }, inElement({ list: "list", prefer: [{ primary: true }] }, "v"))).toBe("b");
  });
});

describe("required names", () => {
  test("given and family fill in for each other; displayName takes givenName", () => {
    expect(mapUser(minimal, { email: "a@x.io", family: "Lima" }, { fields: NONE })).toEqual({
      attributes: { userName: "a@x.io", displayName: "Lima", givenName: "Lima", familyName: "Lima", email: "a@x.io", active: true },
      warnings: [],
    });
  });

  test("neither: both take the fallback, with a warning naming the subject; '-' is the last resort", () => {
    const { attributes, warnings } = mapUser(minimal, { email: "svc@x.io" }, { fields: NONE });
    expect(attributes).toMatchObject({ givenName: "svc", familyName: "svc", displayName: "svc" });
    expect(warnings).toEqual([`user svc@x.io: has no given or family name; using "svc" for both`]);
    const bare = mapUser(minimal, {}, { fields: NONE });
    expect(bare.attributes).toEqual({ userName: "", displayName: "-", givenName: "-", familyName: "-", email: "", active: true });
    expect(bare.warnings).toEqual([`user (none): has no given or family name; using "-" for both`]);
  });
});

describe("selection", () => {
  test("a sync.user_fields group selects its target attributes, and only those are read", () => {
    const table: UserMappingTable = {
      ...minimal,
      attributes: { ...minimal.attributes, title: path("t"), department: path("org.dept"), managerSourceId: trim(path("boss")) },
    };
    const record = { email: "a@x.io", given: "A", family: "B", t: "T", org: { dept: "D" }, boss: " b@x.io " };
    expect(mapUser(table, record, { fields: new Set(["title"]) })).toEqual({
      attributes: { userName: "a@x.io", displayName: "A", givenName: "A", familyName: "B", email: "a@x.io", active: true, title: "T" },
      warnings: [],
    });
    expect(mapUser(table, record, { fields: new Set(["enterprise"]) })).toMatchObject({ attributes: { department: "D" }, manager: "b@x.io" });
    expect(sourceFields(table, NONE)).toEqual(["id", "email", "given", "family", "display"]);
    expect(sourceFields(table, new Set(["enterprise"]))).toEqual(["id", "email", "given", "family", "display", "org", "boss"]);
  });

  test("tables are plain data: a configured mapping can be read from JSON or TOML", () => {
    for (const table of [GOOGLE_USER, LDAP_USER]) expect(JSON.parse(JSON.stringify(table))).toEqual(table);
  });
});

describe("LDAP preset (openldap)", () => {
  const entry: LdapEntry = {
    dn: "uid=ana,ou=people,dc=example,dc=com",
    uid: "ana",
    mail: ["ana.lima@example.com", "ana@example.com"],
    givenName: "Ana",
    sn: "Lima",
    cn: "Ana Lima",
    displayName: "Ana L.",
    title: "Staff Engineer",
    telephoneNumber: ["+1 555 0003"],
    ou: "Platform",
    employeeNumber: "E-0001",
    o: "Example Corp",
    manager: "uid=bo,ou=people,dc=example,dc=com",
  };

  test("a plain entry maps to UserAttributes; the manager's DN is left for the source to resolve", () => {
    expect(mapUser(LDAP_USER, entry, { fields: ALL })).toEqual({
      attributes: {
        userName: "ana.lima@example.com",
        // The preset's displayName is cn (displayName is the fallback).
        displayName: "Ana Lima",
        givenName: "Ana",
        familyName: "Lima",
        email: "ana.lima@example.com",
        active: true,
        formattedName: "Ana Lima",
        phoneNumber: { value: "+1 555 0003", type: "work" },
        title: "Staff Engineer",
        employeeNumber: "E-0001",
        department: "Platform",
        organization: "Example Corp",
      },
      warnings: [],
      manager: "uid=bo,ou=people,dc=example,dc=com",
    });
  });

  test("no names: the uid fills in; displayName falls back to cn, then 'given sn'", () => {
    const { attributes, warnings } = mapUser(LDAP_USER, { dn: entry.dn, uid: "svc-backup", mail: "svc@example.com" }, { fields: NONE });
    expect(attributes).toMatchObject({ givenName: "svc-backup", familyName: "svc-backup", displayName: "svc-backup" });
    expect(warnings).toEqual([`user svc@example.com: has no given or family name; using "svc-backup" for both`]);
    expect(mapUser(LDAP_USER, { dn: entry.dn, givenName: "A", sn: "B" }, { fields: NONE }).attributes.displayName).toBe("A B");
  });

  test("the attributes a search requests follow the selection", () => {
    expect(sourceFields(LDAP_USER, NONE)).toEqual(["mail", "cn", "displayName", "givenName", "sn", "uid", "dn"]);
    expect(sourceFields(LDAP_USER, new Set(["enterprise"]))).toEqual(["mail", "cn", "displayName", "givenName", "sn", "manager", "employeeNumber", "ou", "o", "uid", "dn"]);
  });
});
