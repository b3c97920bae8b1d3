/**
 * @module Fault tests, Google side: quota errors and 503s in the middle of paging are retried and
 * the sync completes; a Directory that keeps failing aborts the run before any SCIM write and
 * leaves the state as it was (a partial read is never taken as the truth).
 */
import { describe, expect, test } from "bun:test";
import { generateOrg } from "../../scripts/gen-org.ts";
import { seededRandom } from "../emulators/faults.ts";
import type { GoogleEmulatorOptions } from "../emulators/google/server.ts";
import { parseScenario, type Scenario } from "../emulators/scenario.ts";
import { startWorld, type World } from "../support/harness.ts";
import { assertConverged, baselineOf, desiredFromScenario, isWrite, readState, record, statusCounts } from "./converge.ts";

async function withWorld<T>(scenario: Scenario, google: Omit<GoogleEmulatorOptions, "scenario" | "directory">, body: (w: World) => Promise<T>): Promise<T> {
  const w = await startWorld({ scenario, google });
  try {
    return await body(w);
  } finally {
    await w.close();
  }
}

const googleCounts = (w: World) => statusCounts(w.emulators.google.log, (e) => e.route !== "/token");

describe.concurrent("Google faults", () => {
  test("403 userRateLimitExceeded on 30% of Directory requests: the read succeeds with retries", async () => {
    const seed = 21;
    const scenario = parseScenario(generateOrg({ users: 120, groups: 12, seed, scimUsers: 20 }));
    await withWorld(scenario, { quota: { userRateLimitRate: 0.3 }, faults: { random: seededRandom(seed) } }, async (w) => {
      const baseline = baselineOf(w, scenario);
      const result = await w.run(["sync"]);
      expect(result.code).toBe(0);
      const google = googleCounts(w);
      expect(google.byStatus["403"] ?? 0).toBeGreaterThan(0);
      // Each quota error went through the shared pacer: the read's line says how far it slowed.
      expect(result.stderr).toContain(`${google.byStatus["403"]} quota errors: pace slowed from 1000/s to `);
      const converged = await assertConverged(w, baseline);
      record("google-quota", { seed, code: result.code, google, scimWrites: statusCounts(w.emulators.scim.log, isWrite).total, converged });
    });
  });

  test("503 in the middle of paging (members.list page 2, users.list page 2): the page is retried", async () => {
    // One group of 620 (All Staff): members.list takes 4 pages of 200, users.list 2 pages of 500.
    const seed = 22;
    const scenario = parseScenario(generateOrg({ users: 620, groups: 1, seed }));
    const failPages: GoogleEmulatorOptions["failPages"] = [
      { route: "members.list", nth: 2 },
      { route: "users.list", nth: 2 },
    ];
    await withWorld(scenario, { failPages }, async (w) => {
      const baseline = baselineOf(w, scenario);
      const result = await w.run(["sync"]);
      expect(result.code).toBe(0);
      const entries = w.emulators.google.log.entries;
      const failed = entries.filter((e) => e.status === 503);
      expect(failed.map((e) => e.route).sort()).toEqual(["members.list", "users.list"]);
      // Each failed page was asked again with the same pageToken, and paging went on to the end.
      for (const f of failed) {
        const token = new URL(f.url, "http://x").searchParams.get("pageToken");
        expect(token).not.toBeNull();
        const retried = entries.filter((e) => e.route === f.route && e.status === 200 && new URL(e.url, "http://x").searchParams.get("pageToken") === token);
        expect(retried).toHaveLength(1);
      }
      const converged = await assertConverged(w, baseline);
      record("google-503-mid-paging", { seed, code: result.code, google: googleCounts(w), converged });
    });
  });

  test("persistent 503: the run aborts with exit 1 before any SCIM write and the state is unchanged", async () => {
    const seed = 23;
    const scenario = parseScenario(generateOrg({ users: 60, groups: 6, seed, scimUsers: 10 }));
    await withWorld(scenario, {}, async (w) => {
      const baseline = baselineOf(w, scenario);
      expect((await w.run(["sync"])).code).toBe(0);
      const before = await readState(w, "file");
      // Work for the next run: a new member in the first group.
      scenario.google.users.push({ id: "199999999999999999999", primaryEmail: "newcomer@example.com", name: { givenName: "New", familyName: "Comer" }, suspended: false, archived: false, orgUnitPath: "/" });
      scenario.google.groups[0]!.members.push({ email: "newcomer@example.com", type: "USER", role: "MEMBER", status: "ACTIVE" });
      w.emulators.scim.log.clear();
      w.emulators.google.log.clear();
      w.emulators.google.faults.errorRate = 1;
      const failed = await w.run(["sync"]);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain("503");
      expect(w.emulators.scim.log.total()).toBe(0);
      expect((await readState(w, "file"))?.text).toBe(before?.text);
      const google = googleCounts(w);
      expect(google.byStatus["503"]).toBe(google.total);

      w.emulators.google.faults.errorRate = 0;
      expect((await w.run(["sync"])).code).toBe(0);
      const converged = await assertConverged(w, { ...baseline, desired: desiredFromScenario(scenario) });
      record("google-persistent-503", { seed, code: failed.code, google, scimRequestsDuringFailure: 0, converged });
    });
  });
});
