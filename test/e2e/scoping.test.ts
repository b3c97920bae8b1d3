/**
 * @module End-to-end scoping by user (README "Scoping"): gws.users_filter in each query form,
 * sync.method = "users", sync.exclude_users and sync.exclude_groups, sync.only_groups, and a scope
 * change the guardrails refuse; the real CLI against the emulators, counting Google's requests.
 * Each test would fail with its feature removed.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parseScenario, type Scenario } from "../emulators/scenario.ts";
import { startWorld, type World } from "../support/harness.ts";
import { slapdUnavailable } from "../support/slapd.ts";
import { readStateFile } from "../support/state-file.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/**
 * Seven people: engineers in /Engineering (one in /Engineering/Platform, a contractor in
 * /Engineering/Contractors), sales in /Sales (one suspended), and gia in no group but All Staff.
 * `Custom.awsAccess` is a BOOL custom field, as an administrator would define it.
 */
function company(): Scenario {
  const person = (id: string, name: string, orgUnitPath: string, awsAccess: boolean | undefined, extra: Record<string, unknown> = {}) => ({
    id,
    primaryEmail: `${name}@example.com`,
    name: { givenName: name[0]!.toUpperCase() + name.slice(1).split(".")[0]!, familyName: "Test" },
    orgUnitPath,
    ...(awsAccess === undefined ? {} : { customSchemas: { Custom: { awsAccess } } }),
    ...extra,
  });
  const users = [
    person("101", "ana", "/Engineering", true),
    person("102", "bo", "/Engineering/Platform", true),
    person("103", "carla", "/Engineering", false),
    person("104", "dev", "/Sales", true),
    person("105", "eve.contractor", "/Engineering/Contractors", true),
    person("106", "finn", "/Sales", true, { suspended: true }),
    person("107", "gia", "/Engineering", undefined),
  ];
  const members = (...names: string[]) => names.map((n) => ({ email: `${n}@example.com` }));
  return parseScenario({
    google: {
      domain: "example.com",
      customerId: "C1",
      adminEmail: "admin@example.com",
      users,
      groups: [
        { id: "201", email: "eng@example.com", name: "Engineering", members: members("ana", "bo", "carla", "eve.contractor") },
        { id: "202", email: "sales@example.com", name: "Sales", members: members("dev", "finn") },
        { id: "203", email: "all@example.com", name: "All Staff", members: members("ana", "bo", "carla", "dev", "eve.contractor", "finn", "gia") },
      ],
    },
  });
}

/** What AWS holds: userName (without the domain) → active, and group name → member names. */
function tenant(w: World) {
  const snap = w.emulators.scim.snapshot();
  const short = (userName: unknown) => String(userName).split("@")[0]!;
  const nameById = new Map(snap.users.map((u) => [u.id, short(u.userName)]));
  return {
    users: Object.fromEntries(snap.users.map((u) => [short(u.userName), u.active !== false])),
    groups: Object.fromEntries(snap.groups.map((g) => [g.displayName, g.members.map((m) => nameById.get(m)!).sort()])),
  };
}

const filters = (...queries: string[]) => queries.flatMap((q) => ["--gws-users-filter", q]);
const usersList = (w: World) => w.emulators.google.log.counts()["GET users.list"] ?? 0;

describe("gws.users_filter with sync.method = \"groups\": the groups' members that match a query", () => {
  const forms: [string, string[], string[]][] = [
    ["orgUnitPath subtree", ["orgUnitPath='/Engineering'"], ["ana", "bo", "carla", "eve.contractor"]],
    ["isSuspended", ["isSuspended=false"], ["ana", "bo", "carla", "dev", "eve.contractor"]],
    ["custom schema field", ["Custom.awsAccess=true"], ["ana", "bo", "dev", "eve.contractor", "finn"]],
    ["email prefix", ["email:dev*"], ["dev"]],
    ["clauses ANDed", ["orgUnitPath='/Engineering' Custom.awsAccess=true"], ["ana", "bo", "eve.contractor"]],
    ["queries ORed", ["email:dev*", "email:carla*"], ["carla", "dev"]],
  ];
  for (const [form, queries, synced] of forms) {
    test(`${form}: ${queries.join(" | ")}`, async () => {
      world = await startWorld({ scenario: company() });
      const run = await world.run(["sync", "--gws-groups-filter", "email:eng*", "--gws-groups-filter", "email:sales*", ...filters(...queries)]);
      expect(run.code).toBe(0);
      const view = tenant(world);
      expect(Object.keys(view.users).sort()).toEqual(synced);
      // The groups carry only the members in scope; gia (only in All Staff, not synced) is never read as a member.
      const engineers = ["ana", "bo", "carla", "eve.contractor"].filter((n) => synced.includes(n));
      expect(view.groups.Engineering).toEqual(engineers);
      expect(view.groups.Sales).toEqual(["dev", "finn"].filter((n) => synced.includes(n)));
      // One listing per query, one page each (a 7-user domain); the unfiltered members fetch is not made.
      expect(usersList(world)).toBe(queries.length);
      expect(world.emulators.google.log.counts()["GET users.get"]).toBeUndefined();
    });
  }
});

describe('sync.method = "users"', () => {
  test("every user a query matches is synced, in a group or not; the groups carry the memberships among them; one users.list per query", async () => {
    const scenario = company();
    world = await startWorld({ scenario });
    world.writeConfig(`[sync]\nmethod = "users"\n`);
    const run = await world.run(["sync", ...filters("orgUnitPath='/Engineering' isSuspended=false", "email:dev*")]);
    expect(run.code).toBe(0);
    const view = tenant(world);
    // gia is in no synced group but All Staff and is synced all the same; finn (suspended, /Sales) is not.
    expect(view.users).toEqual({ ana: true, bo: true, carla: true, dev: true, "eve.contractor": true, gia: true });
    expect(view.groups).toEqual({
      Engineering: ["ana", "bo", "carla", "eve.contractor"],
      Sales: ["dev"],
      "All Staff": ["ana", "bo", "carla", "dev", "eve.contractor", "gia"],
    });
    expect(usersList(world)).toBe(2);

    // gia moves to /Sales: she leaves the scope and is deleted as any leaver is.
    const gia = scenario.google.users.find((u) => u.primaryEmail === "gia@example.com")!;
    gia.orgUnitPath = "/Sales";
    expect((await world.run(["sync", ...filters("orgUnitPath='/Engineering' isSuspended=false", "email:dev*")])).code).toBe(0);
    expect(tenant(world).users.gia).toBeUndefined();
    expect(tenant(world).groups["All Staff"]).not.toContain("gia");
  });

  test("without gws.users_filter it is refused before any request: one line, exit 2", async () => {
    world = await startWorld({ scenario: company() });
    world.writeConfig(`[sync]\nmethod = "users"\n`);
    const run = await world.run(["sync"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('sync.method ([sync] method in');
    expect(run.stderr).toContain("gws.users_filter is empty");
    expect(world.emulators.google.log.total()).toBe(0);
    expect(world.emulators.scim.log.total()).toBe(0);
  });

  test("a users_filter clause Google does not take is refused before any request, naming the clause", async () => {
    world = await startWorld({ scenario: company() });
    const run = await world.run(["sync", ...filters("orgUnit='/Engineering'")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`"orgUnit='/Engineering'" names no Directory user search field`);
    expect(world.emulators.google.log.total()).toBe(0);
  });
});

describe("a query Google refuses", () => {
  test("an unknown custom field passes the local check, Google answers 400: one CONFIG_INVALID line naming the setting, exit 2, nothing written", async () => {
    world = await startWorld({ scenario: company() });
    const run = await world.run(["sync", ...filters("Custom.noSuchField=true")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('gws.users_filter: Google refused the users.list query="Custom.noSuchField=true": 400 invalid');
    expect(world.emulators.scim.log.writes()).toBe(0);
    expect(() => readFileSync(world!.statePath)).toThrow();
  });
});

describe("requests: the fewest users.list pages", () => {
  /**
   * 3,000 users (user0000…), every other one in /Engineering; Engineering holds the first 10
   * engineers (on the first page of any listing), Late the last engineer and the last salesman.
   */
  function large(): Scenario {
    const users = Array.from({ length: 3000 }, (_, i) => ({
      id: `1${String(i).padStart(5, "0")}`,
      primaryEmail: `user${String(i).padStart(4, "0")}@example.com`,
      name: { givenName: `Given${i}`, familyName: "Test" },
      orgUnitPath: i % 2 === 0 ? "/Engineering" : "/Sales",
    }));
    const members = (indexes: number[]) => indexes.map((i) => ({ email: users[i]!.primaryEmail }));
    return parseScenario({
      google: {
        domain: "example.com", customerId: "C1", adminEmail: "admin@example.com", users,
        groups: [
          { id: "201", email: "eng@example.com", name: "Engineering", members: members([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]) },
          { id: "202", email: "late@example.com", name: "Late", members: members([2998, 2999]) },
        ],
      },
    });
  }
  const plan = async (w: World, args: string[]) => {
    w.emulators.google.log.clear();
    const run = await w.run(["sync", "--dry-run", ...args]);
    expect(run.code).toBe(0);
    return { users: Number(/google: (\d+) users/.exec(run.stderr)?.[1]), usersList: usersList(w) };
  };

  test('"users": ceil(matches / 500) pages per query; "groups": stop once every member was seen, or ask for the last few members by the query itself', async () => {
    world = await startWorld({ scenario: large() });
    world.writeConfig(`[sync]\nmethod = "users"\n`);
    expect(await plan(world, filters("orgUnitPath='/Engineering'"))).toEqual({ users: 1500, usersList: 3 });

    world.writeConfig("");
    // The 10 members are on the first page of the first query: neither its next pages nor the second query are asked for.
    expect(await plan(world, ["--gws-groups-filter", "email:eng*", ...filters("orgUnitPath='/Engineering'", "orgUnitPath='/Sales'")])).toEqual({ users: 10, usersList: 1 });
    // Late's two members are on no first page: one page, then one request each (query AND email=), instead of 6 pages.
    expect(await plan(world, ["--gws-groups-filter", "email:late*", ...filters("orgUnitPath='/'")])).toEqual({ users: 2, usersList: 3 });
    // The probe is the query ANDed: the salesman does not match /Engineering and stays out of scope.
    expect(await plan(world, ["--gws-groups-filter", "email:late*", ...filters("orgUnitPath='/Engineering'")])).toEqual({ users: 1, usersList: 3 });
  });
});

describe("sync.exclude_users and sync.exclude_groups", () => {
  test("an excluded user is never synced and leaves every group; an excluded group is not synced and a user held only by it leaves the scope", async () => {
    world = await startWorld({ scenario: company() });
    expect((await world.run(["sync"])).code).toBe(0);
    expect(Object.keys(tenant(world).users)).toContain("eve.contractor");

    world.writeConfig(`[sync]\nexclude_users = ["*contractor*"]\nexclude_groups = ["ALL@example.com"]\n`);
    const run = await world.run(["sync"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("scope: 1 users excluded by sync.exclude_users, 1 groups by sync.exclude_groups (and 1 users held only by those groups)");
    const view = tenant(world);
    // eve (excluded) and gia (only in All Staff) were made by idpscim and left the scope: deleted.
    expect(Object.keys(view.users).sort()).toEqual(["ana", "bo", "carla", "dev", "finn"]);
    expect(view.groups).toEqual({ Engineering: ["ana", "bo", "carla"], Sales: ["dev", "finn"] });
  });

  test("glob on group names: a pattern excludes every group it matches, whatever the source filters selected", async () => {
    world = await startWorld({ scenario: company() });
    world.writeConfig(`[sync]\nexclude_groups = ["S*", "all staff"]\n`);
    expect((await world.run(["sync"])).code).toBe(0);
    const view = tenant(world);
    expect(Object.keys(view.groups)).toEqual(["Engineering"]);
    expect(Object.keys(view.users).sort()).toEqual(["ana", "bo", "carla", "eve.contractor"]);
  });
});

describe("sync.only_groups", () => {
  /** The tenant's users come from elsewhere: ana under another tool's externalId, bo with none, carla by a userName in another case. */
  function provisionedElsewhere(): Scenario {
    const scenario = company();
    const scimUser = (id: string, name: string, externalId?: string) => ({
      id,
      userName: `${name}@example.com`,
      displayName: name,
      name: { givenName: name, familyName: "Elsewhere" },
      emails: [{ value: `${name}@example.com`, type: "work", primary: true }],
      ...(externalId === undefined ? {} : { externalId }),
    });
    return parseScenario({
      google: scenario.google,
      scim: { users: [scimUser("s-ana", "ana", "other-tool-1"), scimUser("s-bo", "bo"), scimUser("s-carla", "Carla")], groups: [] },
    });
  }

  test("groups get the members AWS already holds; no user is created, changed, deleted or recorded; leavers leave groups only", async () => {
    const scenario = provisionedElsewhere();
    world = await startWorld({ scenario });
    world.writeConfig(`[sync]\nonly_groups = true\n`);
    const before = structuredClone(world.emulators.scim.snapshot().users);
    const run = await world.run(["sync", "--gws-groups-filter", "email:eng*"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("sync.only_groups: 1 users in scope have no AWS user");
    const counts = world.emulators.scim.log.counts();
    for (const route of Object.keys(counts)) expect(route).not.toMatch(/^(POST|PUT|PATCH|DELETE) \/Users/);
    expect(world.emulators.scim.snapshot().users).toEqual(before);
    expect(tenant(world).groups).toEqual({ Engineering: ["Carla", "ana", "bo"] });
    const state = readStateFile(world.statePath);
    expect(Object.keys(state.users)).toEqual([]);
    expect(Object.keys(state.groups)).toEqual(["201"]);
    // Its members are no users of the state: the file holds them as source ids, and reads them back.
    expect(state.groups["201"]!.memberSourceIds).toHaveLength(3);

    // Nothing changed: a second run writes nothing (it reads the tenant: the state holds no users).
    world.emulators.scim.log.clear();
    expect((await world.run(["sync", "--gws-groups-filter", "email:eng*"])).code).toBe(0);
    expect(world.emulators.scim.log.writes()).toBe(0);

    // bo leaves the group in Google: he leaves the AWS group, and his AWS user stays as it was.
    const eng = scenario.google.groups.find((g) => g.id === "201")!;
    eng.members = eng.members.filter((m) => m.email !== "bo@example.com");
    expect((await world.run(["sync", "--gws-groups-filter", "email:eng*", "--sync-delete-unmanaged"])).code).toBe(0);
    expect(tenant(world).groups.Engineering).toEqual(["Carla", "ana"]);
    expect(world.emulators.scim.snapshot().users).toEqual(before);
  });
});

describe("a scope change goes through the guardrails", () => {
  test("narrowing gws.users_filter so that 6 of 7 users would go is refused (exit 3), nothing written; plan shows it", async () => {
    world = await startWorld({ scenario: company() });
    world.writeConfig(`[sync]\nmethod = "users"\nmax_deletes = "2"\n`);
    expect((await world.run(["sync", ...filters("orgUnitPath='/'")])).code).toBe(0);
    expect(Object.keys(tenant(world).users)).toHaveLength(7);
    const stateBefore = readFileSync(world.statePath);

    world.emulators.scim.log.clear();
    const refused = await world.run(["sync", ...filters("email:dev*")]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("SAFETY_REFUSED");
    expect(refused.stderr).toContain("delete or deactivate 6 users of the 7 it manages");
    expect(world.emulators.scim.log.writes()).toBe(0);
    expect(readFileSync(world.statePath).equals(stateBefore)).toBe(true);

    const planned = await world.run(["plan", ...filters("email:dev*")]);
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain("Guardrails: REFUSED");
  });
});

describe.skipIf(slapdUnavailable() !== undefined)("an LDAP source (slapd) shares the scope stage", () => {
  test('sync.method = "users" syncs every user ldap.user_filter selects, in a group or not; exclude_users and exclude_groups apply as with Google', async () => {
    world = await startWorld({ scenario: company() }, {}, {});
    world.writeConfig(`[sync]\nmethod = "users"\nexclude_users = ["*contractor*"]\nexclude_groups = ["sales"]\n`);
    const run = await world.run(["sync"]);
    expect(run.code).toBe(0);
    const view = tenant(world);
    // gia is in no group but All Staff, dev and finn in none left once Sales is excluded: all synced under "users".
    expect(view.users).toEqual({ ana: true, bo: true, carla: true, dev: true, finn: false, gia: true });
    expect(view.groups).toEqual({ Engineering: ["ana", "bo", "carla"], "All Staff": ["ana", "bo", "carla", "dev", "finn", "gia"] });

    // Back to "groups" with All Staff excluded too: only the engineers stay; the others leave as leavers do.
    world.writeConfig(`[sync]\nexclude_users = ["*contractor*"]\nexclude_groups = ["sales", "All*"]\n`);
    expect((await world.run(["sync"])).code).toBe(0);
    expect(tenant(world)).toEqual({ users: { ana: true, bo: true, carla: true }, groups: { Engineering: ["ana", "bo", "carla"] } });
  });
});
