/**
 * @module The attributes a `[mapping]` entry may set, and a source's table with those entries laid
 * over it (pure). The names are those of `ldap.user_attributes`: the SCIM attribute without its
 * `name.` or enterprise prefix, singular where AWS keeps one value (email, phoneNumber, address).
 */
import type { UserAttributeName, UserFieldName } from "../model/index.ts";
import { firstOf, name, text, type AttributeRules, type UserMappingTable, type ValueExpr } from "./table.ts";

/** Each target: the SCIM attribute it writes, and the `sync.user_fields` name that selects it (none: always synced). */
export const MAPPING_TARGETS = {
  userName: { scim: "userName" },
  displayName: { scim: "displayName" },
  givenName: { scim: "name.givenName" },
  familyName: { scim: "name.familyName" },
  formattedName: { scim: "name.formatted" },
  nickName: { scim: "nickName", field: "nickName" },
  title: { scim: "title", field: "title" },
  userType: { scim: "userType", field: "userType" },
  preferredLanguage: { scim: "preferredLanguage", field: "preferredLanguage" },
  locale: { scim: "locale", field: "locale" },
  timezone: { scim: "timezone", field: "timezone" },
  profileUrl: { scim: "profileUrl", field: "profileUrl" },
  email: { scim: "emails[0].value (type work, primary)" },
  phoneNumber: { scim: "phoneNumbers[0].value (type work)", field: "phoneNumbers" },
  address: { scim: "addresses[0].formatted (type work)", field: "addresses" },
  employeeNumber: { scim: "enterprise employeeNumber", field: "enterprise" },
  costCenter: { scim: "enterprise costCenter", field: "enterprise" },
  organization: { scim: "enterprise organization", field: "enterprise" },
  division: { scim: "enterprise division", field: "enterprise" },
  department: { scim: "enterprise department", field: "enterprise" },
  manager: { scim: "enterprise manager (the source's reference to the manager: an email, a DN)", field: "enterprise" },
} as const satisfies Record<string, { scim: string; field?: UserFieldName }>;

export type MappingTarget = keyof typeof MAPPING_TARGETS;
export const MAPPING_TARGET_NAMES = Object.keys(MAPPING_TARGETS) as MappingTarget[];

/** The `sync.user_fields` name a target needs, if any. */
export function userFieldOf(target: MappingTarget): UserFieldName | undefined {
  const spec: { scim: string; field?: UserFieldName } = MAPPING_TARGETS[target];
  return spec.field;
}

/** Names AWS requires or shows: a blank or control-only value counts as missing, so the next fallback fills in. */
const NAMES: ReadonlySet<MappingTarget> = new Set(["displayName", "givenName", "familyName", "formattedName"]);

/**
 * `table` with each mapped target's rule replaced. A phone number mapped so is of type work and an
 * address is its formatted text (the parts of a structured address stay the preset's to fill).
 *
 * @example withMapping(GOOGLE_USER, { userName: field({ key: "customSchemas" }, { key: "HR" }, { key: "login" }) })
 */
export function withMapping(table: UserMappingTable, mapping: Partial<Record<MappingTarget, ValueExpr>>): UserMappingTable {
  const attributes: Record<string, unknown> = { ...table.attributes };
  for (const [target, mapped] of Object.entries(mapping) as [MappingTarget, ValueExpr][]) {
    const expr = NAMES.has(target) ? asName(mapped) : mapped;
    if (target === "manager") attributes.managerSourceId = expr;
    else if (target === "phoneNumber") attributes.phoneNumber = { fields: { value: expr, type: text("work") }, requireOneOf: ["value"] };
    else if (target === "address") attributes.address = { fields: { formatted: expr, type: text("work") }, requireOneOf: ["formatted"] };
    else attributes[target satisfies UserAttributeName] = expr;
  }
  return { ...table, attributes: attributes as unknown as AttributeRules };
}

/** Each fallback held to the `name` rule, so that a blank one moves on to the next. */
function asName(expr: ValueExpr): ValueExpr {
  return expr.kind === "firstOf" ? firstOf(...expr.of.map(name)) : name(expr);
}
