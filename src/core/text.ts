/**
 * @module Untrusted text made safe to print. Names, emails and error details come from Google and
 * AWS: a terminal escape (ESC [ 2J), a carriage return or a newline in one would repaint the
 * terminal or forge a log line. Every such value goes through `shown()` before it is printed.
 */

/** How many characters of a value a message shows (the rest is counted, not printed). */
export const SHOWN_MAX = 80;

/*
 * What is escaped: C0 and C1 controls and DEL (ESC starts every terminal sequence; 0x9B is the
 * one-byte CSI of 8-bit terminals), the line and paragraph separators (line breaks for some
 * viewers and for JavaScript), and the bidirectional overrides and isolates that reorder what a
 * terminal shows ("Trojan Source", https://trojansource.codes/).
 */
const UNSAFE = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, "gu");
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** The visible form of one unsafe character: `\n`, `\x1b`, `\u2028`. */
export function escapeChar(char: string): string {
  const named = NAMED[char];
  if (named !== undefined) return named;
  const code = char.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** `text` with every unsafe character escaped, and nothing shortened (for whole messages). */
export function escapeControls(text: string, keep = ""): string {
  return text.replace(UNSAFE_ALL, (char) => (keep.includes(char) ? char : escapeChar(char)));
}

/**
 * A value from outside as a message shows it: unsafe characters escaped as visible sequences
 * (`\x1b`, `\n`), and at most `max` characters of it, followed by `…(N chars)` with the whole
 * length when it is longer. Backslashes are left as they are, so a value already shown stays
 * the same when shown again (short enough ones, at least).
 *
 * @example shown("Ana\x1b[2J") // "Ana\\x1b[2J"
 * @example shown("x".repeat(10_000)) // "xxx…x…(10000 chars)"
 */
export function shown(value: unknown, max = SHOWN_MAX): string {
  const text = typeof value === "string" ? value : value === undefined || value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
  const chars = [...text];
  const head = chars.length > max ? chars.slice(0, max).join("") : text;
  const out = escapeControls(head);
  return chars.length > max ? `${out}…(${chars.length} chars)` : out;
}

/**
 * JSON text whose string values hold nothing a terminal acts on. `JSON.stringify` escapes C0
 * controls but leaves C1 controls, U+2028/2029 and bidi overrides raw; inside a JSON string a
 * `\uXXXX` escape means the same character, so the parsed value is unchanged. Newlines are
 * kept: outside strings they are the pretty-printer's, and inside strings there are none.
 */
export function safeJson(json: string): string {
  return json.replace(UNSAFE_ALL, (char) => (char === "\n" ? char : `\\u${char.codePointAt(0)!.toString(16).padStart(4, "0")}`));
}

/** A value read from a file (a state, a lock), for a message: JSON-quoted (no control character gets through) and cut to 60 characters. */
export function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}
