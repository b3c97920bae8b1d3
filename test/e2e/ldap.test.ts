/**
 * @module End-to-end with an LDAP source: the real `idpscim` CLI reading a real OpenLDAP slapd
 * (test/support/slapd.ts: loopback, TLS with a test CA, the example scenario as LDIF) and writing
 * to the SCIM emulator. What AWS ends up holding, how many requests it took, and that a read that
 * cannot be trusted writes nothing. Skipped with the reason where slapd is not installed.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { loadScenarioFile, parseScenario, type Scenario } from "../emulators/scenario.ts";
import { startCuttingProxy, type CuttingProxy } from "../support/cutting-proxy.ts";
import { entryUuidOf } from "../support/ldif.ts";
import { slapdUnavailable } from "../support/slapd.ts";
import { EXAMPLE_SCENARIO, spreadOrg, startWorld, type LdapWorldOptions, type World } from "../support/harness.ts";

const unavailable = slapdUnavailable();
if (unavailable) console.log(`skipping the LDAP end-to-end tests: ${unavailable}`);

let world: World | undefined;
let proxy: CuttingProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await world?.close();
  world = proxy = undefined;
});

const example = () => loadScenarioFile(EXAMPLE_SCENARIO);
const ldapWorld = (scenario: Scenario, options: LdapWorldOptions = {}) => startWorld({ scenario }, {}, options);

/** What AWS holds: userName → active, group name → member userNames. */
function tenantView(w: World) {
  const snap = w.emulators.scim.snapshot();
  const nameById = new Map(snap.users.map((u) => [u.id, String(u.userName)]));
  return {
    users: Object.fromEntries(snap.users.map((u) => [String(u.userName), u.active !== false])),
    groups: Object.fromEntries(snap.groups.map((g) => [g.displayName, g.members.map((m) => nameById.get(m)).sort()])),
    raw: snap,
  };
}

/** The LDAP figures of the run summary: "ldap N searches (M pages)". */
function ldapFigures(stderr: string): { searches: number; pages: number } {
  const match = /ldap (\d+) searches \((\d+) pages\)/.exec(stderr);
  expect(match).not.toBeNull();
  return { searches: Number(match![1]), pages: Number(match![2]) };
}

const dnOf = (w: World, email: string) => w.ldap!.directory.user(email)!.dn;
const groupDn = (w: World, email: string) => w.ldap!.directory.group(email)!.dn;

describe.skipIf(unavailable !== undefined)("LDAP source: syncs", () => {
  test("first sync (ldaps with the CA file): users, groups, nesting, suspension, manager; a second run sends zero SCIM requests", async () => {
    world = await ldapWorld(example());
    const first = await world.run(["sync"]);
    expect(first.code).toBe(0);
    const view = tenantView(world);
    // The scenario's 12 users, as Google would give them (the external contractor has no entry), and the Control Tower user.
    expect(Object.keys(view.users)).toHaveLength(13);
    expect(view.users["dev.patel@example.com"]).toBe(false); // suspended: employeeType=suspended, by ldap.suspended_filter
    expect(view.groups["AWS Admins"]).toEqual(["ana.lima@example.com", "bo.chen@example.com", "jo.ng@example.com"]); // jo through AWS BreakGlass
    expect(view.groups["AWS ReadOnly"]).toContain("goran.ivic@example.com"); // nested through AWS Developers
    expect(view.groups.AWSControlTowerAdmins).toEqual(["cloud-admin@example.com"]);
    const ana = view.raw.users.find((u) => u.userName === "ana.lima@example.com")! as Record<string, unknown>;
    const bo = view.raw.users.find((u) => u.userName === "bo.chen@example.com")!;
    expect(ana.externalId).toBe(entryUuidOf("100000000000000000001"));
    expect(ana.title).toBe("Staff Engineer");
    expect(ana["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]).toMatchObject({ employeeNumber: "E-0001", department: "Platform", manager: { value: bo.id } });
    expect(first.stderr).toContain("group AWS Developers: 1 member(s) are neither users in scope");
    const figures = ldapFigures(first.stderr);
    console.log(`LDAP first sync of the example scenario: ldap ${figures.searches} searches, ${figures.pages} pages; ${world.emulators.scim.log.total()} SCIM requests`);

    world.emulators.scim.log.clear();
    const second = await world.run(["sync"]);
    expect(second.code).toBe(0);
    expect(world.emulators.scim.log.total()).toBe(0);

    const inspect = await world.run(["inspect", "ldap", "members", "--output", "json"]);
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.stdout)).toContainEqual({ group: "AWS ReadOnly", member: "goran.ivic@example.com" });

    // The bind password is never logged, not even at debug level (the configuration is logged there).
    const debug = await world.run(["plan", "--debug"]);
    expect(debug.code).toBe(0);
    expect(debug.stderr).toContain('"bindPassword":"***"');
    expect(`${debug.stdout}${debug.stderr}`).not.toContain(world.ldap!.slapd.bindPassword);
  });

  test("a group filter matching nothing: refused as an empty source, naming the LDAP scope settings; nothing written", async () => {
    world = await ldapWorld(example());
    expect((await world.run(["sync"])).code).toBe(0);
    world.writeConfig("", { ldap: { group_filter: "(cn=NoSuchGroup)" } });
    world.emulators.scim.log.clear();
    const run = await world.run(["sync"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("no groups while the state manages 5");
    expect(run.stderr).toContain("ldap.group_base_dn and ldap.group_filter");
    expect(world.emulators.scim.log.writes()).toBe(0);
  });

  test("StartTLS on ldap://, with the CA file", async () => {
    world = await ldapWorld(example());
    world.writeConfig("", { ldap: { url: world.ldap!.slapd.url, start_tls: true } });
    const run = await world.run(["sync"]);
    expect(run.code).toBe(0);
    expect(Object.keys(tenantView(world).users)).toHaveLength(13);
  });

  test("the openldap preset's three group classes (groupOfUniqueNames nesting, posixGroup memberUid) read as groupOfNames; userName=uid by a setting", async () => {
    const classes: Record<string, "groupOfUniqueNames" | "posixGroup"> = { "AWS Admins": "groupOfUniqueNames", "All Staff": "posixGroup" };
    world = await ldapWorld(example(), { directory: { groupClass: (group) => classes[group.name] ?? "groupOfNames" } });
    world.writeConfig("", { ldap: { user_attributes: ["userName=uid"] } });
    const run = await world.run(["sync"]);
    expect(run.code).toBe(0);
    const view = tenantView(world);
    expect(view.groups["AWS Admins"]).toEqual(["ana.lima", "bo.chen", "jo.ng"]); // jo through AWS BreakGlass, a uniqueMember
    expect(view.groups["All Staff"]).toHaveLength(12); // memberUid values
    expect(view.users["ana.lima"]).toBe(true);
  });

  test("a chain three deep counts for the top group only in scope; a cycle is reported once and does not loop", async () => {
    const person = (n: number) => ({ id: `3${n}`, primaryEmail: `p${n}@example.com`, name: { givenName: `P${n}`, familyName: "Deep" } });
    const scenario = parseScenario({
      google: {
        users: [1, 2, 3, 4, 5, 6].map(person),
        groups: [
          { id: "41", email: "top@example.com", name: "AWS-Top", members: [{ email: "p1@example.com" }, { email: "l1@example.com", type: "GROUP" }] },
          { id: "42", email: "l1@example.com", name: "Level1", members: [{ email: "p2@example.com" }, { email: "l2@example.com", type: "GROUP" }] },
          { id: "43", email: "l2@example.com", name: "Level2", members: [{ email: "p3@example.com" }, { email: "l3@example.com", type: "GROUP" }] },
          { id: "44", email: "l3@example.com", name: "Level3", members: [{ email: "p4@example.com" }] },
          { id: "45", email: "ring-a@example.com", name: "AWS-RingA", members: [{ email: "p5@example.com" }, { email: "ring-b@example.com", type: "GROUP" }] },
          { id: "46", email: "ring-b@example.com", name: "RingB", members: [{ email: "p6@example.com" }, { email: "ring-a@example.com", type: "GROUP" }] },
        ],
      },
    });
    world = await ldapWorld(scenario);
    world.writeConfig("", { ldap: { group_filter: "(cn=AWS-*)" } });
    const run = await world.run(["sync"]);
    expect(run.code).toBe(0);
    const view = tenantView(world);
    expect(Object.keys(view.groups).sort()).toEqual(["AWS-RingA", "AWS-Top"]);
    expect(view.groups["AWS-Top"]).toEqual(["p1@example.com", "p2@example.com", "p3@example.com", "p4@example.com"]);
    expect(view.groups["AWS-RingA"]).toEqual(["p5@example.com", "p6@example.com"]);
    const cycleLines = run.stderr.split("\n").filter((line) => line.includes("groups nested in a cycle"));
    expect(cycleLines).toHaveLength(1);
    expect(cycleLines[0]).toContain('"AWS-RingA" > "RingB" > "AWS-RingA"');
  });

  test("a renamed group is PATCHed in place (same SCIM id, new DN); a user whose mail changed keeps its SCIM id", async () => {
    world = await ldapWorld(example());
    expect((await world.run(["sync"])).code).toBe(0);
    const before = world.emulators.scim.snapshot();
    const adminsId = before.groups.find((g) => g.displayName === "AWS Admins")!.id;
    const anaId = before.users.find((u) => u.userName === "ana.lima@example.com")!.id;
    await world.ldap!.slapd.modify(
      `dn: ${groupDn(world, "aws-admins@example.com")}\nchangetype: modrdn\nnewrdn: cn=AWS Administrators\ndeleteoldrdn: 1\n\n` +
        `dn: ${dnOf(world, "ana.lima@example.com")}\nchangetype: modify\nreplace: mail\nmail: ana.lima-souza@example.com\n`,
    );
    world.emulators.scim.log.clear();
    expect((await world.run(["sync"])).code).toBe(0);
    const after = world.emulators.scim.snapshot();
    expect(after.groups.find((g) => g.id === adminsId)!.displayName).toBe("AWS Administrators");
    expect(after.groups.find((g) => g.id === adminsId)!.members).toContain(anaId);
    expect(after.users.find((u) => u.id === anaId)!.userName).toBe("ana.lima-souza@example.com");
    const counts = world.emulators.scim.log.counts();
    for (const route of ["POST /Users", "POST /Groups", "DELETE /Users/{id}", "DELETE /Groups/{id}"]) expect(counts[route] ?? 0).toBe(0);
  });

  test("a user moved out of ldap.user_base_dn leaves AWS though a group still lists it", async () => {
    world = await ldapWorld(example());
    expect((await world.run(["sync"])).code).toBe(0);
    const base = world.ldap!.directory.baseDn;
    const moved = `uid=kai.berg,ou=alumni,${base}`;
    await world.ldap!.slapd.modify(
      `dn: ou=alumni,${base}\nchangetype: add\nobjectClass: organizationalUnit\nou: alumni\n\n` +
        `dn: ${dnOf(world, "kai.berg@example.com")}\nchangetype: modrdn\nnewrdn: uid=kai.berg\ndeleteoldrdn: 1\nnewsuperior: ou=alumni,${base}\n\n` +
        // What Active Directory does by itself: the group's member value follows the move.
        `dn: ${groupDn(world, "all-staff@example.com")}\nchangetype: modify\ndelete: member\nmember: ${dnOf(world, "kai.berg@example.com")}\n-\nadd: member\nmember: ${moved}\n`,
    );
    const run = await world.run(["sync"]);
    expect(run.code).toBe(0);
    expect(tenantView(world).users["kai.berg@example.com"]).toBeUndefined();
    expect(run.stderr).toContain("group All Staff: 1 member(s) are neither users in scope");
  });
});

describe.skipIf(unavailable !== undefined)("LDAP source: 3,000 members, the server's size limit at 500", () => {
  test("every user is read by paging; the first sync and the no-change run, counted", async () => {
    world = await ldapWorld(spreadOrg(3000, 1), { slapd: { sizeLimit: 500 } });
    // The limit is real: an unpaged search of the users stops at 500 (sizeLimitExceeded).
    const unpaged = await world.ldap!.slapd.search({ base: world.ldap!.directory.peopleDn, filter: "(objectClass=inetOrgPerson)", attributes: ["uid"] });
    expect(unpaged.resultCode).toBe(4);
    const first = await world.run(["sync"]);
    expect(first.code).toBe(0);
    const view = tenantView(world);
    expect(view.groups["Team 0"]).toHaveLength(3000);
    const firstLdap = ldapFigures(first.stderr);
    expect(firstLdap.pages).toBeGreaterThanOrEqual(6 + 1 + 1); // the users in pages of 500, the suspended ones, the group
    const firstScim = { total: world.emulators.scim.log.total(), byRoute: world.emulators.scim.log.counts() };

    world.emulators.scim.log.clear();
    const second = await world.run(["sync", "--output", "json"]);
    expect(second.code).toBe(0);
    expect(world.emulators.scim.log.total()).toBe(0);
    const secondLdap = ldapFigures(second.stderr);
    expect(JSON.parse(second.stdout).requests).toMatchObject({ scim: 0, google: 0, ldap: secondLdap });
    expect(secondLdap).toEqual(firstLdap);
    console.log(
      `LDAP 3,000 members, size limit 500, page size 500: first sync ldap ${firstLdap.searches} searches, ${firstLdap.pages} pages, ` +
        `${firstScim.total} SCIM requests ${JSON.stringify(firstScim.byRoute)}; no-change run ldap ${secondLdap.searches} searches, ${secondLdap.pages} pages, 0 SCIM requests`,
    );
  }, 240_000);

  test("a server that stops a paged search at its size limit part-way: exit 1, nothing written", async () => {
    world = await ldapWorld(spreadOrg(1200, 1), { slapd: { sizeLimit: 500, pagedResultsTotal: 1000 } });
    const run = await world.run(["sync"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/SOURCE_READ: the search of ldap\.user_base_dn ".*" stopped at the server's size limit after 2 page\(s\) \(sizeLimitExceeded\): nothing was written; set ldap\.page_size \(now 500\)/);
    expect(world.emulators.scim.log.total()).toBe(0);
  });

  test("a server that refuses paging: one line naming ldap.page_size, nothing written", async () => {
    world = await ldapWorld(example(), { slapd: { pagedResultsTotal: "disabled" } });
    const run = await world.run(["sync"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/CONFIG_INVALID: the server refuses simple paged results \(RFC 2696\), which every search uses \(ldap\.page_size = 500\), for the search of ldap\.user_base_dn /);
    expect(world.emulators.scim.log.total()).toBe(0);
  });
});

describe.skipIf(unavailable !== undefined)("LDAP source: the CA as text (ldap.ca_pem), as the Lambda gets it", () => {
  test("IDPSCIM_LDAP_CA_PEM with no ca_file: the server is verified against it and the sync runs; another CA's text is refused naming ldap.ca_pem, nothing sent", async () => {
    world = await ldapWorld(example());
    const { slapd } = world.ldap!;
    world.writeConfig("", { ldap: { ca_file: null } });
    const synced = await world.run(["sync"], { env: { IDPSCIM_LDAP_CA_PEM: readFileSync(slapd.caFile, "utf8") } });
    expect(synced.code).toBe(0);
    expect(Object.keys(tenantView(world).users)).toHaveLength(13);

    world.emulators.scim.log.clear();
    const untrusted = await world.run(["sync"], { env: { IDPSCIM_LDAP_CA_PEM: readFileSync(slapd.otherCaFile, "utf8") } });
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toMatch(/CONFIG_INVALID: ldap\.url ".*": the server's certificate is not trusted \(.*\): set ldap\.ca_file .* \(or ldap\.ca_pem to its text\)/);
    expect(world.emulators.scim.log.total()).toBe(0);
  });
});

describe.skipIf(unavailable !== undefined)("LDAP source: a read that cannot be trusted writes nothing", () => {
  const errorLines = (stderr: string) => stderr.split("\n").filter((line) => / ERROR /.test(line) || line.startsWith("idpscim:"));

  test("a bind refused, a wrong base DN, a CA that does not trust the certificate, an unreachable server: one line each, no SCIM request", async () => {
    world = await ldapWorld(example());
    const cases: [Record<string, string | number | boolean | string[] | null>, number, RegExp][] = [
      [{ bind_password: "not-the-password" }, 2, /SOURCE_AUTH: ldap\.bind_dn ".*" could not bind: invalid credentials .*check ldap\.bind_dn and its password/],
      [{ user_base_dn: `ou=nobody,${world.ldap!.directory.baseDn}` }, 2, /CONFIG_INVALID: ldap\.user_base_dn "ou=nobody,dc=example,dc=com" does not exist on the server \(noSuchObject\)/],
      [{ ca_file: world.ldap!.slapd.otherCaFile }, 2, /CONFIG_INVALID: ldap\.url ".*": the server's certificate is not trusted \(.*\): set ldap\.ca_file/],
      [{ url: "ldaps://127.0.0.1:1" }, 1, /SOURCE_READ: ldap\.url "ldaps:\/\/127\.0\.0\.1:1": cannot reach the server \(ECONNREFUSED\)/],
    ];
    for (const [ldap, code, line] of cases) {
      world.writeConfig("", { ldap });
      world.emulators.scim.log.clear();
      const run = await world.run(["sync"]);
      expect(run.code).toBe(code);
      const errors = errorLines(run.stderr);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(line);
      expect(run.stderr).not.toContain("not-the-password");
      expect(world.emulators.scim.log.total()).toBe(0);
    }
  });

  test("the connection cut mid-search: exit 1, 0 SCIM writes; the next run applies the change", async () => {
    world = await ldapWorld(example(), { slapd: { tls: "none" } });
    const slapd = world.ldap!.slapd;
    world.writeConfig("", { ldap: { url: slapd.url, ca_file: null } }); // loopback: plain ldap:// is allowed
    expect((await world.run(["sync"])).code).toBe(0);
    // A change the cut run must not act on.
    await slapd.modify(`dn: ${groupDn(world, "aws-admins@example.com")}\nchangetype: modify\ndelete: member\nmember: ${dnOf(world, "bo.chen@example.com")}\n`);
    proxy = await startCuttingProxy({ target: slapd.url, afterEntries: 5, connectionsToCut: 1 });
    world.writeConfig("", { ldap: { url: proxy.url, ca_file: null, page_size: 2 } });
    world.emulators.scim.log.clear();
    const cut = await world.run(["sync"]);
    expect(proxy.stats().cuts).toBe(1);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/SOURCE_READ: ldap\.url ".*": the connection was lost during the search of ldap\.user_base_dn .* after \d+ pages?: nothing was written/);
    expect(world.emulators.scim.log.writes()).toBe(0);
    expect(tenantView(world).groups["AWS Admins"]).toContain("bo.chen@example.com");

    const next = await world.run(["sync"]);
    expect(next.code).toBe(0);
    expect(tenantView(world).groups["AWS Admins"]).not.toContain("bo.chen@example.com");
  });
});
