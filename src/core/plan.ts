/**
 * @module The planner: a pure function from (source, tenant, state, policy) to the ordered
 * operations that make the tenant equal the source. No I/O; `apply.ts` carries the plan out.
 */
import type {
  DesiredGroup,
  SyncState,
  TenantGroup,
  TenantSnapshot,
  TenantUser,
  UserAttributeName,
  UserAttributes,
} from "../model/index.ts";
import { USER_ATTRIBUTE_NAMES } from "../model/index.ts";
import type { SourceSnapshot, SourceUser } from "./ports.ts";

/**
 * A reference to a user: by SCIM id when it exists already, else by source id for a user this
 * plan creates (its SCIM id is known only once the create has run).
 */
export type UserRef = { scimId: string; sourceId?: string } | { sourceId: string; scimId?: undefined };
export type GroupRef = UserRef;

export type Operation =
  | {
      kind: "createUser";
      sourceId: string;
      attributes: UserAttributes;
      manager?: UserRef;
      /** Creates run in waves: a user whose manager this plan creates too comes one wave after the manager. */
      wave?: number;
    }
  | { kind: "createGroup"; sourceId: string; displayName: string; members: UserRef[] }
  | {
      kind: "updateUser";
      sourceId: string;
      /** Absent when the user is created earlier in this same plan: resolved from `sourceId`. */
      scimId?: string;
      /** Attributes to send. `managerSourceId` here means "write `manager`". */
      set: Partial<UserAttributes>;
      clear: UserAttributeName[];
      /** Set when adopting a resource whose externalId is not ours yet. */
      externalId?: string;
      manager?: UserRef;
      /** The full desired attributes, recorded in state once the update succeeds. */
      attributes: UserAttributes;
      /** "record": AWS already holds `attributes` and only the state lags behind (no request). */
      why: "changed" | "adopt" | "deactivate" | "manager" | "record";
    }
  | {
      kind: "updateGroup";
      sourceId: string;
      scimId: string;
      displayName?: string;
      externalId?: string;
      /** Recorded in state once the update succeeds. */
      desiredDisplayName: string;
      /** Members AWS holds now (source ids known to this run), recorded in state on adoption and with "record". */
      currentMemberSourceIds: string[];
      /** "record": AWS already holds the wanted name; the state's record lags behind (no request). */
      why: "rename" | "adopt" | "record";
    }
  | { kind: "addMembers"; group: GroupRef; groupSourceId: string; members: UserRef[] }
  | { kind: "removeMembers"; group: GroupRef; groupSourceId: string; members: UserRef[] }
  | { kind: "deleteGroup"; scimId: string; sourceId?: string; displayName: string; why: "left-scope" | "unmanaged" }
  | { kind: "deleteUser"; scimId: string; sourceId?: string; userName: string; why: "left-scope" | "suspended" | "unmanaged" };

export type OperationKind = Operation["kind"];

/** Phase order: every operation of a phase finishes before the next phase starts. */
export const PHASES: readonly (readonly OperationKind[])[] = [
  ["createUser"],
  ["createGroup"],
  ["updateUser", "updateGroup"],
  ["addMembers"],
  ["removeMembers"],
  ["deleteGroup"],
  ["deleteUser"],
];

/** State changes that need no request: managed resources found gone from the tenant. */
export interface Bookkeeping {
  forgetUsers: string[];
  forgetGroups: string[];
}

export interface Plan {
  operations: Operation[];
  bookkeeping: Bookkeeping;
  warnings: string[];
}

export interface PlanPolicy {
  suspendedUsers: "deactivate" | "delete" | "ignore";
  removedUsers: "delete" | "deactivate";
  deleteUnmanaged: boolean;
  /** "upsert" never deletes a user or a group. */
  mode: "sync" | "upsert";
  /** Attributes this run manages: the required ones plus those selected by `sync.user_fields`. */
  managedAttributes: ReadonlySet<UserAttributeName>;
}

/** AWS refuses more than 100 member changes in one request (aws-scim.md §6.1, §6.3). */
export const MAX_MEMBERS_PER_REQUEST = 100;

export function plan(source: SourceSnapshot, tenant: TenantSnapshot, state: SyncState, policy: PlanPolicy): Plan {
  const warnings: string[] = [];
  const bookkeeping: Bookkeeping = { forgetUsers: [], forgetGroups: [] };
  const creates: Operation[] = [];
  const groupCreates: Operation[] = [];
  const updates: Operation[] = [];
  const adds: Operation[] = [];
  const removes: Operation[] = [];
  const groupDeletes: Operation[] = [];
  const userDeletes: Operation[] = [];

  // ---- Users: who is desired, who is frozen (suspended + "ignore"), who goes.
  const sourceById = new Map(source.users.map((u) => [u.sourceId, u]));
  const desiredUsers: SourceUser[] = [];
  const frozenUserIds = new Set<string>();
  for (const user of source.users) {
    if (!user.suspended) desiredUsers.push(user);
    else if (policy.suspendedUsers === "deactivate") {
      desiredUsers.push({ ...user, attributes: { ...user.attributes, active: false } });
    } else if (policy.suspendedUsers === "ignore") frozenUserIds.add(user.sourceId);
  }
  const desiredUserIds = new Set(desiredUsers.map((u) => u.sourceId));

  const tenantUserById = new Map(tenant.users.map((u) => [u.scimId, u]));
  const tenantUserByExternalId = indexUnique(tenant.users, (u) => u.externalId);
  const tenantUserByUserName = indexUnique(tenant.users, (u) => u.attributes.userName.toLowerCase());
  const scimIdManagedBy = new Map<string, string>();
  for (const [sourceId, managed] of Object.entries(state.users)) scimIdManagedBy.set(managed.scimId, sourceId);

  /**
   * sourceId → the tenant user it is (or becomes), for every desired user that exists already.
   * Matching goes by strength, each rule over every desired user before the next: the state's
   * record, then externalId, then userName. So a weaker match never takes a resource that a
   * stronger one gives to another user (e.g. a renamed user's old userName now used by someone else).
   */
  const matchedUser = new Map<string, TenantUser>();
  const claimedUsers = new Set<string>();
  const adoptedUsers = new Set<string>();
  const claimUser = (desired: SourceUser, match: TenantUser, adopted: boolean) => {
    matchedUser.set(desired.sourceId, match);
    claimedUsers.add(match.scimId);
    if (!adopted) return;
    adoptedUsers.add(desired.sourceId);
    if (match.externalId && match.externalId !== desired.sourceId) {
      warnings.push(`adopting user ${match.attributes.userName} (${match.scimId}) whose externalId was "${match.externalId}"`);
    }
  };
  const availableUser = (sourceId: string, u: TenantUser | undefined) =>
    u && !claimedUsers.has(u.scimId) && (scimIdManagedBy.get(u.scimId) ?? sourceId) === sourceId ? u : undefined;
  for (const desired of desiredUsers) {
    const managed = state.users[desired.sourceId];
    const match = managed ? tenantUserById.get(managed.scimId) : undefined;
    if (match && !claimedUsers.has(match.scimId)) claimUser(desired, match, false);
  }
  for (const desired of desiredUsers) {
    if (matchedUser.has(desired.sourceId)) continue;
    const match = availableUser(desired.sourceId, tenantUserByExternalId.get(desired.sourceId));
    if (match) claimUser(desired, match, true);
  }
  for (const desired of desiredUsers) {
    if (matchedUser.has(desired.sourceId)) continue;
    const match = availableUser(desired.sourceId, tenantUserByUserName.get(desired.attributes.userName.toLowerCase()));
    if (match) claimUser(desired, match, true);
  }

  const userRef = (sourceId: string): UserRef => {
    const match = matchedUser.get(sourceId);
    return match ? { scimId: match.scimId, sourceId } : { sourceId };
  };
  const managerOf = (user: SourceUser): string | undefined => {
    const manager = user.attributes.managerSourceId;
    return manager !== undefined && desiredUserIds.has(manager) && manager !== user.sourceId ? manager : undefined;
  };

  // The wave of each user this plan creates: 0 when its manager exists already (or it has none),
  // else one more than its manager's; undefined inside a manager loop.
  const desiredById = new Map(desiredUsers.map((u) => [u.sourceId, u]));
  const waves = new Map<string, number | undefined>();
  const creationWave = (sourceId: string, visiting = new Set<string>()): number | undefined => {
    if (waves.has(sourceId)) return waves.get(sourceId);
    const user = desiredById.get(sourceId);
    const manager = user ? managerOf(user) : undefined;
    let wave: number | undefined = 0;
    if (manager !== undefined && !matchedUser.has(manager)) {
      if (visiting.has(sourceId)) return undefined;
      visiting.add(sourceId);
      const above = creationWave(manager, visiting);
      wave = above === undefined ? undefined : above + 1;
    }
    waves.set(sourceId, wave);
    return wave;
  };

  for (const desired of desiredUsers) {
    const attributes = withManager(desired.attributes, managerOf(desired));
    const match = matchedUser.get(desired.sourceId);
    if (!match) {
      const manager = attributes.managerSourceId;
      const wave = creationWave(desired.sourceId);
      if (manager === undefined || matchedUser.has(manager) || wave !== undefined) {
        creates.push({
          kind: "createUser",
          sourceId: desired.sourceId,
          attributes,
          ...(manager !== undefined ? { manager: userRef(manager) } : {}),
          ...(wave ? { wave } : {}),
        });
        continue;
      }
      // Managers in a loop (A manages B manages A): create without, set the manager afterwards.
      const { managerSourceId: _deferred, ...withoutManager } = attributes;
      creates.push({ kind: "createUser", sourceId: desired.sourceId, attributes: withoutManager });
      updates.push({
        kind: "updateUser",
        sourceId: desired.sourceId,
        set: { managerSourceId: manager },
        clear: [],
        manager: { sourceId: manager },
        attributes,
        why: "manager",
      });
      continue;
    }
    const actualManager = match.managerScimId;
    const desiredManager = attributes.managerSourceId;
    const diff = diffAttributes(attributes, match.attributes, policy.managedAttributes);
    const desiredManagerScimId = desiredManager === undefined ? undefined : matchedUser.get(desiredManager)?.scimId;
    let manager: UserRef | undefined;
    if (policy.managedAttributes.has("managerSourceId")) {
      if (desiredManager !== undefined && (desiredManagerScimId === undefined || desiredManagerScimId !== actualManager)) {
        diff.set.managerSourceId = desiredManager;
        manager = userRef(desiredManager);
      } else if (desiredManager === undefined && actualManager !== undefined) {
        diff.clear.push("managerSourceId");
      }
    }
    const adopt = adoptedUsers.has(desired.sourceId);
    const needsExternalId = match.externalId !== desired.sourceId;
    if (adopt || needsExternalId || Object.keys(diff.set).length > 0 || diff.clear.length > 0) {
      updates.push({
        kind: "updateUser",
        sourceId: desired.sourceId,
        scimId: match.scimId,
        set: diff.set,
        clear: diff.clear,
        ...(needsExternalId ? { externalId: desired.sourceId } : {}),
        ...(manager ? { manager } : {}),
        attributes,
        why: adopt ? "adopt" : attributes.active === false && match.attributes.active !== false ? "deactivate" : "changed",
      });
    } else if (state.users[desired.sourceId]?.scimId === match.scimId && stateIsStale(state.users[desired.sourceId]!.attributes, attributes, policy.managedAttributes)) {
      // AWS already holds what is wanted (a run stopped before saving, a fix made by hand), but
      // the state says otherwise: record it (no request), or every run from the state would
      // send the same PATCH again.
      updates.push({ kind: "updateUser", sourceId: desired.sourceId, scimId: match.scimId, set: {}, clear: [], attributes, why: "record" });
    }
  }

  // Managed users no longer desired.
  const deletedUserScimIds = new Set<string>();
  for (const [sourceId, managed] of Object.entries(state.users)) {
    if (desiredUserIds.has(sourceId)) continue;
    const current = tenantUserById.get(managed.scimId);
    if (!current) {
      // Gone from the tenant (deleted by hand), frozen or not: the state must not keep naming it.
      bookkeeping.forgetUsers.push(sourceId);
      continue;
    }
    if (frozenUserIds.has(sourceId)) continue;
    if (claimedUsers.has(current.scimId)) continue; // re-adopted by another source id; nothing to remove
    const suspended = sourceById.get(sourceId)?.suspended === true;
    const action = suspended ? "delete" : policy.removedUsers; // suspended here means policy "delete"
    if (action === "delete") {
      if (policy.mode === "upsert") continue;
      userDeletes.push({ kind: "deleteUser", scimId: current.scimId, sourceId, userName: current.attributes.userName, why: suspended ? "suspended" : "left-scope" });
      deletedUserScimIds.add(current.scimId);
    } else if (current.attributes.active !== false) {
      updates.push({
        kind: "updateUser",
        sourceId,
        scimId: current.scimId,
        set: { active: false },
        clear: [],
        attributes: { ...managed.attributes, active: false },
        why: "deactivate",
      });
    } else if (managed.attributes.active !== false) {
      // Already inactive in AWS, not in the state: record it, or each run from the state deactivates again.
      updates.push({ kind: "updateUser", sourceId, scimId: current.scimId, set: {}, clear: [], attributes: { ...managed.attributes, active: false }, why: "record" });
    }
  }

  // ---- Groups.
  const tenantGroupById = new Map(tenant.groups.map((g) => [g.scimId, g]));
  const tenantGroupByExternalId = indexUnique(tenant.groups, (g) => g.externalId);
  const tenantGroupByName = indexUnique(tenant.groups, (g) => g.displayName);
  const groupScimIdManagedBy = new Map<string, string>();
  for (const [sourceId, managed] of Object.entries(state.groups)) groupScimIdManagedBy.set(managed.scimId, sourceId);
  const claimedGroups = new Set<string>();
  const desiredGroupIds = new Set(source.groups.map((g) => g.sourceId));
  const scimIdToSourceId = new Map<string, string>();
  for (const [sourceId, match] of matchedUser) scimIdToSourceId.set(match.scimId, sourceId);
  for (const [scimId, sourceId] of scimIdManagedBy) if (!scimIdToSourceId.has(scimId)) scimIdToSourceId.set(scimId, sourceId);

  const frozenScimIds = new Set([...frozenUserIds].flatMap((id) => (state.users[id] ? [state.users[id].scimId] : [])));
  // Groups match like users: the state's record, then externalId, then displayName, each over every group.
  const sortedGroups = sortBySourceId(source.groups);
  const matchedGroup = new Map<string, { match: TenantGroup; adopt: boolean }>();
  const availableGroup = (sourceId: string, g: TenantGroup | undefined) =>
    g && !claimedGroups.has(g.scimId) && (groupScimIdManagedBy.get(g.scimId) ?? sourceId) === sourceId ? g : undefined;
  const claimGroup = (group: DesiredGroup, match: TenantGroup, adopt: boolean) => {
    matchedGroup.set(group.sourceId, { match, adopt });
    claimedGroups.add(match.scimId);
    if (adopt && match.externalId && match.externalId !== group.sourceId) {
      warnings.push(`adopting group "${match.displayName}" (${match.scimId}) whose externalId was "${match.externalId}"`);
    }
  };
  for (const group of sortedGroups) {
    const managed = state.groups[group.sourceId];
    const match = managed ? tenantGroupById.get(managed.scimId) : undefined;
    if (match && !claimedGroups.has(match.scimId)) claimGroup(group, match, false);
  }
  for (const group of sortedGroups) {
    if (matchedGroup.has(group.sourceId)) continue;
    const match = availableGroup(group.sourceId, tenantGroupByExternalId.get(group.sourceId));
    if (match) claimGroup(group, match, true);
  }
  for (const group of sortedGroups) {
    if (matchedGroup.has(group.sourceId)) continue;
    const match = availableGroup(group.sourceId, tenantGroupByName.get(group.displayName));
    if (match) claimGroup(group, match, true);
  }

  for (const group of sortedGroups) {
    const managed = state.groups[group.sourceId];
    const matched = matchedGroup.get(group.sourceId);
    const match = matched?.match;
    const adopt = matched?.adopt ?? false;
    const desiredMembers = group.memberSourceIds.filter((id) => desiredUserIds.has(id));
    if (!match) {
      const refs = desiredMembers.map(userRef);
      groupCreates.push({ kind: "createGroup", sourceId: group.sourceId, displayName: group.displayName, members: refs.slice(0, MAX_MEMBERS_PER_REQUEST) });
      for (const chunk of chunks(refs.slice(MAX_MEMBERS_PER_REQUEST), MAX_MEMBERS_PER_REQUEST)) {
        adds.push({ kind: "addMembers", group: { sourceId: group.sourceId }, groupSourceId: group.sourceId, members: chunk });
      }
      continue;
    }
    const groupRef: GroupRef = { scimId: match.scimId, sourceId: group.sourceId };
    const actualMembers = new Set(match.memberScimIds ?? []);
    const needsExternalId = match.externalId !== group.sourceId;
    const currentMemberSourceIds = [...actualMembers].flatMap((id) => {
      const sourceId = scimIdToSourceId.get(id);
      return sourceId === undefined ? [] : [sourceId];
    });
    // A managed group whose state record lags behind AWS (a run stopped before saving, a change
    // made by hand): its name, or, when its members were read, its members.
    const staleRecord =
      managed !== undefined &&
      managed.scimId === match.scimId &&
      (managed.displayName !== match.displayName || (match.memberScimIds !== undefined && !sameSet(managed.memberSourceIds, currentMemberSourceIds)));
    if (adopt || needsExternalId || match.displayName !== group.displayName || staleRecord) {
      updates.push({
        kind: "updateGroup",
        sourceId: group.sourceId,
        scimId: match.scimId,
        ...(match.displayName !== group.displayName ? { displayName: group.displayName } : {}),
        ...(needsExternalId ? { externalId: group.sourceId } : {}),
        desiredDisplayName: group.displayName,
        currentMemberSourceIds,
        why: adopt ? "adopt" : match.displayName !== group.displayName || needsExternalId ? "rename" : "record",
      });
    }
    const desiredScimIds = new Set<string>();
    const toAdd: UserRef[] = [];
    for (const sourceId of desiredMembers) {
      const ref = userRef(sourceId);
      if (ref.scimId !== undefined) desiredScimIds.add(ref.scimId);
      if (ref.scimId === undefined || !actualMembers.has(ref.scimId)) toAdd.push(ref);
    }
    const toRemove: UserRef[] = [];
    for (const scimId of actualMembers) {
      if (desiredScimIds.has(scimId) || frozenScimIds.has(scimId) || deletedUserScimIds.has(scimId)) continue;
      const sourceId = scimIdToSourceId.get(scimId);
      toRemove.push(sourceId === undefined ? { scimId } : { scimId, sourceId });
    }
    for (const chunk of chunks(toAdd, MAX_MEMBERS_PER_REQUEST)) adds.push({ kind: "addMembers", group: groupRef, groupSourceId: group.sourceId, members: chunk });
    for (const chunk of chunks(toRemove, MAX_MEMBERS_PER_REQUEST)) removes.push({ kind: "removeMembers", group: groupRef, groupSourceId: group.sourceId, members: chunk });
  }

  for (const [sourceId, managed] of Object.entries(state.groups)) {
    if (desiredGroupIds.has(sourceId)) continue;
    const current = tenantGroupById.get(managed.scimId);
    if (!current) {
      bookkeeping.forgetGroups.push(sourceId);
      continue;
    }
    if (claimedGroups.has(current.scimId) || policy.mode === "upsert") continue;
    groupDeletes.push({ kind: "deleteGroup", scimId: current.scimId, sourceId, displayName: current.displayName, why: "left-scope" });
  }

  if (policy.deleteUnmanaged && policy.mode !== "upsert") {
    for (const group of tenant.groups) {
      if (claimedGroups.has(group.scimId) || groupScimIdManagedBy.has(group.scimId)) continue;
      groupDeletes.push({ kind: "deleteGroup", scimId: group.scimId, displayName: group.displayName, why: "unmanaged" });
    }
    for (const user of tenant.users) {
      if (claimedUsers.has(user.scimId) || scimIdManagedBy.has(user.scimId)) continue;
      userDeletes.push({ kind: "deleteUser", scimId: user.scimId, userName: user.attributes.userName, why: "unmanaged" });
    }
  }

  return {
    // Creates in wave order (stable), so the list is the order the executor follows.
    operations: [...byWave(creates), ...groupCreates, ...updates, ...adds, ...removes, ...groupDeletes, ...userDeletes],
    bookkeeping,
    warnings,
  };
}

/** True when the state's record of a user differs from `desired` in what this run manages. */
function stateIsStale(recorded: UserAttributes, desired: UserAttributes, managed: ReadonlySet<UserAttributeName>): boolean {
  const diff = diffAttributes(desired, recorded, managed);
  if (Object.keys(diff.set).length > 0 || diff.clear.length > 0) return true;
  return managed.has("managerSourceId") && recorded.managerSourceId !== desired.managerSourceId;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((x) => right.has(x));
}

/** The attributes to send, and those to clear, so that `actual` becomes `desired` for the managed attributes. */
export function diffAttributes(
  desired: UserAttributes,
  actual: UserAttributes,
  managed: ReadonlySet<UserAttributeName>,
): { set: Partial<UserAttributes>; clear: UserAttributeName[] } {
  const set: Partial<UserAttributes> = {};
  const clear: UserAttributeName[] = [];
  for (const name of USER_ATTRIBUTE_NAMES) {
    if (name === "managerSourceId" || !managed.has(name)) continue;
    const want = desired[name];
    const have = actual[name];
    if (sameValue(want, have)) continue;
    if (isEmpty(want)) {
      if (!isEmpty(have)) clear.push(name);
    } else {
      (set as Record<string, unknown>)[name] = want;
    }
  }
  return { set, clear };
}

/** Equality that ignores absent sub-fields and key order, so AWS echoing `{}` vs. nothing is no change. */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(normalise(a)) === canonicalJson(normalise(b));
}

function normalise(value: unknown): unknown {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => [k, normalise(v)] as const)
      .filter(([, v]) => v !== undefined);
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return value;
}

function isEmpty(value: unknown): boolean {
  return normalise(value) === undefined;
}

/** JSON with object keys sorted: the canonical form hashed into the state file. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
}

function withManager(attributes: UserAttributes, manager: string | undefined): UserAttributes {
  const { managerSourceId: _ignored, ...rest } = attributes;
  return manager === undefined ? rest : { ...rest, managerSourceId: manager };
}

function indexUnique<T>(items: readonly T[], key: (item: T) => string | undefined): Map<string, T> {
  const index = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    if (k !== undefined && k !== "" && !index.has(k)) index.set(k, item);
  }
  return index;
}

function sortBySourceId(groups: readonly DesiredGroup[]): DesiredGroup[] {
  return [...groups].sort((a, b) => (a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0));
}

function byWave(ops: readonly Operation[]): Operation[] {
  const wave = (op: Operation) => (op.kind === "createUser" ? (op.wave ?? 0) : 0);
  return [...ops].sort((a, b) => wave(a) - wave(b));
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface PlanSummary {
  createUser: number;
  updateUser: number;
  deleteUser: number;
  createGroup: number;
  updateGroup: number;
  deleteGroup: number;
  /** Member operations, not requests: one addMembers request carries up to 100. */
  addMembers: number;
  removeMembers: number;
  requests: number;
}

export function summarisePlan(p: Plan): PlanSummary {
  const s: PlanSummary = { createUser: 0, updateUser: 0, deleteUser: 0, createGroup: 0, updateGroup: 0, deleteGroup: 0, addMembers: 0, removeMembers: 0, requests: 0 };
  for (const op of p.operations) {
    if (op.kind === "addMembers" || op.kind === "removeMembers") s[op.kind] += op.members.length;
    else s[op.kind] += 1;
    s.requests += requestsFor(op);
  }
  return s;
}

/** SCIM requests an operation costs when nothing fails (an adoption with nothing to change costs none). */
export function requestsFor(op: Operation): number {
  if (op.kind === "updateUser") {
    return Object.keys(op.set).length > 0 || op.clear.length > 0 || op.externalId !== undefined ? 1 : 0;
  }
  if (op.kind === "updateGroup") return op.displayName !== undefined || op.externalId !== undefined ? 1 : 0;
  return 1;
}
