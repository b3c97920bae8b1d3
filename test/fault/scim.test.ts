/**
 * @module Fault tests, SCIM side: the real CLI syncs while the SCIM emulator throttles, fails,
 * drops connections, answers slowly or loses answers to writes it carried out; then a run without
 * faults. The tenant must end exactly as desired, with no duplicate and nothing unmanaged touched.
 */
import { describe, expect, test } from "bun:test";
import { generateOrg } from "../../scripts/gen-org.ts";
import { createFaults, seededRandom, type FaultOptions } from "../emulators/faults.ts";
import { parseScenario, type Scenario } from "../emulators/scenario.ts";
import type { ScimEmulatorOptions } from "../emulators/scim/server.ts";
import { startWorld, type World } from "../support/harness.ts";
import { assertConverged, baselineOf, desiredFromScenario, isWrite, record, retriedAttempts, statusCounts } from "./converge.ts";

/** A mid-sized org: nested groups, suspended users, external members, 15 users to adopt, hand-made users and Control Tower groups. */
function org(seed: number, users = 120, groups = 12): Scenario {
  return parseScenario(generateOrg({ users, groups, seed, scimUsers: 20 }));
}

interface FaultRun {
  seed: number;
  scenario: Scenario;
  faults?: Partial<FaultOptions>;
  rateLimit?: ScimEmulatorOptions["rateLimit"];
  /** Extra arguments for the faulty run only. */
  args?: string[];
  /** A change of the faults while the faulty run goes, `ms` after it started. */
  later?: { ms: number; change: (w: World) => void };
  /** Started with the faulty run; returns what stops it. */
  during?: (w: World) => () => void;
  /** Before the faulty run (after the baseline is taken): e.g. a clean sync, then a change at the source. */
  before?: (w: World) => Promise<void>;
}

/** Runs a sync under `faults`, then one without; asserts convergence; returns the figures. */
async function syncThroughFaults(name: string, run: FaultRun) {
  const w = await startWorld({
    scenario: run.scenario,
    scim: { ...(run.faults ? { faults: { ...run.faults, random: seededRandom(run.seed) } } : {}), ...(run.rateLimit ? { rateLimit: run.rateLimit } : {}) },
  });
  try {
    const baseline = baselineOf(w, run.scenario);
    if (run.before) {
      await run.before(w);
      w.emulators.scim.log.clear();
      w.emulators.scim.faults = createFaults({ ...run.faults, random: seededRandom(run.seed) });
    }
    const started = Date.now();
    const timer = run.later ? setTimeout(() => run.later!.change(w), run.later.ms) : undefined;
    const stop = run.during?.(w);
    const faulty = await w.run(["sync", ...(run.args ?? [])]);
    clearTimeout(timer);
    stop?.();
    const log = w.emulators.scim.log;
    const during = {
      code: faulty.code,
      ms: Date.now() - started,
      requests: statusCounts(log),
      writes: statusCounts(log, isWrite).total,
      retried: retriedAttempts(log),
      // Attempts the client gave up on (with --log-level debug): the emulator logs them only when it answers.
      timedOut: (faulty.stderr.match(/timed out after/g) ?? []).length,
      byRoute: log.counts(),
    };
    if (faulty.code !== 0) console.log(`${name}: faulty run exited ${faulty.code}:\n${faulty.stderr.split("\n").filter((l) => /error|failed/i.test(l)).slice(0, 5).join("\n")}`);

    w.emulators.scim.faults = createFaults();
    w.emulators.scim.rateLimit = undefined;
    log.clear();
    const clean = await w.run(["sync"]);
    expect(clean.code).toBe(0);
    const after = { code: clean.code, requests: statusCounts(log) };
    // The scenario may have changed (before): what is desired now.
    const converged = await assertConverged(w, { ...baseline, desired: desiredFromScenario(run.scenario) });
    // Converged means done: a full reconcile finds nothing to write.
    log.clear();
    expect((await w.run(["sync", "--reconcile"])).code).toBe(0);
    expect(statusCounts(log, isWrite).total).toBe(0);
    const figures = { seed: run.seed, faulty: during, clean: after, converged };
    record(name, figures);
    return figures;
  } finally {
    await w.close();
  }
}

describe.concurrent("SCIM faults", () => {
  test("500s on 20% of requests: retried, converged", async () => {
    const figures = await syncThroughFaults("scim-500", { seed: 11, scenario: org(11), faults: { errorRate: 0.2 } });
    expect(figures.faulty.requests.byStatus["500"] ?? 0).toBeGreaterThan(20);
    expect(figures.faulty.code).toBe(0);
  });

  test("10% of connections dropped before an answer: retried, converged", async () => {
    const figures = await syncThroughFaults("scim-drop", { seed: 12, scenario: org(12), faults: { dropRate: 0.1 } });
    expect(figures.faulty.requests.byStatus["0"] ?? 0).toBeGreaterThan(10);
    expect(figures.faulty.code).toBe(0);
  });

  test("slow answers (20% delayed 1.5 s, under the client's 30 s timeout): converged", async () => {
    const figures = await syncThroughFaults("scim-slow", { seed: 13, scenario: org(13, 60, 8), faults: { slowRate: 0.2, slowMs: 1500 } });
    expect(figures.faulty.code).toBe(0);
  });

  test("answers slower than the client's 30 s timeout (every request for 300 ms after the first POST): timed out, retried, converged", async () => {
    // The client's timeout is not configurable; a short window keeps the cost to one timeout.
    const figures = await syncThroughFaults("scim-timeout", {
      seed: 16,
      scenario: org(16, 60, 8),
      during: (w) => {
        const faults = w.emulators.scim.faults;
        let end: ReturnType<typeof setTimeout> | undefined;
        const watch = setInterval(() => {
          if (!w.emulators.scim.log.entries.some((e) => e.method === "POST")) return;
          clearInterval(watch);
          Object.assign(faults, { slowRate: 1, slowMs: 31_000 });
          end = setTimeout(() => Object.assign(faults, { slowRate: 0 }), 300);
        }, 2);
        return () => {
          clearInterval(watch);
          clearTimeout(end);
        };
      },
      args: ["--log-level", "debug"],
    });
    expect(figures.faulty.timedOut).toBeGreaterThan(0);
    expect(figures.faulty.code).toBe(0);
  }, 120_000);

  test("30% of writes carried out but their answer lost: no duplicate, the resources made are adopted", async () => {
    const figures = await syncThroughFaults("scim-lost-response", { seed: 14, scenario: org(14), faults: { lostResponseRate: 0.3 } });
    expect(figures.faulty.requests.byStatus["0"] ?? 0).toBeGreaterThan(20);
    // A retried POST that meets its own resource answers 409 and is resolved, not failed.
    expect(figures.faulty.requests.byStatus["409"] ?? 0).toBeGreaterThan(0);
    expect(figures.faulty.code).toBe(0);
  });

  test("30% of answers lost in a run that deletes, removes members, renames and deactivates: every change done once, converged", async () => {
    const scenario = org(17);
    const figures = await syncThroughFaults("scim-lost-response-changes", {
      seed: 17,
      scenario,
      faults: { lostResponseRate: 0.3 },
      before: async (w) => {
        // A clean first sync (faults off), then: 8 users leave every group, 2 groups go, 1 is renamed, 3 users are suspended.
        w.emulators.scim.faults = createFaults();
        expect((await w.run(["sync"])).code).toBe(0);
        const leaving = new Set(scenario.google.users.slice(10, 18).map((u) => u.primaryEmail.toLowerCase()));
        for (const g of scenario.google.groups) g.members = g.members.filter((m) => !m.email || !leaving.has(m.email.toLowerCase()));
        const gone = new Set(scenario.google.groups.slice(-2).map((g) => g.email.toLowerCase()));
        scenario.google.groups = scenario.google.groups.filter((g) => !gone.has(g.email.toLowerCase()));
        for (const g of scenario.google.groups) g.members = g.members.filter((m) => m.type !== "GROUP" || !gone.has(m.email!.toLowerCase()));
        scenario.google.groups[1]!.name = `${scenario.google.groups[1]!.name} (renamed)`;
        for (const u of scenario.google.users.slice(20, 23)) u.suspended = true;
      },
    });
    const deletes = figures.faulty.byRoute["DELETE /Users/{id}"] ?? 0;
    expect(deletes).toBeGreaterThanOrEqual(8);
    expect(figures.faulty.byRoute["DELETE /Groups/{id}"] ?? 0).toBeGreaterThanOrEqual(2);
    expect(figures.faulty.requests.byStatus["0"] ?? 0).toBeGreaterThan(0);
    expect(figures.faulty.code).toBe(0);
  });

  test("429 storm: 5 writes/s for 10 s against 300 users: paced down, retried, converged", async () => {
    // A storm over the whole run would take ~100 s at 5 writes/s (≈460 writes); 10 s of it
    // exercises the same paths (halving per round, backoff, retries, growing back when calm).
    const figures = await syncThroughFaults("scim-429", {
      seed: 15,
      scenario: parseScenario(generateOrg({ users: 300, groups: 10, seed: 15, scimUsers: 20 })),
      rateLimit: { readsPerSecond: 40, writesPerSecond: 5 },
      later: { ms: 10_000, change: (w) => (w.emulators.scim.rateLimit = undefined) },
      // 100/s (start 80/s): 16× the storm's limit, as a raised AWS quota would be, and not the harness's 1000/s.
      args: ["--aws-scim-rate-limit", "100"],
    });
    expect(figures.faulty.requests.byStatus["429"] ?? 0).toBeGreaterThanOrEqual(5);
    expect(figures.faulty.code).toBe(0);
  });
});
