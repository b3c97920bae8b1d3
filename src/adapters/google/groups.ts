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

/** Who the groups' USER members are: ids per group, and the first group each was seen in (for warnings). */
export interface GroupMembers {
  memberIdsByGroup: Map<string, string[]>;
  memberInfo: Map<string, { email: string; group: string }>;
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
  const memberIdsByGroup = new Map<string, string[]>();
  const memberInfo = new Map<string, { email: string; group: string }>();
  await forEachLimit(groups, ctx.concurrency, async (group) => {
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
            ids.push(m.id);
            if (!memberInfo.has(m.id)) memberInfo.set(m.id, { email: m.email ?? "(no email)", group: group.email ?? groupId });
          }
          // GROUP entries (if any) are already flattened by includeDerivedMembership.
        }
      },
    );
    memberIdsByGroup.set(groupId, ids);
  });
  return { memberIdsByGroup, memberInfo };
}

/** The groups as desired in the tenant: each group's members that have a Directory user, sorted. */
export function desiredGroups(groups: admin_directory_v1.Schema$Group[], memberIdsByGroup: Map<string, string[]>, userIds: { has(id: string): boolean }): DesiredGroup[] {
  return groups.map((g) => ({
    sourceId: g.id!,
    displayName: g.name || g.email || g.id!,
    memberSourceIds: [...new Set(memberIdsByGroup.get(g.id!) ?? [])].filter((id) => userIds.has(id)).sort(),
  }));
}
