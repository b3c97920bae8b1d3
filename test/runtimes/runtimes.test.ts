/**
 * @module The same CLI from sources under Node (tsx) and Deno as under Bun: `plan --output json`
 * prints the same plan, and a `sync` leaves AWS holding the same users and groups.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { awsEnvironment } from "../emulators/index.ts";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, ROOT, startWorld, type CliResult, type World } from "../support/harness.ts";

const BIN = join(ROOT, "node_modules/.bin");
const RUNTIMES: Record<string, string[]> = {
  bun: [process.execPath, "src/main.ts"],
  "node (tsx)": [join(BIN, "tsx"), "src/main.ts"],
  // Deno uses package.json and node_modules as they are; --no-lock keeps it from writing deno.lock.
  deno: [join(BIN, "deno"), "run", "-A", "--no-lock", "src/main.ts"],
};

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** Runs `idpscim ARGS` under a runtime from the repository root, with a clean IDPSCIM_*, AWS_* environment. */
async function runUnder(runtime: string, args: string[], w: World): Promise<CliResult & { seconds: number }> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("IDPSCIM_") && !key.startsWith("AWS_")) env[key] = value;
  }
  const started = performance.now();
  const child = Bun.spawn([...RUNTIMES[runtime]!, "--config-file", w.configPath, ...args], {
    cwd: ROOT,
    env: { ...env, ...awsEnvironment(w.emulators), NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr, seconds: (performance.now() - started) / 1000 };
}

const missing = ["tsx", "deno"].filter((name) => !existsSync(join(BIN, name)));
if (missing.length > 0) console.log(`skipping the runtime tests: ${missing.join(", ")} not in node_modules/.bin (bun install)`);

describe.skipIf(missing.length > 0)("Node (tsx) and Deno run the CLI as Bun does", () => {
  test("plan --output json is the same on Bun, Node and Deno", async () => {
    world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) });
    const plans: Record<string, unknown> = {};
    for (const runtime of Object.keys(RUNTIMES)) {
      const result = await runUnder(runtime, ["plan", "--output", "json"], world);
      if (result.code !== 0) throw new Error(`plan under ${runtime} exited ${result.code}:\n${result.stderr}`);
      plans[runtime] = JSON.parse(result.stdout);
      console.log(`plan under ${runtime}: ${result.seconds.toFixed(1)}s`);
    }
    expect((plans.bun as { operations: unknown[] }).operations).toHaveLength(17);
    expect(plans["node (tsx)"]).toEqual(plans.bun);
    expect(plans.deno).toEqual(plans.bun);
    expect(world.emulators.scim.log.writes()).toBe(0);
  }, 120_000);

  test("a sync under Node and under Deno leaves AWS as a sync under Bun does, and the next run sends nothing", async () => {
    const tenants: Record<string, unknown> = {};
    for (const runtime of Object.keys(RUNTIMES)) {
      world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) });
      const first = await runUnder(runtime, ["sync"], world);
      if (first.code !== 0) throw new Error(`sync under ${runtime} exited ${first.code}:\n${first.stderr}`);
      const snapshot = world.emulators.scim.snapshot();
      const names = new Map(snapshot.users.map((u) => [u.id, String(u.userName)]));
      tenants[runtime] = {
        users: snapshot.users.map((u) => ({ userName: u.userName, active: u.active, externalId: u.externalId })).sort((a, b) => String(a.userName).localeCompare(String(b.userName))),
        groups: snapshot.groups.map((g) => ({ displayName: g.displayName, members: g.members.map((m) => names.get(m)).sort() })).sort((a, b) => a.displayName.localeCompare(b.displayName)),
      };
      world.emulators.scim.log.clear();
      const second = await runUnder(runtime, ["sync"], world);
      expect(second.code).toBe(0);
      expect(world.emulators.scim.log.total()).toBe(0);
      console.log(`two syncs under ${runtime}: ${(first.seconds + second.seconds).toFixed(1)}s`);
      await world.close();
      world = undefined;
    }
    expect(tenants["node (tsx)"]).toEqual(tenants.bun);
    expect(tenants.deno).toEqual(tenants.bun);
  }, 180_000);
});
