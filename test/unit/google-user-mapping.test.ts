/** @module Unit tests of the Google preset: a Directory User resource → UserAttributes. */
import { describe, expect, test } from "bun:test";
import { mapUser, sourceFields, userMapper, type MapUserOptions } from "../../src/mapping/map-user.ts";
import { GOOGLE_USER, type GoogleUser } from "../../src/mapping/presets/google.ts";
import { USER_FIELD_NAMES, type UserFieldName } from "../../src/model/index.ts";

const mapGoogleUser = (user: GoogleUser, options: MapUserOptions) => mapUser(GOOGLE_USER, user, options);
const googleUserFields = (fields: ReadonlySet<UserFieldName>) => sourceFields(GOOGLE_USER, fields);

const ALL = new Set<UserFieldName>(USER_FIELD_NAMES);
const NONE = new Set<UserFieldName>();

const ana: GoogleUser = {
  id: "1",
  primaryEmail: "ana.lima@example.com",
  name: { givenName: "Ana", familyName: "Lima", fullName: "Ana Lima" },
  suspended: false,
  phones: [
    { value: "+1 555 0001", type: "home" },
    { value: "+1 555 0002", type: "mobile" },
    { value: "+1 555 0003", type: "work" },
  ],
  addresses: [
    { type: "home", streetAddress: "9 Home St", locality: "Porto" },
    { type: "work", streetAddress: "1 Main St", locality: "Lisbon", region: "LX", postalCode: "1000", country: "Portugal", countryCode: "PT", formatted: "1 Main St\n1000 Lisbon" },
  ],
  organizations: [
    { name: "Side Gig", title: "Advisor" },
    { primary: true, name: "Example Corp", title: "Staff Engineer", department: "Platform", costCenter: "CC-10", description: "Full-time", domain: "R&D" },
  ],
  languages: [{ languageCode: "en" }, { languageCode: "pt-PT", preference: "preferred" }],
  websites: [{ type: "blog", value: "https://blog.example" }, { type: "profile", value: "https://me.example/ana" }],
  relations: [{ type: "spouse", value: "x@example.com" }, { type: "manager", value: "bo.chen@example.com" }],
  externalIds: [{ type: "custom", value: "X" }, { type: "organization", value: "E-0001" }],
};

describe("mapGoogleUser: required attributes", () => {
  test("userName and email are the primary email; names come from name; active is always true", () => {
    const { attributes, warnings } = mapGoogleUser(ana, { fields: NONE });
    expect(attributes).toEqual({
      userName: "ana.lima@example.com",
      email: "ana.lima@example.com",
      givenName: "Ana",
      familyName: "Lima",
      displayName: "Ana Lima",
      formattedName: "Ana Lima",
      active: true,
    });
    expect(warnings).toEqual([]);
  });

  test("a suspended or archived user is still active=true (the flag travels separately)", () => {
    expect(mapGoogleUser({ ...ana, suspended: true, archived: true }, { fields: NONE }).attributes.active).toBe(true);
  });

  test("displayName falls back to 'given family' when fullName is missing", () => {
    const { attributes } = mapGoogleUser({ primaryEmail: "a@x.io", name: { givenName: " Ana ", familyName: "Lima" } }, { fields: NONE });
    expect(attributes.displayName).toBe("Ana Lima");
    expect(attributes.givenName).toBe("Ana");
    expect(attributes.formattedName).toBeUndefined();
  });

  test("mononym: an empty familyName takes the givenName", () => {
    const { attributes, warnings } = mapGoogleUser(
      { primaryEmail: "farah@example.com", name: { givenName: "Farah", familyName: "", fullName: "Farah" } },
      { fields: NONE },
    );
    expect(attributes).toMatchObject({ givenName: "Farah", familyName: "Farah", displayName: "Farah" });
    expect(warnings).toEqual([]);
  });

  test("a whitespace-only givenName takes the familyName", () => {
    const { attributes } = mapGoogleUser({ primaryEmail: "x@example.com", name: { givenName: "  ", familyName: "Sato" } }, { fields: NONE });
    expect(attributes).toMatchObject({ givenName: "Sato", familyName: "Sato", displayName: "Sato" });
  });

  test("no names at all: the local part of the email, with a warning; the user is kept", () => {
    const { attributes, warnings } = mapGoogleUser({ primaryEmail: "svc.backup@example.com" }, { fields: NONE });
    expect(attributes).toMatchObject({ givenName: "svc.backup", familyName: "svc.backup", displayName: "svc.backup", userName: "svc.backup@example.com" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("svc.backup@example.com");
  });

  test("non-ASCII names are kept as they are", () => {
    const { attributes, warnings } = mapGoogleUser(
      { primaryEmail: "goran@example.com", name: { givenName: "Goran", familyName: "Ivić", fullName: "Goran Ivić" } },
      { fields: NONE },
    );
    expect(attributes.familyName).toBe("Ivić");
    const cjk = mapGoogleUser({ primaryEmail: "k@example.com", name: { givenName: "은", familyName: "김", fullName: "김은 🙂" } }, { fields: NONE });
    expect(cjk.attributes).toMatchObject({ givenName: "은", familyName: "김", displayName: "김은 🙂" });
    expect([...warnings, ...cjk.warnings]).toEqual([]);
  });

  test("behaviour change: control and format characters are kept as Google holds them (fitForAws removes them, with the warning)", () => {
    const { attributes, warnings } = mapGoogleUser(
      { primaryEmail: "c@example.com", name: { givenName: "An\u0007a", familyName: "Li\u200Bma", fullName: "Ana\u00A0Lima" } },
      { fields: NONE },
    );
    expect(attributes).toMatchObject({ givenName: "An\u0007a", familyName: "Li\u200Bma", displayName: "Ana\u00A0Lima" });
    expect(warnings).toEqual([]);
  });

  test("a name made only of control or format characters counts as missing: the other name fills in", () => {
    const { attributes, warnings } = mapGoogleUser(
      { primaryEmail: "s@example.com", name: { givenName: "\u200B\u0007", familyName: "Sato", fullName: "\u001b" } },
      { fields: NONE },
    );
    expect(attributes).toMatchObject({ givenName: "Sato", familyName: "Sato", displayName: "Sato" });
    expect(attributes.formattedName).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  test("behaviour change: over-long values are kept whole, userName and email included (fitForAws rejects the user or cuts free text)", () => {
    const longLocal = "u".repeat(140);
    const { attributes, warnings } = mapGoogleUser(
      { primaryEmail: `${longLocal}@example.com`, name: { givenName: "G".repeat(1100), familyName: "F", fullName: "N".repeat(2000) } },
      { fields: NONE },
    );
    expect(attributes.userName).toBe(`${longLocal}@example.com`);
    expect(attributes.email).toBe(`${longLocal}@example.com`);
    expect(attributes.givenName).toHaveLength(1100);
    expect(attributes.displayName).toHaveLength(2000);
    expect(warnings).toEqual([]);
  });

  test("a warning shows the email escaped: a forged name cannot break the log line", () => {
    const { warnings } = mapGoogleUser({ primaryEmail: "x\u001b[2J\n2026-01-01T00:00:00.000Z ERROR forged@example.com" }, { fields: NONE });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("user x\\x1b[2J\\n2026-01-01T00:00:00.000Z ERROR forged@example.com:");
    expect(warnings[0]).not.toMatch(/[\u001b\n]/);
  });
});

describe("mapGoogleUser: optional attributes", () => {
  test("everything selected", () => {
    const { attributes, manager: managerEmail, warnings } = mapGoogleUser(ana, { fields: ALL });
    expect(attributes).toEqual({
      userName: "ana.lima@example.com",
      email: "ana.lima@example.com",
      givenName: "Ana",
      familyName: "Lima",
      displayName: "Ana Lima",
      formattedName: "Ana Lima",
      active: true,
      phoneNumber: { value: "+1 555 0003", type: "work" },
      address: { type: "work", formatted: "1 Main St\n1000 Lisbon", streetAddress: "1 Main St", locality: "Lisbon", region: "LX", postalCode: "1000", country: "PT" },
      title: "Staff Engineer",
      preferredLanguage: "pt-PT",
      locale: "pt-PT",
      profileUrl: "https://me.example/ana",
      userType: "Full-time",
      employeeNumber: "E-0001",
      costCenter: "CC-10",
      department: "Platform",
      organization: "Example Corp",
      division: "R&D",
    });
    expect(attributes.nickName).toBeUndefined();
    expect(attributes.timezone).toBeUndefined();
    expect(attributes.managerSourceId).toBeUndefined();
    expect(managerEmail).toBe("bo.chen@example.com");
    expect(warnings).toEqual([]);
  });

  test("unselected attributes are excluded", () => {
    const result = mapGoogleUser(ana, { fields: NONE });
    expect(result.manager).toBeUndefined();
    const onlyTitle = mapGoogleUser(ana, { fields: new Set(["title"]) }).attributes;
    expect(onlyTitle.title).toBe("Staff Engineer");
    for (const k of ["phoneNumber", "address", "preferredLanguage", "locale", "profileUrl", "userType", "employeeNumber", "costCenter", "department", "organization", "division"] as const) {
      expect(onlyTitle[k]).toBeUndefined();
    }
    const onlyLocale = mapGoogleUser(ana, { fields: new Set(["locale"]) }).attributes;
    expect(onlyLocale.locale).toBe("pt-PT");
    expect(onlyLocale.preferredLanguage).toBeUndefined();
  });

  test("phone: work, else mobile, else first, keeping its type", () => {
    const pick = (phones: unknown) => mapGoogleUser({ primaryEmail: "p@x.io", name: { givenName: "P", familyName: "Q" }, phones }, { fields: ALL }).attributes.phoneNumber;
    expect(pick([{ value: "1", type: "home" }, { value: "2", type: "mobile" }])).toEqual({ value: "2", type: "mobile" });
    expect(pick([{ value: "1", type: "home" }, { value: "3", type: "other" }])).toEqual({ value: "1", type: "home" });
    expect(pick([{ value: "1" }])).toEqual({ value: "1" });
    expect(pick([])).toBeUndefined();
    expect(pick(undefined)).toBeUndefined();
  });

  test("address: primary, else work, else first; country falls back to `country`", () => {
    const pick = (addresses: unknown) => mapGoogleUser({ primaryEmail: "p@x.io", name: { givenName: "P", familyName: "Q" }, addresses }, { fields: ALL }).attributes.address;
    expect(pick([{ type: "work", locality: "A" }, { type: "home", locality: "B", primary: true }])).toEqual({ type: "home", locality: "B" });
    expect(pick([{ type: "home", locality: "B" }, { type: "work", locality: "A", country: "KR" }])).toEqual({ type: "work", locality: "A", country: "KR" });
    expect(pick([{ type: "home", locality: "B" }])).toEqual({ type: "home", locality: "B" });
  });

  test("title: the primary organization's, else the first organization with a title", () => {
    const pick = (organizations: unknown) => mapGoogleUser({ primaryEmail: "p@x.io", name: { givenName: "P", familyName: "Q" }, organizations }, { fields: ALL }).attributes;
    expect(pick([{ name: "A" }, { title: "Second" }]).title).toBe("Second");
    expect(pick([{ primary: true, name: "Org" }, { title: "Other" }])).toMatchObject({ title: "Other", organization: "Org" });
  });

  test("preferredLanguage: preferred, else the first language code", () => {
    const pick = (languages: unknown) => mapGoogleUser({ primaryEmail: "p@x.io", name: { givenName: "P", familyName: "Q" }, languages }, { fields: ALL }).attributes.preferredLanguage;
    expect(pick([{ languageCode: "en" }, { languageCode: "es", preference: "preferred" }])).toBe("es");
    expect(pick([{ customLanguage: "Klingon" }, { languageCode: "de" }])).toBe("de");
    expect(pick([])).toBeUndefined();
  });

  test("profileUrl only from a website of type profile", () => {
    const pick = (websites: unknown) => mapGoogleUser({ primaryEmail: "p@x.io", name: { givenName: "P", familyName: "Q" }, websites }, { fields: ALL }).attributes.profileUrl;
    expect(pick([{ type: "blog", value: "https://b" }])).toBeUndefined();
    expect(pick([{ type: "profile", value: "https://p" }])).toBe("https://p");
  });

  test("behaviour change: over-long optional strings are kept whole (fitForAws cuts them to 1024, with the warning)", () => {
    const { attributes, warnings } = mapGoogleUser(
      { primaryEmail: "p@x.io", name: { givenName: "P", familyName: "Q" }, organizations: [{ primary: true, department: "D".repeat(1500) }] },
      { fields: ALL },
    );
    expect(attributes.department).toHaveLength(1500);
    expect(warnings).toEqual([]);
  });
});

describe("userMapper(GOOGLE_USER)", () => {
  test("one mapper reused record after record gives each what a fresh mapUser gives (JSON, so attribute order too)", () => {
    const map = userMapper(GOOGLE_USER, { fields: ALL });
    const records: GoogleUser[] = [ana, { primaryEmail: "svc@x.io" }, { ...ana, phones: "not a list", addresses: [null, 7, { type: "work" }] }, ana];
    for (const record of records) {
      expect(JSON.stringify(map(record))).toBe(JSON.stringify(mapGoogleUser(record, { fields: ALL })));
    }
  });
});

describe("sourceFields(GOOGLE_USER)", () => {
  test("requests only what the selection needs", () => {
    expect(googleUserFields(NONE)).toEqual(["id", "primaryEmail", "name", "suspended", "archived"]);
    expect(googleUserFields(new Set(["enterprise"]))).toEqual(["id", "primaryEmail", "name", "suspended", "archived", "organizations", "relations", "externalIds"]);
    expect(googleUserFields(ALL)).toEqual(["id", "primaryEmail", "name", "suspended", "archived", "phones", "addresses", "organizations", "languages", "websites", "relations", "externalIds"]);
  });
});
