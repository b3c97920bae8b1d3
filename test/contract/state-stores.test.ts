/**
 * @module Contract of the StateStore port, run against both adapters: the local file and S3 (the
 * S3 emulator, through the real SDK). Same expectations for both; compare-and-swap included.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileStateStore } from "../../src/adapters/state/file-state-store.ts";
import { createS3StateStore } from "../../src/adapters/state/s3-state-store.ts";
import type { StateStore } from "../../src/core/ports.ts";
import { emptyState, type SyncState } from "../../src/model/index.ts";
import { startS3Emulator, type S3Emulator } from "../emulators/s3/server.ts";

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
const stores: Record<string, () => StateStore> = {
  file: () => createFileStateStore(join(dir, `state-${++n}.json`)),
  s3: () =>
    createS3StateStore({
      bucket: s3.bucket,
      key: `data/state-${++n}.json`,
      client: { endpoint: s3.url, forcePathStyle: true, region: s3.region, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } },
    }),
};

const stateWith = (users: number): SyncState => {
  const state = emptyState();
  for (let i = 0; i < users; i++) {
    state.users[`g${i}`] = {
      scimId: `s${i}`,
      hash: "",
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
  });
}

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
