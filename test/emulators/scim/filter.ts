/** @module The AWS SCIM filter dialect: only `attr eq "value"`, optionally one `and` (docs/aws-scim.md §3). */
import { badRequest, type ScimError } from "./errors.ts";

export interface FilterTerm {
  /** The attribute as written; match it with `attrKey`. */
  attribute: string;
  value: string;
}

/** One term, or two joined by `and`; the filter text is kept to bind cursors to it (§4.1). */
export interface ParsedFilter {
  text: string;
  terms: [FilterTerm] | [FilterTerm, FilterTerm];
}

type Token = { kind: "word"; text: string } | { kind: "string"; text: string };

const unsupported = (text: string, why: string): ScimError =>
  badRequest(`Unsupported filter expression "${text}": ${why}. Only "<attribute> eq \\"<value>\\"", optionally joined once with "and", is supported.`);

/**
 * Parses the AWS filter subset. Everything else (ne, co, sw, ew, pr, gt/ge/lt/le, or, not,
 * parentheses, value paths `a[b eq c]`, unquoted values, a second `and`) is a 400
 * ValidationException, as AWS documents for unsupported operators and combinations (§3).
 * Operators and `and` are matched case-insensitively, as RFC 7644 §3.4.2.2 prescribes; AWS's own
 * behaviour there is NOT KNOWN (§3).
 */
export function parseFilter(text: string): ParsedFilter {
  const tokens = tokenize(text);
  const terms: FilterTerm[] = [];
  let i = 0;
  const next = () => tokens[i++];
  for (;;) {
    const attr = next();
    const op = next();
    const value = next();
    if (!attr || attr.kind !== "word") throw unsupported(text, "expected an attribute name");
    if (!op || op.kind !== "word") throw unsupported(text, "expected an operator");
    if (op.text.toLowerCase() !== "eq") throw unsupported(text, `operator "${op.text}" is not supported`);
    if (!value || value.kind !== "string") throw unsupported(text, "the value must be a double-quoted string");
    terms.push({ attribute: attr.text, value: value.text });
    const joiner = next();
    if (!joiner) break;
    if (joiner.kind !== "word" || joiner.text.toLowerCase() !== "and") {
      throw unsupported(text, `"${joiner.text}" is not supported (only "and")`);
    }
    if (terms.length === 2) throw unsupported(text, "at most one \"and\" is supported");
  }
  return { text, terms: terms as ParsedFilter["terms"] };
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (j >= text.length) throw unsupported(text, "unterminated string");
      try {
        tokens.push({ kind: "string", text: JSON.parse(text.slice(i, j + 1)) as string });
      } catch {
        throw unsupported(text, "invalid string escape");
      }
      i = j + 1;
    } else if (/[A-Za-z]/.test(c)) {
      const m = /^[A-Za-z][A-Za-z0-9._:$-]*/.exec(text.slice(i));
      const word = m?.[0] ?? c;
      tokens.push({ kind: "word", text: word });
      i += word.length;
    } else {
      // Parentheses, brackets, numbers and anything else: not part of the AWS dialect.
      throw unsupported(text, `unexpected "${c}"`);
    }
  }
  return tokens;
}

/** Attribute names compare case-insensitively (RFC 7644 §3.4.2.2; AWS NOT KNOWN, §3). */
export const attrKey = (attribute: string) => attribute.toLowerCase();
