/** @module Retry backoff, one computation for every API the tool calls; each caller judges for itself what is worth retrying. */

export interface RetryOptions {
  /** Total attempts, the first included: 8 means one try and up to seven retries. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * The wait before the next attempt once attempt number `failedAttempt` (1 = the first try) has
 * failed: uniform in [0, min(maxDelayMs, baseDelayMs · 2^(failedAttempt − 1))), in whole ms.
 * Full jitter spreads apart the retries of many requests that failed together instead of sending
 * them back in lockstep: https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 *
 * @example
 * backoffDelay(3, { baseDelayMs: 250, maxDelayMs: 20_000 }); // somewhere in [0, 1000)
 */
export function backoffDelay(failedAttempt: number, options: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs">, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (failedAttempt - 1));
  return Math.floor(random() * ceiling);
}
