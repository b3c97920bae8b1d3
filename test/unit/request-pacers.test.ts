/** @module Unit tests of the two SCIM pacers (reads, writes) on a virtual clock, against token buckets like AWS's: counts of requests and 429s, never wall time. */
import { describe, expect, test } from "bun:test";
import { createRequestPacers, type RateControlOptions, type RequestKind, type RetryDecision } from "../../src/core/rate-control.ts";
import { requestKind } from "../../src/adapters/scim/connection.ts";
import { TokenBucket } from "../emulators/scim/ratelimit.ts";

class Throttled extends Error {
  constructor() {
    super("429");
  }
}
const classify = (error: unknown): RetryDecision => ({ retry: error instanceof Throttled, throttled: error instanceof Throttled });

/** Virtual time: `sleep` parks on a timer; `drive` advances to the next timer whenever everything else waits. */
function virtualClock() {
  let t = 0;
  const timers: { at: number; wake: () => void }[] = [];
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    now: () => t,
    sleep: (ms: number) => new Promise<void>((wake) => void timers.push({ at: t + ms, wake })),
    async drive<T>(work: Promise<T>): Promise<T> {
      let done = false;
      void work.finally(() => (done = true)).catch(() => {});
      while (!done) {
        await settle();
        if (done || timers.length === 0) continue;
        timers.sort((a, b) => a.at - b.at);
        const next = timers.shift()!;
        t = Math.max(t, next.at);
        next.wake();
      }
      return work;
    },
  };
}

type Clock = ReturnType<typeof virtualClock>;

function pacers(clock: Clock, rates: Record<RequestKind, { initialRps: number; maxRps: number }>) {
  const shared: Omit<RateControlOptions, "initialRps" | "maxRps"> = {
    minRps: 1,
    maxConcurrency: 8,
    retry: { attempts: 30, baseDelayMs: 250, maxDelayMs: 20_000 },
    random: () => 0.5,
    now: clock.now,
    sleep: clock.sleep,
  };
  return createRequestPacers({ read: { ...shared, ...rates.read }, write: { ...shared, ...rates.write } });
}

/** A SCIM endpoint reduced to its throttling: one token bucket per kind, every attempt logged with its time and answer. */
function tenant(clock: Clock, limits: Record<RequestKind, number>) {
  const buckets = { read: new TokenBucket(limits.read, clock.now), write: new TokenBucket(limits.write, clock.now) };
  const log: { kind: RequestKind; at: number; status: 200 | 429 }[] = [];
  return {
    log,
    attempt: (kind: RequestKind) => async () => {
      const ok = buckets[kind].tryTake();
      log.push({ kind, at: clock.now(), status: ok ? 200 : 429 });
      if (!ok) throw new Throttled();
    },
    count: (kind: RequestKind, status?: number) => log.filter((e) => e.kind === kind && (status === undefined || e.status === status)).length,
    /** The most attempts of `kind` in any one-second window. */
    busiestSecond(kind: RequestKind): number {
      const times = log.filter((e) => e.kind === kind).map((e) => e.at);
      let most = 0;
      for (let i = 0, j = 0; j < times.length; j++) {
        while (times[j]! - times[i]! >= 1000 - 1e-6) i++; // float spacing: 40 × 25 ms may add up to 999.9999
        most = Math.max(most, j - i + 1);
      }
      return most;
    },
  };
}

const AWS = { read: { initialRps: 32, maxRps: 40 }, write: { initialRps: 20, maxRps: 25 } };

describe("request pacers", () => {
  test("a 429 on a read halves the read rate only; a 429 on a write the write rate only", async () => {
    const clock = virtualClock();
    const p = pacers(clock, AWS);
    let first = true;
    const once = async () => {
      if (first) {
        first = false;
        throw new Throttled();
      }
    };
    await clock.drive(p.run("read", once, classify));
    expect(p.stats().read).toEqual({ currentRps: 16, retries: 1, throttled: 1 });
    expect(p.stats().write).toEqual({ currentRps: 20, retries: 0, throttled: 0 });
    first = true;
    await clock.drive(p.run("write", once, classify));
    expect(p.stats().write).toEqual({ currentRps: 10, retries: 1, throttled: 1 });
    expect(p.stats().read.currentRps).toBe(16);
  });

  test("both at once, each within its own limit: 40 reads and 25 writes a second, no 429", async () => {
    const clock = virtualClock();
    const p = pacers(clock, AWS);
    const aws = tenant(clock, { read: 40, write: 25 });
    const runs = [
      ...Array.from({ length: 400 }, () => p.run("read", aws.attempt("read"), classify)),
      ...Array.from({ length: 250 }, () => p.run("write", aws.attempt("write"), classify)),
    ];
    await clock.drive(Promise.all(runs));
    expect(aws.count("read", 429)).toBe(0);
    expect(aws.count("write", 429)).toBe(0);
    expect(aws.count("read")).toBe(400);
    expect(aws.count("write")).toBe(250);
    // Each pacer grew to its own limit, and no second held more than that limit.
    expect(p.stats().read.currentRps).toBe(40);
    expect(p.stats().write.currentRps).toBe(25);
    expect(aws.busiestSecond("read")).toBe(40);
    expect(aws.busiestSecond("write")).toBe(25);
  });

  test("a write storm (5 writes/s) does not slow the reads: none throttled, all done before the writes", async () => {
    const clock = virtualClock();
    const p = pacers(clock, AWS);
    const aws = tenant(clock, { read: 40, write: 5 });
    let readsDone = 0;
    let readsDoneWhenWritesDone = -1;
    const reads = Array.from({ length: 200 }, () => p.run("read", aws.attempt("read"), classify).then(() => void readsDone++));
    const writes = Promise.all(Array.from({ length: 60 }, () => p.run("write", aws.attempt("write"), classify))).then(() => {
      readsDoneWhenWritesDone = readsDone;
    });
    await clock.drive(Promise.all([...reads, writes]));
    expect(aws.count("write", 429)).toBeGreaterThan(0);
    expect(p.stats().write.throttled).toBe(aws.count("write", 429));
    expect(aws.count("read", 429)).toBe(0);
    expect(p.stats().read).toEqual({ currentRps: 40, retries: 0, throttled: 0 });
    expect(readsDoneWhenWritesDone).toBe(200);
    expect(aws.busiestSecond("read")).toBeGreaterThan(25);
  });
});

describe("requestKind", () => {
  test("GET and HEAD are reads; POST, PATCH, PUT and DELETE are writes", () => {
    expect(["GET", "HEAD", "get"].map(requestKind)).toEqual(["read", "read", "read"]);
    expect(["POST", "PATCH", "PUT", "DELETE"].map(requestKind)).toEqual(["write", "write", "write", "write"]);
  });
});
