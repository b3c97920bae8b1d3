/**
 * @module `bun run scripts/bench-resume.ts [--users 20000 --groups 1000 --rps 200 --budget 60s]`:
 * a first sync of a large organisation into a throttled tenant, run as a scheduler would run it:
 * each run gets `--max-duration`, stops in time, saves, and the next run continues. Reports the
 * runs it took, requests per run, and that the tenant ends complete with no duplicate.
 */
import { parseArgs } from "node:util";
import { generateOrg } from "./gen-org.ts";
import { parseScenario } from "../test/emulators/scenario.ts";
import { startWorld } from "../test/support/harness.ts";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "20000" },
    groups: { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    rps: { type: "string", default: "200" },
    budget: { type: "string", default: "60s" },
  },
});
const rps = Number(values.rps);
const scenario = parseScenario(generateOrg({ users: Number(values.users), groups: Number(values.groups), seed: Number(values.seed) }));
// The tenant throttles at `rps` (429 above it); the client is told the same limit, as an
// administrator would configure aws.scim_rate_limit and aws.scim_read_rate_limit, and adapts when it meets 429s anyway.
const world = await startWorld({ scenario, scim: { rateLimit: { readsPerSecond: rps, writesPerSecond: rps } } });
world.writeConfig(`[sync]\nmax_deletes = "25%"\n`);
const rows: string[] = [];
let runs = 0;
const started = performance.now();
try {
  for (;;) {
    runs++;
    world.emulators.scim.log.clear();
    const t = performance.now();
    const result = await world.run(["sync", "--max-duration", values.budget!, "--aws-scim-rate-limit", String(rps), "--aws-scim-read-rate-limit", String(rps)]);
    const seconds = (performance.now() - t) / 1000;
    const log = world.emulators.scim.log;
    const throttled = log.total((e) => e.status === 429);
    const notStarted = /not started (\d+)/.exec(result.stderr)?.[1] ?? "0";
    rows.push(`| ${runs} | ${result.code} | ${log.total()} | ${log.writes()} | ${throttled} | ${notStarted} | ${seconds.toFixed(0)} s |`);
    if (result.code !== 0) process.stderr.write(result.stderr.slice(-2000));
    if (notStarted === "0" || runs >= 30 || result.code !== 0) break;
  }
  const snap = world.emulators.scim.snapshot();
  const names = snap.users.map((u) => String(u.userName).toLowerCase());
  process.stdout.write(`organisation: ${scenario.google.users.length} users, ${scenario.google.groups.length} groups; tenant limit ${rps} requests/s; budget ${values.budget} per run\n\n`);
  process.stdout.write(`| run | exit | SCIM requests | writes | 429s | not started | wall |\n|---|---|---|---|---|---|---|\n${rows.join("\n")}\n\n`);
  process.stdout.write(`after ${runs} runs (${((performance.now() - started) / 1000).toFixed(0)} s): ${snap.users.length} users (${new Set(names).size} distinct), ${snap.groups.length} groups in the tenant\n`);
} finally {
  await world.close();
}
