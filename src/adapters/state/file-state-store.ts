/**
 * @module StateStore on a local file: atomic replace (write a temp file, fsync, rename), mode
 * 0600, compare-and-swap on a SHA-256 of the content, and a run-long lock, so two runs never
 * overwrite each other.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { SyncError } from "../../core/errors.ts";
import type { LoadedState, Logger, RunLock, StateStore } from "../../core/ports.ts";
import { parseState, serialiseState } from "../../core/state.ts";
import type { SyncState } from "../../model/index.ts";

/** A write holds the lock for milliseconds; a lock this old was left by a run killed mid-write. */
const STALE_WRITE_LOCK_MS = 60_000;

/** Same hex digest as core/state's sha256Hex, but synchronous: the locked section has no await. */
const versionOf = (text: string) => createHash("sha256").update(text).digest("hex");

export function createFileStateStore(path: string): StateStore {
  const read = (): string | undefined => {
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new SyncError("STATE_READ", `cannot read state file ${path}: ${(error as Error).message}`, {
        hint: "check state.file and the file's permissions",
      });
    }
  };
  return {
    describe: () => `file ${path}`,
    lockForRun: (log) => acquireRunLock(path, log),
    async load(): Promise<LoadedState | undefined> {
      const text = read();
      if (text === undefined) return undefined;
      return { state: parseState(text, path), version: versionOf(text) };
    },
    async save(state: SyncState, expectedVersion: string | undefined): Promise<string> {
      const text = serialiseState(state);
      const lock = `${path}.lock`;
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch {
        // the write below reports the real problem
      }
      const newVersion = versionOf(text);
      const lockFd = acquireWriteLock(lock, path);
      // Everything below is synchronous: the lock is held for as short a time as the write takes.
      try {
        const current = read();
        const currentVersion = current === undefined ? undefined : versionOf(current);
        if (currentVersion !== expectedVersion) {
          throw new SyncError("STATE_CONFLICT", `state file ${path} changed since this run read it`, {
            hint: "another run wrote it; this run stops without overwriting newer state (the next run continues)",
          });
        }
        const temp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
        const fd = openSync(temp, "w", 0o600);
        try {
          writeSync(fd, text);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(temp, path);
        return newVersion;
      } catch (error) {
        if (error instanceof SyncError) throw error;
        throw new SyncError("STATE_WRITE", `cannot write state file ${path}: ${(error as Error).message}`, { hint: "check state.file and its directory's permissions" });
      } finally {
        closeSync(lockFd);
        unlinkSync(lock);
      }
    },
  };
}

function acquireWriteLock(lock: string, path: string): number {
  for (let attempt = 0; ; attempt++) {
    try {
      return openSync(lock, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new SyncError("STATE_WRITE", `cannot write state file ${path}: ${(error as Error).message}`, { hint: "check state.file and its directory's permissions" });
      }
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // released meanwhile: try again
      }
      if (attempt === 0 && age > STALE_WRITE_LOCK_MS) {
        unlinkSync(lock);
        continue;
      }
      throw new SyncError("STATE_CONFLICT", `state file ${path} is being written by another run (${lock} exists)`, {
        hint: "wait for the other run to finish; if none is running, delete the lock file",
      });
    }
  }
}

/** A lock not refreshed for this long belongs to a run that died (kill -9, power loss). */
export const RUN_LOCK_STALE_MS = 10 * 60_000;
const RUN_LOCK_HEARTBEAT_MS = 30_000;

/**
 * Takes `<state>.run.lock` for the whole run, or stops with STATE_CONFLICT when another run holds
 * it. The holder refreshes its mtime every 30 s; one older than 10 minutes is stale and taken over.
 * (Each write also takes `<state>.lock`; the content hash it compares is the last guard against
 * a run that took over a stale lock too early.)
 */
function acquireRunLock(statePath: string, log: Logger): RunLock {
  const path = `${statePath}.run.lock`;
  const owner = { id: crypto.randomUUID(), host: hostname(), pid: process.pid, startedAt: new Date().toISOString() };
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const release = () => {
    clearInterval(heartbeat);
    try {
      if ((JSON.parse(readFileSync(path, "utf8")) as Partial<typeof owner>).id === owner.id) unlinkSync(path);
    } catch {
      // already gone, or never taken
    }
  };
  const create = (): boolean => {
    try {
      const fd = openSync(path, "wx", 0o600);
      try {
        writeSync(fd, `${JSON.stringify(owner)}\n`);
      } finally {
        closeSync(fd);
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw new SyncError("STATE_WRITE", `cannot create the run lock ${path}: ${(error as Error).message}`, {
        hint: "check state.file and its directory's permissions",
      });
    }
  };
  if (!create()) {
    let holder = "another run";
    let age = 0;
    let holderGone = false;
    try {
      age = Date.now() - statSync(path).mtimeMs;
      const held = JSON.parse(readFileSync(path, "utf8")) as Partial<typeof owner>;
      holder = `a run on ${held.host ?? "?"} (pid ${held.pid ?? "?"}) started ${held.startedAt ?? "?"}`;
      // A holder on this host whose process is gone was killed (kill -9, OOM): no need to wait.
      holderGone = held.host === owner.host && typeof held.pid === "number" && !processAlive(held.pid);
    } catch {
      // gone or unreadable: the retry below decides
    }
    if (holderGone || age > RUN_LOCK_STALE_MS) {
      log.warn(
        holderGone
          ? `taking over the run lock ${path} of ${holder}: that process is gone`
          : `taking over the stale run lock ${path} of ${holder} (not refreshed for ${Math.round(age / 60_000)} min)`,
      );
      try {
        unlinkSync(path);
      } catch {
        // another run took it over first: create() below fails and says so
      }
    }
    if (!create()) {
      throw new SyncError("STATE_CONFLICT", `state file ${statePath} is in use by ${holder} (lock ${path})`, {
        hint: `this run stopped before reading or writing anything; if no run is going, delete ${path} (a lock whose process is gone, or not refreshed for 10 minutes, is taken over by itself)`,
      });
    }
  }
  // The file store takes `<state>.lock` only while it writes, and only a run holding this lock
  // writes: one found now was left by a run killed mid-save, and would refuse every save.
  const writeLock = `${statePath}.lock`;
  if (existsSync(writeLock)) {
    log.warn(`removing ${writeLock}, left by a run that stopped while saving the state`);
    try {
      unlinkSync(writeLock);
    } catch {
      // gone already
    }
  }
  heartbeat = setInterval(() => {
    try {
      const at = new Date();
      utimesSync(path, at, at);
    } catch {
      // removed by hand: the state's content hash still guards the writes
    }
  }, RUN_LOCK_HEARTBEAT_MS);
  return { release };
}


/** Whether a process of this host is alive: signal 0 checks without sending anything. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
}
