/**
 * @module `bun run scripts/bench-emulators.ts [--users N --groups G --seed S]`: wall-clock figures
 * for the emulators at scale (issue #11): generating and loading an organisation, starting the
 * Google emulator, and one full Google read by the real source adapter. Reported, never asserted.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createGoogleDirectorySource } from "../src/adapters/google/directory-source.ts";
import { startGoogleEmulator } from "../test/emulators/google/server.ts";
import { parseScenario } from "../test/emulators/scenario.ts";
import { generateOrg } from "./gen-org.ts";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "20000" },
    groups: { type: "string", default: "1000" },
    seed: { type: "string", default: "7" },
  },
});
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(2);

let t = performance.now();
const raw = generateOrg({ users: Number(values.users), groups: Number(values.groups), seed: Number(values.seed) });
const text = JSON.stringify(raw);
process.stdout.write(`generate: ${seconds(t)} s (${(text.length / 1e6).toFixed(0)} MB of JSON)\n`);
t = performance.now();
const scenario = parseScenario(JSON.parse(text));
const memberships = scenario.google.groups.reduce((n, g) => n + g.members.length, 0);
process.stdout.write(`load (parse + validate): ${seconds(t)} s: ${scenario.google.users.length} users, ${scenario.google.groups.length} groups, ${memberships} direct memberships\n`);
t = performance.now();
const google = await startGoogleEmulator({ scenario, directory: mkdtempSync(join(tmpdir(), "bench-emulators-")) });
process.stdout.write(`start the Google emulator: ${seconds(t)} s\n`);
try {
  const source = createGoogleDirectorySource({
    serviceAccountKey: JSON.stringify(google.serviceAccountKey),
    adminEmail: google.adminEmail,
    groupsFilter: [],
    userFields: new Set(),
    apiUrl: google.url,
    tokenUrl: google.tokenUrl,
  });
  t = performance.now();
  const snapshot = await source.read();
  const cpu = process.cpuUsage();
  process.stdout.write(
    `full Google read: ${seconds(t)} s, ${google.log.total()} requests, ${snapshot.users.length} users, ${snapshot.groups.length} groups ` +
      `(process CPU so far ${(cpu.user / 1e6).toFixed(1)} s user)\n`,
  );
} finally {
  await google.close();
}
