/**
 * @module Contract of the StateStore port, run against both adapters: the local file and S3 (the
 * S3 emulator, through the real SDK). Same expectations for both; compare-and-swap and the run
 * lock included. Then what only one store has: S3's lock object, the file's symlink and directory cases.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { createFileStateStore } from "../../src/adapters/state/file-state-store.ts";
import { createS3StateStore } from "../../src/adapters/state/s3-state-store.ts";
import { SyncError } from "../../src/core/errors.ts";
import { sameState } from "../../src/core/state.ts";
import type { Logger, StateStore } from "../../src/core/ports.ts";
import { emptyState, type SyncState } from "../../src/model/index.ts";
import { startS3Emulator, type S3Emulator } from "../emulators/s3/server.ts";
import { readStateFile, stateFileV3 } from "../support/state-file.ts";

let s3: S3Emulator;
let dir: string;
beforeAll(async () => {
  s3 = await startS3Emulator();
  dir = mkdtempSync(join(tmpdir(), "idpscim-stores-"));
});
afterAll(async () => {
  await s3.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const clientConfig = () => ({ endpoint: s3.url, forcePathStyle: true, region: s3.region, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
/** Each call makes a store on a new state; `again` opens another store (another run) on the same one. */
const stores: Record<string, () => StateStore & { again: () => StateStore }> = {
  file: () => {
    const path = join(dir, `state-${++n}.json`);
    return Object.assign(createFileStateStore(path), { again: () => createFileStateStore(path) });
  },
  s3: () => {
    const key = `data/state-${++n}.json`;
    const open = () => createS3StateStore({ bucket: s3.bucket, key, client: clientConfig() });
    return Object.assign(open(), { again: open });
  },
};

/** A logger that keeps its lines (consola's tests capture output the same way, without a mock). */
function captureLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { lines, debug: keep("debug"), info: keep("info"), warn: keep("warn"), error: keep("error") };
}

const stateWith = (users: number): SyncState => {
  const state = emptyState();
  for (let i = 0; i < users; i++) {
    state.users[`g${i}`] = {
      scimId: `s${i}`,
      attributes: { userName: `u${i}@example.com`, displayName: "U", givenName: "U", familyName: "U", email: `u${i}@example.com`, active: true },
    };
  }
  return state;
};

for (const [kind, make] of Object.entries(stores)) {
  describe(`StateStore: ${kind}`, () => {
    test("no state yet reads as undefined; saves round-trip; each save returns the next version", async () => {
      const store = make();
      expect(await store.load()).toBeUndefined();
      const v1 = await store.save(stateWith(1), undefined);
      const loaded = await store.load();
      expect(loaded?.state.users.g0?.scimId).toBe("s0");
      expect(loaded?.version).toBe(v1);
      const v2 = await store.save(stateWith(2), v1);
      expect(v2).not.toBe(v1);
      expect(Object.keys((await store.load())!.state.users)).toHaveLength(2);
    });

    test("compare-and-swap: a first save over an existing state, or a save on a stale version, is STATE_CONFLICT and keeps the newer state", async () => {
      const store = make();
      const v1 = await store.save(stateWith(1), undefined);
      await expect(store.save(stateWith(5), undefined)).rejects.toMatchObject({ code: "STATE_CONFLICT" });
      await store.save(stateWith(2), v1);
      await expect(store.save(stateWith(9), v1)).rejects.toMatchObject({ code: "STATE_CONFLICT" });
      expect(Object.keys((await store.load())!.state.users)).toHaveLength(2);
    });

    test("run lock: a second run is refused with STATE_CONFLICT naming the holder; after release it may take it", async () => {
      const store = make();
      const log = captureLog();
      const lock = await store.lockForRun!(log);
      const error = await store.again().lockForRun!(log).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SyncError);
      expect((error as SyncError).code).toBe("STATE_CONFLICT");
      const message = (error as SyncError).describe();
      expect(message).toContain(`is in use by a run on ${hostname()} (pid ${process.pid}) since `);
      expect(message).toContain("this run stopped before reading or writing anything");
      expect(message).toContain(".lock");
      await lock.release();
      const next = await store.again().lockForRun!(log);
      await next.release();
      await next.release(); // twice (Ctrl-C during the final release): harmless
      expect(log.lines.filter((l) => l.startsWith("warn"))).toEqual([]);
    });
  });
}

describe("StateStore: a large state", () => {
  const open: Record<string, () => StateStore> = {
    file: () => createFileStateStore(join(dir, `state-${++n}.json`)),
    s3: () => createS3StateStore({ bucket: s3.bucket, key: `data/state-${++n}.json`, client: clientConfig() }),
  };
  test.each(Object.keys(open))("%s: a state of over 16 MiB saved after a small one round-trips", async (kind) => {
    const store = open[kind]!();
    const v1 = await store.save(stateWith(1), undefined);
    // About 21 MB: the S3 store's body outgrows the small one's size several times over.
    const large = stateWith(300_000);
    const v2 = await store.save(large, v1);
    const loaded = await store.load();
    expect(loaded?.version).toBe(v2);
    expect(sameState(loaded!.state, large)).toBe(true);
  }, 60_000);
});

describe("StateStore: s3 run lock", () => {
  const client = () => new S3Client(clientConfig());
  const lockBody = async (key: string) => {
    const answer = await client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${key}.lock` }));
    return { body: JSON.parse(await answer.Body!.transformToString()) as Record<string, unknown>, etag: answer.ETag };
  };
  const lockExists = (key: string) => lockBody(key).then(() => true, () => false);
  const storeOn = (key: string, runLock?: { staleAfterMs?: number; refreshEveryMs?: number }) =>
    createS3StateStore({ bucket: s3.bucket, key, client: clientConfig(), ...(runLock ? { runLock } : {}) });

  test("the lock object sits next to the state: created with If-None-Match: *, a JSON body, deleted on release", async () => {
    const key = `data/lock-${++n}.json`;
    s3.log.clear();
    const lock = await storeOn(key).lockForRun!(captureLog());
    const { body } = await lockBody(key);
    expect(Object.keys(body).filter((k) => k !== "pidSpace").sort()).toEqual(["host", "id", "pid", "refreshed", "started"]);
    expect(body).toMatchObject({ host: hostname(), pid: process.pid });
    expect(Date.parse(String(body.started))).toBeGreaterThan(Date.now() - 60_000);
    await lock.release();
    expect(await lockExists(key)).toBe(false);
    // PUT (create), GET (the test's read), DELETE: nothing read of the state itself.
    expect(s3.log.counts()).toEqual({ "PUT /{bucket}/{key}": 1, "GET /{bucket}/{key}": 2, "DELETE /{bucket}/{key}": 1 });
  });

  test("refreshed with If-Match while held; a refresh that finds the lock taken over stops the run's saves (STATE_CONFLICT) and release leaves the new holder's lock", async () => {
    const key = `data/lock-${++n}.json`;
    const log = captureLog();
    const store = storeOn(key, { refreshEveryMs: 100 });
    const lock = await store.lockForRun!(log);
    const first = await lockBody(key);
    await Bun.sleep(350);
    const refreshed = await lockBody(key);
    expect(refreshed.body.id).toBe(first.body.id);
    expect(refreshed.etag).not.toBe(first.etag);
    expect(Date.parse(String(refreshed.body.refreshed))).toBeGreaterThan(Date.parse(String(first.body.refreshed)));
    const v1 = await store.save(stateWith(1), undefined);

    // Another run took it over (it saw this one as dead): the next refresh's If-Match fails.
    const theirs = JSON.stringify({ id: "other", host: "other-host", pid: 7, started: new Date().toISOString(), refreshed: new Date().toISOString() });
    await s3.putObjectAsOtherWriter(`${key}.lock`, theirs);
    await Bun.sleep(350);
    expect(log.lines.some((l) => l.startsWith("warn") && l.includes("was taken over by a run on other-host (pid 7)"))).toBe(true);
    const refused = await store.save(stateWith(2), v1).then(
      () => undefined,
      (e: unknown) => e as SyncError,
    );
    expect(refused?.code).toBe("STATE_CONFLICT");
    expect(refused?.describe()).toContain("this run's lock");
    expect(refused?.describe()).toContain("was taken over by a run on other-host (pid 7)");
    expect(Object.keys((await store.load())!.state.users)).toHaveLength(1);
    await lock.release();
    expect((await lockBody(key)).body.id).toBe("other");
  });

  test("a stale lock (not refreshed for longer than the threshold) is taken over with a warning; a fresh one is not", async () => {
    const key = `data/lock-${++n}.json`;
    const old = new Date(Date.now() - 11 * 60_000).toISOString();
    await s3.putObjectAsOtherWriter(`${key}.lock`, JSON.stringify({ id: "dead", host: "gone-host", pid: 99, started: old, refreshed: old }));
    const log = captureLog();
    // The default threshold (10 minutes): a lock refreshed 11 minutes ago is stale.
    const lock = await storeOn(key).lockForRun!(log);
    expect(log.lines).toContainEqual(expect.stringContaining(`warn taking over the stale run lock s3://${s3.bucket}/${key}.lock of a run on gone-host (pid 99) since ${old} (not refreshed for 11 min)`));
    expect((await lockBody(key)).body.host).toBe(hostname());
    await lock.release();

    const recent = new Date(Date.now() - 9 * 60_000).toISOString();
    await s3.putObjectAsOtherWriter(`${key}.lock`, JSON.stringify({ id: "slow", host: "busy-host", pid: 5, started: recent, refreshed: recent }));
    const held = await storeOn(key).lockForRun!(captureLog()).then(
      () => undefined,
      (e: unknown) => e as SyncError,
    );
    expect(held?.describe()).toContain("is in use by a run on busy-host (pid 5)");
    expect(held?.describe()).toContain("last refreshed 540 s ago");
    // A shorter threshold (what the option is for): the same lock is stale.
    const taken = await storeOn(key, { staleAfterMs: 60_000 }).lockForRun!(captureLog());
    await taken.release();
  });

  test("a holder in this pid space whose process is gone, or past its runtime's deadline, is taken over at once; one elsewhere waits", async () => {
    const key = `data/lock-${++n}.json`;
    const ours = await storeOn(key).lockForRun!(captureLog());
    const pidSpace = (await lockBody(key)).body.pidSpace;
    await ours.release();
    const child = Bun.spawn(["true"]);
    await child.exited;
    const now = new Date().toISOString();
    const tryTake = async () =>
      storeOn(key)
        .lockForRun!(captureLog())
        .then(
          async (lock) => {
            await lock.release();
            return "taken";
          },
          (e: unknown) => (e as SyncError).code,
        );
    if (process.platform === "linux") {
      expect(typeof pidSpace).toBe("string");
      await s3.putObjectAsOtherWriter(`${key}.lock`, JSON.stringify({ host: hostname(), pid: child.pid, pidSpace, started: now, refreshed: now }));
      expect(await tryTake()).toBe("taken");
      // The same pid in another machine or container: it cannot be checked from here.
      await s3.putObjectAsOtherWriter(`${key}.lock`, JSON.stringify({ host: hostname(), pid: child.pid, pidSpace: "other-boot/pid:[1]", started: now, refreshed: now }));
      expect(await tryTake()).toBe("STATE_CONFLICT");
    }
    // A Lambda invocation's deadline passed: Lambda ended it.
    await s3.putObjectAsOtherWriter(`${key}.lock`, JSON.stringify({ host: "sandbox", pid: 8, started: now, refreshed: now, endsBy: new Date(Date.now() - 1_000).toISOString() }));
    expect(await tryTake()).toBe("taken");
    await s3.putObjectAsOtherWriter(`${key}.lock`, JSON.stringify({ host: "sandbox", pid: 8, started: now, refreshed: now, endsBy: new Date(Date.now() + 60_000).toISOString() }));
    expect(await tryTake()).toBe("STATE_CONFLICT");
  });

  test("a holder's text is quoted and cut in the message, never printed raw", async () => {
    const key = `data/lock-${++n}.json`;
    await s3.putObjectAsOtherWriter(`${key}.lock`, JSON.stringify({ host: `\u001b[2Jevil${"x".repeat(100)}`, pid: "1", refreshed: new Date().toISOString() }));
    const held = await storeOn(key).lockForRun!(captureLog()).then(
      () => undefined,
      (e: unknown) => e as SyncError,
    );
    const message = held!.describe();
    expect(message).not.toContain("\u001b");
    expect(message).toContain('a run on "\\u001b[2Jevil');
    expect(message).toContain("(pid ?)");
    expect(message).not.toContain("x".repeat(60));
  });

  test("two runs taking the same stale lock at once: exactly one gets it", async () => {
    const key = `data/lock-${++n}.json`;
    const old = new Date(Date.now() - 30 * 60_000).toISOString();
    await s3.putObjectAsOtherWriter(`${key}.lock`, JSON.stringify({ id: "dead", host: "h", pid: 1, started: old, refreshed: old }));
    const results = await Promise.allSettled([0, 1, 2, 3].map(() => storeOn(key).lockForRun!(captureLog())));
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect((r.reason as SyncError).code).toBe("STATE_CONFLICT");
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });

  test("a lock PUT whose answer is lost: the SDK's retry fails its condition and is recognised as our own", async () => {
    const key = `data/lock-${++n}.json`;
    const draws = [0];
    s3.log.clear();
    s3.faults.lostResponseRate = 0.5;
    s3.faults.random = () => draws.shift() ?? 0.99;
    try {
      const lock = await storeOn(key).lockForRun!(captureLog());
      expect(s3.log.total((e) => e.status === 0)).toBe(1);
      expect(s3.log.total((e) => e.status === 412)).toBe(1);
      await lock.release();
      expect(await lockExists(key)).toBe(false);
    } finally {
      s3.faults.lostResponseRate = 0;
      s3.faults.random = Math.random;
    }
  });
});

describe("StateStore: file, paths", () => {
  test("a state.file that is a symlink is written through to its target (mode 0600), the link kept; the run lock sits by the target", async () => {
    const base = mkdtempSync(join(dir, "link-"));
    mkdirSync(join(base, "real"));
    const target = join(base, "real", "state.json");
    const link = join(base, "state.json");
    symlinkSync(target, link); // dangling until the first save
    const store = createFileStateStore(link);
    const v1 = await store.save(stateWith(1), undefined);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(target);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    const v2 = await store.save(stateWith(2), v1);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(Object.keys(readStateFile(target).users)).toHaveLength(2);
    expect((await store.load())?.version).toBe(v2);
    const lock = await store.lockForRun!(captureLog());
    expect(statSync(`${target}.run.lock`).isFile()).toBe(true);
    // Another link to the same file shares the lock.
    const other = join(base, "other.json");
    symlinkSync("real/state.json", other);
    await expect(createFileStateStore(other).lockForRun!(captureLog())).rejects.toMatchObject({ code: "STATE_CONFLICT" });
    await lock.release();
  });

  test("a state.file that is a directory: CONFIG_INVALID naming the path and the fix, at load, lock and save, nothing written", async () => {
    const path = mkdtempSync(join(dir, "isdir-"));
    writeFileSync(join(path, "keep"), "");
    const store = createFileStateStore(path);
    const expected = { code: "CONFIG_INVALID", message: `state.file ${path} is a directory, not a file` };
    await expect(store.load()).rejects.toMatchObject(expected);
    await expect(store.lockForRun!(captureLog())).rejects.toMatchObject(expected);
    await expect(store.save(stateWith(1), undefined)).rejects.toMatchObject(expected);
    const error = await store.load().catch((e: unknown) => e as SyncError);
    expect((error as SyncError).exitCode).toBe(2);
    expect((error as SyncError).hint).toContain(`set state.file (--state-file, IDPSCIM_STATE_FILE) to a file path, e.g. ${join(path, "state.json")}`);
    expect(readdirSync(path)).toEqual(["keep"]);
    expect(readdirSync(dirname(path)).filter((f) => f.startsWith(basename(path)))).toEqual([basename(path)]);
  });
});

describe("StateStore: file, text", () => {
  test("a file edited by hand with UTF-8 characters (not the \\u escapes a release writes) reads as UTF-8; its version is the SHA-256 of its bytes", async () => {
    const path = join(dir, `state-${++n}.json`);
    const state = stateWith(1);
    state.users.g0!.attributes.givenName = "Anaïs 😀";
    const bytes = Buffer.from(stateFileV3(state), "utf8");
    expect(bytes.some((byte) => byte > 0x7f)).toBe(true);
    writeFileSync(path, bytes);
    const store = createFileStateStore(path);
    const loaded = await store.load();
    expect(loaded?.state.users.g0?.attributes.givenName).toBe("Anaïs 😀");
    expect(loaded?.version).toBe(createHash("sha256").update(bytes).digest("hex"));
    // The version compares with the file's bytes: another store's save on it goes through.
    const saved = await createFileStateStore(path).save(loaded!.state, loaded!.version);
    expect(saved).toBe(createHash("sha256").update(readFileSync(path)).digest("hex"));
    expect(readFileSync(path, "latin1")).toContain("Ana\\u00efs \\ud83d\\ude00");
  });
});

describe("StateStore: s3, answers lost", () => {
  test("a save whose answer is lost is retried by the SDK; the retry's failed condition is recognised as our own write", async () => {
    const store = stores.s3!();
    const v1 = await store.save(stateWith(1), undefined);
    // Lose exactly the next write's answer: the object is written, the client sees a dropped connection.
    const draws = [0];
    s3.log.clear();
    s3.faults.lostResponseRate = 0.5;
    s3.faults.random = () => draws.shift() ?? 0.99;
    try {
      const v2 = await store.save(stateWith(3), v1);
      const loaded = await store.load();
      expect(Object.keys(loaded!.state.users)).toHaveLength(3);
      expect(loaded!.version).toBe(v2);
      expect(s3.log.total((e) => e.status === 0)).toBe(1);
      expect(s3.log.total((e) => e.status === 412)).toBe(1);
    } finally {
      s3.faults.lostResponseRate = 0;
      s3.faults.random = Math.random;
    }
  });
});
