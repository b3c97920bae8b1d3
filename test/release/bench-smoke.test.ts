/**
 * @module CI smoke of the benchmark: `bun run bench -- --size s --json` once, then its request
 * counts are checked (SCIM writes and reads equal the theoretical minimum in every scenario, a run
 * with no change sends no SCIM request, the request-count targets of issue #11 are met). Times,
 * rates and RSS are reported by the bench and never judged here (STYLE.md §8).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { BenchReport } from "../../scripts/bench.ts";
import { ROOT } from "../support/paths.ts";

let report: BenchReport;

beforeAll(async () => {
  const child = Bun.spawn([process.execPath, join(ROOT, "scripts/bench.ts"), "--size", "s", "--json"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`bench exited ${code}:\n${stderr.slice(-3000)}`);
  report = JSON.parse(stdout) as BenchReport;
}, 120_000);

describe("bench --size s --json", () => {
  test("runs the five scenarios on 1,000 users and 100 groups, each exiting 0", () => {
    expect(report.schema).toBe("idpscim-bench/1");
    expect(report.organisation).toMatchObject({ users: 1000, groups: 100 });
    expect(report.skipped).toEqual([]);
    expect(report.scenarios.map((s) => [s.name, s.exit])).toEqual([
      ["first sync", 0],
      ["no change", 0],
      ["1% churn", 0],
      ["full reconcile (no drift)", 0],
      ["adoption (first run, tenant holds everything)", 0],
    ]);
  });

  test("SCIM writes are exactly the theoretical minimum in every scenario", () => {
    for (const s of report.scenarios) expect({ name: s.name, writes: s.scim.writes, ratio: s.ratio.writes }).toEqual({ name: s.name, writes: s.minimum.writes, ratio: 1 });
  });

  test("SCIM reads are exactly the theoretical minimum in every scenario", () => {
    for (const s of report.scenarios) expect({ name: s.name, reads: s.scim.reads }).toEqual({ name: s.name, reads: s.minimum.reads });
  });

  test("a sync with no change sends no SCIM request; churn and adoption write what they must", () => {
    const byName = new Map(report.scenarios.map((s) => [s.name, s]));
    expect(byName.get("no change")?.requests.scim).toEqual({});
    expect(byName.get("1% churn")?.minimum.writes).toBeGreaterThan(0);
    expect(byName.get("full reconcile (no drift)")?.scim.writes).toBe(0);
    expect(byName.get("adoption (first run, tenant holds everything)")?.scim.writes).toBe(0);
    // Every user and group of the first sync is there after it: the minimum is not vacuous.
    expect(byName.get("first sync")?.tenantAfter).toMatchObject({ groups: 100 });
  });

  test("the targets section lists every issue #11 target; the request-count ones are met at size s", () => {
    expect(Object.keys(report.targets).sort()).toEqual(
      ["finalSaveMs", "firstSyncRuns", "googleRequests", "noChange", "peakRss", "planMs", "readRate", "scimReads", "scimWrites", "throttled", "writeRate"].sort(),
    );
    for (const key of ["scimWrites", "scimReads", "noChange", "googleRequests"] as const) {
      expect({ key, met: report.targets[key].met }).toEqual({ key, met: true });
    }
    // Size s runs no throttled resume by default (it takes minutes): nothing to measure the pace or the runs on.
    expect(report.resume).toBeNull();
    expect(report.targets.firstSyncRuns.met).toBeNull();
  });

  test("the throttled reconcile reads the whole tenant again at AWS's limits, exactly the reconcile's reads, and writes nothing", () => {
    const reconcile = report.scenarios.find((s) => s.name === "full reconcile (no drift)")!;
    expect(report.throttledReconcile).toMatchObject({ exit: 0, limits: { readsPerSecond: 40, writesPerSecond: 25 }, scim: { reads: reconcile.minimum.reads, writes: 0 } });
    expect(report.throttledReconcile?.args).toEqual(["sync", "--reconcile", "--aws-scim-rate-limit", "25", "--aws-scim-read-rate-limit", "40"]);
    // Its 429s count in the target; whether there are any is a matter of timing, reported, not judged.
    expect(Object.keys(report.targets.throttled.by)).toContain("throttled reconcile");
  });

  test("peak RSS, planning time and the final state save are measured (reported, not judged); a run with nothing to do saves nothing", () => {
    for (const s of report.scenarios) {
      expect(s.peakRssBytes).toBeGreaterThan(0);
      expect(s.planMs).not.toBeNull();
      expect({ name: s.name, saved: s.finalSaveMs !== null }).toEqual({ name: s.name, saved: s.name !== "no change" });
    }
  });
});
