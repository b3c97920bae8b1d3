/**
 * @module Ownership, confirmed at the edge. A run that trusts the state (no full read) first reads
 * every existing resource its plan would write to, delete or add as a member, and plans again on
 * what AWS says: a state record is a claim, and a tampered or stale one must never lead to a
 * write on a resource that is not ours. A run with nothing to do reads nothing.
 */
import type { SyncState, TenantGroup, TenantSnapshot, TenantUser } from "../model/index.ts";
import { sendsRequest, type Plan } from "./plan.ts";
import { indexBy } from "./match.ts";
import { forEachLimit } from "./pool.ts";
import type { ScimTarget } from "./ports.ts";

export interface Confirmed {
  tenant: TenantSnapshot;
  plan: Plan;
  /** SCIM requests spent confirming (single reads and list pages). */
  reads: number;
}

/** AWS lists at most 100 resources a page: past this many single reads, one listing is cheaper. */
const PAGE = 100;
/** Single reads in flight at once; the target's rate control paces the requests themselves. */
export const READ_CONCURRENCY = 8;

export async function confirmOwnership(
  first: Plan,
  tenant: TenantSnapshot,
  state: SyncState,
  target: ScimTarget,
  replan: (tenant: TenantSnapshot) => Plan,
  /** SCIM ids `tenant` holds as AWS answered them already (a targeted run read them): not read again. */
  known: { users: Iterable<string>; groups: Iterable<string> } = { users: [], groups: [] },
): Promise<Confirmed> {
  const users = new Map<string, TenantUser | undefined>();
  const groups = new Map<string, TenantGroup | undefined>();
  // Indexes of the tenant only when a targeted run names what it read: a scheduled run with
  // nothing to do would otherwise build one of 200,000 users, at the peak of its memory.
  const knownUsers = [...known.users];
  const knownGroups = [...known.groups];
  if (knownUsers.length > 0) {
    const tenantUsers = indexBy(tenant.users, (u) => u.scimId);
    for (const id of knownUsers) users.set(id, tenantUsers.get(id));
  }
  if (knownGroups.length > 0) {
    const tenantGroups = indexBy(tenant.groups, (g) => g.scimId);
    for (const id of knownGroups) groups.set(id, tenantGroups.get(id));
  }
  let reads = 0;
  let plan = first;
  let current = tenant;
  // Each round reads only what no earlier round read, so it ends: at worst once every resource was read.
  for (;;) {
    const touched = touchedBy(plan);
    const newUsers = touched.users.filter((id) => !users.has(id));
    const newGroups = touched.groups.filter((id) => !groups.has(id));
    if (newUsers.length === 0 && newGroups.length === 0) return { tenant: current, plan, reads };
    reads += await readInto(users, newUsers, Object.keys(state.users).length, (id) => target.getUser(id), () => target.listUsers());
    reads += await readInto(groups, newGroups, Object.keys(state.groups).length, (id) => target.getGroup(id), () => target.listGroups());
    current = corrected(current, users, groups);
    plan = replan(current);
  }
}

/** SCIM ids of the existing users and groups an operation would write to, delete or add to a group. */
function touchedBy(plan: Plan): { users: string[]; groups: string[] } {
  const users = new Set<string>();
  const groups = new Set<string>();
  for (const op of plan.operations) {
    switch (op.kind) {
      case "updateUser":
        if (op.scimId !== undefined && sendsRequest(op)) users.add(op.scimId);
        break;
      case "deleteUser":
        users.add(op.scimId);
        break;
      case "updateGroup":
        if (sendsRequest(op)) groups.add(op.scimId);
        break;
      case "deleteGroup":
        groups.add(op.scimId);
        break;
      case "createGroup":
      case "addMembers":
      case "removeMembers":
        if (op.kind !== "createGroup" && op.group.scimId !== undefined) groups.add(op.group.scimId);
        // A member added on the strength of the state alone would give a stranger access.
        if (op.kind !== "removeMembers") for (const member of op.members) if (member.scimId !== undefined) users.add(member.scimId);
        break;
      case "createUser":
        break;
    }
  }
  return { users: [...users], groups: [...groups] };
}

async function readInto<T extends { scimId: string }>(
  into: Map<string, T | undefined>,
  ids: string[],
  managed: number,
  getOne: (id: string) => Promise<T | undefined>,
  listAll: () => Promise<T[]>,
): Promise<number> {
  if (ids.length === 0) return 0;
  const listingCost = Math.ceil(managed / PAGE) + 1;
  if (ids.length > listingCost) {
    const all = new Map((await listAll()).map((r) => [r.scimId, r]));
    for (const id of ids) into.set(id, all.get(id));
    for (const [id, resource] of all) if (!into.has(id)) into.set(id, resource);
    return Math.max(1, Math.ceil(all.size / PAGE));
  }
  await forEachLimit(ids, READ_CONCURRENCY, async (id) => {
    into.set(id, await getOne(id));
  });
  return ids.length;
}

/** The tenant as the state says, with what AWS answered in place of each resource read (members stay the state's: AWS never lists them with a group). */
function corrected(tenant: TenantSnapshot, users: Map<string, TenantUser | undefined>, groups: Map<string, TenantGroup | undefined>): TenantSnapshot {
  // Loops, not flatMap: no one-item array per user of a 200,000-user tenant.
  const correctedUsers: TenantUser[] = [];
  for (const u of tenant.users) {
    const read = users.has(u.scimId) ? users.get(u.scimId) : u;
    if (read !== undefined) correctedUsers.push(read);
  }
  const correctedGroups: TenantGroup[] = [];
  for (const g of tenant.groups) {
    const read = groups.has(g.scimId) ? groups.get(g.scimId) : g;
    if (read === g) correctedGroups.push(g);
    else if (read !== undefined) correctedGroups.push({ ...read, ...(g.memberScimIds !== undefined ? { memberScimIds: g.memberScimIds } : {}) });
  }
  return { users: correctedUsers, groups: correctedGroups };
}
