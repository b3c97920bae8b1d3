/**
 * @module Unit tests of the stop asked from outside (the `signal` SIGTERM and Ctrl-C abort): in
 * `apply`, no new operation starts, those in flight finish (at most `stopGraceMs`) and the state
 * returned (its caller saves it) says exactly what was done; in `runSync`, a stop during the reads ends the run before any
 * write with the state untouched, as STOPPED with the signal's exit code.
 */
import { describe, expect, test } from "bun:test";
import { apply, inApplyOrder, SAVE_SPACING } from "../../src/core/apply.ts";
import { isSyncError, SyncError } from "../../src/core/errors.ts";
import type { Operation, Plan } from "../../src/core/plan.ts";
import type { DirectorySource, ScimTarget, StateStore } from "../../src/core/ports.ts";
import { runSync } from "../../src/core/sync.ts";
import type { SyncState, UserAttributes } from "../../src/model/index.ts";
import { managedAttributesFor, STATE_SCHEMA_VERSION } from "../../src/model/index.ts";
import { TenantModel } from "../support/tenant-model.ts";

const attrs = (name: string): UserAttributes => ({ userName: `${name}@example.com`, displayName: name, givenName: name, familyName: "Test", email: `${name}@example.com`, active: true });
const creates = (n: number): Operation[] => Array.from({ length: n }, (_, i) => ({ kind: "createUser", sourceId: `u${i}`, attributes: attrs(`user${i}`) }));
const planOf = (operations: Operation[]): Plan => ({ operations, bookkeeping: { forgetUsers: [], forgetGroups: [] }, warnings: [], rejected: [], managed: { users: 0, groups: 0, memberships: 0 } });
const emptyState = (): SyncState => ({ schemaVersion: STATE_SCHEMA_VERSION, users: {}, groups: {} });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A log that keeps nothing. */
const SILENT_LOG = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
/** runSync's options for a plain sync, the defaults of the configuration. */
const SYNC_OPTIONS: Parameters<typeof runSync>[1] = {
  policy: { mode: "sync", managedAttributes: managedAttributesFor([]), suspendedUsers: "deactivate", removedUsers: "delete", deleteUnmanaged: false, protectedGroups: [] } as never,
  adoptGroups: "first-run",
  dryRun: false,
  forceReconcile: false,
  reconcileEveryMs: 86_400_000,
  concurrency: 4,
  maxDeletes: { percent: 25 },
  maxMembershipRemovals: { percent: 25 },
};

/** The model's target with every create taking `createMs` (or never ending for the names in `hang`). */
function slowTarget(model: TenantModel, createMs: number, hang: ReadonlySet<string> = new Set()): ScimTarget {
  const target = model.target();
  return {
    ...target,
    createUser: async (externalId, attributes, manager) => {
      if (hang.has(externalId)) await new Promise(() => undefined);
      await sleep(createMs);
      return target.createUser(externalId, attributes, manager);
    },
  };
}

const baseOptions = { concurrency: 4, managedAttributes: managedAttributesFor([]), adoptGroupsByName: false, protectedGroups: [] } as const;

describe("apply with a stop signal", () => {
  test("stops starting operations; those in flight finish; the saved state holds every create that was made and nothing else", async () => {
    const model = new TenantModel("t");
    const controller = new AbortController();
    const saves: SyncState[] = [];
    const operations = creates(40);
    const running = apply(planOf(operations), emptyState(), {
      ...baseOptions,
      target: slowTarget(model, 20),
      signal: controller.signal,
      checkpoint: async (state) => void saves.push(structuredClone(state)),
    });
    await sleep(70);
    controller.abort("SIGTERM");
    const abortedAt = Date.now();
    const result = await running;
    // 4 in flight at the abort finish (20 ms each): nowhere near a full run of 40 at 4 a time (200 ms).
    expect(Date.now() - abortedAt).toBeLessThan(100);
    const created = model.users.size;
    expect(created).toBeGreaterThan(0);
    expect(created).toBeLessThan(40);
    expect(result.stopped).toBe("signal");
    expect(result.leftInFlight).toBe(0);
    expect(result.done.createUser).toBe(created);
    expect(result.notStarted).toBe(40 - created);
    expect(Object.keys(result.state.users)).toHaveLength(created);
    // No save at the stop: the caller saves the state returned at once (runSync's final save), which holds them all.
    expect(saves).toEqual([]);
    await sleep(50);
    expect(model.users.size).toBe(created); // nothing started after the stop
  });

  test("an operation still in flight stopGraceMs after the stop is not waited for: the state is saved without it", async () => {
    const model = new TenantModel("t");
    const controller = new AbortController();
    const saves: SyncState[] = [];
    const warnings: string[] = [];
    const running = apply(planOf(creates(10)), emptyState(), {
      ...baseOptions,
      concurrency: 2,
      target: slowTarget(model, 10, new Set(["u3"])),
      signal: controller.signal,
      stopGraceMs: 100,
      checkpoint: async (state) => void saves.push(structuredClone(state)),
      log: { debug: () => undefined, warn: (m) => void warnings.push(m) },
    });
    await sleep(80);
    controller.abort("SIGINT");
    const abortedAt = Date.now();
    const result = await running;
    const waited = Date.now() - abortedAt;
    expect(waited).toBeGreaterThanOrEqual(95);
    expect(waited).toBeLessThan(400);
    expect(result.leftInFlight).toBe(1);
    expect(result.stopped).toBe("signal");
    expect(result.state.users.u3).toBeUndefined();
    expect(Object.keys(result.state.users)).toHaveLength(model.users.size);
    expect(saves).toEqual([]);
    expect(warnings.join("\n")).toContain("1 operation(s) still in flight 0.1 s after the stop");
  });

  test("without an abort the run is whole: no `stopped`", async () => {
    const model = new TenantModel("t");
    const result = await apply(planOf(creates(6)), emptyState(), { ...baseOptions, target: slowTarget(model, 1), signal: new AbortController().signal });
    expect(result.stopped).toBeUndefined();
    expect(result.notStarted).toBe(0);
    expect(model.users.size).toBe(6);
  });
});

describe("runSync with a stop signal during the reads", () => {
  test("ends at once with STOPPED (exit 130 for SIGINT), before any write, the state not saved", async () => {
    const model = new TenantModel("t");
    let saves = 0;
    const store: StateStore = { load: async () => undefined, save: async () => (saves++, "v"), describe: () => "memory" };
    const source: DirectorySource = {
      read: async () => {
        await sleep(5_000); // a long Directory read
        return { users: [{ sourceId: "u1", attributes: attrs("ana"), suspended: false }], groups: [], warnings: [] } as never;
      },
    };
    const controller = new AbortController();
    setTimeout(() => controller.abort("SIGINT"), 30);
    const started = Date.now();
    const error = await runSync(
      { source, target: model.target(), store, log: SILENT_LOG },
      { ...SYNC_OPTIONS, signal: controller.signal },
    ).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(isSyncError(error)).toBe(true);
    expect((error as SyncError).code).toBe("STOPPED");
    expect((error as SyncError).exitCode).toBe(130);
    expect((error as SyncError).message).toContain("stopped by SIGINT during the reads, before any write");
    expect(saves).toBe(0);
    expect(Object.keys(model.calls).filter((k) => !k.startsWith("list") && !k.startsWith("find") && !k.startsWith("get"))).toEqual([]);
    expect(new SyncError("STOPPED", "x", { detail: { kind: "stopped", phase: "reads", by: "SIGTERM" } }).exitCode).toBe(143);
  });
});

describe("apply's checkpoints", () => {
  test("never overlap: asks made while a save runs come to one save, of the state as it is when that save starts", async () => {
    const model = new TenantModel("t");
    const saves: number[] = [];
    let running = 0;
    let overlapped = false;
    // A group after the users: the users' phase ends with a save (the last phase leaves its save to the caller).
    const group: Operation = { kind: "createGroup", sourceId: "g1", displayName: "G", members: [] };
    const result = await apply(planOf([...creates(60), group]), emptyState(), {
      ...baseOptions,
      target: slowTarget(model, 2),
      checkpointEvery: 1,
      checkpoint: async (state) => {
        // Read before the first await, as StateStore.save does: what is saved is the state now.
        saves.push(Object.keys(state.users).length);
        overlapped ||= running > 0;
        running++;
        await sleep(25);
        running--;
      },
    });
    expect(overlapped).toBe(false);
    // One ask per operation (60), but each save takes as long as about ten operations.
    expect(saves.length).toBeGreaterThan(1);
    expect(saves.length).toBeLessThan(30);
    expect(saves).toEqual([...saves].sort((a, b) => a - b));
    expect(saves.at(-1)).toBe(60);
    expect(Object.keys(result.state.users)).toHaveLength(60);
  });

  test("change no entry of the state they were given: the working state shares its entries, never changes them", async () => {
    const model = new TenantModel("t");
    const initial = emptyState();
    const target = model.target();
    const kept = await target.createUser("u0", attrs("user0"));
    initial.users.u0 = { scimId: kept, attributes: attrs("user0") };
    const group = await target.createGroup("g", "G", [kept]);
    initial.groups.g = { scimId: group, displayName: "G", memberSourceIds: ["u0", "u9"] };
    const frozen = structuredClone(initial);
    const operations: Operation[] = [
      ...creates(3).slice(1),
      { kind: "addMembers", group: { scimId: group }, groupSourceId: "g", members: [{ sourceId: "u2" }, { sourceId: "u1" }] },
      { kind: "deleteUser", scimId: kept, sourceId: "u0", userName: "user0@example.com", why: "left-scope" },
    ];
    const result = await apply(planOf(operations), initial, { ...baseOptions, target });
    expect(result.failed).toEqual([]);
    expect(initial).toEqual(frozen);
    expect(Object.keys(result.state.users).sort()).toEqual(["u1", "u2"]);
    // Added in place to the run's own copy, sorted; the deleted user gone from it.
    expect(result.state.groups.g!.memberSourceIds).toEqual(["u1", "u2", "u9"]);
  });
});

describe("apply's periodic checkpoints against a clock", () => {
  /**
   * A throttled run on a clock: each create takes 40 ms (25 writes/s, one at a time), each save
   * `saveMs`, during which the clock runs and nothing else does (a save serialises the state at once).
   */
  async function saveStarts(saveMs: number, operations: number): Promise<number[]> {
    const model = new TenantModel("t");
    const target = model.target();
    let clock = 0;
    const starts: number[] = [];
    await apply(planOf(creates(operations)), emptyState(), {
      ...baseOptions,
      concurrency: 1,
      target: { ...target, createUser: async (...args) => ((clock += 40), target.createUser(...args)) },
      now: () => clock,
      checkpoint: async () => {
        starts.push(clock);
        clock += saveMs;
      },
    });
    return starts;
  }

  test("while saves are quick: every 30 s, and none at the end of the last phase (its caller saves the state returned)", async () => {
    // 3,000 creates are 120 s: a save every 30 s (and the 10 ms it takes).
    expect(await saveStarts(10, 3000)).toEqual([30_000, 60_010, 90_020, 120_030]);
  });

  test("a phase with a phase after it ends with a save: the work of a phase is saved before the next one starts", async () => {
    const saved: number[] = [];
    const model = new TenantModel("t");
    const operations: Operation[] = [...creates(3), { kind: "createGroup", sourceId: "g1", displayName: "G", members: [{ sourceId: "u0" }] }];
    const result = await apply(planOf(operations), emptyState(), { ...baseOptions, target: model.target(), checkpoint: async (state) => void saved.push(Object.keys(state.users).length + Object.keys(state.groups).length) });
    // After the users' phase (3 users), not after the groups' (the last): the state returned holds the group.
    expect(saved).toEqual([3]);
    expect(Object.keys(result.state.groups)).toEqual(["g1"]);
  });

  test(`a slow save (a large state) spaces the next one ${SAVE_SPACING} times its duration from its start: saving takes at most a twentieth of the run`, async () => {
    // Saves of 3 s every 30 s would take a tenth of the run; here: at 30 s and 90 s (the end is the caller's save).
    expect(await saveStarts(3000, 3000)).toEqual([30_000, 90_000]);
  });
});

test("inApplyOrder is the order apply starts operations in: phase by phase, wave by wave, plan order within", async () => {
  const operations: Operation[] = [
    { kind: "createGroup", sourceId: "g1", displayName: "G", members: [] },
    { kind: "createUser", sourceId: "u2", attributes: attrs("report"), wave: 1 },
    { kind: "createUser", sourceId: "u1", attributes: attrs("manager") },
    { kind: "createUser", sourceId: "u3", attributes: attrs("other") },
  ];
  expect(inApplyOrder(operations).map((op) => ("sourceId" in op ? op.sourceId : op.kind))).toEqual(["u1", "u3", "u2", "g1"]);
  // What apply did, one at a time: the same order.
  const model = new TenantModel("t");
  const target = model.target();
  const started: string[] = [];
  await apply(planOf(operations), emptyState(), {
    ...baseOptions,
    concurrency: 1,
    target: {
      ...target,
      createUser: async (externalId, ...rest) => (started.push(externalId), target.createUser(externalId, ...rest)),
      createGroup: async (externalId, ...rest) => (started.push(externalId), target.createGroup(externalId, ...rest)),
    },
  });
  expect(started).toEqual(["u1", "u3", "u2", "g1"]);
});

describe("runSync's checkpoints", () => {
  test("the garbage a checkpoint leaves is collected (settle) after its save; the final save, which ends the run, is not followed by a collection", async () => {
    const model = new TenantModel("t");
    const events: string[] = [];
    const store: StateStore = { load: async () => undefined, save: async () => (events.push("save"), "v"), describe: () => "memory" };
    const users = Array.from({ length: 2_500 }, (_, i) => ({ sourceId: `u${i}`, attributes: attrs(`user${i}`), suspended: false }));
    const source: DirectorySource = { read: async () => ({ users, groups: [], warnings: [] }) as never };
    await runSync(
      { source, target: model.target(), store, log: SILENT_LOG, settle: () => void events.push("settle") },
      SYNC_OPTIONS,
    );
    const saves = events.flatMap((e, i) => (e === "save" ? [i] : []));
    // 2,500 creates: a checkpoint every 1,000 operations, then the final save.
    expect(saves.length).toBeGreaterThanOrEqual(3);
    for (const at of saves.slice(0, -1)) expect(events[at + 1]).toBe("settle");
    expect(events.at(-1)).toBe("save");
  });
});
