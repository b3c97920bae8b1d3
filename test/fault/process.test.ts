/**
 * @module Fault tests, the process itself: a large sync SIGKILLed at seeded random points (twice
 * in a row), then a clean run. Every desired user and group exists exactly once, nothing
 * unmanaged was touched, and the state describes the tenant. Also: a lock file left by a run
 * killed while saving the state does not block the next runs forever.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateOrg } from "../../scripts/gen-org.ts";
import { awsEnvironment } from "../emulators/index.ts";
import { seededRandom, sleep } from "../emulators/faults.ts";
import { parseScenario } from "../emulators/scenario.ts";
import { ROOT, startWorld, type World } from "../support/harness.ts";
import { assertConverged, baselineOf, desiredFromScenario, readState, record } from "./converge.ts";

/** Starts `idpscim sync` as harness.runIdpscim does, but hands back the process so it can be killed. */
function spawnSync(w: World) {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("IDPSCIM_") && !key.startsWith("AWS_")) env[key] = value;
  }
  const child = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "--config-file", w.configPath, "sync"], {
    cwd: ROOT,
    env: { ...env, ...awsEnvironment(w.emulators) },
    stdout: "ignore",
    stderr: "pipe",
  });
  const stderr = new Response(child.stderr).text();
  return { child, stderr };
}

interface Kill {
  /** The seeded point: SIGKILL once the run has made this many SCIM writes. */
  afterWrites: number;
  /** SCIM writes the run made before it died (or in all, when it finished first). */
  writes: number;
  ms: number;
  outcome: "killed" | `exited ${number}`;
  stateUsers: number;
  stateGroups: number;
  /** A run lock the dead run left (file state): the next run takes it over, its process being gone. */
  runLockLeft: boolean;
}

/** Awaits `work`, failing with the step's name if it takes more than 45 s (a hang names its step). */
async function step<T>(name: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${name}: no end after 45 s`)), 45_000)));
  try {
    return await Promise.race([work, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

/** A run that has not reached its kill point by then is stuck: killed, and the test fails with its log. */
const STUCK_MS = 40_000;

/**
 * Runs a sync and SIGKILLs it once it has made `afterWrites` SCIM writes. The point is a write
 * count rather than a wall-clock delay so that it lands inside the write phase on any machine.
 */
async function killAfter(w: World, afterWrites: number, backend: "file" | "s3"): Promise<Kill> {
  const log = w.emulators.scim.log;
  const seen = log.entries.length;
  const writesSoFar = () => log.entries.slice(seen).filter((e) => e.method !== "GET").length;
  const started = Date.now();
  const { child, stderr } = spawnSync(w);
  let exited: number | undefined;
  child.exited.then((code) => (exited = code));
  while (exited === undefined && writesSoFar() < afterWrites && Date.now() - started < STUCK_MS) await sleep(2);
  const outcome: Kill["outcome"] = exited === undefined ? (child.kill("SIGKILL"), "killed") : `exited ${exited}`;
  await child.exited;
  if (outcome === "killed" && writesSoFar() < afterWrites) {
    throw new Error(`the run made ${writesSoFar()} SCIM writes in ${STUCK_MS} ms, short of ${afterWrites}; its log:\n${await stderr}`);
  }
  const ms = Date.now() - started;
  if (outcome !== "killed" && exited !== 0) console.log(await stderr);
  const state = await readState(w, backend);
  return {
    afterWrites,
    writes: writesSoFar(),
    ms,
    outcome,
    stateUsers: state ? Object.keys(state.state.users).length : 0,
    stateGroups: state ? Object.keys(state.state.groups).length : 0,
    runLockLeft: backend === "file" && existsSync(`${w.statePath}.run.lock`),
  };
}

/** Seeds and where their state lives; each seed kills two runs in a row, at random points. */
const RUNS: { seed: number; backend: "file" | "s3" }[] = [
  { seed: 101, backend: "file" },
  { seed: 202, backend: "s3" },
  { seed: 303, backend: "file" },
];

describe("SIGKILL during a large sync (2000 users, 150 groups)", () => {
  for (const { seed, backend } of RUNS) {
    test(`seed ${seed}, state on ${backend}: killed twice, then a clean run converges with no duplicate and nothing lost`, async () => {
      const scenario = parseScenario(generateOrg({ users: 2000, groups: 150, seed, scimUsers: 30 }));
      const w = await startWorld({ scenario }, { state: backend });
      try {
        const baseline = baselineOf(w, scenario);
        const random = seededRandom(seed);
        // A first sync of this org makes ~3200 SCIM writes (2000 users, 150 groups, manager and
        // member PATCHes); the second kill falls in what the resumed run has left.
        const first = 1 + Math.floor(random() * 2800);
        const kills = [await step(`seed ${seed}: first kill`, killAfter(w, first, backend))];
        kills.push(await step(`seed ${seed}: second kill`, killAfter(w, 1 + Math.floor(random() * Math.max(1, 3000 - first) * 0.8), backend)));
        const started = Date.now();
        const clean = await step(`seed ${seed}: clean run`, w.run(["sync"]));
        if (clean.code !== 0) console.log(clean.stderr);
        expect(clean.code).toBe(0);
        const converged = await step(`seed ${seed}: convergence check`, assertConverged(w, baseline, backend));
        record(`sigkill-${seed}`, { seed, backend, kills, cleanRun: { ms: Date.now() - started, summary: clean.stderr.match(/summary: .*/)?.[0] }, converged });
      } finally {
        await w.close();
      }
    }, 120_000);
  }
});

describe("a lock left by a run killed while saving its state", () => {
  test("is taken as stale once old, and the next run saves", async () => {
    const scenario = parseScenario(generateOrg({ users: 30, groups: 3, seed: 404 }));
    const w = await startWorld({ scenario });
    try {
      const baseline = baselineOf(w, scenario);
      expect((await w.run(["sync"])).code).toBe(0);
      const lock = `${w.statePath}.lock`;
      // What SIGKILL between creating the lock and removing it leaves behind, a minute ago.
      writeFileSync(lock, "");
      const aMinuteAgo = new Date(Date.now() - 60_000);
      utimesSync(lock, aMinuteAgo, aMinuteAgo);
      scenario.google.groups[0]!.name = "Renamed after a crash";
      const result = await w.run(["sync"]);
      expect(result.code).toBe(0);
      expect(existsSync(lock)).toBe(false);
      await assertConverged(w, { ...baseline, desired: desiredFromScenario(scenario) });
    } finally {
      await w.close();
    }
  });
});

describe("a run right after a SIGKILLed one (file state)", () => {
  test("is not refused by the dead run's lock: its holder's process is gone", async () => {
    const scenario = parseScenario(generateOrg({ users: 200, groups: 10, seed: 505 }));
    const w = await startWorld({ scenario, scim: { faults: { latencyMs: 20 } } });
    try {
      const baseline = baselineOf(w, scenario);
      const killed = await step("seed 505: kill", killAfter(w, 40, "file"));
      expect(killed.outcome).toBe("killed");
      expect(killed.runLockLeft).toBe(true);
      const next = await step("seed 505: next run", w.run(["sync"]));
      expect(next.stderr).toContain("that process is gone");
      expect(next.code).toBe(0);
      await assertConverged(w, baseline, "file");
    } finally {
      await w.close();
    }
  }, 120_000);
});
