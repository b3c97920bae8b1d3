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
import { MAX_MEMBERS_PER_REQUEST, USER_ATTRIBUTE_NAMES } from "../model/index.ts";
import { indexBy, matchesAnyGlob, matchResources, type BlockedReason, type Matching } from "./match.ts";
import type { RejectedRecord, SourceSnapshot, SourceUser } from "./ports.ts";
import { heldMembers, memberIndex, recordedMemberChanges, sameList, sameSet, unwantedMembers, wantedMembers, wantedRefs, type MemberChanges, type MemberIndex } from "./plan-members.ts";
import { membersOfRecord } from "./state.ts";
import { shown } from "./text.ts";

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
      /** The id another tool keyed the user by (SourceUser.formerId): a create that meets 409 takes over the user carrying it. */
      formerId?: string;
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
  | {
      kind: "deleteGroup";
      scimId: string;
      sourceId?: string;
      displayName: string;
      why: "left-scope" | "unmanaged";
      /** Runs before the creates: a group this plan creates takes its name. */
      early?: true;
    }
  | {
      kind: "deleteUser";
      scimId: string;
      sourceId?: string;
      userName: string;
      why: "left-scope" | "suspended" | "unmanaged";
      /** Runs before the creates: a user this plan creates takes its userName or email (deleted and re-made in the source). */
      early?: true;
    };

export type OperationKind = Operation["kind"];

/**
 * Phase order: every operation of a phase finishes before the next phase starts. Deletes that
 * free a name a create needs (a user deleted and re-made in the source) run first, as phase 0.
 */
export const PHASES: readonly (readonly OperationKind[])[] = [
  ["deleteGroup", "deleteUser"],
  ["createUser"],
  ["createGroup"],
  ["updateUser", "updateGroup"],
  ["addMembers"],
  ["removeMembers"],
  ["deleteGroup"],
  ["deleteUser"],
];

/** The index in PHASES of the phase `op` runs in. */
export function phaseOf(op: Operation): number {
  if ((op.kind === "deleteUser" || op.kind === "deleteGroup") && op.early) return 0;
  return PHASES.findIndex((kinds, index) => index > 0 && kinds.includes(op.kind));
}

/**
 * The operations of one phase, grouped by wave in wave order, each wave in plan order: a user
 * whose manager this plan creates too is created one wave after the manager, so its create
 * carries the manager's SCIM id (one request instead of a create and a PATCH). Every other
 * operation is wave 0.
 */
export function wavesOf(ops: readonly Operation[]): Operation[][] {
  const byWave = new Map<number, Operation[]>();
  for (const op of ops) {
    const wave = op.kind === "createUser" ? (op.wave ?? 0) : 0;
    const members = byWave.get(wave);
    if (members) members.push(op);
    else byWave.set(wave, [op]);
  }
  return [...byWave.entries()].sort(([a], [b]) => a - b).map(([, wave]) => wave);
}

/**
 * Whether an operation sends a SCIM request when nothing fails: an update only with something to
 * set, clear or mark as ours (an adoption with nothing to change, or a "record", sends none).
 */
export function sendsRequest(op: Operation): boolean {
  if (op.kind === "updateUser") return Object.keys(op.set).length > 0 || op.clear.length > 0 || op.externalId !== undefined;
  if (op.kind === "updateGroup") return op.displayName !== undefined || op.externalId !== undefined;
  return true;
}

/** State changes that need no request: managed resources found gone from the tenant, or found not to be ours. */
export interface Bookkeeping {
  forgetUsers: string[];
  forgetGroups: string[];
}

/** What the tool manages once this plan's creates and adoptions are counted: the base of the rails' percentages. */
export interface ManagedCounts {
  users: number;
  groups: number;
  memberships: number;
}

export interface Plan {
  operations: Operation[];
  bookkeeping: Bookkeeping;
  warnings: string[];
  /** Source records this run cannot act on (a name held by a resource not ours, a duplicate name, a value AWS refuses): each is a failed record. */
  rejected: RejectedRecord[];
  managed: ManagedCounts;
}

export interface PlanPolicy {
  suspendedUsers: "deactivate" | "delete" | "ignore";
  removedUsers: "delete" | "deactivate";
  deleteUnmanaged: boolean;
  /** "upsert" never deletes a user or a group. */
  mode: "sync" | "upsert";
  /** Attributes this run manages: the required ones plus those selected by `sync.user_fields`. */
  managedAttributes: ReadonlySet<UserAttributeName>;
  /** May this run take over an unmanaged AWS group by its displayName (`sync.adopt_groups`, resolved for this run)? */
  adoptGroupsByName: boolean;
  /** `sync.protected_groups`: glob patterns of AWS group names never adopted, changed or deleted. */
  protectedGroups: readonly string[];
  /**
   * `sync.only_groups`: never create, change or delete a user; a group's members are the users in
   * scope that AWS already holds. Those users are not recorded as this tool's.
   */
  onlyGroups?: boolean;
}

/** The plan as it is built: one list per phase, and what the planners learn along the way. */
interface Draft {
  userCreates: Operation[];
  groupCreates: Operation[];
  updates: Operation[];
  adds: Operation[];
  removes: Operation[];
  groupDeletes: Extract<Operation, { kind: "deleteGroup" }>[];
  userDeletes: Extract<Operation, { kind: "deleteUser" }>[];
  bookkeeping: Bookkeeping;
  warnings: string[];
  rejected: RejectedRecord[];
}

export function plan(source: SourceSnapshot, tenant: TenantSnapshot, state: SyncState, policy: PlanPolicy): Plan {
  const draft: Draft = {
    userCreates: [], groupCreates: [], updates: [], adds: [], removes: [], groupDeletes: [], userDeletes: [],
    bookkeeping: { forgetUsers: [], forgetGroups: [] },
    warnings: [],
    rejected: [...(source.rejected ?? [])],
  };
  const users = planUsers(source, tenant, state, policy, draft);
  const groups = planGroups(source, tenant, state, policy, users, draft);
  planUnmanagedDeletes(tenant, policy, users.matching, groups.matching, draft);
  markEarlyDeletes(tenant, draft);
  return {
    // Creates in wave order (stable), so the list is the order the executor follows.
    operations: [
      ...draft.groupDeletes.filter((op) => op.early),
      ...draft.userDeletes.filter((op) => op.early),
      ...wavesOf(draft.userCreates).flat(),
      ...draft.groupCreates,
      ...draft.updates,
      ...draft.adds,
      ...draft.removes,
      ...draft.groupDeletes.filter((op) => !op.early),
      ...draft.userDeletes.filter((op) => !op.early),
    ],
    bookkeeping: draft.bookkeeping,
    warnings: draft.warnings,
    rejected: draft.rejected,
    managed: managedCounts(state, users, groups, draft),
  };
}

// ---------------------------------------------------------------------------------------------
// Users.

export interface UserPlan {
  matching: Matching<TenantUser>;
  /** Source ids of the users this run wants in AWS (matched or created). */
  desiredIds: { has(sourceId: string): boolean };
  /** Users left as AWS holds them: suspended under "ignore", rejected, blocked by a name not ours. */
  frozenIds: Set<string>;
  /** Source id → SCIM id of every user that exists already and that this run may name (desired or frozen). */
  existing: ExistingUsers;
  /** SCIM ids of the users this plan deletes. */
  deletedScimIds: Set<string>;
  /** A wanted user's SCIM id, null when this plan creates it, undefined when this run does not want the user. */
  wanted(sourceId: string): string | null | undefined;
  adopted: number;
}

function planUsers(source: SourceSnapshot, tenant: TenantSnapshot, state: SyncState, policy: PlanPolicy, draft: Draft): UserPlan {
  const { desired: inScope, frozenIds } = usersInScope(source, policy, draft);
  const matching = matchResources({
    desired: inScope,
    sourceIdOf: (u) => u.sourceId,
    formerIdOf: (u) => u.formerId,
    nameOf: (u) => u.attributes.userName.toLowerCase(),
    tenant: tenant.users,
    tenantNameOf: (u) => u.attributes.userName.toLowerCase(),
    recorded: state.users,
    untouchable: () => false,
    // An email names a person: a user no tool has marked as its own is that person's account.
    adoptByName: true,
  });
  disown("user", matching, (u) => u.attributes.userName, draft.bookkeeping.forgetUsers, draft);
  if (policy.onlyGroups) return existingUsersOnly(inScope, matching, frozenIds, draft);
  for (const [sourceId, { resource, reason }] of matching.blocked) {
    frozenIds.add(sourceId);
    draft.rejected.push({ kind: "user", sourceId, subject: shown(resource.attributes.userName), reason: blockedUserReason(resource, reason) });
  }
  const desired = inScope.filter((u) => !matching.blocked.has(u.sourceId));
  // The desired users are the matched ones and these: no index of all 200,000 is built again.
  const toCreate = new Map<string, SourceUser>();
  for (const user of desired) if (!matching.matched.has(user.sourceId)) toCreate.set(user.sourceId, user);
  const desiredIds: UserPlan["desiredIds"] = { has: (sourceId) => matching.matched.has(sourceId) || toCreate.has(sourceId) };
  const frozenOwned = new Map<string, string>();
  for (const [scimId, sourceId] of matching.owned) if (frozenIds.has(sourceId)) frozenOwned.set(sourceId, scimId);
  const existing = existingUsers(matching.matched, frozenOwned);
  // One lookup per membership where a map of every wanted user was built before (matched ones are desired).
  const wanted = (sourceId: string): string | null | undefined => {
    const resource = matching.matched.get(sourceId);
    if (resource !== undefined) return frozenOwned.get(sourceId) ?? resource.scimId;
    return toCreate.has(sourceId) ? (frozenOwned.get(sourceId) ?? null) : undefined;
  };

  const ctx: UserContext = { toCreate, desiredIds, existing, matching, state, policy, draft };
  for (const user of desired) planUser(user, ctx);
  const deletedScimIds = planUserRemovals(source, ctx, frozenIds);
  return { matching, desiredIds, frozenIds, existing, deletedScimIds, wanted, adopted: matching.adopted.size };
}

/** Source id → SCIM id of every user that exists already and that this run may name. */
interface ExistingUsers {
  get(sourceId: string): string | undefined;
  has(sourceId: string): boolean;
  /** Each (source id, SCIM id), `wanted` when this run wants the user with that SCIM id (UserPlan.wanted): no pair array per user. */
  eachUser(each: (sourceId: string, scimId: string, wanted: boolean) => void): void;
}

/** The matched users' SCIM ids, and the frozen users' (`frozen` wins): read through, not copied into another map of 200,000. */
function existingUsers(matched: Matching<TenantUser>["matched"], frozen: ReadonlyMap<string, string>): ExistingUsers {
  const get = (sourceId: string) => frozen.get(sourceId) ?? matched.get(sourceId)?.scimId;
  return {
    get,
    has: (sourceId) => get(sourceId) !== undefined,
    eachUser(each) {
      matched.forEach((resource, sourceId) => frozen.has(sourceId) || each(sourceId, resource.scimId, true));
      frozen.forEach((scimId, sourceId) => each(sourceId, scimId, false));
    },
  };
}

/** How many names a warning lists. */
const NAMES_LISTED = 5;

/**
 * `sync.only_groups`: the users in scope that AWS holds already, matched as every run matches
 * them (externalId, then userName), but never written: one another tool keyed (a foreign
 * externalId) is still that person, and only group memberships name it. No user is created,
 * changed or deleted, and none is adopted (so none is recorded as this tool's). A user suspended
 * at the source is left out of the groups: nothing here can deactivate it.
 */
function existingUsersOnly(inScope: readonly SourceUser[], matching: Matching<TenantUser>, frozenIds: Set<string>, draft: Draft): UserPlan {
  const existing = new Map<string, string>();
  const taken = new Set<string>();
  const missing: string[] = [];
  for (const user of inScope) {
    const resource = matching.matched.get(user.sourceId) ?? matching.blocked.get(user.sourceId)?.resource;
    if (resource === undefined || taken.has(resource.scimId)) missing.push(user.attributes.userName);
    else if (user.attributes.active !== false) {
      existing.set(user.sourceId, resource.scimId);
      taken.add(resource.scimId);
    }
  }
  for (const [scimId, sourceId] of matching.owned) if (frozenIds.has(sourceId) && !existing.has(sourceId)) existing.set(sourceId, scimId);
  // Records of an earlier run without only_groups whose user is gone from AWS: the state must not keep naming them.
  draft.bookkeeping.forgetUsers.push(...matching.gone);
  if (missing.length > 0) {
    const listed = missing.slice(0, NAMES_LISTED).map(shownName).join(", ");
    draft.warnings.push(`sync.only_groups: ${missing.length} users in scope have no AWS user (${listed}${missing.length > NAMES_LISTED ? ", …" : ""}) and are left out of their groups; idpscim creates none`);
  }
  const desiredIds = new Set([...existing.keys()].filter((id) => !frozenIds.has(id)));
  const wanted = (sourceId: string) => (desiredIds.has(sourceId) ? (existing.get(sourceId) ?? null) : undefined);
  const users: ExistingUsers = {
    get: (sourceId) => existing.get(sourceId),
    has: (sourceId) => existing.has(sourceId),
    eachUser: (each) => existing.forEach((scimId, sourceId) => each(sourceId, scimId, desiredIds.has(sourceId))),
  };
  return { matching, desiredIds, frozenIds, existing: users, deletedScimIds: new Set(), wanted, adopted: 0 };
}

/** Who the source wants in AWS, and who is left as AWS holds them, under the suspension policy. */
function usersInScope(source: SourceSnapshot, policy: PlanPolicy, draft: Draft): { desired: SourceUser[]; frozenIds: Set<string> } {
  // Upsert never deletes; it must not leave a suspended user active either: "delete" deactivates there.
  const suspended = policy.mode === "upsert" && policy.suspendedUsers === "delete" ? "deactivate" : policy.suspendedUsers;
  if (suspended !== policy.suspendedUsers && source.users.some((u) => u.suspended)) {
    draft.warnings.push('upsert mode never deletes: users suspended at the source are deactivated instead (sync.suspended_users = "delete" deletes only in sync mode)');
  }
  const desired: SourceUser[] = [];
  const frozenIds = new Set((source.rejected ?? []).filter((r) => r.kind === "user").map((r) => r.sourceId));
  for (const user of source.users) {
    if (!user.suspended) desired.push(user);
    else if (suspended === "deactivate") desired.push({ ...user, attributes: { ...user.attributes, active: false } });
    else if (suspended === "ignore") frozenIds.add(user.sourceId);
  }
  return { desired, frozenIds };
}

interface UserContext {
  /** The users this run wants and creates, by source id (a manager's record is looked up once per report). */
  toCreate: Map<string, SourceUser>;
  desiredIds: UserPlan["desiredIds"];
  existing: ExistingUsers;
  matching: Matching<TenantUser>;
  state: SyncState;
  policy: PlanPolicy;
  draft: Draft;
  waves?: Map<string, number | undefined>;
}

function userRef(sourceId: string, ctx: UserContext): UserRef {
  const scimId = ctx.existing.get(sourceId);
  return scimId !== undefined ? { scimId, sourceId } : { sourceId };
}

/** The manager this run sets: one the run creates or that exists (a frozen manager is still the manager). */
function managerOf(user: SourceUser, ctx: UserContext): string | undefined {
  const manager = user.attributes.managerSourceId;
  if (manager === undefined || manager === user.sourceId) return undefined;
  return ctx.desiredIds.has(manager) || ctx.existing.has(manager) ? manager : undefined;
}

/**
 * The wave of a user this plan creates: 0 when its manager exists already (or it has none), else
 * one more than its manager's; undefined inside a manager loop.
 */
function creationWave(sourceId: string, ctx: UserContext, visiting = new Set<string>()): number | undefined {
  const waves = (ctx.waves ??= new Map());
  if (waves.has(sourceId)) return waves.get(sourceId);
  const user = ctx.toCreate.get(sourceId);
  const manager = user ? managerOf(user, ctx) : undefined;
  let wave: number | undefined = 0;
  if (manager !== undefined && !ctx.existing.has(manager)) {
    if (visiting.has(sourceId)) return undefined;
    visiting.add(sourceId);
    const above = creationWave(manager, ctx, visiting);
    wave = above === undefined ? undefined : above + 1;
  }
  waves.set(sourceId, wave);
  return wave;
}

function planUser(desired: SourceUser, ctx: UserContext): void {
  const attributes = withManager(desired.attributes, managerOf(desired, ctx));
  const match = ctx.matching.matched.get(desired.sourceId);
  if (!match) planUserCreate(desired, attributes, ctx);
  else planUserUpdate(desired.sourceId, attributes, match, ctx.matching.adopted.has(desired.sourceId), ctx);
}

function planUserCreate(desired: SourceUser, attributes: UserAttributes, ctx: UserContext): void {
  const { sourceId } = desired;
  const former = desired.formerId === undefined ? {} : { formerId: desired.formerId };
  const manager = attributes.managerSourceId;
  const wave = creationWave(sourceId, ctx);
  if (manager === undefined || ctx.existing.has(manager) || wave !== undefined) {
    ctx.draft.userCreates.push({
      kind: "createUser",
      sourceId,
      ...former,
      attributes,
      ...(manager !== undefined ? { manager: userRef(manager, ctx) } : {}),
      ...(wave ? { wave } : {}),
    });
    return;
  }
  // Managers in a loop (A manages B manages A): create without, set the manager afterwards.
  const { managerSourceId: _deferred, ...withoutManager } = attributes;
  ctx.draft.userCreates.push({ kind: "createUser", sourceId, ...former, attributes: withoutManager });
  ctx.draft.updates.push({ kind: "updateUser", sourceId, set: { managerSourceId: manager }, clear: [], manager: { sourceId: manager }, attributes, why: "manager" });
}

function planUserUpdate(sourceId: string, attributes: UserAttributes, match: TenantUser, adopt: boolean, ctx: UserContext): void {
  const { policy, state } = ctx;
  // One attributes object shared by the source and the tenant (nearly every user of a run from the state): nothing to diff, no diff made.
  const diff = attributes === match.attributes ? undefined : diffAttributes(attributes, match.attributes, policy.managedAttributes);
  let set = diff?.set;
  let clear = diff?.clear;
  const desiredManager = attributes.managerSourceId;
  const desiredManagerScimId = desiredManager === undefined ? undefined : ctx.existing.get(desiredManager);
  let manager: UserRef | undefined;
  if (policy.managedAttributes.has("managerSourceId")) {
    if (desiredManager !== undefined && (desiredManagerScimId === undefined || desiredManagerScimId !== match.managerScimId)) {
      (set ??= {}).managerSourceId = desiredManager;
      manager = userRef(desiredManager, ctx);
    } else if (desiredManager === undefined && match.managerScimId !== undefined) {
      (clear ??= []).push("managerSourceId");
    }
  }
  const needsExternalId = match.externalId !== sourceId;
  if (adopt || needsExternalId || (set !== undefined && Object.keys(set).length > 0) || (clear !== undefined && clear.length > 0)) {
    ctx.draft.updates.push({
      kind: "updateUser",
      sourceId,
      scimId: match.scimId,
      set: set ?? {},
      clear: clear ?? [],
      ...(needsExternalId ? { externalId: sourceId } : {}),
      ...(manager ? { manager } : {}),
      attributes,
      why: adopt ? "adopt" : attributes.active === false && match.attributes.active !== false ? "deactivate" : "changed",
    });
    return;
  }
  const recorded = state.users[sourceId];
  if (recorded?.scimId === match.scimId && stateIsStale(recorded.attributes, attributes, policy.managedAttributes)) {
    // AWS already holds what is wanted (a run stopped before saving, a fix made by hand), but
    // the state says otherwise: record it (no request), or every run from the state would
    // send the same PATCH again.
    ctx.draft.updates.push({ kind: "updateUser", sourceId, scimId: match.scimId, set: {}, clear: [], attributes, why: "record" });
  }
}

/** Managed users no longer desired: deleted or deactivated by policy. Returns the SCIM ids deleted. */
function planUserRemovals(source: SourceSnapshot, ctx: UserContext, frozenIds: Set<string>): Set<string> {
  const { state, policy, draft, matching } = ctx;
  const tenantById = matching.byScimId;
  const suspendedIds = new Set(source.users.filter((u) => u.suspended).map((u) => u.sourceId));
  const deleted = new Set<string>();
  for (const sourceId in state.users) {
    if (ctx.desiredIds.has(sourceId)) continue;
    const managed = state.users[sourceId]!;
    // Gone from the tenant (deleted by hand), frozen or not: the state must not keep naming it.
    if (matching.gone.has(sourceId)) {
      draft.bookkeeping.forgetUsers.push(sourceId);
      continue;
    }
    const current = tenantById.get(managed.scimId);
    if (!current || matching.owned.get(current.scimId) !== sourceId || frozenIds.has(sourceId)) continue;
    if (matching.matched.has(sourceId)) continue;
    const suspended = suspendedIds.has(sourceId); // still here means policy "delete"
    const action = suspended ? "delete" : policy.removedUsers;
    if (action === "delete") {
      if (policy.mode === "upsert") continue;
      draft.userDeletes.push({ kind: "deleteUser", scimId: current.scimId, sourceId, userName: current.attributes.userName, why: suspended ? "suspended" : "left-scope" });
      deleted.add(current.scimId);
    } else if (current.attributes.active !== false) {
      draft.updates.push({ kind: "updateUser", sourceId, scimId: current.scimId, set: { active: false }, clear: [], attributes: { ...managed.attributes, active: false }, why: "deactivate" });
    } else if (managed.attributes.active !== false) {
      // Already inactive in AWS, not in the state: record it, or each run from the state deactivates again.
      draft.updates.push({ kind: "updateUser", sourceId, scimId: current.scimId, set: {}, clear: [], attributes: { ...managed.attributes, active: false }, why: "record" });
    }
  }
  return deleted;
}

/** A domain account's SID in its string form, as AWS's Active Directory sample writes externalId. */
const WINDOWS_SID = /^S-1-5-21(?:-\d+){4}$/;

export function blockedUserReason(resource: TenantUser, reason: BlockedReason): string {
  const sid = WINDOWS_SID.test(resource.externalId ?? "")
    ? ' (a Windows SID: if AWS\'s Active Directory sample made this user, ldap.rekey_users_from = "objectSid" takes over each user whose objectSid it is)'
    : "";
  return (
    `AWS user ${shownName(resource.attributes.userName)} (${resource.scimId}) carries externalId ${shownName(resource.externalId ?? "")}, set by another tool or source: ` +
    (reason === "foreign-external-id" ? `idpscim never takes it over; delete it in AWS, or clear its externalId to let idpscim adopt it${sid}` : reason)
  );
}

// ---------------------------------------------------------------------------------------------
// Groups.

interface GroupPlan {
  matching: Matching<TenantGroup>;
  adopted: number;
}

function planGroups(source: SourceSnapshot, tenant: TenantSnapshot, state: SyncState, policy: PlanPolicy, users: UserPlan, draft: Draft): GroupPlan {
  const protectedName = (name: string) => matchesAnyGlob(name, policy.protectedGroups);
  const tenantById = indexBy(tenant.groups, (g) => g.scimId);
  const confirmed = (sourceId: string) => {
    const resource = tenantById.get(state.groups[sourceId]?.scimId ?? "");
    return resource !== undefined && resource.externalId === sourceId && !protectedName(resource.displayName);
  };
  const { desired, frozenIds } = groupsInScope(source, confirmed, policy, draft);
  const matching = matchResources({
    desired,
    sourceIdOf: (g) => g.sourceId,
    nameOf: (g) => g.displayName,
    tenant: tenant.groups,
    tenantNameOf: (g) => g.displayName,
    recorded: state.groups,
    untouchable: (g) => protectedName(g.displayName),
    adoptByName: policy.adoptGroupsByName,
  });
  disown("group", matching, (g) => `"${g.displayName}"`, draft.bookkeeping.forgetGroups, draft);
  for (const [sourceId, { resource, reason }] of matching.blocked) {
    frozenIds.add(sourceId);
    draft.rejected.push({ kind: "group", sourceId, subject: shownName(resource.displayName), reason: blockedGroupReason(resource, reason) });
  }
  const index = memberIndex(users, tenant.users.length, state);
  for (const group of desired) {
    if (matching.blocked.has(group.sourceId)) continue;
    const match = matching.matched.get(group.sourceId);
    if (!match) planGroupCreate(group, wantedRefs(group.memberSourceIds, index), draft);
    else planGroupUpdate(group, match, matching.adopted.has(group.sourceId), state, index, draft);
  }
  planGroupRemovals(state, matching, frozenIds, policy, draft);
  return { matching, adopted: matching.adopted.size };
}

/**
 * The groups this run syncs, sorted by source id. A protected name is skipped (and a group the
 * state holds under it is left as it is); of groups sharing one name, AWS can hold one: the one
 * whose state record the tenant confirms, else the first; the others are failed records naming them all.
 */
function groupsInScope(
  source: SourceSnapshot,
  confirmed: (sourceId: string) => boolean,
  policy: PlanPolicy,
  draft: Draft,
): { desired: DesiredGroup[]; frozenIds: Set<string> } {
  const frozenIds = new Set((source.rejected ?? []).filter((r) => r.kind === "group").map((r) => r.sourceId));
  const byName = new Map<string, DesiredGroup[]>();
  for (const group of sortBySourceId(source.groups)) {
    if (matchesAnyGlob(group.displayName, policy.protectedGroups)) {
      draft.warnings.push(`Google group ${shownName(group.displayName)} (${group.sourceId}) has a protected name (sync.protected_groups): skipped, never synced`);
      frozenIds.add(group.sourceId);
      continue;
    }
    byName.set(group.displayName, [...(byName.get(group.displayName) ?? []), group]);
  }
  const desired: DesiredGroup[] = [];
  for (const [name, groups] of byName) {
    const winner = groups.find((g) => confirmed(g.sourceId)) ?? groups[0]!;
    desired.push(winner);
    for (const loser of groups.filter((g) => g !== winner)) {
      frozenIds.add(loser.sourceId);
      draft.rejected.push({
        kind: "group",
        sourceId: loser.sourceId,
        subject: shownName(name),
        reason: `${groups.length} Google groups share this name (ids ${groups.map((g) => g.sourceId).join(", ")}); AWS group names are unique, so only ${winner.sourceId} is synced: rename the others in Google`,
      });
    }
  }
  return { desired: sortBySourceId(desired), frozenIds };
}

function planGroupCreate(group: DesiredGroup, members: UserRef[], draft: Draft): void {
  draft.groupCreates.push({ kind: "createGroup", sourceId: group.sourceId, displayName: group.displayName, members: members.slice(0, MAX_MEMBERS_PER_REQUEST) });
  for (const chunk of chunks(members.slice(MAX_MEMBERS_PER_REQUEST), MAX_MEMBERS_PER_REQUEST)) {
    draft.adds.push({ kind: "addMembers", group: { sourceId: group.sourceId }, groupSourceId: group.sourceId, members: chunk });
  }
}

function planGroupUpdate(group: DesiredGroup, match: TenantGroup, adopt: boolean, state: SyncState, index: MemberIndex, draft: Draft): void {
  const managed = state.groups[group.sourceId];
  const needsExternalId = match.externalId !== group.sourceId;
  const renamed = match.displayName !== group.displayName;
  const groupRef: GroupRef = { scimId: match.scimId, sourceId: group.sourceId };
  const asRecorded =
    managed !== undefined && managed.scimId === match.scimId && managed.displayName === match.displayName && membersOfRecord(match.memberScimIds) === managed.memberSourceIds;
  if (asRecorded && !adopt && !needsExternalId && !renamed) {
    const changes = recordedMemberChanges(group.memberSourceIds, managed.memberSourceIds, match.memberScimIds!, index);
    if (changes !== undefined) {
      // A member this plan deletes leaves the group: the record is stale, as the general comparison finds.
      if (changes.current !== undefined) {
        draft.updates.push({ kind: "updateGroup", sourceId: group.sourceId, scimId: match.scimId, desiredDisplayName: group.displayName, currentMemberSourceIds: changes.current, why: "record" });
      }
      return pushMemberChanges(groupRef, group.sourceId, changes, draft);
    }
  }
  const slots = index.slots();
  const mark = ++index.group;
  const recorded = managed !== undefined && managed.scimId === match.scimId ? managed : undefined;
  const held = heldMembers(match.memberScimIds ?? [], recorded, slots, mark, index);
  const { toAdd, wantedHeld } = wantedMembers(group.memberSourceIds, slots, mark, index);
  // A managed group whose state record lags behind AWS (a run stopped before saving, a change
  // made by hand): its name, or, when its members were read, its members. Every member the source
  // lists held, nothing else held, and the list the record's: the same (no sorted copy of each).
  const sameAsRecorded = () =>
    held.current.isRecorded() ||
    (wantedHeld === held.count && wantedHeld === group.memberSourceIds.length && sameList(group.memberSourceIds, recorded!.memberSourceIds)) ||
    sameSet(recorded!.memberSourceIds, held.current.toArray());
  const staleRecord = recorded !== undefined && (recorded.displayName !== match.displayName || (match.memberScimIds !== undefined && !sameAsRecorded()));
  if (adopt || needsExternalId || renamed || staleRecord) {
    draft.updates.push({
      kind: "updateGroup",
      sourceId: group.sourceId,
      scimId: match.scimId,
      ...(renamed ? { displayName: group.displayName } : {}),
      ...(needsExternalId ? { externalId: group.sourceId } : {}),
      desiredDisplayName: group.displayName,
      currentMemberSourceIds: held.current.toArray(),
      why: adopt ? "adopt" : renamed || needsExternalId ? "rename" : "record",
    });
  }
  // No two source ids share a SCIM id (matching claims each once), so when every member the group
  // holds is wanted there is nothing to remove, and no member to look at again.
  const toRemove = wantedHeld === held.count ? [] : unwantedMembers(match.memberScimIds ?? [], mark, index);
  pushMemberChanges(groupRef, group.sourceId, { toAdd, toRemove }, draft);
}

function pushMemberChanges(group: GroupRef, groupSourceId: string, { toAdd, toRemove }: MemberChanges, draft: Draft): void {
  for (const chunk of chunks(toAdd, MAX_MEMBERS_PER_REQUEST)) draft.adds.push({ kind: "addMembers", group, groupSourceId, members: chunk });
  for (const chunk of chunks(toRemove, MAX_MEMBERS_PER_REQUEST)) draft.removes.push({ kind: "removeMembers", group, groupSourceId, members: chunk });
}

/** Managed groups no longer desired are deleted (never in upsert mode); frozen ones are left as they are. */
function planGroupRemovals(state: SyncState, matching: Matching<TenantGroup>, frozenIds: Set<string>, policy: PlanPolicy, draft: Draft): void {
  const tenantById = matching.byScimId;
  for (const [sourceId, managed] of Object.entries(state.groups)) {
    if (matching.matched.has(sourceId)) continue;
    if (matching.gone.has(sourceId)) {
      draft.bookkeeping.forgetGroups.push(sourceId);
      continue;
    }
    const current = tenantById.get(managed.scimId);
    if (!current || matching.owned.get(current.scimId) !== sourceId || frozenIds.has(sourceId) || policy.mode === "upsert") continue;
    draft.groupDeletes.push({ kind: "deleteGroup", scimId: current.scimId, sourceId, displayName: current.displayName, why: "left-scope" });
  }
}

export function blockedGroupReason(resource: TenantGroup, reason: BlockedReason): string {
  const which = `AWS group ${shownName(resource.displayName)} (${resource.scimId})`;
  switch (reason) {
    case "protected":
      return `${which} has a protected name (sync.protected_groups): never taken over, changed or deleted`;
    case "foreign-external-id":
      return `${which} carries externalId ${shownName(resource.externalId ?? "")}, set by another tool or source: idpscim never takes it over; rename the Google group, or delete the AWS group`;
    case "adoption-off":
      return (
        `${which} already has this name and idpscim does not manage it: it is not taken over, because sync.adopt_groups allows adoption by name only on a first run ` +
        '(default "first-run") or with "always"; rename one of them, or set sync.adopt_groups = "always" for one run to adopt it'
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Across users and groups.

/** State records whose resource is not ours (another externalId, none, a protected name): forgotten, never written or deleted. */
function disown<T extends { scimId: string; externalId?: string }>(
  what: "user" | "group",
  matching: Matching<T>,
  nameOf: (t: T) => string,
  forget: string[],
  draft: Draft,
): void {
  for (const { sourceId, resource } of matching.disowned) {
    forget.push(sourceId);
    const carries = resource.externalId === undefined ? "no externalId" : `externalId ${shownName(resource.externalId)}`;
    draft.warnings.push(
      `the state names AWS ${what} ${shownName(nameOf(resource))} (${resource.scimId}) as source ${sourceId}'s, but it carries ${carries} or a protected name: not ours, dropped from the state and left untouched`,
    );
  }
}

/** `delete_unmanaged`: every AWS user and group nobody claims, except protected groups (never in upsert mode). */
function planUnmanagedDeletes(tenant: TenantSnapshot, policy: PlanPolicy, users: Matching<TenantUser>, groups: Matching<TenantGroup>, draft: Draft): void {
  if (!policy.deleteUnmanaged || policy.mode === "upsert") return;
  const claimedGroups = new Set([...groups.matched.values()].map((g) => g.scimId));
  for (const group of tenant.groups) {
    if (claimedGroups.has(group.scimId) || groups.owned.has(group.scimId) || matchesAnyGlob(group.displayName, policy.protectedGroups)) continue;
    draft.groupDeletes.push({ kind: "deleteGroup", scimId: group.scimId, displayName: group.displayName, why: "unmanaged" });
  }
  if (policy.onlyGroups) return; // no user is ever deleted: they are another tool's
  const claimedUsers = new Set<string>();
  for (const user of users.matched.values()) claimedUsers.add(user.scimId);
  for (const user of tenant.users) {
    if (claimedUsers.has(user.scimId) || users.owned.has(user.scimId)) continue;
    draft.userDeletes.push({ kind: "deleteUser", scimId: user.scimId, userName: user.attributes.userName, why: "unmanaged" });
  }
}

/**
 * A delete whose resource holds a name a create of this plan needs (a user deleted and re-made in
 * the source keeps the email; a group re-made keeps the name) runs before the creates, or the
 * create would meet 409 and wait a run.
 */
function markEarlyDeletes(tenant: TenantSnapshot, draft: Draft): void {
  if (draft.userDeletes.length > 0) markEarlyUserDeletes(tenant, draft);
  const wantedGroupNames = new Set(draft.groupCreates.flatMap((op) => (op.kind === "createGroup" ? [op.displayName] : [])));
  for (const op of draft.groupDeletes) if (wantedGroupNames.has(op.displayName)) op.early = true;
}

/** The user half of markEarlyDeletes, only when the plan deletes a user: it indexes the whole tenant. */
function markEarlyUserDeletes(tenant: TenantSnapshot, draft: Draft): void {
  const wantedUserNames = new Set(
    draft.userCreates.flatMap((op) => (op.kind === "createUser" ? [op.attributes.userName.toLowerCase(), op.attributes.email.toLowerCase()] : [])),
  );
  const tenantUsers = indexBy(tenant.users, (u) => u.scimId);
  for (const op of draft.userDeletes) {
    const current = tenantUsers.get(op.scimId)?.attributes;
    const names = [op.userName, current?.email ?? ""].map((n) => n.toLowerCase());
    if (names.some((n) => n !== "" && wantedUserNames.has(n))) op.early = true;
  }
}

function managedCounts(state: SyncState, users: UserPlan, groups: GroupPlan, draft: Draft): ManagedCounts {
  let memberships = 0;
  for (const sourceId in state.groups) {
    const record = state.groups[sourceId]!;
    if (groups.matching.owned.get(record.scimId) === sourceId) memberships += record.memberSourceIds.length;
  }
  for (const sourceId of groups.matching.adopted) memberships += groups.matching.matched.get(sourceId)?.memberScimIds?.length ?? 0;
  for (const op of [...draft.groupCreates, ...draft.adds]) if (op.kind === "createGroup" || op.kind === "addMembers") memberships += op.members.length;
  return {
    users: users.matching.owned.size + draft.userCreates.length + users.adopted,
    groups: groups.matching.owned.size + draft.groupCreates.length + groups.adopted,
    memberships,
  };
}

/** A name from the source or the tenant, as a message shows it: quoted, escaped, shortened. */
function shownName(value: string): string {
  return `"${shown(value)}"`;
}

/** True when the state's record of a user differs from `desired` in what this run manages. */
function stateIsStale(recorded: UserAttributes, desired: UserAttributes, managed: ReadonlySet<UserAttributeName>): boolean {
  if (recorded === desired) return false; // one object shared by the state and the source: no diff to make
  const diff = diffAttributes(desired, recorded, managed);
  if (Object.keys(diff.set).length > 0 || diff.clear.length > 0) return true;
  return managed.has("managerSourceId") && recorded.managerSourceId !== desired.managerSourceId;
}

/** The attributes to send, and those to clear, so that `actual` becomes `desired` for the managed attributes. */
export function diffAttributes(
  desired: UserAttributes,
  actual: UserAttributes,
  managed: ReadonlySet<UserAttributeName>,
): { set: Partial<UserAttributes>; clear: UserAttributeName[] } {
  const set: Partial<UserAttributes> = {};
  const clear: UserAttributeName[] = [];
  if (desired === actual) return { set, clear };
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

/**
 * Equality that ignores absent sub-fields and key order, so AWS echoing `{}` vs. nothing is no
 * change: "", null and undefined are all absent, and so is an object of absent fields. Builds
 * nothing: a planner of 200,000 users compares millions of values.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isObject(a) || !isObject(b)) return isEmpty(a) && isEmpty(b);
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  for (const key in left) if (!sameValue(left[key], right[key])) return false;
  for (const key in right) if (!(key in left) && !isEmpty(right[key])) return false;
  return true;
}

const isObject = (value: unknown): value is object => typeof value === "object" && value !== null;

function isEmpty(value: unknown): boolean {
  if (!isObject(value)) return value === undefined || value === null || value === "";
  for (const key in value) if (!isEmpty((value as Record<string, unknown>)[key])) return false;
  return true;
}

function withManager(attributes: UserAttributes, manager: string | undefined): UserAttributes {
  if (attributes.managerSourceId === manager) return attributes; // nearly always: no copy of every user
  const { managerSourceId: _ignored, ...rest } = attributes;
  return manager === undefined ? rest : { ...rest, managerSourceId: manager };
}

function sortBySourceId(groups: readonly DesiredGroup[]): DesiredGroup[] {
  return [...groups].sort((a, b) => (a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0));
}

function chunks<T>(items: readonly T[], size: number): T[][] {
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
    if (sendsRequest(op)) s.requests += 1;
  }
  return s;
}
