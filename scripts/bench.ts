/**
 * @module `bun run scripts/bench.ts [--users N --groups G --seed S]`: measures the real CLI
 * against the emulators on a generated organisation: request counts (stable, the figures to
 * compare) and wall times (reported as rates and ratios, never asserted). Runs: plan, first sync,
 * no-change sync, sync after 1% of users changed, and a full reconcile.
 */
import { parseArgs } from "node:util";
import { generateOrg } from "./gen-org.ts";
import { parseScenario } from "../test/emulators/scenario.ts";
import { startWorld } from "../test/support/harness.ts";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "2000" },
    groups: { type: "string", default: "200" },
    seed: { type: "string", default: "1" },
  },
});
const users = Number(values.users);
const groups = Number(values.groups);
const scenario = parseScenario(generateOrg({ users, groups, seed: Number(values.seed) }));
const world = await startWorld({ scenario });
// The harness config sets aws.scim_rate_limit = 1000 so the emulator, not the pacing, is measured.

interface Row {
  run: string;
  seconds: number;
  scim: number;
  scimWrites: number;
  google: number;
  exit: number;
}
const rows: Row[] = [];
const measure = async (label: string, args: string[]) => {
  world.emulators.scim.log.clear();
  world.emulators.google.log.clear();
  const started = performance.now();
  const result = await world.run(args);
  const seconds = (performance.now() - started) / 1000;
  rows.push({
    run: label,
    seconds,
    scim: world.emulators.scim.log.total(),
    scimWrites: world.emulators.scim.log.writes(),
    google: world.emulators.google.log.total(),
    exit: result.code,
  });
  if (result.code !== 0) process.stderr.write(result.stderr);
};

try {
  await measure("plan (first run)", ["plan"]);
  await measure("first sync", ["sync"]);
  await measure("no-change sync", ["sync"]);
  const changed = scenario.google.users.slice(0, Math.max(1, Math.floor(users / 100)));
  for (const u of changed) u.name = { ...u.name, fullName: `${u.name?.fullName ?? ""} (renamed)` };
  await measure(`sync after ${changed.length} users changed`, ["sync"]);
  await measure("full reconcile (no drift)", ["sync", "--reconcile"]);
} finally {
  await world.close();
}

const snapshotUsers = scenario.google.users.length;
const memberships = scenario.google.groups.reduce((n, g) => n + g.members.length, 0);
process.stdout.write(`organisation: ${snapshotUsers} users, ${scenario.google.groups.length} groups, ${memberships} direct memberships (seed ${values.seed})\n\n`);
process.stdout.write(`| run | SCIM requests | SCIM writes | Google requests | time vs first sync | exit |\n|---|---|---|---|---|---|\n`);
const first = rows.find((r) => r.run === "first sync")?.seconds ?? 1;
for (const r of rows) {
  process.stdout.write(`| ${r.run} | ${r.scim} | ${r.scimWrites} | ${r.google} | ${(r.seconds / first).toFixed(2)}× | ${r.exit} |\n`);
}
const firstRow = rows.find((r) => r.run === "first sync");
if (firstRow) {
  process.stdout.write(`\nfirst sync: ${(firstRow.scim / firstRow.seconds).toFixed(0)} SCIM requests/s against an unthrottled emulator; ` +
    `at AWS's published 25 requests/s it would take about ${Math.ceil(firstRow.scim / 25)} s.\n`);
  process.stdout.write(`a tool that sends one request per user per run (ssosync) sends ≥ ${snapshotUsers} SCIM requests on every run; the no-change run here sends ${rows.find((r) => r.run === "no-change sync")?.scim ?? "?"}.\n`);
}
