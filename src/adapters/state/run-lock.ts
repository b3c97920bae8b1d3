/**
 * @module What the two stores' run locks share: the holder's record, when a lock counts as
 * stale, and the messages (one rule in one place, whichever store holds the state).
 */
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { SyncError } from "../../core/errors.ts";
import { shortJson } from "../../core/text.ts";

/**
 * A lock not refreshed for this long belongs to a run that died (kill -9, power loss, a Lambda
 * sandbox ended by its timeout) and is taken over. Twenty refreshes missed in a row: a live run
 * on a slow network is not taken for dead, and a killed run blocks the next one for at most this.
 */
export const RUN_LOCK_STALE_MS = 10 * 60_000;
export const RUN_LOCK_REFRESH_MS = 30_000;

/** The lock's body (JSON): who holds it, since when, and when it last said it is alive. */
export interface LockHolder {
  id: string;
  host: string;
  pid: number;
  started: string;
  refreshed: string;
  /** When the runtime ends the holder whatever it does (a Lambda invocation's deadline), if it says. */
  endsBy?: string;
  /** Linux only: the kernel's boot id and the pid namespace, so that `pid` can be checked from the same place. */
  pidSpace?: string;
}

/**
 * Where a pid means the same process: on Linux, the boot id (one per kernel boot, so per machine,
 * VM or Lambda sandbox) and the pid namespace (one per container). A hostname alone is not enough
 * for an S3 lock: laptops, containers and sandboxes share names. Undefined elsewhere.
 */
function currentPidSpace(): string | undefined {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const namespace = readlinkSync("/proc/self/ns/pid");
    return boot && namespace ? `${boot}/${namespace}` : undefined;
  } catch {
    return undefined;
  }
}
const PID_SPACE = currentPidSpace();

/** Whether the holder ran in this pid space and its process is gone (kill -9, OOM): no need to wait for the lock to go stale. */
export function holderProcessGone(held: Partial<LockHolder>): boolean {
  return PID_SPACE !== undefined && held.pidSpace === PID_SPACE && typeof held.pid === "number" && held.pid !== process.pid && !processAlive(held.pid);
}

/** Whether a process of this pid space is alive: signal 0 checks without sending anything. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
}

export function newHolder(endsBy?: number): LockHolder {
  const now = new Date().toISOString();
  return {
    id: crypto.randomUUID(),
    host: hostname(),
    pid: process.pid,
    started: now,
    refreshed: now,
    ...(endsBy !== undefined ? { endsBy: new Date(endsBy).toISOString() } : {}),
    ...(PID_SPACE !== undefined ? { pidSpace: PID_SPACE } : {}),
  };
}

/** Whether the holder is certainly gone: its runtime's deadline has passed (Lambda ended that invocation). */
export function pastItsEnd(held: Partial<LockHolder>, now = Date.now()): boolean {
  const endsBy = Date.parse(held.endsBy ?? "");
  return !Number.isNaN(endsBy) && now >= endsBy;
}

/** The holder as read back from a lock: any field may be missing or wrong (it comes from a file or an object). */
export function readHolder(text: string): Partial<LockHolder> {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    if (typeof parsed !== "object" || parsed === null) return {};
    const held: Partial<LockHolder> = {};
    if (typeof parsed.id === "string") held.id = parsed.id;
    if (typeof parsed.host === "string") held.host = parsed.host;
    if (typeof parsed.pid === "number") held.pid = parsed.pid;
    // `startedAt`: the file lock's field before the S3 lock shared this record.
    const started = parsed.started ?? parsed.startedAt;
    if (typeof started === "string") held.started = started;
    if (typeof parsed.refreshed === "string") held.refreshed = parsed.refreshed;
    if (typeof parsed.endsBy === "string") held.endsBy = parsed.endsBy;
    if (typeof parsed.pidSpace === "string") held.pidSpace = parsed.pidSpace;
    return held;
  } catch {
    return {};
  }
}

/** `a run on build-1 (pid 4242) since 2025-01-01T10:00:00.000Z`; foreign text is quoted and cut, never printed raw. */
export function describeHolder(held: Partial<LockHolder>): string {
  return `a run on ${shown(held.host)} (pid ${typeof held.pid === "number" ? held.pid : "?"}) since ${shown(held.started)}`;
}

/** A value read from a lock, safe for a log line: plain names as they are, anything else JSON-quoted and cut to 60 characters. */
function shown(value: string | undefined): string {
  if (value === undefined) return "?";
  return /^[\w.:+-]{1,60}$/.test(value) ? value : shortJson(value);
}

export function minutes(ms: number): string {
  return `${Math.round(ms / 60_000)} min`;
}

/** The second run's error: the state is held; nothing was read or written. */
export function heldError(state: string, holder: string, lock: string, staleAfterMs: number): SyncError {
  return new SyncError("STATE_CONFLICT", `state ${state} is in use by ${holder} (lock ${lock})`, {
    hint: `this run stopped before reading or writing anything; wait for that run to end, or if none is going, delete ${lock} (a lock not refreshed for ${minutes(staleAfterMs)} is taken over by itself)`,
  });
}
