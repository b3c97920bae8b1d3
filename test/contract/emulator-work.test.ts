/**
 * @module Per-request cost of the emulators as a count of work, not a time (issue #11): a page or
 * an eq lookup examines O(page) entries whatever the organisation's size. Measured through each
 * emulator's work meter (test/emulators/work.ts) at 1,000 and at 20,000 users.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createSign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateOrg } from "../../scripts/gen-org.ts";
import { DIRECTORY_READONLY_SCOPES, startGoogleEmulator, type GoogleEmulator } from "../emulators/google/server.ts";
import { parseScenario, type Scenario } from "../emulators/scenario.ts";
import { startScimEmulator, type ScimEmulator } from "../emulators/scim/server.ts";
import type { WorkMeter } from "../emulators/work.ts";

const tmp = mkdtempSync(join(tmpdir(), "emulator-work-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SIZES = [1_000, 20_000] as const;
/** Allowed growth from 1,000 to 20,000 users: binary-search steps and the like, not the organisation. */
const SLACK = 40;

async function googleToken(emu: GoogleEmulator): Promise<string> {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: emu.serviceAccountKey.client_email, scope: DIRECTORY_READONLY_SCOPES.join(" "), aud: "https://oauth2.googleapis.com/token", iat: now, exp: now + 3600, sub: emu.adminEmail };
  const input = `${b64({ alg: "RS256" })}.${b64(claims)}`;
  const jwt = `${input}.${createSign("RSA-SHA256").update(input).sign(emu.serviceAccountKey.private_key!).toString("base64url")}`;
  const res = await fetch(emu.tokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: jwt }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Runs one request and returns its body with the work it cost. */
async function measured(work: WorkMeter, url: string, headers: Record<string, string>) {
  const before = { examined: work.examined, checked: work.checked, indexed: work.indexed };
  const res = await fetch(url, { headers });
  expect(res.status).toBe(200);
  const body = (await res.json()) as Record<string, unknown>;
  return { body, cost: { examined: work.examined - before.examined, checked: work.checked - before.checked, indexed: work.indexed - before.indexed } };
}

type Costs = Record<string, { examined: number; checked: number; indexed: number }>;

async function googleCosts(scenario: Scenario): Promise<Costs> {
  const emu = await startGoogleEmulator({ scenario, directory: tmp });
  try {
    const headers = { Authorization: `Bearer ${await googleToken(emu)}` };
    const api = `${emu.url}/admin/directory/v1`;
    const costs: Costs = {};
    const run = async (name: string, path: string) => {
      const r = await measured(emu.work, `${api}${path}`, headers);
      costs[name] = r.cost;
      return r.body;
    };
    // Warm: the first listing builds the indexes (O(organisation), once per scenario state).
    const first = await run("users.list start (cold)", "/users?customer=my_customer&maxResults=500");
    await run("users.list start", "/users?customer=my_customer&maxResults=500");
    await run("users.list next page", `/users?customer=my_customer&maxResults=500&pageToken=${first.nextPageToken}`);
    const someone = scenario.google.users[Math.floor(scenario.google.users.length / 2)]!.primaryEmail;
    await run("users.list email:prefix* start (cold)", "/users?customer=my_customer&query=email:nobody*");
    await run("users.list email:prefix* start", `/users?customer=my_customer&query=${encodeURIComponent(`email:${someone.split("@")[0]}@*`)}`);
    await run("users.get", `/users/${encodeURIComponent(someone)}`);
    await run("groups.list start (cold)", "/groups?customer=my_customer&maxResults=20");
    const groups = await run("groups.list start", "/groups?customer=my_customer&maxResults=20");
    await run("groups.list next page", `/groups?customer=my_customer&maxResults=20&pageToken=${groups.nextPageToken}`);
    const largest = [...scenario.google.groups].sort((a, b) => b.members.length - a.members.length)[0]!;
    // The first listing of a group computes its derived members: O(group), once per scenario state.
    await run("members.list start (cold)", `/groups/${largest.id}/members?maxResults=50&includeDerivedMembership=true`);
    const members = await run("members.list start", `/groups/${largest.id}/members?maxResults=50&includeDerivedMembership=true`);
    await run("members.list next page", `/groups/${largest.id}/members?maxResults=50&includeDerivedMembership=true&pageToken=${members.nextPageToken}`);
    return costs;
  } finally {
    await emu.close();
  }
}

async function scimCosts(scenario: Scenario): Promise<Costs> {
  const emu: ScimEmulator = await startScimEmulator({ scenario });
  try {
    const headers = { Authorization: `Bearer ${emu.token}` };
    const costs: Costs = {};
    const run = async (name: string, path: string) => {
      const r = await measured(emu.work, `${emu.url}${path}`, headers);
      costs[name] = r.cost;
      return r.body;
    };
    const first = await run("Users cursor start", "/Users?cursor&count=50");
    await run("Users cursor next page", `/Users?cursor=${encodeURIComponent(String(first.nextCursor))}&count=50`);
    await run("Users legacy page", "/Users?count=50");
    const someone = scenario.scim.users[Math.floor(scenario.scim.users.length / 2)]!;
    await run("Users userName eq", `/Users?filter=${encodeURIComponent(`userName eq "${someone.userName}"`)}`);
    await run("Users externalId eq", `/Users?filter=${encodeURIComponent(`externalId eq "${someone.externalId}"`)}`);
    await run("Groups members.value eq", `/Groups?filter=${encodeURIComponent(`members.value eq "${someone.id}"`)}`);
    // A group's members, as a full read lists them: the group holds every user, so its pages must not cost its size.
    const members = encodeURIComponent(`groups.value eq "${EVERYONE}"`);
    await run("Users groups.value eq start (cold)", `/Users?filter=${members}&cursor&count=50`);
    const page = await run("Users groups.value eq start", `/Users?filter=${members}&cursor&count=50`);
    await run("Users groups.value eq next page", `/Users?filter=${members}&cursor=${encodeURIComponent(String(page.nextCursor))}&count=50`);
    return costs;
  } finally {
    await emu.close();
  }
}

/** A SCIM group holding every user of the tenant (All Staff, as a full read lists its members). */
const EVERYONE = "9067729b3d-everyone";

function withEveryone(scenario: Scenario): Scenario {
  scenario.scim.groups.push({ id: EVERYONE, displayName: "Everyone", members: scenario.scim.users.map((u) => u.id) });
  return scenario;
}

describe("per-request work does not grow with the organisation (issue #11)", () => {
  const scenarios = SIZES.map((users) => withEveryone(parseScenario(generateOrg({ users, groups: users / 20, seed: 7, scimUsers: users }))));

  test.each([["Google", googleCosts], ["SCIM", scimCosts]] as const)("%s emulator: pages and lookups examine O(page) entries at 1,000 and 20,000 users", async (_name, costsOf) => {
    const [small, large] = [await costsOf(scenarios[0]!), await costsOf(scenarios[1]!)];
    for (const [request, cost] of Object.entries(large)) {
      if (request.includes("(cold)")) continue; // builds the indexes: O(organisation), once per scenario state
      const base = small[request]!;
      // Entries examined answering: the same at both sizes, up to binary-search steps; no index rebuilt.
      expect({ request, examined: cost.examined, indexed: cost.indexed }).toEqual({ request, examined: expect.any(Number), indexed: 0 });
      expect({ request, bounded: cost.examined <= base.examined + SLACK }).toEqual({ request, bounded: true });
      // Continuation pages and lookups compare only what they serve with the live scenario; a
      // listing start (users.list/groups.list/members.list without pageToken) re-checks it whole.
      if (!request.includes("start")) expect({ request, checked: cost.checked <= base.checked + SLACK }).toEqual({ request, checked: true });
    }
    // The page sizes bound the work too (500 users, 20 groups, 50 members, 50 SCIM resources).
    expect(large["users.list next page"]?.examined ?? large["Users cursor next page"]!.examined).toBeLessThanOrEqual(500 + SLACK);
  }, 120_000);
});
