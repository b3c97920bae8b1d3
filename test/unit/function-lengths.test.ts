/**
 * @module No function in src/ spans more than 100 lines (issue #9; STYLE.md "Functions you read at
 * once"). The span counts from a function's first line to its last, so a factory whose methods are
 * closures counts whole: move its helpers to module level, or split the module.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { functionLengths, functionLengthsIn, longerThan } from "../../scripts/function-lengths.ts";
import { ROOT } from "../support/paths.ts";

const MAX_SPAN = 100;

/** A function named `name` spanning exactly `lines` lines, its body `inner` (the rest padded with statements). */
function synthetic(name: string, lines: number, inner: string[] = []): string[] {
  const padding = Array.from({ length: lines - 2 - inner.length }, (_, i) => `  const v${i} = ${i};`);
  return [`export function ${name}() {`, ...inner, ...padding, "}"];
}

describe("function lengths", () => {
  test(`no function in src/ spans more than ${MAX_SPAN} lines`, () => {
    const all = functionLengths(join(ROOT, "src"), ROOT);
    expect(all.length).toBeGreaterThan(100); // the walk found the sources
    const over = longerThan(all, MAX_SPAN).map((f) => `${f.file}:${f.line} ${f.name} spans ${f.lines} lines (${f.own} of its own)`);
    expect(over).toEqual([]);
  });

  test("the measure catches a 101-line function and lets a 100-line one pass", () => {
    const source = [...synthetic("justRight", 100), ...synthetic("tooLong", 101)].join("\n");
    const all = functionLengthsIn(source, "synthetic.ts");
    expect(all.map((f) => [f.name, f.line, f.lines, f.own])).toEqual([
      ["justRight", 1, 100, 100],
      ["tooLong", 101, 101, 101],
    ]);
    expect(longerThan(all, MAX_SPAN).map((f) => f.name)).toEqual(["tooLong"]);
  });

  test("a factory of short closures is caught by its span, whatever its own lines", () => {
    const method = ["  const method = () => {", ...Array.from({ length: 96 }, (_, i) => `    const w${i} = ${i};`), "  };"];
    const source = synthetic("createThing", 101, method).join("\n");
    const factory = functionLengthsIn(source, "synthetic.ts").find((f) => f.name === "createThing")!;
    expect(factory).toMatchObject({ lines: 101, own: 3 });
    expect(longerThan([factory], MAX_SPAN)).toEqual([factory]);
  });
});
