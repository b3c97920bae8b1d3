/**
 * @module `bun run scripts/plan-snapshot.ts [SCENARIO]`: the `plan` output (text, then JSON) of a
 * first run on a scenario (default the example), with the emulators' random parts (ports, temp
 * paths) replaced: compare two versions of the code byte for byte.
 */
import { EXAMPLE_SCENARIO, startWorld } from "../test/support/harness.ts";
import { loadScenarioFile } from "../test/emulators/scenario.ts";

const world = await startWorld({ scenario: loadScenarioFile(process.argv[2] ?? EXAMPLE_SCENARIO) });
try {
  const text = await world.run(["plan"]);
  const json = await world.run(["plan", "--output", "json"]);
  const stable = (s: string) => s.replaceAll(world.emulators.directory, "<dir>").replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>");
  process.stdout.write(`exit ${text.code}\n${stable(text.stdout)}\nexit ${json.code}\n${stable(json.stdout)}`);
} finally {
  await world.close();
}
