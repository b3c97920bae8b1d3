/**
 * @module End-to-end: the audit trail (`--audit-log FILE`) and the SCIM token's expiry, with the
 * real CLI against the emulators. The trail holds one line per SCIM write the emulator received
 * (counted against its request log) and one per refusal, appended, mode 0600, never the token; a
 * trail that cannot be opened stops the run before any request. The expiry warns at 30 days,
 * errors at 7 and when expired; a 401 says how to make a new token.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { seededRandom } from "../emulators/faults.ts";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, orgEmail, scimRequest, spreadOrg, startWorld, type World } from "../support/harness.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const WRITES = new Set(["createUser", "updateUser", "deleteUser", "createGroup", "updateGroup", "deleteGroup", "addMembers", "removeMembers"]);

type AuditLine = Record<string, any>;

/** The trail's lines, each parsed (a line that is not JSON fails the test). */
function auditLines(path: string): AuditLine[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as AuditLine);
}

/** The run id the summary line ends with. */
function runIdOf(stderr: string): string {
  const id = /summary: .*; run ([0-9a-f-]{36})$/m.exec(stderr)?.[1];
  if (id === undefined) throw new Error(`no run id in the summary line:\n${stderr}`);
  return id;
}

describe("audit trail: --audit-log FILE", () => {
  test("a run with a rejected record: one line per SCIM write with what changed, AWS's reason for the rejected one, appended, 0600, no token", async () => {
    const scenario = loadScenarioFile(EXAMPLE_SCENARIO);
    world = await startWorld({ scenario });
    const w = world;
    const trail = join(w.emulators.directory, "audit.jsonl");
    // A quarter of the requests answer 500 at first: retried, and each line says how many attempts its write took.
    Object.assign(w.emulators.scim.faults, { errorRate: 0.25, random: seededRandom(13) });
    const first = await w.run(["sync", "--audit-log", trail]);
    expect(first.code).toBe(0);
    Object.assign(w.emulators.scim.faults, { errorRate: 0 });
    const firstLines = auditLines(trail);
    expect(firstLines.every((l) => WRITES.has(l.operation) && l.result === "ok")).toBe(true);
    expect(firstLines.reduce((n, l) => n + l.attempts, 0)).toBe(w.emulators.scim.log.writes());
    expect(firstLines.some((l) => l.attempts > 1)).toBe(true);
    expect(statSync(trail).mode & 0o777).toBe(0o600);
    expect(new Set(firstLines.map((l) => l.run))).toEqual(new Set([runIdOf(first.stderr)]));

    // As cli-contracts: an unmanaged group holds the name a managed group is renamed to (409), a user joins.
    expect((await scimRequest(w, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Finance" })).status).toBe(201);
    scenario.google.groups.find((g) => g.name === "AWS BreakGlass")!.name = "Finance";
    scenario.google.users.push({ id: "100000000000000000099", primaryEmail: "zoe.new@example.com", name: { givenName: "Zoe", familyName: "New" } });
    scenario.google.groups.find((g) => g.name === "All Staff")!.members.push({ email: "zoe.new@example.com", type: "USER", role: "MEMBER", status: "ACTIVE" });
    w.emulators.scim.log.clear();
    const second = await w.run(["sync", "--audit-log", trail]);
    expect(second.code).toBe(1);

    const all = auditLines(trail);
    expect(all.slice(0, firstLines.length)).toEqual(firstLines);
    const lines = all.slice(firstLines.length);
    const run = runIdOf(second.stderr);
    expect(lines.every((l) => l.audit === "idpscim" && l.run === run && !Number.isNaN(Date.parse(l.time)))).toBe(true);
    // Every write the emulator received is one line, and nothing else is.
    expect(lines.filter((l) => WRITES.has(l.operation)).reduce((n, l) => n + l.attempts, 0)).toBe(w.emulators.scim.log.writes());
    expect(lines.every((l) => WRITES.has(l.operation))).toBe(true);

    const created = lines.find((l) => l.operation === "createUser");
    expect(created).toMatchObject({ resource: "User", externalId: "100000000000000000099", name: "zoe.new@example.com", result: "ok", attempts: 1 });
    expect(created!.changed).toMatchObject({ userName: "zoe.new@example.com", givenName: "Zoe", familyName: "New", active: true });
    expect(typeof created!.scimId).toBe("string");
    const added = lines.find((l) => l.operation === "addMembers");
    expect(added).toMatchObject({ resource: "Group", name: "All Staff", result: "ok" });
    expect(added!.members).toEqual([{ scimId: created!.scimId, userName: "zoe.new@example.com" }]);
    const rejected = lines.find((l) => l.result !== "ok");
    expect(rejected).toMatchObject({ operation: "updateGroup", resource: "Group", name: "Finance", why: "rename", changed: { displayName: "Finance" }, result: "rejected", status: 409 });
    // AWS's own words (its `detail`), not our message around them.
    expect(rejected!.reason).toMatch(/duplicate/i);
    expect(rejected!.reason).not.toContain("SCIM PATCH");

    const text = readFileSync(trail, "utf8");
    expect(text).not.toContain(w.emulators.scim.token);
    expect(text).not.toContain("Bearer");
  });

  test("refusals: a run refused by the rails and a record AWS would refuse are lines of their own; nothing written", async () => {
    const scenario = spreadOrg(40, 2);
    world = await startWorld({ scenario });
    const trail = join(world.emulators.directory, "audit.jsonl");
    expect((await world.run(["sync"])).code).toBe(0);
    for (const group of scenario.google.groups) group.members = group.members.filter((m) => !Array.from({ length: 20 }, (_, i) => orgEmail(i)).includes(m.email ?? ""));
    world.emulators.scim.log.clear();
    const refused = await world.run(["sync", "--audit-log", trail]);
    expect(refused.code).toBe(3);
    expect(world.emulators.scim.log.writes()).toBe(0);
    const refusals = auditLines(trail);
    expect(refusals.every((l) => l.operation === "refuseRun" && l.result === "refused")).toBe(true);
    const line = refusals.find((l) => l.rule === "max_deletes");
    expect(line).toMatchObject({ audit: "idpscim", operation: "refuseRun", resource: "Run", rule: "max_deletes", count: 20, managed: 40, result: "refused" });
    expect(line!.names).toContain(orgEmail(0));

    // Back in scope; then a group AWS would refuse as it is (a control character in its name).
    scenario.google.groups[0]!.members.push({ email: orgEmail(0), type: "USER", role: "MEMBER", status: "ACTIVE" });
    scenario.google.groups.push({ id: "200000000000000000077", email: "bell@example.com", name: "Bell\u0007Group", members: [{ email: orgEmail(30), type: "USER", role: "MEMBER", status: "ACTIVE" }] });
    const partial = await world.run(["sync", "--force", "--audit-log", trail]);
    expect(partial.code).toBe(1);
    const lines = auditLines(trail).slice(refusals.length);
    const record = lines.find((l) => l.operation === "refuseRecord");
    expect(record).toMatchObject({ resource: "Group", externalId: "200000000000000000077", result: "refused" });
    expect(record!.reason).toMatch(/control character/);
    // The run went over the rail with --force: said so once, as allowed.
    expect(lines.filter((l) => l.operation === "refuseRun").map((l) => [l.rule, l.result])).toEqual(refusals.map((l) => [l.rule, "allowed"]));
    expect(lines.filter((l) => l.operation === "deleteUser" && l.result === "ok")).toHaveLength(19);
  });

  test("a trail that cannot be opened: one line naming audit_log, exit 2, no request; a plan opens none", async () => {
    world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) });
    const trail = join(world.emulators.directory, "missing-directory", "audit.jsonl");
    const run = await world.run(["sync", "--audit-log", trail]);
    expect(run.code).toBe(2);
    const errors = run.stderr.split("\n").filter((l) => l.includes("ERROR"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("audit_log");
    expect(errors[0]).toContain("ENOENT");
    expect(errors[0]).toContain("--audit-log");
    expect(world.emulators.scim.log.total() + world.emulators.google.log.total()).toBe(0);

    const here = join(world.emulators.directory, "plan-audit.jsonl");
    expect((await world.run(["plan", "--audit-log", here])).code).toBe(0);
    expect(existsSync(here)).toBe(false);

    // An existing trail others may read is narrowed to 0600, and appended to, never truncated.
    const kept = '{"audit":"idpscim","run":"earlier"}\n';
    writeFileSync(here, kept, { mode: 0o644 });
    chmodSync(here, 0o644);
    expect((await world.run(["sync", "--audit-log", here])).code).toBe(0);
    expect(statSync(here).mode & 0o777).toBe(0o600);
    expect(readFileSync(here, "utf8").startsWith(kept)).toBe(true);
    expect(auditLines(here).length).toBeGreaterThan(1);
  });
});

const DAY = 86_400_000;
/** A time `days` (and an hour more, so no boundary is met during the run) from now, as RFC 3339. */
const inDays = (days: number) => new Date(Date.now() + days * DAY + 3_600_000).toISOString();

describe("SCIM token expiry: aws.scim_token_expires_at", () => {
  test("warns from 30 days, logs an error from 7 days and once expired; never fails the run", async () => {
    world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) });
    const w = world;
    const lines = async (days: number) => {
      const run = await w.run(["plan", "--aws-scim-token-expires-at", inDays(days)]);
      expect(run.code).toBe(0);
      return run.stderr.split("\n").filter((l) => l.includes("SCIM access token"));
    };
    expect(await lines(31)).toEqual([]);
    const [warn, ...noMore] = await lines(30);
    expect(noMore).toEqual([]);
    expect(warn).toContain("WARN ");
    expect(warn).toContain("expires in 30 days");
    expect(warn).toContain("Generate token");
    expect((await lines(8))[0]).toContain("WARN ");
    const [error] = await lines(7);
    expect(error).toContain("ERROR");
    expect(error).toContain("expires in 7 days");
    const [expired] = await lines(-2);
    expect(expired).toContain("ERROR");
    expect(expired).toMatch(/expired 1 day ago/);

    // An impossible date is a one-line problem (exit 2), before any request.
    w.emulators.scim.log.clear();
    const bad = await w.run(["plan", "--aws-scim-token-expires-at", "2027-02-30"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("aws-scim-token-expires-at");
    expect(bad.stderr).toContain('"2027-06-30"');
    expect(w.emulators.scim.log.total()).toBe(0);
  });

  test("a 401 from SCIM: the token may have expired or been rotated, and how to make a new one", async () => {
    world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) });
    const run = await world.run(["sync", "--aws-scim-access-token", "not-the-tenant-token-0123456789"]);
    expect(run.code).toBe(2);
    expect(world.emulators.scim.log.total((r) => r.status === 401)).toBeGreaterThan(0);
    const error = run.stderr.split("\n").find((l) => l.includes("SCIM_AUTH"));
    expect(error).toContain("401");
    expect(error).toContain("may have expired");
    expect(error).toContain("rotated");
    expect(error).toContain("Settings > Automatic provisioning > Generate token");
    expect(error).toContain("aws.scim_token_expires_at");
    expect(run.stderr).not.toContain("not-the-tenant-token-0123456789");
  });
});
