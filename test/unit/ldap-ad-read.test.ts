/**
 * @module Active Directory behaviour slapd cannot show, through the LDAP source's real read
 * (readDirectory): answers recorded in the shapes ldapts returns from AD (Buffers for objectGUID and
 * objectSid, `member;range=0-1499` on a group over MaxValRange, requested-but-absent attributes as
 * []), served by request. A request the read makes that AD was not asked in the recording fails the test.
 */
import { describe, expect, test } from "bun:test";
import { ldapSettings } from "../../src/config/ldap-settings.ts";
import { resolveConfig } from "../../src/config/load.ts";
import type { RawEntry } from "../../src/adapters/ldap/entries.ts";
import { readDirectory } from "../../src/adapters/ldap/read.ts";
import type { SearchRequest, Searcher } from "../../src/adapters/ldap/search.ts";
import { formatGuid } from "../../src/adapters/ldap/values.ts";
import { plan } from "../../src/core/plan.ts";
import { emptyState, managedAttributesFor, USER_FIELD_NAMES, type TenantUser } from "../../src/model/index.ts";

const DOMAIN = "DC=corp,DC=example,DC=com";
const STAFF = `OU=Staff,${DOMAIN}`;
const AWS_GROUPS = `OU=AWS,OU=Groups,${DOMAIN}`;
const USER_FILTER = "(&(objectCategory=person)(objectClass=user))";

/** A distinct objectGUID per number, as the 16 bytes AD sends. */
function guid(n: number): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32LE(0xa0000000 + n, 0);
  bytes.writeUInt16LE(0x1234, 4);
  bytes.writeUInt16LE(0x5678, 6);
  bytes.writeUInt32BE(0x9abcdef0, 8);
  bytes.writeUInt32BE(n, 12);
  return bytes;
}

/** objectSid of RID `rid` in the domain S-1-5-21-1004336348-1177238915-682003330. */
function sid(rid: number): Buffer {
  const bytes = Buffer.alloc(28);
  bytes[0] = 1;
  bytes[1] = 5;
  bytes[7] = 5;
  [21, 1004336348, 1177238915, 682003330, rid].forEach((sub, i) => bytes.writeUInt32LE(sub, 8 + 4 * i));
  return bytes;
}

const idOf = (n: number) => formatGuid(guid(n))!;
const dnOf = (name: string, ou = STAFF) => `CN=${name},${ou}`;

function user(n: number, name: string, extra: Record<string, unknown> = {}, ou = STAFF): RawEntry {
  const [given, family] = name.split(" ");
  return {
    dn: dnOf(name, ou),
    objectGUID: guid(n),
    // Every AD account has one; the read asks for it only with ldap.rekey_users_from = "objectSid".
    objectSid: sid(2000 + n),
    userPrincipalName: `${given!.toLowerCase()}@corp.example.com`,
    mail: `${given!.toLowerCase()}.${family!.toLowerCase()}@example.com`,
    givenName: given!,
    sn: family!,
    displayName: name,
    sAMAccountName: given!.toLowerCase(),
    userAccountControl: "512",
    primaryGroupID: "513",
    // ldapts lists every requested attribute; those the entry lacks come back as [].
    title: [],
    department: [],
    company: [],
    employeeID: [],
    telephoneNumber: [],
    manager: [],
    cn: name,
    ...extra,
  };
}

const ana = user(1, "Ana Lima", { title: "Staff Engineer", department: "Platform", company: "Example Corp", employeeID: "E-0001", telephoneNumber: "+1 555 0100", manager: dnOf("Bo Chen") });
const bo = user(2, "Bo Chen", { userAccountControl: "66048" });
// Disabled (514 = NORMAL_ACCOUNT + ACCOUNTDISABLE), and in AWS-Staff only through its primary group.
const carla = user(3, "Carla Diaz", { userAccountControl: "514", primaryGroupID: "1105" });
// Outside ldap.user_base_dn: not a user in scope, and not a group.
const dev = user(4, "Dev Patel", {}, `OU=Contractors,${DOMAIN}`);
const crowd = Array.from({ length: 1600 }, (_, i) => user(100 + i, `Member${i} Crowd`));

const group = (n: number, name: string, ou: string, rid: number, members: Record<string, unknown>): RawEntry => ({
  dn: `CN=${name},${ou}`,
  objectGUID: guid(n),
  objectSid: sid(rid),
  cn: name,
  name,
  objectClass: ["top", "group"],
  ...members,
});
const leads = group(901, "Platform Leads", `OU=Teams,${DOMAIN}`, 1102, { member: [bo.dn] });
const admins = group(900, "AWS-Admins", AWS_GROUPS, 1101, { member: [ana.dn, leads.dn, dev.dn] });
const staff = group(902, "AWS-Staff", AWS_GROUPS, 1105, { member: [] });
// Over MaxValRange (1500): AD names the slice it sends, and the requested `member` comes back empty.
const bigDns = [...crowd.map((u) => u.dn), ana.dn];
const big = group(903, "AWS-Everyone", AWS_GROUPS, 1106, { member: [], "member;range=0-1499": bigDns.slice(0, 1500) });

/** AD as recorded: each request the read may make, answered in pages of `pageSize`. */
function recordedAd(pageSize = 500): { search: Searcher; requests: SearchRequest[] } {
  const requests: SearchRequest[] = [];
  const byDn = new Map([ana, bo, carla, dev, ...crowd, leads, admins, staff, big].map((e) => [e.dn.toLowerCase(), e]));
  const paged = (entries: RawEntry[]) => Array.from({ length: Math.ceil(entries.length / pageSize) }, (_, i) => entries.slice(i * pageSize, (i + 1) * pageSize));
  const answer = (request: SearchRequest): RawEntry[][] => {
    if (request.scope === "base") {
      const entry = byDn.get(request.base.toLowerCase());
      if (request.attributes[0] === "member;range=1500-*" && entry === big) return [[{ dn: big.dn, "member;range=1500-*": bigDns.slice(1500) }]];
      if (request.filter === "(objectClass=group)") return [entry !== undefined && (entry.objectClass as string[] | undefined)?.includes("group") ? [entry] : []];
    }
    if (request.base === STAFF && request.filter === USER_FILTER) return paged([ana, bo, carla, ...crowd]);
    if (request.base === AWS_GROUPS && request.filter === "(objectClass=group)") return paged([admins, staff, big]);
    const chain = /^\(&\(&\(objectCategory=person\)\(objectClass=user\)\)\(memberOf:1\.2\.840\.113556\.1\.4\.1941:=(.+)\)\)$/.exec(request.filter);
    if (request.base === STAFF && chain?.[1] === admins.dn) return [[{ dn: ana.dn, objectGUID: ana.objectGUID }, { dn: bo.dn, objectGUID: bo.objectGUID }]];
    if (request.base === STAFF && chain) return [[]];
    throw new Error(`not in the recording: ${JSON.stringify(request)}`);
  };
  return {
    requests,
    search: (request) => {
      requests.push(request);
      const pages = answer(request);
      return (async function* () {
        yield* pages;
      })();
    },
  };
}

const settingsFor = (env: Record<string, string> = {}) =>
  ldapSettings(
    resolveConfig({
      argv: {},
      env: {
        IDPSCIM_SOURCE_TYPE: "ldap",
        IDPSCIM_LDAP_URL: "ldaps://dc1.corp.example.com",
        IDPSCIM_LDAP_BIND_DN: `CN=svc-idpscim,${DOMAIN}`,
        IDPSCIM_LDAP_BIND_PASSWORD: "pw",
        IDPSCIM_LDAP_BASE_DN: DOMAIN,
        IDPSCIM_LDAP_USER_BASE_DN: STAFF,
        IDPSCIM_LDAP_GROUP_BASE_DN: AWS_GROUPS,
        IDPSCIM_LDAP_PRESET: "active-directory",
        ...env,
      },
    }),
  );
const quiet = { debug() {}, info() {}, warn() {} };
const read = (search: Searcher, env: Record<string, string> = {}) => readDirectory(search, { settings: settingsFor(env), userFields: new Set(USER_FIELD_NAMES), concurrency: 4, log: quiet });

describe("Active Directory, from recorded answers", () => {
  test("users map through the preset: objectGUID as AD's GUID string, UPN, company, employeeID, the manager's DN resolved", async () => {
    const snapshot = await read(recordedAd().search);
    const anaRead = snapshot.users.find((u) => u.sourceId === idOf(1))!;
    expect(anaRead.sourceId).toBe("a0000001-1234-5678-9abc-def000000001");
    expect(anaRead.attributes).toEqual({
      userName: "ana@corp.example.com",
      displayName: "Ana Lima",
      givenName: "Ana",
      familyName: "Lima",
      email: "ana.lima@example.com",
      active: true,
      formattedName: "Ana Lima",
      phoneNumber: { value: "+1 555 0100", type: "work" },
      title: "Staff Engineer",
      managerSourceId: idOf(2),
      employeeNumber: "E-0001",
      department: "Platform",
      organization: "Example Corp",
    });
  });

  test("userAccountControl bit 2 marks a user suspended, from the attribute read with the users (no second search)", async () => {
    const { search, requests } = recordedAd();
    const snapshot = await read(search);
    expect(snapshot.users.find((u) => u.sourceId === idOf(3))!.suspended).toBe(true);
    expect(snapshot.users.find((u) => u.sourceId === idOf(2))!.suspended).toBe(false); // 66048: enabled, password never expires
    expect(requests.filter((r) => r.base === STAFF)).toHaveLength(1);
  });

  test("primaryGroupID: a user whose primary group is a group in scope (its objectSid's RID) is a member though no member value says so", async () => {
    const snapshot = await read(recordedAd().search);
    expect(snapshot.groups.find((g) => g.displayName === "AWS-Staff")!.memberSourceIds).toEqual([idOf(3)]);
  });

  test("range retrieval: a group over 1500 members is read whole, asking member;range=1500-* once", async () => {
    const { search, requests } = recordedAd();
    const snapshot = await read(search);
    const everyone = snapshot.groups.find((g) => g.displayName === "AWS-Everyone")!;
    expect(everyone.memberSourceIds).toHaveLength(1601);
    expect(everyone.memberSourceIds).toContain(idOf(1));
    expect(everyone.memberSourceIds).toContain(idOf(1699));
    expect(requests.filter((r) => r.attributes.some((a) => a.includes(";range=")))).toEqual([
      { base: big.dn, scope: "base", filter: "(objectClass=*)", attributes: ["member;range=1500-*"], setting: "ldap.group_base_dn" },
    ]);
  });

  test("client nesting: a group nested outside ldap.group_base_dn is followed; a member outside the user scope is left out, with a warning", async () => {
    const { search, requests } = recordedAd();
    const snapshot = await read(search);
    expect(snapshot.groups.find((g) => g.displayName === "AWS-Admins")!.memberSourceIds).toEqual([idOf(1), idOf(2)].sort());
    expect(snapshot.groups.map((g) => g.displayName).sort()).toEqual(["AWS-Admins", "AWS-Everyone", "AWS-Staff"]); // the nested group is not synced itself
    expect(snapshot.lookups).toBe(2); // Platform Leads (a group) and Dev Patel (neither)
    expect(snapshot.users.map((u) => u.sourceId)).not.toContain(idOf(4));
    expect(snapshot.warnings).toContain('group AWS-Admins: 1 member(s) are neither users in scope (under ldap.user_base_dn, matching ldap.user_filter) nor groups; not synced');
    expect(requests.filter((r) => r.scope === "base" && r.missingOk).map((r) => r.base).sort()).toEqual([dev.dn, leads.dn].sort());
  });

  test("ldap.rekey_users_from = objectSid: each user's SID, sent as bytes, is its former id in the S-1-5-21-… form AWS's sample wrote as externalId, and the plan re-keys that AWS user to the objectGUID; asked for only when set", async () => {
    const { search, requests } = recordedAd();
    const snapshot = await read(search, { IDPSCIM_LDAP_REKEY_USERS_FROM: "objectSid" });
    const anaRead = snapshot.users.find((u) => u.sourceId === idOf(1))!;
    expect(anaRead.formerId).toBe("S-1-5-21-1004336348-1177238915-682003330-2001");
    expect(snapshot.users.every((u) => u.formerId !== undefined && u.formerId !== u.sourceId)).toBe(true);
    expect(requests.find((r) => r.base === STAFF)!.attributes).toContain("objectSid");

    // Ana as the sample's PUT left her: externalId $user.sid.Value, userName and the one email the UPN.
    const sample: TenantUser = {
      scimId: "idc-ana",
      externalId: "S-1-5-21-1004336348-1177238915-682003330-2001",
      attributes: { userName: "ana@corp.example.com", displayName: "Ana Lima", givenName: "Ana", familyName: "Lima", email: "ana@corp.example.com", formattedName: "Ana Lima", active: true },
    };
    const planned = plan(snapshot, { users: [sample], groups: [] }, emptyState(), {
      suspendedUsers: "deactivate", removedUsers: "delete", deleteUnmanaged: false, mode: "sync", managedAttributes: managedAttributesFor([]), adoptGroupsByName: true, protectedGroups: [],
    });
    expect(planned.rejected.filter((r) => r.kind === "user")).toEqual([]);
    expect(planned.operations.find((op) => op.kind === "updateUser" && op.scimId === "idc-ana")).toMatchObject({ why: "adopt", externalId: idOf(1), set: { email: "ana.lima@example.com" } });
    expect(planned.operations.filter((op) => op.kind === "createUser").map((op) => op.sourceId)).not.toContain(idOf(1));

    const without = recordedAd();
    expect((await read(without.search)).users.every((u) => u.formerId === undefined)).toBe(true);
    expect(without.requests.find((r) => r.base === STAFF)!.attributes).not.toContain("objectSid");
  });

  test('ldap.nested = "server": one LDAP_MATCHING_RULE_IN_CHAIN search per group, no member lists read, primary groups still counted', async () => {
    const { search, requests } = recordedAd();
    const snapshot = await read(search, { IDPSCIM_LDAP_NESTED: "server" });
    expect(snapshot.groups.find((g) => g.displayName === "AWS-Admins")!.memberSourceIds).toEqual([idOf(1), idOf(2)].sort());
    expect(snapshot.groups.find((g) => g.displayName === "AWS-Staff")!.memberSourceIds).toEqual([idOf(3)]);
    expect(requests.find((r) => r.base === AWS_GROUPS)!.attributes).toEqual(["objectGUID", "cn", "name", "objectSid"]);
    expect(requests.filter((r) => r.filter.includes("1.2.840.113556.1.4.1941"))).toHaveLength(3);
    expect(snapshot.lookups).toBe(0);
  });
});
