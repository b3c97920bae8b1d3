/**
 * @module StateStore on a local file: atomic replace (write a temp file, fsync, rename), mode
 * 0600, compare-and-swap on a SHA-256 of the content, and a run-long lock, so two runs never
 * overwrite each other. A `state.file` that is a symlink is written through to its target.
 */
import { createHash } from "node:crypto";
import { accessSync, closeSync, constants, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, realpathSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { SyncError } from "../../core/errors.ts";
import type { LoadedState, Logger, RunLock, StateStore } from "../../core/ports.ts";
import { parseState, savedChunks } from "../../core/state.ts";
import type { SyncState } from "../../model/index.ts";
import { describeHolder, heldError, minutes, newHolder, pastItsEnd, processAlive, readHolder, RUN_LOCK_REFRESH_MS, RUN_LOCK_STALE_MS } from "./run-lock.ts";

/** A write holds the lock for milliseconds; a lock this old was left by a run killed mid-write. */
const STALE_WRITE_LOCK_MS = 60_000;

/**
 * The SHA-256 (hex) of the file's bytes, from its text read as latin1 (one character per byte,
 * whatever the bytes are); synchronous: the locked section has no await.
 */
const versionOf = (raw: string) => createHash("sha256").update(raw, "latin1").digest("hex");

/**
 * The file's text: what this release writes is ASCII, its bytes read as latin1 are the text
 * itself (held at one byte per character, and never a second time as a buffer: 70 MB at 200,000
 * users); a file edited by hand may hold other UTF-8 characters, decoded as such.
 */
const textOf = (raw: string) => (/[^\x00-\x7f]/.test(raw) ? Buffer.from(raw, "latin1").toString("utf8") : raw);

/** Which file is there now: inode, size and modification time; `undefined` when there is none. */
function fileKey(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}`;
  } catch {
    return undefined;
  }
}

export function createFileStateStore(path: string): StateStore {
  // The version of the file as this store last read or wrote it, and which file that was: a save
  // that finds the same file there needs not read and hash it again (70 MB at 200,000 users).
  let known: { key: string; version: string } | undefined;
  const remember = (key: string | undefined, version: string) => {
    known = key === undefined ? undefined : { key, version };
  };
  const currentVersion = (target: string): string | undefined => {
    const key = fileKey(target);
    if (key !== undefined && known?.key === key) return known.version;
    const current = read();
    return current === undefined ? undefined : versionOf(current);
  };
  /** The file's bytes as latin1 text (see textOf), or undefined when there is no file. */
  const read = (): string | undefined => {
    refuseDirectory(path);
    try {
      return readFileSync(path, "latin1");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new SyncError("STATE_READ", `cannot read state file ${path}: ${(error as Error).message}`, {
        hint: "check state.file and the file's permissions",
      });
    }
  };
  return {
    describe: () => `file ${path}`,
    lockForRun: async (log, options = {}) => {
      refuseDirectory(path);
      return acquireRunLock(path, writeTarget(path), log, options.endsBy);
    },
    async load(): Promise<LoadedState | undefined> {
      const before = fileKey(writeTarget(path));
      const raw = read();
      if (raw === undefined) return undefined;
      const version = versionOf(raw);
      // Remembered only when no write came between the two looks.
      if (fileKey(writeTarget(path)) === before) remember(before, version);
      return { state: parseState(textOf(raw), path), version };
    },
    probeWrite: async () => {
      refuseDirectory(path);
      return probeDirectory(path, dirname(writeTarget(path)));
    },
    async save(state: SyncState, expectedVersion: string | undefined): Promise<string> {
      const chunks = savedChunks(state);
      refuseDirectory(path);
      // Through a symlink to its target: renaming over the link would replace it with a regular
      // file. The temp file goes next to the target, so the rename stays on one file system (atomic).
      const target = writeTarget(path);
      const lock = `${target}.lock`;
      try {
        mkdirSync(dirname(target), { recursive: true });
      } catch {
        // the write below reports the real problem
      }
      const digest = createHash("sha256");
      const lockFd = acquireWriteLock(lock, path);
      // Everything below is synchronous: the lock is held for as short a time as the write takes.
      try {
        if (currentVersion(target) !== expectedVersion) {
          throw new SyncError("STATE_CONFLICT", `state file ${path} changed since this run read it`, {
            hint: "another run wrote it; this run stops without overwriting newer state (the next run continues)",
          });
        }
        const temp = `${target}.${crypto.randomUUID().slice(0, 8)}.tmp`;
        const fd = openSync(temp, "w", 0o600);
        try {
          // The file's bytes as they are made (savedChunks), each chunk written and digested in turn.
          for (const chunk of chunks) {
            for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at, chunk.length - at);
            digest.update(chunk);
          }
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(temp, target);
        const version = digest.digest("hex");
        remember(fileKey(target), version);
        return version;
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

/**
 * Creates and removes a probe file in `directory`, where saves write their temp file; when the
 * directory does not exist yet (the first save creates it), checks that its nearest existing
 * parent may be written instead, creating nothing.
 */
function probeDirectory(path: string, directory: string): string {
  const failure = (where: string, error: unknown) =>
    new SyncError("STATE_WRITE", `cannot write in ${where}, where state file ${path} goes: ${(error as Error).message}`, {
      hint: "check state.file and that the user running idpscim may write its directory",
    });
  let parent = directory;
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
  if (parent !== directory) {
    try {
      accessSync(parent, constants.W_OK);
    } catch (error) {
      throw failure(parent, error);
    }
    return `${directory} does not exist yet; the first sync creates it in ${parent}, which may be written`;
  }
  const probe = join(directory, `.idpscim-doctor-probe-${crypto.randomUUID().slice(0, 8)}`);
  try {
    closeSync(openSync(probe, "wx", 0o600));
    unlinkSync(probe);
  } catch (error) {
    throw failure(directory, error);
  }
  return `created and removed a probe file in ${directory}`;
}

/** A directory where the state file should be: one clear error before anything is read or written. */
function refuseDirectory(path: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    return; // absent (first run) or unreadable: reading it reports the real problem
  }
  if (isDirectory) {
    throw new SyncError("CONFIG_INVALID", `state.file ${path} is a directory, not a file`, {
      hint: `set state.file (--state-file, IDPSCIM_STATE_FILE) to a file path, e.g. ${join(path, "state.json")}`,
    });
  }
}

/** The file a write replaces: the path itself, or the final target of a symlink (also a dangling one). */
function writeTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    // Absent, or a link to a file not created yet: follow the links by hand (at most 40, as Linux does).
    let current = path;
    for (let hops = 0; hops < 40; hops++) {
      try {
        if (!lstatSync(current).isSymbolicLink()) return current;
        current = resolve(dirname(current), readlinkSync(current));
      } catch {
        return current;
      }
    }
    return current;
  }
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

/**
 * Takes `<state>.run.lock` (next to the state's target when `state.file` is a symlink, so two
 * links to one file share one lock) for the whole run, or stops with STATE_CONFLICT when another
 * run holds it. The holder refreshes its mtime every 30 s; one not refreshed for 10 minutes is
 * stale and taken over. (Each write also takes `<state>.lock`; the content hash it compares is
 * the last guard against a run that took over a stale lock too early.)
 */
function acquireRunLock(statePath: string, target: string, log: Logger, endsBy: number | undefined): RunLock {
  const path = `${target}.run.lock`;
  const owner = newHolder(endsBy);
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const release = async () => {
    clearInterval(heartbeat);
    try {
      if (readHolder(readFileSync(path, "utf8")).id === owner.id) unlinkSync(path);
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
      const held = readHolder(readFileSync(path, "utf8"));
      holder = describeHolder(held);
      // A holder on this host whose process is gone was killed (kill -9, OOM): no need to wait.
      holderGone = (held.host === owner.host && typeof held.pid === "number" && !processAlive(held.pid)) || pastItsEnd(held);
    } catch {
      // gone or unreadable: the retry below decides
    }
    if (holderGone || age > RUN_LOCK_STALE_MS) {
      log.warn(
        holderGone
          ? `taking over the run lock ${path} of ${holder}: that process is gone`
          : `taking over the stale run lock ${path} of ${holder} (not refreshed for ${minutes(age)})`,
      );
      try {
        unlinkSync(path);
      } catch {
        // another run took it over first: create() below fails and says so
      }
    }
    if (!create()) throw heldError(`file ${statePath}`, holder, path, RUN_LOCK_STALE_MS);
  }
  // The file store takes `<state>.lock` only while it writes, and only a run holding this lock
  // writes: one found now was left by a run killed mid-save, and would refuse every save.
  const writeLock = `${target}.lock`;
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
  }, RUN_LOCK_REFRESH_MS);
  return { release };
}
