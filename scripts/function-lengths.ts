/**
 * @module `bun run scripts/function-lengths.ts [--top N] [--max L] [DIR]`: the longest functions in
 * DIR (default src/), by their own lines and by their span, found with Babel's parser (TypeScript 7's
 * npm package has no JavaScript API). With --max, exits 1 when one spans more than L lines from its
 * first line to its last: a factory whose methods are closures counts whole, however short its own part.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { parse } from "@babel/parser";

export interface FunctionLength {
  file: string;
  name: string;
  line: number;
  /** From its first line to its last (its span). */
  lines: number;
  /** Without the functions written inside it (a factory's methods count on their own). */
  own: number;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

type Node = { type: string; loc?: { start: { line: number }; end: { line: number } }; [key: string]: unknown };

const FUNCTIONS = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression", "ObjectMethod", "ClassMethod", "ClassPrivateMethod"]);

function nameOf(node: Node, parent: Node | undefined): string {
  const key = (node.id ?? node.key) as { name?: string } | undefined;
  if (key?.name) return key.name;
  const parentKey = (parent?.id ?? parent?.key) as { name?: string } | undefined;
  return parentKey?.name ?? "(anonymous)";
}

/** Every function, method, arrow function and function expression in one file's TypeScript `source`, named by `file`. */
export function functionLengthsIn(source: string, file: string): FunctionLength[] {
  const out: FunctionLength[] = [];
  const ast = parse(source, { sourceType: "module", plugins: ["typescript"] }) as unknown as Node;
  // Returns the lines of the outermost functions inside `node`, so each function can subtract them.
  const visit = (node: Node, parent: Node | undefined): number => {
    let inner = 0;
    for (const value of Object.values(node)) {
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child === "object" && typeof (child as Node).type === "string") inner += visit(child as Node, node);
      }
    }
    if (!FUNCTIONS.has(node.type) || !node.loc) return inner;
    const lines = node.loc.end.line - node.loc.start.line + 1;
    out.push({ file, name: nameOf(node, parent), line: node.loc.start.line, lines, own: lines - inner });
    return lines;
  };
  visit(ast, undefined);
  return out;
}

/** Every function in the TypeScript files under `dir`, longest own part first. */
export function functionLengths(dir: string, root = dir): FunctionLength[] {
  return filesUnder(dir)
    .flatMap((file) => functionLengthsIn(readFileSync(file, "utf8"), relative(root, file)))
    .sort((a, b) => b.own - a.own || b.lines - a.lines);
}

/** The functions spanning more than `max` lines (their own lines are never more than their span). */
export function longerThan(all: FunctionLength[], max: number): FunctionLength[] {
  return all.filter((f) => f.lines > max).sort((a, b) => b.lines - a.lines);
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ options: { top: { type: "string", default: "10" }, max: { type: "string" } }, allowPositionals: true });
  const dir = positionals[0] ?? "src";
  const all = functionLengths(dir, ".");
  if (Number(values.top) > 0) console.log(" own  span  function");
  for (const f of all.slice(0, Number(values.top))) console.log(`${String(f.own).padStart(4)}  ${String(f.lines).padStart(4)}  ${f.file}:${f.line}  ${f.name}`);
  if (values.max !== undefined) {
    const over = longerThan(all, Number(values.max));
    if (over.length > 0) {
      for (const f of over) console.error(`${f.file}:${f.line}  ${f.name} spans ${f.lines} lines (${f.own} of its own)`);
      console.error(`${over.length} function(s) span more than ${values.max} lines: move their inner functions to module level or split the module`);
      process.exit(1);
    }
  }
}
