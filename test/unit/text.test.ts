/** @module Unit tests of `shown()` and the escaping helpers for untrusted text. */
import { describe, expect, test } from "bun:test";
import { escapeControls, safeJson, shown, SHOWN_MAX } from "../../src/core/text.ts";

const ESC = "\x1b";

describe("shown", () => {
  test("a plain value is shown as it is, accents, CJK and emoji included", () => {
    expect(shown("ana.lima@example.com")).toBe("ana.lima@example.com");
    expect(shown("Goran Ivić 김은 🙂")).toBe("Goran Ivić 김은 🙂");
  });

  test("a terminal escape is shown as a visible \\x1b, never as the ESC byte", () => {
    const out = shown(`Ana${ESC}[2J${ESC}]0;title\x07`);
    expect(out).toBe("Ana\\x1b[2J\\x1b]0;title\\x07");
    expect(out).not.toContain(ESC);
  });

  test("newline, carriage return and tab become \\n \\r \\t: a forged log line stays on the line", () => {
    expect(shown("a\n2026-01-01T00:00:00.000Z ERROR forged\rb\tc")).toBe("a\\n2026-01-01T00:00:00.000Z ERROR forged\\rb\\tc");
  });

  test("C1 controls (the one-byte CSI 0x9b), DEL, line separators and bidi overrides are escaped", () => {
    expect(shown("a\u009b2Jb\u007fc")).toBe("a\\x9b2Jb\\x7fc");
    expect(shown("a\u2028b\u2029c")).toBe("a\\u2028b\\u2029c");
    expect(shown("admin\u202Egpj.exe")).toBe("admin\\u202egpj.exe");
  });

  test(`a long value is cut to ${SHOWN_MAX} characters followed by its whole length`, () => {
    const out = shown("x".repeat(10_000));
    expect(out).toBe(`${"x".repeat(SHOWN_MAX)}…(10000 chars)`);
    expect(shown("y".repeat(SHOWN_MAX))).toBe("y".repeat(SHOWN_MAX));
  });

  test("the cut counts code points, so an emoji is never split", () => {
    const out = shown("🙂".repeat(100));
    expect(out).toBe(`${"🙂".repeat(SHOWN_MAX)}…(100 chars)`);
  });

  test("non-strings: numbers and booleans as text, objects as JSON, nothing as empty", () => {
    expect(shown(3)).toBe("3");
    expect(shown(false)).toBe("false");
    expect(shown({ a: "b\u009b" })).toBe('{"a":"b\\x9b"}');
    expect(shown(undefined)).toBe("");
    expect(shown(null)).toBe("");
  });

  test("showing a shown value again changes nothing", () => {
    const once = shown(`x${ESC}[31m\ny`);
    expect(shown(once)).toBe(once);
  });
});

describe("escapeControls", () => {
  test("escapes without shortening, and keeps the characters asked for", () => {
    const long = `${"n".repeat(500)}${ESC}`;
    expect(escapeControls(long)).toBe(`${"n".repeat(500)}\\x1b`);
    expect(escapeControls(`a\nb${ESC}`, "\n")).toBe("a\nb\\x1b");
  });
});

describe("safeJson", () => {
  test("escapes what JSON.stringify leaves raw, and parses back to the same value", () => {
    const value = { name: "a\u009b2J\u2028b\u202Ec", esc: `${ESC}[2J` };
    const raw = JSON.stringify(value, null, 2);
    expect(raw).toContain("\u009b"); // what this guards against
    const safe = safeJson(raw);
    expect(safe).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202e]/u);
    expect(JSON.parse(safe)).toEqual(value);
    expect(safe.split("\n")).toHaveLength(raw.split("\n").length);
  });
});
