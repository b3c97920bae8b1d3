/**
 * @module The real-OpenLDAP test world (test/support/slapd.ts, ldif.ts, cutting-proxy.ts) against
 * the wire, with clients that are not the product's: ldapsearch/ldapmodify (libldap, GnuTLS) and
 * Node's TLS stack. TLS with the right CA and the wrong one, StartTLS, the size limit a paged search
 * gets past, a scenario's users and groups as entries, the proxy that cuts a search part-way, and a
 * server that goes away with its directory when stopped or when the test process dies. Skipped with
 * a reason where slapd is not installed (.ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { connect } from "node:tls";
import { join } from "node:path";
import { generateOrg } from "../../scripts/gen-org.ts";
import { loadScenarioFile, parseScenario } from "../emulators/scenario.ts";
import { startCuttingProxy } from "../support/cutting-proxy.ts";
import { entryUuidOf, scenarioDirectory, SUSPENDED_FILTER, type LdapDirectory } from "../support/ldif.ts";
import { EXAMPLE_SCENARIO, ROOT } from "../support/paths.ts";
import { isRunning, slapdUnavailable, startSlapd, type LdapEntry, type Slapd } from "../support/slapd.ts";

const unavailable = slapdUnavailable();
if (unavailable) console.log(`skipping the slapd world: ${unavailable}`);

const byDn = (entries: LdapEntry[]) => new Map(entries.map((e) => [e.dn.toLowerCase(), e]));

/** Does a TLS handshake with the ldaps port verify against this CA file? (Node's stack, as ldapts uses it.) */
function handshake(slapd: Slapd, caFile: string, servername?: string): Promise<{ ok: true } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port: slapd.ldapsPort!, ca: readFileSync(caFile), ...(servername ? { servername } : {}) });
    socket.once("secureConnect", () => (socket.destroy(), resolve({ ok: true })));
    socket.once("error", (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message }));
  });
}

describe.skipIf(unavailable !== undefined)("the example scenario as a directory", () => {
  const scenario = loadScenarioFile(EXAMPLE_SCENARIO);
  const ldap = scenarioDirectory(scenario.google);
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd({ baseDn: ldap.baseDn, ldif: ldap.entries() });
  });
  afterAll(() => slapd?.stop());

  test("users: every attribute the mapping reads, the manager as a DN, a stable entryUUID", async () => {
    const { resultCode, entries } = await slapd.search({ base: ldap.peopleDn, filter: "(objectClass=inetOrgPerson)", attributes: ["*", "entryUUID"] });
    expect(resultCode).toBe(0);
    expect(entries.map((e) => e.attributes.mail?.[0]).sort()).toEqual(scenario.google.users.map((u) => u.primaryEmail).sort());
    const ana = byDn(entries).get("uid=ana.lima,ou=people,dc=example,dc=com")!;
    expect(ana.attributes).toMatchObject({
      uid: ["ana.lima"],
      cn: ["Ana Lima"],
      sn: ["Lima"],
      givenName: ["Ana"],
      displayName: ["Ana Lima"],
      title: ["Staff Engineer"],
      ou: ["Platform"],
      employeeNumber: ["E-0001"],
      telephoneNumber: ["+351 21 000 0001"],
      manager: ["uid=bo.chen,ou=people,dc=example,dc=com"],
      entryUUID: [entryUuidOf("100000000000000000001")],
    });
    expect(ana.attributes.employeeType).toBeUndefined();
    // Non-ASCII values go through base64 in LDIF and come back as written; a mononym gets sn = cn.
    expect(byDn(entries).get("uid=carla.diaz,ou=people,dc=example,dc=com")!.attributes.sn).toEqual(["Díaz"]);
    expect(byDn(entries).get("uid=farah,ou=people,dc=example,dc=com")!.attributes).toMatchObject({ cn: ["Farah"], sn: ["Farah"], givenName: ["Farah"] });
  });

  test("the suspended marker selects exactly the suspended users", async () => {
    const { entries } = await slapd.search({ base: ldap.peopleDn, filter: `(&(objectClass=inetOrgPerson)${SUSPENDED_FILTER})`, attributes: ["mail"] });
    expect(entries.map((e) => e.attributes.mail![0])).toEqual(scenario.google.users.filter((u) => u.suspended).map((u) => u.primaryEmail));
    expect(entries.map((e) => e.attributes.mail![0])).toEqual(["dev.patel@example.com"]);
  });

  test("groups: direct members as DNs, nested groups as group DNs, owners, and an external member's DN with no entry", async () => {
    const { entries } = await slapd.search({ base: ldap.groupsDn, filter: "(objectClass=groupOfNames)", attributes: ["cn", "member", "owner"] });
    const groups = new Map(entries.map((e) => [e.attributes.cn![0]!, e.attributes]));
    expect([...groups.keys()].sort()).toEqual(["AWS Admins", "AWS BreakGlass", "AWS Developers", "AWS ReadOnly", "All Staff"]);
    expect(groups.get("AWS Admins")!.member).toEqual([
      "uid=ana.lima,ou=people,dc=example,dc=com",
      "uid=bo.chen,ou=people,dc=example,dc=com",
      "cn=AWS BreakGlass,ou=groups,dc=example,dc=com",
    ]);
    expect(groups.get("AWS Admins")!.owner).toEqual(["uid=bo.chen,ou=people,dc=example,dc=com"]);
    expect(groups.get("AWS ReadOnly")!.member).toContain("cn=AWS Developers,ou=groups,dc=example,dc=com");
    expect(groups.get("AWS Developers")!.member).toContain("mail=contractor@partner.example,ou=external,dc=example,dc=com");
    expect(groups.get("All Staff")!.member).toHaveLength(12);
    const external = await slapd.search({ base: ldap.externalDn, scope: "base" });
    expect(external.resultCode).toBe(32); // noSuchObject: the DN names nobody
    // Group filters the adapter will use: member of a nested group by DN.
    const parents = await slapd.search({ base: ldap.groupsDn, filter: "(member=cn=AWS Developers,ou=groups,dc=example,dc=com)", attributes: ["cn"] });
    expect(parents.entries.map((e) => e.attributes.cn![0])).toEqual(["AWS ReadOnly"]);
  });

  test("the reader reads entries but no password; anonymous users see nothing; a wrong password is refused", async () => {
    const services = await slapd.search({ base: `ou=services,${slapd.baseDn}`, filter: "(objectClass=simpleSecurityObject)", attributes: ["*"] });
    expect(services.entries.map((e) => e.dn)).toEqual([slapd.bindDn]);
    expect(services.entries[0]!.attributes.userPassword).toBeUndefined();
    const asAdmin = await slapd.search({ as: "admin", base: slapd.bindDn, scope: "base", attributes: ["userPassword"] });
    expect(asAdmin.entries[0]!.attributes.userPassword).toEqual([slapd.bindPassword]);
    const anonymous = await slapd.search({ as: "anonymous", base: ldap.peopleDn });
    expect(anonymous.entries).toEqual([]);
    const wrong = Bun.spawnSync(["ldapwhoami", "-x", "-H", slapd.url, "-D", slapd.bindDn, "-w", "not-the-password"], { env: { ...process.env, LDAPCONF: join(slapd.directory, "ldap.conf") } });
    expect(wrong.exitCode).toBe(49); // invalidCredentials
  });

  test("ldaps:// verifies against the generated CA, for Node and for libldap, and not against the unrelated one", async () => {
    expect(await handshake(slapd, slapd.caFile)).toEqual({ ok: true });
    expect(await handshake(slapd, slapd.caFile, "localhost")).toEqual({ ok: true });
    expect(await handshake(slapd, slapd.otherCaFile)).toEqual({ ok: false, code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    expect(await handshake(slapd, slapd.caFile, "ldap.example.org")).toEqual({ ok: false, code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    const trusted = await slapd.search({ url: slapd.ldapsUrl!, base: ldap.peopleDn, filter: "(uid=ana.lima)", attributes: ["uid"] });
    expect([trusted.resultCode, trusted.entries.length]).toEqual([0, 1]);
    const byName = await slapd.search({ url: `ldaps://localhost:${slapd.ldapsPort}`, base: ldap.peopleDn, filter: "(uid=ana.lima)", attributes: ["uid"] });
    expect([byName.resultCode, byName.entries.length]).toEqual([0, 1]);
    const untrusted = await slapd.search({ url: slapd.ldapsUrl!, caFile: slapd.otherCaFile, base: ldap.peopleDn, filter: "(uid=ana.lima)" });
    expect(untrusted.resultCode).toBe(255);
    expect(untrusted.entries).toEqual([]);
  });

  test("StartTLS on ldap:// succeeds with the generated CA and fails with the unrelated one", async () => {
    const trusted = await slapd.search({ startTls: true, base: ldap.peopleDn, filter: "(uid=ana.lima)", attributes: ["uid"] });
    expect([trusted.resultCode, trusted.entries.length]).toEqual([0, 1]);
    const untrusted = await slapd.search({ startTls: true, caFile: slapd.otherCaFile, base: ldap.peopleDn, filter: "(uid=ana.lima)" });
    expect(untrusted.resultCode).not.toBe(0);
    expect(untrusted.stderr).toContain("ldap_start_tls");
  });
});

describe.skipIf(unavailable !== undefined)("3,000 users behind a size limit of 500", () => {
  const org = generateOrg({ users: 3000, groups: 60, seed: 12 });
  const ldap = scenarioDirectory(org.google);
  let slapd: Slapd;
  beforeAll(async () => {
    const started = performance.now();
    slapd = await startSlapd({ baseDn: ldap.baseDn, ldif: ldap.entries(), sizeLimit: 500 });
    console.log(`slapd with 3,000 users and ${org.google.groups.length} groups started in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  });
  afterAll(() => slapd?.stop());
  const people = { base: `ou=people,dc=example,dc=com`, filter: "(objectClass=inetOrgPerson)", attributes: ["uid"] };

  test("an unpaged search ends in sizeLimitExceeded after 500 entries; a paged one returns all 3,000", async () => {
    const unpaged = await slapd.search(people);
    expect(unpaged.resultCode).toBe(4);
    expect(unpaged.entries).toHaveLength(500);
    expect(unpaged.stderr).toContain("Size limit exceeded");
    const paged = await slapd.search({ ...people, pageSize: 400 });
    expect(paged.resultCode).toBe(0);
    expect(new Set(paged.entries.map((e) => e.attributes.uid![0])).size).toBe(3000);
  });

  test("the limit is the reader's: the rootdn reads all 3,000 unpaged", async () => {
    const asAdmin = await slapd.search({ ...people, as: "admin" });
    expect([asAdmin.resultCode, asAdmin.entries.length]).toEqual([0, 3000]);
  });

  test("a 3,000-member group is one entry, read whole; nesting and the suspended marker as in the scenario", async () => {
    const allStaff = await slapd.search({ base: ldap.group("all-staff@example.com")!.dn, scope: "base", attributes: ["member"] });
    expect(allStaff.entries[0]!.attributes.member).toHaveLength(3000);
    const nesting = org.google.groups.find((g) => g.members.some((m) => m.type === "GROUP"))!;
    const child = nesting.members.find((m) => m.type === "GROUP")!;
    const read = await slapd.search({ base: ldap.group(nesting.email)!.dn, scope: "base", attributes: ["member"] });
    expect(read.entries[0]!.attributes.member).toContain(ldap.group(child.email!)!.dn);
    const suspended = await slapd.search({ ...people, filter: `(&(objectClass=inetOrgPerson)${SUSPENDED_FILTER})`, attributes: ["mail"], pageSize: 500 });
    const expected = org.google.users.filter((u) => u.suspended).map((u) => u.primaryEmail);
    expect(expected.length).toBeGreaterThan(30);
    expect(suspended.entries.map((e) => e.attributes.mail![0]).sort()).toEqual(expected.sort());
  });

  test("a total cap on paged results (size.prtotal) ends a paged search in sizeLimitExceeded too", async () => {
    await slapd.setLimits({ pagedResultsTotal: 1000 });
    try {
      const capped = await slapd.search({ ...people, pageSize: 400 });
      expect(capped.resultCode).toBe(4);
      expect(capped.entries.length).toBeLessThanOrEqual(1000);
    } finally {
      await slapd.setLimits({ pagedResultsTotal: "unlimited" });
    }
    expect((await slapd.search({ ...people, pageSize: 400 })).entries).toHaveLength(3000);
  });

  test("the proxy cuts a paged search after 100 entries; the next connection passes whole", async () => {
    const proxy = await startCuttingProxy({ target: slapd.url, afterEntries: 100, connectionsToCut: 1 });
    try {
      const cut = await slapd.search({ ...people, url: proxy.url, pageSize: 400 });
      expect(cut.resultCode).not.toBe(0);
      expect(cut.entries).toHaveLength(100);
      await proxy.firstCut;
      expect(proxy.stats()).toMatchObject({ connections: 1, cuts: 1, entries: 100 });
      const whole = await slapd.search({ ...people, url: proxy.url, pageSize: 400 });
      expect([whole.resultCode, whole.entries.length]).toEqual([0, 3000]);
      expect(proxy.stats()).toMatchObject({ connections: 2, cuts: 1, entries: 3100 });
    } finally {
      await proxy.close();
    }
  });

  test("the proxy cuts after a number of bytes, in the middle of a message", async () => {
    const proxy = await startCuttingProxy({ target: slapd.url, afterBytes: 50_000 });
    try {
      const cut = await slapd.search({ ...people, url: proxy.url, pageSize: 400 });
      expect(cut.resultCode).not.toBe(0);
      expect(cut.entries.length).toBeGreaterThan(100);
      expect(cut.entries.length).toBeLessThan(3000);
      expect(proxy.stats()).toMatchObject({ cuts: 1, bytes: 50_000 });
    } finally {
      await proxy.close();
    }
  });

  test("the proxy cuts after a number of messages: the bind response and one entry", async () => {
    const proxy = await startCuttingProxy({ target: slapd.url, afterMessages: 2 });
    try {
      const cut = await slapd.search({ ...people, url: proxy.url, pageSize: 400 });
      expect(cut.resultCode).not.toBe(0);
      expect(cut.entries).toHaveLength(1);
      expect(proxy.stats()).toMatchObject({ cuts: 1, messages: 2, entries: 1 });
    } finally {
      await proxy.close();
    }
  });
});

describe.skipIf(unavailable !== undefined)("changes at runtime", () => {
  const ldap = scenarioDirectory(loadScenarioFile(EXAMPLE_SCENARIO).google);
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd({ baseDn: ldap.baseDn, ldif: ldap.entries() });
  });
  afterAll(() => slapd?.stop());

  test("add, modify, modrdn and delete apply as the rootdn; a rename keeps the entryUUID; a new entry gets one from slapd", async () => {
    await slapd.modify(`dn: uid=new.person,${ldap.peopleDn}
objectClass: inetOrgPerson
uid: new.person
cn: New Person
sn: Person
mail: new.person@example.com

dn: uid=ana.lima,${ldap.peopleDn}
changetype: modify
replace: title
title: Principal Engineer
-
add: employeeType
employeeType: suspended
-

dn: uid=bo.chen,${ldap.peopleDn}
changetype: modrdn
newrdn: uid=bo.chen2
deleteoldrdn: 1

dn: uid=lena.vogel,${ldap.peopleDn}
changetype: delete
`);
    const { entries } = await slapd.search({ base: ldap.peopleDn, filter: "(objectClass=inetOrgPerson)", attributes: ["uid", "title", "employeeType", "entryUUID"] });
    const people = new Map(entries.map((e) => [e.attributes.uid![0]!, e.attributes]));
    expect(people.has("lena.vogel")).toBe(false);
    expect(people.get("ana.lima")).toMatchObject({ title: ["Principal Engineer"], employeeType: ["suspended"] });
    expect(people.has("bo.chen")).toBe(false);
    expect(people.get("bo.chen2")!.entryUUID).toEqual([ldap.user("bo.chen@example.com")!.entryUUID]);
    expect(people.get("new.person")!.entryUUID![0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(people.size).toBe(12);
  });

  test("a change the schema refuses fails with ldapmodify's message", async () => {
    await expect(slapd.modify(`dn: uid=no.surname,${ldap.peopleDn}\nobjectClass: inetOrgPerson\nuid: no.surname\ncn: No Surname\n`)).rejects.toThrow(/sn/);
  });
});

describe.skipIf(unavailable !== undefined)("the three group classes and empty groups", () => {
  const scenario = parseScenario({
    google: {
      users: [
        { id: "u1", primaryEmail: "ann@example.com", name: { givenName: "Ann", familyName: "Ash" } },
        { id: "u2", primaryEmail: "ben@example.com", name: { givenName: "Ben", familyName: "Birch" }, suspended: true },
        { id: "u3", primaryEmail: "ann@other.example", name: { givenName: "Ann", familyName: "Alder" } },
      ],
      groups: [
        { id: "g1", email: "names@example.com", name: "Names", members: [{ email: "ann@example.com" }, { email: "unique@example.com", type: "GROUP" }] },
        { id: "g2", email: "unique@example.com", name: "Unique", members: [{ email: "ben@example.com" }, { email: "ann@other.example" }] },
        { id: "g3", email: "posix@example.com", name: "Posix", members: [{ email: "ann@example.com" }, { email: "names@example.com", type: "GROUP" }, { email: "guest@elsewhere.example" }] },
        { id: "g4", email: "empty@example.com", name: "Empty", members: [] },
        { id: "g5", email: "empty-posix@example.com", name: "Empty posix", members: [{ type: "CUSTOMER" }] },
      ],
    },
  });
  const classOf = { Unique: "groupOfUniqueNames", Posix: "posixGroup", "Empty posix": "posixGroup" } as const;
  const ldap = scenarioDirectory(scenario.google, { groupClass: (g) => classOf[g.name as keyof typeof classOf] ?? "groupOfNames" });
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd({ baseDn: ldap.baseDn, ldif: ldap.entries() });
  });
  afterAll(() => slapd?.stop());

  const attributesOf = async (directory: LdapDirectory, name: string) => {
    const { entries } = await slapd.search({ base: directory.groupsDn, filter: `(cn=${name})`, attributes: ["objectClass", "member", "uniqueMember", "memberUid", "gidNumber"] });
    expect(entries).toHaveLength(1);
    return entries[0]!.attributes;
  };

  test("groupOfNames, groupOfUniqueNames and posixGroup, each with its member attribute", async () => {
    expect(await attributesOf(ldap, "Names")).toMatchObject({ objectClass: ["top", "groupOfNames"], member: ["uid=ann,ou=people,dc=example,dc=com", "cn=Unique,ou=groups,dc=example,dc=com"] });
    // The second "ann" (another domain) gets its whole address as uid: uids stay unique.
    expect(await attributesOf(ldap, "Unique")).toMatchObject({ objectClass: ["top", "groupOfUniqueNames"], uniqueMember: ["uid=ben,ou=people,dc=example,dc=com", "uid=ann@other.example,ou=people,dc=example,dc=com"] });
    // posixGroup names users by uid and cannot nest: the group and the external guest are left out.
    expect(await attributesOf(ldap, "Posix")).toMatchObject({ objectClass: ["top", "posixGroup"], memberUid: ["ann"], gidNumber: ["10002"] });
  });

  test("an empty groupOfNames holds the empty DN, an empty posixGroup no memberUid; `self` makes the group its own member", async () => {
    expect((await attributesOf(ldap, "Empty")).member).toEqual([""]);
    const emptyPosix = await attributesOf(ldap, "Empty posix");
    expect(emptyPosix.objectClass).toContain("posixGroup");
    expect(emptyPosix.memberUid).toBeUndefined();
    // The other convention, loaded over the protocol this time.
    const selfScenario = parseScenario({ google: { groups: [{ id: "g9", email: "alone@example.com", name: "Alone", members: [] }] } });
    const self = scenarioDirectory(selfScenario.google, { emptyGroupMember: "self" });
    const [, groupRecord] = [...self.entries()].slice(1);
    await slapd.modify(groupRecord!);
    expect((await attributesOf(self, "Alone")).member).toEqual(["cn=Alone,ou=groups,dc=example,dc=com"]);
    // Added over the protocol, the group keeps the entryUUID the LDIF gave it (modify uses the Relax Rules control).
    const alone = await slapd.search({ base: self.group("alone@example.com")!.dn, scope: "base", attributes: ["entryUUID"] });
    expect(alone.entries[0]!.attributes.entryUUID).toEqual([entryUuidOf("g9")]);
  });

  test("the LDIF is the same bytes every time, and two groups of one name are refused", () => {
    const again = scenarioDirectory(scenario.google, { groupClass: (g) => classOf[g.name as keyof typeof classOf] ?? "groupOfNames" });
    expect(again.text()).toBe(ldap.text());
    const clash = parseScenario({ google: { groups: [{ id: "a", email: "a@example.com", name: "Ops" }, { id: "b", email: "b@example.com", name: "ops" }] } });
    expect(() => scenarioDirectory(clash.google)).toThrow(/a@example.com and b@example.com are both named "ops"/);
  });
});

describe.skipIf(unavailable !== undefined)("settings", () => {
  test('logLevel "stats": log() has a line per operation (what a test counts searches with)', async () => {
    const slapd = await startSlapd({ logLevel: "stats" });
    try {
      await slapd.search({ scope: "base", pageSize: 10 });
      expect(slapd.log()).toContain(`BIND dn="${slapd.bindDn}" method=128`);
      expect(slapd.log()).toMatch(/SEARCH RESULT tag=101 err=0 .*nentries=1/);
      expect(slapd.log().match(/ SRCH base=/g)).toHaveLength(1);
    } finally {
      await slapd.stop();
    }
  });

  test("requireTls: a bind in clear is refused (confidentialityRequired), the same after StartTLS succeeds", async () => {
    const slapd = await startSlapd({ requireTls: true });
    try {
      const clear = await slapd.search({ startTls: false, scope: "base" });
      expect(clear.resultCode).toBe(13);
      const secured = await slapd.search({ startTls: true, scope: "base" });
      expect([secured.resultCode, secured.entries.map((e) => e.dn)]).toEqual([0, [slapd.baseDn]]);
      expect((await slapd.search({ url: slapd.ldapsUrl!, scope: "base" })).resultCode).toBe(0); // ldaps:// is TLS already
      await slapd.modify(`dn: ou=people,${slapd.baseDn}\nobjectClass: organizationalUnit\nou: people\n`); // the helpers use StartTLS themselves
    } finally {
      await slapd.stop();
    }
  });

  test('tls: "none" serves ldap:// only, and StartTLS fails there', async () => {
    const slapd = await startSlapd({ tls: "none" });
    try {
      expect(slapd.ldapsUrl).toBeUndefined();
      expect((await slapd.search({ scope: "base" })).resultCode).toBe(0);
      const startTls = await slapd.search({ startTls: true, scope: "base" });
      expect(startTls.resultCode).not.toBe(0);
      expect(startTls.stderr).toContain("ldap_start_tls");
    } finally {
      await slapd.stop();
    }
  });
});

describe.skipIf(unavailable !== undefined)("stopping", () => {
  test("stop() ends slapd and removes its directory, and may be called twice", async () => {
    const slapd = await startSlapd();
    expect(isRunning(slapd.pid)).toBe(true);
    expect(existsSync(join(slapd.directory, "slapd.d"))).toBe(true);
    await slapd.stop();
    expect(isRunning(slapd.pid)).toBe(false);
    expect(existsSync(slapd.directory)).toBe(false);
    await slapd.stop();
  });

  test("when the test process dies (SIGKILL), its slapd stops and the directory goes", async () => {
    const child = Bun.spawn([process.execPath, join(ROOT, "test/support/slapd.ts")], { stdout: "pipe", stderr: "pipe" });
    const reader = child.stdout.getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`slapd.ts exited early: ${await new Response(child.stderr).text()}`);
      line += new TextDecoder().decode(value);
    }
    const started = JSON.parse(line) as { pid: number; directory: string };
    expect(isRunning(started.pid)).toBe(true);
    child.kill("SIGKILL");
    await child.exited;
    const deadline = Date.now() + 5000;
    while ((isRunning(started.pid) || existsSync(started.directory)) && Date.now() < deadline) await Bun.sleep(50);
    expect(isRunning(started.pid)).toBe(false);
    expect(existsSync(started.directory)).toBe(false);
  });
});
