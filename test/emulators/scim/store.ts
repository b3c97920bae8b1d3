/** @module In-memory AWS identity store behind the SCIM emulator: users, groups, uniqueness, filters, PatchGroup (docs/aws-scim.md §3, §5–§7). */
import { randomBytes, randomUUID } from "node:crypto";
import type { Scenario } from "../scenario.ts";
import { WorkMeter } from "../work.ts";
import { badRequest, conflict, notFound, resourceTimestamp, UNPARSABLE } from "./errors.ts";
import { attrKey, type ParsedFilter } from "./filter.ts";
import {
  ENTERPRISE_URN, managerOf, parsePatch, patchUser, primaryEmailOf, USER_ORDER, USER_SCHEMA,
  userFromBody, type ScimUserResource, type UserAttrs,
} from "./users.ts";

export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
/** At most 100 members in CreateGroup and 100 member changes per PatchGroup (§6.1, §6.3). */
export const MEMBER_LIMIT = 100;

interface StoredUser {
  id: string;
  seq: number;
  created: string;
  lastModified: string;
  attrs: UserAttrs;
}

interface StoredGroup {
  id: string;
  seq: number;
  created: string;
  lastModified: string;
  displayName: string;
  externalId?: string;
  members: Set<string>;
  /** The members in seq order, for paging a `groups.value eq` listing; undefined until listed and after any change to `members`. */
  ordered?: StoredUser[];
}

export interface GroupResource {
  id: string;
  externalId?: string;
  meta: { resourceType: "Group"; created: string; lastModified: string };
  schemas: string[];
  displayName: string;
  members?: [];
}

/** Something listable in creation order; `seq` anchors cursors so deletes between pages skip nothing. */
export interface Listed<T> {
  seq: number;
  resource: T;
}

/** One page of a listing: at most `limit` resources after a sequence number, and whether more follow. */
export interface ListPage<T> {
  items: Listed<T>[];
  more: boolean;
}

/**
 * Entries in creation (seq) order with lookups by seq: an append-only array searched by binary
 * search, deleted entries skipped and compacted away once they are half of it (issue #11: a
 * cursor page costs O(page), not O(store)).
 */
class SeqOrder<T extends { seq: number }> {
  private entries: T[] = [];
  private dead = 0;

  constructor(private readonly live: (entry: T) => boolean, private readonly work: WorkMeter) {}

  add(entry: T): void {
    this.entries.push(entry);
  }

  removed(): void {
    if (++this.dead * 2 > this.entries.length) {
      this.entries = this.entries.filter(this.live);
      this.dead = 0;
    }
  }

  /** Up to `limit` live entries with seq > afterSeq, and whether another follows. */
  after(afterSeq: number, limit: number): { items: T[]; more: boolean } {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      this.work.examined++;
      if (this.entries[mid]!.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    const items: T[] = [];
    for (let i = lo; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      this.work.examined++;
      if (!this.live(entry)) continue;
      if (items.length === limit) return { items, more: true };
      items.push(entry);
    }
    return { items, more: false };
  }
}

/** The page of `matches` (any order) after `afterSeq`, in seq order. */
function pageOf<T extends { seq: number }>(matches: T[], afterSeq: number, limit: number, work: WorkMeter): { items: T[]; more: boolean } {
  work.examined += matches.length;
  const rest = matches.filter((m) => m.seq > afterSeq).sort((a, b) => a.seq - b.seq);
  return { items: rest.slice(0, limit), more: rest.length > limit };
}

/** The attributes a ListUsers filter may name (§3); the members listing and the other lookups read the same terms. */
const USER_FILTER_ATTRIBUTES = ["username", "externalid", "groups.value", "id", "manager"];

/** The page of `ordered` (in seq order) after `afterSeq`: a binary search, then the page. */
function pageAfter<T extends { seq: number }>(ordered: readonly T[], afterSeq: number, limit: number, work: WorkMeter): { items: T[]; more: boolean } {
  let lo = 0;
  let hi = ordered.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    work.examined++;
    if (ordered[mid]!.seq <= afterSeq) lo = mid + 1;
    else hi = mid;
  }
  const items = ordered.slice(lo, lo + limit);
  work.examined += items.length;
  return { items, more: lo + limit < ordered.length };
}

/** A unique key → value map that forgets a key only if it still points at the one leaving. */
class UniqueIndex<V> extends Map<string, V> {
  drop(key: string | undefined, value: V): void {
    if (key !== undefined && this.get(key) === value) this.delete(key);
  }

  put(key: string | undefined, value: V): void {
    if (key !== undefined) this.set(key, value);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const lower = (s: unknown) => (typeof s === "string" ? s.toLowerCase() : undefined);

export class ScimStore {
  private readonly users = new Map<string, StoredUser>();
  private readonly groups = new Map<string, StoredGroup>();
  /** Indexes for the eq filters and uniqueness checks (issue #11): no request scans the store. */
  private readonly userByName = new UniqueIndex<StoredUser>();
  private readonly userByEmail = new UniqueIndex<StoredUser>();
  private readonly userByExternalId = new UniqueIndex<StoredUser>();
  private readonly groupByName = new UniqueIndex<StoredGroup>();
  private readonly groupByExternalId = new UniqueIndex<StoredGroup>();
  private readonly groupsOfUser = new Map<string, Set<StoredGroup>>();
  private readonly userOrder: SeqOrder<StoredUser>;
  private readonly groupOrder: SeqOrder<StoredGroup>;
  private seq = 0;
  /** Real ids share a per-store 10-hex prefix: `9067729b3d-<uuid>` (§1). */
  private readonly idPrefix = randomBytes(5).toString("hex");

  constructor(scenario: Scenario, readonly work: WorkMeter = new WorkMeter()) {
    this.userOrder = new SeqOrder((u) => this.users.get(u.id) === u, work);
    this.groupOrder = new SeqOrder((g) => this.groups.get(g.id) === g, work);
    const now = resourceTimestamp();
    for (const u of scenario.scim.users) {
      const { id, meta, schemas: _schemas, ...rest } = structuredClone(u) as Record<string, unknown> & { id: string };
      const m = isObject(meta) ? meta : {};
      const attrs = rest as UserAttrs;
      if (attrs.externalId === null) delete attrs.externalId;
      if (attrs.active === undefined) attrs.active = true;
      this.addUser({
        id,
        seq: ++this.seq,
        created: typeof m.created === "string" ? m.created : now,
        lastModified: typeof m.lastModified === "string" ? m.lastModified : now,
        attrs,
      });
    }
    for (const g of scenario.scim.groups) {
      this.addGroup({
        id: g.id,
        seq: ++this.seq,
        created: now,
        lastModified: now,
        displayName: g.displayName,
        ...(typeof g.externalId === "string" ? { externalId: g.externalId } : {}),
        members: new Set(g.members),
      });
    }
  }

  private addUser(user: StoredUser): void {
    this.users.set(user.id, user);
    this.userOrder.add(user);
    this.indexUser(user);
  }

  private indexUser(user: StoredUser): void {
    this.userByName.put(lower(user.attrs.userName), user);
    this.userByEmail.put(lower(primaryEmailOf(user.attrs)), user);
    this.userByExternalId.put(user.attrs.externalId as string | undefined, user);
  }

  private unindexUser(user: StoredUser): void {
    this.userByName.drop(lower(user.attrs.userName), user);
    this.userByEmail.drop(lower(primaryEmailOf(user.attrs)), user);
    this.userByExternalId.drop(user.attrs.externalId as string | undefined, user);
  }

  /** Replaces a user's attributes, keeping the lookups in step. */
  private setAttrs(user: StoredUser, attrs: UserAttrs): void {
    this.unindexUser(user);
    user.attrs = attrs;
    this.indexUser(user);
  }

  private addGroup(group: StoredGroup): void {
    this.groups.set(group.id, group);
    this.groupOrder.add(group);
    this.groupByName.put(group.displayName, group);
    this.groupByExternalId.put(group.externalId, group);
    for (const m of group.members) this.joined(m, group);
  }

  private joined(userId: string, group: StoredGroup): void {
    let of = this.groupsOfUser.get(userId);
    if (!of) this.groupsOfUser.set(userId, (of = new Set()));
    of.add(group);
  }

  private left(userId: string, group: StoredGroup): void {
    this.groupsOfUser.get(userId)?.delete(group);
  }

  newId(): string {
    return `${this.idPrefix}-${randomUUID()}`;
  }

  // ---------------------------------------------------------------- users

  renderUser(u: StoredUser): ScimUserResource {
    const out: Record<string, unknown> = { id: u.id };
    if (u.attrs.externalId !== undefined) out.externalId = u.attrs.externalId;
    out.meta = { resourceType: "User", created: u.created, lastModified: u.lastModified };
    // The enterprise URN is listed only when extension data is present (§5.2).
    out.schemas = u.attrs[ENTERPRISE_URN] !== undefined ? [USER_SCHEMA, ENTERPRISE_URN] : [USER_SCHEMA];
    for (const key of USER_ORDER) if (u.attrs[key] !== undefined) out[key] = structuredClone(u.attrs[key]);
    for (const [key, value] of Object.entries(u.attrs)) {
      if (!(key in out) && key !== ENTERPRISE_URN) out[key] = structuredClone(value); // free-form seeded data
    }
    if (u.attrs[ENTERPRISE_URN] !== undefined) out[ENTERPRISE_URN] = structuredClone(u.attrs[ENTERPRISE_URN]);
    return out as ScimUserResource;
  }

  getUser(id: string): ScimUserResource {
    return this.renderUser(this.requireUser(id));
  }

  createUser(body: unknown): ScimUserResource {
    const attrs = userFromBody(body);
    this.checkUserRefs(attrs, undefined);
    const now = resourceTimestamp();
    const user: StoredUser = { id: this.newId(), seq: ++this.seq, created: now, lastModified: now, attrs };
    this.addUser(user);
    return this.renderUser(user);
  }

  putUser(id: string, body: unknown): ScimUserResource {
    const user = this.requireUser(id);
    const attrs = userFromBody(body);
    this.checkUserRefs(attrs, id);
    this.setAttrs(user, attrs);
    user.lastModified = resourceTimestamp();
    return this.renderUser(user);
  }

  patchUser(id: string, body: unknown): ScimUserResource {
    const user = this.requireUser(id);
    const attrs = patchUser(user.attrs, body);
    this.checkUserRefs(attrs, id);
    this.setAttrs(user, attrs);
    user.lastModified = resourceTimestamp();
    return this.renderUser(user);
  }

  deleteUser(id: string): void {
    const user = this.requireUser(id);
    this.users.delete(id);
    this.unindexUser(user);
    this.userOrder.removed();
    // Deleting a user also drops its memberships (§5.5, inferred from store semantics).
    for (const g of this.groupsOfUser.get(id) ?? []) {
      g.members.delete(id);
      delete g.ordered;
    }
    this.groupsOfUser.delete(id);
  }

  /**
   * Uniqueness (§7): userName and primary email case-insensitively (userName matching in AWS is
   * assumed case-insensitive, like its sign-in names), externalId exactly → 409. The manager
   * must be an existing user → 400 (AWS's answer NOT KNOWN; checked on POST, PUT and PATCH).
   */
  private checkUserRefs(attrs: UserAttrs, selfId: string | undefined): void {
    const userName = lower(attrs.userName);
    const email = lower(primaryEmailOf(attrs));
    const externalId = attrs.externalId;
    const taken = (other: StoredUser | undefined) => other !== undefined && other.id !== selfId;
    this.work.examined += 3;
    if (userName !== undefined && taken(this.userByName.get(userName))) throw conflict();
    if (email !== undefined && taken(this.userByEmail.get(email))) throw conflict();
    if (externalId !== undefined && taken(this.userByExternalId.get(externalId as string))) throw conflict();
    const manager = managerOf(attrs);
    if (manager !== undefined && !this.users.has(manager)) {
      throw badRequest(`Manager \`${manager}\` does not exist.`);
    }
  }

  private requireUser(id: string): StoredUser {
    const user = this.users.get(id);
    if (!user) throw notFound(`User ${id} not found.`);
    return user;
  }

  /**
   * ListUsers filters (§3): userName (case-insensitive, an assumption: AWS NOT KNOWN), externalId,
   * groups.value (unknown group → 404, chosen by symmetry with the documented members 404; AWS
   * NOT KNOWN), `id eq` alone, and `id eq … and manager eq …` in either order.
   */
  listUsers(filter: ParsedFilter | undefined, afterSeq: number, limit: number): ListPage<ScimUserResource> {
    const members = filter ? this.membersListed(filter) : undefined;
    const page = members ? pageAfter(members, afterSeq, limit, this.work) : filter ? pageOf(this.usersMatching(filter), afterSeq, limit, this.work) : this.userOrder.after(afterSeq, limit);
    return { items: page.items.map((u) => ({ seq: u.seq, resource: this.renderUser(u) })), more: page.more };
  }

  /**
   * The members of the group a `groups.value eq` filter names, in seq order: ordered once per
   * change to the group, so each page of a 200,000-member group is a binary search, not a sort of
   * the whole group (AWS answers it in time independent of the group's size). Undefined for any
   * other filter.
   */
  private membersListed(filter: ParsedFilter): StoredUser[] | undefined {
    const byAttr = termsByAttr(filter, USER_FILTER_ATTRIBUTES);
    if (Object.keys(byAttr).join(",") !== "groups.value") return undefined;
    const group = this.groups.get(byAttr["groups.value"] as string);
    if (!group) throw notFound(`Group ${byAttr["groups.value"]} not found.`);
    if (group.ordered === undefined) {
      group.ordered = [...group.members].map((m) => this.users.get(m)).filter((u): u is StoredUser => u !== undefined).sort((a, b) => a.seq - b.seq);
      this.work.indexed += group.ordered.length;
    }
    return group.ordered;
  }

  private usersMatching(filter: ParsedFilter): StoredUser[] {
    const byAttr = termsByAttr(filter, USER_FILTER_ATTRIBUTES);
    const keys = Object.keys(byAttr).sort().join(",");
    const one = (u: StoredUser | undefined) => (u ? [u] : []);
    if (keys === "username") return one(this.userByName.get(byAttr.username!.toLowerCase()));
    if (keys === "externalid") return one(this.userByExternalId.get(byAttr.externalid!));
    if (keys === "id") return one(this.users.get(byAttr.id!));
    if (keys === "id,manager") return one(this.users.get(byAttr.id!)).filter((u) => managerOf(u.attrs) === byAttr.manager);
    throw unsupportedCombination(filter);
  }

  // --------------------------------------------------------------- groups

  /** GetGroup never carries members; ListGroups carries `"members": []` (§6.2). */
  renderGroup(g: StoredGroup, listed: boolean): GroupResource {
    return {
      id: g.id,
      ...(g.externalId !== undefined ? { externalId: g.externalId } : {}),
      meta: { resourceType: "Group", created: g.created, lastModified: g.lastModified },
      schemas: [GROUP_SCHEMA],
      displayName: g.displayName,
      ...(listed ? { members: [] as [] } : {}),
    };
  }

  getGroup(id: string): GroupResource {
    return this.renderGroup(this.requireGroup(id), false);
  }

  /**
   * CreateGroup (§6.1): displayName required (1–1024), externalId optional, ≤100 members, each
   * an existing user (unknown → 400 ValidationException: chosen, AWS NOT KNOWN). Duplicate
   * displayName (exact match; AWS case rules NOT KNOWN) or externalId → 409. 201 without members.
   * `chargeMembers` is charged one membership operation per member (§9) before the group is made.
   */
  createGroup(body: unknown, chargeMembers: (changes: number) => void): GroupResource {
    if (!isObject(body)) throw badRequest(UNPARSABLE);
    for (const key of Object.keys(body)) {
      if (!["schemas", "id", "meta", "displayName", "externalId", "members"].includes(key)) {
        throw badRequest(`Attribute \`${key}\` is not supported.`);
      }
    }
    const displayName = checkGroupName(body.displayName);
    const externalId = body.externalId ?? undefined;
    if (externalId !== undefined && (typeof externalId !== "string" || externalId.length === 0)) {
      throw badRequest("1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must be a non-empty string");
    }
    const members = memberValues(body.members ?? []);
    if (members.length > MEMBER_LIMIT) throw badRequest(UNPARSABLE);
    for (const m of members) if (!this.users.has(m)) throw badRequest(`Member \`${m}\` is not an existing user.`);
    this.checkGroupUnique(displayName, externalId as string | undefined, undefined);
    chargeMembers(members.length);
    const now = resourceTimestamp();
    const group: StoredGroup = {
      id: this.newId(),
      seq: ++this.seq,
      created: now,
      lastModified: now,
      displayName,
      ...(externalId !== undefined ? { externalId: externalId as string } : {}),
      members: new Set(members),
    };
    this.addGroup(group);
    return this.renderGroup(group, false);
  }

  /**
   * PatchGroup (§6.3). Returns nothing: AWS answers 204 with an empty body. `chargeMembers` is
   * called with the number of member changes once the request is known valid, before anything
   * changes (the membership-op rate limit, §9); it throws to refuse.
   */
  patchGroup(id: string, body: unknown, chargeMembers: (changes: number) => void): void {
    const group = this.requireGroup(id);
    const ops = parsePatch(body);
    let displayName = group.displayName;
    let externalId = group.externalId;
    const adds: string[] = [];
    const removes: string[] = [];
    const apply = (op: string, path: string, value: unknown) => {
      switch (path.toLowerCase()) {
        case "displayname":
          if (op === "remove") throw badRequest("Attribute `displayName` is required and cannot be removed.");
          displayName = checkGroupName(value);
          return;
        case "externalid":
          if (op === "remove") externalId = undefined;
          else if (typeof value !== "string" || value.length === 0) throw badRequest(UNPARSABLE);
          else externalId = value;
          return;
        case "members":
          // "PatchGroup doesn't support `remove all` or `replace` operations" (§6.3, DG:limitations).
          if (op === "replace") throw badRequest("Replacing all members of a group is not supported.");
          if (op === "remove" && (value === undefined || (Array.isArray(value) && value.length === 0))) {
            throw badRequest("Removing all members of a group is not supported.");
          }
          (op === "add" ? adds : removes).push(...memberValues(value));
          return;
        case "id":
          if (value !== group.id) throw badRequest("The group id cannot be changed.");
          return;
        default:
          // Only displayName, members and externalId can change (§6.3); `members[value eq …]` NOT KNOWN → 400.
          throw badRequest(`Unsupported PATCH path \`${path}\`.`);
      }
    };
    for (const op of ops) {
      if (op.path !== undefined) {
        apply(op.op, op.path, op.value);
      } else {
        // Path-less replace with {id, displayName, externalId} (DG:patchgroup example).
        if (!isObject(op.value)) throw badRequest(UNPARSABLE);
        for (const [key, value] of Object.entries(op.value)) {
          if (key === "schemas" || key === "meta") continue;
          apply(op.op, key, value);
        }
      }
    }
    // ≤100 member changes summed over all operations, with the captured detail (§6.3, idp-scim-sync#62).
    if (adds.length + removes.length > MEMBER_LIMIT) throw badRequest(UNPARSABLE);
    // An add naming an unknown user → 404 (chosen; AWS NOT KNOWN, §6.3). Removing an unknown id is a no-op.
    for (const m of adds) if (!this.users.has(m)) throw notFound(`User ${m} not found.`);
    this.checkGroupUnique(displayName, externalId, group.id);
    chargeMembers(adds.length + removes.length);
    // Adding an existing member / removing a non-member is an idempotent no-op (assumed, §6.3).
    for (const m of adds) {
      group.members.add(m);
      this.joined(m, group);
    }
    for (const m of removes) if (group.members.delete(m)) this.left(m, group);
    if (adds.length + removes.length > 0) delete group.ordered;
    this.groupByName.drop(group.displayName, group);
    this.groupByExternalId.drop(group.externalId, group);
    group.displayName = displayName;
    if (externalId === undefined) delete group.externalId;
    else group.externalId = externalId;
    this.groupByName.put(group.displayName, group);
    this.groupByExternalId.put(group.externalId, group);
    group.lastModified = resourceTimestamp();
  }

  deleteGroup(id: string): void {
    const group = this.requireGroup(id);
    this.groups.delete(id);
    this.groupOrder.removed();
    this.groupByName.drop(group.displayName, group);
    this.groupByExternalId.drop(group.externalId, group);
    for (const m of group.members) this.left(m, group);
  }

  private checkGroupUnique(displayName: string, externalId: string | undefined, selfId: string | undefined): void {
    const taken = (other: StoredGroup | undefined) => other !== undefined && other.id !== selfId;
    this.work.examined += 2;
    if (taken(this.groupByName.get(displayName))) throw conflict();
    if (externalId !== undefined && taken(this.groupByExternalId.get(externalId))) throw conflict();
  }

  private requireGroup(id: string): StoredGroup {
    const group = this.groups.get(id);
    if (!group) throw notFound(`Group ${id} not found.`);
    return group;
  }

  /**
   * ListGroups filters (§3): displayName, externalId, members.value, `id eq` alone, and
   * `id eq … and members eq …` (also `member`, the constraint list's spelling). A members filter
   * naming a user that does not exist → 404 ResourceNotFoundException (DG:listgroups).
   */
  listGroups(filter: ParsedFilter | undefined, afterSeq: number, limit: number): ListPage<GroupResource> {
    const page = filter ? pageOf(this.groupsMatching(filter), afterSeq, limit, this.work) : this.groupOrder.after(afterSeq, limit);
    return { items: page.items.map((g) => ({ seq: g.seq, resource: this.renderGroup(g, true) })), more: page.more };
  }

  private groupsMatching(filter: ParsedFilter): StoredGroup[] {
    const byAttr = termsByAttr(filter, ["displayname", "externalid", "members.value", "id", "members", "member"]);
    const keys = Object.keys(byAttr).sort().join(",");
    const one = (g: StoredGroup | undefined) => (g ? [g] : []);
    const groupsOf = (userId: string) => {
      if (!this.users.has(userId)) throw notFound(`User ${userId} not found.`);
      return [...(this.groupsOfUser.get(userId) ?? [])];
    };
    if (keys === "displayname") return one(this.groupByName.get(byAttr.displayname!));
    if (keys === "externalid") return one(this.groupByExternalId.get(byAttr.externalid!));
    if (keys === "members.value") return groupsOf(byAttr["members.value"] as string);
    if (keys === "id") return one(this.groups.get(byAttr.id!));
    if (keys === "id,members" || keys === "id,member") {
      const of = groupsOf((byAttr.members ?? byAttr.member) as string);
      return one(this.groups.get(byAttr.id!)).filter((g) => of.includes(g));
    }
    throw unsupportedCombination(filter);
  }

  snapshot(): { users: ScimUserResource[]; groups: { id: string; displayName: string; externalId?: string; members: string[] }[] } {
    return {
      users: [...this.users.values()].map((u) => this.renderUser(u)),
      groups: [...this.groups.values()].map((g) => ({
        id: g.id,
        displayName: g.displayName,
        ...(g.externalId !== undefined ? { externalId: g.externalId } : {}),
        members: [...g.members],
      })),
    };
  }
}

/** Maps each filter term to its lower-cased attribute; a repeated or unknown attribute is a 400. */
function termsByAttr(filter: ParsedFilter, allowed: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const term of filter.terms) {
    const key = attrKey(term.attribute);
    if (!allowed.includes(key) || key in out) throw unsupportedCombination(filter);
    out[key] = term.value;
  }
  return out;
}

const unsupportedCombination = (filter: ParsedFilter) =>
  badRequest(`Unsupported filter expression "${filter.text}": the attribute or combination is not supported.`);

function checkGroupName(value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw badRequest("1 validation error detected: Value at 'displayName' failed to satisfy constraint: Member must have length greater than or equal to 1");
  }
  if (value.length > 1024) {
    throw badRequest("1 validation error detected: Value at 'displayName' failed to satisfy constraint: Member must have length less than or equal to 1024");
  }
  return value;
}

/** `[{value: "<userId>"}, …]` → ids; anything else is unparsable. */
function memberValues(value: unknown): string[] {
  if (!Array.isArray(value)) throw badRequest(UNPARSABLE);
  return value.map((m) => {
    if (!isObject(m) || typeof m.value !== "string" || m.value.length === 0) throw badRequest(UNPARSABLE);
    return m.value;
  });
}

