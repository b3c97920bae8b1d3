/**
 * @module `bun run demo [-- --scenario FILE]`: starts the emulators on a scenario, writes a config
 * file pointing at them, and runs the real `idpscim` CLI (the production code path): plan, then
 * sync twice. The first sync creates everything; the second sends zero SCIM writes.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { awsEnvironment, startEmulators } from "../test/emulators/index.ts";
import { loadScenarioFile } from "../test/emulators/scenario.ts";
import { EXAMPLE_SCENARIO } from "../test/support/paths.ts";

const root = resolve(import.meta.dir, "..");
const { values } = parseArgs({ options: { scenario: { type: "string" } } });
const scenarioPath = resolve(values.scenario ?? EXAMPLE_SCENARIO);

const say = (text: string) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
const emulators = await startEmulators({ scenario: loadScenarioFile(scenarioPath) });
try {
  const configPath = join(emulators.directory, "config.toml");
  writeFileSync(
    configPath,
    [
      "[gws]",
      `service_account_file = "${emulators.google.serviceAccountFile}"`,
      `user_email = "${emulators.google.adminEmail}"`,
      `api_url = "${emulators.google.url}"`,
      `token_url = "${emulators.google.tokenUrl}"`,
      "",
      "[aws]",
      `scim_endpoint = "${emulators.scim.url}"`,
      `scim_access_token = "${emulators.scim.token}"`,
      "",
      "[state]",
      `file = "${join(emulators.directory, "state.json")}"`,
      "",
    ].join("\n"),
  );
  say(`Scenario ${scenarioPath}`);
  const before = emulators.scim.snapshot();
  process.stdout.write(`AWS tenant before: ${before.users.length} users, ${before.groups.length} groups (${before.groups.map((g) => g.displayName).join(", ")})\n`);
  process.stdout.write(`Config written to ${configPath} (the emulators' URLs and token)\n`);

  const run = async (args: string[]) => {
    process.stdout.write(`\n$ idpscim ${args.join(" ")}\n`);
    emulators.scim.log.clear();
    const child = Bun.spawn([process.execPath, join(root, "src/main.ts"), ...args, "--config-file", configPath], {
      env: { ...process.env, ...awsEnvironment(emulators) },
      stdout: "inherit",
      stderr: "inherit",
    });
    const code = await child.exited;
    process.stdout.write(`(exit ${code}; the SCIM emulator saw ${emulators.scim.log.total()} requests, ${emulators.scim.log.writes()} writes)\n`);
    return code;
  };

  say("1. The plan: what a sync would do (nothing is written)");
  await run(["plan"]);
  say("2. First sync: creates the users, groups and memberships");
  const first = await run(["sync"]);
  say("3. Second sync: nothing changed at the source, so nothing is sent to AWS");
  const second = await run(["sync"]);
  const after = emulators.scim.snapshot();
  say("Result");
  process.stdout.write(`AWS tenant after: ${after.users.length} users, ${after.groups.length} groups\n`);
  const nameOf = new Map(after.users.map((u) => [u.id, String(u.userName)]));
  for (const group of after.groups) {
    process.stdout.write(`  ${group.displayName}: ${group.members.map((m) => nameOf.get(m)).join(", ") || "(no members)"}\n`);
  }
  process.exitCode = first === 0 && second === 0 ? 0 : 1;
} finally {
  await emulators.close();
}
