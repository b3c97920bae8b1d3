/**
 * @module End-to-end: a first sync cut into budgeted runs, each run after the first taking a head
 * start (src/core/head-start.ts): the users the last run left to create are created from a fresh
 * users read while the groups' members are still being read from Google. What it ends with is
 * what one uninterrupted sync makes, with the same writes and never a 409.
 */
import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { generateOrg } from "../../scripts/gen-org.ts";
import type { LoggedRequest } from "../emulators/request-log.ts";
import { parseScenario, type Scenario } from "../emulators/scenario.ts";
import { spawnIdpscim, startWorld, type World } from "../support/harness.ts";
import { readStateFile } from "../support/state-file.ts";
import { STATE_SCHEMA_VERSION } from "../../src/model/index.ts";

let worlds: World[] = [];
afterEach(async () => {
  await Promise.all(worlds.map((w) => w.close()));
  worlds = [];
});

const org = () => parseScenario(generateOrg({ users: 300, groups: 12, seed: 11 }));
/** The CLI paces its writes at 20/s: 300 users, 12 groups and their members take several 12 s runs. */
const CUT = ["sync", "--max-duration", "12s", "--aws-scim-rate-limit", "20"];

async function world(scenario: Scenario): Promise<World> {
  const w = await startWorld({ scenario });
  worlds.push(w);
  return w;
}

const savedState = (w: World) => readStateFile(w.statePath);

/** The tenant as names: users with their attributes (no SCIM ids), groups with their members' userNames. */
function tenantView(w: World) {
  const snap = w.emulators.scim.snapshot();
  const nameOf = new Map(snap.users.map((u) => [u.id, String(u.userName)]));
  const strip = ({ id: _id, meta: _meta, ...rest }: Record<string, unknown>) => rest;
  const users = snap.users.map((u) => strip(u as unknown as Record<string, unknown>)).sort((a, b) => String(a.userName).localeCompare(String(b.userName)));
  const groups = snap.groups
    .map((g) => ({ displayName: g.displayName, externalId: g.externalId, members: g.members.map((id) => nameOf.get(id)).sort() }))
    .sort((a, b) => a.displayName.localeCompare(b.displayName));
  // Managers are SCIM ids: named by userName instead.
  const text = JSON.stringify({ users, groups }).replace(/"manager":\{"value":"([^"]+)"/g, (m, id: string) => (nameOf.has(id) ? `"manager":{"value":${JSON.stringify(nameOf.get(id))}` : m));
  return JSON.parse(text);
}

const isWrite = (e: LoggedRequest) => e.method !== "GET" && e.method !== "HEAD";

test("a cut first sync: each later run creates the users left while Google's members are still read; a user suspended or deleted in between is not created active; the end equals one uninterrupted sync, with its writes and no 409", async () => {
  const scenario = org();
  const cut = await world(scenario);
  const { scim, google } = cut.emulators;

  const first = await cut.run(CUT);
  expect(first.code).toBe(0);
  expect(first.stderr).toContain("continues next run");
  const left = savedState(cut);
  expect(readFileSync(cut.statePath, "latin1")).toStartWith(`{"schemaVersion":${STATE_SCHEMA_VERSION},`);
  expect(left.pendingUserCreates!.length).toBeGreaterThan(50);
  expect((await cut.run(["state", "show"])).stdout).toContain(`${left.pendingUserCreates!.length} users left to create by the last run`);
  let writes = scim.log.writes();
  let conflicts = scim.log.total((e) => e.status === 409);

  // Between the runs, in Google: one user the first run left is suspended, another deleted.
  const pending = left.pendingUserCreates!.filter((id) => !scenario.google.users.find((u) => u.id === id)?.suspended);
  const suspended = scenario.google.users.find((u) => u.id === pending[0])!;
  const deleted = scenario.google.users.find((u) => u.id === pending[1])!;
  suspended.suspended = true;
  scenario.google.users.splice(scenario.google.users.indexOf(deleted), 1);
  for (const g of scenario.google.groups) g.members = g.members.filter((m) => m.email?.toLowerCase() !== deleted.primaryEmail.toLowerCase());

  // Each Google request takes 150 ms: reading the 12 groups' members takes a while, and the head start writes meanwhile.
  google.faults.latencyMs = 150;
  let runs = 1;
  let overlapped = 0;
  const googleRequests: number[] = [];
  for (; runs < 8; ) {
    scim.log.clear();
    google.log.clear();
    const run = await cut.run(CUT);
    runs++;
    expect(run.code).toBe(0);
    writes += scim.log.writes();
    conflicts += scim.log.total((e) => e.status === 409);
    googleRequests.push(google.log.total());
    const lastMembersList = Math.max(...google.log.entries.filter((e) => e.route.endsWith("members.list")).map((e) => e.at));
    const createsBefore = scim.log.entries.filter((e) => e.method === "POST" && e.route === "/Users" && e.at < lastMembersList).length;
    if (run.stderr.includes("head start: creating")) {
      // The overlap: users created before the last members.list request was even answered.
      expect(createsBefore).toBeGreaterThan(0);
      overlapped++;
    }
    console.log(`run ${runs}: ${scim.log.total((e) => e.method === "POST" && e.route === "/Users")} users created, ${createsBefore} of them before the last members.list; ${scim.log.writes()} writes`);
    if (!run.stderr.includes("continues next run")) break;
  }
  expect(overlapped).toBeGreaterThan(0);
  expect(savedState(cut).pendingUserCreates).toBeUndefined();
  expect(conflicts).toBe(0);

  const users = scim.snapshot().users;
  expect(users.find((u) => u.externalId === deleted.id)).toBeUndefined();
  const held = users.find((u) => u.externalId === suspended.id);
  // sync.suspended_users = "deactivate": the plan creates it inactive, as a single sync does; never active.
  expect(held?.active).toBe(false);

  // The same organisation, as it is now, synced in one uninterrupted run.
  const whole = await world(scenario);
  google.faults.latencyMs = 0;
  expect((await whole.run(["sync"])).code).toBe(0);
  expect(tenantView(cut)).toEqual(tenantView(whole));
  expect(writes).toBe(whole.emulators.scim.log.total(isWrite));
  // Reading the users first costs no Google request more than the usual order: the same pages.
  for (const n of googleRequests) expect(n).toBe(whole.emulators.google.log.total());

  // Done: a run with nothing to do sends no SCIM request.
  scim.log.clear();
  expect((await cut.run(["sync"])).code).toBe(0);
  expect(scim.log.total()).toBe(0);
}, 240_000);

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

test("SIGTERM while the head start creates and Google is still read: the creates in flight end, the state holds every user made, exit 143 saying so; the next runs finish without a 409", async () => {
  const cut = await world(org());
  const { scim, google } = cut.emulators;
  expect((await cut.run(CUT)).code).toBe(0);
  const made = savedState(cut);
  expect(made.pendingUserCreates!.length).toBeGreaterThan(50);

  // 1.5 s a Google request: the members of 12 groups take seconds after the users are read.
  google.faults.latencyMs = 1_500;
  scim.log.clear();
  const running = spawnIdpscim(cut, CUT);
  await waitFor("the head start's first create", () => scim.log.total((e) => e.method === "POST" && e.route === "/Users" && e.status === 201) > 0);
  running.child.kill("SIGTERM");
  const stopped = await running.result;
  expect(stopped.code).toBe(143);
  expect(stopped.stderr).toContain("STOPPED");
  expect(stopped.stderr).toMatch(/the \d+ user\(s\) created while reading \(the head start\) are saved in the state/);
  const users = scim.snapshot().users;
  const saved = savedState(cut);
  expect(users.length).toBeGreaterThan(Object.keys(made.users).length);
  expect(Object.keys(saved.users).length).toBe(users.length); // every user in AWS is recorded

  google.faults.latencyMs = 0;
  let conflicts = 0;
  for (let runs = 0; runs < 8; runs++) {
    scim.log.clear();
    const run = await cut.run(CUT);
    expect(run.code).toBe(0);
    conflicts += scim.log.total((e) => e.status === 409);
    if (!run.stderr.includes("continues next run")) break;
  }
  expect(conflicts).toBe(0);
  expect(savedState(cut).pendingUserCreates).toBeUndefined();
  expect(new Set(scim.snapshot().users.map((u) => u.userName)).size).toBe(scim.snapshot().users.length);
}, 240_000);

test("a budget that runs out while Google is still read, after the head start began: DEADLINE (exit 1) saying the users it created are saved, and the state holds every one", async () => {
  const cut = await world(org());
  const { scim, google } = cut.emulators;
  expect((await cut.run(CUT)).code).toBe(0);
  const before = Object.keys(savedState(cut).users).length;

  // 1.5 s a Google request: the users are read after about 3 s, the members take 3 s more; writes stop starting at 4 s of 8.
  google.faults.latencyMs = 1_500;
  const late = await cut.run(["sync", "--max-duration", "8s", "--aws-scim-rate-limit", "20"]);
  expect(late.code).toBe(1);
  expect(late.stderr).toContain("DEADLINE");
  expect(late.stderr).toMatch(/the time budget ran out while reading the source; the \d+ user\(s\) created while reading \(the head start\) are saved in the state/);
  const users = scim.snapshot().users.length;
  expect(users).toBeGreaterThan(before);
  expect(Object.keys(savedState(cut).users)).toHaveLength(users);
}, 120_000);
