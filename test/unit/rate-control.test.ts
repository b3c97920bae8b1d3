/** @module Unit tests of the AIMD limiter and retry policy, on a fake clock. */
import { describe, expect, test } from "bun:test";
import { CALM_SUCCESSES, createRateControl, type RateControlOptions, type RetryDecision } from "../../src/core/rate-control.ts";

class Throttled extends Error {
  constructor(readonly retryAfterMs?: number) {
    super("429");
  }
}
class Transient extends Error {}
class Fatal extends Error {}

const classify = (error: unknown): RetryDecision => {
  if (error instanceof Throttled) {
    return error.retryAfterMs === undefined ? { retry: true, throttled: true } : { retry: true, throttled: true, retryAfterMs: error.retryAfterMs };
  }
  return { retry: error instanceof Transient, throttled: false };
};

function fakeClock() {
  const clock = { t: 1_000_000, sleeps: [] as number[] };
  return {
    clock,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
}

function setup(overrides: Partial<RateControlOptions> = {}) {
  const { clock, now, sleep } = fakeClock();
  const rc = createRateControl({
    initialRps: 20,
    minRps: 1,
    maxRps: 25,
    maxConcurrency: 8,
    retry: { attempts: 8, baseDelayMs: 250, maxDelayMs: 20_000 },
    random: () => 0.5,
    now,
    sleep,
    ...overrides,
  });
  return { rc, clock };
}

/** An attempt that fails with the given errors in turn, then returns "ok". */
function failing(...errors: Error[]) {
  const calls = { n: 0 };
  const attempt = async () => {
    const e = errors[calls.n++];
    if (e) throw e;
    return "ok";
  };
  return { attempt, calls };
}

describe("rate control", () => {
  test("a 429 halves the rate, and the request is retried", async () => {
    const { rc } = setup();
    const { attempt, calls } = failing(new Throttled());
    expect(await rc.run(attempt, classify)).toBe("ok");
    expect(calls.n).toBe(2);
    expect(rc.stats()).toEqual({ currentRps: 10, retries: 1, throttled: 1 });
  });

  test("the rate never drops below minRps", async () => {
    const { rc } = setup({ minRps: 4 });
    const { attempt } = failing(new Throttled(), new Throttled(), new Throttled(), new Throttled());
    await rc.run(attempt, classify);
    expect(rc.stats().currentRps).toBe(4);
  });

  test("the rate grows back additively after calm periods, up to maxRps", async () => {
    const { rc } = setup();
    await rc.run(failing(new Throttled()).attempt, classify);
    expect(rc.stats().currentRps).toBe(10);
    // The successful retry above counts toward the first calm period.
    for (let i = 1; i < CALM_SUCCESSES; i++) await rc.run(async () => 1, classify);
    expect(rc.stats().currentRps).toBe(12);
    for (let i = 0; i < CALM_SUCCESSES * 10; i++) await rc.run(async () => 1, classify);
    expect(rc.stats().currentRps).toBe(25);
  });

  test("a failure interrupts the calm period", async () => {
    const { rc } = setup();
    await rc.run(failing(new Throttled()).attempt, classify); // 10 rps, calm 1
    for (let i = 0; i < CALM_SUCCESSES - 5; i++) await rc.run(async () => 1, classify);
    await rc.run(failing(new Transient()).attempt, classify); // calm restarts at the success
    for (let i = 0; i < 10; i++) await rc.run(async () => 1, classify);
    expect(rc.stats().currentRps).toBe(10);
  });

  test("Retry-After replaces the computed backoff", async () => {
    const { rc, clock } = setup();
    await rc.run(failing(new Throttled(3_000)).attempt, classify);
    expect(clock.sleeps).toContain(3_000);
  });

  test("backoff is exponential with full jitter, capped at maxDelayMs", async () => {
    const { rc, clock } = setup({ random: () => 0.999_999, initialRps: 1_000_000, maxRps: 1_000_000, retry: { attempts: 10, baseDelayMs: 100, maxDelayMs: 5_000 } });
    const errors = Array.from({ length: 9 }, () => new Transient());
    await rc.run(failing(...errors).attempt, classify);
    // Pacing sleeps are sub-millisecond at this rate; keep the backoff sleeps only.
    expect(clock.sleeps.filter((ms) => ms >= 1)).toEqual([99, 199, 399, 799, 1599, 3199, 4999, 4999, 4999]);
  });

  test("attempts are bounded: the last error is thrown", async () => {
    const { rc } = setup({ retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 } });
    const { attempt, calls } = failing(new Transient("1"), new Transient("2"), new Transient("3"), new Transient("4"));
    await expect(rc.run(attempt, classify)).rejects.toThrow("3");
    expect(calls.n).toBe(3);
    expect(rc.stats().retries).toBe(2);
  });

  test("a non-retryable error is thrown at once", async () => {
    const { rc, clock } = setup();
    const { attempt, calls } = failing(new Fatal("no"));
    await expect(rc.run(attempt, classify)).rejects.toBeInstanceOf(Fatal);
    expect(calls.n).toBe(1);
    expect(rc.stats()).toEqual({ currentRps: 20, retries: 0, throttled: 0 });
    expect(clock.sleeps).toEqual([]);
  });

  test("request starts are paced at the current rate", async () => {
    const { rc, clock } = setup({ initialRps: 10, maxRps: 10 });
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) await rc.run(async () => starts.push(clock.t), classify);
    expect(starts.map((t) => t - (starts[0] ?? 0))).toEqual([0, 100, 200, 300, 400]);
  });

  test("concurrent 429s from one round halve the rate once", async () => {
    // A real clock: the attempts must overlap in time for the test to mean anything.
    const rc = createRateControl({
      initialRps: 1_000,
      minRps: 1,
      maxRps: 1_000,
      maxConcurrency: 8,
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    });
    let gate!: () => void;
    const opened = new Promise<void>((resolve) => (gate = resolve));
    let first = true;
    const runs = Array.from({ length: 4 }, () =>
      rc.run(async () => {
        if (first) {
          first = false;
          await new Promise((r) => setTimeout(r, 20));
          gate();
        }
        await opened;
        if (rc.stats().throttled < 4) throw new Throttled();
        return 1;
      }, classify),
    );
    await Promise.allSettled(runs);
    expect(rc.stats().throttled).toBeGreaterThanOrEqual(4);
    expect(rc.stats().currentRps).toBe(500);
  });

  test("in-flight attempts never exceed maxConcurrency", async () => {
    const rc = createRateControl({ initialRps: 10_000, minRps: 1, maxRps: 10_000, maxConcurrency: 3, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        rc.run(async () => {
          peak = Math.max(peak, ++active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
        }, classify),
      ),
    );
    expect(peak).toBe(3);
  });

  test("rejects impossible options", () => {
    const retry = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };
    expect(() => createRateControl({ initialRps: 1, minRps: 0, maxRps: 1, maxConcurrency: 1, retry })).toThrow(RangeError);
    expect(() => createRateControl({ initialRps: 1, minRps: 1, maxRps: 1, maxConcurrency: 0, retry })).toThrow(RangeError);
    expect(() => createRateControl({ initialRps: 1, minRps: 1, maxRps: 1, maxConcurrency: 1, retry: { ...retry, attempts: 0 } })).toThrow(RangeError);
  });
});
