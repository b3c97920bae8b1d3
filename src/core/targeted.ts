/**
 * @module Sync on demand (`sync --user EMAIL`, `--group EMAIL-OR-NAME`): a run that reads, plans
 * and applies only the named users and groups, and merges its result into the state. Pure rules
 * (what the targets are, the source and tenant the planner is given, which operations are kept)
 * beside the few SCIM reads the named resources need.
 *
 * The planner is the full run's, unchanged: it is given the state as the source of every record
 * outside the targets (so it plans nothing for them) and what was read for the targets. Its plan
 * is then cut down to the targets, so nothing else can be touched whatever the planner does.
 */
import type { DesiredGroup, SyncState, TenantGroup, TenantSnapshot } from "../model/index.ts";
import { SyncError } from "./errors.ts";
import type { Operation, Plan } from "./plan.ts";
import { forEachLimit } from "./pool.ts";
import type { KnownRecords, ScimTarget, SourceSnapshot, SourceUser, SyncTargets, TargetAnswer, TargetedRead } from "./ports.ts";
import { tenantFromState } from "./state.ts";
import { shown } from "./text.ts";
import { READ_CONCURRENCY } from "./confirm.ts";

/** What a targeted run may act on, by source id. */
export interface TargetScope {
  /** Users whose records may be created or updated: the named users and the named groups' members. */
  users: Set<string>;
  /** The named users: they alone may be deleted or deactivated for leaving the scope, and their memberships change in every group they touch. */
  namedUsers: Set<string>;
  /** Groups that may be created or updated, and have the named users' memberships changed. */
  groups: Set<string>;
  /** The named groups: they alone may be deleted, and their whole member list is synced. */
  namedGroups: Set<string>;
}

/**
 * The scope of a targeted run, from the source's answers and the state. A name the source does not
 * know, or knows outside the scope, is a target only when the state manages it (it left: the
 * policy for leavers applies to it alone); otherwise it is a problem: exit 2, nothing written.
 */
export function resolveTargets(read: TargetedRead, state: SyncState): TargetScope {
  const scope: TargetScope = { users: new Set(), namedUsers: new Set(), groups: new Set(), namedGroups: new Set() };
  const problems: string[] = [];
  for (const answer of read.users) {
    const managed = answer.several ? undefined : (answer.sourceId ?? managedUserNamed(state, answer.asked));
    if (answer.inScope && answer.sourceId !== undefined) scope.users.add(answer.sourceId);
    else if (managed === undefined || state.users[managed] === undefined) problems.push(`user "${shown(answer.asked)}" ${answer.note ?? "is not in scope"}`);
    if (managed !== undefined && (answer.inScope || state.users[managed] !== undefined)) scope.namedUsers.add(managed);
  }
  for (const answer of read.groups) {
    // Several groups of that name: none of them is taken, nor the state's of that name.
    const managed = answer.several ? undefined : (answer.sourceId ?? managedGroupNamed(state, answer.asked));
    if (answer.inScope && answer.sourceId !== undefined) scope.groups.add(answer.sourceId);
    else if (managed === undefined || state.groups[managed] === undefined) problems.push(`group "${shown(answer.asked)}" ${answer.note ?? "is not in scope"}`);
    if (managed !== undefined && (answer.inScope || state.groups[managed] !== undefined)) scope.namedGroups.add(managed);
  }
  if (problems.length > 0) {
    throw new SyncError("TARGET_UNKNOWN", `nothing to sync on demand: ${problems.join("; ")}`, {
      hint: "name a user by its primary email and a group by its email or name, as the source holds them and within the sync's scope; nothing was written",
    });
  }
  for (const user of read.snapshot.users) scope.users.add(user.sourceId);
  for (const group of read.snapshot.groups) scope.groups.add(group.sourceId);
  // The managed groups a named user is recorded in: a membership it lost at the source is removed.
  for (const [sourceId, group] of Object.entries(state.groups)) {
    if (group.memberSourceIds.some((id) => scope.namedUsers.has(id))) scope.groups.add(sourceId);
  }
  return scope;
}

/** The state's users by email and groups by name, for the source's targeted read (see KnownRecords). */
export function knownRecords(state: SyncState): KnownRecords {
  const userIdByEmail = new Map<string, string>();
  for (const [sourceId, user] of Object.entries(state.users)) userIdByEmail.set(user.attributes.email.toLowerCase(), sourceId);
  const groupIdByName = new Map<string, string>();
  for (const [sourceId, group] of Object.entries(state.groups)) groupIdByName.set(group.displayName, sourceId);
  return { userIdByEmail, groupIdByName };
}

function managedUserNamed(state: SyncState, asked: string): string | undefined {
  const name = asked.toLowerCase();
  return Object.keys(state.users).find((id) => {
    const { userName, email } = state.users[id]!.attributes;
    return userName.toLowerCase() === name || email.toLowerCase() === name;
  });
}

function managedGroupNamed(state: SyncState, asked: string): string | undefined {
  return Object.keys(state.groups).find((id) => state.groups[id]!.displayName === asked);
}

/**
 * The targets out of a full read, for a source without a targeted read of its own (LDAP: a few
 * paged searches, and its scope is the full read's by construction). A user is named by its
 * userName or email (any case), a group by its name or source id, or by what the state last knew
 * them as (a user whose email changed is the same user); the snapshot is cut as a
 * targeted read's (the named users' groups with only them as members, the named groups whole).
 */
export function targetsFromSnapshot(full: SourceSnapshot, targets: SyncTargets, known?: KnownRecords): TargetedRead {
  const users: TargetAnswer[] = targets.users.map((asked) => {
    const name = asked.toLowerCase();
    const formerly = known?.userIdByEmail.get(name);
    const user =
      full.users.find((u) => u.attributes.userName.toLowerCase() === name || u.attributes.email.toLowerCase() === name) ??
      full.users.find((u) => u.sourceId === formerly);
    return user ? { asked, sourceId: user.sourceId, inScope: true } : { asked, inScope: false, note: "is not a user of the source in scope" };
  });
  const groups: TargetAnswer[] = targets.groups.map((asked) => {
    const named = full.groups.filter((g) => g.displayName === asked || g.sourceId === asked);
    const formerly = known?.groupIdByName.get(asked);
    const found = named.length > 0 ? named : full.groups.filter((g) => g.sourceId === formerly);
    if (found.length > 1) return { asked, inScope: false, several: true, note: "is the name of several groups of the source: name it by its id" };
    return found[0] ? { asked, sourceId: found[0].sourceId, inScope: true } : { asked, inScope: false, note: "is not a group of the source in scope" };
  });
  const namedUsers = new Set(users.flatMap((a) => (a.sourceId === undefined ? [] : [a.sourceId])));
  const namedGroups = new Set(groups.flatMap((a) => (a.inScope && a.sourceId !== undefined ? [a.sourceId] : [])));
  const cut = full.groups.flatMap((g) => {
    if (namedGroups.has(g.sourceId)) return [g];
    const members = g.memberSourceIds.filter((id) => namedUsers.has(id));
    return members.length === 0 ? [] : [{ ...g, memberSourceIds: members }];
  });
  const held = new Set([...namedUsers, ...cut.filter((g) => namedGroups.has(g.sourceId)).flatMap((g) => g.memberSourceIds)]);
  const relevant = (r: { kind: string; sourceId: string }) => (r.kind === "user" ? held.has(r.sourceId) : namedGroups.has(r.sourceId));
  const rejected = (full.rejected ?? []).filter(relevant);
  return { users, groups, snapshot: { users: full.users.filter((u) => held.has(u.sourceId)), groups: cut, warnings: full.warnings, ...(rejected.length > 0 ? { rejected } : {}) } };
}

/**
 * The source the planner is given: what was read for the targets, and every other managed record
 * as the state holds it (so the plan leaves it as it is). A named user or group that left the
 * scope is absent, so the planner removes it. A group read for a named user keeps the members the
 * state records but for the named users, whose memberships are the source's.
 */
export function targetedSource(read: SourceSnapshot, scope: TargetScope, state: SyncState): SourceSnapshot {
  const readUsers = new Set(read.users.map((u) => u.sourceId));
  const users: SourceUser[] = [...read.users];
  for (const [sourceId, managed] of Object.entries(state.users)) {
    if (!readUsers.has(sourceId) && !scope.namedUsers.has(sourceId)) users.push({ sourceId, attributes: managed.attributes, suspended: false });
  }
  const readGroups = new Set(read.groups.map((g) => g.sourceId));
  const groups: DesiredGroup[] = read.groups.map((g) => (scope.namedGroups.has(g.sourceId) ? g : { ...g, memberSourceIds: namedMembers(state, g, scope) }));
  for (const [sourceId, managed] of Object.entries(state.groups)) {
    if (readGroups.has(sourceId) || scope.namedGroups.has(sourceId)) continue;
    const group = { sourceId, displayName: managed.displayName, memberSourceIds: [] };
    groups.push({ ...group, memberSourceIds: scope.groups.has(sourceId) ? namedMembers(state, group, scope) : managed.memberSourceIds });
  }
  return { users, groups, warnings: read.warnings, ...(read.rejected ? { rejected: read.rejected } : {}) };
}

/** The state's members of `group` but the named users, and the named users the source lists in it; sorted. */
function namedMembers(state: SyncState, group: DesiredGroup, scope: TargetScope): string[] {
  const recorded = state.groups[group.sourceId]?.memberSourceIds ?? [];
  const members = new Set(recorded.filter((id) => !scope.namedUsers.has(id)));
  for (const id of group.memberSourceIds) if (scope.namedUsers.has(id)) members.add(id);
  return [...members].sort();
}

/** The plan cut down to the targets: every operation, record change and failed record on anything else is dropped. */
export function restrictPlan(plan: Plan, scope: TargetScope): Plan {
  const user = (id: string | undefined) => id !== undefined && (scope.users.has(id) || scope.namedUsers.has(id));
  const group = (id: string | undefined) => id !== undefined && (scope.groups.has(id) || scope.namedGroups.has(id));
  const operations = plan.operations.flatMap((op): Operation[] => {
    switch (op.kind) {
      case "createUser":
      case "updateUser":
        return user(op.sourceId) ? [op] : [];
      case "deleteUser":
        return op.sourceId !== undefined && scope.namedUsers.has(op.sourceId) ? [op] : [];
      case "createGroup":
      case "updateGroup":
        return group(op.sourceId) ? [op] : [];
      case "deleteGroup":
        return op.sourceId !== undefined && scope.namedGroups.has(op.sourceId) ? [op] : [];
      case "addMembers":
      case "removeMembers": {
        if (!group(op.groupSourceId)) return [];
        if (scope.namedGroups.has(op.groupSourceId)) return [op];
        const members = op.members.filter((m) => m.sourceId !== undefined && scope.namedUsers.has(m.sourceId));
        return members.length === 0 ? [] : [{ ...op, members }];
      }
    }
  });
  return {
    ...plan,
    operations,
    bookkeeping: { forgetUsers: plan.bookkeeping.forgetUsers.filter(user), forgetGroups: plan.bookkeeping.forgetGroups.filter(group) },
    rejected: plan.rejected.filter((r) => (r.kind === "user" ? user(r.sourceId) : group(r.sourceId))),
  };
}

/**
 * A group read for the targets whose name a managed group not read holds (the planner, given the
 * state as that group's source, sees two groups of one name): its failed record says so, not that
 * Google holds two groups of that name, which this run does not know.
 */
export function explainNameClashes(plan: Plan, read: SourceSnapshot, state: SyncState): Plan {
  const readIds = new Set(read.groups.map((g) => g.sourceId));
  const holders = new Map<string, string>();
  for (const [sourceId, group] of Object.entries(state.groups)) if (!readIds.has(sourceId)) holders.set(group.displayName, sourceId);
  const nameOf = new Map(read.groups.map((g) => [g.sourceId, g.displayName]));
  const rejected = plan.rejected.map((r) => {
    const holder = r.kind === "group" && readIds.has(r.sourceId) ? holders.get(nameOf.get(r.sourceId)!) : undefined;
    if (holder === undefined) return r;
    return {
      ...r,
      reason: `its name is still held in AWS by the managed group of Google group ${holder}, which this run was not asked about (renamed or deleted in Google?): name both with --group, or let the scheduled run settle it`,
    };
  });
  return { ...plan, rejected };
}

/**
 * The tenant as the state says it is, with what AWS holds for the named users (read by id, or
 * found by externalId then userName), their groups (one `members.value` filter each), and the
 * named groups (by id or found, and their members). Never a listing of the tenant. Managed groups
 * a named user is in at AWS join the scope: a membership added by hand is taken away.
 */
export async function targetedTenant(target: ScimTarget, state: SyncState, scope: TargetScope, read: SourceSnapshot): Promise<TargetedTenant> {
  const base = tenantFromState(state);
  const users = new Map(base.users.map((u) => [u.scimId, u]));
  const groups = new Map(base.groups.map((g) => [g.scimId, g]));
  const readUsers = new Map(read.users.map((u) => [u.sourceId, u]));
  const readGroups = new Map(read.groups.map((g) => [g.sourceId, g]));
  const alreadyRead = { users: new Set<string>(), groups: new Set<string>() };
  let reads = 0;
  const lookUp = async <T>(get: () => Promise<T | undefined>) => {
    reads++;
    return get();
  };
  const groupsOfUser = new Map<string, Set<string>>();
  await forEachLimit([...scope.namedUsers], READ_CONCURRENCY, async (sourceId) => {
    const recorded = state.users[sourceId];
    const userName = readUsers.get(sourceId)?.attributes.userName;
    if (recorded !== undefined) {
      users.delete(recorded.scimId);
      alreadyRead.users.add(recorded.scimId);
    }
    const found =
      recorded !== undefined
        ? await lookUp(() => target.getUser(recorded.scimId))
        : ((await lookUp(() => target.findUser({ externalId: sourceId }))) ?? (userName === undefined ? undefined : await lookUp(() => target.findUser({ userName }))));
    if (found === undefined) return;
    alreadyRead.users.add(found.scimId);
    users.set(found.scimId, found);
    groupsOfUser.set(found.scimId, new Set(await lookUp(() => target.listGroupsOfUser(found.scimId))));
  });
  const namedScimIds = new Set<string>();
  const groupSourceIds = [...new Set([...scope.namedGroups, ...[...scope.groups].filter((id) => state.groups[id] === undefined)])];
  await forEachLimit(groupSourceIds, READ_CONCURRENCY, async (sourceId) => {
    const recorded = state.groups[sourceId];
    const displayName = readGroups.get(sourceId)?.displayName;
    if (recorded !== undefined) {
      groups.delete(recorded.scimId);
      alreadyRead.groups.add(recorded.scimId);
    }
    const found =
      recorded !== undefined
        ? await lookUp(() => target.getGroup(recorded.scimId))
        : ((await lookUp(() => target.findGroup({ externalId: sourceId }))) ?? (displayName === undefined ? undefined : await lookUp(() => target.findGroup({ displayName }))));
    if (found === undefined) return;
    alreadyRead.groups.add(found.scimId);
    const named = scope.namedGroups.has(sourceId);
    if (named) namedScimIds.add(found.scimId);
    const members = named ? await lookUp(() => target.listGroupMembers(found.scimId)) : [];
    groups.set(found.scimId, { ...found, memberScimIds: members });
  });
  joinUsersGroups(groups, groupsOfUser, namedScimIds, state, scope);
  return { tenant: { users: [...users.values()], groups: [...groups.values()] }, reads, alreadyRead };
}

export interface TargetedTenant {
  tenant: TenantSnapshot;
  /** SCIM requests spent. */
  reads: number;
  /** SCIM ids `tenant` holds as AWS answered them (or found gone): ownership checks need not read them again. */
  alreadyRead: { users: Set<string>; groups: Set<string> };
}

/** Each named user's memberships as AWS answered them, in every group of the tenant that is not a named group (whose members were read whole). */
function joinUsersGroups(
  groups: Map<string, TenantGroup>,
  groupsOfUser: ReadonlyMap<string, ReadonlySet<string>>,
  namedScimIds: ReadonlySet<string>,
  state: SyncState,
  scope: TargetScope,
): void {
  const managedByScimId = new Map(Object.entries(state.groups).map(([sourceId, g]) => [g.scimId, sourceId]));
  for (const [scimId, group] of groups) {
    if (namedScimIds.has(scimId)) continue;
    const members = new Set(group.memberScimIds ?? []);
    let changed = false;
    for (const [userScimId, memberOf] of groupsOfUser) {
      const inGroup = memberOf.has(scimId);
      if (inGroup !== members.has(userScimId)) {
        changed = true;
        if (inGroup) members.add(userScimId);
        else members.delete(userScimId);
      }
      // A managed group the user is in at AWS only: its membership is removed (the group joins the scope).
      if (inGroup && managedByScimId.has(scimId)) scope.groups.add(managedByScimId.get(scimId)!);
    }
    if (changed) groups.set(scimId, { ...group, memberScimIds: [...members] });
  }
}
