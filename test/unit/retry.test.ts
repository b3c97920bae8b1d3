/** @module Unit tests of the one backoff computation, with the numbers both APIs waited before it was shared. */
import { describe, expect, test } from "bun:test";
import { DEFAULT_RETRY } from "../../src/adapters/google/requests.ts";
import { DEFAULT_RATE } from "../../src/adapters/scim/scim-target.ts";
import { createRateControl } from "../../src/core/rate-control.ts";
import { backoffDelay } from "../../src/core/retry.ts";

const almostOne = () => 0.999_999;
const half = () => 0.5;

describe("backoffDelay", () => {
  test("full jitter: uniform below min(max, base·2^(attempt−1)), whole ms", () => {
    const retry = { baseDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, retry, almostOne))).toEqual([99, 199, 399, 799, 999, 999]);
    expect([1, 2, 3].map((n) => backoffDelay(n, retry, () => 0))).toEqual([0, 0, 0]);
    expect(backoffDelay(3, retry, half)).toBe(200);
  });

  test("SCIM: the defaults wait as before (250 ms doubling to 20 s, 8 attempts)", () => {
    expect(DEFAULT_RATE.retry).toEqual({ attempts: 8, baseDelayMs: 250, maxDelayMs: 20_000 });
    const ceilings = [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, DEFAULT_RATE.retry, almostOne));
    expect(ceilings).toEqual([249, 499, 999, 1999, 3999, 7999, 15_999]);
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, DEFAULT_RATE.retry, half))).toEqual([125, 250, 500, 1000, 2000, 4000, 8000]);
  });

  test("SCIM: rate control sleeps these delays between its attempts", async () => {
    const sleeps: number[] = [];
    const rc = createRateControl({
      ...DEFAULT_RATE.write,
      maxConcurrency: DEFAULT_RATE.maxConcurrency,
      retry: DEFAULT_RATE.retry,
      initialRps: 1_000_000,
      maxRps: 1_000_000,
      random: half,
      now: () => 0,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    let calls = 0;
    const attempt = async () => {
      calls++;
      throw new Error("transient");
    };
    await expect(rc.run(attempt, () => ({ retry: true, throttled: false }))).rejects.toThrow("transient");
    expect(calls).toBe(8);
    expect(sleeps.filter((ms) => ms >= 1)).toEqual([125, 250, 500, 1000, 2000, 4000, 8000]);
  });

  test("Google: the defaults wait as before (500 ms doubling to 30 s, 6 attempts)", () => {
    expect(DEFAULT_RETRY).toEqual({ attempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 });
    // Retry k (k = 1 after the first try) waited below min(30 s, 500 ms·2^(k−1)).
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, DEFAULT_RETRY, almostOne))).toEqual([499, 999, 1999, 3999, 7999]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, DEFAULT_RETRY, half))).toEqual([250, 500, 1000, 2000, 4000]);
    expect(backoffDelay(7, DEFAULT_RETRY, almostOne)).toBe(29_999);
  });
});
