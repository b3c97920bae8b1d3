/**
 * @module End-to-end: the state file's format across releases. Version 1 (earlier releases: a
 * SHA-256 `hash` in every entry) and version 2 (no `pendingUserCreates`) are read as they are;
 * version 3 is canonical ASCII JSON.
 */
import { afterEach, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, startWorld, type World } from "../support/harness.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const withHashes = (records: Record<string, object>) => Object.fromEntries(Object.entries(records).map(([id, entry]) => [id, { ...entry, hash: "ab".repeat(32) }]));

test("a version-1 state is read as it is: a run with nothing to do sends no SCIM request and leaves it; the next run with work writes version 3", async () => {
  const scenario = loadScenarioFile(EXAMPLE_SCENARIO);
  world = await startWorld({ scenario });
  expect((await world.run(["sync"])).code).toBe(0);
  const current = JSON.parse(readFileSync(world.statePath, "utf8"));
  expect(current.schemaVersion).toBe(3);
  // As an earlier release wrote it: version 1, pretty-printed, a hash in every entry.
  const v1 = JSON.stringify({ ...current, schemaVersion: 1, users: withHashes(current.users), groups: withHashes(current.groups) }, null, 2);
  writeFileSync(world.statePath, v1);

  world.emulators.scim.log.clear();
  const quiet = await world.run(["sync"]);
  expect(quiet.code).toBe(0);
  expect(world.emulators.scim.log.total()).toBe(0);
  expect(readFileSync(world.statePath, "utf8")).toBe(v1); // nothing to do: nothing written

  scenario.google.users[0]!.name = { ...scenario.google.users[0]!.name, givenName: "Anaïs" };
  const changed = await world.run(["sync"]);
  expect(changed.code).toBe(0);
  expect(world.emulators.scim.log.counts()["PATCH /Users/{id}"]).toBe(1);
  const text = readFileSync(world.statePath, "utf8");
  const saved = JSON.parse(text);
  expect(saved.schemaVersion).toBe(3);
  expect(text).not.toContain('"hash"');
  expect(/^[\x00-\x7e]*$/.test(text)).toBe(true); // "Anaïs" is written as "Ana\u00efs"
  expect(Object.keys(saved.users)).toEqual(Object.keys(current.users));
  expect(Object.values(saved.users).some((u) => (u as { attributes: { givenName: string } }).attributes.givenName === "Anaïs")).toBe(true);
});

test("a version-2 state (an earlier release's, cut short or not) is read as version 3 with nothing pending: the next run plans what is left as always and writes version 3", async () => {
  const scenario = loadScenarioFile(EXAMPLE_SCENARIO);
  world = await startWorld({ scenario });
  expect((await world.run(["sync"])).code).toBe(0);
  const current = JSON.parse(readFileSync(world.statePath, "utf8"));
  // As the previous release wrote it after a run cut short: version 2, one user not created yet.
  const [leftId, left] = Object.entries(current.users as Record<string, { scimId: string }>)[0]!;
  const { [leftId]: _gone, ...users } = current.users;
  writeFileSync(world.statePath, JSON.stringify({ ...current, schemaVersion: 2, users }));
  await fetch(`${world.emulators.scim.url}/Users/${left.scimId}`, { method: "DELETE", headers: { Authorization: `Bearer ${world.emulators.scim.token}` } });

  world.emulators.scim.log.clear();
  const next = await world.run(["sync"]);
  expect(next.code).toBe(0);
  expect(next.stderr).not.toContain("head start"); // nothing recorded as pending: no head start to take
  expect(world.emulators.scim.log.counts()["POST /Users"]).toBe(1);
  const saved = JSON.parse(readFileSync(world.statePath, "utf8"));
  expect(saved.schemaVersion).toBe(3);
  expect(saved.pendingUserCreates).toBeUndefined();
  expect(Object.keys(saved.users).sort()).toEqual(Object.keys(current.users).sort());
});
