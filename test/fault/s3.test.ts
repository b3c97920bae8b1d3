/**
 * @module Fault tests, state on S3: a state that cannot be saved makes the run exit non-zero and
 * the next clean run converges; a state another writer changed while a run goes is never
 * overwritten (STATE_CONFLICT), and the newer state survives.
 */
import { describe, expect, test } from "bun:test";
import { generateOrg } from "../../scripts/gen-org.ts";
import { parseScenario, type Scenario } from "../emulators/scenario.ts";
import { startWorld, type World } from "../support/harness.ts";
import { assertConverged, baselineOf, desiredFromScenario, readState, record, statusCounts } from "./converge.ts";

const STATE_KEY = "data/state.json";

async function withWorld<T>(scenario: Scenario, body: (w: World) => Promise<T>): Promise<T> {
  const w = await startWorld({ scenario }, { state: "s3" });
  try {
    return await body(w);
  } finally {
    await w.close();
  }
}

/** Calls `action` once the S3 emulator has answered the run's state read (GetObject), polling its log. */
function afterStateRead(w: World, action: () => void | Promise<void>): { done: Promise<boolean>; stop(): void } {
  let timer: ReturnType<typeof setInterval> | undefined;
  let settle: (fired: boolean) => void = () => {};
  const done = new Promise<boolean>((resolve) => (settle = resolve));
  const seenBefore = w.emulators.s3.log.entries.length;
  timer = setInterval(() => {
    const read = w.emulators.s3.log.entries.slice(seenBefore).some((e) => e.method === "GET" && e.route === "/{bucket}/{key}");
    if (!read) return;
    clearInterval(timer);
    timer = undefined;
    Promise.resolve(action()).then(() => settle(true));
  }, 2);
  return {
    done,
    stop() {
      if (timer !== undefined) {
        clearInterval(timer);
        settle(false);
      }
    },
  };
}

/** Work for a second run: a new member in the first group and a renamed group. */
function changeSource(scenario: Scenario): void {
  scenario.google.users.push({ id: "199999999999999999999", primaryEmail: "newcomer@example.com", name: { givenName: "New", familyName: "Comer" }, suspended: false, archived: false, orgUnitPath: "/" });
  scenario.google.groups[0]!.members.push({ email: "newcomer@example.com", type: "USER", role: "MEMBER", status: "ACTIVE" });
  scenario.google.groups[1]!.name = `${scenario.google.groups[1]!.name} (renamed)`;
}

/** PUTs of the state itself (the run lock `<key>.lock` is written too, and counted apart). */
const s3Writes = (w: World) => statusCounts(w.emulators.s3.log, (e) => e.method === "PUT" && !e.url.includes(".lock"));

/**
 * With S3 failing, the failed run cannot delete its run lock either, and says so. The next run
 * (on this machine: the lock's process is gone) takes it over at once.
 */
function expectLockLeft(w: World, stderr: string): void {
  expect(stderr).toContain(`cannot delete the run lock s3://${w.emulators.s3.bucket}/${STATE_KEY}.lock`);
}

describe.concurrent("S3 state faults", () => {
  test("every state write fails during a first run: exit 1; a clean run converges without duplicates", async () => {
    const seed = 31;
    const scenario = parseScenario(generateOrg({ users: 120, groups: 12, seed, scimUsers: 20 }));
    await withWorld(scenario, async (w) => {
      const baseline = baselineOf(w, scenario);
      const watch = afterStateRead(w, () => void (w.emulators.s3.faults.errorRate = 1));
      const failed = await w.run(["sync"]);
      watch.stop();
      expect(await watch.done).toBe(true);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain("cannot write state");
      w.emulators.s3.faults.errorRate = 0;
      expectLockLeft(w, failed.stderr);
      const writes = s3Writes(w);
      expect(writes.byStatus["500"]).toBe(writes.total);
      expect(await readState(w, "s3")).toBeUndefined();
      const scimDuringFailure = w.emulators.scim.log.writes();

      w.emulators.scim.log.clear();
      const clean = await w.run(["sync"]);
      expect(clean.code).toBe(0);
      expect(clean.stderr).toContain("that process is gone");
      const converged = await assertConverged(w, baseline, "s3");
      // What the failed run created is adopted, not created twice.
      expect(w.emulators.scim.log.entries.filter((e) => e.status === 409)).toHaveLength(0);
      record("s3-save-fails-first-run", { seed, code: failed.code, s3Puts: writes, scimWritesDuringFailure: scimDuringFailure, cleanScim: statusCounts(w.emulators.scim.log), converged });
    });
  });

  test("state writes fail in a later run (state older than AWS afterwards): exit 1, state unchanged; a clean run converges", async () => {
    const seed = 32;
    const scenario = parseScenario(generateOrg({ users: 80, groups: 8, seed, scimUsers: 10 }));
    await withWorld(scenario, async (w) => {
      const baseline = baselineOf(w, scenario);
      expect((await w.run(["sync"])).code).toBe(0);
      const before = await readState(w, "s3");
      changeSource(scenario);
      w.emulators.s3.log.clear();
      w.emulators.scim.log.clear();
      const watch = afterStateRead(w, () => void (w.emulators.s3.faults.errorRate = 1));
      const failed = await w.run(["sync"]);
      watch.stop();
      expect(await watch.done).toBe(true);
      expect(failed.code).toBe(1);
      w.emulators.s3.faults.errorRate = 0;
      expectLockLeft(w, failed.stderr);
      expect((await readState(w, "s3"))?.text).toBe(before?.text);
      const scimDuringFailure = w.emulators.scim.log.writes();
      expect(scimDuringFailure).toBeGreaterThan(0);
      const puts = s3Writes(w);

      const clean = await w.run(["sync"]);
      expect(clean.code).toBe(0);
      const converged = await assertConverged(w, { ...baseline, desired: desiredFromScenario(scenario) }, "s3");
      record("s3-save-fails-later-run", { seed, code: failed.code, s3Puts: puts, scimWritesDuringFailure: scimDuringFailure, converged });
    });
  });

  test("another writer changes the state while a run goes: STATE_CONFLICT, the newer state is kept; a clean run converges", async () => {
    const seed = 33;
    const scenario = parseScenario(generateOrg({ users: 80, groups: 8, seed, scimUsers: 10 }));
    await withWorld(scenario, async (w) => {
      const baseline = baselineOf(w, scenario);
      expect((await w.run(["sync"])).code).toBe(0);
      const first = await readState(w, "s3");
      changeSource(scenario);
      // The other writer: another idpscim that saved the same state a moment later.
      const newer = first!.text.replace(/"updatedAt":"[^"]*"/, `"updatedAt":"${new Date(Date.now() + 1000).toISOString()}"`);
      expect(newer).not.toBe(first!.text);
      w.emulators.s3.log.clear();
      w.emulators.scim.log.clear();
      const watch = afterStateRead(w, async () => {
        await w.emulators.s3.putObjectAsOtherWriter(STATE_KEY, newer);
      });
      const conflicted = await w.run(["sync"]);
      watch.stop();
      expect(await watch.done).toBe(true);
      expect(conflicted.code).toBe(1);
      expect(conflicted.stderr).toContain("changed since this run read it");
      expect((await readState(w, "s3"))?.text).toBe(newer);
      const puts = s3Writes(w);
      expect(puts.byStatus["412"]).toBe(1);
      expect(puts.total).toBe(1);
      const scimDuringConflict = w.emulators.scim.log.writes();

      const clean = await w.run(["sync"]);
      expect(clean.code).toBe(0);
      const converged = await assertConverged(w, { ...baseline, desired: desiredFromScenario(scenario) }, "s3");
      record("s3-state-conflict", { seed, code: conflicted.code, s3Puts: puts, scimWritesDuringConflict: scimDuringConflict, converged });
    });
  });
});
