/** @module In-memory AWS identity store behind the SCIM emulator: users, groups, uniqueness, filters, PatchGroup (docs/aws-scim.md §3, §5–§7). */
import { randomBytes, randomUUID } from "node:crypto";
import type { Scenario } from "../scenario.ts";
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

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const lower = (s: unknown) => (typeof s === "string" ? s.toLowerCase() : undefined);

export class ScimStore {
  private readonly users = new Map<string, StoredUser>();
  private readonly groups = new Map<string, StoredGroup>();
  private seq = 0;
  /** Real ids share a per-store 10-hex prefix: `9067729b3d-<uuid>` (§1). */
  private readonly idPrefix = randomBytes(5).toString("hex");

  constructor(scenario: Scenario) {
    const now = resourceTimestamp();
    for (const u of scenario.scim.users) {
      const { id, meta, schemas: _schemas, ...rest } = structuredClone(u) as Record<string, unknown> & { id: string };
      const m = isObject(meta) ? meta : {};
      const attrs = rest as UserAttrs;
      if (attrs.externalId === null) delete attrs.externalId;
      if (attrs.active === undefined) attrs.active = true;
      this.users.set(id, {
        id,
        seq: ++this.seq,
        created: typeof m.created === "string" ? m.created : now,
        lastModified: typeof m.lastModified === "string" ? m.lastModified : now,
        attrs,
      });
    }
    for (const g of scenario.scim.groups) {
      this.groups.set(g.id, {
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
    this.users.set(user.id, user);
    return this.renderUser(user);
  }

  putUser(id: string, body: unknown): ScimUserResource {
    const user = this.requireUser(id);
    const attrs = userFromBody(body);
    this.checkUserRefs(attrs, id);
    user.attrs = attrs;
    user.lastModified = resourceTimestamp();
    return this.renderUser(user);
  }

  patchUser(id: string, body: unknown): ScimUserResource {
    const user = this.requireUser(id);
    const attrs = patchUser(user.attrs, body);
    this.checkUserRefs(attrs, id);
    user.attrs = attrs;
    user.lastModified = resourceTimestamp();
    return this.renderUser(user);
  }

  deleteUser(id: string): void {
    this.requireUser(id);
    this.users.delete(id);
    // Deleting a user also drops its memberships (§5.5, inferred from store semantics).
    for (const g of this.groups.values()) g.members.delete(id);
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
    for (const other of this.users.values()) {
      if (other.id === selfId) continue;
      if (lower(other.attrs.userName) === userName) throw conflict();
      if (email !== undefined && lower(primaryEmailOf(other.attrs)) === email) throw conflict();
      if (externalId !== undefined && other.attrs.externalId === externalId) throw conflict();
    }
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
  listUsers(filter: ParsedFilter | undefined): Listed<ScimUserResource>[] {
    let matches: StoredUser[] = [...this.users.values()];
    if (filter) {
      const byAttr = termsByAttr(filter, ["username", "externalid", "groups.value", "id", "manager"]);
      const keys = Object.keys(byAttr).sort().join(",");
      if (keys === "username") {
        const want = byAttr.username?.toLowerCase();
        matches = matches.filter((u) => lower(u.attrs.userName) === want);
      } else if (keys === "externalid") {
        matches = matches.filter((u) => u.attrs.externalId === byAttr.externalid);
      } else if (keys === "groups.value") {
        const group = this.groups.get(byAttr["groups.value"] as string);
        if (!group) throw notFound(`Group ${byAttr["groups.value"]} not found.`);
        matches = matches.filter((u) => group.members.has(u.id));
      } else if (keys === "id") {
        matches = matches.filter((u) => u.id === byAttr.id);
      } else if (keys === "id,manager") {
        matches = matches.filter((u) => u.id === byAttr.id && managerOf(u.attrs) === byAttr.manager);
      } else {
        throw unsupportedCombination(filter);
      }
    }
    return matches.sort((a, b) => a.seq - b.seq).map((u) => ({ seq: u.seq, resource: this.renderUser(u) }));
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
    this.groups.set(group.id, group);
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
    for (const m of adds) group.members.add(m);
    for (const m of removes) group.members.delete(m);
    group.displayName = displayName;
    if (externalId === undefined) delete group.externalId;
    else group.externalId = externalId;
    group.lastModified = resourceTimestamp();
  }

  deleteGroup(id: string): void {
    this.requireGroup(id);
    this.groups.delete(id);
  }

  private checkGroupUnique(displayName: string, externalId: string | undefined, selfId: string | undefined): void {
    for (const other of this.groups.values()) {
      if (other.id === selfId) continue;
      if (other.displayName === displayName) throw conflict();
      if (externalId !== undefined && other.externalId === externalId) throw conflict();
    }
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
  listGroups(filter: ParsedFilter | undefined): Listed<GroupResource>[] {
    let matches: StoredGroup[] = [...this.groups.values()];
    if (filter) {
      const byAttr = termsByAttr(filter, ["displayname", "externalid", "members.value", "id", "members", "member"]);
      const keys = Object.keys(byAttr).sort().join(",");
      const memberOf = (userId: string) => {
        if (!this.users.has(userId)) throw notFound(`User ${userId} not found.`);
        return (g: StoredGroup) => g.members.has(userId);
      };
      if (keys === "displayname") {
        matches = matches.filter((g) => g.displayName === byAttr.displayname);
      } else if (keys === "externalid") {
        matches = matches.filter((g) => g.externalId === byAttr.externalid);
      } else if (keys === "members.value") {
        matches = matches.filter(memberOf(byAttr["members.value"] as string));
      } else if (keys === "id") {
        matches = matches.filter((g) => g.id === byAttr.id);
      } else if (keys === "id,members" || keys === "id,member") {
        const isMember = memberOf((byAttr.members ?? byAttr.member) as string);
        matches = matches.filter((g) => g.id === byAttr.id && isMember(g));
      } else {
        throw unsupportedCombination(filter);
      }
    }
    return matches.sort((a, b) => a.seq - b.seq).map((g) => ({ seq: g.seq, resource: this.renderGroup(g, true) }));
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

