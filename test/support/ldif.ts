/**
 * @module A scenario's `google` part (test/scenarios/FORMAT.md) as an OpenLDAP directory in LDIF,
 * for test/support/slapd.ts to load with slapadd. Deterministic: the same scenario and options give
 * the same bytes, entryUUIDs included.
 *
 * Layout under the base DN (default: the scenario's domain as `dc=` parts, `dc=example,dc=com`):
 * - `ou=people`: one `inetOrgPerson` per user, `uid=<local part of primaryEmail>` (the whole address
 *   when an earlier user of another domain took that local part). Attributes: `uid`, `mail`
 *   (primaryEmail), `cn` (fullName), `sn` (familyName; `person` requires one, so a user without a
 *   family name gets `sn` = `cn`, as directories usually do), `givenName`, `displayName`, `title`,
 *   `ou` (department), `o` (organization name), `employeeNumber` (the `organization` externalId),
 *   `telephoneNumber` (work phone), `mobile`, `street`/`l`/`st`/`postalCode` (work or first address),
 *   `preferredLanguage`, `manager` (the manager's DN, when the manager is a user of the scenario),
 *   and `entryUUID` (see {@link entryUuidOf}).
 * - **Suspended users** carry `employeeType: suspended` (inetOrgPerson's own attribute; the entry
 *   stays where it is): select them with {@link SUSPENDED_FILTER}, `(employeeType=suspended)`.
 * - `ou=groups`: one entry per group, `cn=<name>`, with `description` and `entryUUID`, of the class
 *   asked for (per group if need be, for the openldap preset's three):
 *   - `groupOfNames`: `member` DNs (users, and groups for GROUP-type members: nesting), `owner`
 *     DNs of OWNER-role users;
 *   - `groupOfUniqueNames`: the same as `uniqueMember`;
 *   - `posixGroup`: `memberUid` (members' uids) and `gidNumber`; it cannot nest, so GROUP-type and
 *     external members are left out.
 * - **Empty groups**: `member`/`uniqueMember` is required (at least one value), so a group with no
 *   member gets one that names nobody: the empty DN (`member:`, the default) or, with
 *   `emptyGroupMember: "self"`, the group's own DN. A posixGroup simply has no memberUid.
 * - A member with no user behind it (a USER member at another domain, an EXTERNAL one) becomes a DN
 *   under `ou=external`, which holds no entries: `mail=<address>,ou=external,<base>`, the dangling
 *   reference a real directory keeps after a deletion. `CUSTOMER` members (everyone in the domain)
 *   have no LDAP equivalent and are left out.
 *
 * Not here: the base entry itself and the account idpscim binds as (slapd.ts adds both).
 */
import { createHash } from "node:crypto";
import type { ScenarioGoogle, ScenarioGoogleGroup, ScenarioGoogleUser, ScenarioMember } from "../emulators/scenario.ts";

export type GroupClass = "groupOfNames" | "groupOfUniqueNames" | "posixGroup";

export const SUSPENDED_ATTRIBUTE = "employeeType";
export const SUSPENDED_VALUE = "suspended";
/** The filter that selects suspended users (the adapter's `suspended_filter`). */
export const SUSPENDED_FILTER = `(${SUSPENDED_ATTRIBUTE}=${SUSPENDED_VALUE})`;

export interface LdapDirectoryOptions {
  /** Default: the scenario's domain, `example.com` → `dc=example,dc=com`. */
  baseDn?: string;
  /** One class for every group, or a choice per group (default `groupOfNames`). */
  groupClass?: GroupClass | ((group: ScenarioGoogleGroup, index: number) => GroupClass);
  /** What stands in the required member attribute of a group with no member (default `"empty-dn"`). */
  emptyGroupMember?: "empty-dn" | "self";
  /** A posixGroup's `gidNumber` is this plus the group's index in the scenario (default 10000). */
  firstGidNumber?: number;
}

export interface LdapUser {
  dn: string;
  uid: string;
  email: string;
  /** The scenario's (Google) id. */
  sourceId: string;
  entryUUID: string;
  suspended: boolean;
}

export interface LdapGroup {
  dn: string;
  cn: string;
  email: string;
  sourceId: string;
  entryUUID: string;
  objectClass: GroupClass;
  /** DNs (`member`/`uniqueMember`) or uids (`memberUid`), as written; [] for an empty group. */
  members: string[];
  gidNumber?: number;
}

export interface LdapDirectory {
  baseDn: string;
  peopleDn: string;
  groupsDn: string;
  /** Where the DNs of members with no entry point (no entry is made there). */
  externalDn: string;
  users: LdapUser[];
  groups: LdapGroup[];
  /** By primaryEmail or group email, case-insensitively. */
  user(email: string): LdapUser | undefined;
  group(email: string): LdapGroup | undefined;
  /** The LDIF, one record per item (`ou=people`, `ou=groups`, users, groups), each ending in a blank line. */
  entries(): Generator<string>;
  /** The whole LDIF as one string (small directories; large ones stream `entries()`). */
  text(): string;
}

/** The scenario's directory as LDIF with its DN layout; throws when two groups share a name (their DNs would clash). */
export function scenarioDirectory(google: ScenarioGoogle, options: LdapDirectoryOptions = {}): LdapDirectory {
  const baseDn = options.baseDn ?? domainDn(google.domain);
  const layout = { peopleDn: `ou=people,${baseDn}`, groupsDn: `ou=groups,${baseDn}`, externalDn: `ou=external,${baseDn}` };
  const users = nameUsers(google.users, layout.peopleDn);
  const usersByEmail = new Map(users.map((u) => [u.email.toLowerCase(), u]));
  const groups = describeGroups(google.groups, layout, usersByEmail, options);
  const groupsByEmail = new Map(groups.map((g) => [g.email.toLowerCase(), g]));
  function* entries(): Generator<string> {
    yield organizationalUnit(layout.peopleDn, "people");
    yield organizationalUnit(layout.groupsDn, "groups");
    for (const [i, user] of google.users.entries()) yield userEntry(user, users[i]!, usersByEmail);
    for (const [i, group] of google.groups.entries()) yield groupEntry(group, groups[i]!, usersByEmail, options.emptyGroupMember ?? "empty-dn");
  }
  return {
    baseDn,
    ...layout,
    users,
    groups,
    user: (email) => usersByEmail.get(email.toLowerCase()),
    group: (email) => groupsByEmail.get(email.toLowerCase()),
    entries,
    text: () => [...entries()].join(""),
  };
}

/** A stable entryUUID for a scenario id (a name-based, version-5-shaped UUID): tests can work out what the adapter reads. */
export function entryUuidOf(sourceId: string): string {
  const hash = createHash("sha1").update(`idpscim test directory\0${sourceId}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `example.com` → `dc=example,dc=com`. */
export function domainDn(domain: string): string {
  return domain
    .split(".")
    .filter((label) => label !== "")
    .map((label) => `dc=${escapeDnValue(label)}`)
    .join(",");
}

/** An RDN value escaped as RFC 4514 §2.4 asks. */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/\0/g, "\\00")
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, "\\ ");
}

// RFC 2849's SAFE-STRING: anything else (non-ASCII, a leading space, colon or "<", a trailing space,
// a line break) goes base64, as `attr:: …`.
const SAFE_STRING = /^(?:[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*)?$/;

/** One LDIF line (unfolded: slapadd and ldapmodify take long lines), ending in a newline. */
export function ldifLine(attribute: string, value: string): string {
  if (SAFE_STRING.test(value) && !value.endsWith(" ")) return value === "" ? `${attribute}:\n` : `${attribute}: ${value}\n`;
  return `${attribute}:: ${Buffer.from(value, "utf8").toString("base64")}\n`;
}

/** An LDIF record from a DN and attribute/value pairs (undefined and empty values are left out). */
export function ldifRecord(dn: string, attributes: [string, string | undefined][]): string {
  let text = ldifLine("dn", dn);
  for (const [name, value] of attributes) if (value !== undefined && value !== "") text += ldifLine(name, value);
  return `${text}\n`;
}

function organizationalUnit(dn: string, ou: string): string {
  return ldifRecord(dn, [["objectClass", "top"], ["objectClass", "organizationalUnit"], ["ou", ou]]);
}

/** uids and DNs in scenario order: the first user with a local part gets it as uid. */
function nameUsers(users: ScenarioGoogleUser[], peopleDn: string): LdapUser[] {
  const taken = new Set<string>();
  return users.map((user) => {
    const local = user.primaryEmail.split("@")[0]!;
    const uid = local !== "" && !taken.has(local.toLowerCase()) ? local : user.primaryEmail;
    taken.add(uid.toLowerCase());
    return {
      dn: `uid=${escapeDnValue(uid)},${peopleDn}`,
      uid,
      email: user.primaryEmail,
      sourceId: user.id,
      entryUUID: entryUuidOf(user.id),
      suspended: user.suspended === true,
    };
  });
}

type Layout = { groupsDn: string; externalDn: string };

function describeGroups(groups: ScenarioGoogleGroup[], layout: Layout, usersByEmail: Map<string, LdapUser>, options: LdapDirectoryOptions): LdapGroup[] {
  const dnByEmail = new Map<string, string>();
  const byName = new Map<string, string>();
  for (const group of groups) {
    const clash = byName.get(group.name.toLowerCase());
    if (clash !== undefined) throw new Error(`groups ${clash} and ${group.email} are both named "${group.name}": their DNs (cn=…,${layout.groupsDn}) would be the same; rename one in the scenario`);
    byName.set(group.name.toLowerCase(), group.email);
    dnByEmail.set(group.email.toLowerCase(), `cn=${escapeDnValue(group.name)},${layout.groupsDn}`);
  }
  return groups.map((group, index) => {
    const objectClass = typeof options.groupClass === "function" ? options.groupClass(group, index) : (options.groupClass ?? "groupOfNames");
    const members =
      objectClass === "posixGroup"
        ? unique(group.members.flatMap((m) => posixMemberUid(m, usersByEmail)))
        : unique(group.members.flatMap((m) => memberDn(m, usersByEmail, dnByEmail, layout.externalDn)));
    return {
      dn: dnByEmail.get(group.email.toLowerCase())!,
      cn: group.name,
      email: group.email,
      sourceId: group.id,
      entryUUID: entryUuidOf(group.id),
      objectClass,
      members,
      ...(objectClass === "posixGroup" ? { gidNumber: (options.firstGidNumber ?? 10000) + index } : {}),
    };
  });
}

/** posixGroup names users by uid only: no nesting, no member without an entry. */
function posixMemberUid(member: ScenarioMember, usersByEmail: Map<string, LdapUser>): string[] {
  const user = member.type === "USER" && member.email ? usersByEmail.get(member.email.toLowerCase()) : undefined;
  return user ? [user.uid] : [];
}

function memberDn(member: ScenarioMember, usersByEmail: Map<string, LdapUser>, groupDns: Map<string, string>, externalDn: string): string[] {
  if (member.type === "CUSTOMER" || !member.email) return [];
  const key = member.email.toLowerCase();
  if (member.type === "GROUP") return [groupDns.get(key)!];
  return [usersByEmail.get(key)?.dn ?? `mail=${escapeDnValue(member.email)},${externalDn}`];
}

/** Attribute values must not repeat (slapd refuses the entry); DNs and uids compare case-insensitively here. */
function unique(values: string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => !seen.has(v.toLowerCase()) && seen.add(v.toLowerCase()));
}

type Pairs = [string, string | undefined][];

function userEntry(user: ScenarioGoogleUser, named: LdapUser, usersByEmail: Map<string, LdapUser>): string {
  const given = user.name?.givenName?.trim() ?? "";
  const family = user.name?.familyName?.trim() ?? "";
  const cn = user.name?.fullName?.trim() || `${given} ${family}`.trim() || user.primaryEmail;
  const organization = primaryOf(user.organizations);
  const manager = (user.relations as { type?: string; value?: string }[] | undefined)?.find((r) => r.type === "manager")?.value;
  const attributes: Pairs = [
    ...(["top", "person", "organizationalPerson", "inetOrgPerson"].map((c) => ["objectClass", c]) as Pairs),
    ["uid", named.uid],
    ["cn", cn],
    ["sn", family || cn],
    ["givenName", given],
    ["displayName", user.name?.displayName?.trim() || cn],
    ["mail", user.primaryEmail],
    ["title", nonBlank(organization?.title)],
    ["ou", nonBlank(organization?.department)],
    ["o", nonBlank(organization?.name)],
    ["employeeNumber", nonBlank(externalId(user, "organization"))],
    ...phoneAttributes(user),
    ...addressAttributes(user),
    ["preferredLanguage", nonBlank((user.languages as { languageCode?: string; preference?: string }[] | undefined)?.find((l) => l.preference !== "not_preferred")?.languageCode)],
    ["manager", manager === undefined ? undefined : usersByEmail.get(manager.toLowerCase())?.dn],
    [SUSPENDED_ATTRIBUTE, named.suspended ? SUSPENDED_VALUE : undefined],
    ["entryUUID", named.entryUUID],
  ];
  return ldifRecord(named.dn, attributes);
}

function groupEntry(group: ScenarioGoogleGroup, described: LdapGroup, usersByEmail: Map<string, LdapUser>, emptyGroupMember: "empty-dn" | "self"): string {
  const head: Pairs = [["objectClass", "top"], ["objectClass", described.objectClass], ["cn", group.name], ["description", nonBlank(group.description)]];
  const tail: Pairs = [["entryUUID", described.entryUUID]];
  if (described.objectClass === "posixGroup") {
    return ldifRecord(described.dn, [...head, ["gidNumber", String(described.gidNumber)], ...described.members.map((uid): [string, string] => ["memberUid", uid]), ...tail]);
  }
  const memberAttribute = described.objectClass === "groupOfNames" ? "member" : "uniqueMember";
  const owners = unique(group.members.filter((m) => m.role === "OWNER" && m.type === "USER" && m.email).flatMap((m) => usersByEmail.get(m.email!.toLowerCase())?.dn ?? []));
  let record = ldifRecord(described.dn, [...head, ...owners.map((dn): [string, string] => ["owner", dn]), ...described.members.map((dn): [string, string] => [memberAttribute, dn]), ...tail]);
  // ldifRecord leaves empty values out, so the empty DN that stands for "nobody" is written here.
  if (described.members.length === 0) {
    record = record.slice(0, -1) + (emptyGroupMember === "self" ? ldifLine(memberAttribute, described.dn) : ldifLine(memberAttribute, "")) + "\n";
  }
  return record;
}

function nonBlank(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/** The entry marked primary, else the first (Google's rule for organizations, addresses, phones). */
function primaryOf(list: unknown): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  const items = list.filter((item): item is Record<string, unknown> => typeof item === "object" && item !== null);
  return items.find((item) => item.primary === true) ?? items[0];
}

function externalId(user: ScenarioGoogleUser, type: string): unknown {
  return (user.externalIds as { type?: string; value?: string }[] | undefined)?.find((e) => e.type === type)?.value;
}

// telephoneNumber's syntax is a PrintableString: slapadd refuses anything else, so such a value is left out.
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:?=]+$/;

function phoneAttributes(user: ScenarioGoogleUser): Pairs {
  const phones = (Array.isArray(user.phones) ? user.phones : []) as { type?: string; value?: string }[];
  const printable = (value: unknown) => (typeof value === "string" && PRINTABLE.test(value.trim()) ? value.trim() : undefined);
  const work = phones.find((p) => p.type === "work") ?? phones.find((p) => p.type !== "mobile");
  return [
    ["telephoneNumber", printable(work?.value)],
    ["mobile", printable(phones.find((p) => p.type === "mobile")?.value)],
  ];
}

function addressAttributes(user: ScenarioGoogleUser): Pairs {
  const addresses = Array.isArray(user.addresses) ? (user.addresses as Record<string, unknown>[]) : [];
  const address = addresses.find((a) => a.type === "work") ?? primaryOf(addresses);
  return [
    ["street", nonBlank(address?.streetAddress)],
    ["l", nonBlank(address?.locality)],
    ["st", nonBlank(address?.region)],
    ["postalCode", nonBlank(address?.postalCode)],
  ];
}
