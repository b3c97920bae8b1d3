/**
 * @module The users `query` clauses that need more than the user itself (docs/google-directory.md
 * §3.1): the manager chain (`manager`, `managerId`, `directManager`, `directManagerId`) and custom
 * schema fields (`schemaName.fieldName`), whose types come from the scenario's users.
 */
import type { ScenarioGoogleUser } from "../scenario.ts";
import { lower, words } from "./directory-index.ts";
import { invalid } from "./errors.ts";

export interface QueryClause {
  field: string;
  op: "=" | ":" | "<" | ">" | "<=" | ">=";
  value: string;
}

/** A custom field's type as the emulator infers it from the values users carry (SEARCH: BOOL, STRING, INT64, DOUBLE, …). */
type FieldType = "BOOL" | "STRING" | "NUMBER";

/** `schemaName.fieldName` → type, for every custom field some user of the scenario carries. */
export type CustomFields = Map<string, FieldType>;

const MANAGER_FIELDS = ["manager", "managerId", "directManager", "directManagerId"] as const;

/** Whether `c` is one of the clauses this module answers. */
export function isContextClause(c: QueryClause): boolean {
  return c.field.includes(".") || (MANAGER_FIELDS as readonly string[]).includes(c.field);
}

/** The custom fields of the scenario, typed by the values users carry (a field every user leaves out does not exist). */
export function customFieldsOf(users: readonly ScenarioGoogleUser[]): CustomFields {
  const fields: CustomFields = new Map();
  for (const u of users) {
    const schemas = u.customSchemas;
    if (typeof schemas !== "object" || schemas === null) continue;
    for (const [schema, values] of Object.entries(schemas as Record<string, unknown>)) {
      if (typeof values !== "object" || values === null) continue;
      for (const [field, value] of Object.entries(values as Record<string, unknown>)) {
        const type = typeOf(Array.isArray(value) ? (value[0] as { value?: unknown } | undefined)?.value : value);
        if (type !== undefined && !fields.has(`${schema}.${field}`)) fields.set(`${schema}.${field}`, type);
      }
    }
  }
  return fields;
}

function typeOf(value: unknown): FieldType | undefined {
  if (typeof value === "boolean") return "BOOL";
  if (typeof value === "number") return "NUMBER";
  if (typeof value === "string") return "STRING";
  return undefined;
}

/**
 * Refuses, before any user is examined, a clause Google would refuse whoever the users are: an
 * unknown custom field, an operator its type does not take, a range on a number (it needs a
 * numericIndexingSpec, not emulated), a manager clause with anything but `=`.
 */
export function checkContextClause(c: QueryClause, fields: CustomFields): void {
  if (!c.field.includes(".")) {
    if (c.op !== "=") throw invalid();
    return;
  }
  const type = fields.get(c.field);
  if (type === undefined) throw invalid(`Invalid Input: unknown custom field ${c.field}`);
  if (type === "STRING" ? c.op !== "=" && c.op !== ":" : c.op !== "=") throw invalid();
  if (type === "BOOL" && !/^(true|false)$/i.test(c.value)) throw invalid();
}

/** Whether `u` satisfies a clause `checkContextClause` accepted; `find` looks a user up by email or id. */
export function contextMatches(u: ScenarioGoogleUser, c: QueryClause, fields: CustomFields, find: (key: string) => ScenarioGoogleUser | undefined): boolean {
  if (c.field.includes(".")) return customMatches(u, c, fields.get(c.field)!);
  const direct = c.field === "directManager" || c.field === "directManagerId";
  const byId = c.field.endsWith("Id");
  for (const manager of managerChain(u, find, direct)) {
    if (byId ? manager.id === c.value : lower(manager.primaryEmail) === lower(c.value)) return true;
  }
  return false;
}

/** The user's manager, and (unless `direct`) the manager's, and so on up: each once (a loop ends it). */
function managerChain(u: ScenarioGoogleUser, find: (key: string) => ScenarioGoogleUser | undefined, direct: boolean): ScenarioGoogleUser[] {
  const chain: ScenarioGoogleUser[] = [];
  const seen = new Set<ScenarioGoogleUser>([u]);
  let current = u;
  for (;;) {
    const email = managerEmail(current);
    const manager = email === undefined ? undefined : find(email);
    if (manager === undefined || seen.has(manager)) return chain;
    chain.push(manager);
    if (direct) return chain;
    seen.add(manager);
    current = manager;
  }
}

function managerEmail(u: ScenarioGoogleUser): string | undefined {
  const relations = Array.isArray(u.relations) ? (u.relations as { type?: unknown; value?: unknown }[]) : [];
  const manager = relations.find((r) => r.type === "manager" && typeof r.value === "string");
  return manager?.value as string | undefined;
}

/** A custom field's values: one for a single-valued field, each `value` of a multi-valued one. */
function customValues(u: ScenarioGoogleUser, field: string): unknown[] {
  const dot = field.indexOf(".");
  const schema = (u.customSchemas as Record<string, Record<string, unknown> | undefined> | undefined)?.[field.slice(0, dot)];
  const value = schema?.[field.slice(dot + 1)];
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map((v) => (v as { value?: unknown }).value) : [value];
}

function customMatches(u: ScenarioGoogleUser, c: QueryClause, type: FieldType): boolean {
  const values = customValues(u, c.field);
  if (type === "BOOL") return values.some((v) => v === (lower(c.value) === "true"));
  if (type === "NUMBER") return values.some((v) => typeof v === "number" && v === Number(c.value));
  const texts = values.filter((v): v is string => typeof v === "string");
  const want = lower(c.value);
  if (c.op === "=") return texts.some((t) => lower(t) === want);
  if (want.endsWith("*")) return texts.some((t) => lower(t).startsWith(want.slice(0, -1)) || words(t).some((w) => w.startsWith(want.slice(0, -1))));
  return texts.some((t) => (/\s/.test(want) ? lower(t).includes(want) : words(t).includes(want)));
}
