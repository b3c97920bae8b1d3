/**
 * @module End-to-end: a run with a deadline confirms only what it can reach (src/core/sync.ts
 * `beyondReachFor`). A continued first sync whose remaining creates outlast its budget reads
 * nothing to confirm the groups it will create in a later run (only what the rails count, a
 * delete, wherever it is); the run that reaches them reads their members first. What the runs end with is what one uninterrupted sync makes, with its writes.
 */
import { afterEach, expect, test } from "bun:test";
import { generateOrg } from "../../scripts/gen-org.ts";
import type { LoggedRequest } from "../emulators/request-log.ts";
import { parseScenario } from "../emulators/scenario.ts";
import { startWorld, type World } from "../support/harness.ts";

let worlds: World[] = [];
afterEach(async () => {
  await Promise.all(worlds.map((w) => w.close()));
  worlds = [];
});

/** 600 users at 20 writes/s: a 12 s budget (6 s of writes) creates about 120 of them. */
const CUT = ["sync", "--max-duration", "12s", "--aws-scim-rate-limit", "20"];
const org = () => parseScenario(generateOrg({ users: 600, groups: 10, seed: 5 }));
const isRead = (e: LoggedRequest) => e.method === "GET" || e.method === "HEAD";
const isWrite = (e: LoggedRequest) => !isRead(e);
/** The state as `state show` reports it (whatever the file's format): users held, and users left to create. */
async function stateCounts(w: World): Promise<{ users: number; pending: number }> {
  const shown = (await w.run(["state", "show"])).stdout;
  return { users: Number(/, (\d+) users, /.exec(shown)?.[1]), pending: Number(/(\d+) users left to create by the last run/.exec(shown)?.[1] ?? 0) };
}

test("a continued run whose budget ends within the user creates reads nothing to confirm the groups it cannot reach, only the delete the rails count; the run that reaches them confirms their members; the end equals one sync, with its writes", async () => {
  const scenario = org();
  const cut = await startWorld({ scenario });
  worlds.push(cut);
  const { scim } = cut.emulators;

  expect((await cut.run(CUT)).code).toBe(0);
  let writes = scim.log.total(isWrite);
  const made = (await stateCounts(cut)).users;
  expect(made).toBeGreaterThan(20);
  expect(made).toBeLessThan(300);

  // A user made leaves Google: its delete comes last, far past the reach, yet the rails count it,
  // so it is confirmed (one GET) as a run without a deadline would; it is not started.
  const madeIds = new Set(scim.snapshot().users.map((u) => u.externalId));
  const gone = scenario.google.users.find((u) => madeIds.has(u.id))!;
  scenario.google.users.splice(scenario.google.users.indexOf(gone), 1);
  for (const g of scenario.google.groups) g.members = g.members.filter((m) => m.email?.toLowerCase() !== gone.primaryEmail.toLowerCase());
  const goneScimId = scim.snapshot().users.find((u) => u.externalId === gone.id)!.id;

  // The groups' creates hold the users made so far as members: without the reach, this run
  // would read them all (a users listing) to confirm members it cannot add before its deadline.
  scim.log.clear();
  const continued = await cut.run(CUT);
  expect(continued.code).toBe(0);
  expect(continued.stderr).toContain("continues next run");
  expect(scim.log.entries.filter(isRead).map((e) => `${e.method} ${e.route} ${e.url.endsWith(`/Users/${goneScimId}`)}`)).toEqual(["GET /Users/{id} true"]);
  expect(scim.log.total((e) => e.method === "DELETE")).toBe(0);
  writes += scim.log.total(isWrite);
  const state = await stateCounts(cut);
  expect(state.users).toBe(scim.snapshot().users.length);
  expect(state.users).toBeGreaterThan(made);
  // The creates past the reach are left as any not started: the next run's head start takes them.
  expect(state.pending).toBeGreaterThan(100);

  // A run without a deadline reaches everything: it confirms the members the groups' creates name first.
  scim.log.clear();
  const rest = await cut.run(["sync"]);
  expect(rest.code).toBe(0);
  expect(rest.stderr).not.toContain("continues next run");
  expect(rest.stderr).toContain("ownership: read");
  expect(scim.log.entries.findIndex(isRead)).toBeLessThan(scim.log.entries.findIndex((e) => e.method === "POST" && e.route === "/Groups"));
  writes += scim.log.total(isWrite);
  expect(scim.log.total((e) => e.status === 409)).toBe(0);

  const whole = await startWorld({ scenario });
  worlds.push(whole);
  expect((await whole.run(["sync"])).code).toBe(0);
  // The user that left was made, then deleted: two writes a sync of the organisation as it is now never sends.
  expect(writes).toBe(whole.emulators.scim.log.total(isWrite) + 2);
  expect(scim.snapshot().users.find((u) => u.externalId === gone.id)).toBeUndefined();
  const view = (w: World) => w.emulators.scim.snapshot().users.map((u) => String(u.userName)).sort();
  expect(view(cut)).toEqual(view(whole));
  const groups = (w: World) => {
    const snap = w.emulators.scim.snapshot();
    const name = new Map(snap.users.map((u) => [u.id, String(u.userName)]));
    return snap.groups.map((g) => `${g.displayName}: ${g.members.map((id) => name.get(id)).sort().join(",")}`).sort();
  };
  expect(groups(cut)).toEqual(groups(whole));
}, 120_000);
