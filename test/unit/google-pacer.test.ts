/** @module Unit tests of the Google pacer (`call` under `createDirectoryPacer`), on a virtual clock: requests are counted per window of time, never timed. */
import { describe, expect, test } from "bun:test";
import { call, createDirectoryPacer, type DirectoryContext } from "../../src/adapters/google/requests.ts";
import { forEachLimit } from "../../src/core/pool.ts";

/**
 * A clock whose time moves only when every task waits on one of its timers: then it jumps to
 * the earliest. Concurrent sleepers therefore overlap as they would on a real clock.
 */
function virtualClock() {
  let t = 1_000_000;
  let seq = 0;
  const timers: { at: number; seq: number; resolve: () => void }[] = [];
  return {
    now: () => t,
    sleep: (ms: number) => new Promise<void>((resolve) => void timers.push({ at: t + ms, seq: seq++, resolve })),
    async drive<T>(work: Promise<T>): Promise<T> {
      let done = false;
      const finished = work.finally(() => (done = true));
      finished.catch(() => {});
      for (let idle = 0; !done && idle < 100; ) {
        await new Promise((resolve) => setTimeout(resolve, 0)); // every runnable task reaches its next wait
        if (done) break;
        timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
        const next = timers.shift();
        if (!next) {
          idle++;
          continue;
        }
        idle = 0;
        t = Math.max(t, next.at);
        next.resolve();
      }
      return finished;
    },
  };
}

/** A failed request as gaxios throws it, with Google's error envelope (docs/google-directory.md §6.1). */
function googleError(status: number, reason: string): Error {
  return Object.assign(new Error(`${status} ${reason}`), {
    response: { status, data: { error: { code: status, message: reason, errors: [{ reason, domain: "usageLimits", message: reason }] } } },
  });
}

const LIMIT = 20; // 50 ms between starts: exact in floating point

function setup(rateLimit = LIMIT) {
  const clock = virtualClock();
  const retry = { attempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };
  const rate = createDirectoryPacer({ rateLimit, concurrency: 8, retry, now: clock.now, sleep: clock.sleep, random: () => 0.5 });
  const ctx: DirectoryContext = {
    admin: {} as DirectoryContext["admin"],
    customer: "my_customer",
    concurrency: 8,
    retry,
    rate,
    log: { debug() {}, info() {}, warn() {} },
    authContext: { clientEmail: "sa@example.iam.gserviceaccount.com", adminEmail: "admin@example.com", apiUrl: "https://admin.googleapis.com" },
    accessTokens: new Set(),
    stats: { requests: {}, pace: { lowestRps: rateLimit, lastRps: rateLimit } },
  };
  const starts: number[] = [];
  /** `n` members.list requests, 8 at a time; `fail(i)` may make the i-th attempt fail. */
  const run = (n: number, fail: (attempt: number) => Error | undefined = () => undefined) =>
    clock.drive(
      forEachLimit(Array.from({ length: n }, (_, i) => i), ctx.concurrency, async (i) => {
        await call(ctx, "members.list", `group-${i}`, async () => {
          const error = fail(starts.length);
          starts.push(clock.now());
          if (error) throw error;
          return { data: { members: [] } };
        });
      }),
    );
  return { ctx, rate, starts, run };
}

/** The most request starts in any second (a window opening at each start). */
function busiestSecond(starts: number[], from = Number.NEGATIVE_INFINITY, to = Number.POSITIVE_INFINITY): number {
  const inRange = starts.filter((t) => t >= from && t < to);
  return Math.max(0, ...inRange.map((s) => inRange.filter((t) => t >= s && t < s + 1_000).length));
}

describe("Google pacer", () => {
  test("never starts more than gws.rate_limit requests in any second, 8 in flight", async () => {
    const { starts, rate, run } = setup();
    await run(200);
    expect(starts).toHaveLength(200);
    expect(busiestSecond(starts)).toBe(LIMIT);
    expect(rate.stats()).toEqual({ currentRps: LIMIT, retries: 0, throttled: 0 });
  });

  test("a 403 userRateLimitExceeded halves the pace for every request, is retried, and calm grows the pace back", async () => {
    const { ctx, starts, rate, run } = setup();
    await run(200, (n) => (n === 60 ? googleError(403, "userRateLimitExceeded") : undefined));
    expect(starts).toHaveLength(201); // 200 requests and one retry
    expect(ctx.stats.requests["members.list"]).toBe(201);
    expect(rate.stats()).toMatchObject({ retries: 1, throttled: 1 });
    expect(ctx.stats.pace.lowestRps).toBe(LIMIT / 2);

    const failedAt = starts[60]!;
    expect(busiestSecond(starts, Number.NEGATIVE_INFINITY, failedAt)).toBe(LIMIT);
    // The second after the error: the slots already taken at the old pace (at most 7 others in
    // flight) have gone; starts now come at half the limit, plus at most one growth step (+2/s).
    const slowed = busiestSecond(starts, failedAt + 1_000, failedAt + 2_000);
    expect(slowed).toBeLessThanOrEqual(LIMIT / 2 + 2);
    expect(slowed).toBeLessThan(LIMIT);
    // 20 successes in a row add a tenth of the limit: long before the 200th request it is back.
    expect(rate.stats().currentRps).toBe(LIMIT);
    expect(busiestSecond(starts)).toBeLessThanOrEqual(LIMIT);
  });

  test.each([
    [403, "quotaExceeded", true],
    [429, "rateLimitExceeded", true],
    [403, "userRateLimitExceeded", true],
    [503, "backendError", false],
  ])("%i %s: retried; slows the pace: %p", async (status, reason, slows) => {
    const { rate, run, starts } = setup();
    await run(1, (n) => (n === 0 ? googleError(status, reason) : undefined));
    expect(starts).toHaveLength(2);
    expect(rate.stats()).toEqual({ currentRps: slows ? LIMIT / 2 : LIMIT, retries: 1, throttled: slows ? 1 : 0 });
  });

  test("quota errors that never stop: SOURCE_READ after the last attempt, the pace at its floor", async () => {
    const { ctx, rate, run } = setup(4);
    const error = await run(1, () => googleError(403, "userRateLimitExceeded")).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "SOURCE_READ" });
    expect(String((error as Error).message)).toContain("403 userRateLimitExceeded after 6 attempts");
    expect(ctx.stats.requests["members.list"]).toBe(6);
    expect(rate.stats()).toMatchObject({ currentRps: 1, throttled: 6, retries: 5 });
    expect(ctx.stats.pace.lowestRps).toBe(1);
  });
});
