/**
 * @module The theoretical minimum of SCIM writes and reads a run needs, computed from the tenant
 * before and after it (emulator snapshots) and what the run had to know, never from what the CLI
 * sent. `scripts/bench.ts` divides the requests it counted by these. The rules are AWS's
 * (docs/aws-scim.md): cursor pages hold at most 100 resources (§4.1), a CreateGroup or PatchGroup
 * carries at most 100 membership changes (MAX_MEMBERS_PER_REQUEST), GetGroup never lists members
 * (§6.2: one `groups.value eq` listing per group), and DeleteUser drops the user's memberships.
 */
import { GROUPS_PAGE, MEMBERS_PAGE } from "../src/adapters/google/groups.ts";
import { USERS_PAGE } from "../src/adapters/google/users.ts";
import { MAX_MEMBERS_PER_REQUEST } from "../src/model/index.ts";
import type { ScenarioGoogle, ScenarioGoogleGroup } from "../test/emulators/scenario.ts";

/** The tenant as the SCIM emulator's `snapshot()` gives it, reduced to what the minimums read. */
export interface TenantView {
  users: ({ id: string } & Record<string, unknown>)[];
  groups: { id: string; displayName: string; externalId?: string; members: string[] }[];
}

/** Cursor pages of a listing of `n` resources: an empty listing still costs its one request. */
const PAGE = 100;
export const pages = (n: number) => Math.max(1, Math.ceil(n / PAGE));

/** What a user looks like for "does it need a PATCH": every attribute at every depth, keys sorted, but not AWS's bookkeeping (`meta`). */
const userContent = (u: Record<string, unknown>) => {
  const { meta: _meta, ...rest } = u;
  return canonical(rest);
};

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

export interface TenantChange {
  usersCreated: number;
  usersUpdated: string[];
  usersDeleted: string[];
  groupsCreated: number;
  groupsDeleted: string[];
  /** Existing groups with anything to PATCH, and the PatchGroup requests each needs at least. */
  groupPatches: Map<string, number>;
  /** Existing users newly added to a group (the ownership rule reads them before adding them). */
  usersAddedAsMembers: string[];
  /** PatchGroup requests completing created groups past the 100 members CreateGroup carries. */
  createdGroupPatches: number;
}

/** The changes between two tenants, each counted as few requests as AWS's API allows. */
export function tenantChange(before: TenantView, after: TenantView): TenantChange {
  const beforeUsers = new Map(before.users.map((u) => [u.id, u]));
  const afterUserIds = new Set(after.users.map((u) => u.id));
  const usersDeleted = before.users.filter((u) => !afterUserIds.has(u.id)).map((u) => u.id);
  const deleted = new Set(usersDeleted);
  let usersCreated = 0;
  const usersUpdated: string[] = [];
  for (const u of after.users) {
    const old = beforeUsers.get(u.id);
    if (!old) usersCreated++;
    else if (userContent(old) !== userContent(u)) usersUpdated.push(u.id);
  }

  const beforeGroups = new Map(before.groups.map((g) => [g.id, g]));
  const afterGroupIds = new Set(after.groups.map((g) => g.id));
  const groupsDeleted = before.groups.filter((g) => !afterGroupIds.has(g.id)).map((g) => g.id);
  let groupsCreated = 0;
  let createdGroupPatches = 0;
  const groupPatches = new Map<string, number>();
  const addedAsMembers = new Set<string>();
  for (const g of after.groups) {
    const old = beforeGroups.get(g.id);
    if (!old) {
      groupsCreated++;
      // CreateGroup carries the first 100 members; each further 100 is one PatchGroup.
      createdGroupPatches += Math.ceil(Math.max(0, g.members.length - MAX_MEMBERS_PER_REQUEST) / MAX_MEMBERS_PER_REQUEST);
      continue;
    }
    const was = new Set(old.members);
    const now = new Set(g.members);
    const adds = g.members.filter((m) => !was.has(m));
    // A deleted user's memberships go with it: removing them first is not needed.
    const removes = old.members.filter((m) => !now.has(m) && !deleted.has(m));
    for (const m of adds) if (beforeUsers.has(m)) addedAsMembers.add(m);
    const renamed = old.displayName !== g.displayName || (old.externalId ?? "") !== (g.externalId ?? "");
    // One PatchGroup may carry a rename and up to 100 membership changes, adds and removes mixed.
    const patches = Math.max(Math.ceil((adds.length + removes.length) / MAX_MEMBERS_PER_REQUEST), renamed ? 1 : 0);
    if (patches > 0) groupPatches.set(g.id, patches);
  }
  return { usersCreated, usersUpdated, usersDeleted, groupsCreated, groupsDeleted, groupPatches, usersAddedAsMembers: [...addedAsMembers], createdGroupPatches };
}

/**
 * Minimum writes: one POST per user created, one PATCH per user whose attributes changed (all
 * changes in one request), one DELETE per user or group deleted, one POST per group created plus
 * ceil((members − 100) / 100) PatchGroups for the members past the 100 CreateGroup carries, and
 * for each existing group max(ceil((adds + removes) / 100), 1 if renamed else 0), where removes
 * leave out the memberships of deleted users.
 */
export function minimumWrites(change: TenantChange): number {
  let groupPatches = 0;
  for (const n of change.groupPatches.values()) groupPatches += n;
  return (
    change.usersCreated + change.usersUpdated.length + change.usersDeleted.length +
    change.groupsCreated + change.createdGroupPatches + change.groupsDeleted.length + groupPatches
  );
}

/**
 * Minimum reads of a full read of `before`: pages(users) + pages(groups) + Σ pages(members of g)
 * over the groups the run must know the members of (`relevant`: those that correspond to a source
 * group), with pages(n) = max(1, ceil(n / 100)).
 */
export function minimumFullRead(before: TenantView, relevant: (g: TenantView["groups"][number]) => boolean): number {
  let reads = pages(before.users.length) + pages(before.groups.length);
  for (const g of before.groups) if (relevant(g)) reads += pages(g.members.length);
  return reads;
}

/**
 * Minimum reads of a run that trusts its state (no full read is due): a state record is a claim,
 * so every existing user or group the run writes to, deletes or adds as a member is read first
 * (src/core/confirm.ts): min(k, pages(all)) for k such users, the same for groups. Nothing to do
 * costs nothing.
 */
export function minimumConfirmReads(before: TenantView, change: TenantChange): number {
  const users = new Set([...change.usersUpdated, ...change.usersDeleted, ...change.usersAddedAsMembers]);
  const groups = new Set([...change.groupPatches.keys(), ...change.groupsDeleted]);
  const confirm = (k: number, total: number) => (k === 0 ? 0 : Math.min(k, pages(total)));
  return confirm(users.size, before.users.length) + confirm(groups.size, before.groups.length);
}

/** The fewest Google requests a full read of the directory takes, by kind, and their total. */
export interface GoogleFewest {
  groupsList: number;
  membersList: number;
  usersList: number;
  token: number;
  total: number;
}

/**
 * Fewest Google requests of one read of `google` (every group, no filter): groups.list pages +
 * Σ members.list pages over the groups + users.list pages + 1 token request, each listing
 * max(1, ⌈n / page size⌉) pages at the adapters' page sizes (src/adapters/google). A group's
 * members.list (includeDerivedMembership) lists its users and nested groups' users once each,
 * plus any CUSTOMER entry, but no nested GROUP entry: the Google emulator's rule.
 */
export function minimumGoogleRequests(google: ScenarioGoogle): GoogleFewest {
  const pagesOf = (n: number, size: number) => Math.max(1, Math.ceil(n / size));
  const byKey = new Map<string, ScenarioGoogleGroup>();
  for (const g of google.groups) {
    byKey.set(g.id, g);
    byKey.set(g.email.toLowerCase(), g);
  }
  let membersList = 0;
  for (const g of google.groups) membersList += pagesOf(derivedEntries(g, byKey), MEMBERS_PAGE);
  const groupsList = pagesOf(google.groups.length, GROUPS_PAGE);
  const usersList = pagesOf(google.users.length, USERS_PAGE);
  return { groupsList, membersList, usersList, token: 1, total: groupsList + membersList + usersList + 1 };
}

/** The entries members.list with includeDerivedMembership answers for `root`: breadth-first over nested groups, each member once. */
function derivedEntries(root: ScenarioGoogleGroup, byKey: Map<string, ScenarioGoogleGroup>): number {
  const seen = new Set<string>();
  const visited = new Set([root.id]);
  const queue = [root];
  for (let g = queue.shift(); g; g = queue.shift()) {
    for (const m of g.members) {
      if (m.type !== "GROUP") {
        seen.add(`${m.type}:${m.id ?? m.email?.toLowerCase()}`);
        continue;
      }
      const nested = byKey.get(m.email?.toLowerCase() ?? "");
      if (nested && !visited.has(nested.id)) visited.add(nested.id), queue.push(nested);
    }
  }
  return seen.size;
}
