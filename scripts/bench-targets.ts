/**
 * @module Issue #11's targets, each with the figure `scripts/bench.ts` measured for it and whether
 * it is met: request counts against their minimums in every scenario, the pace reached in the
 * throttled resume runs, and for size l planning time, peak RSS and the budgeted runs a first sync
 * takes. The bench computes and reports these; only the request counts are checked in CI
 * (test/release/bench-smoke.test.ts), never a time.
 */
import type { GoogleFewest } from "./bench-minimum.ts";
import type { BenchReport, ScenarioResult } from "./bench.ts";
import type { ThrottledReconcile } from "./bench-throttled-reconcile.ts";
import type { ResumeReport } from "./bench-throttled-resume.ts";

export interface Target {
  /** What the issue asks, in words. */
  target: string;
  /** The issue sets some targets for size l only; they are computed at every size all the same. */
  scope: "every size" | "size l";
  unit: "ratio" | "requests" | "writes/s" | "reads/s" | "ms" | "MiB" | "runs";
  /** The figure compared with `bound`: the worst over `by` (null when nothing could be measured). */
  measured: number | null;
  bound: number | null;
  /** null when the scenarios or runs it needs did not run, or gave no figure. */
  met: boolean | null;
  /** The figure per scenario or per throttled run ("run 1", "run 2", …). */
  by: Record<string, number | null>;
}

export interface Targets {
  /** SCIM writes ÷ minimum = 1.00 in every scenario; `by` null where writes were sent with a minimum of 0. */
  scimWrites: Target;
  /** SCIM reads ≤ 1.1 × minimum in the full reconcile and adoption. */
  scimReads: Target;
  /** No SCIM request in the sync with no change. */
  noChange: Target;
  /** Google requests ≤ 1.1 × the fewest pages in every scenario; `fewest` is that count, by kind, per scenario. */
  googleRequests: Target & { fewest: Record<string, GoogleFewest> };
  /** ≥ 90% of the 25 writes/s limit after each throttled run's first 10 s of writes (the slowest run counts; the resume runs write). */
  writeRate: Target;
  /** ≥ 90% of the 40 reads/s limit after each throttled run's first 10 s of reads (the slowest run counts; the throttled reconcile reads). */
  readRate: Target;
  /** No SCIM request answered 429 in the throttled runs (the resume runs and the throttled reconcile). */
  throttled: Target;
  planMs: Target;
  /** The state save that ends each scenario's run ≤ 2 s (a run with nothing to do saves nothing). */
  finalSaveMs: Target;
  /** Peak RSS ≤ 512 MiB in every scenario and throttled run. */
  peakRss: Target;
  /** The projected budgeted runs of the first sync ≤ ⌈minimum writes ÷ (25 × budget)⌉ + 1 (11 for l). */
  firstSyncRuns: Target;
}

const REPORTED_SCENARIOS = 5;
const round2 = (n: number) => Math.round(n * 100) / 100;

/** Builds a target: `worst` picks the compared figure from the non-null values, `ok` says whether it meets `bound`. */
function judge(base: Omit<Target, "measured" | "met">, worst: (values: number[]) => number, ok: (measured: number, bound: number) => boolean, complete: boolean): Target {
  const values = Object.values(base.by).filter((v): v is number => v !== null);
  const measured = values.length > 0 ? worst(values) : null;
  const met = !complete || measured === null || base.bound === null ? null : ok(measured, base.bound);
  const { target, scope, unit, bound, by } = base;
  return { target, scope, unit, measured, bound, met, by };
}
const atMost = (m: number, bound: number) => m <= bound;
const atLeast = (m: number, bound: number) => m >= bound;

export function computeTargets(report: Omit<BenchReport, "targets">, fewest: Record<string, GoogleFewest>): Targets {
  const all = report.scenarios;
  const every = all.length === REPORTED_SCENARIOS;
  const byScenario = (pick: (s: ScenarioResult) => number | null, only = all) => Object.fromEntries(only.map((s) => [s.name, pick(s)]));
  const named = (...prefixes: string[]) => all.filter((s) => prefixes.some((p) => s.name.startsWith(p)));
  const fullReads = named("full reconcile", "adoption");
  const noChange = named("no change");
  const writesBy = byScenario((s) => s.ratio.writes);
  return {
    scimWrites: {
      ...judge({ target: "SCIM writes ÷ minimum = 1.00 in every scenario", scope: "every size", unit: "ratio", bound: 1, by: writesBy }, (v) => v.reduce((a, b) => (Math.abs(b - 1) > Math.abs(a - 1) ? b : a)), (m) => m === 1, every),
      // A null ratio is writes sent where none were needed: never the minimum.
      ...(Object.values(writesBy).includes(null) ? { met: false } : {}),
    },
    scimReads: judge({ target: "SCIM reads ≤ 1.1 × minimum in reconcile and adoption", scope: "every size", unit: "ratio", bound: 1.1, by: byScenario((s) => s.ratio.reads, fullReads) }, max, atMost, fullReads.length === 2),
    noChange: judge({ target: "0 SCIM requests in the sync with no change", scope: "every size", unit: "requests", bound: 0, by: byScenario((s) => s.scim.reads + s.scim.writes, noChange) }, max, atMost, noChange.length === 1),
    googleRequests: { ...googleTarget(all, fewest, every), fewest },
    ...throttledTargets(report.resume, report.throttledReconcile ?? null),
    planMs: judge({ target: "planning ≤ 5 s in every scenario", scope: "size l", unit: "ms", bound: 5000, by: byScenario((s) => s.planMs) }, max, atMost, every),
    // A report saved before this figure existed has none.
    finalSaveMs: judge({ target: "state save after each run ≤ 2 s", scope: "size l", unit: "ms", bound: 2000, by: byScenario((s) => s.finalSaveMs ?? null) }, max, atMost, every),
    peakRss: peakRssTarget(report, every),
    firstSyncRuns: firstSyncRunsTarget(report.resume),
  };
}

const max = (v: number[]) => Math.max(...v);
const min = (v: number[]) => Math.min(...v);

function googleTarget(all: ScenarioResult[], fewest: Record<string, GoogleFewest>, every: boolean): Target {
  const by = Object.fromEntries(
    all.map((s) => {
      const sent = Object.values(s.requests.google).reduce((a, b) => a + b, 0);
      const least = fewest[s.name]?.total;
      return [s.name, least ? round2(sent / least) : null];
    }),
  );
  return judge({ target: "Google requests ≤ 1.1 × the fewest pages (groups + members + users + token)", scope: "every size", unit: "ratio", bound: 1.1, by }, max, atMost, every);
}

/** A throttled run as the pace and 429 targets see it. */
interface ThrottledRun {
  rates: { readsPerSecond: number | null; writesPerSecond: number | null };
  scim: { throttled: number };
}

/** The throttled runs by name: "run N" of the resume, then "throttled reconcile". */
function throttledRuns(resume: ResumeReport | null, reconcile: ThrottledReconcile | null): Record<string, ThrottledRun> {
  const runs: Record<string, ThrottledRun> = Object.fromEntries((resume?.runs ?? []).map((r) => [`run ${r.run}`, r]));
  if (reconcile !== null) runs["throttled reconcile"] = reconcile;
  return runs;
}

/** The pace and 429 targets, from the throttled resume runs (writes) and the throttled reconcile (reads). */
function throttledTargets(resume: ResumeReport | null, reconcile: ThrottledReconcile | null): Pick<Targets, "writeRate" | "readRate" | "throttled"> {
  const runs = Object.entries(throttledRuns(resume, reconcile));
  const byRun = (pick: (r: ThrottledRun) => number | null) => Object.fromEntries(runs.map(([name, r]) => [name, pick(r)]));
  const limits = resume?.limits ?? reconcile?.limits ?? { writesPerSecond: 25, readsPerSecond: 40 };
  const ran = runs.length > 0;
  return {
    writeRate: judge({ target: `≥ 90% of ${limits.writesPerSecond} writes/s after each run's first 10 s (throttled runs)`, scope: "every size", unit: "writes/s", bound: 0.9 * limits.writesPerSecond, by: byRun((r) => r.rates.writesPerSecond) }, min, atLeast, ran),
    readRate: judge({ target: `≥ 90% of ${limits.readsPerSecond} reads/s after each run's first 10 s (throttled runs)`, scope: "every size", unit: "reads/s", bound: 0.9 * limits.readsPerSecond, by: byRun((r) => r.rates.readsPerSecond) }, min, atLeast, ran),
    throttled: judge({ target: "no SCIM request answered 429 in the throttled runs", scope: "every size", unit: "requests", bound: 0, by: byRun((r) => r.scim.throttled) }, (v) => v.reduce((a, b) => a + b, 0), atMost, ran),
  };
}

function peakRssTarget(report: Omit<BenchReport, "targets">, every: boolean): Target {
  const mib = (b: number | null) => (b === null ? null : Math.round(b / 2 ** 20));
  const by = {
    ...Object.fromEntries(report.scenarios.map((s) => [s.name, mib(s.peakRssBytes)])),
    ...Object.fromEntries((report.resume?.runs ?? []).map((r) => [`resume run ${r.run}`, mib(r.peakRssBytes)])),
    ...(report.throttledReconcile ? { "throttled reconcile": mib(report.throttledReconcile.peakRssBytes) } : {}),
  };
  return judge({ target: "peak RSS ≤ 512 MiB in every scenario and throttled run", scope: "size l", unit: "MiB", bound: 512, by }, max, atMost, every);
}

function firstSyncRunsTarget(resume: ResumeReport | null): Target {
  const by: Record<string, number | null> = resume ? { "runs so far": resume.runs.length, projected: resume.projectedRuns } : {};
  const bound = resume?.boundRuns ?? null;
  const measured = resume?.projectedRuns ?? null;
  const met = measured === null || bound === null ? null : measured <= bound;
  return { target: "first sync in ≤ ⌈minimum writes ÷ (25 × budget)⌉ + 1 budgeted runs (projected)", scope: "size l", unit: "runs", measured, bound, met, by };
}

/** The targets as a Markdown table: what, for which sizes, the figure, the bound, met. */
export function renderTargets(targets: Targets): string {
  const figure = (n: number | null, unit: Target["unit"]) => (n === null ? "–" : unit === "ratio" ? n.toFixed(2) : `${Number.isInteger(n) ? n : n.toFixed(1)} ${unit}`);
  let out = "targets (issue #11):\n\n| target | for | measured | bound | met |\n|---|---|---|---|---|\n";
  for (const t of Object.values(targets) as Target[]) {
    out += `| ${t.target} | ${t.scope} | ${figure(t.measured, t.unit)} | ${figure(t.bound, t.unit)} | ${t.met === null ? "–" : t.met ? "yes" : "no"} |\n`;
  }
  return out;
}
