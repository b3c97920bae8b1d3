/**
 * @module End-to-end: the state file's format across releases. Version 1 (earlier releases: a
 * SHA-256 `hash` in every entry), version 2 (no `pendingUserCreates`) and version 3 (users and
 * groups as objects keyed by source id) are read as they are and left alone by a run with nothing
 * to do; a run that changes something writes version 4: canonical ASCII JSON, users as rows.
 */
import { afterEach, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import type { SyncState } from "../../src/model/index.ts";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, startWorld, type World } from "../support/harness.ts";
import { readStateFile, stateFileText, stateFileV3 } from "../support/state-file.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const withHashes = (records: Record<string, object>) => Object.fromEntries(Object.entries(records).map(([id, entry]) => [id, { ...entry, hash: "ab".repeat(32) }]));

/** The next run after a change in Google: one PATCH, and the file written as version 4, canonical and ASCII, holding the change. */
async function expectVersion4After(w: World, scenario: ReturnType<typeof loadScenarioFile>, before: SyncState): Promise<void> {
  scenario.google.users[0]!.name = { ...scenario.google.users[0]!.name, givenName: "Anaïs" };
  const changed = await w.run(["sync"]);
  expect(changed.code).toBe(0);
  expect(w.emulators.scim.log.counts()["PATCH /Users/{id}"]).toBe(1);
  const text = readFileSync(w.statePath, "latin1");
  expect(text).toStartWith('{"schemaVersion":4,');
  expect(text).not.toContain('"hash"');
  expect(/^[\x00-\x7e]*$/.test(text)).toBe(true); // "Anaïs" is written as "Ana\u00efs"
  const saved = readStateFile(w.statePath);
  expect(stateFileText(saved)).toBe(text);
  expect(Object.keys(saved.users).sort()).toEqual(Object.keys(before.users).sort());
  expect(saved.groups).toEqual(before.groups);
  expect(Object.values(saved.users).filter((u) => u.attributes.givenName === "Anaïs")).toHaveLength(1);
}

test("a version-1 state is read as it is: a run with nothing to do sends no SCIM request and leaves it; the next run with work writes version 4", async () => {
  const scenario = loadScenarioFile(EXAMPLE_SCENARIO);
  world = await startWorld({ scenario });
  expect((await world.run(["sync"])).code).toBe(0);
  const current = readStateFile(world.statePath);
  // As an earlier release wrote it: version 1, pretty-printed, a hash in every entry.
  const v1 = JSON.stringify({ ...current, schemaVersion: 1, users: withHashes(current.users), groups: withHashes(current.groups) }, null, 2);
  writeFileSync(world.statePath, v1);

  world.emulators.scim.log.clear();
  const quiet = await world.run(["sync"]);
  expect(quiet.code).toBe(0);
  expect(world.emulators.scim.log.total()).toBe(0);
  expect(readFileSync(world.statePath, "utf8")).toBe(v1); // nothing to do: nothing written
  await expectVersion4After(world, scenario, current);
});

test("a version-3 state (the previous release's) is read as it is and not rewritten by a run with nothing to do; the next run with work writes version 4", async () => {
  const scenario = loadScenarioFile(EXAMPLE_SCENARIO);
  world = await startWorld({ scenario });
  expect((await world.run(["sync"])).code).toBe(0);
  const current = readStateFile(world.statePath);
  const v3 = stateFileV3(current);
  writeFileSync(world.statePath, v3);

  world.emulators.scim.log.clear();
  const quiet = await world.run(["sync"]);
  expect(quiet.code).toBe(0);
  expect(world.emulators.scim.log.total()).toBe(0);
  expect(readFileSync(world.statePath, "utf8")).toBe(v3);
  await expectVersion4After(world, scenario, current);
});

test("a version-2 state (an earlier release's, cut short or not) is read with nothing pending: the next run plans what is left as always and writes version 4", async () => {
  const scenario = loadScenarioFile(EXAMPLE_SCENARIO);
  world = await startWorld({ scenario });
  expect((await world.run(["sync"])).code).toBe(0);
  const current = readStateFile(world.statePath);
  // As the previous release wrote it after a run cut short: version 2, one user not created yet.
  const [leftId, left] = Object.entries(current.users)[0]!;
  const { [leftId]: _gone, ...users } = current.users;
  writeFileSync(world.statePath, JSON.stringify({ ...current, schemaVersion: 2, users }));
  await fetch(`${world.emulators.scim.url}/Users/${left.scimId}`, { method: "DELETE", headers: { Authorization: `Bearer ${world.emulators.scim.token}` } });

  world.emulators.scim.log.clear();
  const next = await world.run(["sync"]);
  expect(next.code).toBe(0);
  expect(next.stderr).not.toContain("head start"); // nothing recorded as pending: no head start to take
  expect(world.emulators.scim.log.counts()["POST /Users"]).toBe(1);
  expect(readFileSync(world.statePath, "latin1")).toStartWith('{"schemaVersion":4,');
  const saved = readStateFile(world.statePath);
  expect(saved.pendingUserCreates).toBeUndefined();
  expect(Object.keys(saved.users).sort()).toEqual(Object.keys(current.users).sort());
});
