/**
 * @module The repository stands alone: no file reads or cites anything outside it. A plain clone
 * must run its demo and tests, so no text file may name the developers' sibling folder of notes,
 * this machine's working directories, or a protocol note by a name that resolves to no file here
 * (the notes live in docs/, the scenario format in test/scenarios/FORMAT.md).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { ROOT } from "../support/paths.ts";

/** Notes a comment may cite only by a path that resolves to a file of this repository. */
const NOTE_NAMES = ["aws-scim", "google-directory", "lambda-runtime", "runtimes", "FORMAT"];

/**
 * References that can only point outside the repository, wherever they appear. The patterns are
 * spelt with escapes so that this file does not match them itself.
 */
const OUTSIDE: { what: string; pattern: RegExp; code?: boolean }[] = [
  { what: "the sibling folder of shared notes", pattern: new RegExp(String.raw`\.\.\/shared\b`) },
  { what: "the shared notes' reference or scenario folder", pattern: new RegExp(String.raw`\bshared\/(?:reference|scenarios)\b`) },
  { what: "a machine's working directory", pattern: new RegExp(String.raw`(?:^|[^\w.:-])\/work\/`) },
  // In code only: docs may show example commands with such paths; code must use os.tmpdir(), ROOT…
  { what: "an absolute path of this machine", pattern: new RegExp(String.raw`["'\x60]\/(?:home|root|tmp)\/`), code: true },
];
const CODE = /\.(?:ts|js|mjs|sh|tf|toml|json)$|(?:^|\/)\.ci\/run$/;
const NOTE = new RegExp(String.raw`[\w./-]*\b(?:${NOTE_NAMES.join("|")})\.md\b`, "g");

interface Finding {
  file: string;
  line: number;
  what: string;
  text: string;
}

function trackedFiles(): string[] {
  const git = Bun.spawnSync(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: ROOT });
  if (git.exitCode !== 0) throw new Error(`git ls-files failed in ${ROOT}: ${git.stderr.toString()} (this test needs a git checkout)`);
  return git.stdout.toString().split("\0").filter((f) => f !== "");
}

function textOf(file: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(posix.join(ROOT, file));
  } catch {
    return undefined; // listed by git but deleted in the working tree
  }
  return bytes.includes(0) ? undefined : bytes.toString("utf8");
}

/** Does a note citation such as `docs/aws-scim.md` or `../../docs/aws-scim.md` name a file here? */
function resolvesHere(token: string, file: string, files: Set<string>, before: string): boolean {
  if (/https?:$/.test(before) && token.startsWith("//")) return true; // a public URL
  if (token.startsWith("/")) return false;
  const candidates = [posix.normalize(posix.join(posix.dirname(file), token)), posix.normalize(token)];
  return candidates.some((c) => files.has(c));
}

function findings(): Finding[] {
  const files = trackedFiles();
  const known = new Set(files);
  const found: Finding[] = [];
  for (const file of files) {
    const text = textOf(file);
    if (text === undefined) continue;
    text.split("\n").forEach((lineText, index) => {
      const at = (what: string) => found.push({ file, line: index + 1, what, text: lineText.trim() });
      for (const { what, pattern, code } of OUTSIDE) {
        if ((!code || CODE.test(file)) && pattern.test(lineText)) at(what);
      }
      for (const match of lineText.matchAll(NOTE)) {
        const token = match[0];
        if (!NOTE_NAMES.includes(posix.basename(token, ".md"))) continue; // e.g. my-runtimes.md
        if (!resolvesHere(token, file, known, lineText.slice(0, match.index))) at(`cites ${token}, which is no file of this repository`);
      }
    });
  }
  return found;
}

const show = (list: Finding[]) => list.map((f) => `${f.file}:${f.line}: ${f.what}\n    ${f.text}`).join("\n");

describe("the repository stands alone", () => {
  test("no tracked file reads or cites anything outside the repository", () => {
    expect(show(findings())).toBe("");
  });

  test("the checks catch what they are for", () => {
    const hits = (line: string, file = "x.ts") =>
      OUTSIDE.filter(({ pattern, code }) => (!code || CODE.test(file)) && pattern.test(line)).length +
      [...line.matchAll(NOTE)].filter((m) => !resolvesHere(m[0], file, new Set(["docs/aws-scim.md", "test/scenarios/FORMAT.md"]), line.slice(0, m.index))).length;
    const parentShared = ["..", "shared", "scenarios", "example-small.json"].join("/");
    expect(hits(`resolve(ROOT, "${parentShared}")`)).toBeGreaterThan(0);
    expect(hits(`const CAPTURES = "${["", "work", "shared", "reference", "aws-captures"].join("/")}";`)).toBeGreaterThan(0);
    expect(hits(`readFileSync("${["", "home", "me", "key.json"].join("/")}")`)).toBe(1);
    expect(hits(`// AWS sends no Retry-After (${NOTE_NAMES[0]}.md §9)`)).toBe(1);
    expect(hits(`// see ${NOTE_NAMES[4]}.md`, "test/emulators/x.ts")).toBe(1);
    // Legitimate: citations into the repository, public URLs, example commands in prose, SCIM paths.
    expect(hits(`// AWS sends no Retry-After (docs/${NOTE_NAMES[0]}.md §9)`)).toBe(0);
    expect(hits(`[notes](../../docs/${NOTE_NAMES[0]}.md)`, "test/fixtures/README.md")).toBe(0);
    expect(hits(`see ${NOTE_NAMES[4]}.md`, "test/scenarios/README.md")).toBe(0);
    expect(hits(`https://github.com/o/r/blob/main/${NOTE_NAMES[4]}.md`)).toBe(0);
    expect(hits(` * bun run release -- --outdir ${["", "tmp", "rel"].join("/")}`)).toBe(0);
    expect(hits(`call(e, "GET", "/Users/u1"); mkdtempSync(join(tmpdir(), "x-"))`)).toBe(0);
  });
});
