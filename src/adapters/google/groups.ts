/** @module The groups in scope (groups.list, one listing per filter query) and their derived members (members.list), from the Directory API. */
import type { admin_directory_v1 } from "googleapis/build/src/apis/admin/directory_v1.js";
import { forEachLimit } from "../../core/pool.ts";
import type { DesiredGroup } from "../../model/index.ts";
import { listAll, NO_RETRY, type DirectoryContext } from "./requests.ts";

/**
 * Page sizes at the documented maxima: groups.list and members.list 200
 * (https://developers.google.com/admin-sdk/directory/reference/rest/v1/groups/list, …/members/list).
 */
export const GROUPS_PAGE = 200;
export const MEMBERS_PAGE = 200;

/** Who the groups' USER members are: each group's ids, by the group's index in `groups` (repeats kept), and each member once. */
export interface GroupMembers {
  /** A list is set to undefined once `desiredGroups` has built its group. */
  memberIdsByGroup: (string[] | undefined)[];
  members: MemberIndex;
}

/**
 * Each USER member once, with one string instance of its id: every group's list and the user's
 * sourceId share it. Each members.list page parses its own copy of every id, and a large tenant's
 * ~1M memberships would otherwise each keep one (21 digits). Beside it is only what the
 * external-account warning needs, the email and the group (its index) the member was first listed
 * with; the email is let go as soon as the member turns out to be a Directory user.
 */
export class MemberIndex {
  private readonly slots = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly emails: (string | undefined)[] = [];
  private readonly firstGroups: number[] = [];

  /** The one instance of `id`; the first call for an id notes the email and group it came with. */
  intern(id: string, email: string, group: number): string {
    const slot = this.slots.get(id);
    if (slot !== undefined) return this.ids[slot]!;
    this.slots.set(id, this.ids.length);
    this.ids.push(id);
    this.emails.push(email);
    this.firstGroups.push(group);
    return id;
  }

  /** The one instance of `id`, or undefined when no group listed it. */
  find(id: string): string | undefined {
    const slot = this.slots.get(id);
    return slot === undefined ? undefined : this.ids[slot];
  }

  /** The member is a Directory user: its email will not be asked for. */
  found(id: string): void {
    const slot = this.slots.get(id);
    if (slot !== undefined) this.emails[slot] = undefined;
  }

  /** The email and group index a member (not `found`) was first listed with. */
  firstListed(id: string): { email: string; group: number } {
    const slot = this.slots.get(id)!;
    return { email: this.emails[slot]!, group: this.firstGroups[slot]! };
  }

  sortedIds(): string[] {
    return [...this.ids].sort();
  }

  /** How many members, each once. */
  get size(): number {
    return this.ids.length;
  }
}

/** The groups matching any of the queries ([] = all groups), each once. */
export async function readGroups(ctx: DirectoryContext, groupsFilter: string[]): Promise<admin_directory_v1.Schema$Group[]> {
  const { admin, customer } = ctx;
  const byId = new Map<string, admin_directory_v1.Schema$Group>();
  const queries: (string | undefined)[] = groupsFilter.length > 0 ? groupsFilter : [undefined];
  for (const query of queries) {
    await listAll(
      ctx,
      "groups.list",
      query === undefined ? customer : `${customer} query=${JSON.stringify(query)}`,
      (pageToken) =>
        admin.groups.list(
          {
            customer,
            maxResults: GROUPS_PAGE,
            ...(query !== undefined ? { query } : {}),
            ...(pageToken ? { pageToken } : {}),
            fields: "nextPageToken,groups(id,email,name)",
          },
          NO_RETRY,
        ),
      (page) => {
        for (const g of page.groups ?? []) if (g.id && !byId.has(g.id)) byId.set(g.id, g);
      },
    );
  }
  return [...byId.values()];
}

/** Derived members (members.list includeDerivedMembership): nested groups come back flattened to users. */
export async function readMembers(ctx: DirectoryContext, groups: admin_directory_v1.Schema$Group[], warnings: string[]): Promise<GroupMembers> {
  const memberIdsByGroup: (string[] | undefined)[] = [];
  const members = new MemberIndex();
  await forEachLimit(groups, ctx.concurrency, async (group, index) => {
    const groupId = group.id!;
    const ids: string[] = [];
    await listAll(
      ctx,
      "members.list",
      group.email ?? groupId,
      (pageToken) =>
        ctx.admin.members.list(
          {
            groupKey: groupId,
            includeDerivedMembership: true,
            maxResults: MEMBERS_PAGE,
            ...(pageToken ? { pageToken } : {}),
            fields: "nextPageToken,members(id,email,type,status)",
          },
          NO_RETRY,
        ),
      (page) => {
        for (const m of page.members ?? []) {
          if (m.type === "CUSTOMER") {
            warnings.push(`group ${group.email}: its "all users in the domain" member is not expanded; add the users or a group instead`);
          } else if (m.type === "USER" && m.id) {
            ids.push(members.intern(m.id, m.email ?? "(no email)", index));
          }
          // GROUP entries (if any) are already flattened by includeDerivedMembership.
        }
      },
    );
    memberIdsByGroup[index] = ids;
  });
  return { memberIdsByGroup, members };
}

/**
 * The groups as desired in the tenant: each group's members that have a Directory user, sorted.
 * Each group's list in `memberIdsByGroup` becomes its `memberSourceIds` (sorted and thinned in
 * place, not copied) and leaves `memberIdsByGroup`: together the lists hold every membership.
 */
export function desiredGroups(
  groups: admin_directory_v1.Schema$Group[],
  memberIdsByGroup: (string[] | undefined)[],
  userIds: { has(id: string): boolean },
): DesiredGroup[] {
  return groups.map((g, index) => {
    const ids = memberIdsByGroup[index] ?? [];
    memberIdsByGroup[index] = undefined;
    return { sourceId: g.id!, displayName: g.name || g.email || g.id!, memberSourceIds: sortedUsers(ids, userIds), ...(g.email ? { email: g.email } : {}) };
  });
}

/** `ids` sorted, each once, less those without a Directory user; in place (a group can list a member more than once). */
function sortedUsers(ids: string[], userIds: { has(id: string): boolean }): string[] {
  ids.sort();
  let kept = 0;
  for (const id of ids) {
    if (kept > 0 && ids[kept - 1] === id) continue;
    if (userIds.has(id)) ids[kept++] = id;
  }
  ids.length = kept;
  return ids;
}
