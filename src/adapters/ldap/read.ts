/**
 * @module One read of an LDAP directory as the core's SourceSnapshot: the users in scope, the
 * groups in scope with their members flattened through nested groups, and only the users some
 * group in scope holds (sync.method "groups", as with Google) or every user read (sync.method "users"). Written against `Searcher`, so the
 * same code reads slapd in the end-to-end tests and recorded Active Directory answers in the unit tests.
 */
import { flattenGroups } from "../../core/nesting.ts";
import type { Logger, SourceSnapshot, SourceUser } from "../../core/ports.ts";
import { shown } from "../../core/text.ts";
import type { DesiredGroup, UserFieldName } from "../../model/index.ts";
import type { LdapSettings } from "../../config/ldap-settings.ts";
import { readNested, readServerMembers, readTopGroups, outsideWarnings, type ReadGroup } from "./read-groups.ts";
import { readUsers, type ReadUser, type UserIndex } from "./read-users.ts";
import type { Searcher } from "./search.ts";
import { dnKey } from "./values.ts";

export interface ReadDirectoryOptions {
  settings: LdapSettings;
  userFields: ReadonlySet<UserFieldName>;
  /** `sync.method`: "groups" keeps the users some group in scope holds; "users" every user read (ldap.user_filter under ldap.user_base_dn); default "groups". */
  method?: "groups" | "users";
  /** Searches in flight at once on the connection (member lookups, range retrieval, server nesting). */
  concurrency: number;
  log: Pick<Logger, "debug" | "info" | "warn">;
}

/** The snapshot, and how many member DNs had to be looked up one by one (nested groups, members out of scope). */
export async function readDirectory(search: Searcher, options: ReadDirectoryOptions): Promise<SourceSnapshot & { lookups: number }> {
  const { settings, log, concurrency } = options;
  const users = await readUsers(search, settings, options.userFields);
  const server = settings.nested === "server";
  const top = await readTopGroups(search, settings, !server, concurrency);
  const warnings = [...users.warnings];
  let membersByGroup: Map<string, string[]>;
  let lookups = 0;
  let nestedCount = 0;
  if (server) {
    membersByGroup = await readServerMembers(search, settings, top, users, concurrency);
  } else {
    const nested = await readNested(search, settings, top, users, concurrency);
    const flat = flattenGroups(top.map((g) => g.key), nested.nodes);
    membersByGroup = flat.members;
    lookups = nested.lookups;
    nestedCount = nested.groups.size - top.length;
    warnings.push(...flat.warnings, ...outsideWarnings(nested.nodes));
  }
  const groups = desiredGroups(top, membersByGroup, warnings);
  const synced = syncedUsers(options.method === "users" ? undefined : groups, users, warnings);
  log.info(
    `ldap: ${synced.length} users (${synced.filter((u) => u.suspended).length} suspended) in ${groups.length} groups in scope, ` +
      `of ${users.byDn.size} users read; ${server ? "nesting flattened by the server" : `${nestedCount} nested groups followed outside the scope, ${lookups} member lookups`}, ${warnings.length} warnings`,
  );
  return { users: synced, groups, warnings, lookups };
}

/** The groups in scope that have an id, each with its members' source ids sorted and unique. */
function desiredGroups(top: readonly ReadGroup[], membersByGroup: Map<string, string[]>, warnings: string[]): DesiredGroup[] {
  const groups: DesiredGroup[] = [];
  const ids = new Set<string>();
  for (const group of top) {
    if (group.sourceId === undefined || ids.has(group.sourceId)) {
      warnings.push(`group ${shown(group.dn)} has ${group.sourceId === undefined ? "no id attribute (check ldap.preset or ldap.group_attributes)" : "the id of another group"}; not synced`);
      continue;
    }
    ids.add(group.sourceId);
    const members = [...new Set(membersByGroup.get(group.key) ?? [])].sort();
    groups.push({ sourceId: group.sourceId, displayName: group.name, memberSourceIds: members });
  }
  return groups;
}

/**
 * The users some group holds (every user read when `groups` is undefined: method "users"), in source-id order, with each manager's DN resolved to the manager's
 * source id when the manager is synced too (the planner turns that into the manager's SCIM id).
 */
function syncedUsers(groups: readonly DesiredGroup[] | undefined, users: UserIndex, warnings: string[]): SourceUser[] {
  const held = groups === undefined ? undefined : new Set(groups.flatMap((g) => g.memberSourceIds));
  const read: ReadUser[] = [...users.byDn.values()].filter((u) => held === undefined || held.has(u.user.sourceId)).sort((a, b) => (a.user.sourceId < b.user.sourceId ? -1 : a.user.sourceId > b.user.sourceId ? 1 : 0));
  const byDn = new Map(read.map((u) => [u.dnKey, u.user.sourceId]));
  return read.map((u) => {
    if (u.warnings) warnings.push(...u.warnings);
    const manager = u.manager === undefined ? undefined : byDn.get(dnKey(u.manager));
    if (manager !== undefined) u.user.attributes.managerSourceId = manager;
    return u.user;
  });
}
