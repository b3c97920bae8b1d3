/** @module Tests for scripts/gen-org.ts: deterministic output with the realistic shape the benchmarks and sync tests rely on. */
import { describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { generateOrg } from "../../scripts/gen-org.ts";
import { parseScenario, type Scenario } from "../emulators/scenario.ts";

const org = generateOrg({ users: 3000, groups: 200, seed: 42, scimUsers: 40 });
const { users, groups, domain } = org.google;
const userEmails = new Set(users.map((u) => u.primaryEmail.toLowerCase()));
const groupByEmail = new Map(groups.map((g) => [g.email.toLowerCase(), g]));

function nestingDepth(email: string, seen = new Set<string>()): number {
  if (seen.has(email)) return 0;
  const group = groupByEmail.get(email);
  if (!group) return 0;
  const children = group.members.filter((m) => m.type === "GROUP").map((m) => m.email!.toLowerCase());
  return 1 + Math.max(0, ...children.map((c) => nestingDepth(c, new Set([...seen, email]))));
}

describe("generateOrg", () => {
  test("is deterministic by seed", () => {
    const again = generateOrg({ users: 3000, groups: 200, seed: 42, scimUsers: 40 });
    expect(JSON.stringify(again)).toBe(JSON.stringify(org));
    const other = generateOrg({ users: 3000, groups: 200, seed: 43, scimUsers: 40 });
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(org));
  });

  test("passes the scenario loader unchanged in substance", () => {
    const parsed = parseScenario(JSON.parse(JSON.stringify(org)));
    expect(parsed.google.users).toHaveLength(3000);
    expect(parsed.google.groups).toHaveLength(200);
    expect(parsed.scim.users).toHaveLength(40);
  });

  test("nested groups several levels deep", () => {
    const nesting = groups.filter((g) => g.members.some((m) => m.type === "GROUP"));
    expect(nesting.length).toBeGreaterThan(10);
    expect(Math.max(...groups.map((g) => nestingDepth(g.email.toLowerCase())))).toBeGreaterThanOrEqual(4);
  });

  test("about 3% suspended users, with SUSPENDED memberships", () => {
    const suspended = users.filter((u) => u.suspended);
    expect(suspended.length / users.length).toBeGreaterThan(0.015);
    expect(suspended.length / users.length).toBeLessThan(0.05);
    const suspendedEmails = new Set(suspended.map((u) => u.primaryEmail));
    for (const g of groups) {
      for (const m of g.members) if (m.email && suspendedEmails.has(m.email)) expect(m.status).toBe("SUSPENDED");
    }
  });

  test("mononyms, both without familyName and with an empty one", () => {
    const mononyms = users.filter((u) => !u.name?.familyName);
    expect(mononyms.length).toBeGreaterThanOrEqual(2);
    expect(mononyms.some((u) => u.name && !("familyName" in u.name))).toBe(true);
    expect(mononyms.some((u) => u.name?.familyName === "")).toBe(true);
  });

  test("non-ASCII names with ASCII addresses", () => {
    const names = users.map((u) => `${u.name?.givenName} ${u.name?.familyName ?? ""}`);
    for (const fragment of ["Zoë", "Łukasz", "José", "李", "Ødegård", "Nguyễn"]) {
      expect(names.some((n) => n.includes(fragment))).toBe(true);
    }
    for (const u of users) expect(u.primaryEmail).toMatch(/^[a-z0-9.-]+@example\.com$/);
  });

  test("a few users are in at least 120 groups", () => {
    const counts = new Map<string, number>();
    for (const g of groups) for (const m of g.members) if (m.email) counts.set(m.email, (counts.get(m.email) ?? 0) + 1);
    const heavy = [...counts.entries()].filter(([email, n]) => n >= 120 && userEmails.has(email));
    expect(heavy.length).toBeGreaterThanOrEqual(2);
  });

  test("group sizes: one above 100 and one above 1000 direct members", () => {
    const sizes = groups.map((g) => g.members.length);
    expect(sizes.filter((s) => s > 100).length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...sizes)).toBeGreaterThan(1000);
  });

  test("external members: USER members at other domains, not in users", () => {
    const externals = groups.flatMap((g) => g.members).filter((m) => m.type === "USER" && !userEmails.has(m.email!.toLowerCase()));
    expect(externals.length).toBeGreaterThan(0);
    for (const m of externals) expect(m.email!.endsWith(`@${domain}`)).toBe(false);
  });

  test("optional attributes on a share of users", () => {
    const share = (field: string) => users.filter((u) => Array.isArray(u[field]) && (u[field] as unknown[]).length > 0).length / users.length;
    for (const field of ["organizations", "phones", "addresses", "relations", "externalIds"]) {
      expect(share(field)).toBeGreaterThan(0.1);
      expect(share(field)).toBeLessThan(0.95);
    }
    const managers = users.flatMap((u) => (u.relations as { type: string; value: string }[] | undefined) ?? []);
    for (const r of managers) {
      expect(r.type).toBe("manager");
      expect(userEmails.has(r.value)).toBe(true);
    }
  });

  test("scim part: adoptable matches, hand-made users and AWSControlTowerAdmins", () => {
    const scim = org.scim;
    const matching = scim.users.filter((u) => userEmails.has(u.userName.toLowerCase()));
    const handMade = scim.users.filter((u) => !userEmails.has(u.userName.toLowerCase()));
    expect(matching.length).toBeGreaterThan(10);
    expect(handMade.length).toBeGreaterThan(3);
    const admins = scim.groups.find((g) => g.displayName === "AWSControlTowerAdmins");
    expect(admins?.members.length).toBeGreaterThan(0);
    expect(generateOrg({ users: 50, groups: 10, seed: 1 }).scim).toEqual({ users: [], groups: [] });
  });

  test("small and degenerate sizes still produce valid scenarios", () => {
    for (const [u, g] of [[0, 0], [1, 1], [5, 3], [30, 2], [150, 12]] as const) {
      const small: Scenario = generateOrg({ users: u, groups: g, seed: 9, scimUsers: 3 });
      expect(() => parseScenario(JSON.parse(JSON.stringify(small)))).not.toThrow();
      expect(small.google.users).toHaveLength(u);
      expect(small.google.groups).toHaveLength(g);
    }
  });

  test("20,000 users / 2,000 groups generate in a few seconds", () => {
    const started = performance.now();
    const big = generateOrg({ users: 20_000, groups: 2_000, seed: 7, scimUsers: 500 });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(big.google.users).toHaveLength(20_000);
  });
});

describe("gen-org CLI", () => {
  const script = fileURLToPath(new URL("../../scripts/gen-org.ts", import.meta.url));
  const run = (...args: string[]) => Bun.spawnSync([process.execPath, "run", script, ...args], { stdout: "pipe", stderr: "pipe" });

  test("writes byte-identical JSON for the same arguments", () => {
    const a = run("--users", "300", "--groups", "40", "--seed", "5", "--scim-users", "10");
    const b = run("--users=300", "--groups=40", "--seed=5", "--scim-users=10");
    expect(a.exitCode).toBe(0);
    expect(a.stdout.toString()).toBe(b.stdout.toString());
    expect(JSON.stringify(parseScenario(JSON.parse(a.stdout.toString())).google.users.length)).toBe("300");
  });

  test("rejects bad arguments with a usage message", () => {
    const bad = run("--users", "ten", "--groups", "4", "--seed", "1");
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr.toString()).toContain("--users must be a non-negative integer");
  });
});
