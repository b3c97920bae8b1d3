/**
 * @module Writes test/terraform/provider-facts.json: for each resource and data-source type the
 * Terraform module and its examples use, the argument and nested block names (with nesting) the
 * provider's schema has. Read from the provider bindings generated from that schema and published
 * on npm (@cdktf/provider-aws, @cdktf/provider-external): each binding's synthesizeHclAttributes
 * and <Struct>ToHclTerraform functions list every configurable argument with `isBlock`. Computed-only
 * attributes are not there, so they count as unknown arguments (they cannot be set either).
 *
 * The packages are fetched on demand with `npm pack` (cached in the OS temp dir) rather than
 * installed: @cdktf/provider-aws is a 37 MB tarball (hundreds of MB unpacked) needed only to
 * regenerate this small file, never by the tests.
 *
 * @example
 *   bun run scripts/tf-provider-facts.ts          # rewrite the fact file
 *   bun run scripts/tf-provider-facts.ts --check  # exit 1 if it is stale (needs the npm registry)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseTerraformDir } from "./tf-docs.ts";

const ROOT = resolve(import.meta.dir, "..");
export const FACTS_FILE = join(ROOT, "test/terraform/provider-facts.json");
const ROOTS = ["terraform", "terraform/examples/basic", "terraform/examples/complete", "terraform/examples/ldap"];

/** Provider name (the type's prefix) → the npm package of its bindings; 21.22.1 is hashicorp/aws 6.25.0. */
export const PACKAGES: Record<string, string> = {
  aws: "@cdktf/provider-aws@21.22.1",
  external: "@cdktf/provider-external@11.0.1",
};

export interface BlockSchema {
  arguments: string[];
  blocks: Record<string, BlockSchema>;
}

export interface ProviderFacts {
  generatedBy: string;
  providers: Record<string, { source: string; version: string; package: string }>;
  resource: Record<string, BlockSchema>;
  data: Record<string, BlockSchema>;
}

/** aws_s3_bucket → s3-bucket; data aws_partition → data-aws-partition; data external → data-external. */
function bindingDir(kind: "resource" | "data", type: string, provider: string): string {
  const kebab = (text: string) => text.replaceAll("_", "-");
  if (kind === "data") return `data-${kebab(type)}`;
  return kebab(type === provider ? type : type.slice(provider.length + 1));
}

function providerOf(type: string): string {
  const provider = Object.keys(PACKAGES).find((name) => type === name || type.startsWith(`${name}_`));
  if (!provider) throw new Error(`${type}: no bindings package known for its provider (add it to PACKAGES)`);
  return provider;
}

function run(argv: string[], cwd: string): string {
  const result = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (exit ${result.exitCode}): ${result.stderr.toString()}`);
  return result.stdout.toString();
}

/** The package's tarball, downloaded once with npm pack. */
function tarball(spec: string): string {
  const cache = join(tmpdir(), "idpscim-provider-facts");
  mkdirSync(cache, { recursive: true });
  const name = `${spec.replace(/^@/, "").replace("/", "-").replace(/@([^@]+)$/, "-$1")}.tgz`;
  const file = join(cache, name);
  if (!existsSync(file)) run(["npm", "pack", spec, "--silent", "--pack-destination", cache], cache);
  if (!existsSync(file)) throw new Error(`npm pack ${spec} did not write ${file}`);
  return file;
}

/** Extracts package.json and the given binding directories; returns the package's root. */
function extract(spec: string, dirs: string[]): string {
  const target = join(tmpdir(), "idpscim-provider-facts", spec.replace(/[@/]/g, "_"));
  mkdirSync(target, { recursive: true });
  run(["tar", "-xzf", tarball(spec), "-C", target, "package/package.json", ...dirs.map((dir) => `package/lib/${dir}/index.js`)], target);
  return join(target, "package");
}

/** The body of `function NAME(struct) {` or of the class method `synthesizeHclAttributes() {`, up to its closing brace at the same indent. */
function bodyOf(source: string, header: RegExp): string | undefined {
  const match = header.exec(source);
  if (!match) return undefined;
  const indent = /^[ ]*/.exec(source.slice(source.lastIndexOf("\n", match.index) + 1))![0];
  const end = source.indexOf(`\n${indent}}`, match.index);
  return source.slice(match.index, end);
}

/** Arguments and blocks of one `const attrs = { name: { value, isBlock, ... }, ... }`, nested blocks resolved. */
function schemaOf(source: string, body: string, seen: Set<string> = new Set()): BlockSchema {
  const schema: BlockSchema = { arguments: [], blocks: {} };
  for (const [, name, value, isBlock] of body.matchAll(/^\s+([a-z0-9_]+): \{\n\s+value: (.+),\n\s+isBlock: (true|false),/gm)) {
    if (isBlock === "false") {
      schema.arguments.push(name!);
      continue;
    }
    const mapper = /(\w+ToHclTerraform)\b/.exec(value!)?.[1];
    if (!mapper) throw new Error(`block ${name}: no mapper function in ${value}`);
    if (seen.has(mapper)) {
      schema.blocks[name!] = { arguments: [], blocks: {} };
      continue;
    }
    const inner = bodyOf(source, new RegExp(`^function ${mapper}\\(struct\\) \\{`, "m"));
    if (!inner) throw new Error(`block ${name}: function ${mapper} not found`);
    schema.blocks[name!] = schemaOf(source, inner, new Set([...seen, mapper]));
  }
  schema.arguments.sort();
  schema.blocks = Object.fromEntries(Object.entries(schema.blocks).sort(([a], [b]) => a.localeCompare(b)));
  return schema;
}

export function schemaFromBinding(source: string, type: string): BlockSchema {
  const declared = /\.tfResourceType = "([^"]+)";/.exec(source)?.[1];
  if (declared !== type) throw new Error(`binding declares ${declared}, expected ${type}`);
  const body = bodyOf(source, /^ {4}synthesizeHclAttributes\(\) \{/m);
  if (!body) throw new Error(`${type}: no synthesizeHclAttributes`);
  return schemaOf(source, body);
}

/** The resource and data-source types of the module and its examples. */
export async function usedTypes(): Promise<{ resource: string[]; data: string[] }> {
  const resource = new Set<string>();
  const data = new Set<string>();
  for (const dir of ROOTS) {
    const root = await parseTerraformDir(join(ROOT, dir));
    for (const type of Object.keys(root.resource)) resource.add(type);
    for (const type of Object.keys(root.data)) data.add(type);
  }
  return { resource: [...resource].sort(), data: [...data].sort() };
}

export async function generateFacts(): Promise<ProviderFacts> {
  const types = await usedTypes();
  const facts: ProviderFacts = { generatedBy: "bun run scripts/tf-provider-facts.ts", providers: {}, resource: {}, data: {} };
  const wanted = [...types.resource.map((type) => ({ kind: "resource" as const, type })), ...types.data.map((type) => ({ kind: "data" as const, type }))];
  for (const provider of new Set(wanted.map(({ type }) => providerOf(type)))) {
    const mine = wanted.filter(({ type }) => providerOf(type) === provider).map((w) => ({ ...w, dir: bindingDir(w.kind, w.type, provider) }));
    const spec = PACKAGES[provider]!;
    const root = extract(
      spec,
      mine.map((m) => m.dir),
    );
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { cdktf?: { provider?: { name: string; version: string } } };
    const source = pkg.cdktf?.provider;
    if (!source) throw new Error(`${spec}: package.json has no cdktf.provider`);
    facts.providers[provider] = { source: source.name, version: source.version, package: spec };
    for (const { kind, type, dir } of mine) facts[kind][type] = schemaFromBinding(readFileSync(join(root, "lib", dir, "index.js"), "utf8"), type);
  }
  return facts;
}

export function renderFacts(facts: ProviderFacts): string {
  return `${JSON.stringify(facts, null, 2)}\n`;
}

if (import.meta.main) {
  const next = renderFacts(await generateFacts());
  if (process.argv.includes("--check")) {
    const current = existsSync(FACTS_FILE) ? readFileSync(FACTS_FILE, "utf8") : "";
    if (current !== next) {
      console.error(`${FACTS_FILE} is stale: run \`bun run scripts/tf-provider-facts.ts\``);
      process.exit(1);
    }
  } else {
    writeFileSync(FACTS_FILE, next);
    console.error(`wrote ${FACTS_FILE}`);
  }
}
