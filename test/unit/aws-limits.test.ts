/** @module Unit tests of `fitForAws`: identities accepted or rejected as they are, free text cleaned and cut with warnings. */
import { describe, expect, test } from "bun:test";
import { AWS_LIMITS, fitForAws, identityProblem } from "../../src/core/aws-limits.ts";
import type { SourceSnapshot, SourceUser } from "../../src/core/ports.ts";
import type { DesiredGroup, UserAttributes } from "../../src/model/index.ts";

const ESC = "\x1b";

function user(sourceId: string, email: string, extra: Partial<UserAttributes> = {}): SourceUser {
  return {
    sourceId,
    suspended: false,
    attributes: { userName: email, email, displayName: "Ana Lima", givenName: "Ana", familyName: "Lima", active: true, ...extra },
  };
}

function group(sourceId: string, displayName: string, members: string[]): DesiredGroup {
  return { sourceId, displayName, memberSourceIds: members };
}

function snapshot(users: SourceUser[], groups: DesiredGroup[] = []): SourceSnapshot {
  return { users, groups, warnings: [] };
}

const longEmail = (length: number) => `${"u".repeat(length - "@example.com".length)}@example.com`;

describe("fitForAws: identities are never altered", () => {
  test("valid users and groups pass unchanged, with no warning and no rejection", () => {
    const input = snapshot([user("1", "ana@example.com"), user("2", "bo@example.com")], [group("g1", "Team 1", ["1", "2"])]);
    const out = fitForAws(input);
    expect(out.users).toEqual(input.users);
    expect(out.groups).toEqual(input.groups);
    expect(out.warnings).toEqual([]);
    expect(out.rejected).toBeUndefined();
  });

  test("a 128-character userName passes; a 140-character one is rejected whole, never cut (behaviour change: the mapper used to cut it)", () => {
    const ok = longEmail(128);
    const tooLong = longEmail(140);
    const out = fitForAws(snapshot([user("1", ok), user("2", tooLong)]));
    expect(out.users.map((u) => u.attributes.userName)).toEqual([ok]);
    expect(out.rejected).toEqual([{ kind: "user", sourceId: "2", subject: expect.stringContaining("…(140 chars)"), reason: "userName is 140 characters; AWS allows at most 128" }]);
  });

  test("two users whose emails share their first 128 characters stay two: the longer is rejected, nothing is merged", () => {
    const base = "u".repeat(120);
    const a = `${base}@ex.com`; // 127
    const b = `${base}@example.com`; // 132
    const out = fitForAws(snapshot([user("1", a), user("2", b)]));
    expect(out.users.map((u) => u.attributes.userName)).toEqual([a]);
    expect(out.rejected?.map((r) => r.sourceId)).toEqual(["2"]);
  });

  test("userName length is counted in code points: 128 emoji pass (256 UTF-16 units), 129 do not", () => {
    expect(identityProblem("🙂".repeat(128), "userName")).toBeUndefined();
    expect(identityProblem("🙂".repeat(129), "userName")).toBe("userName is 129 characters; AWS allows at most 128");
  });

  test("an empty userName is rejected; so is one with a space (AWS allows letters, symbols, numbers and punctuation only)", () => {
    expect(identityProblem("", "userName")).toBe("userName is empty; AWS requires 1 to 128 characters");
    expect(identityProblem("ana lima@example.com", "userName")).toBe("userName contains 1 character AWS refuses there (U+0020)");
    expect(identityProblem("ana\u200B@example.com", "userName")).toBe("userName contains 1 character AWS refuses there (U+200B)");
  });

  test("control characters in an identity reject it, \\n \\t \\r included, each named visibly", () => {
    expect(identityProblem(`ana${ESC}[2J@example.com`, "userName")).toBe("userName contains 1 control character (\\x1b)");
    expect(identityProblem("ana\n@x.io\t", "email")).toBe("email contains 2 control characters (\\n, \\t)");
    expect(identityProblem("Team\n2026-01-01T00:00:00.000Z ERROR forged", "groupName")).toBe("group name contains 1 control character (\\n)");
  });

  test("the reserved names Administrator and AWSAdministrators are rejected for users and groups", () => {
    expect(identityProblem("Administrator", "userName")).toBe('userName "Administrator" is reserved by AWS');
    expect(identityProblem("AWSAdministrators", "groupName")).toBe('group name "AWSAdministrators" is reserved by AWS');
    expect(identityProblem("Administrators", "groupName")).toBeUndefined();
  });

  test("email: empty is allowed (AWS does not require one), over 1024 is rejected, a space is allowed", () => {
    expect(identityProblem("", "email")).toBeUndefined();
    expect(identityProblem("a b@example.com", "email")).toBeUndefined();
    expect(identityProblem(longEmail(1025), "email")).toBe("email is 1025 characters; AWS allows at most 1024");
    const u = user("1", "ana@example.com", { email: longEmail(1030) });
    const out = fitForAws(snapshot([u]));
    expect(out.users).toEqual([]);
    expect(out.rejected?.[0]?.reason).toBe("email is 1030 characters; AWS allows at most 1024");
  });

  test("the source id (externalId): empty, over 256, or with a space is rejected", () => {
    expect(identityProblem("", "externalId")).toBe("externalId (the source id) is empty; AWS requires 1 to 256 characters");
    expect(identityProblem("1".repeat(257), "externalId")).toBe("externalId (the source id) is 257 characters; AWS allows at most 256");
    expect(identityProblem("1".repeat(256), "externalId")).toBeUndefined();
    expect(identityProblem("a b", "externalId")).toBe("externalId (the source id) contains 1 character AWS refuses there (U+0020)");
    const out = fitForAws(snapshot([user("", "ana@example.com")], [group("g 1", "Team", [])]));
    expect(out.users).toEqual([]);
    expect(out.groups).toEqual([]);
    expect(out.rejected?.map((r) => [r.kind, r.reason])).toEqual([
      ["user", "externalId (the source id) is empty; AWS requires 1 to 256 characters"],
      ["group", "externalId (the source id) contains 1 character AWS refuses there (U+0020)"],
    ]);
  });

  test("every problem of a record is named, joined with '; '", () => {
    const reason = identityProblem(`${"x".repeat(130)}${ESC} `, "userName");
    expect(reason).toBe("userName is 132 characters; AWS allows at most 128; userName contains 1 control character (\\x1b); userName contains 1 character AWS refuses there (U+0020)");
  });

  test("group names: 1 to 1024 characters; a longer or empty one is rejected, never cut", () => {
    const ok = "G".repeat(1024);
    const out = fitForAws(snapshot([], [group("g1", ok, []), group("g2", "G".repeat(1025), []), group("g3", "", [])]));
    expect(out.groups.map((g) => g.displayName)).toEqual([ok]);
    expect(out.rejected).toEqual([
      { kind: "group", sourceId: "g2", subject: expect.stringMatching(/^"G+…\(1025 chars\)"$/), reason: "group name is 1025 characters; AWS allows at most 1024" },
      { kind: "group", sourceId: "g3", subject: '"id g3"', reason: "group name is empty; AWS requires 1 to 1024 characters" },
    ]);
  });

  test("a rejected user leaves every group's members; the groups stay", () => {
    const bad = longEmail(140);
    const out = fitForAws(snapshot([user("1", "ana@example.com"), user("2", bad)], [group("g1", "A", ["1", "2"]), group("g2", "B", ["2"])]));
    expect(out.groups).toEqual([group("g1", "A", ["1"]), group("g2", "B", [])]);
  });

  test("the subject of a rejection is escaped and shortened: a record's name cannot forge output", () => {
    const out = fitForAws(snapshot([], [group("g1", `Ops${ESC}[2J\n2026-01-01T00:00:00.000Z ERROR forged`, [])]));
    const subject = out.rejected?.[0]?.subject ?? "";
    expect(subject).toBe('"Ops\\x1b[2J\\n2026-01-01T00:00:00.000Z ERROR forged"');
    const long = fitForAws(snapshot([user("1", `${"x".repeat(10_000)}@example.com`)]));
    expect(long.rejected?.[0]?.subject.length).toBeLessThan(120);
  });

  test("rejections the source already made are kept, and the input snapshot is not changed", () => {
    const input: SourceSnapshot = { ...snapshot([user("1", longEmail(200))], [group("g1", "A", ["1"])]), rejected: [{ kind: "group", sourceId: "g0", subject: '"X"', reason: "earlier" }] };
    const copy = structuredClone(input);
    const out = fitForAws(input);
    expect(out.rejected?.map((r) => r.sourceId)).toEqual(["g0", "1"]);
    expect(input).toEqual(copy);
  });
});

describe("fitForAws: free text is cleaned and cut, with a warning each", () => {
  test("control characters are removed from title, with the count (\\t \\n \\r kept: AWS takes them)", () => {
    const out = fitForAws(snapshot([user("1", "ana@example.com", { title: `Staff${ESC}[2J\u0007 Engineer\n(Platform)` })]));
    expect(out.users[0]?.attributes.title).toBe("Staff[2J Engineer\n(Platform)");
    expect(out.warnings).toEqual(["user ana@example.com: removed 2 control characters from title"]);
  });

  test(`title over ${AWS_LIMITS.string} characters is cut to ${AWS_LIMITS.string}`, () => {
    const out = fitForAws(snapshot([user("1", "ana@example.com", { title: "T".repeat(1500), department: "D".repeat(1024) })]));
    expect(out.users[0]?.attributes.title).toBe("T".repeat(1024));
    expect(out.users[0]?.attributes.department).toBe("D".repeat(1024));
    expect(out.warnings).toEqual(["user ana@example.com: cut title to 1024 characters (it had 1500)"]);
  });

  test("cutting never splits a surrogate pair", () => {
    const out = fitForAws(snapshot([user("1", "e@example.com", { givenName: `${"a".repeat(1023)}🙂` })]));
    expect(out.users[0]?.attributes.givenName).toBe("a".repeat(1023));
  });

  test("names follow AWS's name pattern: control and format characters removed, no-break spaces made plain", () => {
    const out = fitForAws(
      snapshot([user("1", "c@example.com", { givenName: "An\u0007a", familyName: "Li\u200Bma", displayName: "Ana\u00A0Lima", formattedName: `${ESC}[2JAna Lima\n2026-01-01T00:00:00.000Z ERROR forged` })]),
    );
    expect(out.users[0]?.attributes).toMatchObject({ givenName: "Ana", familyName: "Lima", displayName: "Ana Lima", formattedName: "[2JAna Lima\n2026-01-01T00:00:00.000Z ERROR forged" });
    expect(out.warnings).toEqual([
      "user c@example.com: removed 1 control character from givenName",
      "user c@example.com: removed 1 character AWS refuses in names (U+200B) from familyName",
      "user c@example.com: removed 1 control character from formattedName",
    ]);
  });

  test("a required name left with nothing AWS accepts borrows another name; an optional one is dropped", () => {
    const out = fitForAws(snapshot([user("1", "z@example.com", { givenName: "\u200B", familyName: "Sato", displayName: `${ESC}`, title: "\u0007", formattedName: "\u200B" })]));
    expect(out.users[0]?.attributes).toMatchObject({ givenName: "Sato", familyName: "Sato", displayName: "Sato Sato" });
    expect(out.users[0]?.attributes.title).toBeUndefined();
    expect(out.users[0]?.attributes.formattedName).toBeUndefined();
    expect(out.warnings).toContain('user z@example.com: givenName has no character AWS accepts; using "Sato"');
    expect(out.warnings).toContain("user z@example.com: removed 1 control character from title; nothing was left");
  });

  test("address parts, phone and enterprise fields are cleaned too, each named", () => {
    const out = fitForAws(
      snapshot([
        user("1", "a@example.com", {
          address: { type: "work", streetAddress: "1 Main\u0000 St", locality: "L".repeat(1100) },
          phoneNumber: { value: "+1\u0008 555", type: "work" },
          costCenter: "CC\u009b1",
        }),
      ]),
    );
    const a = out.users[0]!.attributes;
    expect(a.address).toEqual({ type: "work", streetAddress: "1 Main St", locality: "L".repeat(1024) });
    expect(a.phoneNumber).toEqual({ value: "+1 555", type: "work" });
    expect(a.costCenter).toBe("CC1");
    expect(out.warnings).toEqual([
      "user a@example.com: removed 1 control character from costCenter",
      "user a@example.com: removed 1 control character from phoneNumber",
      "user a@example.com: removed 1 control character from address.streetAddress",
      "user a@example.com: cut address.locality to 1024 characters (it had 1100)",
    ]);
  });

  test("warnings come after the source's own, in the snapshot", () => {
    const out = fitForAws({ ...snapshot([user("1", "a@example.com", { title: "x\u0001" })]), warnings: ["from the source"] });
    expect(out.warnings).toEqual(["from the source", "user a@example.com: removed 1 control character from title"]);
  });
});

describe("fitForAws: no copy of what AWS takes as it is", () => {
  test("a clean user comes back as the same object, phone and address included", () => {
    const clean = user("1", "ana@example.com", { phoneNumber: { value: "+1 555", type: "work" }, address: { locality: "Lisbon", type: "work" }, title: "CTO" });
    expect(fitForAws(snapshot([clean])).users[0]).toBe(clean);
  });
  test("a user with one value to clean is a copy: the value cleaned, the rest kept, the read user left as it was", () => {
    const dirty = user("1", "ana@example.com", { title: `C${ESC}TO`, address: { locality: `Lis${ESC}bon` }, department: "R&D" });
    const [fitted] = fitForAws(snapshot([dirty])).users;
    expect(fitted).not.toBe(dirty);
    expect(fitted?.attributes).toMatchObject({ title: "CTO", address: { locality: "Lisbon" }, department: "R&D", displayName: "Ana Lima" });
    expect(dirty.attributes.title).toBe(`C${ESC}TO`);
    expect(dirty.attributes.address).toEqual({ locality: `Lis${ESC}bon` });
  });
  test("an address left with only its type is dropped, and a phone left empty too", () => {
    const [fitted] = fitForAws(snapshot([user("1", "ana@example.com", { address: { type: "work", locality: ESC }, phoneNumber: { value: ESC } })])).users;
    expect(fitted?.attributes.address).toBeUndefined();
    expect(fitted?.attributes.phoneNumber).toBeUndefined();
  });
});
