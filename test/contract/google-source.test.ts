/** @module Contract tests of GoogleDirectorySource against the Google emulator (token endpoint + Directory API). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGoogleDirectorySource, type GoogleDirectorySourceOptions } from "../../src/adapters/google/directory-source.ts";
import { DIRECTORY_READONLY_SCOPES } from "../../src/adapters/google/service-account.ts";
import { isSyncError, type SyncError } from "../../src/core/errors.ts";
import type { SourceSnapshot } from "../../src/core/ports.ts";
import { USER_FIELD_NAMES, type UserFieldName } from "../../src/model/index.ts";
import { seededRandom } from "../emulators/faults.ts";
import { startGoogleEmulator, type GoogleEmulator, type GoogleEmulatorOptions } from "../emulators/google/server.ts";
import { EXAMPLE_SCENARIO } from "../support/paths.ts";
import { loadScenarioFile, parseScenario, type Scenario } from "../emulators/scenario.ts";

const EXAMPLE = EXAMPLE_SCENARIO;
const ALL_FIELDS = new Set<UserFieldName>(USER_FIELD_NAMES);
const FAST_RETRY = { attempts: 10, baseDelayMs: 1, maxDelayMs: 5 };

let dir: string;
const running: GoogleEmulator[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "idpscim-google-source-"));
});

afterAll(async () => {
  await Promise.all(running.map((e) => e.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function emulator(scenario: Scenario, extra: Partial<GoogleEmulatorOptions> = {}): Promise<GoogleEmulator> {
  const e = await startGoogleEmulator({ scenario, directory: dir, ...extra });
  running.push(e);
  return e;
}

function source(e: GoogleEmulator, extra: Partial<GoogleDirectorySourceOptions> = {}) {
  return createGoogleDirectorySource({
    serviceAccountKey: readFileSync(e.serviceAccountFile, "utf8"),
    adminEmail: e.adminEmail,
    groupsFilter: [],
    userFields: ALL_FIELDS,
    apiUrl: e.url,
    tokenUrl: e.tokenUrl,
    retry: FAST_RETRY,
    ...extra,
  });
}

async function failure(promise: Promise<unknown>): Promise<SyncError> {
  try {
    await promise;
  } catch (error) {
    if (isSyncError(error)) return error;
    throw error;
  }
  throw new Error("expected the read to fail");
}

const byEmail = (snapshot: SourceSnapshot, email: string) => {
  const user = snapshot.users.find((u) => u.attributes.email === email);
  if (!user) throw new Error(`no user ${email}`);
  return user;
};
const groupNamed = (snapshot: SourceSnapshot, name: string) => {
  const group = snapshot.groups.find((g) => g.displayName === name);
  if (!group) throw new Error(`no group ${name}`);
  return group;
};
const idsOf = (snapshot: SourceSnapshot, ...locals: string[]) =>
  locals.map((l) => snapshot.users.find((u) => u.attributes.email.startsWith(`${l}@`))!.sourceId).sort();

describe("GoogleDirectorySource: example scenario", () => {
  test("reads every group with derived members, skips the external account, flags suspension", async () => {
    const e = await emulator(loadScenarioFile(EXAMPLE));
    const src = source(e);
    const snapshot = await src.read();

    expect(snapshot.groups.map((g) => g.displayName).sort()).toEqual(["AWS Admins", "AWS BreakGlass", "AWS Developers", "AWS ReadOnly", "All Staff"]);
    expect(snapshot.users).toHaveLength(12);
    // Nested groups come back flattened: AWS Admins ⊃ AWS BreakGlass, AWS ReadOnly ⊃ AWS Developers.
    expect(groupNamed(snapshot, "AWS Admins").memberSourceIds).toEqual(idsOf(snapshot, "ana.lima", "bo.chen", "jo.ng"));
    expect(groupNamed(snapshot, "AWS ReadOnly").memberSourceIds).toEqual(
      idsOf(snapshot, "hana.sato", "ivan.petrov", "carla.diaz", "dev.patel", "eun.kim", "farah", "goran.ivic"),
    );
    expect(groupNamed(snapshot, "AWS Developers").memberSourceIds).toEqual(idsOf(snapshot, "carla.diaz", "dev.patel", "eun.kim", "farah", "goran.ivic"));
    expect(groupNamed(snapshot, "All Staff").memberSourceIds).toHaveLength(12);
    for (const g of snapshot.groups) expect(g.memberSourceIds).toEqual([...new Set(g.memberSourceIds)].sort());
    expect(groupNamed(snapshot, "AWS Admins").sourceId).toBe("200000000000000000001");

    // The contractor is a member but has no Directory user: one warning, not a member anywhere.
    const external = snapshot.warnings.filter((w) => w.includes("contractor@partner.example"));
    expect(external).toHaveLength(1);
    expect(external[0]).toContain("external account");
    expect(snapshot.users.some((u) => u.attributes.email.includes("partner"))).toBe(false);

    const dev = byEmail(snapshot, "dev.patel@example.com");
    expect(dev.suspended).toBe(true);
    expect(dev.attributes.active).toBe(true);
    expect(snapshot.users.filter((u) => u.suspended)).toHaveLength(1);

    expect(byEmail(snapshot, "farah@example.com").attributes).toMatchObject({ givenName: "Farah", familyName: "Farah", displayName: "Farah" });
    expect(byEmail(snapshot, "goran.ivic@example.com").attributes.familyName).toBe("Ivić");

    const ana = byEmail(snapshot, "ana.lima@example.com");
    const bo = byEmail(snapshot, "bo.chen@example.com");
    expect(ana.sourceId).toBe("100000000000000000001");
    expect(ana.attributes).toMatchObject({
      userName: "ana.lima@example.com",
      managerSourceId: bo.sourceId,
      title: "Staff Engineer",
      department: "Platform",
      costCenter: "CC-10",
      organization: "Example Corp",
      employeeNumber: "E-0001",
      phoneNumber: { value: "+351 21 000 0001", type: "work" },
    });
    expect(bo.attributes.managerSourceId).toBeUndefined();
    expect(byEmail(snapshot, "carla.diaz@example.com").attributes.preferredLanguage).toBe("es");
    expect(byEmail(snapshot, "eun.kim@example.com").attributes.address).toEqual({
      type: "work", streetAddress: "1 Harbour Rd", locality: "Busan", postalCode: "48000", country: "KR",
    });

    // Request counts: 1 token, 1 groups.list, 5 members.list, 1 users.list page (the whole 12-user domain;
    // the contractor is simply absent from it). users.get per member would have cost 13.
    const counts = e.log.counts();
    console.log("example-small request counts (emulator):", JSON.stringify(counts), "source:", JSON.stringify(src.stats()));
    expect(counts).toEqual({ "POST /token": 1, "GET groups.list": 1, "GET members.list": 5, "GET users.list": 1 });
    expect(src.stats()).toEqual({
      requests: { token: 1, "groups.list": 1, "members.list": 5, "users.list": 1 },
      retries: 0,
      throttled: 0,
      pace: { limitRps: 35, currentRps: 35, lowestRps: 35 },
      readMs: expect.any(Number),
      userFetch: "users.list",
    });
  });

  test("requests only the user fields the selection needs", async () => {
    const e = await emulator(loadScenarioFile(EXAMPLE));
    const snapshot = await source(e, { userFields: new Set() }).read();
    const ana = byEmail(snapshot, "ana.lima@example.com");
    expect(Object.keys(ana.attributes).sort()).toEqual(["active", "displayName", "email", "familyName", "formattedName", "givenName", "userName"]);
    const list = e.log.entries.find((x) => x.route === "users.list")!;
    expect(new URL(list.url, "http://x").searchParams.get("fields")).toBe("nextPageToken,users(id,primaryEmail,name,suspended,archived)");
  });

  test("groups filters are ORed and de-duplicated by id", async () => {
    const e = await emulator(loadScenarioFile(EXAMPLE));
    const only = await source(e, { groupsFilter: ["email:aws-*"] }).read();
    expect(only.groups.map((g) => g.displayName).sort()).toEqual(["AWS Admins", "AWS BreakGlass", "AWS Developers", "AWS ReadOnly"]);
    expect(only.users).toHaveLength(10); // kai.berg and lena.vogel are only in All Staff

    e.log.clear();
    const ored = await source(e, { groupsFilter: ["email:aws-*", "name='All Staff'", "name='AWS Admins'"] }).read();
    expect(ored.groups.map((g) => g.displayName).sort()).toEqual(["AWS Admins", "AWS BreakGlass", "AWS Developers", "AWS ReadOnly", "All Staff"]);
    expect(ored.users).toHaveLength(12);
    const counts = e.log.counts();
    expect(counts["GET groups.list"]).toBe(3);
    expect(counts["GET members.list"]).toBe(5);
  });

  test("archived users count as suspended; an all-users (CUSTOMER) member is reported, not expanded", async () => {
    const scenario = parseScenario({
      google: {
        users: [
          { id: "11", primaryEmail: "old@example.com", name: { givenName: "Old", familyName: "Timer" }, archived: true },
          { id: "12", primaryEmail: "new@example.com", name: { givenName: "New", familyName: "Hire" } },
        ],
        groups: [
          { id: "21", email: "aws-all@example.com", name: "AWS All", members: [{ type: "CUSTOMER", role: "MEMBER" }, { email: "old@example.com" }, { email: "new@example.com" }] },
        ],
      },
    });
    const e = await emulator(scenario);
    const snapshot = await source(e).read();
    expect(byEmail(snapshot, "old@example.com").suspended).toBe(true);
    expect(byEmail(snapshot, "new@example.com").suspended).toBe(false);
    expect(groupNamed(snapshot, "AWS All").memberSourceIds).toEqual(["11", "12"]);
    expect(snapshot.warnings).toEqual([expect.stringContaining("aws-all@example.com") as unknown as string]);
  });
});

/** 1200 users; one group of 450 members, every user whose index mod 8 is 0, 1 or 2 (spread over all users.list pages). */
function largeScenario(pickMember: (i: number) => boolean = (i) => i % 8 < 3): Scenario {
  const users = Array.from({ length: 1200 }, (_, i) => {
    const n = String(i).padStart(4, "0");
    return { id: `1${n.padStart(20, "0")}`, primaryEmail: `user${n}@example.com`, name: { givenName: "User", familyName: n } };
  });
  const members = users.filter((_, i) => pickMember(i)).map((u) => ({ email: u.primaryEmail, type: "USER", role: "MEMBER" }));
  return parseScenario({
    google: {
      domain: "example.com",
      customerId: "C0big",
      adminEmail: "admin@example.com",
      users,
      groups: [{ id: "200000000000000000099", email: "big@example.com", name: "Big", members }],
    },
  });
}

describe("GoogleDirectorySource: paging and retries", () => {
  test("follows nextPageToken: 450 members take 3 members.list pages; 450 > 50 members use users.list", async () => {
    const e = await emulator(largeScenario());
    const src = source(e);
    const snapshot = await src.read();
    expect(snapshot.users).toHaveLength(450);
    expect(groupNamed(snapshot, "Big").memberSourceIds).toHaveLength(450);
    const counts = e.log.counts();
    console.log("1200 users / 450 members request counts:", JSON.stringify(counts));
    expect(counts["GET members.list"]).toBe(3);
    expect(counts["GET users.list"]).toBe(3);
    expect(counts["GET users.get"]).toBeUndefined();
    expect(src.stats().userFetch).toBe("users.list");
  });

  test("a large domain with few members in scope: one users.list page, then users.get for the members still unseen", async () => {
    // 1,200 users; 20 members, all past the first page of 500.
    const e = await emulator(largeScenario((i) => i >= 1100 && i < 1120));
    const src = source(e);
    const snapshot = await src.read();
    expect(snapshot.users).toHaveLength(20);
    const counts = e.log.counts();
    expect(counts["GET users.list"]).toBe(1);
    expect(counts["GET users.get"]).toBe(20);
    expect(src.stats().userFetch).toBe("users.list+users.get");
  });

  test("users.list stops once every member has been seen", async () => {
    const e = await emulator(largeScenario((i) => i < 450));
    const snapshot = await source(e).read();
    expect(snapshot.users).toHaveLength(450);
    expect(e.log.counts()["GET users.list"]).toBe(1);
  });

  test("403 userRateLimitExceeded at rate 0.3: the read succeeds and every retry is counted", async () => {
    const e = await emulator(loadScenarioFile(EXAMPLE), { quota: { userRateLimitRate: 0.3 }, faults: { random: seededRandom(7) } });
    const src = source(e);
    const snapshot = await src.read();
    expect(snapshot.users).toHaveLength(12);
    expect(snapshot.groups).toHaveLength(5);
    const throttled = e.log.entries.filter((x) => x.status === 403).length;
    expect(throttled).toBeGreaterThan(0);
    expect(src.stats().retries).toBe(throttled);
    const apiRequests = e.log.total((x) => x.route !== "/token");
    const { token: _token, ...api } = src.stats().requests;
    expect(Object.values(api).reduce((a, b) => a + b, 0)).toBe(apiRequests);
  });

  test("quota errors (403 userRateLimitExceeded and quotaExceeded, 429 rateLimitExceeded) halve the pace; the read is the same as without them", async () => {
    const clean = await source(await emulator(loadScenarioFile(EXAMPLE))).read();
    const e = await emulator(loadScenarioFile(EXAMPLE), {
      quota: { userRateLimitRate: 0.2, quotaExceededRate: 0.1, rateLimitRate: 0.1 },
      faults: { random: seededRandom(11) },
    });
    const lines: string[] = [];
    const logger = { debug: (m: string) => lines.push(m), info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
    const src = source(e, { logger });
    const snapshot = await src.read();
    expect(snapshot).toEqual(clean);

    const quotaAnswers = e.log.total((x) => x.status === 403 || x.status === 429);
    expect(quotaAnswers).toBeGreaterThan(0);
    const stats = src.stats();
    expect(stats.throttled).toBe(quotaAnswers);
    expect(stats.retries).toBe(quotaAnswers);
    // The pace starts at gws.rate_limit (35/s by default) and the first quota error halves it.
    expect(stats.pace.limitRps).toBe(35);
    expect(stats.pace.lowestRps).toBeLessThanOrEqual(35 / 2);
    expect(lines.some((l) => /^google: pace slowed to [\d.]+\/s \(was 35\/s\)$/.test(l))).toBe(true);
    const readLine = lines.find((l) => l.includes(`, ${quotaAnswers} quota errors: pace slowed from 35/s to `));
    expect(readLine).toBeDefined();
    console.log("quota faults:", JSON.stringify(e.log.counts()), readLine);
  });

  test("a 503 on the 2nd members.list page is retried and the page is not lost", async () => {
    const e = await emulator(largeScenario(), { failPages: [{ route: "members.list", nth: 2 }] });
    const src = source(e);
    const snapshot = await src.read();
    expect(groupNamed(snapshot, "Big").memberSourceIds).toHaveLength(450);
    expect(e.log.counts()["GET members.list"]).toBe(4);
    expect(src.stats().retries).toBe(1);
  });

  test("persistent 503: SOURCE_READ after exactly `attempts` requests (no library retries), no result", async () => {
    const e = await emulator(loadScenarioFile(EXAMPLE), { faults: { errorRate: 1 } });
    const error = await failure(source(e, { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } }).read());
    expect(error.code).toBe("SOURCE_READ");
    expect(error.message).toContain("groups.list");
    expect(error.message).toContain("503 backendError");
    expect(e.log.counts()["GET groups.list"]).toBe(3);
  });

  test("a members.list that keeps failing mid-read aborts the whole read", async () => {
    const failPages = Array.from({ length: 20 }, (_, i) => ({ route: "members.list" as const, nth: i + 1 }));
    const e = await emulator(loadScenarioFile(EXAMPLE), { failPages });
    const error = await failure(source(e, { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 }, concurrency: 1 }).read());
    expect(error.code).toBe("SOURCE_READ");
    expect(error.message).toMatch(/^members\.list \S+ failed: 503 backendError/);
    expect(e.log.counts()["GET users.get"]).toBeUndefined();
  });
});

describe("GoogleDirectorySource: authorisation and configuration", () => {
  test("a scope missing from domain-wide delegation: SOURCE_AUTH naming the three scopes", async () => {
    const e = await emulator(loadScenarioFile(EXAMPLE), { grantedScopes: DIRECTORY_READONLY_SCOPES.slice(0, 2) });
    const error = await failure(source(e).read());
    expect(error.code).toBe("SOURCE_AUTH");
    expect(error.message).toContain("401 unauthorized_client");
    for (const scope of DIRECTORY_READONLY_SCOPES) expect(error.hint).toContain(scope);
    expect(error.hint).toContain("Domain-wide delegation");
    expect(error.hint).toContain(e.serviceAccountKey.client_id!);
    expect(e.log.counts()).toEqual({ "POST /token": 1 });
  });

  test("a delegated user who is not an admin: SOURCE_AUTH naming gws.user_email", async () => {
    const e = await emulator(loadScenarioFile(EXAMPLE));
    const error = await failure(source(e, { adminEmail: "ana.lima@example.com" }).read());
    expect(error.code).toBe("SOURCE_AUTH");
    expect(error.message).toContain("403 forbidden");
    expect(error.hint).toContain("gws.user_email");
    expect(error.hint).toContain("super admin");
  });

  test("a bad key file: CONFIG_INVALID naming gws.service_account_file, without key material", async () => {
    const e = await emulator(loadScenarioFile(EXAMPLE));
    const text = readFileSync(e.serviceAccountFile, "utf8");
    const key = JSON.parse(text) as Record<string, string>;
    const secretLines = key.private_key!.split("\n").filter((l) => l.length > 20);
    const bad = [
      text.slice(0, text.length / 2), // truncated JSON
      "not json at all",
      JSON.stringify({ ...key, type: "authorized_user" }),
      JSON.stringify({ ...key, client_email: undefined }),
      JSON.stringify({ ...key, private_key: "" }),
      JSON.stringify([key]),
    ];
    for (const serviceAccountKey of bad) {
      let error: unknown;
      try {
        source(e, { serviceAccountKey });
      } catch (caught) {
        error = caught;
      }
      expect(isSyncError(error)).toBe(true);
      const e2 = error as SyncError;
      expect(e2.code).toBe("CONFIG_INVALID");
      expect(e2.hint).toContain("gws.service_account_file");
      const shown = `${e2.describe()} ${String(e2.cause ?? "")}`;
      expect(shown).not.toContain("PRIVATE KEY");
      for (const line of secretLines) expect(shown).not.toContain(line);
    }
    expect(e.log.total()).toBe(0);
  });
});
