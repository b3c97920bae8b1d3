/** @module Partial-response `fields` selectors (docs/google-directory.md §4): parsing, validation and projection. */
import { GoogleApiError } from "./errors.ts";

/** A parsed selection: field name → sub-selection, or `null` for "the whole value". */
export type Selection = Map<string, Selection | null>;

const invalidSelection = (what: string) =>
  new GoogleApiError(400, "invalidParameter", `Invalid field selection ${what}`, "global", {
    location: "fields",
    locationType: "parameter",
  });

/**
 * Parses `a,b(c,d/e),f/g,*`. Grammar: list := item (',' item)*; item := path ['(' list ')'];
 * path := name ('/' name)*. Unbalanced parentheses or empty names → 400 invalidParameter.
 */
export function parseFields(text: string): Selection {
  let pos = 0;
  const readName = (): string => {
    const start = pos;
    while (pos < text.length && /[A-Za-z0-9_*$.-]/.test(text[pos]!)) pos++;
    const name = text.slice(start, pos);
    if (name === "") throw invalidSelection(text);
    return name;
  };
  const parseList = (depth: number): Selection => {
    const sel: Selection = new Map();
    for (;;) {
      const path = [readName()];
      while (text[pos] === "/") {
        pos++;
        path.push(readName());
      }
      let sub: Selection | null = null;
      if (text[pos] === "(") {
        pos++;
        sub = parseList(depth + 1);
        if (text[pos] !== ")") throw invalidSelection(text);
        pos++;
      }
      insertPath(sel, path, sub);
      if (text[pos] === ",") {
        pos++;
        continue;
      }
      if (pos === text.length && depth === 0) return sel;
      if (text[pos] === ")" && depth > 0) return sel;
      throw invalidSelection(text);
    }
  };
  return parseList(0);
}

function insertPath(sel: Selection, path: string[], leaf: Selection | null): void {
  const [head, ...rest] = path as [string, ...string[]];
  const value = rest.length === 0 ? leaf : (() => {
    const inner: Selection = new Map();
    insertPath(inner, rest, leaf);
    return inner;
  })();
  if (!sel.has(head)) {
    sel.set(head, value);
    return;
  }
  const existing = sel.get(head) ?? null;
  if (existing === null || value === null) {
    sel.set(head, null); // "whole value" absorbs any narrower selection
    return;
  }
  for (const [k, v] of value) insertPath(existing, [k], v);
}

/** Rejects top-level names the method's response does not have (§4: invalid selector → 400). */
export function validateTopLevel(sel: Selection, allowed: readonly string[]): void {
  for (const name of sel.keys()) {
    if (name !== "*" && !allowed.includes(name)) throw invalidSelection(name);
  }
}

/** Projects `value` onto `sel`, keeping the response's own key order. */
export function applyFields(value: unknown, sel: Selection | null): unknown {
  if (sel === null) return value;
  if (Array.isArray(value)) return value.map((item) => applyFields(item, sel));
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  const star = sel.has("*");
  for (const [key, v] of Object.entries(value)) {
    if (sel.has(key)) out[key] = applyFields(v, sel.get(key) ?? null);
    else if (star) out[key] = applyFields(v, sel.get("*") ?? null);
  }
  return out;
}
