/**
 * @module `bun run scripts/bench-pacing.ts [--users N --groups G --seed S --reads R --writes W]`:
 * the SCIM request rate of a full reconcile (`sync --reconcile`) against an emulator throttled as
 * AWS throttles (default 40 reads/s, 25 writes/s, docs/aws-scim.md §9), with the product's default
 * pacing. The first sync runs unthrottled to fill the tenant; only the reconcile is measured, from
 * the emulator's request log (timestamps): reads/s over the whole read window and after its first
 * 10 s (the pacer starts at 80% of the limit and grows), and the 429s.
 */
import { parseArgs } from "node:util";
import { generateOrg } from "./gen-org.ts";
import { parseScenario } from "../test/emulators/scenario.ts";
import type { LoggedRequest } from "../test/emulators/request-log.ts";
import { startWorld } from "../test/support/harness.ts";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "5000" },
    groups: { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    reads: { type: "string", default: "40" },
    writes: { type: "string", default: "25" },
  },
});
const scenario = parseScenario(generateOrg({ users: Number(values.users), groups: Number(values.groups), seed: Number(values.seed) }));
const world = await startWorld({ scenario });
const isRead = (e: LoggedRequest) => e.method === "GET" || e.method === "HEAD";

/** Requests per second of `entries` between `from` and their last timestamp (ms). */
const rate = (entries: LoggedRequest[], from: number) => {
  const inWindow = entries.filter((e) => e.at >= from);
  const last = inWindow.at(-1)?.at ?? from;
  return last > from ? (inWindow.length - 1) / ((last - from) / 1000) : Number.NaN;
};

try {
  const first = await world.run(["sync"]);
  if (first.code !== 0) throw new Error(`first sync exited ${first.code}: ${first.stderr}`);
  world.emulators.scim.rateLimit = { readsPerSecond: Number(values.reads), writesPerSecond: Number(values.writes) };
  world.emulators.scim.log.clear();
  // The harness config raises aws.scim_rate_limit to 1000 for fast tests: put the defaults back.
  const result = await world.run(["sync", "--reconcile", "--aws-scim-rate-limit", values.writes, "--aws-scim-read-rate-limit", values.reads]);
  if (result.code !== 0) throw new Error(`reconcile exited ${result.code}: ${result.stderr}`);
  const reads = world.emulators.scim.log.entries.filter(isRead);
  const start = reads[0]?.at ?? 0;
  const throttled = world.emulators.scim.log.total((e) => e.status === 429);
  process.stdout.write(
    `organisation: ${scenario.google.users.length} users, ${scenario.google.groups.length} groups; emulator at ${values.reads} reads/s, ${values.writes} writes/s\n` +
      `reconcile: ${reads.length} reads, ${world.emulators.scim.log.writes()} writes, ${throttled} answered 429, reads over ${((reads.at(-1)!.at - start) / 1000).toFixed(1)} s\n` +
      `reads/s: ${rate(reads, start).toFixed(1)} over the read window, ${rate(reads, start + 10_000).toFixed(1)} after its first 10 s ` +
      `(${((rate(reads, start + 10_000) / Number(values.reads)) * 100).toFixed(0)}% of the limit)\n` +
      `${/summary: .*/.exec(result.stderr)?.[0] ?? "(no summary line)"}\n`,
  );
} finally {
  await world.close();
}
