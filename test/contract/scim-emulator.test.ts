/** @module Contract tests of the AWS SCIM emulator over real HTTP: every AWS quirk of docs/aws-scim.md (§13: what the emulator reproduces). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadScenarioFile, parseScenario, type Scenario } from "../emulators/scenario.ts";
import { AWS_CAPTURES, EXAMPLE_SCENARIO } from "../support/paths.ts";
import { startScimEmulator, type ScimEmulator, type ScimEmulatorOptions } from "../emulators/scim/server.ts";

const CAPTURES = AWS_CAPTURES;
const EXAMPLE_SMALL = EXAMPLE_SCENARIO;
const ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const UNPARSABLE = "Request is unparsable, syntactically incorrect, or violates schema.";
const DUPLICATE = "Refused to create a new, duplicate resource.";
const RESOURCE_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const ERROR_TS = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed body; `any` because the tests read arbitrary AWS-shaped JSON. */
  json: any;
}

interface CallOptions {
  token?: string | null;
  url?: string;
}

async function call(e: ScimEmulator, method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  const token = opts.token === undefined ? e.token : opts.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const res = await fetch((opts.url ?? e.url) + path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const q = (filter: string) => `filter=${encodeURIComponent(filter)}`;
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const members = (...ids: string[]) => ids.map((value) => ({ value }));

function expectAwsError(a: Answer, status: number, detail?: string) {
  expect(a.status).toBe(status);
  expect(a.headers.get("content-type")).toContain("application/json");
  expect(a.json.schema).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
  expect(a.json.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
  expect(a.json.status).toBe(String(status));
  expect(typeof a.json.detail).toBe("string");
  expect(a.json.exceptionRequestId).toBe(a.headers.get("x-amzn-requestid"));
  expect(a.json.timeStamp).toMatch(ERROR_TS);
  if (detail !== undefined) expect(a.json.detail).toBe(detail);
}

function newUser(n: string | number, extra: Record<string, unknown> = {}) {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName: `user${n}@example.com`,
    displayName: `User ${n}`,
    name: { givenName: "User", familyName: String(n) },
    emails: [{ value: `user${n}@example.com`, type: "work", primary: true }],
    ...extra,
  };
}

const seedUser = (id: string, n: string, extra: Record<string, unknown> = {}) => ({
  id,
  userName: `${n}@example.com`,
  displayName: n,
  name: { givenName: n, familyName: "Test" },
  emails: [{ value: `${n}@example.com`, type: "work", primary: true }],
  ...extra,
});

/** A small tenant: four users (bo's manager is ana), two groups. */
const SMALL: Scenario = parseScenario({
  scim: {
    users: [
      seedUser("9067729b3d-u1", "ana", { externalId: "ext-ana" }),
      seedUser("9067729b3d-u2", "bo", { externalId: "ext-bo", [ENT]: { department: "Eng", manager: { value: "9067729b3d-u1" } } }),
      seedUser("9067729b3d-u3", "carla"),
      seedUser("9067729b3d-u4", "dev"),
    ],
    groups: [
      { id: "9067729b3d-g1", displayName: "Admins", externalId: "ext-admins", members: ["9067729b3d-u1", "9067729b3d-u2"] },
      { id: "9067729b3d-g2", displayName: "Readers", members: ["9067729b3d-u3"] },
    ],
  },
});

function useEmulator(options: Partial<ScimEmulatorOptions> = {}, scenario: Scenario = SMALL) {
  const ref = {} as { e: ScimEmulator };
  beforeAll(async () => {
    ref.e = await startScimEmulator({ scenario, ...options });
  });
  afterAll(async () => {
    await ref.e.close();
  });
  return ref;
}

// ------------------------------------------------------------------------------------------

describe("transport and authentication (§1, §2)", () => {
  const ref = useEmulator({ token: "secret-token", tenantId: "tenant-1" });

  test("url has the /<tenant>/scim/v2 prefix and no trailing slash", () => {
    expect(ref.e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/tenant-1\/scim\/v2$/);
    expect(ref.e.token).toBe("secret-token");
  });

  test("a random 40-char token is the default", async () => {
    const e = await startScimEmulator({ scenario: SMALL });
    try {
      expect(e.token).toHaveLength(40);
      expect((await call(e, "GET", "/Users")).status).toBe(200);
    } finally {
      await e.close();
    }
  });

  test("401 UnauthorizedException without a token", async () => {
    expectAwsError(await call(ref.e, "GET", "/Users", undefined, { token: null }), 401);
  });

  test("401 with a wrong token", async () => {
    expectAwsError(await call(ref.e, "GET", "/Users", undefined, { token: "nope" }), 401);
  });

  test("401 with the right token but a wrong tenant id in the path", async () => {
    const url = ref.e.url.replace("/tenant-1/", "/tenant-2/");
    expectAwsError(await call(ref.e, "GET", "/Users", undefined, { url }), 401);
  });

  test("responses are application/json with x-amzn-RequestId", async () => {
    const a = await call(ref.e, "GET", "/Users/9067729b3d-u1");
    expect(a.status).toBe(200);
    expect(a.headers.get("content-type")).toBe("application/json");
    expect(a.headers.get("x-amzn-requestid")).toMatch(/^[0-9a-f-]{36}$/);
  });

  test.each([
    ["PUT", "/Groups/9067729b3d-g1", { displayName: "x" }],
    ["GET", "/Me", undefined],
    ["POST", "/Bulk", { Operations: [] }],
    ["POST", "/.search", {}],
    ["POST", "/Users/.search", {}],
    ["GET", "/Nope", undefined],
    ["PUT", "/Users", {}],
    ["POST", "/Groups/9067729b3d-g1", {}],
  ])("%s %s → 400 ValidationException", async (method, path, body) => {
    expectAwsError(await call(ref.e, method, path, body), 400);
  });

  test("ServiceProviderConfig has the captured shape with filter.maxResults 100", async () => {
    const a = await call(ref.e, "GET", "/ServiceProviderConfig");
    const capture = JSON.parse(readFileSync(join(CAPTURES, "ServiceProviderConfig.json"), "utf8"));
    expect(a.status).toBe(200);
    expect(Object.keys(a.json).sort()).toEqual(Object.keys(capture).sort());
    expect(a.json.filter).toEqual({ supported: true, maxResults: 100 });
    expect(a.json.bulk.supported).toBe(false);
    expect(a.json.sort.supported).toBe(false);
    expect(a.json.etag.supported).toBe(false);
    expect(a.json.authenticationSchemes[0].type).toBe("oauthbearertoken");
  });

  test("Schemas, Schemas/{urn} and ResourceTypes answer", async () => {
    const all = await call(ref.e, "GET", "/Schemas");
    expect(all.status).toBe(200);
    expect(all.json.Resources.map((s: { id: string }) => s.id)).toContain("urn:ietf:params:scim:schemas:core:2.0:User");
    const one = await call(ref.e, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group");
    expect(one.status).toBe(200);
    expect(one.json.id).toBe("urn:ietf:params:scim:schemas:core:2.0:Group");
    const types = await call(ref.e, "GET", "/ResourceTypes");
    expect(types.json.Resources.map((t: { id: string }) => t.id).sort()).toEqual(["Group", "User"]);
  });

  test("the request log records every request with its route template, rejected ones included", async () => {
    const e = await startScimEmulator({ scenario: SMALL });
    try {
      await call(e, "GET", "/Users/9067729b3d-u1");
      await call(e, "GET", "/Users", undefined, { token: "bad" });
      await call(e, "PATCH", "/Groups/9067729b3d-g1", patch({ op: "replace", path: "displayName", value: "Admins2" }));
      expect(e.log.entries.map((x) => [x.method, x.route, x.status])).toEqual([
        ["GET", "/Users/{id}", 200],
        ["GET", "/Users", 401],
        ["PATCH", "/Groups/{id}", 204],
      ]);
    } finally {
      await e.close();
    }
  });

  test("malformed JSON → 400", async () => {
    expectAwsError(await call(ref.e, "POST", "/Users", "{not json"), 400, UNPARSABLE);
  });
});

// ------------------------------------------------------------------------------------------

describe("filters (§3)", () => {
  const ref = useEmulator();
  const ids = async (path: string) => {
    const a = await call(ref.e, "GET", path);
    expect(a.status).toBe(200);
    return a.json.Resources.map((r: { id: string }) => r.id);
  };

  test("Users: userName eq, matched case-insensitively", async () => {
    expect(await ids(`/Users?${q('userName eq "ana@example.com"')}`)).toEqual(["9067729b3d-u1"]);
    expect(await ids(`/Users?${q('userName eq "ANA@Example.com"')}`)).toEqual(["9067729b3d-u1"]);
    expect(await ids(`/Users?${q('userName eq "nobody@example.com"')}`)).toEqual([]);
  });

  test("Users: externalId eq (exact)", async () => {
    expect(await ids(`/Users?${q('externalId eq "ext-bo"')}`)).toEqual(["9067729b3d-u2"]);
    expect(await ids(`/Users?${q('externalId eq "EXT-BO"')}`)).toEqual([]);
  });

  test("Users: groups.value eq lists a group's members", async () => {
    expect((await ids(`/Users?${q('groups.value eq "9067729b3d-g1"')}`)).sort()).toEqual(["9067729b3d-u1", "9067729b3d-u2"]);
  });

  test("Users: groups.value naming an unknown group → 404 (chosen)", async () => {
    expectAwsError(await call(ref.e, "GET", `/Users?${q('groups.value eq "nope"')}`), 404);
  });

  test("Users: id eq … and manager eq …, in either order", async () => {
    expect(await ids(`/Users?${q('id eq "9067729b3d-u2" and manager eq "9067729b3d-u1"')}`)).toEqual(["9067729b3d-u2"]);
    expect(await ids(`/Users?${q('manager eq "9067729b3d-u1" and id eq "9067729b3d-u2"')}`)).toEqual(["9067729b3d-u2"]);
    expect(await ids(`/Users?${q('id eq "9067729b3d-u3" and manager eq "9067729b3d-u1"')}`)).toEqual([]);
  });

  test("Users: id eq alone", async () => {
    expect(await ids(`/Users?${q('id eq "9067729b3d-u3"')}`)).toEqual(["9067729b3d-u3"]);
  });

  test("Groups: displayName eq", async () => {
    expect(await ids(`/Groups?${q('displayName eq "Readers"')}`)).toEqual(["9067729b3d-g2"]);
  });

  test("Groups: externalId eq", async () => {
    expect(await ids(`/Groups?${q('externalId eq "ext-admins"')}`)).toEqual(["9067729b3d-g1"]);
  });

  test("Groups: members.value eq lists a user's groups", async () => {
    expect(await ids(`/Groups?${q('members.value eq "9067729b3d-u1"')}`)).toEqual(["9067729b3d-g1"]);
    expect(await ids(`/Groups?${q('members.value eq "9067729b3d-u4"')}`)).toEqual([]);
  });

  test("Groups: id eq … and members eq … (and the `member` spelling) checks membership", async () => {
    expect(await ids(`/Groups?${q('id eq "9067729b3d-g1" and members eq "9067729b3d-u2"')}`)).toEqual(["9067729b3d-g1"]);
    expect(await ids(`/Groups?${q('members eq "9067729b3d-u2" and id eq "9067729b3d-g1"')}`)).toEqual(["9067729b3d-g1"]);
    expect(await ids(`/Groups?${q('id eq "9067729b3d-g1" and member eq "9067729b3d-u2"')}`)).toEqual(["9067729b3d-g1"]);
    // Not a member: an empty ListResponse.
    expect(await ids(`/Groups?${q('id eq "9067729b3d-g1" and members eq "9067729b3d-u3"')}`)).toEqual([]);
  });

  test("Groups: id eq alone", async () => {
    expect(await ids(`/Groups?${q('id eq "9067729b3d-g2"')}`)).toEqual(["9067729b3d-g2"]);
  });

  test("Groups: a members filter naming a user that does not exist → 404 ResourceNotFoundException", async () => {
    expectAwsError(await call(ref.e, "GET", `/Groups?${q('members.value eq "no-such-user"')}`), 404);
    expectAwsError(await call(ref.e, "GET", `/Groups?${q('id eq "9067729b3d-g1" and members eq "no-such-user"')}`), 404);
  });

  const unsupported = [
    'userName co "ana"',
    'userName sw "ana"',
    'userName ew "ana"',
    'userName ne "ana@example.com"',
    "userName pr",
    'userName gt "a"',
    'userName eq "ana@example.com" or userName eq "bo@example.com"',
    '(userName eq "ana@example.com")',
    'not (userName eq "ana@example.com")',
    'emails[type eq "work"]',
    'emails.value eq "ana@example.com"',
    'displayName eq "ana"',
    'userName eq ana@example.com',
    'id eq "9067729b3d-u1" and id eq "9067729b3d-u2"',
    'id eq "a" and manager eq "b" and userName eq "c"',
    'userName eq "a" and externalId eq "b"',
    "userName eq",
  ];
  test.each(unsupported)("Users filter %s → 400 ValidationException", async (filter) => {
    expectAwsError(await call(ref.e, "GET", `/Users?${q(filter)}`), 400);
  });

  test.each([
    'displayName co "Adm"',
    'displayName sw "Adm"',
    'displayName eq "Admins" or displayName eq "Readers"',
    'displayName pr',
    'displayName ne "Admins"',
    '(displayName eq "Admins")',
    'userName eq "ana@example.com"',
    'members.value eq "9067729b3d-u1" and displayName eq "Admins"',
  ])("Groups filter %s → 400 ValidationException", async (filter) => {
    expectAwsError(await call(ref.e, "GET", `/Groups?${q(filter)}`), 400);
  });

  test("sortBy / attributes are rejected (unsupported, §2)", async () => {
    expectAwsError(await call(ref.e, "GET", "/Users?sortBy=userName"), 400);
    expectAwsError(await call(ref.e, "GET", "/Users?attributes=userName"), 400);
  });
});

// ------------------------------------------------------------------------------------------

describe("pagination (§4)", () => {
  const many = parseScenario({
    scim: {
      users: Array.from({ length: 250 }, (_, i) => seedUser(`u-${String(i).padStart(3, "0")}`, `p${i}`, { title: i % 2 ? "odd" : "even" })),
      groups: Array.from({ length: 3 }, (_, i) => ({ id: `g-${i}`, displayName: `G${i}`, members: [] })),
    },
  });
  const ref = useEmulator({}, many);

  async function walk(firstQuery: string, nextQuery: (cursor: string) => string) {
    const pages: Answer[] = [];
    let a = await call(ref.e, "GET", `/Users?${firstQuery}`);
    pages.push(a);
    while (a.status === 200 && a.json.nextCursor !== undefined) {
      a = await call(ref.e, "GET", `/Users?${nextQuery(encodeURIComponent(a.json.nextCursor))}`);
      pages.push(a);
      if (pages.length > 10) break;
    }
    return pages;
  }

  test("250 users with count=100 → 3 pages, nextCursor absent on the last, no totalResults", async () => {
    const pages = await walk("cursor&count=100", (c) => `cursor=${c}&count=100`);
    expect(pages.map((p) => p.status)).toEqual([200, 200, 200]);
    expect(pages.map((p) => p.json.itemsPerPage)).toEqual([100, 100, 50]);
    expect(pages.map((p) => p.json.Resources.length)).toEqual([100, 100, 50]);
    for (const p of pages) {
      expect(p.json.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]);
      expect(p.json.totalResults).toBeUndefined();
      expect(p.json.startIndex).toBeUndefined();
    }
    expect(typeof pages[0]?.json.nextCursor).toBe("string");
    expect(pages[0]?.json.nextCursor).toMatch(/^[-a-zA-Z0-9+=/:_]+$/);
    expect("nextCursor" in (pages[2]?.json ?? {})).toBe(false);
    const ids = new Set(pages.flatMap((p) => p.json.Resources.map((r: { id: string }) => r.id)));
    expect(ids.size).toBe(250);
  });

  test("`?cursor` and `?cursor=` both start cursor mode; count defaults to 100", async () => {
    for (const first of ["cursor", "cursor="]) {
      const a = await call(ref.e, "GET", `/Users?${first}`);
      expect(a.status).toBe(200);
      expect(a.json.itemsPerPage).toBe(100);
      expect(a.json.totalResults).toBeUndefined();
      expect(typeof a.json.nextCursor).toBe("string");
    }
  });

  test("cursor pages honour the filter and repeat it on every page", async () => {
    const filter = q('userName eq "p7@example.com"');
    const a = await call(ref.e, "GET", `/Users?cursor&count=10&${filter}`);
    expect(a.json.Resources.map((r: { userName: string }) => r.userName)).toEqual(["p7@example.com"]);
    expect(a.json.nextCursor).toBeUndefined();
  });

  test("changing the filter between pages → 400", async () => {
    const a = await call(ref.e, "GET", `/Users?cursor&count=2&${q('groups.value eq "g-0"')}`);
    expect(a.status).toBe(200); // empty group: single empty page
    const first = await call(ref.e, "GET", "/Users?cursor&count=100");
    const cursor = encodeURIComponent(first.json.nextCursor);
    expectAwsError(await call(ref.e, "GET", `/Users?cursor=${cursor}&count=100&${q('userName eq "p1@example.com"')}`), 400);
    // The unchanged request still works afterwards.
    expect((await call(ref.e, "GET", `/Users?cursor=${cursor}&count=100`)).status).toBe(200);
  });

  test("dropping the filter on a continuation → 400", async () => {
    const filter = q('id eq "u-001"');
    const groupsFirst = await call(ref.e, "GET", `/Groups?cursor&count=1`);
    expect(groupsFirst.json.itemsPerPage).toBe(1);
    const cursor = encodeURIComponent(groupsFirst.json.nextCursor);
    expectAwsError(await call(ref.e, "GET", `/Groups?cursor=${cursor}&count=1&${filter.replace("id", "displayName")}`), 400);
  });

  test("a forged cursor, or one issued for another resource → 400", async () => {
    expectAwsError(await call(ref.e, "GET", "/Users?cursor=VGVzdFVzZXJDdXJzb3I"), 400);
    const groups = await call(ref.e, "GET", "/Groups?cursor&count=1");
    expectAwsError(await call(ref.e, "GET", `/Users?cursor=${encodeURIComponent(groups.json.nextCursor)}`), 400);
  });

  test.each(["0", "101", "-1", "abc", "1.5"])("count=%s → 400", async (count) => {
    expectAwsError(await call(ref.e, "GET", `/Users?cursor&count=${count}`), 400);
    expectAwsError(await call(ref.e, "GET", `/Users?count=${count}`), 400);
  });

  test("count may change between pages (only the filter is bound — a documented choice)", async () => {
    const first = await call(ref.e, "GET", "/Users?cursor&count=100");
    const second = await call(ref.e, "GET", `/Users?cursor=${encodeURIComponent(first.json.nextCursor)}&count=5`);
    expect(second.status).toBe(200);
    expect(second.json.itemsPerPage).toBe(5);
    expect(second.json.Resources[0].id).toBe("u-100");
  });

  test("a user deleted between pages does not make the walk skip others", async () => {
    const e = await startScimEmulator({ scenario: many });
    try {
      const first = await call(e, "GET", "/Users?cursor&count=10");
      const lastId = first.json.Resources[9].id;
      expect((await call(e, "DELETE", `/Users/${lastId}`)).status).toBe(204);
      const second = await call(e, "GET", `/Users?cursor=${encodeURIComponent(first.json.nextCursor)}&count=10`);
      expect(second.json.Resources[0].id).toBe("u-010");
    } finally {
      await e.close();
    }
  });

  test("legacy list (no cursor): one page capped at 100, totalResults = returned count, startIndex 1", async () => {
    const a = await call(ref.e, "GET", "/Users");
    expect(a.status).toBe(200);
    expect(a.json.Resources).toHaveLength(100);
    expect(a.json.totalResults).toBe(100);
    expect(a.json.itemsPerPage).toBe(100);
    expect(a.json.startIndex).toBe(1);
    expect(a.json.nextCursor).toBeUndefined();
  });

  test("legacy list with a smaller count is truncated; totalResults follows", async () => {
    const a = await call(ref.e, "GET", "/Users?count=7&startIndex=50");
    expect(a.json.Resources).toHaveLength(7);
    expect(a.json.totalResults).toBe(7);
    expect(a.json.startIndex).toBe(1); // startIndex is ignored, as it historically was
    expect(a.json.Resources[0].id).toBe("u-000");
  });

  test("legacyListCap 50 mimics older tenants", async () => {
    const e = await startScimEmulator({ scenario: many, legacyListCap: 50 });
    try {
      const a = await call(e, "GET", "/Users");
      expect(a.json.Resources).toHaveLength(50);
      expect(a.json.totalResults).toBe(50);
      // Cursor mode is not affected by the legacy cap.
      expect((await call(e, "GET", "/Users?cursor")).json.itemsPerPage).toBe(100);
    } finally {
      await e.close();
    }
  });
});

// ------------------------------------------------------------------------------------------

describe("groups (§6)", () => {
  const ref = useEmulator();
  const groupOf = (id: string) => ref.e.snapshot().groups.find((g) => g.id === id);
  const createGroup = async (displayName: string, extra: Record<string, unknown> = {}) => {
    const a = await call(ref.e, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName, ...extra });
    expect(a.status).toBe(201);
    return a.json.id as string;
  };

  test("GetGroup never carries members (no members key) although the group has members", async () => {
    const a = await call(ref.e, "GET", "/Groups/9067729b3d-g1");
    expect(a.status).toBe(200);
    expect("members" in a.json).toBe(false);
    expect(groupOf("9067729b3d-g1")?.members.length).toBe(2);
  });

  test("ListGroups carries \"members\": [] in both list modes", async () => {
    for (const path of ["/Groups", "/Groups?cursor"]) {
      const a = await call(ref.e, "GET", path);
      for (const g of a.json.Resources) expect(g.members).toEqual([]);
    }
  });

  test("CreateGroup → 201 with the group, members not echoed, stored", async () => {
    const a = await call(ref.e, "POST", "/Groups", { displayName: "Created", externalId: "ext-created", members: members("9067729b3d-u3", "9067729b3d-u4") });
    expect(a.status).toBe(201);
    expect(a.json.id).toMatch(/^[0-9a-f]{10}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(a.json.displayName).toBe("Created");
    expect(a.json.externalId).toBe("ext-created");
    expect(a.json.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:Group"]);
    expect(a.json.meta.resourceType).toBe("Group");
    expect(a.json.meta.created).toMatch(RESOURCE_TS);
    expect("members" in a.json).toBe(false);
    expect(groupOf(a.json.id)?.members.sort()).toEqual(["9067729b3d-u3", "9067729b3d-u4"]);
  });

  test("CreateGroup with 101 members → 400; 100 members fit", async () => {
    const e = await startScimEmulator({
      scenario: parseScenario({ scim: { users: Array.from({ length: 101 }, (_, i) => seedUser(`m${i}`, `m${i}`)) } }),
    });
    try {
      const ids = Array.from({ length: 101 }, (_, i) => `m${i}`);
      expectAwsError(await call(e, "POST", "/Groups", { displayName: "Big", members: members(...ids) }), 400);
      expect((await call(e, "POST", "/Groups", { displayName: "Big", members: members(...ids.slice(0, 100)) })).status).toBe(201);
    } finally {
      await e.close();
    }
  });

  test("CreateGroup naming a user that does not exist → 400 (chosen)", async () => {
    expectAwsError(await call(ref.e, "POST", "/Groups", { displayName: "Ghosts", members: members("ghost") }), 400);
  });

  test("CreateGroup without displayName → 400", async () => {
    expectAwsError(await call(ref.e, "POST", "/Groups", { externalId: "x" }), 400);
    expectAwsError(await call(ref.e, "POST", "/Groups", { displayName: "" }), 400);
  });

  test("CreateGroup with a duplicate displayName → 409 with the captured body shape", async () => {
    const a = await call(ref.e, "POST", "/Groups", { displayName: "Admins" });
    expectAwsError(a, 409, DUPLICATE);
    const capture = JSON.parse(readFileSync(join(CAPTURES, "CreateGroupResponse_Conflict.json"), "utf8"));
    expect(Object.keys(a.json).sort()).toEqual(Object.keys(capture).sort());
  });

  test("CreateGroup with a duplicate externalId → 409", async () => {
    expectAwsError(await call(ref.e, "POST", "/Groups", { displayName: "Other", externalId: "ext-admins" }), 409, DUPLICATE);
  });

  test("PatchGroup add/remove members → 204 with an empty body", async () => {
    const id = await createGroup("Patched");
    const a = await call(ref.e, "PATCH", `/Groups/${id}`, patch(
      { op: "add", path: "members", value: members("9067729b3d-u1", "9067729b3d-u2") },
    ));
    expect(a.status).toBe(204);
    expect(a.text).toBe("");
    expect(groupOf(id)?.members.sort()).toEqual(["9067729b3d-u1", "9067729b3d-u2"]);
    const b = await call(ref.e, "PATCH", `/Groups/${id}`, patch({ op: "remove", path: "members", value: members("9067729b3d-u1") }));
    expect(b.status).toBe(204);
    expect(b.text).toBe("");
    expect(groupOf(id)?.members).toEqual(["9067729b3d-u2"]);
  });

  test("PatchGroup with 101 member changes over all operations → 400 with the exact detail", async () => {
    const id = await createGroup("TooMany");
    const ids = Array.from({ length: 101 }, (_, i) => `x${i}`);
    const a = await call(ref.e, "PATCH", `/Groups/${id}`, patch(
      { op: "add", path: "members", value: members(...ids.slice(0, 60)) },
      { op: "remove", path: "members", value: members(...ids.slice(60)) },
    ));
    expectAwsError(a, 400, UNPARSABLE);
  });

  test("PatchGroup replace of members → 400 ValidationException", async () => {
    expectAwsError(await call(ref.e, "PATCH", "/Groups/9067729b3d-g2", patch({ op: "replace", path: "members", value: members("9067729b3d-u4") })), 400);
    expectAwsError(await call(ref.e, "PATCH", "/Groups/9067729b3d-g2", patch({ op: "replace", path: "members", value: [] })), 400);
    expect(groupOf("9067729b3d-g2")?.members).toEqual(["9067729b3d-u3"]);
  });

  test("PatchGroup remove-all (path members, no value) → 400", async () => {
    expectAwsError(await call(ref.e, "PATCH", "/Groups/9067729b3d-g2", patch({ op: "remove", path: "members" })), 400);
    expect(groupOf("9067729b3d-g2")?.members).toEqual(["9067729b3d-u3"]);
  });

  test("adding an existing member and removing a non-member are idempotent no-ops (204)", async () => {
    const a = await call(ref.e, "PATCH", "/Groups/9067729b3d-g2", patch(
      { op: "add", path: "members", value: members("9067729b3d-u3") },
      { op: "remove", path: "members", value: members("9067729b3d-u4") },
    ));
    expect(a.status).toBe(204);
    expect(groupOf("9067729b3d-g2")?.members).toEqual(["9067729b3d-u3"]);
  });

  test("PatchGroup add naming an unknown user → 404 (chosen; AWS NOT KNOWN), nothing changes", async () => {
    const a = await call(ref.e, "PATCH", "/Groups/9067729b3d-g2", patch({ op: "add", path: "members", value: members("9067729b3d-u4", "ghost") }));
    expectAwsError(a, 404);
    expect(groupOf("9067729b3d-g2")?.members).toEqual(["9067729b3d-u3"]);
  });

  test("PatchGroup rename: path displayName, and path-less replace {id, displayName}", async () => {
    const id = await createGroup("Before");
    expect((await call(ref.e, "PATCH", `/Groups/${id}`, patch({ op: "replace", path: "displayName", value: "After" }))).status).toBe(204);
    expect(groupOf(id)?.displayName).toBe("After");
    const b = await call(ref.e, "PATCH", `/Groups/${id}`, patch({ op: "replace", value: { id, displayName: "After2", externalId: "ext-after" } }));
    expect(b.status).toBe(204);
    expect(groupOf(id)).toMatchObject({ displayName: "After2", externalId: "ext-after" });
  });

  test("PatchGroup displayName colliding with another group → 409", async () => {
    expectAwsError(await call(ref.e, "PATCH", "/Groups/9067729b3d-g2", patch({ op: "replace", path: "displayName", value: "Admins" })), 409, DUPLICATE);
  });

  test("PatchGroup on other attributes, or without PatchOp schema → 400", async () => {
    expectAwsError(await call(ref.e, "PATCH", "/Groups/9067729b3d-g2", patch({ op: "replace", path: "description", value: "x" })), 400);
    expectAwsError(await call(ref.e, "PATCH", "/Groups/9067729b3d-g2", { Operations: [{ op: "replace", path: "displayName", value: "x" }] }), 400);
    expectAwsError(await call(ref.e, "PATCH", "/Groups/9067729b3d-g2", patch({ op: "remove", path: 'members[value eq "9067729b3d-u3"]' })), 400);
  });

  test("PatchGroup on an unknown group → 404", async () => {
    expectAwsError(await call(ref.e, "PATCH", "/Groups/nope", patch({ op: "replace", path: "displayName", value: "x" })), 404);
  });

  test("DeleteGroup → 204 with empty body, then 404", async () => {
    const id = await createGroup("Doomed");
    const a = await call(ref.e, "DELETE", `/Groups/${id}`);
    expect(a.status).toBe(204);
    expect(a.text).toBe("");
    expectAwsError(await call(ref.e, "DELETE", `/Groups/${id}`), 404);
    expectAwsError(await call(ref.e, "GET", `/Groups/${id}`), 404);
  });
});

// ------------------------------------------------------------------------------------------

describe("users (§5, §7)", () => {
  const ref = useEmulator();
  const userOf = (id: string) => ref.e.snapshot().users.find((u) => u.id === id);
  let n = 0;
  const create = async (extra: Record<string, unknown> = {}) => {
    const a = await call(ref.e, "POST", "/Users", newUser(`c${++n}`, extra));
    expect(a.status).toBe(201);
    return a.json;
  };

  test("CreateUser → 201 with the full user, meta at second precision, active defaulting to true", async () => {
    const a = await call(ref.e, "POST", "/Users", newUser("full", { externalId: "ext-full", title: "Eng" }));
    expect(a.status).toBe(201);
    expect(a.json).toMatchObject({
      externalId: "ext-full",
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName: "userfull@example.com",
      displayName: "User full",
      name: { givenName: "User", familyName: "full" },
      active: true,
      title: "Eng",
      emails: [{ value: "userfull@example.com", type: "work", primary: true }],
      meta: { resourceType: "User" },
    });
    expect(a.json.id).toMatch(/^[0-9a-f]{10}-[0-9a-f-]{36}$/);
    expect(a.json.meta.created).toMatch(RESOURCE_TS);
    expect(a.json.meta.lastModified).toMatch(RESOURCE_TS);
    expect(Object.keys(a.json.meta).sort()).toEqual(["created", "lastModified", "resourceType"]);
    const get = await call(ref.e, "GET", `/Users/${a.json.id}`);
    expect(get.status).toBe(200);
    expect(get.json).toEqual(a.json);
  });

  test("enterprise extension: URN added to schemas only with data; manager displayName not echoed", async () => {
    const a = await call(ref.e, "POST", "/Users", newUser("ent", {
      [ENT]: { employeeNumber: "7", costCenter: "CC", organization: "Org", division: "Div", department: "Dept", manager: { value: "9067729b3d-u1", displayName: "Ana" } },
    }));
    expect(a.status).toBe(201);
    expect(a.json.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User", ENT]);
    expect(a.json[ENT]).toEqual({ employeeNumber: "7", costCenter: "CC", organization: "Org", division: "Div", department: "Dept", manager: { value: "9067729b3d-u1" } });
    const plain = await create();
    expect(plain.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    expect(plain[ENT]).toBeUndefined();
  });

  test("a manager that is not an existing user → 400 (chosen)", async () => {
    expectAwsError(await call(ref.e, "POST", "/Users", newUser("badmgr", { [ENT]: { manager: { value: "ghost" } } })), 400);
  });

  test("409 on a duplicate userName (case-insensitive), with the captured body shape", async () => {
    const a = await call(ref.e, "POST", "/Users", newUser("dup1", { userName: "ANA@example.com" }));
    expectAwsError(a, 409, DUPLICATE);
    const capture = JSON.parse(readFileSync(join(CAPTURES, "CreateUserResponse_Conflict.json"), "utf8"));
    expect(Object.keys(a.json).sort()).toEqual(Object.keys(capture).sort());
    expect(typeof a.json.status).toBe("string");
  });

  test("409 on a duplicate primary email (case-insensitive)", async () => {
    const a = await call(ref.e, "POST", "/Users", newUser("dup2", { emails: [{ value: "Bo@Example.com", type: "work", primary: true }] }));
    expectAwsError(a, 409, DUPLICATE);
  });

  test("409 on a duplicate externalId", async () => {
    expectAwsError(await call(ref.e, "POST", "/Users", newUser("dup3", { externalId: "ext-ana" })), 409, DUPLICATE);
  });

  test("409 also on PUT and PATCH", async () => {
    const u = await create();
    expectAwsError(await call(ref.e, "PUT", `/Users/${u.id}`, newUser("x", { userName: "carla@example.com" })), 409, DUPLICATE);
    expectAwsError(await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "replace", path: "externalId", value: "ext-bo" })), 409, DUPLICATE);
    expectAwsError(await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "replace", path: "emails", value: [{ value: "dev@example.com", primary: true }] })), 409, DUPLICATE);
  });

  test("more than one email → 400 \"List attribute `emails` exceeds allowed limit of 1\"", async () => {
    const a = await call(ref.e, "POST", "/Users", newUser("multi", {
      emails: [{ value: "a@example.com", primary: true }, { value: "b@example.com", primary: false }],
    }));
    expectAwsError(a, 400, "List attribute `emails` exceeds allowed limit of 1");
  });

  test.each(["addresses", "phoneNumbers", "roles"])("more than one %s → 400 with the list detail", async (list) => {
    const values = list === "addresses" ? [{ locality: "A" }, { locality: "B" }] : [{ value: "1" }, { value: "2" }];
    expectAwsError(await call(ref.e, "POST", "/Users", newUser(`multi-${list}`, { [list]: values })), 400, `List attribute \`${list}\` exceeds allowed limit of 1`);
  });

  test("the single email must be primary", async () => {
    expectAwsError(await call(ref.e, "POST", "/Users", newUser("nonprimary", { emails: [{ value: "np@example.com", type: "work" }] })), 400);
  });

  test("an empty emails list is accepted (tenants hold users without email)", async () => {
    const u = await create({ emails: [] });
    expect(u.emails).toEqual([]);
  });

  test.each([
    ["missing name.givenName", { name: { familyName: "X" } }],
    ["empty name.givenName", { name: { givenName: "", familyName: "X" } }],
    ["missing name.familyName", { name: { givenName: "X" } }],
    ["missing name", { name: undefined }],
    ["missing displayName", { displayName: undefined }],
    ["missing userName", { userName: undefined }],
    ["userName longer than 128", { userName: `${"a".repeat(129)}` }],
    ["reserved userName Administrator", { userName: "Administrator" }],
    ["reserved userName AWSAdministrators", { userName: "AWSAdministrators" }],
    ["active not a boolean", { active: 3 }],
    ["an email with `display`", { emails: [{ value: "d@example.com", primary: true, display: "D" }] }],
    ["an unknown attribute", { favouriteColour: "blue" }],
  ])("CreateUser with %s → 400", async (_label, extra) => {
    expectAwsError(await call(ref.e, "POST", "/Users", newUser(`bad${++n}`, extra)), 400);
  });

  test("missing givenName gives the AWS validation wording", async () => {
    const a = await call(ref.e, "POST", "/Users", newUser("nogiven", { name: { familyName: "X" } }));
    expectAwsError(a, 400);
    expect(a.json.detail).toContain("name.givenName");
  });

  test.each(["groups", "password", "ims", "photos", "x509Certificates", "entitlements"])("CreateUser with `%s` → 400", async (attr) => {
    const value = attr === "password" ? "hunter2" : [{ value: "x" }];
    expectAwsError(await call(ref.e, "POST", "/Users", newUser(`rej-${attr}`, { [attr]: value })), 400);
  });

  test("PutUser replaces the user → 200 with the full user; unknown id → 404; same rules as create", async () => {
    const u = await create({ title: "Old", nickName: "Nick" });
    const a = await call(ref.e, "PUT", `/Users/${u.id}`, newUser(`put${n}`, { userName: u.userName, emails: u.emails, title: "New" }));
    expect(a.status).toBe(200);
    expect(a.json.title).toBe("New");
    expect(a.json.nickName).toBeUndefined();
    expect(a.json.meta.created).toBe(u.meta.created);
    expectAwsError(await call(ref.e, "PUT", "/Users/nope", newUser("nope")), 404);
    expectAwsError(await call(ref.e, "PUT", `/Users/${u.id}`, newUser("put2", { name: { givenName: "X" } })), 400);
  });

  test("PatchUser: replace attributes, name sub-paths and enterprise paths → 200 with the full user", async () => {
    const u = await create();
    const a = await call(ref.e, "PATCH", `/Users/${u.id}`, patch(
      { op: "replace", path: "displayName", value: "Renamed" },
      { op: "replace", path: "name.givenName", value: "Given" },
      { op: "add", path: "title", value: "CTO" },
      { op: "add", path: `${ENT}:department`, value: "Sales" },
      { op: "replace", path: `${ENT}:manager`, value: { value: "9067729b3d-u1" } },
    ));
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({
      id: u.id,
      displayName: "Renamed",
      name: { givenName: "Given", familyName: u.name.familyName },
      title: "CTO",
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
      [ENT]: { department: "Sales", manager: { value: "9067729b3d-u1" } },
    });
    expect(userOf(u.id)?.displayName).toBe("Renamed");
  });

  test("PatchUser: active as the string \"false\" (the docs example) is accepted", async () => {
    const u = await create();
    const a = await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "replace", path: "active", value: "false" }));
    expect(a.status).toBe(200);
    expect(a.json.active).toBe(false);
    const b = await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "replace", path: "active", value: true }));
    expect(b.json.active).toBe(true);
  });

  test("PatchUser: path-less add/replace applies each key of the value object", async () => {
    const u = await create();
    const a = await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "replace", value: { displayName: "PL", nickName: "pl", active: false, name: { familyName: "Fam" } } }));
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ displayName: "PL", nickName: "pl", active: false, name: { givenName: "User", familyName: "Fam" } });
  });

  test("PatchUser: emails replace; a second email via add exceeds the limit", async () => {
    const u = await create();
    const a = await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "replace", path: "emails", value: [{ value: `new${n}@example.com`, type: "work", primary: true }] }));
    expect(a.status).toBe(200);
    expect(a.json.emails).toEqual([{ value: `new${n}@example.com`, type: "work", primary: true }]);
    expectAwsError(
      await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "add", path: "emails", value: [{ value: "other@example.com", primary: true }] })),
      400,
      "List attribute `emails` exceeds allowed limit of 1",
    );
  });

  test("PatchUser: remove without path → 400", async () => {
    const u = await create();
    expectAwsError(await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "remove", value: { title: "x" } })), 400);
  });

  test.each(["userName", "active", "displayName", "name.givenName", "name.familyName"])("PatchUser: remove %s → 400", async (path) => {
    const u = await create();
    expectAwsError(await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "remove", path })), 400);
  });

  test("PatchUser: two operations touching userName (or active) → 400", async () => {
    const u = await create();
    expectAwsError(await call(ref.e, "PATCH", `/Users/${u.id}`, patch(
      { op: "replace", path: "userName", value: `a${n}@example.com` },
      { op: "replace", path: "userName", value: `b${n}@example.com` },
    )), 400);
    expectAwsError(await call(ref.e, "PATCH", `/Users/${u.id}`, patch(
      { op: "replace", path: "active", value: false },
      { op: "replace", value: { active: true } },
    )), 400);
  });

  test("PatchUser: optional attributes can be removed", async () => {
    const u = await create({ title: "T", externalId: `ext-rm-${n}`, [ENT]: { department: "D" } });
    const a = await call(ref.e, "PATCH", `/Users/${u.id}`, patch(
      { op: "remove", path: "title" },
      { op: "remove", path: "externalId" },
      { op: "remove", path: `${ENT}:department` },
    ));
    expect(a.status).toBe(200);
    expect(a.json.title).toBeUndefined();
    expect(a.json.externalId).toBeUndefined();
    expect(a.json.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User"]);
  });

  test("PatchUser: a manager that does not exist → 400; PatchOp schema required; unsupported paths → 400", async () => {
    const u = await create();
    expectAwsError(await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "replace", path: `${ENT}:manager`, value: { value: "ghost" } })), 400);
    expectAwsError(await call(ref.e, "PATCH", `/Users/${u.id}`, { Operations: [{ op: "replace", path: "title", value: "x" }] }), 400);
    expectAwsError(await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "add", path: "groups", value: [{ value: "9067729b3d-g1" }] })), 400);
    expectAwsError(await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "replace", path: 'emails[type eq "work"].value', value: "x@example.com" })), 400);
    expectAwsError(await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "move", path: "title", value: "x" })), 400);
    expectAwsError(await call(ref.e, "PATCH", "/Users/nope", patch({ op: "replace", path: "title", value: "x" })), 404);
  });

  test("a failed patch changes nothing", async () => {
    const u = await create();
    await call(ref.e, "PATCH", `/Users/${u.id}`, patch({ op: "replace", path: "title", value: "changed" }, { op: "remove", path: "userName" }));
    expect(userOf(u.id)?.title).toBeUndefined();
  });

  test("DeleteUser → 204 with empty body, then 404", async () => {
    const u = await create();
    const a = await call(ref.e, "DELETE", `/Users/${u.id}`);
    expect(a.status).toBe(204);
    expect(a.text).toBe("");
    expectAwsError(await call(ref.e, "DELETE", `/Users/${u.id}`), 404);
    expectAwsError(await call(ref.e, "GET", `/Users/${u.id}`), 404);
  });

  test("deleting a user removes it from every group", async () => {
    const u = await create();
    const g = await call(ref.e, "POST", "/Groups", { displayName: "WithDoomed", members: members(u.id, "9067729b3d-u4") });
    expect(g.status).toBe(201);
    expect((await call(ref.e, "PATCH", "/Groups/9067729b3d-g2", patch({ op: "add", path: "members", value: members(u.id) }))).status).toBe(204);
    expect((await call(ref.e, "DELETE", `/Users/${u.id}`)).status).toBe(204);
    const groups = ref.e.snapshot().groups;
    expect(groups.some((gr) => gr.members.includes(u.id))).toBe(false);
    expect(groups.find((gr) => gr.id === g.json.id)?.members).toEqual(["9067729b3d-u4"]);
    const listed = await call(ref.e, "GET", `/Users?${q(`groups.value eq "${g.json.id}"`)}`);
    expect(listed.json.Resources.map((r: { id: string }) => r.id)).toEqual(["9067729b3d-u4"]);
  });
});

// ------------------------------------------------------------------------------------------

describe("throttling (§9)", () => {
  test("over the read limit → 429 ThrottlingException, AWS body, no Retry-After; writes have their own bucket", async () => {
    const e = await startScimEmulator({ scenario: SMALL, rateLimit: { readsPerSecond: 3, writesPerSecond: 2 } });
    try {
      const reads = [];
      for (let i = 0; i < 5; i++) reads.push(await call(e, "GET", "/Users/9067729b3d-u1"));
      expect(reads.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
      const limited = reads[4] as Answer;
      expectAwsError(limited, 429);
      expect(limited.headers.get("retry-after")).toBeNull();
      // Reads exhausted, a write still passes; then writes run out too.
      const w = [];
      for (let i = 0; i < 3; i++) w.push((await call(e, "PATCH", "/Groups/9067729b3d-g2", patch({ op: "replace", path: "displayName", value: `R${i}` }))).status);
      expect(w).toEqual([204, 204, 429]);
      expect(e.log.entries.filter((x) => x.status === 429).length).toBeGreaterThanOrEqual(2);
      // The bucket refills.
      await Bun.sleep(400);
      expect((await call(e, "GET", "/Users/9067729b3d-u1")).status).toBe(200);
    } finally {
      await e.close();
    }
  });

  test("the membership-operation bucket is charged per member change in CreateGroup/PatchGroup", async () => {
    const e = await startScimEmulator({ scenario: SMALL, rateLimit: { readsPerSecond: 100, writesPerSecond: 100, membershipOpsPerSecond: 3 } });
    try {
      const ok = await call(e, "PATCH", "/Groups/9067729b3d-g2", patch({ op: "add", path: "members", value: members("9067729b3d-u1", "9067729b3d-u2", "9067729b3d-u4") }));
      expect(ok.status).toBe(204);
      const limited = await call(e, "POST", "/Groups", { displayName: "Throttled", members: members("9067729b3d-u1") });
      expectAwsError(limited, 429);
      expect(e.snapshot().groups.some((g) => g.displayName === "Throttled")).toBe(false);
      // A rename charges no membership operations.
      expect((await call(e, "PATCH", "/Groups/9067729b3d-g2", patch({ op: "replace", path: "displayName", value: "R" }))).status).toBe(204);
    } finally {
      await e.close();
    }
  });

  test("rateLimit is mutable at run time", async () => {
    const e = await startScimEmulator({ scenario: SMALL });
    try {
      e.rateLimit = { readsPerSecond: 0, writesPerSecond: 0 };
      expect((await call(e, "GET", "/Users")).status).toBe(429);
      e.rateLimit = undefined;
      expect((await call(e, "GET", "/Users")).status).toBe(200);
    } finally {
      await e.close();
    }
  });
});

describe("fault injection", () => {
  const ref = useEmulator();

  test("errorRate 1 → 500 InternalServerException with the AWS body, nothing done", async () => {
    ref.e.faults.errorRate = 1;
    try {
      const a = await call(ref.e, "POST", "/Users", newUser("fault-error"));
      expectAwsError(a, 500);
    } finally {
      ref.e.faults.errorRate = 0;
    }
    expect(ref.e.snapshot().users.some((u) => u.userName === "userfault-error@example.com")).toBe(false);
  });

  test("dropRate 1 → the connection closes without an answer (fetch throws), logged with status 0", async () => {
    ref.e.faults.dropRate = 1;
    try {
      await expect(call(ref.e, "GET", "/Users")).rejects.toThrow();
    } finally {
      ref.e.faults.dropRate = 0;
    }
    expect(ref.e.log.entries.at(-1)).toMatchObject({ method: "GET", route: "/Users", status: 0 });
  });

  test("lostResponseRate 1 → the POST throws in fetch, yet the user exists (GET by filter finds it)", async () => {
    ref.e.faults.lostResponseRate = 1;
    let threw = false;
    try {
      await call(ref.e, "POST", "/Users", newUser("lost"));
    } catch {
      threw = true;
    } finally {
      ref.e.faults.lostResponseRate = 0;
    }
    expect(threw).toBe(true);
    const a = await call(ref.e, "GET", `/Users?${q('userName eq "userlost@example.com"')}`);
    expect(a.json.Resources).toHaveLength(1);
    // A retry of the same POST now conflicts: the classic lost-response trap.
    expectAwsError(await call(ref.e, "POST", "/Users", newUser("lost")), 409);
  });

  test("lost responses only hit writes", async () => {
    ref.e.faults.lostResponseRate = 1;
    try {
      expect((await call(ref.e, "GET", "/Users/9067729b3d-u1")).status).toBe(200);
    } finally {
      ref.e.faults.lostResponseRate = 0;
    }
  });

  test("latencyMs delays every answer", async () => {
    ref.e.faults.latencyMs = 120;
    const t0 = performance.now();
    try {
      expect((await call(ref.e, "GET", "/Users/9067729b3d-u1")).status).toBe(200);
    } finally {
      ref.e.faults.latencyMs = 0;
    }
    expect(performance.now() - t0).toBeGreaterThanOrEqual(100);
  });

  test("slowRate 1 adds slowMs", async () => {
    ref.e.faults.slowRate = 1;
    ref.e.faults.slowMs = 120;
    const t0 = performance.now();
    try {
      expect((await call(ref.e, "GET", "/Users/9067729b3d-u1")).status).toBe(200);
    } finally {
      ref.e.faults.slowRate = 0;
    }
    expect(performance.now() - t0).toBeGreaterThanOrEqual(100);
  });

  test("faults given at start are honoured", async () => {
    const e = await startScimEmulator({ scenario: SMALL, faults: { errorRate: 1 } });
    try {
      expectAwsError(await call(e, "GET", "/Users"), 500);
    } finally {
      await e.close();
    }
  });
});

// ------------------------------------------------------------------------------------------

describe("answers match the captured AWS bodies (test/fixtures/aws-captures/)", () => {
  const ref = useEmulator();
  const captures = readdirSync(CAPTURES)
    .filter((f) => f.endsWith(".json"))
    .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(CAPTURES, f), "utf8")) }));
  const keys = (o: object) => Object.keys(o).sort();
  const resourcesOf = (json: Record<string, unknown>) =>
    Array.isArray(json.Resources) ? (json.Resources as Record<string, unknown>[]) : (json.meta ? [json] : []);
  let k = 0;

  /** Re-creates a captured user in the emulator and reads it back. */
  async function replayUser(capture: Record<string, unknown>) {
    const { id: _id, meta: _meta, schemas: _schemas, ...body } = structuredClone(capture) as Record<string, unknown>;
    k++;
    body.userName = `cap${k}-${body.userName}`;
    if (body.externalId) body.externalId = `cap${k}-${body.externalId}`;
    const emails = body.emails as { value: string }[] | undefined;
    if (emails?.[0]) emails[0].value = `cap${k}-${emails[0].value}`;
    const ent = body[ENT] as { manager?: { value: string } } | undefined;
    if (ent?.manager) ent.manager.value = "9067729b3d-u1";
    // Captured users without extension data still list the enterprise URN; ours lists it only with data.
    const created = await call(ref.e, "POST", "/Users", body);
    expect(created.status).toBe(201);
    const got = await call(ref.e, "GET", `/Users/${created.json.id}`);
    return { created: created.json, got: got.json };
  }

  const userCaptures = captures.flatMap((c) => resourcesOf(c.json).filter((r) => (r.meta as { resourceType?: string }).resourceType === "User").map((r) => [c.file, r] as const));
  const groupCaptures = captures.flatMap((c) => resourcesOf(c.json).filter((r) => (r.meta as { resourceType?: string }).resourceType === "Group").map((r) => [c.file, r] as const));

  test("the capture set holds user and group resources", () => {
    expect(userCaptures.length).toBeGreaterThanOrEqual(6);
    expect(groupCaptures.length).toBeGreaterThanOrEqual(4);
  });

  test.each(userCaptures)("user in %s: same top-level and meta keys", async (_file, capture) => {
    const { created, got } = await replayUser(capture);
    for (const answer of [created, got]) {
      expect(keys(answer)).toEqual(keys(capture));
      expect(keys(answer.meta)).toEqual(keys(capture.meta as object));
      expect(answer.meta.created).toMatch(RESOURCE_TS);
      if (capture[ENT]) {
        expect(answer.schemas).toEqual(capture.schemas);
        expect(keys(answer[ENT])).toEqual(keys(capture[ENT] as object));
        expect(answer[ENT].manager).toEqual({ value: "9067729b3d-u1" });
      }
      expect(answer.name).toEqual(capture.name);
      expect(answer.active).toBe(capture.active);
    }
  });

  test.each(groupCaptures)("group in %s: same keys (create: no members; list: members [])", async (file, capture) => {
    const body: Record<string, unknown> = { displayName: `cap-${file}-${capture.displayName}` };
    if (capture.externalId) body.externalId = `cap-${file}-${capture.externalId}`;
    const created = await call(ref.e, "POST", "/Groups", { ...body, members: members("9067729b3d-u3") });
    expect(created.status).toBe(201);
    const listed = await call(ref.e, "GET", `/Groups?cursor&${q(`displayName eq "${body.displayName}"`)}`);
    const item = listed.json.Resources[0];
    expect(item.members).toEqual([]);
    const got = await call(ref.e, "GET", `/Groups/${created.json.id}`);
    const withoutMembers = keys(capture).filter((x) => x !== "members");
    expect(keys(created.json)).toEqual(withoutMembers);
    expect(keys(got.json)).toEqual(withoutMembers);
    expect(keys(item)).toEqual([...withoutMembers, "members"].sort());
    expect(keys(created.json.meta)).toEqual(keys(capture.meta as object));
  });

  test("list envelopes: legacy has totalResults/itemsPerPage/startIndex, cursor pages itemsPerPage/nextCursor", async () => {
    const legacy = captures.find((c) => c.file === "ListGroupsResponse.json")?.json;
    const page1 = captures.find((c) => c.file === "ListGroupsResponse_CursorPage1.json")?.json;
    const page2 = captures.find((c) => c.file === "ListGroupsResponse_CursorPage2.json")?.json;
    const a = await call(ref.e, "GET", "/Groups");
    expect(keys(a.json)).toEqual(keys(legacy));
    const first = await call(ref.e, "GET", "/Groups?cursor&count=1");
    expect(keys(first.json)).toEqual(keys(page1));
    const all = await call(ref.e, "GET", "/Groups?cursor");
    expect(keys(all.json)).toEqual(keys(page2));
    const users = await call(ref.e, "GET", "/Users");
    expect(keys(users.json)).toEqual(keys(captures.find((c) => c.file === "ListUserResponse.json")?.json));
  });
});

describe("seeded from example-small.json", () => {
  const ref = useEmulator({}, loadScenarioFile(EXAMPLE_SMALL));
  const scenario = loadScenarioFile(EXAMPLE_SMALL);

  test("serves the scenario's users and groups", async () => {
    const users = await call(ref.e, "GET", "/Users?cursor");
    expect(users.json.Resources.map((u: { id: string }) => u.id)).toEqual(scenario.scim.users.map((u) => u.id));
    const groups = await call(ref.e, "GET", "/Groups?cursor");
    expect(groups.json.Resources.map((g: { displayName: string }) => g.displayName)).toEqual(scenario.scim.groups.map((g) => g.displayName));
    for (const g of groups.json.Resources) expect(g.members).toEqual([]);
  });

  test("seeded memberships answer the member filters, and snapshot() mirrors the scenario", async () => {
    const group = scenario.scim.groups[0];
    if (!group) throw new Error("example-small has no scim group");
    const members = await call(ref.e, "GET", `/Users?${q(`groups.value eq "${group.id}"`)}`);
    expect(members.json.Resources.map((u: { id: string }) => u.id).sort()).toEqual([...group.members].sort());
    const snap = ref.e.snapshot();
    expect(snap.groups.map((g) => ({ id: g.id, displayName: g.displayName, members: g.members }))).toEqual(
      scenario.scim.groups.map((g) => ({ id: g.id, displayName: g.displayName, members: g.members })),
    );
    expect(snap.users.map((u) => u.userName)).toEqual(scenario.scim.users.map((u) => u.userName));
    // snapshot() is a deep copy.
    (snap.groups[0] as { members: string[] }).members.push("tampered");
    expect(ref.e.snapshot().groups[0]?.members).toEqual(group.members);
  });

  test("a user created against the seeded tenant conflicts with a seeded userName", async () => {
    const seeded = scenario.scim.users[0];
    if (!seeded) throw new Error("example-small has no scim user");
    const a = await call(ref.e, "POST", "/Users", newUser("seeded", { userName: seeded.userName.toUpperCase() }));
    expectAwsError(a, 409, DUPLICATE);
  });
});
