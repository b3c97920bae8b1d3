/**
 * @module End-to-end safety of the state itself: the real `idpscim` CLI against the emulators.
 * The S3 run lock (two concurrent runs, a second run that reads nothing, a killed run's lock taken
 * over at once, another machine's once stale, Ctrl-C), and bad state paths and contents (a symlink, a directory, wrong types).
 * Each test would fail with its feature removed.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startWorld, type World, spreadOrg as org, spawnIdpscim } from "../support/harness.ts";

let world: World | undefined;
let blackHole: { stop(force?: boolean): void } | undefined;
afterEach(async () => {
  blackHole?.stop(true);
  blackHole = undefined;
  await world?.close();
  world = undefined;
});

const STATE_KEY = "data/state.json";
const LOCK_KEY = `${STATE_KEY}.lock`;



async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** The run lock's body as S3 holds it, read with the real SDK; undefined when there is none. */
async function readLock(w: World): Promise<Record<string, unknown> | undefined> {
  const s3 = w.emulators.s3;
  const client = new S3Client({ endpoint: s3.url, forcePathStyle: true, region: s3.region, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  try {
    const answer = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: LOCK_KEY }));
    return JSON.parse(await answer.Body!.transformToString()) as Record<string, unknown>;
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}

/** The error lines of a run (the logger's text format puts the code at the start of the message). */
const errorLines = (stderr: string, code: string) => stderr.split("\n").filter((line) => line.includes(`${code}:`));

const userNames = (w: World) => w.emulators.scim.snapshot().users.map((u) => String(u.userName));

describe("S3 run lock", () => {
  test("two concurrent syncs on one S3 state: one does the work, the other stops at once naming the holder; no duplicate POST", async () => {
    const users = 200;
    // 100 ms per SCIM request and 8 in flight: the run takes seconds, far longer than a process start.
    world = await startWorld({ scenario: org(users, 4), scim: { faults: { latencyMs: 100 } } }, { state: "s3" });
    const w = world;
    const started = Date.now();
    const [a, b] = [spawnIdpscim(w, ["sync"]), spawnIdpscim(w, ["sync"])];
    const results = await Promise.all([a.result, b.result]);
    const elapsed = Date.now() - started;
    const counts = w.emulators.scim.log.counts();
    console.log(`two concurrent syncs, ${users} users, 100 ms SCIM latency, ${elapsed} ms: exit codes ${results.map((r) => r.code).join(", ")}; SCIM ${JSON.stringify(counts)}; S3 ${JSON.stringify(w.emulators.s3.log.counts())}`);
    const winners = results.filter((r) => r.code === 0);
    const losers = results.filter((r) => r.code !== 0);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    const loser = losers[0]!;
    expect(loser.code).toBe(1);
    const lines = errorLines(loser.stderr, "STATE_CONFLICT");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`state s3://${w.emulators.s3.bucket}/${STATE_KEY} is in use by a run on `);
    expect(lines[0]).toMatch(/\(pid \d+\) since \d{4}-\d{2}-\d{2}T/);
    expect(lines[0]).toContain(`(lock s3://${w.emulators.s3.bucket}/${LOCK_KEY})`);
    expect(lines[0]).toContain("this run stopped before reading or writing anything");
    expect(loser.stderr).not.toContain("summary:");

    expect(counts["POST /Users"]).toBe(users);
    expect(counts["POST /Groups"]).toBe(4);
    expect(w.emulators.scim.log.total((e) => e.status === 409)).toBe(0);
    expect(new Set(userNames(w)).size).toBe(users);
    expect(userNames(w)).toHaveLength(users);
    expect(await readLock(w)).toBeUndefined(); // released at the end
  }, 60_000);

  test("the second run reads nothing: no Google, no SCIM, no state request; plan still works meanwhile", async () => {
    world = await startWorld({ scenario: org(100, 2), scim: { faults: { latencyMs: 200 } } }, { state: "s3" });
    const w = world;
    const first = spawnIdpscim(w, ["sync"]);
    // Its reads (the state included) are done by its first write.
    await waitFor("the first run's first write", () => w.emulators.scim.log.entries.some((e) => e.method === "POST"), 15_000);
    expect(await readLock(w)).toBeDefined();
    // Any request the second run sent to Google or SCIM would reach this server instead.
    let strayRequests = 0;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch() {
        strayRequests++;
        return new Response("not here", { status: 503 });
      },
    });
    blackHole = server;
    const elsewhere = `http://127.0.0.1:${server.port}`;
    const s3Before = w.emulators.s3.log.entries.length;
    const second = await w.run(["sync", "--aws-scim-endpoint", `${elsewhere}/scim/v2`, "--gws-api-url", elsewhere, "--gws-token-url", `${elsewhere}/token`]);
    expect(second.code).toBe(1);
    expect(errorLines(second.stderr, "STATE_CONFLICT")).toHaveLength(1);
    expect(second.stderr).toContain("is in use by a run on");
    expect(strayRequests).toBe(0);
    // Its S3 requests: the lock only (a refused create, then a read to name the holder).
    const itsS3 = w.emulators.s3.log.entries.slice(s3Before).filter((e) => !e.url.includes(".lock"));
    expect(itsS3.filter((e) => e.url.split("?")[0]!.endsWith(STATE_KEY) && e.method === "GET")).toEqual([]);
    expect((await w.run(["plan"])).code).toBe(0); // plan and dry runs write nothing: no lock
    expect((await first.result).code).toBe(0);
  }, 60_000);

  test("a run killed with kill -9 on this machine: the next run takes its lock over at once (its process is gone); no duplicates", async () => {
    const users = 300;
    world = await startWorld({ scenario: org(users, 3), scim: { faults: { latencyMs: 500 } } }, { state: "s3" });
    const w = world;
    const slow = spawnIdpscim(w, ["sync"]);
    await waitFor("the first create", () => w.emulators.scim.log.entries.some((e) => e.method === "POST"), 20_000);
    slow.child.kill("SIGKILL");
    await slow.result;
    await Bun.sleep(1_000); // requests in flight at the kill still land in the emulator
    const createdBeforeKill = userNames(w).length;
    const left = await readLock(w);
    expect(left?.pid).toBe(slow.child.pid);

    w.emulators.scim.faults.latencyMs = 0;
    w.emulators.scim.log.clear();
    const resumed = await w.run(["sync"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`taking over the run lock s3://${w.emulators.s3.bucket}/${LOCK_KEY} of a run on ${String(left!.host)} (pid ${slow.child.pid})`);
    expect(resumed.stderr).toContain("that process is gone");
    expect(await readLock(w)).toBeUndefined();
    // What the killed run created unsaved is found by externalId and adopted: never a duplicate nor a 409.
    expect(w.emulators.scim.log.counts()["POST /Users"]).toBe(users - createdBeforeKill);
    expect(w.emulators.scim.log.total((e) => e.status === 409)).toBe(0);
    expect(new Set(userNames(w)).size).toBe(users);
    expect(userNames(w)).toHaveLength(users);
    console.log(`kill -9 after ${createdBeforeKill} creates; the next run took the lock over at once and created ${users - createdBeforeKill}`);
  }, 90_000);

  test("a lock left from another machine: refused while fresh, taken over once not refreshed for 10 minutes", async () => {
    world = await startWorld({ scenario: org(20, 2) }, { state: "s3" });
    const w = world;
    const started = new Date(Date.now() - 60_000).toISOString();
    const lock = { id: "their-run", host: "bastion-2", pid: 4242, started, refreshed: new Date().toISOString() };
    await w.emulators.s3.putObjectAsOtherWriter(LOCK_KEY, JSON.stringify(lock));
    const fresh = await w.run(["sync"]);
    expect(fresh.code).toBe(1);
    const lines = errorLines(fresh.stderr, "STATE_CONFLICT");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`is in use by a run on bastion-2 (pid 4242) since ${started}, last refreshed `);
    expect(lines[0]).toContain(`delete s3://${w.emulators.s3.bucket}/${LOCK_KEY} (a lock not refreshed for 10 min is taken over by itself)`);
    expect(w.emulators.scim.log.total()).toBe(0);
    expect(w.emulators.google.log.total()).toBe(0);

    // As if 11 minutes had passed: the holder's last refresh, backdated in the lock's body.
    await w.emulators.s3.putObjectAsOtherWriter(LOCK_KEY, JSON.stringify({ ...lock, refreshed: new Date(Date.now() - 11 * 60_000).toISOString() }));
    const resumed = await w.run(["sync"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`taking over the stale run lock s3://${w.emulators.s3.bucket}/${LOCK_KEY} of a run on bastion-2 (pid 4242) since ${started} (not refreshed for 11 min)`);
    expect(await readLock(w)).toBeUndefined();
    expect(userNames(w)).toHaveLength(20);
  }, 60_000);

  test("Ctrl-C and SIGTERM release the S3 lock (its delete is a request, awaited before exit)", async () => {
    world = await startWorld({ scenario: org(50, 1), scim: { faults: { latencyMs: 300 } } }, { state: "s3" });
    const w = world;
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      const run = spawnIdpscim(w, ["sync"]);
      await waitFor("the run lock", async () => (await readLock(w)) !== undefined, 15_000);
      run.child.kill(signal);
      expect((await run.result).code).toBe(code);
      expect(await readLock(w)).toBeUndefined();
    }
  }, 60_000);
});

describe("state file paths", () => {
  test("a state.file that is a symlink: written through to the target (mode 0600), the link stays a link", async () => {
    world = await startWorld({ scenario: org(5, 1) });
    const w = world;
    const realDir = join(w.emulators.directory, "real");
    mkdirSync(realDir);
    const target = join(realDir, "state.json");
    symlinkSync(target, w.statePath);
    expect((await w.run(["sync"])).code).toBe(0);
    expect(lstatSync(w.statePath).isSymbolicLink()).toBe(true);
    expect(readlinkSync(w.statePath)).toBe(target);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(Object.keys(JSON.parse(readFileSync(target, "utf8")).users)).toHaveLength(5);
    w.emulators.scim.log.clear();
    expect((await w.run(["sync"])).code).toBe(0); // the state read back through the link: nothing to do
    expect(w.emulators.scim.log.total()).toBe(0);
    expect(lstatSync(w.statePath).isSymbolicLink()).toBe(true);
  });

  test("a state.file that is a directory: one CONFIG_INVALID line naming it and the fix, exit 2, nothing written", async () => {
    world = await startWorld({ scenario: org(5, 1) });
    const w = world;
    const dir = join(w.emulators.directory, "statedir");
    mkdirSync(dir);
    for (const command of [["sync"], ["plan"]]) {
      const result = await w.run([...command, "--state-file", dir]);
      expect(result.code).toBe(2);
      const lines = errorLines(result.stderr, "CONFIG_INVALID");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`state.file ${dir} is a directory, not a file: set state.file (--state-file, IDPSCIM_STATE_FILE) to a file path, e.g. ${join(dir, "state.json")}`);
      expect(result.stderr).not.toContain("unexpected error");
    }
    expect(w.emulators.scim.log.writes()).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
    expect(readdirSync(w.emulators.directory).filter((f) => f.startsWith("statedir"))).toEqual(["statedir"]);
  });
});

describe("state contents", () => {
  test("a state entry of the wrong type: STATE_INVALID naming the entry, exit 2, no SCIM write, state bytes unchanged", async () => {
    world = await startWorld({ scenario: org(5, 1) });
    const w = world;
    expect((await w.run(["sync"])).code).toBe(0);
    // The file as a release wrote it (users as rows under userColumns), one value edited by hand.
    const state = JSON.parse(readFileSync(w.statePath, "utf8"));
    const id = state.users[0][0];
    state.users[0][2 + state.userColumns.indexOf("userName")] = 42;
    writeFileSync(w.statePath, JSON.stringify(state));
    const before = readFileSync(w.statePath);
    w.emulators.scim.log.clear();
    const result = await w.run(["sync", "--reconcile"]);
    expect(result.code).toBe(2);
    const lines = errorLines(result.stderr, "STATE_INVALID");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`state ${w.statePath} is not an idpscim state: users[0] (source id "${id}"): userName is not a string`);
    expect(result.stderr).not.toContain("unexpected error");
    expect(w.emulators.scim.log.writes()).toBe(0);
    expect(readFileSync(w.statePath).equals(before)).toBe(true);
  });

  test("a state that is not JSON: the position, never the file's content, in the message", async () => {
    world = await startWorld({ scenario: org(5, 1) });
    const w = world;
    writeFileSync(w.statePath, "ghp_SECRETTOKEN123 was pasted here\n");
    const result = await w.run(["sync"]);
    expect(result.code).toBe(2);
    expect(errorLines(result.stderr, "STATE_INVALID")[0]).toContain(`state ${w.statePath} is not valid JSON (at line 1, column 1)`);
    expect(result.stderr).not.toContain("SECRETTOKEN");
    expect(result.stderr).not.toContain("ghp_");
    expect(w.emulators.scim.log.writes()).toBe(0);
  });
});
