/**
 * @module Test oracle: an in-memory model of an IAM Identity Center tenant with AWS's uniqueness
 * rules, that applies a plan's Operations by their own meaning (independently of `apply.ts`), and
 * that also serves as a `ScimTarget` so the real executor can be run against the same model.
 */
import { ScimRequestError } from "../../src/core/errors.ts";
import type { GroupRef, Operation, UserRef } from "../../src/core/plan.ts";
import { MAX_MEMBERS_PER_REQUEST } from "../../src/model/index.ts";
import type { GroupChange, RequestStats, ScimTarget, UserChange } from "../../src/core/ports.ts";
import type { TenantGroup, TenantSnapshot, TenantUser, UserAttributes } from "../../src/model/index.ts";

export interface ModelUser {
  scimId: string;
  externalId?: string;
  /** Never holds `managerSourceId`: AWS knows the manager by SCIM id only. */
  attributes: UserAttributes;
  managerScimId?: string;
}

export interface ModelGroup {
  scimId: string;
  externalId?: string;
  displayName: string;
  members: Set<string>;
}

/** Why the oracle refused an operation: the plan asked for something AWS would not do. */
export class OracleError extends Error {
  override name = "OracleError";
}

const lower = (s: string) => s.toLowerCase();

export class TenantModel {
  readonly users = new Map<string, ModelUser>();
  readonly groups = new Map<string, ModelGroup>();
  /** Every request the model served through `target()`, by kind (for assertions on request counts). */
  readonly calls: Record<string, number> = {};
  private nextId = 1;

  constructor(private readonly idPrefix = "new") {}

  static from(snapshot: TenantSnapshot, idPrefix = "new"): TenantModel {
    const model = new TenantModel(idPrefix);
    for (const u of snapshot.users) model.users.set(u.scimId, structuredClone({ ...u, attributes: withoutManager(u.attributes) }));
    for (const g of snapshot.groups) {
      model.groups.set(g.scimId, {
        scimId: g.scimId,
        ...(g.externalId !== undefined ? { externalId: g.externalId } : {}),
        displayName: g.displayName,
        members: new Set(g.memberScimIds ?? []),
      });
    }
    return model;
  }

  clone(idPrefix = this.idPrefix): TenantModel {
    const copy = new TenantModel(idPrefix);
    for (const [id, u] of this.users) copy.users.set(id, structuredClone(u));
    for (const [id, g] of this.groups) copy.groups.set(id, { ...g, members: new Set(g.members) });
    return copy;
  }

  /** The tenant as a full read returns it: every group with its members. */
  snapshot(): TenantSnapshot {
    return {
      users: [...this.users.values()].map((u) => structuredClone(u)),
      groups: [...this.groups.values()].map((g) => ({
        scimId: g.scimId,
        ...(g.externalId !== undefined ? { externalId: g.externalId } : {}),
        displayName: g.displayName,
        memberScimIds: [...g.members].sort(),
      })),
    };
  }

  // ---- the store, with AWS's uniqueness rules (userName and email case-insensitive, externalId exact, group displayName exact).

  private userConflict(candidate: { userName: string; email: string; externalId?: string }, except?: string): ModelUser | undefined {
    for (const u of this.users.values()) {
      if (u.scimId === except) continue;
      if (lower(u.attributes.userName) === lower(candidate.userName)) return u;
      if (candidate.email !== "" && lower(u.attributes.email) === lower(candidate.email)) return u;
      if (candidate.externalId !== undefined && u.externalId === candidate.externalId) return u;
    }
    return undefined;
  }

  private groupConflict(candidate: { displayName: string; externalId?: string }, except?: string): ModelGroup | undefined {
    for (const g of this.groups.values()) {
      if (g.scimId === except) continue;
      if (g.displayName === candidate.displayName) return g;
      if (candidate.externalId !== undefined && g.externalId === candidate.externalId) return g;
    }
    return undefined;
  }

  private newId(): string {
    return `${this.idPrefix}-${this.nextId++}`;
  }

  private user(scimId: string): ModelUser {
    const user = this.users.get(scimId);
    if (!user) throw new ScimRequestError("notFound", `user ${scimId} does not exist`, { status: 404 });
    return user;
  }

  private group(scimId: string): ModelGroup {
    const group = this.groups.get(scimId);
    if (!group) throw new ScimRequestError("notFound", `group ${scimId} does not exist`, { status: 404 });
    return group;
  }

  createUser(externalId: string, attributes: UserAttributes, managerScimId?: string): string {
    const clash = this.userConflict({ userName: attributes.userName, email: attributes.email, externalId });
    if (clash) throw new ScimRequestError("conflict", `POST /Users ${attributes.userName}: conflicts with ${clash.scimId} (${clash.attributes.userName})`, { status: 409 });
    const scimId = this.newId();
    this.users.set(scimId, {
      scimId,
      externalId,
      attributes: structuredClone(withoutManager(attributes)),
      ...(managerScimId !== undefined ? { managerScimId } : {}),
    });
    return scimId;
  }

  updateUser(scimId: string, change: UserChange): void {
    const user = this.user(scimId);
    const next: ModelUser = structuredClone(user);
    for (const [name, value] of Object.entries(change.set)) {
      if (name === "managerSourceId") continue;
      (next.attributes as unknown as Record<string, unknown>)[name] = structuredClone(value);
    }
    for (const name of change.clear) {
      if (name === "managerSourceId") delete next.managerScimId;
      else delete (next.attributes as unknown as Record<string, unknown>)[name];
    }
    if (change.set.managerSourceId !== undefined) {
      if (change.managerScimId === undefined) throw new OracleError(`PATCH /Users/${scimId}: a manager to set without its SCIM id`);
      next.managerScimId = change.managerScimId;
    }
    if (change.externalId !== undefined) next.externalId = change.externalId;
    const clash = this.userConflict({ userName: next.attributes.userName, email: next.attributes.email, ...(next.externalId !== undefined ? { externalId: next.externalId } : {}) }, scimId);
    if (clash) throw new ScimRequestError("conflict", `PATCH /Users/${scimId}: conflicts with ${clash.scimId} (${clash.attributes.userName})`, { status: 409 });
    this.users.set(scimId, next);
  }

  /** Deleting a user removes it from every group, as AWS does. */
  deleteUser(scimId: string): void {
    this.user(scimId);
    this.users.delete(scimId);
    for (const g of this.groups.values()) g.members.delete(scimId);
  }

  createGroup(externalId: string, displayName: string, members: string[]): string {
    if (members.length > MAX_MEMBERS_PER_REQUEST) throw new OracleError(`POST /Groups "${displayName}": ${members.length} members (> ${MAX_MEMBERS_PER_REQUEST})`);
    const clash = this.groupConflict({ displayName, externalId });
    if (clash) throw new ScimRequestError("conflict", `POST /Groups "${displayName}": conflicts with ${clash.scimId}`, { status: 409 });
    for (const m of members) this.user(m);
    const scimId = this.newId();
    this.groups.set(scimId, { scimId, externalId, displayName, members: new Set(members) });
    return scimId;
  }

  updateGroup(scimId: string, change: GroupChange): void {
    const group = this.group(scimId);
    const displayName = change.displayName ?? group.displayName;
    const externalId = change.externalId ?? group.externalId;
    const clash = this.groupConflict({ displayName, ...(externalId !== undefined ? { externalId } : {}) }, scimId);
    if (clash) throw new ScimRequestError("conflict", `PATCH /Groups/${scimId}: conflicts with ${clash.scimId}`, { status: 409 });
    group.displayName = displayName;
    if (externalId !== undefined) group.externalId = externalId;
  }

  changeMembers(op: "add" | "remove", groupScimId: string, userScimIds: string[]): void {
    if (userScimIds.length > MAX_MEMBERS_PER_REQUEST) throw new OracleError(`PATCH /Groups/${groupScimId}: ${userScimIds.length} member changes (> ${MAX_MEMBERS_PER_REQUEST})`);
    const group = this.group(groupScimId);
    for (const id of userScimIds) {
      if (op === "add") {
        this.user(id);
        group.members.add(id);
      } else group.members.delete(id);
    }
  }

  deleteGroup(scimId: string): void {
    this.group(scimId);
    this.groups.delete(scimId);
  }

  /** The model as the ScimTarget port, for running the real executor and `readTenant` against it. */
  target(): ScimTarget {
    const count = (kind: string) => {
      this.calls[kind] = (this.calls[kind] ?? 0) + 1;
    };
    const tenantUser = (u: ModelUser): TenantUser => structuredClone(u);
    const tenantGroup = (g: ModelGroup): TenantGroup => ({ scimId: g.scimId, ...(g.externalId !== undefined ? { externalId: g.externalId } : {}), displayName: g.displayName });
    const stats: RequestStats = { byRoute: this.calls, total: 0, retries: 0, throttled: 0 };
    return {
      listUsers: async (each = (u: TenantUser) => u) => (count("listUsers"), [...this.users.values()].map((u) => each(tenantUser(u)))),
      listGroups: async () => (count("listGroups"), [...this.groups.values()].map(tenantGroup)),
      listGroupMembers: async (id) => (count("listGroupMembers"), [...this.group(id).members].sort()),
      listGroupsOfUser: async (id) => (count("listGroupsOfUser"), [...this.groups.values()].filter((g) => g.members.has(id)).map((g) => g.scimId)),
      findUser: async (by) => {
        count("findUser");
        const found = [...this.users.values()].find((u) =>
          by.externalId !== undefined ? u.externalId === by.externalId : lower(u.attributes.userName) === lower(by.userName ?? ""),
        );
        return found ? tenantUser(found) : undefined;
      },
      findGroup: async (by) => {
        count("findGroup");
        const found = [...this.groups.values()].find((g) => (by.externalId !== undefined ? g.externalId === by.externalId : g.displayName === by.displayName));
        return found ? tenantGroup(found) : undefined;
      },
      getUser: async (id) => {
        count("getUser");
        const found = this.users.get(id);
        return found ? tenantUser(found) : undefined;
      },
      getGroup: async (id) => {
        count("getGroup");
        const found = this.groups.get(id);
        return found ? tenantGroup(found) : undefined;
      },
      createUser: async (externalId, attributes, managerScimId) => (count("createUser"), this.createUser(externalId, attributes, managerScimId)),
      updateUser: async (id, change) => (count("updateUser"), this.updateUser(id, change)),
      deleteUser: async (id) => {
        count("deleteUser");
        if (this.users.has(id)) this.deleteUser(id); // the adapter takes a 404 on DELETE as done
      },
      createGroup: async (externalId, displayName, members) => (count("createGroup"), this.createGroup(externalId, displayName, members)),
      updateGroup: async (id, change) => (count("updateGroup"), this.updateGroup(id, change)),
      addMembers: async (id, members) => (count("addMembers"), this.changeMembers("add", id, members)),
      removeMembers: async (id, members) => (count("removeMembers"), this.changeMembers("remove", id, members)),
      deleteGroup: async (id) => {
        count("deleteGroup");
        if (this.groups.has(id)) this.deleteGroup(id);
      },
      stats: () => ({ ...stats, total: Object.values(this.calls).reduce((a, b) => a + b, 0) }),
    };
  }
}

function withoutManager(attributes: UserAttributes): UserAttributes {
  const { managerSourceId: _manager, ...rest } = attributes;
  return rest;
}

export interface OracleResult {
  /** source id → SCIM id of every user and group the plan created. */
  createdUsers: Map<string, string>;
  createdGroups: Map<string, string>;
  /** Operations the model refused (a conflict AWS would answer with 409, a missing resource), in plan order. */
  refused: { op: Operation; reason: string }[];
}

/**
 * Applies `operations` to `model` in the order given, by what each Operation means: creates get
 * new ids, a reference by source id must name something created earlier in the same plan (else
 * the plan is mis-ordered: OracleError), member changes are at most 100 per operation. A refusal
 * AWS would answer (409, 404) is collected, not thrown, so the property can report it.
 */
export function applyOperations(model: TenantModel, operations: readonly Operation[]): OracleResult {
  const createdUsers = new Map<string, string>();
  const createdGroups = new Map<string, string>();
  const refused: OracleResult["refused"] = [];
  const userId = (ref: UserRef, op: Operation): string => {
    if (ref.scimId !== undefined) return ref.scimId;
    const id = createdUsers.get(ref.sourceId);
    if (id === undefined) throw new OracleError(`${op.kind} refers to user ${ref.sourceId}, which no earlier operation created`);
    return id;
  };
  const groupId = (ref: GroupRef, op: Operation): string => {
    if (ref.scimId !== undefined) return ref.scimId;
    const id = createdGroups.get(ref.sourceId);
    if (id === undefined) throw new OracleError(`${op.kind} refers to group ${ref.sourceId}, which no earlier operation created`);
    return id;
  };
  for (const op of operations) {
    try {
      switch (op.kind) {
        case "createUser":
          createdUsers.set(op.sourceId, model.createUser(op.sourceId, op.attributes, op.manager ? userId(op.manager, op) : undefined));
          break;
        case "createGroup":
          if (op.members.length > MAX_MEMBERS_PER_REQUEST) throw new OracleError(`createGroup ${op.sourceId} carries ${op.members.length} members`);
          createdGroups.set(op.sourceId, model.createGroup(op.sourceId, op.displayName, op.members.map((m) => userId(m, op))));
          break;
        case "updateUser": {
          const scimId = op.scimId ?? userId({ sourceId: op.sourceId }, op);
          const manager = op.manager ? userId(op.manager, op) : undefined;
          model.updateUser(scimId, {
            set: op.set,
            clear: op.clear,
            ...(op.externalId !== undefined ? { externalId: op.externalId } : {}),
            ...(manager !== undefined ? { managerScimId: manager } : {}),
          });
          break;
        }
        case "updateGroup":
          model.updateGroup(op.scimId, {
            ...(op.displayName !== undefined ? { displayName: op.displayName } : {}),
            ...(op.externalId !== undefined ? { externalId: op.externalId } : {}),
          });
          break;
        case "addMembers":
        case "removeMembers":
          if (op.members.length > MAX_MEMBERS_PER_REQUEST) throw new OracleError(`${op.kind} ${op.groupSourceId} carries ${op.members.length} members`);
          model.changeMembers(op.kind === "addMembers" ? "add" : "remove", groupId(op.group, op), op.members.map((m) => userId(m, op)));
          break;
        case "deleteGroup":
          model.deleteGroup(op.scimId);
          break;
        case "deleteUser":
          model.deleteUser(op.scimId);
          break;
      }
    } catch (error) {
      if (error instanceof OracleError) throw error;
      refused.push({ op, reason: (error as Error).message });
    }
  }
  return { createdUsers, createdGroups, refused };
}
