/**
 * @module Test harness: emulators from a scenario, a config file pointing the product at them,
 * and the real `idpscim` CLI run as a child process (the production code path, unchanged).
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { awsEnvironment, startEmulators, type Emulators, type EmulatorsOptions } from "../emulators/index.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const EXAMPLE_SCENARIO = resolve(ROOT, "../shared/scenarios/example-small.json");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface World {
  emulators: Emulators;
  configPath: string;
  statePath: string;
  /** Runs `idpscim ARGS` with the world's config (unless args carry their own) and environment. */
  run(args: string[], options?: { env?: Record<string, string>; config?: boolean }): Promise<CliResult>;
  /** Rewrites the config file with extra TOML appended (tables and keys). */
  writeConfig(extra?: string, base?: Partial<ConfigParts>): void;
  close(): Promise<void>;
}

interface ConfigParts {
  state: "file" | "s3";
}

export async function startWorld(options: EmulatorsOptions, parts: Partial<ConfigParts> = {}): Promise<World> {
  const emulators = await startEmulators(options);
  const configPath = join(emulators.directory, "config.toml");
  const statePath = join(emulators.directory, "state.json");
  const writeConfig = (extra = "", base: Partial<ConfigParts> = parts) => {
    const stateLines =
      (base.state ?? "file") === "s3"
        ? `s3_bucket_name = "${emulators.s3.bucket}"\ns3_bucket_key = "data/state.json"\n`
        : "";
    const stateTable = (base.state ?? "file") === "file" ? `[state]\nfile = "${statePath}"\n` : "";
    writeFileSync(
      configPath,
      `[gws]\nservice_account_file = "${emulators.google.serviceAccountFile}"\nuser_email = "${emulators.google.adminEmail}"\n` +
        `api_url = "${emulators.google.url}"\ntoken_url = "${emulators.google.tokenUrl}"\n\n` +
        `[aws]\nscim_endpoint = "${emulators.scim.url}"\nscim_access_token = "${emulators.scim.token}"\n# Emulators are not throttled unless a test says so; keep tests fast.\nscim_rate_limit = 1000\n${stateLines}\n${stateTable}\n${extra}\n`,
    );
  };
  writeConfig();
  return {
    emulators,
    configPath,
    statePath,
    writeConfig,
    run: (args, runOptions = {}) =>
      runIdpscim(runOptions.config === false ? args : ["--config-file", configPath, ...args], {
        ...awsEnvironment(emulators),
        ...runOptions.env,
      }),
    close: () => emulators.close(),
  };
}

/** Runs the CLI from sources under Bun, as a separate process with a clean IDPSCIM_* environment. */
export async function runIdpscim(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("IDPSCIM_") && !key.startsWith("AWS_")) base[key] = value;
  }
  const child = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/** Counts of SCIM requests by "METHOD route" since the last clear, and the total of writes. */
export function scimCounts(world: World): { byRoute: Record<string, number>; total: number; writes: number } {
  const log = world.emulators.scim.log;
  return { byRoute: log.counts(), total: log.total(), writes: log.writes() };
}

/** A request to the SCIM emulator as an administrator would make it by hand in AWS. */
export async function scimRequest(w: World, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${w.emulators.scim.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${w.emulators.scim.token}`, "Content-Type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: response.status === 204 ? undefined : await response.json() };
}
