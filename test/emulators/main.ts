/**
 * @module `bun run emulators -- --scenario FILE [--scim-rps N] [--latency-ms N] [--fault-rate P]`:
 * starts every emulator, prints one JSON line describing them on stdout, runs until SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startEmulators } from "./index.ts";
import { loadScenarioFile, ScenarioError } from "./scenario.ts";

const { values } = parseArgs({
  options: {
    scenario: { type: "string" },
    "scim-rps": { type: "string" },
    "latency-ms": { type: "string" },
    "fault-rate": { type: "string" },
  },
});

const fail = (message: string): never => {
  process.stderr.write(`emulators: ${message}\n`);
  process.exit(2);
};
const number = (name: string, text: string | undefined, max = Number.POSITIVE_INFINITY): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > max) fail(`--${name} must be a number from 0 to ${max}, got "${text}"`);
  return value;
};

if (!values.scenario) fail("--scenario FILE is required (see test/scenarios/FORMAT.md)");
let scenario;
try {
  scenario = loadScenarioFile(values.scenario!);
} catch (error) {
  fail(error instanceof ScenarioError ? error.message : String(error));
}
const rps = number("scim-rps", values["scim-rps"]);
const latencyMs = number("latency-ms", values["latency-ms"]) ?? 0;
const errorRate = number("fault-rate", values["fault-rate"], 1) ?? 0;

const emulators = await startEmulators({
  scenario: scenario!,
  scim: {
    faults: { latencyMs, errorRate },
    ...(rps !== undefined ? { rateLimit: { readsPerSecond: rps, writesPerSecond: rps } } : {}),
  },
  google: { faults: { latencyMs } },
});
process.stdout.write(`${JSON.stringify(emulators.describe())}\n`);

const stop = async () => {
  await emulators.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
