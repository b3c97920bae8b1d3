/**
 * @module Turns one source record into `UserAttributes` through a `UserMappingTable` (pure, no I/O),
 * and names the source fields a selection needs.
 */
import { hasNameCharacter } from "../core/aws-limits.ts";
import { shown } from "../core/text.ts";
import {
  ALWAYS_SYNCED_ATTRIBUTES,
  USER_FIELD_ATTRIBUTES,
  type UserAttributeName,
  type UserAttributes,
  type UserFieldName,
} from "../model/index.ts";
import type { FieldStep, ListPick, Match, ObjectRule, SourceRecord, UserMappingTable, ValueExpr } from "./table.ts";

export interface MapUserOptions {
  /** The `sync.user_fields` selection: an attribute outside it is neither read nor set. */
  fields: ReadonlySet<UserFieldName>;
}

export interface MappedUser {
  attributes: UserAttributes;
  warnings: string[];
  /** The manager as the source refers to it (Google: an email); the source adapter resolves it to `managerSourceId`. */
  manager?: string;
}

type Rule = ValueExpr | ObjectRule<object>;

/**
 * Never drops a record: missing required names are filled in (see `UserMappingTable.nameFallback`),
 * with a warning. Values are otherwise taken as the source holds them: what AWS would refuse (an
 * over-long email, control characters) is dealt with in one place, `fitForAws`
 * (core/aws-limits.ts). `active` is always true: suspension travels as `SourceUser.suspended` and
 * the planner applies the policy.
 *
 * @example mapUser(GOOGLE_USER, user, { fields: new Set(["title", "enterprise"]) })
 */
export function mapUser(table: UserMappingTable, record: SourceRecord, options: MapUserOptions): MappedUser {
  return userMapper(table, options)(record);
}

/**
 * `mapUser` for many records under one selection: the selected rules are worked out once. A
 * directory read maps every user with it, so the mapping itself allocates little beyond its result.
 *
 * @example const map = userMapper(GOOGLE_USER, { fields }); for (const user of page.users) keep(map(user));
 */
export function userMapper(table: UserMappingTable, options: MapUserOptions): (record: SourceRecord) => MappedUser {
  const selected = selectedAttributes(options.fields);
  const rules = rulesOf(table).filter(([target]) => selected.has(target));
  return (record) => mapSelected(table, rules, record);
}

function mapSelected(table: UserMappingTable, rules: readonly [UserAttributeName, Rule][], record: SourceRecord): MappedUser {
  const mapped: Partial<Record<UserAttributeName, unknown>> = {};
  let manager: string | undefined;
  for (const [target, rule] of rules) {
    const value = isObjectRule(rule) ? objectValue(rule, record) : evaluate(rule, record);
    if (value === undefined) continue;
    if (target === "managerSourceId") manager = value as string;
    else mapped[target] = value;
  }

  const warnings: string[] = [];
  const names = requiredNames(table, record, mapped as Partial<Record<UserAttributeName, string>>, warnings);
  // The required attributes first, then the optional ones in the table's order.
  const attributes: Record<string, unknown> = { userName: mapped.userName ?? "", ...names, email: mapped.email ?? "", active: true };
  for (const key in mapped) if (!(key in attributes)) attributes[key] = mapped[key as UserAttributeName];
  const user = attributes as unknown as UserAttributes;
  return manager === undefined ? { attributes: user, warnings } : { attributes: user, warnings, manager };
}

/**
 * The fields a read must request so that `mapUser` sees what the selection needs (Google's
 * `fields` parameter, an LDAP search's attribute list): the table's `read` ones, then the top-level
 * field of each path the selected attributes read, in the table's order.
 */
export function sourceFields(table: UserMappingTable, fields: ReadonlySet<UserFieldName>): string[] {
  const selected = selectedAttributes(fields);
  const needed = new Set([...table.read, ...readsOf(table.subject), ...readsOf(table.nameFallback)]);
  const order = new Set(table.read);
  for (const [target, rule] of rulesOf(table)) {
    for (const field of readsOf(rule)) {
      order.add(field);
      if (selected.has(target)) needed.add(field);
    }
  }
  for (const field of needed) order.add(field);
  return [...order].filter((field) => needed.has(field));
}

function selectedAttributes(fields: ReadonlySet<UserFieldName>): Set<UserAttributeName> {
  return new Set([...ALWAYS_SYNCED_ATTRIBUTES, ...[...fields].flatMap((field) => USER_FIELD_ATTRIBUTES[field])]);
}

function rulesOf(table: UserMappingTable): [UserAttributeName, Rule][] {
  return Object.entries(table.attributes) as [UserAttributeName, Rule][];
}

function isObjectRule(rule: Rule): rule is ObjectRule<object> {
  return !("kind" in rule);
}

/** givenName and familyName fill in for each other, then both take the fallback; displayName takes givenName. */
function requiredNames(table: UserMappingTable, record: SourceRecord, mapped: Partial<Record<UserAttributeName, string>>, warnings: string[]) {
  let givenName = mapped.givenName ?? mapped.familyName;
  let familyName = mapped.familyName ?? mapped.givenName;
  if (givenName === undefined || familyName === undefined) {
    const fallback = evaluate(table.nameFallback, record) ?? "-";
    givenName = familyName = fallback;
    warnings.push(`user ${shown(evaluate(table.subject, record) ?? "")}: has no given or family name; using "${shown(fallback)}" for both`);
  }
  return { displayName: mapped.displayName ?? givenName, givenName, familyName };
}

function objectValue(rule: ObjectRule<object>, record: SourceRecord): object | undefined {
  const scope = rule.pick ? pickElement(rule.pick, record) : record;
  if (scope === undefined) return undefined;
  const out: Record<string, string> = {};
  const fields = rule.fields as Record<string, ValueExpr>;
  for (const key in fields) {
    const value = evaluate(fields[key]!, scope);
    if (value !== undefined) out[key] = value;
  }
  return rule.requireOneOf.some((key) => out[key as string] !== undefined) ? out : undefined;
}

/** A non-blank string, or undefined: the one answer every expression gives. */
function evaluate(expr: ValueExpr, scope: object): string | undefined {
  switch (expr.kind) {
    case "path":
      return nonBlank(at(scope, expr.path));
    case "firstValue": {
      const value = at(scope, expr.path);
      return Array.isArray(value) ? firstNonBlank(value) : nonBlank(value);
    }
    case "text":
      return nonBlank(expr.text);
    case "firstOf":
      for (const option of expr.of) {
        const value = evaluate(option, scope);
        if (value !== undefined) return value;
      }
      return undefined;
    case "join": {
      const parts = expr.of.map((part) => evaluate(part, scope)).filter((v) => v !== undefined);
      return parts.length > 0 ? nonBlank(parts.join(expr.separator)) : undefined;
    }
    case "trim":
      return nonBlank(evaluate(expr.of, scope)?.trim());
    case "name": {
      const value = nonBlank(evaluate(expr.of, scope)?.trim());
      return value !== undefined && hasNameCharacter(value) ? value : undefined;
    }
    case "before":
      return nonBlank(evaluate(expr.of, scope)?.split(expr.separator)[0]);
    case "truncate":
      return nonBlank([...(evaluate(expr.of, scope) ?? "")].slice(0, expr.max).join(""));
    case "in": {
      const element = pickElement(expr.pick, scope);
      return element === undefined ? undefined : evaluate(expr.value, element);
    }
    case "field": {
      // A custom field of type int64, double or bool holds a JSON number or boolean: written as text.
      const value = fieldValue(expr.steps, scope);
      return typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value)) ? String(value) : nonBlank(value);
    }
    case "template":
      return templateValue(expr.parts, scope);
  }
}

/** The value a field path reaches (see `FieldStep`), lists resolved to one element on the way. */
function fieldValue(steps: readonly FieldStep[], scope: object): unknown {
  let value: unknown = scope;
  for (let i = 0; i < steps.length; i++) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    const step = steps[i]!;
    value = (value as Record<string, unknown>)[step.key];
    if (!Array.isArray(value)) {
      if (step.select !== undefined) return undefined;
      continue;
    }
    if (typeof step.select === "number") value = value[step.select];
    else if (step.select !== undefined || i < steps.length - 1) value = firstObject(value, step.select);
    else value = firstNonBlank(value);
  }
  return value;
}

/** The first element that is an object (and matches `match`, when given). */
function firstObject(list: readonly unknown[], match: Match | undefined): object | undefined {
  for (const element of list) {
    if (typeof element === "object" && element !== null && (match === undefined || matches(element, match))) return element;
  }
  return undefined;
}

/** The parts joined, or nothing when a value part has none: a half-filled template is no value. */
function templateValue(parts: readonly (string | ValueExpr)[], scope: object): string | undefined {
  let out = "";
  for (const part of parts) {
    const value = typeof part === "string" ? part : evaluate(part, scope);
    if (value === undefined) return undefined;
    out += value;
  }
  return nonBlank(out);
}

function firstNonBlank(values: readonly unknown[]): string | undefined {
  for (const value of values) {
    const found = nonBlank(value);
    if (found !== undefined) return found;
  }
  return undefined;
}

// pickElement, matches and at run for every attribute of every user of a read: they walk the
// record without building arrays (a filtered copy of each list, a split of each path).

function pickElement(pick: ListPick, scope: object): object | undefined {
  const list = at(scope, pick.list);
  if (!Array.isArray(list)) return undefined;
  for (const match of pick.prefer ?? NO_MATCHES) {
    for (const element of list) if (eligible(pick, element) && matches(element, match)) return element;
  }
  if (pick.otherwise === "none") return undefined;
  for (const element of list) if (eligible(pick, element)) return element;
  return undefined;
}

const NO_MATCHES: readonly Match[] = [];

/** An object, with a non-blank string at `having` when the pick names one. */
function eligible(pick: ListPick, element: unknown): element is object {
  if (typeof element !== "object" || element === null) return false;
  return pick.having === undefined || nonBlank(at(element, pick.having)) !== undefined;
}

function matches(element: object, match: Match): boolean {
  for (const key in match) if (at(element, key) !== match[key]) return false;
  return true;
}

/** Each dotted path split once: tables are constants, so this holds a few dozen entries. */
const PATH_KEYS = new Map<string, readonly string[]>();

/** The value at a dotted path; anything that is not an object on the way reads as undefined. */
function at(scope: unknown, dotted: string): unknown {
  let keys = PATH_KEYS.get(dotted);
  if (keys === undefined) PATH_KEYS.set(dotted, (keys = dotted.split(".")));
  let value = scope;
  for (const key of keys) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function nonBlank(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

/**
 * The keys under `top` that the selected attributes read, in the table's order: the custom
 * schemas (`customSchemas.HR.employeeId` → "HR") a Directory read must name in `customFieldMask`.
 */
export function keysReadUnder(table: UserMappingTable, fields: ReadonlySet<UserFieldName>, top: string): string[] {
  const selected = selectedAttributes(fields);
  const keys = new Set<string>();
  const rules: Rule[] = [table.subject, table.nameFallback, ...rulesOf(table).filter(([target]) => selected.has(target)).map(([, rule]) => rule)];
  for (const rule of rules) {
    for (const keysOfPath of pathsRead(rule)) if (keysOfPath[0] === top && keysOfPath[1] !== undefined) keys.add(keysOfPath[1]);
  }
  return [...keys];
}

/** The top-level fields an expression or rule reads (a list, not the paths inside its elements). */
function readsOf(rule: Rule): string[] {
  return pathsRead(rule).map((keys) => keys[0]!);
}

/** The paths from the record an expression or rule reads, as keys (a list's own path, not the paths inside its elements). */
function pathsRead(rule: Rule): string[][] {
  if (isObjectRule(rule)) return rule.pick ? [rule.pick.list.split(".")] : Object.values(rule.fields).flatMap((expr) => pathsRead(expr as ValueExpr));
  switch (rule.kind) {
    case "path":
    case "firstValue":
      return [rule.path.split(".")];
    case "text":
      return [];
    case "firstOf":
    case "join":
      return rule.of.flatMap(pathsRead);
    case "in":
      return [rule.pick.list.split(".")];
    case "field":
      return [rule.steps.map((step) => step.key)];
    case "template":
      return rule.parts.flatMap((part) => (typeof part === "string" ? [] : pathsRead(part)));
    default:
      return pathsRead(rule.of);
  }
}
