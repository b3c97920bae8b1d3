/** @module The in-scope Directory users (the members' by users.list while it pays, then users.get; or those gws.users_filter matches), mapped to SourceUsers with their managers resolved. */
import type { admin_directory_v1 } from "googleapis/build/src/apis/admin/directory_v1.js";
import { forEachLimit } from "../../core/pool.ts";
import type { RecordedAttributes, SourceUser } from "../../core/ports.ts";
import { identical } from "../../core/shared-attributes.ts";
import type { UserAttributes, UserFieldName } from "../../model/index.ts";
import { keysReadUnder, sourceFields, userMapper, type MappedUser } from "../../mapping/map-user.ts";
import type { GoogleUser } from "../../mapping/presets/google.ts";
import type { UserMappingTable } from "../../mapping/table.ts";
import { call, listAll, NO_RETRY, type DirectoryContext } from "./requests.ts";
import type { MemberIndex } from "./groups.ts";

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

/** A Directory user, mapped as soon as read (its raw resource is let go), with what is left to do once all are read. */
export interface ReadUser {
  user: SourceUser;
  /** The manager's email, as Google keeps it: resolved to `managerSourceId` by `sourceUsers`. */
  manager?: string;
  /** The mapping's warnings, reported in id order by `sourceUsers`. */
  warnings?: string[];
  /** The primary email, when a [mapping] sends AWS another email: managers are named by it. */
  primaryEmail?: string;
  /** `user.attributes` is the state's record (UserReadSpec.recorded): never changed in place. */
  recorded?: true;
}

/** How users are read and mapped: the same for every read of a source. */
export interface UserReadSpec {
  map: (user: GoogleUser) => MappedUser;
  /** The partial-response field list of one user (`id,primaryEmail,name,…`). */
  fieldList: string;
  /** `projection=custom` with the custom schemas the mapping reads, only when it reads some. */
  projection: { projection?: "custom"; customFieldMask?: string };
  /** The state's records, shared by the users read identical to them (a full read only). */
  recorded?: RecordedAttributes;
}

/**
 * Reads what the mapping `table` needs under the `sync.user_fields` selection: custom schemas
 * (`projection=custom&customFieldMask=HR,…`, https://developers.google.com/admin-sdk/directory/reference/rest/v1/users/list)
 * only when an attribute selected reads them, so a mapping without any asks for no more than before.
 */
export function userReadSpec(table: UserMappingTable, fields: ReadonlySet<UserFieldName>): UserReadSpec {
  const schemas = keysReadUnder(table, fields, "customSchemas");
  return {
    map: userMapper(table, { fields }),
    fieldList: sourceFields(table, fields).join(","),
    projection: schemas.length > 0 ? { projection: "custom", customFieldMask: schemas.join(",") } : {},
  };
}

/**
 * The Directory users of `memberIds` (sorted, each the instance `members` holds; `only`: the same
 * ids, when they are not every member), mapped, by id; members without one (external accounts)
 * are absent. Sets `ctx.stats.userFetch`.
 */
export async function readUsers(ctx: DirectoryContext, members: MemberIndex, memberIds: string[], spec: UserReadSpec, only?: ReadonlySet<string>): Promise<Map<string, ReadUser>> {
  const { admin, customer } = ctx;
  const { fieldList: userFieldList, projection } = spec;
  const read = new Map<string, ReadUser>();
  // Each user is mapped as it arrives: the raw resources of a whole domain would outweigh the mapped users.
  const keep = (id: string, user: GoogleUser) => {
    const mapped = mapGoogleUser(id, user, spec);
    read.set(id, mapped);
    members.found(id);
  };
  // Page through users.list while it pays; once the members still unseen are few enough
  // that fetching each is cheaper than listing on, fetch those with users.get (see USERS_GET_MAX).
  let pages = 0;
  let rest: string[] = [];
  if (memberIds.length > 0) {
    await listAll(
      ctx,
      "users.list",
      customer,
      (pageToken) => listUsersPage(ctx, undefined, pageToken, spec),
      (page) => {
        pages++;
        for (const user of page.users ?? []) {
          const id = user.id ? members.find(user.id) : undefined;
          if (id !== undefined && !read.has(id) && (only === undefined || only.has(id))) keep(id, user);
        }
        const unseen = memberIds.length - read.size;
        if (unseen === 0) return true; // every member seen: the remaining pages cannot add anything
        if (page.nextPageToken && unseen <= USERS_GET_MAX) {
          rest = memberIds.filter((id) => !read.has(id));
          return true;
        }
        return false;
      },
    );
  }
  ctx.stats.userFetch = rest.length > 0 ? "users.list+users.get" : "users.list";
  await forEachLimit(rest, ctx.concurrency, async (id) => {
    const user = await call(ctx, "users.get", id, () => admin.users.get({ userKey: id, ...projection, fields: userFieldList }, NO_RETRY), true);
    if (user) keep(id, user);
  });
  ctx.log.debug(`google: users read with ${pages} users.list page(s) and ${rest.length} users.get`);
  return read;
}

/**
 * The users a head start reads first (core/head-start.ts): the known ones (the users the last run
 * had in scope) by id, mapped; the other ids the listing went past; where it stopped.
 */
export interface PriorUsers {
  read: Map<string, ReadUser>;
  /** Ids listed that are not known: members new to the scope since, whose records were not kept. */
  others: Set<string>;
  /** Every Directory user was listed: a member neither read nor in `others` has no Directory user. */
  complete: boolean;
}

/**
 * The known users, by the same rule as `readUsers` (list while it pays, then users.get), before
 * the members are read: the listing stops once every known user is seen, and when at most
 * USERS_GET_MAX are unseen while pages remain, those are fetched (a 404 is a user deleted since).
 * In a continuing first sync the known users are the members, so this costs what `readUsers` would.
 */
export async function readKnownUsers(ctx: DirectoryContext, known: ReadonlySet<string>, spec: UserReadSpec): Promise<PriorUsers> {
  const prior: PriorUsers = { read: new Map(), others: new Set(), complete: false };
  let rest: string[] = [];
  await listAll(ctx, "users.list", ctx.customer, (pageToken) => listUsersPage(ctx, undefined, pageToken, spec), (page) => {
    for (const user of page.users ?? []) {
      if (!user.id) continue;
      if (!known.has(user.id)) prior.others.add(user.id);
      else if (!prior.read.has(user.id)) prior.read.set(user.id, mapGoogleUser(user.id, user, spec));
    }
    prior.complete = !page.nextPageToken;
    const unseen = known.size - prior.read.size;
    if (unseen === 0) return true;
    if (page.nextPageToken && unseen <= USERS_GET_MAX) {
      rest = [...known].filter((id) => !prior.read.has(id));
      return true;
    }
    return false;
  });
  await forEachLimit(rest, ctx.concurrency, async (id) => {
    const user = await call(ctx, "users.get", id, () => ctx.admin.users.get({ userKey: id, ...spec.projection, fields: spec.fieldList }, NO_RETRY), true);
    if (user) prior.read.set(id, mapGoogleUser(id, user, spec));
  });
  ctx.log.debug(`google: head start: ${prior.read.size} of ${known.size} known users read with users.list${rest.length > 0 ? ` and ${rest.length} users.get` : ""}`);
  return prior;
}

/**
 * The known users as the head start gets them: each with its manager resolved among them, as
 * `sourceUsers` does. A user given a manager is a copy; the others are handed out as read, and
 * listed in `handedOut` so that `sourceUsers` never changes them afterwards.
 */
export function headStartUsers(prior: PriorUsers, handedOut: WeakSet<SourceUser>): SourceUser[] {
  const found = [...prior.read.values()];
  const idByEmail = managerIds(found);
  return found.map(({ user, manager }) => {
    const managerId = manager ? idByEmail.get(manager.toLowerCase()) : undefined;
    const out = withManagerId(user, managerId);
    if (out === user) handedOut.add(user);
    return out;
  });
}

/**
 * The members' Directory users after a head start: those it read are taken as they are, and only
 * the members it did not keep are asked for (new to the scope, or past where its listing
 * stopped): each with users.get when at most USERS_GET_MAX, else by listing as `readUsers` does.
 */
export async function readUsersAfter(ctx: DirectoryContext, members: MemberIndex, memberIds: string[], spec: UserReadSpec, prior: PriorUsers): Promise<Map<string, ReadUser>> {
  const read = new Map<string, ReadUser>();
  const wanted: string[] = [];
  for (const id of memberIds) {
    const user = prior.read.get(id);
    if (user !== undefined) {
      read.set(id, user);
      members.found(id);
    } else if (!prior.complete || prior.others.has(id)) wanted.push(id);
  }
  ctx.stats.userFetch = "users.list";
  if (wanted.length === 0) return read;
  let more: Map<string, ReadUser>;
  if (wanted.length <= USERS_GET_MAX) {
    more = new Map();
    ctx.stats.userFetch = "users.list+users.get";
    await forEachLimit(wanted, ctx.concurrency, async (id) => {
      const user = await call(ctx, "users.get", id, () => ctx.admin.users.get({ userKey: id, ...spec.projection, fields: spec.fieldList }, NO_RETRY), true);
      if (user) {
        more.set(id, mapGoogleUser(id, user, spec));
        members.found(id);
      }
    });
  } else {
    more = await readUsers(ctx, members, wanted, spec, new Set(wanted));
  }
  for (const [id, user] of more) read.set(id, user);
  return read;
}

/**
 * The Directory users matching any of `queries` (gws.users_filter, ORed), mapped, by id: one
 * users.list listing per query, each user kept once. Without `members` (method "users") every
 * match is kept and every page listed. With `members` (method "groups") only users some synced
 * group holds are kept, the listings stop as soon as every member was seen, and, as in
 * `readUsers`, once at most USERS_GET_MAX members are unseen while pages remain, each of those is
 * asked for by the query itself ANDed with `email=` (one request each: only Google can evaluate
 * a query). A 100,000-user domain, `isSuspended=false` and 20 members cost 1 + 20 requests per
 * query, not 200 pages. Sets `ctx.stats.userFetch`.
 */
export async function readMatchingUsers(
  ctx: DirectoryContext,
  queries: readonly string[],
  spec: UserReadSpec,
  members?: MemberIndex,
): Promise<Map<string, ReadUser>> {
  const read = new Map<string, ReadUser>();
  const keep = (users: GoogleUser[] | undefined) => {
    for (const user of users ?? []) {
      const id = !user.id ? undefined : members === undefined ? user.id : members.find(user.id);
      if (id === undefined || read.has(id)) continue;
      read.set(id, mapGoogleUser(id, user, spec));
      members?.found(id);
    }
  };
  ctx.stats.userFetch = "users.list";
  for (const query of queries) {
    if (members !== undefined && read.size === members.size) break;
    let probes: string[] = [];
    await listAll(ctx, "users.list", `${ctx.customer} query=${JSON.stringify(query)}`, (pageToken) => listUsersPage(ctx, query, pageToken, spec), (page) => {
      keep(page.users);
      if (members === undefined) return false;
      if (read.size === members.size) return true;
      if (page.nextPageToken && members.size - read.size <= USERS_GET_MAX) probes = unseenEmails(members, read);
      return probes.length > 0;
    });
    await forEachLimit(probes, ctx.concurrency, async (email) => keep(await usersMatching(ctx, query, email, spec)));
  }
  return read;
}

/**
 * The users `query` matches among those with this primary `email` (none or one): the query ANDed
 * with `email=`, one users.list request, since only Google can evaluate a query.
 */
async function usersMatching(ctx: DirectoryContext, query: string, email: string, spec: UserReadSpec): Promise<GoogleUser[] | undefined> {
  const probe = `${query} email='${email.replaceAll("'", "\\'")}'`;
  return (await call(ctx, "users.list", `${ctx.customer} query=${JSON.stringify(probe)}`, () => listUsersPage(ctx, probe, undefined, spec)))?.users;
}

/** Whether the user `id` (primary email `email`) matches one of `queries` (gws.users_filter, ORed): one request per query until one matches. */
export async function matchesAnyQuery(ctx: DirectoryContext, queries: readonly string[], id: string, email: string, spec: UserReadSpec): Promise<boolean> {
  for (const query of queries) if ((await usersMatching(ctx, query, email, spec))?.some((u) => u.id === id)) return true;
  return false;
}

/** The emails of the members not read yet, or [] when one has none to ask by (then the listing goes on). */
function unseenEmails(members: MemberIndex, read: ReadonlyMap<string, ReadUser>): string[] {
  const emails: string[] = [];
  for (const id of members.sortedIds()) {
    if (read.has(id)) continue;
    const { email } = members.firstListed(id);
    if (!email.includes("@")) return [];
    emails.push(email);
  }
  return emails;
}

/** One users.list page of the customer's users (those `query` matches, when given): the one place its parameters are chosen. */
function listUsersPage(ctx: DirectoryContext, query: string | undefined, pageToken: string | undefined, spec: UserReadSpec) {
  const { admin, customer } = ctx;
  return admin.users.list(
    {
      customer,
      maxResults: USERS_PAGE,
      ...(query !== undefined ? { query } : {}),
      ...(pageToken ? { pageToken } : {}),
      ...spec.projection,
      fields: `nextPageToken,users(${spec.fieldList})`,
    },
    NO_RETRY,
  );
}

export function mapGoogleUser(id: string, user: GoogleUser, spec: Pick<UserReadSpec, "map" | "recorded">): ReadUser {
  const result = spec.map(user);
  // The record's object where it holds what was read, the manager aside (resolved once every user is read).
  const recorded = spec.recorded?.(id);
  const shared = recorded !== undefined && identical(result.attributes, recorded, "managerSourceId");
  // An archived user cannot sign in either (a licence-saving form of suspension): same policy.
  const read: ReadUser = { user: { sourceId: id, attributes: shared ? recorded : result.attributes, suspended: user.suspended === true || user.archived === true } };
  if (shared) read.recorded = true;
  if (result.manager !== undefined) read.manager = result.manager;
  if (typeof user.primaryEmail === "string" && user.primaryEmail !== result.attributes.email) read.primaryEmail = user.primaryEmail;
  if (result.warnings.length > 0) read.warnings = result.warnings;
  return read;
}

/**
 * One warning per member of `memberIds` that `read` lacks: a USER member without a Directory user
 * is an account outside the domain (users.get answers 404). `groups` are those `members` indexes.
 */
export function warnExternalMembers(memberIds: readonly string[], read: ReadonlyMap<string, unknown>, members: MemberIndex, groups: readonly admin_directory_v1.Schema$Group[], warnings: string[]): void {
  for (const id of memberIds) {
    if (read.has(id)) continue;
    const first = members.firstListed(id);
    const group = groups[first.group]!;
    warnings.push(`member ${first.email} (id ${id}) of group ${group.email ?? group.id!} has no Directory user (external account); skipped`);
  }
}

/** The members that have a Directory user, in id order; every other member and every mapping problem becomes a warning. */
export function sourceUsers(
  memberIds: string[],
  read: Map<string, ReadUser>,
  members: MemberIndex,
  groups: admin_directory_v1.Schema$Group[],
  warnings: string[],
  handedOut?: WeakSet<SourceUser>,
): SourceUser[] {
  warnExternalMembers(memberIds, read, members, groups, warnings);
  const found: ReadUser[] = [];
  for (const id of memberIds) {
    const user = read.get(id);
    if (user === undefined) continue;
    found.push(user);
    if (user.warnings) warnings.push(...user.warnings);
  }
  const idByEmail = managerIds(found);
  return found.map(({ user, manager, recorded }) => {
    const managerId = manager ? idByEmail.get(manager.toLowerCase()) : undefined;
    // A head start's record is the state's now (what was written), and a shared one is the state's own: a copy, never a change.
    if (recorded || handedOut?.has(user)) return withManagerId(user, managerId);
    if (managerId === undefined) return user;
    user.attributes.managerSourceId = managerId;
    return user;
  });
}

/** `user` itself when its attributes name `managerId` already (or both none), else a copy that does: the attributes are never changed in place. */
function withManagerId(user: SourceUser, managerId: string | undefined): SourceUser {
  if (user.attributes.managerSourceId === managerId) return user;
  const { managerSourceId: _dropped, ...rest } = user.attributes;
  const attributes: UserAttributes = managerId === undefined ? rest : { ...rest, managerSourceId: managerId };
  return { ...user, attributes };
}

/**
 * Google keeps the manager as an email (a `relations` entry of type manager,
 * https://developers.google.com/admin-sdk/directory/reference/rest/v1/users); only users read here
 * can be resolved, by their primary email (whatever email a [mapping] sends AWS). Only the emails
 * someone names as manager are indexed (a few of a domain's users); an email held twice resolves
 * to the later user in id order.
 */
function managerIds(users: readonly ReadUser[]): Map<string, string> {
  const named = new Set<string>();
  for (const { manager } of users) if (manager) named.add(manager.toLowerCase());
  const idByEmail = new Map<string, string>();
  for (const { user, primaryEmail } of users) {
    const email = (primaryEmail ?? user.attributes.email).toLowerCase();
    if (named.has(email)) idByEmail.set(email, user.sourceId);
  }
  return idByEmail;
}
