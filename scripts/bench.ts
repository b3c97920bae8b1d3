/**
 * @module `bun run bench -- --size s|m|l [--json | --from-json FILE] [--scim-rps N] [--latency-ms N] [--binary PATH] [--timeout SECONDS]
 * [--resume-runs N] [--resume-budget DURATION] [--resume-only] [--gws-rate-limit N] [--resume-logs DIR]`:
 * runs the real CLI (a child process) against the emulators on an organisation from
 * `scripts/gen-org.ts` and reports, per scenario, SCIM and Google requests by API and method, the
 * theoretical minimum of SCIM writes and reads and the ratio to it (scripts/bench-minimum.ts),
 * the read and write rates achieved, the CLI's peak RSS, its planning time and the wall time.
 * Request counts are the stable figures; times are reported, never judged (STYLE.md §8).
 *
 * Scenarios, in order: a first sync into an empty tenant; a sync with no change; a sync after 1%
 * churn (renames, email changes, joins, leaves, suspensions, made in the scenario in place: the
 * emulators read it live); a full reconcile with no drift; and adoption, a first run (no state)
 * into a fresh tenant that already holds everything, built from the reconciled tenant's snapshot.
 *
 * After the reconcile, the same reconcile against AWS's default limits (scripts/bench-throttled-reconcile.ts):
 * the read pace. Then, with `--resume-runs N` (default 2 for l, 0 otherwise), the first sync again as a scheduler
 * runs it against AWS's default limits (scripts/bench-throttled-resume.ts), and last issue #11's
 * targets with the figure measured for each (scripts/bench-targets.ts). `--resume-only` runs only
 * that (e.g. `--size m --resume-only --resume-runs 12 --resume-budget 150s --gws-rate-limit 35`).
 */
import { parseArgs } from "node:util";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GC_TUNING } from "./gc-environment.ts";
import { generateOrg } from "./gen-org.ts";
import { minimumConfirmReads, minimumFullRead, minimumGoogleRequests, minimumWrites, tenantChange, type GoogleFewest, type TenantChange, type TenantView } from "./bench-minimum.ts";
import { computeTargets, renderTargets, type Targets } from "./bench-targets.ts";
import { measureResume, renderResume, type ResumeReport } from "./bench-throttled-resume.ts";
import { measureThrottledReconcile, renderThrottledReconcile, type ThrottledReconcile } from "./bench-throttled-reconcile.ts";
import { parseDuration } from "../src/config/values.ts";
import { seededRandom } from "../test/emulators/faults.ts";
import { awsEnvironment } from "../test/emulators/index.ts";
import type { RequestLog } from "../test/emulators/request-log.ts";
import { parseScenario, type Scenario, type ScenarioGoogleUser } from "../test/emulators/scenario.ts";
import { ROOT, startWorld, type World } from "../test/support/harness.ts";

/** s and m run every scenario throttled as asked; l exists for memory and CPU and may be slow today. */
const SIZES = {
  s: { users: 1_000, groups: 100 },
  m: { users: 10_000, groups: 1_000 },
  l: { users: 200_000, groups: 10_000 },
} as const;
type Size = keyof typeof SIZES | "custom";

/** How peak RSS is read: the child's rusage (wait4's ru_maxrss), the same for `bun src/main.ts` and the compiled binary. */
const RSS_METHOD = "rusage of the CLI process (wait4 ru_maxrss), spawned by scripts/peak-rss.ts so that the benchmark's own size is not counted";

export interface ScenarioResult {
  name: string;
  args: string[];
  exit: number | null;
  timedOut: boolean;
  wallSeconds: number;
  /** The first plan's computation, from the CLI's debug line "plan: N operations in X ms". */
  planMs: number | null;
  /** The state save that ends the run (its last debug line "state: saved ... in X ms"); null when it saved nothing (no change). */
  finalSaveMs: number | null;
  peakRssBytes: number | null;
  requests: { scim: Record<string, number>; google: Record<string, number> };
  scim: { reads: number; writes: number; throttled: number };
  minimum: { reads: number; writes: number };
  /** Requests sent ÷ the minimum; 1 when both are 0, null when only the minimum is 0. */
  ratio: { reads: number | null; writes: number | null };
  /** Requests of a kind ÷ the span from its first to its last; null with fewer than 10. */
  rates: { readsPerSecond: number | null; writesPerSecond: number | null };
  tenantAfter: { users: number; groups: number; memberships: number };
}

export interface BenchReport {
  schema: "idpscim-bench/1";
  size: Size;
  organisation: { users: number; groups: number; directMemberships: number; seed: number };
  emulator: { scimRps: number | null; latencyMs: number; firstSyncThrottled: boolean };
  cli: { command: string; rssMethod: string; timeoutSeconds: number | null; gcMemoryMiB: number | null };
  scenarios: ScenarioResult[];
  /** Scenarios not run, and why (a timeout or failure before them). */
  skipped: { name: string; reason: string }[];
  /** The throttled first sync in budgeted runs; null with `--resume-runs 0`. */
  resume: ResumeReport | null;
  /** A full reconcile at AWS's default limits, after the reconcile scenario; null with `--resume-only` or when a scenario before it failed. */
  throttledReconcile: ThrottledReconcile | null;
  targets: Targets;
}

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "s" },
    users: { type: "string" },
    groups: { type: "string" },
    seed: { type: "string", default: "1" },
    json: { type: "boolean", default: false },
    /** Prints the tables of a report saved by an earlier `--json` run, instead of running anything. */
    "from-json": { type: "string" },
    "scim-rps": { type: "string" },
    "latency-ms": { type: "string", default: "0" },
    binary: { type: "string" },
    timeout: { type: "string" },
    "resume-runs": { type: "string" },
    "resume-budget": { type: "string", default: "900s" },
    /** Only the throttled resume (no scenarios before it): measured until complete, up to --resume-runs runs. */
    "resume-only": { type: "boolean", default: false },
    /** `--gws-rate-limit` for the resume's runs: Google paced as deployed (35/s by default there), not as the tests' emulator (1000/s). */
    "gws-rate-limit": { type: "string" },
    /** A directory for each resume run's `--debug` log (resume-run-N.log): where its seconds went, line by line. */
    "resume-logs": { type: "string" },
    /** MiB the CLI's garbage collector is sized for, as the Terraform module sizes the Lambda's (its memory_size); 0: the host's RAM. */
    memory: { type: "string", default: "512" },
  },
});

const size = (values.users !== undefined || values.groups !== undefined ? "custom" : values.size) as Size;
if (size !== "custom" && !(size in SIZES)) {
  process.stderr.write(`bench: --size must be s, m or l (or pass --users and --groups), got "${values.size}"\n`);
  process.exit(2);
}
const shape = size === "custom" ? { users: Number(values.users ?? 1000), groups: Number(values.groups ?? 100) } : SIZES[size];
const seed = Number(values.seed);
const scimRps = values["scim-rps"] !== undefined ? Number(values["scim-rps"]) : null;
const latencyMs = Number(values["latency-ms"]);
// l's default cap: a first sync of 200,000 users must not hold a machine for hours.
const timeoutSeconds = values.timeout !== undefined ? Number(values.timeout) : size === "l" ? 1800 : null;
const firstSyncThrottled = size !== "l";
// Only l measures the resume by default: two 900 s runs are too long for CI's size-s smoke.
const resumeRuns = values["resume-runs"] !== undefined ? Number(values["resume-runs"]) : size === "l" ? 2 : 0;
const resumeBudgetMs = parseDuration(values["resume-budget"]!);
const resumeLogs = values["resume-logs"];
if (resumeLogs !== undefined) mkdirSync(resumeLogs, { recursive: true });
const memoryMiB = Number(values.memory);
if (!Number.isInteger(memoryMiB) || memoryMiB < 0) {
  process.stderr.write(`bench: --memory must be a whole number of MiB (0: the host's RAM), got "${values.memory}"\n`);
  process.exit(2);
}
// The variables the Terraform module sets on the function (terraform/main.tf): measured as deployed.
const gcEnvironment: Record<string, string> = memoryMiB > 0 ? { BUN_JSC_forceRAMSize: String(memoryMiB * 1048576), ...GC_TUNING } : {};
if (!Number.isInteger(resumeRuns) || resumeRuns < 0 || resumeBudgetMs === undefined) {
  process.stderr.write(`bench: --resume-runs must be a whole number ≥ 0 and --resume-budget a duration like "900s" or "15m"\n`);
  process.exit(2);
}

/** A run of the CLI in the benchmark: which full-read rule gives its minimum reads, and what happens just before it. */
interface Step {
  name: string;
  args: string[];
  /** "full": the run reads the whole tenant; "confirm": it trusts the state and reads what it writes to. */
  reads: "full" | "confirm";
  before?: (world: World) => void;
}

/** The five scenarios, then the throttled resume if asked, then the targets computed from both. */
async function runBench(): Promise<BenchReport> {
  const result: Omit<BenchReport, "targets"> = {
    schema: "idpscim-bench/1",
    size,
    organisation: { ...shape, directMemberships: 0, seed },
    emulator: { scimRps, latencyMs, firstSyncThrottled },
    cli: { command: values.binary ?? "bun src/main.ts", rssMethod: RSS_METHOD, timeoutSeconds, gcMemoryMiB: memoryMiB > 0 ? memoryMiB : null },
    scenarios: [],
    skipped: [],
    resume: null,
    throttledReconcile: null,
  };
  const fewest: Record<string, GoogleFewest> = {};
  if (!values["resume-only"]) await runScenarios(result, fewest);
  if (resumeRuns > 0) {
    // The whole first sync's minimum: the unthrottled first sync went from the empty tenant to the complete one, same organisation.
    const first = result.scenarios.find((s) => s.name === "first sync" && s.exit === 0);
    result.resume = await measureResume({
      scenario: () => parseScenario(generateOrg({ ...shape, seed })),
      runs: resumeRuns,
      budget: values["resume-budget"]!,
      budgetSeconds: resumeBudgetMs! / 1000,
      latencyMs,
      minimumWrites: first?.minimum.writes ?? null,
      runCli,
      extraArgs: [...(values["gws-rate-limit"] !== undefined ? ["--gws-rate-limit", values["gws-rate-limit"]] : []), ...(resumeLogs !== undefined ? ["--debug"] : [])],
      ...(resumeLogs !== undefined ? { onLog: (n: number, stderr: string) => writeFileSync(join(resumeLogs, `resume-run-${n}.log`), stderr) } : {}),
    });
  }
  return { ...result, targets: computeTargets(result, fewest) };
}

/** The five scenarios into `result`, and the fewest Google requests each could have sent into `fewest` (churn changes the organisation). */
async function runScenarios(result: Omit<BenchReport, "targets">, fewest: Record<string, GoogleFewest>): Promise<void> {
  const scenario = parseScenario(generateOrg({ ...shape, seed }));
  result.organisation.directMemberships = scenario.google.groups.reduce((n, g) => n + g.members.length, 0);
  const adoption: Step = { name: "adoption (first run, tenant holds everything)", args: ["sync"], reads: "full" };
  const steps: Step[] = [
    // l's first sync runs unthrottled: it measures memory and CPU, not AWS's pace.
    { name: "first sync", args: ["sync"], reads: "full", before: (w) => void (firstSyncThrottled || (w.emulators.scim.rateLimit = undefined)) },
    { name: "no change", args: ["sync"], reads: "confirm", before: (w) => void (w.emulators.scim.rateLimit = scimOptions().rateLimit) },
    { name: "1% churn", args: ["sync"], reads: "confirm", before: () => churn(scenario, seed) },
    { name: "full reconcile (no drift)", args: ["sync", "--reconcile"], reads: "full" },
    adoption,
  ];
  const relevant = relevantGroups(scenario);
  /** Runs one step; on a failure or timeout, records the steps after it as skipped and answers false. */
  const go = async (world: World, step: Step) => {
    step.before?.(world);
    fewest[step.name] = minimumGoogleRequests(scenario.google);
    const r = await measure(world, step, (before, change) => (step.reads === "full" ? minimumFullRead(before, relevant) : minimumConfirmReads(before, change)));
    result.scenarios.push(r);
    if (r.exit === 0) return true;
    const why = `${step.name} ${r.timedOut ? `timed out after ${timeoutSeconds} s` : `exited ${r.exit}`}`;
    for (const later of steps.slice(steps.indexOf(step) + 1)) result.skipped.push({ name: later.name, reason: why });
    return false;
  };

  let tenant: Scenario["scim"] | undefined;
  const world = await startWorld({ scenario, scim: scimOptions() });
  try {
    let ok = true;
    for (const step of steps.slice(0, -1)) if (ok) ok = await go(world, step);
    // The read pace at AWS's limits, on the tenant the scenarios filled (no drift: nothing written).
    if (ok) result.throttledReconcile = await measureThrottledReconcile(world, runCli);
    if (ok) {
      const snap = world.emulators.scim.snapshot();
      tenant = { users: snap.users, groups: snap.groups.map((g) => ({ ...g, externalId: g.externalId ?? null })) };
    }
  } finally {
    await world.close();
  }
  if (!tenant) return;
  // A fresh world: the tenant holds what the syncs made, and the CLI has no state.
  const adopting = await startWorld({ scenario: parseScenario({ google: scenario.google, scim: tenant }), scim: scimOptions() });
  try {
    await go(adopting, adoption);
  } finally {
    await adopting.close();
  }
}

function scimOptions() {
  return {
    faults: { latencyMs },
    ...(scimRps !== null ? { rateLimit: { readsPerSecond: scimRps, writesPerSecond: scimRps } } : {}),
  } as { faults: { latencyMs: number }; rateLimit?: { readsPerSecond: number; writesPerSecond: number } };
}

/** The tenant groups whose members a full read must list: those matching a source group by externalId or name (src/core/sync.ts readTenant). */
function relevantGroups(scenario: Scenario) {
  const ids = new Set(scenario.google.groups.map((g) => g.id));
  const names = new Set(scenario.google.groups.map((g) => g.name || g.email || g.id));
  return (g: TenantView["groups"][number]) => (g.externalId !== undefined && ids.has(g.externalId)) || names.has(g.displayName);
}

async function measure(world: World, { name, args }: Step, minimumReads: (before: TenantView, change: TenantChange) => number): Promise<ScenarioResult> {
  const { scim, google } = world.emulators;
  const before = scim.snapshot();
  scim.log.clear();
  google.log.clear();
  const rpsArgs = scimRps !== null ? ["--aws-scim-rate-limit", String(scimRps)] : [];
  const run = await runCli(world, [...args, "--debug", ...rpsArgs]);
  if (run.exit !== 0) process.stderr.write(`bench: ${name} exited ${run.exit}${run.timedOut ? " (timed out)" : ""}\n${run.stderr.slice(-3000)}\n`);
  const after = scim.snapshot();
  const reads = scim.log.total((e) => e.method === "GET" || e.method === "HEAD");
  const writes = scim.log.writes();
  const change = tenantChange(before, after);
  const minimum = { reads: minimumReads(before, change), writes: minimumWrites(change) };
  return {
    name,
    args,
    exit: run.exit,
    timedOut: run.timedOut,
    wallSeconds: run.wallSeconds,
    planMs: planMs(run.stderr),
    finalSaveMs: finalSaveMs(run.stderr),
    peakRssBytes: run.peakRssBytes,
    requests: { scim: sorted(scim.log.counts()), google: sorted(google.log.counts()) },
    scim: { reads, writes, throttled: scim.log.total((e) => e.status === 429) },
    minimum,
    ratio: { reads: ratio(reads, minimum.reads), writes: ratio(writes, minimum.writes) },
    rates: { readsPerSecond: rate(scim.log, false), writesPerSecond: rate(scim.log, true) },
    tenantAfter: { users: after.users.length, groups: after.groups.length, memberships: after.groups.reduce((n, g) => n + g.members.length, 0) },
  };
}

interface CliRun {
  exit: number | null;
  timedOut: boolean;
  stderr: string;
  wallSeconds: number;
  peakRssBytes: number | null;
}

/** The CLI as a child (sources under Bun, or `--binary`), with the world's config and a clean IDPSCIM_ and AWS_ environment. */
async function runCli(world: World, args: string[]): Promise<CliRun> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("IDPSCIM_") && !key.startsWith("AWS_")) env[key] = value;
  }
  const command = values.binary ? [values.binary] : [process.execPath, join(ROOT, "src/main.ts")];
  const started = performance.now();
  const rssFile = join(world.emulators.directory, `peak-rss-${crypto.randomUUID()}`);
  const child = Bun.spawn([process.execPath, join(ROOT, "scripts/peak-rss.ts"), rssFile, "--", ...command, "--config-file", world.configPath, ...args], {
    cwd: ROOT,
    env: { ...env, ...gcEnvironment, ...awsEnvironment(world.emulators) },
    stdout: "ignore",
    stderr: "pipe",
  });
  let timedOut = false;
  // SIGTERM: the launcher passes it on (a SIGKILL would leave the CLI running); the CLI stops within seconds.
  const timer = timeoutSeconds !== null ? setTimeout(() => ((timedOut = true), child.kill("SIGTERM")), timeoutSeconds * 1000) : undefined;
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  const wallSeconds = (performance.now() - started) / 1000;
  const peak = Number((await Bun.file(rssFile).text().catch(() => "")).trim());
  return { exit: timedOut ? null : code, timedOut, stderr, wallSeconds, peakRssBytes: peak > 0 ? peak : null };
}

function planMs(stderr: string): number | null {
  const match = /plan: \d+ operations in ([\d.]+) ms/.exec(stderr);
  return match ? Number(match[1]) : null;
}

function finalSaveMs(stderr: string): number | null {
  const saves = [...stderr.matchAll(/state: saved \d+ users, \d+ groups in (\d+) ms/g)];
  return saves.length > 0 ? Number(saves.at(-1)![1]) : null;
}

const sorted = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));

function ratio(sent: number, minimum: number): number | null {
  if (minimum === 0) return sent === 0 ? 1 : null;
  return Math.round((sent / minimum) * 100) / 100;
}

function rate(log: RequestLog, writes: boolean): number | null {
  const at = log.entries.filter((e) => (e.method !== "GET" && e.method !== "HEAD") === writes).map((e) => e.at);
  // A rate over a handful of requests is noise (two reads a millisecond apart are not 2,000/s).
  if (at.length < 10) return null;
  const span = (at[at.length - 1]! - at[0]!) / 1000;
  return span > 0 ? Math.round(at.length / span) : null;
}

/**
 * 1% of the users change, in five equal parts: renamed (family name), new primary email (group
 * memberships follow it), joined (new users in All Staff and a team), left (gone from the
 * directory and its groups), suspended. Seeded, so every run of a size churns the same users.
 */
function churn(scenario: Scenario, seed: number): void {
  const rng = seededRandom(seed + 1_000_003);
  const { users, groups } = scenario.google;
  const perKind = Math.max(1, Math.round(users.length / 100 / 5));
  // Not the admin (index 0, who the CLI impersonates), not already suspended, with a family name.
  const pool = users.slice(1).filter((u) => !u.suspended && u.name?.familyName);
  const picked = new Set<ScenarioGoogleUser>();
  const take = () => {
    for (;;) {
      const u = pool[Math.floor(rng() * pool.length)]!;
      if (!picked.has(u)) return picked.add(u), u;
    }
  };
  // Memberships and manager relations name users by email: they follow a new address, and go with a leaver's.
  const renameMembers = (from: string, to: string | undefined) => {
    for (const u of users) {
      const relations = u.relations as { type?: string; value?: string }[] | undefined;
      if (!relations?.some((r) => r.value?.toLowerCase() === from.toLowerCase())) continue;
      u.relations = to === undefined ? relations.filter((r) => r.value?.toLowerCase() !== from.toLowerCase()) : relations.map((r) => (r.value?.toLowerCase() === from.toLowerCase() ? { ...r, value: to } : r));
    }
    for (const g of groups) {
      const i = g.members.findIndex((m) => m.email?.toLowerCase() === from.toLowerCase());
      if (i === -1) continue;
      if (to === undefined) g.members.splice(i, 1);
      else g.members[i] = { ...g.members[i]!, email: to };
    }
  };
  for (let k = 0; k < perKind; k++) {
    const u = take();
    u.name = { ...u.name, familyName: `${u.name?.familyName}-Renamed`, fullName: `${u.name?.givenName} ${u.name?.familyName}-Renamed` };
  }
  for (let k = 0; k < perKind; k++) {
    const u = take();
    const old = u.primaryEmail;
    u.primaryEmail = old.replace("@", ".moved@");
    u.emails = [{ address: u.primaryEmail, primary: true }];
    renameMembers(old, u.primaryEmail);
  }
  for (let k = 0; k < perKind; k++) {
    const u = take();
    scenario.google.users.splice(scenario.google.users.indexOf(u), 1);
    renameMembers(u.primaryEmail, undefined);
  }
  for (let k = 0; k < perKind; k++) take().suspended = true;
  const ids = new Set(users.map((u) => u.id));
  const team = groups.find((g) => g.email.startsWith("team-")) ?? groups[0];
  const allStaff = groups.find((g) => g.email.startsWith("all-staff@"));
  for (let k = 0; k < perKind; k++) {
    let id = `18${String(k).padStart(19, "0")}`;
    while (ids.has(id)) id = `1${String(Math.floor(rng() * 1e20)).padStart(20, "0")}`;
    ids.add(id);
    const email = `new.joiner${k + 1}@${scenario.google.domain}`;
    users.push({ id, primaryEmail: email, name: { givenName: "New", familyName: `Joiner ${k + 1}`, fullName: `New Joiner ${k + 1}` }, emails: [{ address: email, primary: true }] });
    for (const g of [allStaff, team]) g?.members.push({ email, type: "USER", role: "MEMBER", status: "ACTIVE" });
  }
}

/** A rate, and its share of the emulator's limit when there is one. */
const perSecond = (rate: number | null, limit: number | null) =>
  rate === null ? "–" : limit === null ? String(rate) : `${rate} (${Math.round((rate / limit) * 100)}% of ${limit})`;

function markdown(r: BenchReport): string {
  const fmt = (n: number | null, digits = 2) => (n === null ? "–" : n.toFixed(digits));
  const mib = (b: number | null) => (b === null ? "–" : `${(b / 2 ** 20).toFixed(0)} MiB`);
  const first = r.scenarios[0]?.wallSeconds ?? 1;
  const limit = r.emulator.scimRps === null ? "unthrottled" : `${r.emulator.scimRps} req/s reads and writes`;
  let out =
    `organisation (size ${r.size}): ${r.organisation.users} users, ${r.organisation.groups} groups, ${r.organisation.directMemberships} direct memberships (seed ${r.organisation.seed}); ` +
    `SCIM emulator ${limit}, latency ${r.emulator.latencyMs} ms; CLI: ${r.cli.command}\n\n` +
    "| scenario | exit | SCIM writes (min, ratio) | SCIM reads (min, ratio) | Google requests | writes/s | reads/s | planning | final save | peak RSS | wall | wall vs first sync |\n" +
    "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const s of r.scenarios) {
    const google = Object.values(s.requests.google).reduce((a, b) => a + b, 0);
    out +=
      `| ${s.name} | ${s.timedOut ? "timeout" : s.exit} | ${s.scim.writes} (${s.minimum.writes}, ${fmt(s.ratio.writes)}) | ${s.scim.reads} (${s.minimum.reads}, ${fmt(s.ratio.reads)}) | ${google} | ` +
      `${perSecond(s.rates.writesPerSecond, r.emulator.scimRps)} | ${perSecond(s.rates.readsPerSecond, r.emulator.scimRps)} | ${s.planMs === null ? "–" : `${fmt(s.planMs, 0)} ms`} | ${s.finalSaveMs == null ? "–" : `${s.finalSaveMs} ms`} | ${mib(s.peakRssBytes)} | ${fmt(s.wallSeconds, 1)} s | ${fmt(s.wallSeconds / first)}× |\n`;
  }
  out += "\nrequests by API and method:\n\n| scenario | SCIM | Google |\n|---|---|---|\n";
  const list = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k} ${v}`).join("; ") || "none";
  for (const s of r.scenarios) out += `| ${s.name} | ${list(s.requests.scim)} | ${list(s.requests.google)} |\n`;
  for (const s of r.skipped) out += `\nskipped: ${s.name} (${s.reason})`;
  const gc = r.cli.gcMemoryMiB ? `, its garbage collector sized for ${r.cli.gcMemoryMiB} MiB and tuned as the Terraform module sizes and tunes the Lambda's (BUN_JSC_forceRAMSize, scripts/gc-environment.ts)` : ", its garbage collector sized for the host's RAM";
  out += `\npeak RSS: ${r.cli.rssMethod}${gc}\n`;
  if (r.throttledReconcile) out += `\n${renderThrottledReconcile(r.throttledReconcile)}`;
  if (r.resume) out += `\n${renderResume(r.resume)}`;
  return `${out}\n${renderTargets(r.targets)}`;
}

// Last, so every const above is initialised before the top-level await runs.
const report: BenchReport = values["from-json"] ? JSON.parse(await Bun.file(values["from-json"]).text()) : await runBench();
process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : markdown(report));
const resumeFailed = report.resume?.runs.some((r) => r.exit !== 0) ?? false;
// A report saved before the throttled reconcile existed has no such field.
const reconcileFailed = report.throttledReconcile != null && report.throttledReconcile.exit !== 0;
process.exit(report.scenarios.every((s) => s.exit === 0) && report.skipped.length === 0 && !resumeFailed && !reconcileFailed ? 0 : 1);
