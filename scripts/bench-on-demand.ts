/**
 * @module `bun run scripts/bench-on-demand.ts [--size s|m] [--seed N]`: the requests of `sync --user`
 * and `sync --group` (README: Sync one user now) on an organisation of scripts/gen-org.ts, built as
 * scripts/bench.ts builds it (size m: 10,000 users, 1,000 groups, no gws.groups_filter), after a
 * full first sync. For a user and a group, with nothing to change and then with one change, it
 * prints the Google and SCIM requests the emulators logged.
 */
import { parseArgs } from "node:util";
import { generateOrg } from "./gen-org.ts";
import { parseScenario, type Scenario } from "../test/emulators/scenario.ts";
import { startWorld, type World } from "../test/support/harness.ts";

const SIZES = { s: { users: 1_000, groups: 100 }, m: { users: 10_000, groups: 1_000 } } as const;
const { values } = parseArgs({ options: { size: { type: "string", default: "m" }, seed: { type: "string", default: "1" } } });
const shape = SIZES[values.size as keyof typeof SIZES] ?? SIZES.m;

/** One targeted run: its exit code and the requests each emulator logged. */
async function measured(world: World, args: string[]): Promise<string> {
  world.emulators.google.log.clear();
  world.emulators.scim.log.clear();
  const run = await world.run(args);
  if (run.code !== 0) throw new Error(`idpscim ${args.join(" ")} exited ${run.code}: ${run.stderr}`);
  const { google, scim } = world.emulators;
  return `google ${google.log.total()} ${JSON.stringify(google.log.counts())}; scim ${scim.log.total()} ${JSON.stringify(scim.log.counts())}`;
}

/** A member of an AWS access group (those nest), and the number of groups listing it directly. */
function sampleUser(scenario: Scenario): { email: string; directGroups: number } {
  const aws = scenario.google.groups.find((g) => g.email.startsWith("aws-") && g.members.some((m) => m.type === "USER"))!;
  const email = aws.members.find((m) => m.type === "USER")!.email!;
  return { email, directGroups: scenario.google.groups.filter((g) => g.members.some((m) => m.email === email)).length };
}

async function main(): Promise<void> {
  const scenario = parseScenario(generateOrg({ ...shape, seed: Number(values.seed) }));
  const world = await startWorld({ scenario });
  try {
    const first = await world.run(["sync"]);
    if (first.code !== 0) throw new Error(`first sync exited ${first.code}: ${first.stderr}`);
    const user = sampleUser(scenario);
    const group = scenario.google.groups.find((g) => g.email.startsWith("aws-"))!;
    process.stdout.write(`organisation: ${scenario.google.users.length} users, ${scenario.google.groups.length} groups; user ${user.email} (listed directly in ${user.directGroups} groups); group ${group.email} (${group.members.length} direct members)\n`);
    process.stdout.write(`sync --user, nothing to change: ${await measured(world, ["sync", "--user", user.email])}\n`);
    const person = scenario.google.users.find((u) => u.primaryEmail === user.email)!;
    person.name = { ...(person.name as object), familyName: "Changed" };
    process.stdout.write(`sync --user, its name changed: ${await measured(world, ["sync", "--user", user.email])}\n`);
    process.stdout.write(`sync --group, nothing to change: ${await measured(world, ["sync", "--group", group.email])}\n`);
  } finally {
    await world.close();
  }
}

await main();
