/**
 * @module The source-neutral end of the scope (pure): `sync.exclude_users` and
 * `sync.exclude_groups`, applied to what any source read, after every source-side filter
 * (gws.groups_filter, gws.users_filter, ldap.user_filter, …), in this one place.
 */
import type { DesiredGroup } from "../model/index.ts";
import { matchesAnyGlob } from "./match.ts";
import type { DirectorySource, HeadStart, KnownRecords, RecordedAttributes, Logger, SourceSnapshot, SourceUser, SyncTargets, TargetAnswer, TargetedRead } from "./ports.ts";

export interface ScopeRules {
  /** `sync.method`: with "groups" a user is in scope only as a member of a synced group. */
  method: "groups" | "users";
  /** Emails or glob patterns, matched against a user's email and userName. */
  excludeUsers: readonly string[];
  /** Names, emails or glob patterns, matched against a group's displayName and email. */
  excludeGroups: readonly string[];
}

const userExcluded = (user: SourceUser, patterns: readonly string[]) =>
  matchesAnyGlob(user.attributes.email, patterns) || matchesAnyGlob(user.attributes.userName, patterns);

const groupExcluded = (group: DesiredGroup, patterns: readonly string[]) =>
  matchesAnyGlob(group.displayName, patterns) || (group.email !== undefined && matchesAnyGlob(group.email, patterns));

/** What the exclusions took out of one read. */
export interface Excluded {
  users: number;
  groups: number;
  /** Users in scope only through an excluded group (method "groups"). */
  heldOnlyByExcluded: number;
}

/**
 * The snapshot less the excluded users and groups. An excluded user leaves every group; with
 * method "groups" a user only an excluded group held leaves the scope with it (it was in scope
 * only through that group). The snapshot itself when nothing is excluded.
 */
export function applyExclusions(snapshot: SourceSnapshot, rules: ScopeRules): { snapshot: SourceSnapshot; excluded: Excluded } {
  const none = { users: 0, groups: 0, heldOnlyByExcluded: 0 };
  if (rules.excludeUsers.length === 0 && rules.excludeGroups.length === 0) return { snapshot, excluded: none };
  const groups = snapshot.groups.filter((g) => !groupExcluded(g, rules.excludeGroups));
  const excludedIds = new Set(snapshot.users.filter((u) => userExcluded(u, rules.excludeUsers)).map((u) => u.sourceId));
  let held: Set<string> | undefined;
  if (rules.method === "groups" && groups.length < snapshot.groups.length) {
    held = new Set<string>();
    for (const g of groups) for (const id of g.memberSourceIds) held.add(id);
  }
  const users = snapshot.users.filter((u) => !excludedIds.has(u.sourceId) && (held === undefined || held.has(u.sourceId)));
  const kept = excludedIds.size === 0 ? groups : groups.map((g) => ({ ...g, memberSourceIds: g.memberSourceIds.filter((id) => !excludedIds.has(id)) }));
  return {
    snapshot: { ...snapshot, users, groups: kept },
    excluded: { users: excludedIds.size, groups: snapshot.groups.length - groups.length, heldOnlyByExcluded: snapshot.users.length - users.length - excludedIds.size },
  };
}

/**
 * `source` with the exclusions applied to every read, a targeted one too (`sync --user`): a
 * target the exclusions take out is out of scope, as in a full run. What they took out is logged.
 */
export function scopedSource<S extends DirectorySource>(source: S, rules: ScopeRules, log: Pick<Logger, "info">): S {
  if (rules.excludeUsers.length === 0 && rules.excludeGroups.length === 0) return source;
  const exclude = (snapshot: SourceSnapshot) => {
    const { snapshot: kept, excluded } = applyExclusions(snapshot, rules);
    const held = excluded.heldOnlyByExcluded > 0 ? ` (and ${excluded.heldOnlyByExcluded} users held only by those groups)` : "";
    log.info(`scope: ${excluded.users} users excluded by sync.exclude_users, ${excluded.groups} groups by sync.exclude_groups${held}`);
    return kept;
  };
  const readTargets = source.readTargets?.bind(source);
  return {
    ...source,
    // A head start creates no user sync.exclude_users excludes (one held only by excluded groups is the plan's to remove).
    read: async (headStart?: HeadStart, recorded?: RecordedAttributes) =>
      exclude(await source.read(headStart && { ...headStart, onUsers: (users) => headStart.onUsers(users.filter((u) => !userExcluded(u, rules.excludeUsers))) }, recorded)),
    ...(readTargets === undefined ? {} : { readTargets: async (targets: SyncTargets, known?: KnownRecords) => excludedTargets(await readTargets(targets, known), rules, exclude) }),
  };
}

/** A targeted read less the exclusions: a named user or group they took out is answered as out of scope, saying why. */
function excludedTargets(read: TargetedRead, rules: ScopeRules, exclude: (snapshot: SourceSnapshot) => SourceSnapshot): TargetedRead {
  const snapshot = exclude(read.snapshot);
  const keptUsers = new Set(snapshot.users.map((u) => u.sourceId));
  const keptGroups = new Set(snapshot.groups.map((g) => g.sourceId));
  const excludedUser = (id: string) => read.snapshot.users.some((u) => u.sourceId === id && userExcluded(u, rules.excludeUsers));
  const users = read.users.map((a): TargetAnswer => {
    if (!a.inScope || a.sourceId === undefined || keptUsers.has(a.sourceId)) return a;
    return { ...a, inScope: false, note: excludedUser(a.sourceId) ? "is excluded by sync.exclude_users" : "is held only by groups sync.exclude_groups excludes" };
  });
  const groups = read.groups.map((a): TargetAnswer =>
    a.inScope && a.sourceId !== undefined && !keptGroups.has(a.sourceId) ? { ...a, inScope: false, note: "is excluded by sync.exclude_groups" } : a,
  );
  return { users, groups, snapshot };
}
