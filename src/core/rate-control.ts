/** @module Adaptive request limiter (AIMD pacing, bounded concurrency) and retry policy; runtime-neutral. */
import { backoffDelay, type RetryOptions } from "./retry.ts";

export interface RateControlOptions {
  initialRps: number;
  minRps: number;
  maxRps: number;
  maxConcurrency: number;
  retry: RetryOptions;
  random?: () => number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** How the caller judges a failed attempt. `throttled` implies a retry and slows everyone down. */
export interface RetryDecision {
  retry: boolean;
  throttled: boolean;
  /** The server's Retry-After, when it sent one; replaces the computed backoff for this retry. */
  retryAfterMs?: number;
}

export interface RateControlStats {
  currentRps: number;
  retries: number;
  throttled: number;
}

export interface RateControl {
  /** Runs `attempt` under the limiter; retries when `classify(error)` says "retry"/"throttled"; honours retryAfterMs when the error carries it. */
  run<T>(attempt: () => Promise<T>, classify: (error: unknown) => RetryDecision): Promise<T>;
  stats(): RateControlStats;
}

/** Consecutive successes that count as "calm" before the rate grows again. */
export const CALM_SUCCESSES = 20;
/** Each calm period adds this share of the initial rate (additive increase). */
const INCREASE_SHARE = 0.1;
/** A 429 multiplies the rate by this (multiplicative decrease). */
const DECREASE_FACTOR = 0.5;
/** A server's Retry-After is honoured up to this, or up to `maxDelayMs` when that is larger. */
const RETRY_AFTER_CAP_MS = 60_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Paces request starts at `currentRps` (one slot every 1000/rps ms, no bursts) with at most
 * `maxConcurrency` in flight. AWS publishes 25 write / 40 read TPS per store and sends 429
 * without Retry-After (docs/aws-scim.md §9), so the rate is discovered: halve on a 429, grow by
 * 10% of the initial rate after 20 successes in a row. Only one halving per "round": 429s from
 * requests that started before the last halving do not halve again, otherwise a burst of
 * concurrent 429s would collapse the rate to `minRps` at once (TCP-style AIMD).
 *
 * @example
 * const rc = createRateControl({ initialRps: 20, minRps: 1, maxRps: 25, maxConcurrency: 8,
 *   retry: { attempts: 8, baseDelayMs: 250, maxDelayMs: 20_000 } });
 * await rc.run(() => fetchSomething(), (e) => ({ retry: isTransient(e), throttled: is429(e) }));
 */
export function createRateControl(options: RateControlOptions): RateControl {
  const { initialRps, minRps, maxRps, maxConcurrency, retry } = options;
  if (!(minRps > 0) || !(maxRps >= minRps)) throw new RangeError(`rate control: need 0 < minRps <= maxRps (got ${minRps}, ${maxRps})`);
  if (!(maxConcurrency >= 1)) throw new RangeError(`rate control: maxConcurrency must be at least 1 (got ${maxConcurrency})`);
  if (!(retry.attempts >= 1)) throw new RangeError(`rate control: retry.attempts must be at least 1 (got ${retry.attempts})`);
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;

  let rate = clamp(initialRps, minRps, maxRps);
  const step = rate * INCREASE_SHARE;
  let round = 0;
  let calm = 0;
  let nextSlot = Number.NEGATIVE_INFINITY;
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  let retries = 0;
  let throttled = 0;

  /** Takes a concurrency permit, then the next pacing slot. Returns the round it started in. */
  async function acquire(): Promise<number> {
    if (inFlight < maxConcurrency) inFlight++;
    else await new Promise<void>((resolve) => waiting.push(resolve)); // the releaser hands its permit over
    const t = now();
    const slot = Math.max(t, nextSlot);
    nextSlot = slot + 1000 / rate;
    // The round is that of the rate which spaced this slot: a slot reserved before a halving
    // and sent after it was not paced by the new rate, so its 429 says nothing new.
    const reservedIn = round;
    if (slot > t) await sleep(slot - t);
    return reservedIn;
  }

  function release(): void {
    const next = waiting.shift();
    if (next) next();
    else inFlight--;
  }

  function backoff(attempt: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs)) {
      return clamp(retryAfterMs, 0, Math.max(retry.maxDelayMs, RETRY_AFTER_CAP_MS));
    }
    return backoffDelay(attempt, retry, random);
  }

  return {
    async run<T>(attempt: () => Promise<T>, classify: (error: unknown) => RetryDecision): Promise<T> {
      for (let n = 1; ; n++) {
        const startedIn = await acquire();
        let result: T;
        try {
          result = await attempt();
        } catch (error) {
          release();
          const decision = classify(error);
          calm = 0;
          if (decision.throttled) {
            throttled++;
            if (startedIn === round) {
              rate = Math.max(minRps, rate * DECREASE_FACTOR);
              round++;
            }
          }
          if (!(decision.retry || decision.throttled) || n >= retry.attempts) throw error;
          retries++;
          await sleep(backoff(n, decision.retryAfterMs));
          continue;
        }
        release();
        if (++calm >= CALM_SUCCESSES) {
          calm = 0;
          rate = Math.min(maxRps, rate + step);
        }
        return result;
      }
    },
    stats: () => ({ currentRps: rate, retries, throttled }),
  };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** The two kinds of request AWS limits apart: reads (Get/List) and writes (Create/Patch/Put/Delete). */
export type RequestKind = "read" | "write";

export interface RequestPacers {
  /** `RateControl.run` under the pacer of `kind`; its 429s slow that kind only. */
  run<T>(kind: RequestKind, attempt: () => Promise<T>, classify: (error: unknown) => RetryDecision): Promise<T>;
  stats(): Record<RequestKind, RateControlStats>;
}

/**
 * One AIMD limiter per kind of request, each with its own rate, concurrency and rounds. AWS
 * publishes 40 read and 25 write TPS per identity store as separate limits (docs/aws-scim.md §9):
 * one limiter for both would hold reads to the write limit, and a 429 on a read would slow the
 * writes that were within theirs. Both back off with the same `retry` computation (retry.ts).
 *
 * @example
 * const pacers = createRequestPacers({ read: { ...shared, initialRps: 32, maxRps: 40 }, write: { ...shared, initialRps: 20, maxRps: 25 } });
 * await pacers.run("read", () => fetchPage(), classify);
 */
export function createRequestPacers(options: Record<RequestKind, RateControlOptions>): RequestPacers {
  const pacers: Record<RequestKind, RateControl> = { read: createRateControl(options.read), write: createRateControl(options.write) };
  return {
    run: (kind, attempt, classify) => pacers[kind].run(attempt, classify),
    stats: () => ({ read: pacers.read.stats(), write: pacers.write.stats() }),
  };
}
