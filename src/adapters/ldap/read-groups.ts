/**
 * @module The groups in scope (ldap.group_base_dn and ldap.group_filter) and every group nested in
 * them wherever it lives, with their members: all of a large AD group's `member` values (range
 * retrieval), posixGroup `memberUid`s and AD primary groups, as a graph `flattenGroups` flattens.
 */
import { forEachLimit } from "../../core/pool.ts";
import { MAX_NESTING_DEPTH, type GroupNode } from "../../core/nesting.ts";
import { shown } from "../../core/text.ts";
import type { LdapSettings } from "../../config/ldap-settings.ts";
import { normalizeEntry, type RawEntry } from "./entries.ts";
import type { UserIndex } from "./read-users.ts";
import { eachEntry, type Searcher } from "./search.ts";
import { dnKey, escapeFilterValue, listOf, memberDn, ridOf, valuesOf } from "./values.ts";

/** A group as read: its id, name and direct members as the entry names them. */
export interface ReadGroup {
  key: string;
  dn: string;
  sourceId?: string;
  name: string;
  memberDns: string[];
  memberUids: string[];
  /** The RID of its objectSid (Active Directory): users whose primaryGroupID it is are members. */
  rid?: string;
}

function groupAttributes(settings: LdapSettings, withMembers: boolean): string[] {
  const g = settings.preset.groups;
  return [...new Set([g.id, ...g.name, ...(withMembers ? [...g.memberDns, ...g.memberUids] : []), ...(g.primaryGroup ? ["objectSid"] : [])])];
}

/** The filter of the groups in scope: the preset's group classes and ldap.group_filter. */
export function topGroupFilter(settings: LdapSettings): string {
  const classes = settings.preset.groups.classFilter;
  return settings.groupFilter === undefined ? classes : `(&${classes}${settings.groupFilter})`;
}

/**
 * The groups in scope, each with all its members (unless `withMembers` is false: the server
 * flattens, see readServerMembers). Only these must match the scope; nested ones are followed by
 * `readNested`.
 */
export async function readTopGroups(search: Searcher, settings: LdapSettings, withMembers: boolean, concurrency: number): Promise<ReadGroup[]> {
  const attributes = groupAttributes(settings, withMembers);
  const raws: RawEntry[] = [];
  await eachEntry(search, { base: settings.groupBaseDn, setting: "ldap.group_base_dn", filter: topGroupFilter(settings), attributes }, (raw) => raws.push(raw));
  const groups = new Array<ReadGroup>(raws.length);
  await forEachLimit(raws, concurrency, async (raw, i) => {
    groups[i] = await groupOf(search, settings, raw, attributes);
  });
  return groups;
}

/** A group entry as a ReadGroup, fetching the rest of any member list AD cut (see valuesOf). */
async function groupOf(search: Searcher, settings: LdapSettings, raw: RawEntry, attributes: readonly string[]): Promise<ReadGroup> {
  const g = settings.preset.groups;
  const entry = normalizeEntry(raw, attributes);
  const memberDns: string[] = [];
  for (const attribute of g.memberDns) {
    let { values, next } = valuesOf(entry, attribute);
    memberDns.push(...dnsOf(values));
    while (next !== undefined) {
      const request = { base: entry.dn, scope: "base" as const, filter: "(objectClass=*)", attributes: [next], setting: "ldap.group_base_dn" };
      let slice: { values: string[]; next?: string } = { values: [] };
      await eachEntry(search, request, (more) => {
        slice = valuesOf(normalizeEntry(more, [attribute]), attribute);
      });
      memberDns.push(...dnsOf(slice.values));
      next = slice.next;
    }
  }
  const sourceId = listOf(entry[g.id])[0];
  const rid = g.primaryGroup ? ridOf(listOf(entry.objectSid)[0]) : undefined;
  return {
    key: dnKey(entry.dn),
    dn: entry.dn,
    ...(sourceId !== undefined ? { sourceId } : {}),
    name: g.name.map((n) => listOf(entry[n])[0]).find((n) => n !== undefined) ?? entry.dn,
    memberDns,
    memberUids: g.memberUids.flatMap((attribute) => valuesOf(entry, attribute).values),
    ...(rid !== undefined ? { rid } : {}),
  };
}

/**
 * Member values as DNs. The empty DN is left out: groupOfNames requires a `member`, so an empty
 * group holds `member:` (or its own DN) to name nobody.
 */
function dnsOf(values: readonly string[]): string[] {
  return values.map(memberDn).filter((dn) => dn.trim() !== "");
}

/**
 * Every group nested in `top`, looked up by DN level by level (one base search per member DN that
 * is not a user in scope: it may be a group, wherever it lives), down to one level past
 * MAX_NESTING_DEPTH so that flattenGroups can report a chain that goes deeper. Returns the graph and
 * the number of lookups made.
 */
export async function readNested(search: Searcher, settings: LdapSettings, top: readonly ReadGroup[], users: UserIndex, concurrency: number) {
  const attributes = groupAttributes(settings, true);
  const groups = new Map<string, ReadGroup>(top.map((g) => [g.key, g]));
  const notGroups = new Set<string>();
  let lookups = 0;
  let frontier = unknownMembers(top, users, groups, notGroups);
  for (let depth = 1; depth <= MAX_NESTING_DEPTH + 1 && frontier.size > 0; depth++) {
    const found: ReadGroup[] = [];
    await forEachLimit([...frontier], concurrency, async ([key, dn]) => {
      lookups++;
      let raw: RawEntry | undefined;
      const request = { base: dn, scope: "base" as const, filter: settings.preset.groups.classFilter, attributes, setting: "ldap.base_dn", missingOk: true };
      await eachEntry(search, request, (entry) => {
        raw = entry;
      });
      if (raw === undefined) notGroups.add(key);
      else found.push(await groupOf(search, settings, raw, attributes));
    });
    for (const group of found) groups.set(group.key, group);
    frontier = unknownMembers(found, users, groups, notGroups);
  }
  return { nodes: groupNodes(groups, users), lookups, groups };
}

/** Member DNs of `groups` that are neither users in scope nor groups read, nor known to be neither: key → DN. */
function unknownMembers(groups: readonly ReadGroup[], users: UserIndex, known: Map<string, ReadGroup>, notGroups: Set<string>): Map<string, string> {
  const unknown = new Map<string, string>();
  for (const group of groups) {
    for (const dn of group.memberDns) {
      const key = dnKey(dn);
      if (!users.byDn.has(key) && !known.has(key) && !notGroups.has(key)) unknown.set(key, dn);
    }
  }
  return unknown;
}

/** Each group's direct users (by source id: DNs, memberUids and the primary group's users) and nested groups (by key). */
function groupNodes(groups: Map<string, ReadGroup>, users: UserIndex): Map<string, GroupNode & { outside: number }> {
  const nodes = new Map<string, GroupNode & { outside: number }>();
  for (const group of groups.values()) {
    const direct: string[] = [];
    const nested: string[] = [];
    let outside = 0;
    for (const dn of group.memberDns) {
      const key = dnKey(dn);
      const user = users.byDn.get(key);
      if (user !== undefined) direct.push(user.user.sourceId);
      else if (groups.has(key)) nested.push(key);
      else outside++;
    }
    for (const uid of group.memberUids) {
      const user = users.byUid.get(uid);
      if (user !== undefined) direct.push(user.user.sourceId);
      else outside++;
    }
    for (const user of group.rid === undefined ? [] : (users.byPrimaryGroup.get(group.rid) ?? [])) direct.push(user.user.sourceId);
    nodes.set(group.key, { name: group.name, users: direct, groups: nested, outside });
  }
  return nodes;
}

/**
 * With ldap.nested = "server": each group's users in scope at any depth, found by Active
 * Directory itself (LDAP_MATCHING_RULE_IN_CHAIN; one paged search per group), and those whose
 * primary group it is. https://learn.microsoft.com/en-us/windows/win32/adsi/search-filter-syntax
 */
export async function readServerMembers(search: Searcher, settings: LdapSettings, top: readonly ReadGroup[], users: UserIndex, concurrency: number): Promise<Map<string, string[]>> {
  const members = new Map<string, string[]>();
  await forEachLimit(top, concurrency, async (group) => {
    const ids: string[] = [];
    const filter = `(&${settings.userFilter}(memberOf:1.2.840.113556.1.4.1941:=${escapeFilterValue(group.dn)}))`;
    await eachEntry(search, { base: settings.userBaseDn, filter, attributes: [settings.preset.userId], setting: "ldap.nested" }, (raw) => {
      const user = users.byDn.get(dnKey(raw.dn));
      if (user !== undefined) ids.push(user.user.sourceId);
    });
    for (const user of group.rid === undefined ? [] : (users.byPrimaryGroup.get(group.rid) ?? [])) ids.push(user.user.sourceId);
    members.set(group.key, ids);
  });
  return members;
}

/** One warning per group with members the read leaves out, so a scope that is too narrow is seen. */
export function outsideWarnings(nodes: ReadonlyMap<string, GroupNode & { outside: number }>): string[] {
  return [...nodes.values()]
    .filter((node) => node.outside > 0)
    .map((node) => `group ${shown(node.name)}: ${node.outside} member(s) are neither users in scope (under ldap.user_base_dn, matching ldap.user_filter) nor groups; not synced`);
}
