/**
 * @module Fault injection knobs shared by the emulators. Mutable at run time so a test can
 * start a sync, turn faults on or off, and run again against the same emulator.
 */
export interface FaultOptions {
  /** Added to every response, in milliseconds. */
  latencyMs: number;
  /** Probability (0..1) that a request answers 500 (SCIM) or 503 (Google) before doing anything. */
  errorRate: number;
  /** Probability (0..1) that the connection is destroyed without an answer, before doing anything. */
  dropRate: number;
  /** Probability (0..1) that a request is delayed by `slowMs` extra. */
  slowRate: number;
  slowMs: number;
  /**
   * Probability (0..1) that a write is carried out and then its response is lost (connection
   * destroyed after the change was made): the case where a client retries a POST that succeeded.
   */
  lostResponseRate: number;
  /** Deterministic random source; tests pass a seeded one. */
  random: () => number;
}

export function createFaults(overrides: Partial<FaultOptions> = {}): FaultOptions {
  return {
    latencyMs: 0,
    errorRate: 0,
    dropRate: 0,
    slowRate: 0,
    slowMs: 2000,
    lostResponseRate: 0,
    random: Math.random,
    ...overrides,
  };
}

/** A small seeded PRNG (mulberry32) so fault tests are repeatable by seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
