/**
 * @module End-to-end: the [mapping] table through the real CLI against the emulators: a custom-schema
 * userName (read with projection=custom only when the mapping needs it, at no extra request), a
 * template, a fallback, an invalid expression stopped before any request, and a mapping change
 * applied as PATCHes in place (LDAP too, where slapd is installed).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { parseScenario, type Scenario } from "../emulators/scenario.ts";
import { slapdUnavailable } from "../support/slapd.ts";
import { startWorld, type World } from "../support/harness.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/** Three people in one group: two with an HR custom schema (a login, an employee id, one a work mail), one without; ana manages bo. */
function hrScenario(): Scenario {
  const people = [
    { id: "101", primaryEmail: "ana@example.com", name: { givenName: "Ana", familyName: "Lima" }, customSchemas: { HR: { login: "alima", employeeId: "1001", workMail: "ana.lima@corp.example" }, Other: { x: "y" } } },
    {
      id: "102",
      primaryEmail: "bo@example.com",
      name: { givenName: "Bo", familyName: "Chen" },
      customSchemas: { HR: { login: "bchen", employeeId: 1002 } }, // an int64 custom field: a JSON number
      relations: [{ type: "manager", value: "ana@example.com" }],
    },
    { id: "103", primaryEmail: "cy@example.com", name: { givenName: "Cy", familyName: "Ode" }, externalIds: [{ type: "organization", value: "E-3" }] },
  ];
  return parseScenario({
    google: {
      domain: "example.com",
      customerId: "C1",
      adminEmail: "admin@example.com",
      users: people,
      groups: [{ id: "201", email: "aws@example.com", name: "AWS", members: people.map((p) => ({ email: p.primaryEmail })) }],
    },
  });
}

const MAPPING = `[mapping]
userName = ["customSchemas.HR.login", "primaryEmail"]
displayName = "{name.familyName}, {name.givenName}"
employeeNumber = ["customSchemas.HR.employeeId", "externalIds[type=organization].value"]
userType = "'Employee'"
email = ["customSchemas.HR.workMail", "primaryEmail"]
`;

/** The users.list and users.get requests Google received, as their query parameters. */
function userReads(w: World): URLSearchParams[] {
  return w.emulators.google.log.entries.filter((e) => e.route === "users.list" || e.route === "users.get").map((e) => new URL(e.url, "http://x").searchParams);
}

const byExternalId = (w: World) => new Map(w.emulators.scim.snapshot().users.map((u) => [String(u.externalId), u as Record<string, unknown>]));

describe("[mapping] with a Google source", () => {
  test("a custom-schema userName and email with fallbacks, a template, a literal, the manager still resolved: read with customFieldMask=HR at no extra request", async () => {
    world = await startWorld({ scenario: hrScenario() });
    expect((await world.run(["plan"])).code).toBe(0);
    const plain = world.emulators.google.log.total();
    expect(userReads(world).every((params) => !params.has("projection") && !params.has("customFieldMask"))).toBe(true);

    world.writeConfig(MAPPING);
    world.emulators.google.log.clear();
    const run = await world.run(["sync"]);
    expect(run.code).toBe(0);
    // The same requests as without the mapping; the user reads name the one schema the mapping reads.
    expect(world.emulators.google.log.total()).toBe(plain);
    const reads = userReads(world);
    expect(reads.length).toBeGreaterThan(0);
    for (const params of reads) {
      expect(params.get("projection")).toBe("custom");
      expect(params.get("customFieldMask")).toBe("HR");
      expect(params.get("fields")).toContain("customSchemas");
    }
    const users = byExternalId(world);
    expect([...users.values()].map((u) => u.userName).sort()).toEqual(["alima", "bchen", "cy@example.com"]);
    expect(users.get("101")!.displayName).toBe("Lima, Ana");
    expect(users.get("101")!.userType).toBe("Employee");
    expect((users.get("101")!.emails as { value: string }[])[0]!.value).toBe("ana.lima@corp.example");
    expect((users.get("102")!.emails as { value: string }[])[0]!.value).toBe("bo@example.com");
    expect(users.get("101")![ENTERPRISE]).toMatchObject({ employeeNumber: "1001" });
    expect(users.get("102")![ENTERPRISE]).toMatchObject({ employeeNumber: "1002" });
    // Google names the manager by primary email, whatever email the mapping sends AWS.
    expect(users.get("102")![ENTERPRISE]).toMatchObject({ manager: { value: users.get("101")!.id } });
    expect(users.get("103")![ENTERPRISE]).toMatchObject({ employeeNumber: "E-3" });
  });

  test("gws.users_filter's listings (sync.method users and groups) and sync --user ask for the same schemas", async () => {
    world = await startWorld({ scenario: hrScenario() });
    for (const method of ["users", "groups"]) {
      world.writeConfig(`${MAPPING}\n[sync]\nmethod = "${method}"\n`);
      const { readFileSync, writeFileSync } = await import("node:fs");
      writeFileSync(world.configPath, readFileSync(world.configPath, "utf8").replace("[gws]\n", `[gws]\nusers_filter = ["email:ana*", "email:bo*"]\n`));
      world.emulators.google.log.clear();
      const run = await world.run(method === "users" ? ["sync"] : ["sync", "--user", "bo@example.com"]);
      expect(run.code).toBe(0);
      const reads = userReads(world);
      expect(reads.some((params) => params.has("query"))).toBe(true);
      // Every user read but a manager's lookup by email (sync --user: fields=id, nothing to map).
      for (const params of reads.filter((p) => p.get("fields") !== "id")) expect([params.get("projection"), params.get("customFieldMask")]).toEqual(["custom", "HR"]);
    }
    expect([...byExternalId(world).values()].map((u) => u.userName).sort()).toEqual(["alima", "bchen"]);
  });

  test("users.get, for the few members past the first users.list page, asks for the same schemas", async () => {
    // 520 users (500 a page): the group's second member sorts onto page 2, so it is fetched with users.get.
    const people = Array.from({ length: 520 }, (_, i) => ({
      id: `1${String(i).padStart(5, "0")}`,
      primaryEmail: `user${String(i).padStart(3, "0")}@example.com`,
      name: { givenName: `G${i}`, familyName: `F${i}` },
      customSchemas: { HR: { login: `login${i}` } },
    }));
    const members = [people[0]!, people[510]!].map((p) => ({ email: p.primaryEmail }));
    world = await startWorld({
      scenario: parseScenario({ google: { domain: "example.com", customerId: "C1", adminEmail: "admin@example.com", users: people, groups: [{ id: "201", email: "aws@example.com", name: "AWS", members }] } }),
    });
    world.writeConfig('[mapping]\nuserName = "customSchemas.HR.login"\n');
    expect((await world.run(["sync"])).code).toBe(0);
    expect(world.emulators.google.log.counts()).toMatchObject({ "GET users.list": 1, "GET users.get": 1 });
    for (const params of userReads(world)) expect([params.get("projection"), params.get("customFieldMask")]).toEqual(["custom", "HR"]);
    expect(world.emulators.scim.snapshot().users.map((u) => u.userName).sort()).toEqual(["login0", "login510"]);
  });

  test("an invalid expression stops with exit 2 naming the key and the position, before any request", async () => {
    world = await startWorld({ scenario: hrScenario() });
    world.writeConfig('[mapping]\ndepartment = "organizations[primary.department"\n');
    const run = await world.run(["sync"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('[mapping] department in ');
    expect(run.stderr).toContain('unexpected "." at position 22; expected "=" or "]"');
    expect(world.emulators.google.log.total()).toBe(0);
    expect(world.emulators.scim.log.total()).toBe(0);

    // The same from the environment, and a mapping sync.user_fields would never write.
    world.writeConfig('[sync]\nuser_fields = ["title"]\n');
    const env = await world.run(["plan"], { env: { IDPSCIM_MAPPING_EMPLOYEENUMBER: "customSchemas.HR.employeeId" } });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("mapping.employeeNumber (IDPSCIM_MAPPING_EMPLOYEENUMBER) is set, but sync.user_fields");
    expect(world.emulators.google.log.total()).toBe(0);
  });

  test("a mapping change: plan shows an update of each affected user; sync PATCHes them in place, userName included", async () => {
    world = await startWorld({ scenario: hrScenario() });
    expect((await world.run(["sync"])).code).toBe(0);
    const idsBefore = new Map([...byExternalId(world)].map(([externalId, u]) => [externalId, u.id]));

    world.writeConfig('[mapping]\nuserName = ["customSchemas.HR.login", "primaryEmail"]\n');
    world.emulators.scim.log.clear();
    const plan = await world.run(["plan", "--output", "json"]);
    expect(plan.code).toBe(0);
    const planned = JSON.parse(plan.stdout);
    expect(planned.summary.updateUser).toBe(2); // ana and bo; cy keeps its email as userName
    expect(planned.summary.createUser + planned.summary.deleteUser).toBe(0);
    expect(world.emulators.scim.log.writes()).toBe(0);

    const run = await world.run(["sync"]);
    expect(run.code).toBe(0);
    const counts = world.emulators.scim.log.counts();
    expect(counts["PATCH /Users/{id}"]).toBe(2);
    expect((counts["POST /Users"] ?? 0) + (counts["DELETE /Users/{id}"] ?? 0) + (counts["PUT /Users/{id}"] ?? 0)).toBe(0);
    const after = byExternalId(world);
    expect(after.get("101")!.userName).toBe("alima");
    expect(after.get("102")!.userName).toBe("bchen");
    for (const [externalId, id] of idsBefore) expect(after.get(externalId)!.id).toBe(id);

    // Settled: the next run changes nothing.
    world.emulators.scim.log.clear();
    expect((await world.run(["sync"])).code).toBe(0);
    expect(world.emulators.scim.log.writes()).toBe(0);
  });
});

const unavailable = slapdUnavailable();

describe.skipIf(unavailable !== undefined)("[mapping] with an LDAP source", () => {
  test("the same language over LDAP attributes: a template and an attribute as employeeNumber, applied in place", async () => {
    world = await startWorld({ scenario: hrScenario() }, {}, {});
    expect((await world.run(["sync"])).code).toBe(0);
    const before = world.emulators.scim.snapshot().users.map((u) => u.id).sort();

    world.writeConfig('[mapping]\ndisplayName = "{sn}, {givenName}"\nemployeeNumber = ["employeeNumber", "\'none\'"]\n');
    world.emulators.scim.log.clear();
    expect((await world.run(["sync"])).code).toBe(0);
    const users = world.emulators.scim.snapshot().users as Record<string, unknown>[];
    expect(users.map((u) => u.id).sort()).toEqual(before);
    const ana = users.find((u) => u.userName === "ana@example.com")!;
    expect(ana.displayName).toBe("Lima, Ana");
    expect(ana[ENTERPRISE]).toMatchObject({ employeeNumber: "none" });
    expect(users.find((u) => u.userName === "cy@example.com")![ENTERPRISE]).toMatchObject({ employeeNumber: "E-3" });
    expect(world.emulators.scim.log.counts()["POST /Users"] ?? 0).toBe(0);
  });
});
