/**
 * @module The compiled `idpscim` binary (not the sources) syncs against the emulators, reports
 * the version and commit baked in at build time, and ignores `.env` and `bunfig.toml` in its
 * working directory.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { compileBinary, gitCommit } from "../../scripts/build.ts";
import { awsEnvironment } from "../emulators/index.ts";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, startWorld, type CliResult, type World } from "../support/harness.ts";

let dir: string;
let binary: string;
let commit: string;
/** A working directory whose .env and bunfig.toml would break the run if the binary read them. */
let decoyCwd: string;
let world: World | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "idpscim-binary-"));
  commit = await gitCommit();
  const started = performance.now();
  const built = await compileBinary({ target: "host", outfile: join(dir, "idpscim") });
  console.log(`host binary: ${built.bytes} bytes, compiled in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  binary = built.outfile;
  decoyCwd = join(dir, "cwd");
  writeDecoys(decoyCwd);
}, 120_000);

afterEach(async () => {
  await world?.close();
  world = undefined;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A wrong SCIM token in .env (environment wins over the config file) and a bunfig preload that exits 97. */
function writeDecoys(directory: string): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, ".env"), "IDPSCIM_AWS_SCIM_ACCESS_TOKEN=wrong\nIDPSCIM_LOG_LEVEL=error\n");
  writeFileSync(join(directory, "bunfig.toml"), 'preload = ["./decoy-preload.js"]\n');
  writeFileSync(join(directory, "decoy-preload.js"), 'console.error("decoy bunfig.toml preload ran"); process.exit(97);\n');
}

/** Runs the binary with only the non-IDPSCIM_*, non-AWS_* parts of this environment, plus `env`. */
async function runBinary(file: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("IDPSCIM_") && !key.startsWith("AWS_")) base[key] = value;
  }
  const child = Bun.spawn([file, ...args], { cwd, env: { ...base, ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

describe("compiled host binary", () => {
  test("--version prints package.json's version and the git commit", async () => {
    const result = await runBinary(binary, ["--version"], decoyCwd);
    expect(result.stderr).not.toContain("decoy");
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(`${pkg.version} (${commit})`);
    expect(commit).toMatch(/^[0-9a-f]{7,}$/);
  });

  test("syncs the example scenario from a directory with a decoy .env and bunfig.toml; the second run sends no SCIM request", async () => {
    world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) });
    const env = awsEnvironment(world.emulators);
    const first = await runBinary(binary, ["sync", "--config-file", world.configPath], decoyCwd, env);
    // A loaded .env would replace the config's token with "wrong" (401); a loaded bunfig exits 97.
    expect(first.stderr).not.toContain("decoy");
    expect(first.stderr).toContain("summary:");
    expect(first.code).toBe(0);
    const snapshot = world.emulators.scim.snapshot();
    expect(snapshot.users.map((u) => String(u.userName))).toContain("ana.lima@example.com");
    expect(snapshot.users).toHaveLength(13);
    expect(snapshot.groups.find((g) => g.displayName === "AWS Admins")?.members).toHaveLength(3);

    world.emulators.scim.log.clear();
    const second = await runBinary(binary, ["sync", "--config-file", world.configPath], decoyCwd, env);
    expect(second.code).toBe(0);
    expect(world.emulators.scim.log.total()).toBe(0);
  });

  test("the decoys are real: Bun honours that bunfig.toml, and the emulator refuses that token", async () => {
    // Guards the test above, which would pass for the wrong reason if the decoys did nothing.
    const bun = Bun.spawnSync([process.execPath, "-e", "console.log('no preload')"], { cwd: decoyCwd, stderr: "pipe" });
    expect(bun.exitCode).toBe(97);
    expect(bun.stderr.toString()).toContain("decoy bunfig.toml preload ran");
    world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) });
    const result = await runBinary(binary, ["sync", "--config-file", world.configPath], decoyCwd, {
      ...awsEnvironment(world.emulators),
      IDPSCIM_AWS_SCIM_ACCESS_TOKEN: "wrong",
    });
    expect(result.code).not.toBe(0);
    expect(world.emulators.scim.log.writes()).toBe(0);
  });
});
