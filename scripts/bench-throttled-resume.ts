/**
 * @module The throttled resume measurement of `scripts/bench.ts` (issue #11): a first sync into
 * an empty tenant that answers 429 above AWS's default limits (25 writes/s, 40 reads/s), run as a
 * scheduler runs it: each run `sync --max-duration BUDGET` with the CLI told the same limits, the
 * next run continuing from the state the last one saved. Reports each run, then projects how many
 * budgeted runs the whole first sync takes from the writes the runs after the first achieved.
 */
import type { LoggedRequest, RequestLog } from "../test/emulators/request-log.ts";
import type { Scenario } from "../test/emulators/scenario.ts";
import { startWorld, type World } from "../test/support/harness.ts";

/** AWS IAM Identity Center's default SCIM limits (docs/aws-scim.md §9): the emulator enforces them, the CLI is told them. */
export const THROTTLED = { writesPerSecond: 25, readsPerSecond: 40 } as const;
/** The start of each run's requests of a kind left out of its rate: the pacer starts below the limit and grows. */
const WARMUP_MS = 10_000;

/** What `scripts/bench.ts` gets from one CLI child run (its `runCli`). */
export interface ResumeCliRun {
  exit: number | null;
  timedOut: boolean;
  stderr: string;
  wallSeconds: number;
  peakRssBytes: number | null;
}

export interface ResumeRun {
  /** 1 for the first run (no state), 2+ for the runs resuming from the state. */
  run: number;
  args: string[];
  exit: number | null;
  timedOut: boolean;
  wallSeconds: number;
  peakRssBytes: number | null;
  /** SCIM requests, all answers counted; `writesDone` are the writes answered 2xx, `throttled` the 429s. */
  scim: { reads: number; writes: number; writesDone: number; throttled: number };
  /** Operations left for the next run, from the CLI's summary line ("not started N"); null without a summary. */
  notStarted: number | null;
  /** The summary's "tenant read" (first-run, due, forced, skipped); null without a summary. */
  tenantRead: string | null;
  /** `GET /Users` requests without an id (filtered lookups and member listings included), and of them the unfiltered pages of the whole user listing. */
  usersListings: { all: number; unfiltered: number };
  /** Requests of a kind answered other than 429, per second, over each kind's span after its first 10 s; null with fewer than 10 there. */
  rates: { readsPerSecond: number | null; writesPerSecond: number | null };
  /** Google requests of the run, and the seconds from its first to its last (the source read). */
  google: { requests: number; readSeconds: number | null };
  /** Users the head start created while Google was read (src/core/head-start.ts), from the CLI's log; 0 without one. */
  headStartCreates: number;
  /** Where the run's seconds went, from the emulators' logs (null without a write answered 2xx). */
  timeline: ResumeTimeline | null;
}

/**
 * A run's seconds as seen on the wire: before its first write, the gaps of a second or more with
 * no write answered 2xx while writing (a checkpoint that blocks, a hand-over, planning), and after
 * its last write (the stop margin, the final save, the exit). A run that loses none writes
 * `budget × 25`.
 */
export interface ResumeTimeline {
  /** From the CLI's start to its first write answered 2xx. */
  firstWriteSeconds: number;
  /** From its last write answered 2xx to the CLI's exit. */
  afterLastWriteSeconds: number;
  /** Σ of the gaps ≥ 1 s between consecutive writes answered 2xx, their count, and the longest with where it began (seconds from the start). */
  gaps: { seconds: number; count: number; longest: number; longestAt: number };
}

export interface ResumeReport {
  limits: { writesPerSecond: number; readsPerSecond: number };
  /** `--max-duration` of every run, as given and in seconds. */
  budget: string;
  budgetSeconds: number;
  runsAsked: number;
  runs: ResumeRun[];
  /** The last run left nothing not started and exited 0: the first sync is done. */
  complete: boolean;
  /** Minimum writes of the whole first sync (empty tenant to complete), from the unthrottled first sync scenario; null if it did not run. */
  minimumWrites: number | null;
  /** SCIM writes answered 2xx over all runs. */
  writesDone: number;
  /** max(0, minimumWrites − writesDone); 0 when complete. */
  remainingWrites: number | null;
  /** Mean writes answered 2xx per budgeted run, over the runs after the first (the first alone when it is the only one). */
  meanWritesPerRun: number | null;
  /** Runs so far + ⌈remainingWrites ÷ meanWritesPerRun⌉; the runs so far when complete. */
  projectedRuns: number | null;
  /** Issue #11's bound: ⌈minimumWrites ÷ (writes/s limit × budgetSeconds)⌉ + 1. */
  boundRuns: number | null;
}

export interface ResumeOptions {
  /** A fresh copy of the organisation (the benchmark's scenarios have churned theirs). */
  scenario: () => Scenario;
  runs: number;
  budget: string;
  budgetSeconds: number;
  latencyMs: number;
  minimumWrites: number | null;
  runCli: (world: World, args: string[]) => Promise<ResumeCliRun>;
  /** More CLI arguments for every run (`--gws-rate-limit 35`: Google paced as deployed). */
  extraArgs?: string[];
  /** Given each run's number and its stderr (the bench's `--resume-logs`: written to a file). */
  onLog?: (run: number, stderr: string) => void;
}

/** Up to `runs` budgeted runs in a fresh throttled world, stopping early once the sync is complete or a run fails. */
export async function measureResume(options: ResumeOptions): Promise<ResumeReport> {
  const world = await startWorld({ scenario: options.scenario(), scim: { faults: { latencyMs: options.latencyMs }, rateLimit: { ...THROTTLED } } });
  const runs: ResumeRun[] = [];
  try {
    while (runs.length < options.runs) {
      const run = await resumeRun(world, runs.length + 1, options);
      runs.push(run);
      if (run.exit !== 0 || run.notStarted === 0) break;
    }
  } finally {
    await world.close();
  }
  return projection(runs, options);
}

async function resumeRun(world: World, n: number, options: ResumeOptions): Promise<ResumeRun> {
  const log = world.emulators.scim.log;
  const googleLog = world.emulators.google.log;
  log.clear();
  googleLog.clear();
  const args = [
    "sync", "--max-duration", options.budget, "--aws-scim-rate-limit", String(THROTTLED.writesPerSecond), "--aws-scim-read-rate-limit", String(THROTTLED.readsPerSecond),
    ...(options.extraArgs ?? []),
  ];
  const startedAt = Date.now();
  const run = await options.runCli(world, args);
  options.onLog?.(n, run.stderr);
  if (run.exit !== 0) process.stderr.write(`bench: resume run ${n} exited ${run.exit}${run.timedOut ? " (timed out)" : ""}\n${run.stderr.slice(-3000)}\n`);
  const summary = /summary: .*/.exec(run.stderr)?.[0];
  const usersListings = log.entries.filter((e) => e.method === "GET" && e.route === "/Users");
  return {
    run: n,
    args,
    exit: run.exit,
    timedOut: run.timedOut,
    wallSeconds: run.wallSeconds,
    peakRssBytes: run.peakRssBytes,
    scim: { reads: log.total(isRead), writes: log.writes(), writesDone: log.total((e) => !isRead(e) && e.status >= 200 && e.status < 300), throttled: log.total((e) => e.status === 429) },
    notStarted: summary === undefined ? null : Number(/not started (\d+)/.exec(summary)?.[1] ?? 0),
    tenantRead: summary === undefined ? null : (/tenant read (\S+);/.exec(summary)?.[1] ?? null),
    usersListings: { all: usersListings.length, unfiltered: usersListings.filter((e) => !/[?&]filter=/.test(e.url)).length },
    rates: { readsPerSecond: rateAfterWarmup(log, true), writesPerSecond: rateAfterWarmup(log, false) },
    google: { requests: googleLog.total(), readSeconds: googleLog.entries.length < 2 ? null : (googleLog.entries.at(-1)!.at - googleLog.entries[0]!.at) / 1000 },
    headStartCreates: Number(/head start: (\d+) user\(s\) created while reading/.exec(run.stderr)?.[1] ?? 0),
    timeline: timelineOf(log, startedAt, startedAt + run.wallSeconds * 1000),
  };
}

/** Gaps shorter than this are the pace itself (40 ms at 25/s) or one slow answer, not lost time. */
const GAP_MS = 1_000;

function timelineOf(log: RequestLog, startedAt: number, endedAt: number): ResumeTimeline | null {
  const at = log.entries.filter((e) => !isRead(e) && e.status >= 200 && e.status < 300).map((e) => e.at);
  if (at.length === 0) return null;
  const gaps = { seconds: 0, count: 0, longest: 0, longestAt: 0 };
  for (let i = 1; i < at.length; i++) {
    const gap = at[i]! - at[i - 1]!;
    if (gap < GAP_MS) continue;
    gaps.seconds += gap / 1000;
    gaps.count++;
    if (gap / 1000 > gaps.longest) Object.assign(gaps, { longest: gap / 1000, longestAt: (at[i - 1]! - startedAt) / 1000 });
  }
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    firstWriteSeconds: round((at[0]! - startedAt) / 1000),
    afterLastWriteSeconds: round((endedAt - at.at(-1)!) / 1000),
    gaps: { seconds: round(gaps.seconds), count: gaps.count, longest: round(gaps.longest), longestAt: round(gaps.longestAt) },
  };
}

export const isRead = (e: LoggedRequest) => e.method === "GET" || e.method === "HEAD";

/** Accepted requests of a kind per second from 10 s after the first of them to the last, as `scripts/bench-pacing.ts` counts: (n − 1) ÷ span. */
export function rateAfterWarmup(log: RequestLog, reads: boolean): number | null {
  const kind = log.entries.filter((e) => isRead(e) === reads && e.status !== 429);
  const from = (kind[0]?.at ?? 0) + WARMUP_MS;
  const at = kind.filter((e) => e.at >= from).map((e) => e.at);
  if (at.length < 10) return null;
  const span = (at[at.length - 1]! - from) / 1000;
  return span > 0 ? Math.round(((at.length - 1) / span) * 10) / 10 : null;
}

function projection(runs: ResumeRun[], options: ResumeOptions): ResumeReport {
  const last = runs.at(-1);
  const complete = last !== undefined && last.exit === 0 && last.notStarted === 0;
  const writesDone = runs.reduce((n, r) => n + r.scim.writesDone, 0);
  const min = options.minimumWrites;
  const remainingWrites = min === null ? null : complete ? 0 : Math.max(0, min - writesDone);
  // The first run also reads the empty tenant and holds the planning of everything: the runs after it are the steady ones.
  const steady = runs.length > 1 ? runs.slice(1) : runs;
  const meanWritesPerRun = steady.length === 0 ? null : Math.round(steady.reduce((n, r) => n + r.scim.writesDone, 0) / steady.length);
  let projectedRuns: number | null = null;
  if (complete) projectedRuns = runs.length;
  else if (remainingWrites !== null && meanWritesPerRun) projectedRuns = runs.length + Math.ceil(remainingWrites / meanWritesPerRun);
  return {
    limits: { ...THROTTLED },
    budget: options.budget,
    budgetSeconds: options.budgetSeconds,
    runsAsked: options.runs,
    runs,
    complete,
    minimumWrites: min,
    writesDone,
    remainingWrites,
    meanWritesPerRun,
    projectedRuns,
    boundRuns: min === null ? null : Math.ceil(min / (THROTTLED.writesPerSecond * options.budgetSeconds)) + 1,
  };
}

/** The runs as a Markdown table, then the projection. */
export function renderResume(r: ResumeReport): string {
  const mib = (b: number | null) => (b === null ? "–" : `${(b / 2 ** 20).toFixed(0)} MiB`);
  const rate = (n: number | null) => (n === null ? "–" : n.toFixed(1));
  // Reports saved before the timeline existed have none.
  const timeline = (t: ResumeTimeline | null | undefined) =>
    t == null ? "– | – | –" : `${t.firstWriteSeconds} s | ${t.gaps.seconds} s in ${t.gaps.count} (${t.gaps.longest} s, at ${t.gaps.longestAt} s) | ${t.afterLastWriteSeconds} s`;
  let out =
    `throttled resume: the first sync into an empty tenant at ${r.limits.writesPerSecond} writes/s and ${r.limits.readsPerSecond} reads/s (429 above), ` +
    `each run \`sync --max-duration ${r.budget}\`, at most ${r.runsAsked} runs\n\n` +
    "| run | exit | SCIM reads | SCIM writes (2xx) | 429s | not started | tenant read | GET /Users listings (unfiltered) | writes/s after 10 s | reads/s after 10 s | Google requests (read time) | head start creates | first write | write gaps ≥ 1 s (longest, at) | after last write | peak RSS | wall |\n" +
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const run of r.runs) {
    out +=
      `| ${run.run} | ${run.timedOut ? "timeout" : run.exit} | ${run.scim.reads} | ${run.scim.writes} (${run.scim.writesDone}) | ${run.scim.throttled} | ${run.notStarted ?? "–"} | ${run.tenantRead ?? "–"} | ` +
      `${run.usersListings.all} (${run.usersListings.unfiltered}) | ${rate(run.rates.writesPerSecond)} | ${rate(run.rates.readsPerSecond)} | ` +
      `${run.google?.requests ?? "–"} (${run.google?.readSeconds == null ? "–" : `${run.google.readSeconds.toFixed(1)} s`}) | ${run.headStartCreates ?? "–"} | ${timeline(run.timeline)} | ${mib(run.peakRssBytes)} | ${run.wallSeconds.toFixed(1)} s |\n`;
  }
  const or = (n: number | null) => (n === null ? "–" : String(n));
  return (
    `${out}\nfirst sync ${r.complete ? "complete" : "not complete"}: minimum writes ${or(r.minimumWrites)}, done ${r.writesDone}, remaining ${or(r.remainingWrites)}; ` +
    `mean writes per run after the first ${or(r.meanWritesPerRun)}; projected runs ${or(r.projectedRuns)} (bound ${or(r.boundRuns)})\n`
  );
}
