/**
 * @module LDAP presets as data: how a directory's users map to SCIM attributes (a mapping table),
 * which attribute is each entry's stable id, how groups and their members are read, and the default
 * filters; plus the `target=attribute` entries (ldap.user_attributes, ldap.group_attributes) that
 * replace a preset's choices or, with `custom`, make the whole mapping.
 */
import type { StringAttributeName } from "../table.ts";
import { firstOf, firstValue, name, path, text, type AttributeRules, type UserMappingTable } from "../table.ts";
import { ACTIVE_DIRECTORY } from "./active-directory.ts";
import { OPENLDAP } from "./openldap.ts";

export const LDAP_PRESETS = ["active-directory", "openldap", "custom"] as const;
export type LdapPresetName = (typeof LDAP_PRESETS)[number];

/** An entry as the LDAP source hands it to the mapping: its DN and each attribute's value(s), binary ids already formatted. */
export interface LdapEntry {
  dn: string;
  [attribute: string]: string | string[] | undefined;
}

export interface LdapGroupMapping {
  /** The attribute whose value is the group's source id (its SCIM externalId). */
  id: string;
  /** The group's name: the first of these that has a value. */
  name: readonly string[];
  /** Which entries are groups: ANDed with ldap.group_filter for the groups in scope; a nested member is a group when it matches. */
  classFilter: string;
  /** Attributes holding member DNs (groupOfNames `member`, groupOfUniqueNames `uniqueMember`). */
  memberDns: readonly string[];
  /** Attributes holding member user names (posixGroup `memberUid`), matched against `LdapPreset.uid`. */
  memberUids: readonly string[];
  /** Active Directory: a user whose primaryGroupID is the group's RID (from objectSid) is a member though no `member` value says so. */
  primaryGroup: boolean;
}

/** Everything the LDAP source needs to know about a kind of directory. */
export interface LdapPreset {
  user: UserMappingTable;
  /**
   * The attribute whose value is a user's source id (its SCIM externalId). It must survive renames
   * and moves (objectGUID, entryUUID), so a DN is never one: a moved user would be deleted and
   * created again, losing its AWS assignments.
   */
  userId: string;
  /** The user attribute posixGroup `memberUid` values name. */
  uid?: string;
  groups: LdapGroupMapping;
  /** Default ldap.user_filter. */
  userFilter?: string;
  /** Default ldap.suspended_filter. */
  suspendedFilter?: string;
}

/** The `custom` preset before any entry: nothing is read that the entries do not name. */
const CUSTOM: LdapPreset = {
  user: {
    subject: firstOf(path("dn"), text("(no dn)")),
    read: [],
    nameFallback: firstOf(name(path("dn"))),
    attributes: { userName: text(""), email: text(""), givenName: text(""), familyName: text(""), displayName: text("") },
  },
  userId: "",
  groups: { id: "", name: [], classFilter: "(objectClass=*)", memberDns: [], memberUids: [], primaryGroup: false },
};

const PRESETS: Record<LdapPresetName, LdapPreset> = { "active-directory": ACTIVE_DIRECTORY, openldap: OPENLDAP, custom: CUSTOM };

/** ldap.user_attributes targets beyond the mapping table's string attributes. */
const USER_EXTRA_TARGETS = ["externalId", "manager", "phoneNumber"] as const;
const USER_STRING_TARGETS = [
  "userName", "email", "givenName", "familyName", "displayName", "formattedName", "title", "preferredLanguage", "nickName",
  "profileUrl", "userType", "locale", "timezone", "employeeNumber", "costCenter", "organization", "division", "department",
] as const satisfies readonly StringAttributeName[];
export const USER_TARGETS: readonly string[] = [...USER_EXTRA_TARGETS, ...USER_STRING_TARGETS];
export const GROUP_TARGETS: readonly string[] = ["externalId", "displayName", "members"];
/** What `custom` must be told (the rest is optional). */
const REQUIRED_CUSTOM: Record<"user" | "group", readonly string[]> = { user: ["externalId", "userName", "email"], group: GROUP_TARGETS };

/** An attribute description (RFC 4512): a name or an OID. Options (`;binary`) are not mapping material. */
const ATTRIBUTE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;

/** Why `name` is not an attribute a read can ask for, as a phrase; `undefined` when it is. */
export function attributeNameProblem(name: string): string | undefined {
  return ATTRIBUTE.test(name) ? undefined : `is not an LDAP attribute name (got ${JSON.stringify(name)}); write one like "objectSid"`;
}

/** `["userName=uid"]` → Map { userName → uid }; entries are checked by `mappingEntriesProblem` first. */
export function parseMappingEntries(entries: readonly string[]): Map<string, string> {
  return new Map(entries.map((entry) => {
    const at = entry.indexOf("=");
    return [entry.slice(0, at).trim(), entry.slice(at + 1).trim()] as [string, string];
  }));
}

/** Why ldap.user_attributes or ldap.group_attributes cannot be used, as a phrase; `undefined` when they can. */
export function mappingEntriesProblem(entries: readonly string[], kind: "user" | "group"): string | undefined {
  const targets = kind === "user" ? USER_TARGETS : GROUP_TARGETS;
  const seen = new Set<string>();
  for (const entry of entries) {
    const at = entry.indexOf("=");
    const target = entry.slice(0, Math.max(at, 0)).trim();
    const attribute = entry.slice(at + 1).trim();
    if (at < 0 || !ATTRIBUTE.test(attribute)) return `entry ${JSON.stringify(entry)} is not target=ldapAttribute, like "${kind === "user" ? "userName=uid" : "displayName=name"}"`;
    if (!targets.includes(target)) return `entry ${JSON.stringify(entry)} names an unknown target ${JSON.stringify(target)}; the targets are ${targets.join(", ")}`;
    if (seen.has(target)) return `names ${target} twice; keep one entry for it`;
    seen.add(target);
  }
  return undefined;
}

/** The targets `custom` still needs from these entries and the targets `[mapping]` sets (empty for the other presets). */
export function missingCustomTargets(preset: LdapPresetName, entries: readonly string[], kind: "user" | "group", mapped: readonly string[] = []): string[] {
  if (preset !== "custom") return [];
  const named = parseMappingEntries(entries);
  return REQUIRED_CUSTOM[kind].filter((target) => !named.has(target) && !mapped.includes(target));
}

/**
 * The preset with the entries applied: each replaces the preset's rule for its target (read with
 * `firstValue`, LDAP attributes being multi-valued). `custom` starts from nothing.
 *
 * @example ldapPreset("openldap", ["userName=uid"], []).user.attributes.userName // firstValue("uid")
 */
export function ldapPreset(name: LdapPresetName, userEntries: readonly string[], groupEntries: readonly string[]): LdapPreset {
  const base = PRESETS[name];
  const user = parseMappingEntries(userEntries);
  const group = parseMappingEntries(groupEntries);
  const attributes: Record<string, unknown> = { ...base.user.attributes };
  if (name === "custom") for (const key of Object.keys(attributes)) delete attributes[key];
  for (const [target, attribute] of user) {
    if (target === "externalId") continue;
    if (target === "manager") attributes.managerSourceId = firstValue(attribute);
    else if (target === "phoneNumber") attributes.phoneNumber = { fields: { value: firstValue(attribute), type: text("work") }, requireOneOf: ["value"] };
    else attributes[target] = firstValue(attribute);
  }
  const subject = name === "custom" && user.has("email") ? firstOf(firstValue(user.get("email")!), path("dn")) : base.user.subject;
  const groups = { ...base.groups };
  if (group.has("externalId")) groups.id = group.get("externalId")!;
  if (group.has("displayName")) groups.name = [group.get("displayName")!];
  if (group.has("members")) {
    groups.memberDns = [group.get("members")!];
    groups.memberUids = [];
  }
  return {
    ...base,
    user: { ...base.user, subject, attributes: attributes as unknown as AttributeRules },
    userId: user.get("externalId") ?? base.userId,
    groups,
  };
}
