/**
 * @module What `sync --user` / `--group` read from the Directory API (docs/google-directory.md §2):
 * the in-scope groups (one groups.list per `gws.groups_filter` query, none without a filter), each
 * named user (users.get) and the groups it is in through every nesting level (groups.list?userKey,
 * walked upwards), each named group and its derived members (members.list) with their users. Never
 * the whole directory.
 */
import type { admin_directory_v1 } from "googleapis/build/src/apis/admin/directory_v1.js";
import { MAX_NESTING_DEPTH } from "../../core/nesting.ts";
import { forEachLimit } from "../../core/pool.ts";
import type { KnownRecords, SourceUser, SyncTargets, TargetAnswer, TargetedRead } from "../../core/ports.ts";
import type { DesiredGroup } from "../../model/index.ts";
import { desiredGroups, GROUPS_PAGE, readGroups, readMembers } from "./groups.ts";
import { call, listAll, NO_RETRY, type DirectoryContext } from "./requests.ts";
import { mapGoogleUser, matchesAnyQuery, readMatchingUsers, readUsers, warnExternalMembers, type ReadUser, type UserReadSpec } from "./users.ts";

type Group = admin_directory_v1.Schema$Group;

/** The in-scope groups by id, or `undefined` when every group is in scope (no `gws.groups_filter`): then none is listed. */
type Scope = Map<string, Group> | undefined;

/**
 * The scope rule of a targeted read, in one place, as the full read applies it (directory-source
 * usersInScope): with `sync.method = "groups"` a Directory user is in scope when it is a member,
 * directly or through nested groups, of a group the scope selects (`groups`: those it is in), and
 * matches a `gws.users_filter` query when there is one; with "users", when it matches one. Why
 * not, in words; `undefined` when it is in scope. (sync.exclude_* come after, core/scope.ts.)
 */
async function userScopeProblem(ctx: DirectoryContext, user: admin_directory_v1.Schema$User, groups: readonly Group[], scope: Scope, into: Into): Promise<string | undefined> {
  const { method, usersFilter, spec } = into;
  if (method === "groups" && groups.length === 0) return notInScope(scope);
  if (usersFilter.length === 0) return undefined;
  return (await matchesAnyQuery(ctx, usersFilter, user.id!, user.primaryEmail ?? "", spec)) ? undefined : "matches no gws.users_filter query";
}

/** Why a Directory user is not in scope, in words: with a filter, no group it selects holds the user; without one, no group does. */
const notInScope = (scope: Scope) =>
  scope === undefined ? "is not a member of any group, directly or through a nested group" : "is not a member of any group in scope (gws.groups_filter), directly or through a nested group";

export interface TargetedReadOptions {
  /** `gws.groups_filter`: groups.list queries, ORed; [] = every group. */
  groupsFilter: string[];
  /** `gws.users_filter`: users.list queries, ORed; [] = none. */
  usersFilter: string[];
  /** `sync.method`. */
  method: "groups" | "users";
  /** How users are read and mapped (fields, custom schemas, the mapping), as the full read does. */
  spec: UserReadSpec;
  known?: KnownRecords | undefined;
}

const NO_RECORDS: KnownRecords = { userIdByEmail: new Map(), groupIdByName: new Map() };

export async function readTargets(ctx: DirectoryContext, options: TargetedReadOptions, targets: SyncTargets): Promise<TargetedRead> {
  const { groupsFilter, known = NO_RECORDS } = options;
  const scope: Scope = groupsFilter.length === 0 ? undefined : new Map((await readGroups(ctx, groupsFilter)).map((g) => [g.id!, g]));
  const warnings: string[] = [];
  const read = new Map<string, ReadUser>();
  const groups = new Map<string, DesiredGroup>();
  const users: TargetAnswer[] = [];
  const into: Into = { ...options, known, read, groups, warnings };
  for (const asked of targets.users) users.push(await readNamedUser(ctx, asked, scope, into));
  const named: TargetAnswer[] = [];
  for (const asked of targets.groups) named.push(await readNamedGroup(ctx, asked, scope, into));
  const sourceUsers = await withManagers(ctx, [...read.values()], known);
  for (const r of read.values()) if (r.warnings) warnings.push(...r.warnings);
  return { users, groups: named, snapshot: { users: sourceUsers, groups: [...groups.values()], warnings } };
}

interface Into extends Omit<TargetedReadOptions, "groupsFilter" | "known"> {
  known: KnownRecords;
  /** The users read so far, by id. */
  read: Map<string, ReadUser>;
  /** The groups read so far, by id: a named group's with all its members, another's with the named users in it. */
  groups: Map<string, DesiredGroup>;
  warnings: string[];
}

async function readNamedUser(ctx: DirectoryContext, asked: string, scope: Scope, into: Into): Promise<TargetAnswer> {
  const { projection, fieldList } = into.spec;
  const get = (userKey: string) => call(ctx, "users.get", userKey, () => ctx.admin.users.get({ userKey, ...projection, fields: fieldList }, NO_RETRY), true);
  // An email the directory no longer has, that the state knows: asked again by the user's id (its email changed?).
  const formerly = into.known.userIdByEmail.get(asked.toLowerCase());
  let user = await get(asked);
  if (user?.id == null && formerly !== undefined) user = await get(formerly);
  if (user?.id == null) return { asked, inScope: false, note: "is not a user of this Google Workspace (users.get answers 404)" };
  const containing = await groupsContaining(ctx, user.id);
  const inScope = containing.filter((g) => scope === undefined || scope.has(g.id!));
  const problem = await userScopeProblem(ctx, user, inScope, scope, into);
  if (problem !== undefined) return { asked, sourceId: user.id, inScope: false, note: problem };
  into.read.set(user.id, mapGoogleUser(user.id, user, into.spec));
  for (const g of inScope) {
    const group = into.groups.get(g.id!) ?? { sourceId: g.id!, displayName: g.name || g.email || g.id!, memberSourceIds: [] };
    if (!group.memberSourceIds.includes(user.id)) group.memberSourceIds = [...group.memberSourceIds, user.id].sort();
    into.groups.set(g.id!, group);
  }
  return { asked, sourceId: user.id, inScope: true };
}

/**
 * Every group `memberKey` (a user's or a group's id) is in, through every nesting level:
 * groups.list?userKey lists only direct memberships (§2.3), so each group found is asked in turn,
 * one level at a time, each group once (a cycle ends), at most MAX_NESTING_DEPTH levels deep.
 */
async function groupsContaining(ctx: DirectoryContext, memberKey: string): Promise<Group[]> {
  const found = new Map<string, Group>();
  let level = [memberKey];
  for (let depth = 0; level.length > 0 && depth <= MAX_NESTING_DEPTH; depth++) {
    const next: string[] = [];
    await forEachLimit(level, ctx.concurrency, async (userKey) => {
      await listAll(
        ctx,
        "groups.list",
        `userKey=${userKey}`,
        (pageToken) => ctx.admin.groups.list({ userKey, maxResults: GROUPS_PAGE, ...(pageToken ? { pageToken } : {}), fields: "nextPageToken,groups(id,email,name)" }, NO_RETRY),
        (page) => {
          for (const g of page.groups ?? []) {
            if (!g.id || found.has(g.id)) continue;
            found.set(g.id, g);
            next.push(g.id);
          }
        },
      );
    });
    level = next;
  }
  return [...found.values()];
}

async function readNamedGroup(ctx: DirectoryContext, asked: string, scope: Scope, into: Into): Promise<TargetAnswer> {
  const formerly = into.known.groupIdByName.get(asked);
  const group = (scope === undefined ? undefined : inScopeNamed(scope, asked, formerly)) ?? (await findGroup(ctx, asked, formerly));
  if (group === "several") return { asked, inScope: false, several: true, note: "is the name of several Google groups: name it by its email" };
  if (group?.id == null) return { asked, inScope: false, note: "is not a group of this Google Workspace (by email or name)" };
  if (scope !== undefined && !scope.has(group.id)) return { asked, sourceId: group.id, inScope: false, note: "is not selected by gws.groups_filter" };
  const { warnings } = into;
  const { memberIdsByGroup, members } = await readMembers(ctx, [group], warnings);
  const memberIds = members.sortedIds();
  // With gws.users_filter a member it does not match is out of scope, not an external account.
  const filtered = into.usersFilter.length > 0;
  const users = filtered ? await readMatchingUsers(ctx, into.usersFilter, into.spec, members) : await readUsers(ctx, members, memberIds, into.spec);
  if (!filtered) warnExternalMembers(memberIds, users, members, [group], warnings);
  for (const [id, user] of users) into.read.set(id, user);
  const [desired] = desiredGroups([group], memberIdsByGroup, users);
  into.groups.set(group.id, desired!);
  return { asked, sourceId: group.id, inScope: true };
}

/** The in-scope group `asked` names: by email (any case), else by name (exact), else the one the state knew by that name (`formerly`: renamed since). */
function inScopeNamed(scope: Map<string, Group>, asked: string, formerly: string | undefined): Group | "several" | undefined {
  const groups = [...scope.values()];
  const byEmail = groups.find((g) => g.email?.toLowerCase() === asked.toLowerCase());
  if (byEmail !== undefined) return byEmail;
  const byName = groups.filter((g) => g.name === asked);
  return byName.length > 1 ? "several" : (byName[0] ?? (formerly === undefined ? undefined : scope.get(formerly)));
}

/**
 * The group `asked` names in the whole directory: groups.get by email (exact and immediate), or
 * a groups.list query by name (§3.2: the search index may lag a day and a half behind a rename);
 * failing that, groups.get of the id the state knew by that name (`formerly`).
 */
async function findGroup(ctx: DirectoryContext, asked: string, formerly: string | undefined): Promise<Group | "several" | undefined> {
  const get = (groupKey: string) => call(ctx, "groups.get", groupKey, () => ctx.admin.groups.get({ groupKey, fields: "id,email,name" }, NO_RETRY), true);
  const found = asked.includes("@") ? await get(asked) : await groupNamed(ctx, asked);
  if (found !== undefined && (found === "several" || found.id)) return found;
  return formerly === undefined ? undefined : get(formerly);
}

/** The group of this name (exact), by a groups.list query. */
async function groupNamed(ctx: DirectoryContext, asked: string): Promise<Group | "several" | undefined> {
  const query = `name='${asked.replace(/'/g, "\\'")}'`;
  const found: Group[] = [];
  await listAll(
    ctx,
    "groups.list",
    `${ctx.customer} query=${JSON.stringify(query)}`,
    (pageToken) => ctx.admin.groups.list({ customer: ctx.customer, query, maxResults: GROUPS_PAGE, ...(pageToken ? { pageToken } : {}), fields: "nextPageToken,groups(id,email,name)" }, NO_RETRY),
    (page) => {
      for (const g of page.groups ?? []) found.push(g);
    },
  );
  const exact = found.filter((g) => g.name === asked);
  return exact.length > 1 ? "several" : exact[0];
}

/**
 * The users read, with each manager resolved to its id: among the users read, else among the
 * users the state manages (by email), else with a users.get of the manager's email (fields=id; one
 * per manager): a targeted read has not read the scope, and leaving the manager out would clear it
 * in AWS.
 */
async function withManagers(ctx: DirectoryContext, read: ReadUser[], known: KnownRecords | undefined): Promise<SourceUser[]> {
  const idByEmail = new Map(read.map((r) => [r.user.attributes.email.toLowerCase(), r.user.sourceId]));
  const idOf = (email: string) => idByEmail.get(email) ?? known?.userIdByEmail.get(email);
  const unresolved = [...new Set(read.flatMap((r) => (r.manager !== undefined && idOf(r.manager.toLowerCase()) === undefined ? [r.manager.toLowerCase()] : [])))];
  await forEachLimit(unresolved, ctx.concurrency, async (email) => {
    const manager = await call(ctx, "users.get", email, () => ctx.admin.users.get({ userKey: email, fields: "id" }, NO_RETRY), true);
    if (manager?.id) idByEmail.set(email, manager.id);
  });
  return read.map(({ user, manager }) => {
    const managerId = manager === undefined ? undefined : idOf(manager.toLowerCase());
    if (managerId !== undefined) user.attributes.managerSourceId = managerId;
    return user;
  });
}
