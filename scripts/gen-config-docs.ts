/** @module Writes config.example.toml and the README option table from src/config/schema.ts; `--check` exits 1 if either is stale. */

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderExampleToml, replaceConfigTable } from "../src/config/docs.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const check = process.argv.includes("--check");

const targets: { path: string; next: (current: string | undefined) => string | undefined }[] = [
  { path: `${root}config.example.toml`, next: () => renderExampleToml() },
  // README.md belongs to everyone: only the span between the markers is ours, and no markers means no table.
  { path: `${root}README.md`, next: (current) => (current === undefined ? undefined : replaceConfigTable(current)) },
];

const stale: string[] = [];
for (const target of targets) {
  const current = existsSync(target.path) ? readFileSync(target.path, "utf8") : undefined;
  const next = target.next(current);
  if (next === undefined || next === current) continue;
  if (check) stale.push(target.path);
  else {
    writeFileSync(target.path, next);
    console.error(`wrote ${target.path}`);
  }
}

if (stale.length > 0) {
  console.error(`stale, run \`bun run scripts/gen-config-docs.ts\`:\n${stale.map((p) => `  ${p}`).join("\n")}`);
  process.exit(1);
}
