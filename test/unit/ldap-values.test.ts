/**
 * @module Unit tests of the LDAP source's pure pieces: AD's binary ids, DN comparison, range
 * retrieval keys, bit-mask filters, entry normalisation (ldapts shapes), and nested-group flattening.
 */
import { describe, expect, test } from "bun:test";
import { flattenGroups, type GroupNode } from "../../src/core/nesting.ts";
import { normalizeEntry } from "../../src/adapters/ldap/entries.ts";
import { ldapFailure } from "../../src/adapters/ldap/errors.ts";
import { bitAndFilter, dnKey, escapeFilterValue, foreignReferral, formatGuid, formatSid, hasBits, isUnder, memberDn, parseRange, ridOf, valuesOf } from "../../src/adapters/ldap/values.ts";

/** objectGUID bytes of the GUID AD shows as "2b8e9e4c-1234-5678-9abc-def012345678": Data1..3 little-endian on the wire. */
const GUID_BYTES = Buffer.from([0x4c, 0x9e, 0x8e, 0x2b, 0x34, 0x12, 0x78, 0x56, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78]);

/** objectSid bytes of S-1-5-21-1004336348-1177238915-682003330-1105. */
function sidBytes(...subs: number[]): Buffer {
  const bytes = Buffer.alloc(8 + 4 * subs.length);
  bytes[0] = 1;
  bytes[1] = subs.length;
  bytes[7] = 5; // NT AUTHORITY
  subs.forEach((sub, i) => bytes.writeUInt32LE(sub, 8 + 4 * i));
  return bytes;
}

describe("Active Directory binary ids", () => {
  test("objectGUID reads as AD shows it: the first three fields byte-swapped, the rest in order", () => {
    expect(formatGuid(GUID_BYTES)).toBe("2b8e9e4c-1234-5678-9abc-def012345678");
    // Not the wire order, which would be another GUID.
    expect(formatGuid(GUID_BYTES)).not.toBe("4c9e8e2b-3412-7856-9abc-def012345678");
    expect(formatGuid(Buffer.alloc(15))).toBeUndefined();
  });

  test("objectSid reads as S-1-5-21-…; its RID is what primaryGroupID holds", () => {
    const sid = formatSid(sidBytes(21, 1004336348, 1177238915, 682003330, 1105));
    expect(sid).toBe("S-1-5-21-1004336348-1177238915-682003330-1105");
    expect(ridOf(sid)).toBe("1105");
    expect(ridOf(formatSid(sidBytes(21, 1, 2, 3, 513)))).toBe("513");
    expect(formatSid(Buffer.from([1, 5, 0, 0]))).toBeUndefined();
  });

  test("userAccountControl: bit 2 (ACCOUNTDISABLE) through the preset's bit-AND filter", () => {
    const test = bitAndFilter("(userAccountControl:1.2.840.113556.1.4.803:=2)")!;
    expect(test).toEqual({ attribute: "userAccountControl", mask: 2 });
    expect(hasBits("514", test.mask)).toBe(true); // NORMAL_ACCOUNT + ACCOUNTDISABLE
    expect(hasBits("512", test.mask)).toBe(false);
    expect(hasBits("66050", test.mask)).toBe(true); // + DONT_EXPIRE_PASSWORD
    expect(hasBits("66048", test.mask)).toBe(false);
    expect(hasBits(undefined, test.mask)).toBe(false);
    expect(bitAndFilter("(&(userAccountControl:1.2.840.113556.1.4.803:=2)(cn=x))")).toBeUndefined();
    expect(bitAndFilter("(pwdAccountLockedTime=*)")).toBeUndefined();
  });
});

describe("DNs and values", () => {
  test("DNs compare as the server compares them: case and spacing around separators do not matter, escapes do", () => {
    expect(dnKey("CN=Ana Lima, OU=People ,DC=Example,DC=com")).toBe("cn=ana lima,ou=people,dc=example,dc=com");
    expect(dnKey("CN=Lima\\, Ana,OU=People,DC=example,DC=com")).toBe("cn=lima\\, ana,ou=people,dc=example,dc=com");
    expect(isUnder(dnKey("CN=A,OU=People,DC=example,DC=com"), dnKey("dc=example,dc=com"))).toBe(true);
    expect(isUnder(dnKey("CN=A,OU=People,DC=example,DC=com"), dnKey("ou=groups,dc=example,dc=com"))).toBe(false);
    expect(memberDn("uid=ana,ou=people,dc=example,dc=com#'0101'B")).toBe("uid=ana,ou=people,dc=example,dc=com");
    expect(escapeFilterValue("CN=R&D (EMEA)\\*,DC=x")).toBe("CN=R&D \\28EMEA\\29\\5c\\2a,DC=x");
  });

  test("range retrieval: member;range=0-1499 asks for 1500-* next; a slice ending in * is the last", () => {
    expect(parseRange("member;range=0-1499")).toEqual({ attribute: "member", low: 0, high: 1499 });
    expect(parseRange("member;range=1500-*")).toEqual({ attribute: "member", low: 1500 });
    expect(parseRange("member")).toBeUndefined();
    // ldapts adds the requested `member` as [] when the server answered with the ranged name.
    const first = { dn: "CN=G", member: [], "member;range=0-1499": ["CN=a", "CN=b"] };
    expect(valuesOf(first, "member")).toEqual({ values: ["CN=a", "CN=b"], next: "member;range=1500-*" });
    expect(valuesOf({ dn: "CN=G", "member;range=1500-2999": ["CN=c"] }, "member")).toEqual({ values: ["CN=c"], next: "member;range=3000-*" });
    expect(valuesOf({ dn: "CN=G", "Member;Range=3000-*": "CN=d" }, "member")).toEqual({ values: ["CN=d"] });
    expect(valuesOf({ dn: "CN=G", member: "CN=e" }, "member")).toEqual({ values: ["CN=e"] });
  });

  test("an ldapts entry becomes the mapping's entry: names as requested, GUID and SID formatted, empty values dropped", () => {
    const raw = {
      dn: "CN=Ana Lima,OU=People,DC=example,DC=com",
      objectguid: GUID_BYTES,
      objectSid: sidBytes(21, 1, 2, 3, 1104),
      USERPRINCIPALNAME: "ana@example.com",
      mail: ["ana@example.com", "ana.lima@example.com"],
      title: [],
      "member;range=0-1499": ["CN=x"],
    };
    expect(normalizeEntry(raw, ["objectGUID", "objectSid", "userPrincipalName", "mail", "title", "member"])).toEqual({
      dn: "CN=Ana Lima,OU=People,DC=example,DC=com",
      objectGUID: "2b8e9e4c-1234-5678-9abc-def012345678",
      objectSid: "S-1-5-21-1-2-3-1104",
      userPrincipalName: "ana@example.com",
      mail: ["ana@example.com", "ana.lima@example.com"],
      "member;range=0-1499": "CN=x",
    });
    // A GUID whose bytes happen to be valid UTF-8 comes back from ldapts as text: still the same GUID.
    const ascii = Buffer.from("ABCDEFGHIJKLMNOP");
    expect(normalizeEntry({ dn: "x", objectGUID: ascii.toString("utf8") }, ["objectGUID"]).objectGUID).toBe(formatGuid(ascii)!);
  });
});

describe("referrals and AD's result codes", () => {
  test("AD's references to its DNS and configuration partitions are skipped; any other is a referral the read stops on", () => {
    const ad = ["ldap://DomainDnsZones.corp.example.com/DC=DomainDnsZones,DC=corp,DC=example,DC=com", "ldap://corp.example.com/CN=Configuration,DC=corp,DC=example,DC=com"];
    expect(foreignReferral(ad)).toBeUndefined();
    expect(foreignReferral([...ad, "ldap://emea.corp.example.com/DC=emea,DC=corp,DC=example,DC=com"])).toBe("ldap://emea.corp.example.com/DC=emea,DC=corp,DC=example,DC=com");
  });

  test("result codes AD sends: a referral (10), AD's bind diagnostic (49, data 52e), a refused in-chain rule", () => {
    const request = { base: "OU=Staff,DC=corp,DC=example,DC=com", filter: "(objectClass=user)", attributes: [], setting: "ldap.user_base_dn" };
    const context = { phase: "search" as const, url: "ldaps://dc1.corp.example.com", request, pagesRead: 0 };
    const referral = ldapFailure({ code: 10, message: "0000202B: RefErr: DSID-0310084A, data 0, 1 access points ref 1: 'emea.corp.example.com' Code: 0xa" }, context);
    expect([referral.code, referral.exitCode]).toEqual(["SOURCE_READ", 1]);
    expect(referral.message).toStartWith('the search of ldap.user_base_dn "OU=Staff,DC=corp,DC=example,DC=com" returned a referral to');
    const bind = ldapFailure({ code: 49, message: "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 52e, v4563 Code: 0x31" }, { phase: "bind", url: context.url, bindDn: "CN=svc,DC=corp" });
    expect([bind.code, bind.exitCode]).toEqual(["SOURCE_AUTH", 2]);
    expect(bind.message).toContain('ldap.bind_dn "CN=svc,DC=corp" could not bind: invalid credentials (80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 52e');
    const chain = ldapFailure({ code: 53, message: "unwilling" }, { ...context, request: { ...request, filter: "(memberOf:1.2.840.113556.1.4.1941:=CN=G)" } });
    expect(chain.message).toBe('the server refuses LDAP_MATCHING_RULE_IN_CHAIN (unwilling): set ldap.nested = "client"');
  });
});

describe("nested groups flattened", () => {
  const graph = (spec: Record<string, [string[], string[]]>) =>
    new Map<string, GroupNode>(Object.entries(spec).map(([key, [users, groups]]) => [key, { name: key.toUpperCase(), users, groups }]));

  test("a chain three deep counts for the top; a diamond counts once; a member that is no group adds nothing", () => {
    const nodes = graph({ a: [["u1"], ["b", "x"]], b: [["u2"], ["c", "d"]], c: [["u3"], ["e"]], d: [["u3", "u4"], ["e"]], e: [["u5"], []] });
    const { members, warnings } = flattenGroups(["a", "c"], nodes);
    expect(members.get("a")!.sort()).toEqual(["u1", "u2", "u3", "u4", "u5"]);
    expect(members.get("c")!.sort()).toEqual(["u3", "u5"]);
    expect(warnings).toEqual([]);
  });

  test("a cycle is followed once and reported once, by the groups' names, whichever group it is entered by", () => {
    const nodes = graph({ a: [["u1"], ["b"]], b: [["u2"], ["c"]], c: [["u3"], ["a"]], top: [[], ["b"]] });
    const { members, warnings } = flattenGroups(["a", "top"], nodes);
    expect(members.get("a")!.sort()).toEqual(["u1", "u2", "u3"]);
    expect(members.get("top")!.sort()).toEqual(["u1", "u2", "u3"]);
    expect(warnings).toEqual(['groups nested in a cycle: "A" > "B" > "C" > "A"; each group\'s members are counted once']);
    // A group that holds itself.
    expect(flattenGroups(["s"], graph({ s: [["u"], ["s"]] })).warnings).toEqual(['groups nested in a cycle: "S" > "S"; each group\'s members are counted once']);
  });

  test("past the depth limit: a warning naming the chain, and the deeper members left out", () => {
    const spec: Record<string, [string[], string[]]> = {};
    for (let i = 0; i < 5; i++) spec[`g${i}`] = [[`u${i}`], i < 4 ? [`g${i + 1}`] : []];
    const { members, warnings } = flattenGroups(["g0"], graph(spec), 2);
    expect(members.get("g0")).toEqual(["u0", "u1", "u2"]);
    expect(warnings).toEqual(['group "G0": groups are nested more than 2 levels deep ("G0" > "G1" > "G2" > "G3"); the members of the deeper groups are not counted']);
  });
});
