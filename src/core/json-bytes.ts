/**
 * @module JSON written straight into bytes, ASCII only: the state file's writer (src/core/state.ts).
 * The text is what JSON.stringify writes, with every character past `~` (0x7e) as a `\u` escape
 * of its UTF-16 unit. Why bytes: a 200,000-user save made 68 MB of strings (a JSON.stringify per
 * row, then its UTF-8 bytes, then its escapes), and collecting them cost as much as writing them.
 * Why ASCII: read back, an ASCII text is held in one byte per character (a runtime stores a string
 * with any wider character at two bytes per character), and its bytes read as latin1 are the text.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** The escapes JSON.stringify writes short, by character code. */
const SHORT_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x08: 0x62, 0x0c: 0x66, 0x0a: 0x6e, 0x0d: 0x72, 0x09: 0x74 };
/** "0123456789abcdef" as character codes: an escape's hex digits (lower case, as JSON.stringify). */
const HEX_DIGITS = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

export class JsonBytes {
  private bytes: Uint8Array;
  /** How many bytes are written since the last `take`. */
  length = 0;

  constructor(initialBytes: number) {
    this.bytes = new Uint8Array(initialBytes);
  }

  /** The bytes written since the last call: a view that the next write reuses. */
  take(): Uint8Array {
    const chunk = this.bytes.subarray(0, this.length);
    this.length = 0;
    return chunk;
  }

  /** JSON text made here (ASCII punctuation, keys known to be ASCII), as it is. */
  raw(text: string): void {
    this.reserve(text.length);
    const bytes = this.bytes;
    let at = this.length;
    for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i);
    this.length = at;
  }

  string(text: string): void {
    // An escape takes at most 6 bytes per UTF-16 unit.
    this.reserve(2 + 6 * text.length);
    const bytes = this.bytes;
    let at = this.length;
    bytes[at++] = QUOTE;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x20 && c < 0x7f && c !== QUOTE && c !== BACKSLASH) bytes[at++] = c;
      else at = escape(bytes, at, c);
    }
    bytes[at++] = QUOTE;
    this.length = at;
  }

  number(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) return this.raw(JSON.stringify(n));
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    this.reserve(digits);
    for (let k = digits - 1, rest = n; k >= 0; k--, rest = Math.floor(rest / 10)) this.bytes[this.length + k] = 0x30 + (rest % 10);
    this.length += digits;
  }

  /** Any value a state holds, as JSON.stringify writes it: strings, numbers, booleans, null, arrays and plain objects. */
  value(value: unknown): void {
    if (typeof value === "string") this.string(value);
    else if (typeof value === "number") this.number(value);
    else if (typeof value === "boolean") this.raw(value ? "true" : "false");
    else if (value === null) this.raw("null");
    else if (Array.isArray(value)) this.array(value);
    else if (typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON !== "function") this.object(value as Record<string, unknown>);
    else {
      // Anything else (a Date, say) as JSON.stringify makes it, read back as plain data.
      const text = JSON.stringify(value);
      this.value(text === undefined ? null : JSON.parse(text));
    }
  }

  private array(items: readonly unknown[]): void {
    this.raw("[");
    for (let i = 0; i < items.length; i++) {
      if (i > 0) this.raw(",");
      const item = items[i];
      if (item === undefined || typeof item === "function" || typeof item === "symbol") this.raw("null");
      else this.value(item);
    }
    this.raw("]");
  }

  private object(record: Record<string, unknown>): void {
    this.raw("{");
    let first = true;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
      if (!first) this.raw(",");
      first = false;
      this.string(key);
      this.raw(":");
      this.value(item);
    }
    this.raw("}");
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.length + extra, 2 * this.bytes.length));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

/** One UTF-16 unit of a string, escaped at `at`: short as JSON.stringify writes it, else `\uXXXX`. Answers the position after it. */
function escape(bytes: Uint8Array, at: number, unit: number): number {
  bytes[at++] = BACKSLASH;
  const short = SHORT_ESCAPES[unit];
  if (short !== undefined) {
    bytes[at++] = short;
    return at;
  }
  bytes[at++] = 0x75; // u
  for (let k = 0; k < 4; k++) bytes[at++] = HEX_DIGITS[(unit >> (12 - 4 * k)) & 0xf]!;
  return at;
}
