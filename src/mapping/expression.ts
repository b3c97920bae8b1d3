/**
 * @module The mapping expression language (the `[mapping]` table), parsed into the mapping table's
 * `ValueExpr` (pure). One language for every source:
 *
 * - a field path: `primaryEmail`, `name.givenName`, `customSchemas.HR.employeeId`, an LDAP
 *   attribute (`employeeID`); a step on a list takes one element: `organizations[primary]` (the
 *   first whose `primary` is true), `externalIds[type=organization]` (the first whose `type` is
 *   "organization"), `phones[1]` (by index from 0), and without brackets the first;
 * - a literal in single quotes: `'Employee'` (`''` is a quote inside one);
 * - a template, text with field paths in braces: `{name.givenName} {name.familyName}` (`{{` and
 *   `}}` are braces as text); it has a value only when every path in it has one.
 *
 * A problem names the position (from 1) and what was expected there, so a configuration error
 * points at the character to fix.
 */
import { field, firstOf, template, text, type FieldStep, type Match, type ValueExpr } from "./table.ts";

export type ParsedExpression = { readonly expr: ValueExpr } | { readonly problem: string };

/** A field name: a Google field or custom schema name, or an LDAP attribute name. */
const NAME_CHAR = /[A-Za-z0-9_-]/;
const DIGITS = /^\d+$/;

class ExpressionError extends Error {}

/** `unexpected "]" at position 14; expected a field name` (or `unexpected end …`). */
function unexpected(source: string, at: number, expected: string): ExpressionError {
  const what = at < source.length ? `unexpected ${JSON.stringify(source[at])}` : "unexpected end";
  return new ExpressionError(`${what} at position ${at + 1}; expected ${expected}`);
}

/**
 * @example parseExpression("organizations[primary].department")
 * // { expr: field({ key: "organizations", select: { primary: true } }, { key: "department" }) }
 */
export function parseExpression(source: string): ParsedExpression {
  try {
    return { expr: expression(source) };
  } catch (error) {
    if (error instanceof ExpressionError) return { problem: error.message };
    throw error;
  }
}

/**
 * A fallback list: the first entry that has a value. A problem names the entry (from 1) when
 * there are several.
 *
 * @example parseFallbacks(["customSchemas.HR.login", "primaryEmail"])
 */
export function parseFallbacks(sources: readonly string[]): ParsedExpression {
  const exprs: ValueExpr[] = [];
  for (const [i, source] of sources.entries()) {
    const parsed = parseExpression(source);
    if ("problem" in parsed) return sources.length === 1 ? parsed : { problem: `entry ${i + 1}: ${parsed.problem}` };
    exprs.push(parsed.expr);
  }
  return { expr: exprs.length === 1 ? exprs[0]! : firstOf(...exprs) };
}

function expression(source: string): ValueExpr {
  const start = skipSpaces(source, 0);
  if (start === source.length) throw new ExpressionError("is empty; write a field path (name.givenName), a 'literal' or a {template}");
  if (source[start] === "'") return literal(source, start);
  if (source.includes("{") || source.includes("}")) return templateOf(source);
  const [steps, end] = path(source, start);
  const rest = skipSpaces(source, end);
  if (rest < source.length) throw unexpected(source, rest, '".", "[" or the end');
  return field(...steps);
}

function skipSpaces(source: string, at: number): number {
  while (at < source.length && source[at] === " ") at++;
  return at;
}

function literal(source: string, start: number): ValueExpr {
  let value = "";
  let at = start + 1;
  for (;;) {
    if (at >= source.length) throw unexpected(source, at, "a closing \"'\"");
    if (source[at] === "'") {
      if (source[at + 1] !== "'") break;
      at++;
    }
    value += source[at];
    at++;
  }
  const rest = skipSpaces(source, at + 1);
  if (rest < source.length) throw unexpected(source, rest, "the end after the closing \"'\" (write '' for a quote inside)");
  if (value.trim() === "") throw new ExpressionError(`the literal at position ${start + 1} is blank; write its text between the quotes`);
  return text(value);
}

function templateOf(source: string): ValueExpr {
  const parts: (string | ValueExpr)[] = [];
  let textPart = "";
  let at = 0;
  while (at < source.length) {
    const char = source[at]!;
    if ((char === "{" || char === "}") && source[at + 1] === char) {
      textPart += char;
      at += 2;
    } else if (char === "}") {
      throw unexpected(source, at, 'text or "{" (write "}}" for a "}" as text)');
    } else if (char === "{") {
      if (textPart !== "") parts.push(textPart);
      textPart = "";
      const [steps, end] = path(source, skipSpaces(source, at + 1));
      const close = skipSpaces(source, end);
      if (source[close] !== "}") throw unexpected(source, close, '".", "[" or "}"');
      parts.push(field(...steps));
      at = close + 1;
    } else {
      textPart += char;
      at++;
    }
  }
  if (textPart !== "") parts.push(textPart);
  return template(...parts);
}

/** Steps from `at`: name, then `[select]`, then `.` and the next, as far as they go; the steps and where they stop. */
function path(source: string, start: number): [FieldStep[], number] {
  const steps: FieldStep[] = [];
  let at = start;
  for (;;) {
    const [key, afterName] = name(source, at, "a field name");
    at = afterName;
    let select: Match | number | undefined;
    if (source[at] === "[") [select, at] = selector(source, at + 1);
    steps.push(select === undefined ? { key } : { key, select });
    if (source[at] !== ".") return [steps, at];
    at++;
  }
}

function name(source: string, start: number, expected: string): [string, number] {
  let at = start;
  while (at < source.length && NAME_CHAR.test(source[at]!)) at++;
  if (at === start) throw unexpected(source, at, expected);
  return [source.slice(start, at), at];
}

/** Inside `[…]` from `start`: an index, `key` (key is true) or `key=value`; the selection and the position after `]`. */
function selector(source: string, start: number): [Match | number, number] {
  const [key, afterKey] = name(source, skipSpaces(source, start), "a field name or an index, like [primary], [type=work] or [0]");
  let at = skipSpaces(source, afterKey);
  if (source[at] === "]") return [DIGITS.test(key) ? Number(key) : { [key]: true }, at + 1];
  if (source[at] !== "=") throw unexpected(source, at, '"=" or "]"');
  const valueStart = at + 1;
  const close = source.indexOf("]", valueStart);
  const value = (close < 0 ? source.slice(valueStart) : source.slice(valueStart, close)).trim();
  if (value === "") throw unexpected(source, close < 0 ? source.length : close, `a value after "=", like [${key}=work]`);
  if (close < 0) throw unexpected(source, source.length, '"]"');
  at = close + 1;
  return [{ [key]: value === "true" ? true : value === "false" ? false : value }, at];
}
