/**
 * @module StateStore on a local file: atomic replace (write a temp file, fsync, rename), mode
 * 0600, and compare-and-swap on a SHA-256 of the content so two runs never overwrite each other.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { SyncError } from "../../core/errors.ts";
import type { LoadedState, StateStore } from "../../core/ports.ts";
import { parseState, serialiseState, sha256Hex } from "../../core/state.ts";
import type { SyncState } from "../../model/index.ts";

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
    async load(): Promise<LoadedState | undefined> {
      const text = read();
      if (text === undefined) return undefined;
      return { state: parseState(text, path), version: await sha256Hex(text) };
    },
    async save(state: SyncState, expectedVersion: string | undefined): Promise<string> {
      const text = serialiseState(state);
      const lock = `${path}.lock`;
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch {
        // the write below reports the real problem
      }
      let lockFd: number;
      try {
        lockFd = openSync(lock, "wx", 0o600);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") {
          throw new SyncError("STATE_CONFLICT", `state file ${path} is locked by another run (${lock} exists)`, {
            hint: "wait for the other run to finish; if none is running, delete the lock file",
          });
        }
        throw new SyncError("STATE_WRITE", `cannot write state file ${path}: ${(error as Error).message}`, { hint: "check state.file and its directory's permissions" });
      }
      try {
        const current = read();
        const currentVersion = current === undefined ? undefined : await sha256Hex(current);
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
        return await sha256Hex(text);
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
