/** @module The in-scope members' Directory users (users.list while it pays, then users.get), mapped to SourceUsers with their managers resolved. */
import { forEachLimit } from "../../core/pool.ts";
import type { SourceUser } from "../../core/ports.ts";
import type { UserFieldName } from "../../model/index.ts";
import { mapUser } from "../../mapping/map-user.ts";
import { GOOGLE_USER, type GoogleUser } from "../../mapping/presets/google.ts";
import { call, listAll, NO_RETRY, type DirectoryContext } from "./requests.ts";
import type { GroupMembers } from "./groups.ts";

export type UserFetchMode = "users.list" | "users.list+users.get";

/**
 * The user-fetch rule. users.list costs one request per 500 users of the whole customer
 * (https://developers.google.com/admin-sdk/directory/reference/rest/v1/users/list),
 * a size learnt only by listing; users.get costs one request per member. So: list the first page
 * (one request covers a domain of up to 500 users, however many members); stop as soon as every
 * member was seen; and when the members still unseen are at most 50 while pages remain, fetch
 * those with users.get instead of listing on. A large domain with few members in scope pays at
 * most 1 + 50 requests; a scope covering most of the domain never pays more than the listing.
 */
const USERS_GET_MAX = 50;

/** users.list's documented maximum page size (https://developers.google.com/admin-sdk/directory/reference/rest/v1/users/list). */
export const USERS_PAGE = 500;

/** The Directory users of `memberIds` (sorted), by id; members without one (external accounts) are absent. Sets `ctx.stats.userFetch`. */
export async function readUsers(ctx: DirectoryContext, memberIds: string[], userFieldList: string): Promise<Map<string, GoogleUser>> {
  const { admin, customer } = ctx;
  const googleUsers = new Map<string, GoogleUser>();
  // Page through users.list while it pays; once the members still unseen are few enough
  // that fetching each is cheaper than listing on, fetch those with users.get (see USERS_GET_MAX).
  const wanted = new Set(memberIds);
  let pages = 0;
  let rest: string[] = [];
  if (wanted.size > 0) {
    await listAll(
      ctx,
      "users.list",
      customer,
      (pageToken) =>
        admin.users.list(
          { customer, maxResults: USERS_PAGE, ...(pageToken ? { pageToken } : {}), fields: `nextPageToken,users(${userFieldList})` },
          NO_RETRY,
        ),
      (page) => {
        pages++;
        for (const user of page.users ?? []) {
          if (user.id && wanted.delete(user.id)) googleUsers.set(user.id, user);
        }
        if (wanted.size === 0) return true; // every member seen: the remaining pages cannot add anything
        if (page.nextPageToken && wanted.size <= USERS_GET_MAX) {
          rest = [...wanted];
          return true;
        }
        return false;
      },
    );
  }
  ctx.stats.userFetch = rest.length > 0 ? "users.list+users.get" : "users.list";
  await forEachLimit(rest, ctx.concurrency, async (id) => {
    const user = await call(ctx, "users.get", id, () => admin.users.get({ userKey: id, fields: userFieldList }, NO_RETRY), true);
    if (user) googleUsers.set(id, user);
  });
  ctx.log.debug(`google: users read with ${pages} users.list page(s) and ${rest.length} users.get`);
  return googleUsers;
}

/** The members that have a Directory user, mapped; every other member and every mapping problem becomes a warning. */
export function sourceUsers(
  memberIds: string[],
  googleUsers: Map<string, GoogleUser>,
  memberInfo: GroupMembers["memberInfo"],
  fields: ReadonlySet<UserFieldName>,
  warnings: string[],
): SourceUser[] {
  // A USER member without a Directory user is an account outside the domain (users.get answers 404).
  for (const id of memberIds) {
    if (googleUsers.has(id)) continue;
    const info = memberInfo.get(id)!;
    warnings.push(`member ${info.email} (id ${id}) of group ${info.group} has no Directory user (external account); skipped`);
  }

  const mapped = memberIds.flatMap((id) => {
    const user = googleUsers.get(id);
    if (!user) return [];
    const result = mapUser(GOOGLE_USER, user, { fields });
    warnings.push(...result.warnings);
    return [{ id, user, result }];
  });
  // Google keeps the manager as an email (a `relations` entry of type manager,
  // https://developers.google.com/admin-sdk/directory/reference/rest/v1/users); only users read here can be resolved.
  const idByEmail = new Map(mapped.map(({ id, result }) => [result.attributes.email.toLowerCase(), id]));
  return mapped.map(({ id, user, result }) => {
    const managerId = result.manager ? idByEmail.get(result.manager.toLowerCase()) : undefined;
    if (managerId !== undefined) result.attributes.managerSourceId = managerId;
    // An archived user cannot sign in either (a licence-saving form of suspension): same policy.
    return { sourceId: id, attributes: result.attributes, suspended: user.suspended === true || user.archived === true };
  });
}
