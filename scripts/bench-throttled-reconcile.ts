/**
 * @module The throttled reconcile measurement of `scripts/bench.ts` (issue #11: "a full reconcile
 * then sustains ≥ 90% of the read limit"): a full reconcile (`sync --reconcile`) of the tenant the
 * scenarios filled, its SCIM emulator answering 429 above AWS's default limits (40 reads/s, 25
 * writes/s) and the CLI told the same. With no drift it writes nothing: it is the read pace, the
 * one measurement the throttled first sync cannot give (a first sync reads almost nothing).
 */
import type { World } from "../test/support/harness.ts";
import { THROTTLED, isRead, rateAfterWarmup, type ResumeCliRun } from "./bench-throttled-resume.ts";

export interface ThrottledReconcile {
  limits: { writesPerSecond: number; readsPerSecond: number };
  args: string[];
  exit: number | null;
  timedOut: boolean;
  wallSeconds: number;
  peakRssBytes: number | null;
  /** SCIM requests, all answers counted; `throttled` the 429s. */
  scim: { reads: number; writes: number; throttled: number };
  /** Requests of a kind answered other than 429, per second, after its first 10 s; null with fewer than 10 there. */
  rates: { readsPerSecond: number | null; writesPerSecond: number | null };
}

/** One throttled `sync --reconcile` on `world`, whose SCIM emulator's limits are put back as they were after it. */
export async function measureThrottledReconcile(world: World, runCli: (world: World, args: string[]) => Promise<ResumeCliRun>): Promise<ThrottledReconcile> {
  const { scim } = world.emulators;
  const before = scim.rateLimit;
  scim.rateLimit = { ...THROTTLED };
  scim.log.clear();
  world.emulators.google.log.clear();
  const args = ["sync", "--reconcile", "--aws-scim-rate-limit", String(THROTTLED.writesPerSecond), "--aws-scim-read-rate-limit", String(THROTTLED.readsPerSecond)];
  try {
    const run = await runCli(world, args);
    if (run.exit !== 0) process.stderr.write(`bench: throttled reconcile exited ${run.exit}${run.timedOut ? " (timed out)" : ""}\n${run.stderr.slice(-3000)}\n`);
    return {
      limits: { ...THROTTLED },
      args,
      exit: run.exit,
      timedOut: run.timedOut,
      wallSeconds: run.wallSeconds,
      peakRssBytes: run.peakRssBytes,
      scim: { reads: scim.log.total(isRead), writes: scim.log.writes(), throttled: scim.log.total((e) => e.status === 429) },
      rates: { readsPerSecond: rateAfterWarmup(scim.log, true), writesPerSecond: rateAfterWarmup(scim.log, false) },
    };
  } finally {
    scim.rateLimit = before;
  }
}

/** The run as a one-row Markdown table. */
export function renderThrottledReconcile(r: ThrottledReconcile): string {
  const rate = (n: number | null) => (n === null ? "–" : n.toFixed(1));
  const mib = (b: number | null) => (b === null ? "–" : `${(b / 2 ** 20).toFixed(0)} MiB`);
  return (
    `throttled reconcile: \`sync --reconcile\` of the filled tenant at ${r.limits.readsPerSecond} reads/s and ${r.limits.writesPerSecond} writes/s (429 above), the CLI told the same\n\n` +
    "| exit | SCIM reads | SCIM writes | 429s | reads/s after 10 s | peak RSS | wall |\n|---|---|---|---|---|---|---|\n" +
    `| ${r.timedOut ? "timeout" : r.exit} | ${r.scim.reads} | ${r.scim.writes} | ${r.scim.throttled} | ${rate(r.rates.readsPerSecond)} | ${mib(r.peakRssBytes)} | ${r.wallSeconds.toFixed(1)} s |\n`
  );
}
