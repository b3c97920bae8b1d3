/** @module Contract tests of the SCIM ScimTarget adapter against the AWS SCIM emulator and replayed AWS captures. */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ScimRequestError } from "../../src/core/errors.ts";
import { createScimTarget, type ScimTargetOptions } from "../../src/adapters/scim/scim-target.ts";
import { eqFilter } from "../../src/adapters/scim/filter.ts";
import { ENTERPRISE_USER_SCHEMA, userFromScim, userPatchOperations, userToScim } from "../../src/adapters/scim/user-mapping.ts";
import type { UserAttributes } from "../../src/model/index.ts";
import { seededRandom } from "../emulators/faults.ts";
import { parseScenario } from "../emulators/scenario.ts";
import { AWS_CAPTURES } from "../support/paths.ts";
import { startScimEmulator, type ScimEmulator, type ScimEmulatorOptions } from "../emulators/scim/server.ts";

const CAPTURES = AWS_CAPTURES;
const capture = (name: string): Record<string, unknown> => JSON.parse(readFileSync(`${CAPTURES}/${name}`, "utf8"));

/** Fast retries for the fault tests; the 429 test keeps the production backoff. */
const QUICK_RETRY = { attempts: 8, baseDelayMs: 20, maxDelayMs: 500 };

const open: ScimEmulator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

async function emulator(scim: unknown = {}, options: Partial<ScimEmulatorOptions> = {}): Promise<ScimEmulator> {
  const e = await startScimEmulator({ scenario: parseScenario({ scim }), ...options });
  open.push(e);
  return e;
}

function target(e: ScimEmulator, overrides: Partial<ScimTargetOptions> = {}) {
  return createScimTarget({ endpoint: `${e.url}/`, token: e.token, rate: { retry: QUICK_RETRY }, ...overrides });
}

function seedUser(i: number, extra: Record<string, unknown> = {}) {
  return {
    id: `u-${i}`,
    externalId: `ext-${i}`,
    userName: `user${i}@example.com`,
    displayName: `User ${i}`,
    name: { givenName: "User", familyName: `${i}` },
    emails: [{ value: `user${i}@example.com`, type: "work", primary: true }],
    ...extra,
  };
}

function attrs(i: number): UserAttributes {
  return { userName: `new${i}@example.com`, displayName: `New ${i}`, givenName: "New", familyName: `${i}`, email: `new${i}@example.com`, active: true };
}

const FULL: UserAttributes = {
  userName: "barbara@example.com",
  displayName: "Babs Jensen",
  givenName: "Barbara",
  familyName: "Jensen",
  formattedName: "Ms. Barbara J Jensen, III",
  email: "barbara@example.com",
  active: false,
  phoneNumber: { value: "555-555-5555", type: "work" },
  address: {
    type: "work",
    formatted: "100 Universal City Plaza Hollywood, CA 91608 USA",
    streetAddress: "100 Universal City Plaza",
    locality: "Hollywood",
    region: "CA",
    postalCode: "91608",
    country: "USA",
  },
  title: "Tour Guide",
  preferredLanguage: "en-US",
  nickName: "Babs",
  profileUrl: "https://example.com/babs",
  userType: "Employee",
  locale: "en-US",
  timezone: "America/Los_Angeles",
  employeeNumber: "701984",
  costCenter: "4130",
  organization: "Universal Studios",
  division: "Theme Park",
  department: "Tour Operations",
};

describe("SCIM target: users", () => {
  test("create a user with every attribute, read it back: the attributes are what was sent", async () => {
    const e = await emulator({ users: [seedUser(1)] });
    const scim = target(e);
    const id = await scim.createUser("g-barbara", { ...FULL, managerSourceId: "ignored-source-id" }, "u-1");
    const users = await scim.listUsers();
    const back = users.find((u) => u.scimId === id);
    expect(back).toEqual({ scimId: id, externalId: "g-barbara", attributes: FULL, managerScimId: "u-1" });
    // The stored JSON: enterprise URN listed because extension data was sent, one primary work email.
    const stored = e.snapshot().users.find((u) => u.id === id);
    expect(stored?.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA]);
    expect(stored?.emails).toEqual([{ value: "barbara@example.com", type: "work", primary: true }]);
    expect(e.log.counts()).toEqual({ "POST /Users": 1, "GET /Users": 1 });
  });

  test("a user without extension data is sent without the enterprise URN", async () => {
    const e = await emulator();
    const scim = target(e);
    const id = await scim.createUser("g-1", attrs(1));
    expect(e.snapshot().users.find((u) => u.id === id)?.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User"]);
  });

  test("findUser by externalId and by userName, with quotes and backslashes in the value", async () => {
    const e = await emulator({ users: [seedUser(1, { externalId: 'we"ird\\id', userName: 'o"brien@example.com' })] });
    const scim = target(e);
    expect((await scim.findUser({ externalId: 'we"ird\\id' }))?.scimId).toBe("u-1");
    expect((await scim.findUser({ userName: 'o"brien@example.com' }))?.scimId).toBe("u-1");
    expect(await scim.findUser({ externalId: "nobody" })).toBeUndefined();
    expect(e.log.counts()).toEqual({ "GET /Users": 3 });
  });

  test("PATCH sends only the changed paths: an attribute set by hand survives", async () => {
    const e = await emulator({ users: [seedUser(1), seedUser(2, { title: "Old title", nickName: "Set by hand", locale: "fr-FR" })] });
    const scim = target(e);
    await scim.updateUser("u-2", {
      set: { title: "New title", givenName: "Renamed", department: "Ops", managerSourceId: "g-1" },
      clear: ["locale"],
      managerScimId: "u-1",
      externalId: "ext-2-new",
    });
    const stored = e.snapshot().users.find((u) => u.id === "u-2");
    expect(stored?.title).toBe("New title");
    expect(stored?.nickName).toBe("Set by hand");
    expect(stored?.locale).toBeUndefined();
    expect(stored?.name).toEqual({ givenName: "Renamed", familyName: "2" });
    expect(stored?.externalId).toBe("ext-2-new");
    expect(stored?.[ENTERPRISE_USER_SCHEMA]).toEqual({ department: "Ops", manager: { value: "u-1" } });
    expect(stored?.emails).toEqual([{ value: "user2@example.com", type: "work", primary: true }]);

    // Clearing the manager removes the manager path only.
    await scim.updateUser("u-2", { set: {}, clear: ["managerSourceId"] });
    expect(e.snapshot().users.find((u) => u.id === "u-2")?.[ENTERPRISE_USER_SCHEMA]).toEqual({ department: "Ops" });

    // Nothing to change: nothing is sent.
    await scim.updateUser("u-2", { set: {}, clear: [] });
    expect(e.log.counts()).toEqual({ "PATCH /Users/{id}": 2 });
  });

  test("delete is idempotent: a 404 counts as already gone", async () => {
    const e = await emulator({ users: [seedUser(1)] });
    const scim = target(e);
    await scim.deleteUser("u-1");
    await scim.deleteUser("u-1");
    expect(e.snapshot().users).toEqual([]);
    expect(scim.stats()).toMatchObject({ byRoute: { "DELETE /Users/{id}": 2 }, total: 2, retries: 0, alreadyDeleted: 1 });
  });

  test("409 → conflict, 404 → notFound, 400 → invalid", async () => {
    const e = await emulator({ users: [seedUser(1)] });
    const scim = target(e);
    const conflict = await scim.createUser("ext-1", attrs(9)).catch((x: unknown) => x);
    expect(conflict).toBeInstanceOf(ScimRequestError);
    expect(conflict).toMatchObject({ kind: "conflict", status: 409, code: "SCIM_REQUEST" });
    expect((conflict as Error).message).toBe('SCIM POST /Users (externalId "ext-1") failed: 409 Refused to create a new, duplicate resource.');

    const missing = await scim.updateUser("u-404", { set: { title: "x" }, clear: [] }).catch((x: unknown) => x);
    expect(missing).toMatchObject({ kind: "notFound", status: 404 });
    expect((missing as Error).message).toContain("PATCH /Users/{id} (u-404)");

    const invalid = await scim.createUser("ext-x", { ...attrs(3), userName: "Administrator" }).catch((x: unknown) => x);
    expect(invalid).toMatchObject({ kind: "invalid", status: 400 });
    // None of these is retried.
    expect(scim.stats().retries).toBe(0);
  });

  test("listUsers over 250 users takes exactly 3 GET requests", async () => {
    const e = await emulator({ users: Array.from({ length: 250 }, (_, i) => seedUser(i)) });
    const scim = target(e);
    const users = await scim.listUsers();
    expect(users.length).toBe(250);
    expect(new Set(users.map((u) => u.scimId)).size).toBe(250);
    expect(e.log.counts()).toEqual({ "GET /Users": 3 });
    expect(e.log.entries[0]?.url).toEndWith("/Users?cursor&count=100");
    expect(scim.stats()).toMatchObject({ byRoute: { "GET /Users": 3 }, total: 3 });
  });

  test("reads the captured AWS user with no emails", async () => {
    const resource = (capture("ListUserResponse_no_emails.json").Resources as Record<string, unknown>[])[0];
    const e = await emulator({ users: [resource] });
    const [user] = await target(e).listUsers();
    expect(user).toEqual({
      scimId: "90677c608a-7afcdc23-0bd4-4fb7-b2ff-10ccffdff447",
      externalId: "702135",
      attributes: { userName: "mjack", displayName: "mjack", givenName: "Mark", familyName: "Jackson", email: "", active: false },
    });
  });
});

describe("SCIM target: groups", () => {
  test("create, find, rename, delete a group", async () => {
    const e = await emulator({ users: [seedUser(1), seedUser(2)] });
    const scim = target(e);
    const id = await scim.createGroup("g-eng", "Engineering", ["u-1", "u-2"]);
    expect(await scim.findGroup({ externalId: "g-eng" })).toEqual({ scimId: id, externalId: "g-eng", displayName: "Engineering" });
    expect(await scim.listGroupMembers(id)).toEqual(["u-1", "u-2"]);

    await scim.updateGroup(id, { displayName: 'Eng "core"', externalId: "g-eng-2" });
    expect(await scim.findGroup({ displayName: 'Eng "core"' })).toEqual({ scimId: id, externalId: "g-eng-2", displayName: 'Eng "core"' });
    expect(await scim.listGroups()).toEqual([{ scimId: id, externalId: "g-eng-2", displayName: 'Eng "core"' }]);

    await scim.removeMembers(id, ["u-1"]);
    await scim.addMembers(id, []); // nothing to send
    expect(e.snapshot().groups[0]?.members).toEqual(["u-2"]);

    await scim.deleteGroup(id);
    await scim.deleteGroup(id);
    expect(e.snapshot().groups).toEqual([]);
    expect(scim.stats().alreadyDeleted).toBe(1);
    expect(e.log.counts()).toEqual({
      "POST /Groups": 1,
      "GET /Groups": 3,
      "GET /Users": 1,
      "PATCH /Groups/{id}": 2,
      "DELETE /Groups/{id}": 2,
    });
  });

  test("listGroupMembers over 150 members takes 2 requests; members added in chunks of 100", async () => {
    const e = await emulator({ users: Array.from({ length: 160 }, (_, i) => seedUser(i)) });
    const scim = target(e);
    const ids = Array.from({ length: 150 }, (_, i) => `u-${i}`);
    const gid = await scim.createGroup("g-big", "Big", ids.slice(0, 100));
    await scim.addMembers(gid, ids.slice(100));
    e.log.clear();
    const members = await scim.listGroupMembers(gid);
    expect(members.sort()).toEqual([...ids].sort());
    expect(e.log.counts()).toEqual({ "GET /Users": 2 });
  });

  test("listGroupsOfUser: a user's groups with one members.value filter per page of 100, none for a user in no group", async () => {
    const groups = Array.from({ length: 105 }, (_, i) => ({ id: `g-${i}`, displayName: `Group ${i}`, members: ["u-1"] }));
    const e = await emulator({ users: [seedUser(1), seedUser(2)], groups: [...groups, { id: "g-other", displayName: "Other", members: [] }] });
    const scim = target(e);
    expect((await scim.listGroupsOfUser("u-1")).sort()).toEqual(groups.map((g) => g.id).sort());
    expect(await scim.listGroupsOfUser("u-2")).toEqual([]);
    expect(e.log.counts()).toEqual({ "GET /Groups": 3 });
    expect(e.log.entries.every((entry) => decodeURIComponent(entry.url).includes('filter=members.value eq "u-'))).toBe(true);
  });

  test("more than 100 members in one call is refused before any request", async () => {
    const e = await emulator();
    const scim = target(e);
    const many = Array.from({ length: 101 }, (_, i) => `u-${i}`);
    await expect(scim.createGroup("g", "G", many)).rejects.toThrow(RangeError);
    await expect(scim.addMembers("g", many)).rejects.toThrow(RangeError);
    await expect(scim.removeMembers("g", many)).rejects.toThrow(RangeError);
    expect(e.log.total()).toBe(0);
  });

  test("a duplicate group name → conflict", async () => {
    const e = await emulator({ groups: [{ id: "g-1", displayName: "Ops" }] });
    await expect(target(e).createGroup("x", "Ops", [])).rejects.toMatchObject({ kind: "conflict", status: 409 });
  });
});

describe("SCIM target: throttling and faults", () => {
  test(
    "429 under a tight rate limit (5 writes/s, 40 creates): all succeed, throttling slows down",
    async () => {
      const e = await emulator({}, { rateLimit: { readsPerSecond: 40, writesPerSecond: 5 } });
      const scim = createScimTarget({ endpoint: e.url, token: e.token });
      const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => scim.createUser(`g-${i}`, attrs(i))));
      expect(new Set(ids).size).toBe(40);
      expect(e.snapshot().users.length).toBe(40);
      const stats = scim.stats();
      expect(stats.throttled).toBeGreaterThan(0);
      expect(stats.retries).toBe(stats.throttled);
      expect(stats.byRoute["POST /Users"]).toBe(40 + stats.retries);
      expect(e.log.counts()["POST /Users"]).toBe(stats.byRoute["POST /Users"]);
    },
    60_000,
  );

  test(
    "reads are not held to the write limit: 40 reads/s, 5 writes/s, 120 reads all answered while the writes are throttled, none 429",
    async () => {
      const e = await emulator({ users: Array.from({ length: 30 }, (_, i) => seedUser(i)) }, { rateLimit: { readsPerSecond: 40, writesPerSecond: 5 } });
      const scim = createScimTarget({ endpoint: e.url, token: e.token });
      const writes = Promise.all(Array.from({ length: 30 }, (_, i) => scim.createUser(`g-${i}`, attrs(i))));
      const reads = Promise.all(Array.from({ length: 120 }, (_, i) => scim.getUser(`u-${i % 30}`)));
      expect((await reads).every((u) => u !== undefined)).toBe(true);
      expect(new Set(await writes).size).toBe(30);

      const entries = e.log.entries;
      const lastWrite = entries.findLastIndex((x) => x.method === "POST" && x.status === 201);
      const isRead = (x: (typeof entries)[number]) => x.method === "GET";
      // With one pacer for both, the write 429s would have slowed the reads to the writes' pace.
      expect(entries.slice(0, lastWrite).filter((x) => isRead(x) && x.status === 200).length).toBe(120);
      expect(e.log.total((x) => isRead(x) && x.status === 429)).toBe(0);
      expect(e.log.total((x) => x.method === "POST" && x.status === 429)).toBeGreaterThan(0);
      const { read, write } = scim.stats().byKind;
      expect(read).toMatchObject({ requests: 120, throttled: 0, retries: 0 });
      expect(write.throttled).toBe(e.log.total((x) => x.status === 429));
      expect(write.requests).toBe(30 + write.retries);
    },
    60_000,
  );

  test(
    "errorRate 0.2 (seeded): all succeed, retries counted exactly",
    async () => {
      const e = await emulator({}, { faults: { errorRate: 0.2, random: seededRandom(7) } });
      const scim = target(e);
      const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => scim.createUser(`g-${i}`, attrs(i))));
      const users = await scim.listUsers();
      expect(users.map((u) => u.scimId).sort()).toEqual([...ids].sort());
      const stats = scim.stats();
      expect(stats.retries).toBeGreaterThan(0);
      expect(stats.total).toBe(e.log.total());
      expect(stats.retries).toBe(e.log.total((x) => x.status === 500));
    },
    30_000,
  );

  test(
    "dropRate 0.1 (seeded): all succeed",
    async () => {
      const e = await emulator({}, { faults: { dropRate: 0.1, random: seededRandom(11) } });
      const scim = target(e);
      const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => scim.createUser(`g-${i}`, attrs(i))));
      const gid = await scim.createGroup("g-all", "All", ids.slice(0, 20));
      await scim.addMembers(gid, ids.slice(20));
      expect((await scim.listGroupMembers(gid)).sort()).toEqual([...ids].sort());
      const stats = scim.stats();
      expect(stats.retries).toBe(e.log.total((x) => x.status === 0));
      expect(stats.retries).toBeGreaterThan(0);
    },
    30_000,
  );

  test(
    "lost responses on POST: the 409 of the retry resolves to the resource the first attempt made",
    async () => {
      const e = await emulator({}, { faults: { lostResponseRate: 0.3, random: seededRandom(3) } });
      const scim = target(e);
      const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => scim.createUser(`g-${i}`, attrs(i))));
      const gid = await scim.createGroup("g-lost", "Lost", ids.slice(0, 5));
      e.faults.lostResponseRate = 0;
      const byExternalId = new Map(e.snapshot().users.map((u) => [u.externalId, u.id]));
      expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => byExternalId.get(`g-${i}`) as string));
      expect(e.snapshot().groups.map((g) => g.id)).toEqual([gid]);
      expect(e.log.total((x) => x.status === 409)).toBeGreaterThan(0);
    },
    30_000,
  );

  test("a retryable failure that persists ends in its own kind after the attempts", async () => {
    const e = await emulator({}, { faults: { errorRate: 1 } });
    const scim = target(e, { rate: { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } } });
    await expect(scim.listUsers()).rejects.toMatchObject({ kind: "server", status: 500 });
    expect(e.log.counts()).toEqual({ "GET /Users": 3 });
    expect(scim.stats()).toMatchObject({ total: 3, retries: 2, throttled: 0 });
  });
});

describe("SCIM target: secrets", () => {
  function everything(error: unknown): string {
    const e = error as Error & { cause?: unknown };
    return [String(e), e.message, e.stack, JSON.stringify(e), String(e.cause), JSON.stringify(e.cause), (e.cause as Error | undefined)?.stack, Bun.inspect(e)].join("\n");
  }

  test("the token never appears in a thrown error (401, 400, network)", async () => {
    const e = await emulator({ users: [seedUser(1)] });
    const wrongToken = "wrong-token-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123";
    const unauthorized = await target(e, { token: wrongToken }).listUsers().catch((x: unknown) => x);
    expect(unauthorized).toMatchObject({ kind: "auth", status: 401, code: "SCIM_AUTH" });
    expect((unauthorized as ScimRequestError).hint).toContain("aws.scim_access_token");
    expect(everything(unauthorized)).not.toContain(wrongToken);

    const invalid = await target(e).createUser("x", { ...attrs(1), givenName: "" }).catch((x: unknown) => x);
    expect(invalid).toMatchObject({ kind: "invalid", status: 400 });
    expect(everything(invalid)).not.toContain(e.token);

    e.faults.dropRate = 1;
    const dropped = await target(e, { rate: { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } } }).listUsers().catch((x: unknown) => x);
    expect(dropped).toMatchObject({ kind: "network" });
    expect(everything(dropped)).not.toContain(e.token);
  });

  test("a timeout is a network failure, retried, and carries no token", async () => {
    const e = await emulator({}, { faults: { latencyMs: 300 } });
    const logs: string[] = [];
    const scim = target(e, { timeoutMs: 50, rate: { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }, logger: { debug: (m) => logs.push(m) } });
    const error = await scim.listUsers().catch((x: unknown) => x);
    expect(error).toMatchObject({ kind: "network", message: "SCIM GET /Users failed: no answer (timed out after 50 ms)" });
    expect(scim.stats().retries).toBe(1);
    expect(everything(error)).not.toContain(e.token);
    expect(logs.join("\n")).not.toContain(e.token);
  });

  test("a bad endpoint is a configuration error naming the knob", () => {
    expect(() => createScimTarget({ endpoint: "scim.us-east-1.amazonaws.com/x", token: "t" })).toThrow("aws.scim_endpoint");
  });
});

describe("SCIM target: replayed AWS captures", () => {
  /** Serves captured AWS bodies verbatim, as AWS would (application/json, 204 without body). */
  function replay(handler: (req: Request, url: URL) => Response) {
    const seen: string[] = [];
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        const url = new URL(req.url);
        seen.push(`${req.method} ${url.pathname}${url.search}`);
        return handler(req, url);
      },
    });
    return { url: `http://127.0.0.1:${server.port}/tenant/scim/v2/`, seen, stop: () => server.stop(true) };
  }
  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

  test("cursor pages: follows nextCursor with the same filter and reads the groups", async () => {
    const server = replay((_req, url) =>
      json(capture(url.searchParams.get("cursor") === "Q3Vyc29yUGFnZTI=" ? "ListGroupsResponse_CursorPage2.json" : "ListGroupsResponse_CursorPage1.json")),
    );
    try {
      const groups = await createScimTarget({ endpoint: server.url, token: "t" }).listGroups();
      expect(groups).toEqual([
        { scimId: "d468e4d8-c051-703d-dd84-28caf445f15e", externalId: "eid_1", displayName: "Group Page 1 A" },
        { scimId: "d468e4d8-c051-703d-dd84-28caf445f15f", externalId: "eid_2", displayName: "Group Page 1 B" },
        { scimId: "d468e4d8-c051-703d-dd84-28caf445f160", externalId: "eid_3", displayName: "Group Page 2" },
      ]);
      expect(server.seen).toEqual(["GET /tenant/scim/v2/Groups?cursor&count=100", "GET /tenant/scim/v2/Groups?cursor=Q3Vyc29yUGFnZTI%3D&count=100"]);
    } finally {
      server.stop();
    }
  });

  test("a 204 with Content-Type json and no body is not parsed; a Retry-After is honoured", async () => {
    let calls = 0;
    const server = replay(() => (++calls === 1 ? json(capture("CreateUserResponse_Conflict.json"), 429, { "Retry-After": "0" }) : new Response(null, { status: 204, headers: { "Content-Type": "application/json" } })));
    try {
      const scim = createScimTarget({ endpoint: server.url, token: "t" });
      await scim.addMembers("g", ["u"]);
      expect(scim.stats()).toMatchObject({ total: 2, retries: 1, throttled: 1, byRoute: { "PATCH /Groups/{id}": 2 } });
    } finally {
      server.stop();
    }
  });

  test("a page without Resources is an empty page", async () => {
    const server = replay(() => json({ schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], itemsPerPage: 0 }));
    try {
      expect(await createScimTarget({ endpoint: server.url, token: "t" }).listUsers()).toEqual([]);
    } finally {
      server.stop();
    }
  });

  test("every captured user parses", () => {
    const full = userFromScim(capture("CreateUserResponse_Active.json"));
    expect(full).toEqual({
      scimId: "9067729b3d-94f1e0b3-c394-48d5-8ab1-2c122a167074",
      externalId: "701984",
      managerScimId: "9067729b3d-ee533c18-538a-4cd3-a572-63fb863ed734",
      attributes: {
        userName: "bjensen",
        displayName: "Babs Jensen",
        givenName: "Barbara",
        familyName: "Jensen",
        formattedName: "Ms. Barbara J Jensen, III",
        email: "bjensen@example.com",
        active: true,
        phoneNumber: { value: "555-555-5555", type: "work" },
        address: {
          type: "work",
          formatted: "100 Universal City Plaza Hollywood, CA 91608 USA",
          streetAddress: "100 Universal City Plaza",
          locality: "Hollywood",
          region: "CA",
          postalCode: "91608",
          country: "USA",
        },
        title: "Tour Guide",
        preferredLanguage: "en-US",
        nickName: "Babs",
        userType: "Employee",
        locale: "en-US",
        timezone: "America/Los_Angeles",
        employeeNumber: "701984",
        costCenter: "4130",
        organization: "Universal Studios",
        division: "Theme Park",
        department: "Tour Operations",
      },
    });
    for (const name of ["GetUserResponse.json", "PatchUserResponse.json", "PutUserResponse.json"]) {
      expect(userFromScim(capture(name))?.attributes.userName).toBeTruthy();
    }
    expect(userFromScim(capture("GetUserResponse.json"))?.attributes.active).toBe(false);
  });
});

describe("SCIM mapping (pure)", () => {
  test("PatchOp operations: one per changed attribute, in model order", () => {
    expect(
      userPatchOperations({
        set: { email: "a@b.c", active: false, department: "Ops", title: "", phoneNumber: { value: "1" }, managerSourceId: "src" },
        clear: ["nickName", "costCenter"],
        managerScimId: "m-1",
        externalId: "e-1",
      }),
    ).toEqual([
      { op: "replace", path: "emails", value: [{ value: "a@b.c", type: "work", primary: true }] },
      { op: "replace", path: "active", value: false },
      { op: "replace", path: "phoneNumbers", value: [{ value: "1" }] },
      { op: "remove", path: "title" },
      { op: "remove", path: "nickName" },
      { op: "remove", path: `${ENTERPRISE_USER_SCHEMA}:costCenter` },
      { op: "replace", path: `${ENTERPRISE_USER_SCHEMA}:department`, value: "Ops" },
      { op: "replace", path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: { value: "m-1" } },
      { op: "replace", path: "externalId", value: "e-1" },
    ]);
    expect(userPatchOperations({ set: {}, clear: [] })).toEqual([]);
    expect(() => userPatchOperations({ set: { managerSourceId: "x" }, clear: [] })).toThrow("managerScimId");
    expect(() => userPatchOperations({ set: {}, clear: ["userName"] })).toThrow(TypeError);
  });

  test("the create body leaves out managerSourceId and the enterprise URN when unused", () => {
    const body = userToScim("e", { ...attrs(1), managerSourceId: "src" });
    expect(body.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    expect(JSON.stringify(body)).not.toContain("src");
    expect(body[ENTERPRISE_USER_SCHEMA]).toBeUndefined();
  });

  test("filters quote their value", () => {
    expect(eqFilter("displayName", 'a "b" \\c')).toBe('displayName eq "a \\"b\\" \\\\c"');
  });
});
