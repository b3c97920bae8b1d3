/**
 * @module One handler per operation kind: what each sends through the ScimTarget port and what it
 * records in the working state once AWS holds it. The executor (`apply.ts`) decides when each runs.
 */
import type { ManagedGroup, SyncState, TenantGroup, TenantUser, UserAttributeName, UserAttributes } from "../model/index.ts";
import { ScimRequestError } from "./errors.ts";
import { matchesAnyGlob, type BlockedReason, type Candidate } from "./match.ts";
import { blockedGroupReason, blockedUserReason, diffAttributes, sendsRequest, type Operation, type UserRef } from "./plan.ts";
import type { ScimTarget, UserChange } from "./ports.ts";
import { includesSorted, managedGroup, managedUser } from "./state.ts";

/** What a create that meets 409 needs to adopt the resource holding its name as the plan would. */
export interface ConflictPolicy {
  /** Attributes this run manages, for diffing a resource adopted after a 409. */
  managedAttributes: ReadonlySet<UserAttributeName>;
  /** Whether a group create that meets 409 may adopt an unmanaged group of that name (as the plan's policy). */
  adoptGroupsByName: boolean;
  /** Group names never adopted (`sync.protected_groups`). */
  protectedGroups: readonly string[];
}

export interface OperationContext extends ConflictPolicy {
  target: ScimTarget;
  /** The working state: what AWS holds for the managed resources, kept up to date by every handler. */
  state: SyncState;
  /** Resources adopted after a create met 409, counted for the run's result (shared by every operation's context). */
  counts: { adoptedOnConflict: number };
  /**
   * Group entries this run made, which only its working state holds: their member lists grow in
   * place. Any other entry is shared with the state as loaded and is replaced, never changed.
   */
  ownGroups: WeakSet<ManagedGroup>;
}

type OperationOf<K extends Operation["kind"]> = Extract<Operation, { kind: K }>;

/** Runs one operation; a failure throws (the executor records it against the operation). */
export async function runOperation(op: Operation, ctx: OperationContext): Promise<void> {
  switch (op.kind) {
    case "createUser":
      return createUser(op, ctx);
    case "createGroup":
      return createGroup(op, ctx);
    case "updateUser":
      return updateUser(op, ctx);
    case "updateGroup":
      return updateGroup(op, ctx);
    case "addMembers":
    case "removeMembers":
      return changeMembers(op, ctx);
    case "deleteGroup":
      return deleteGroup(op, ctx);
    case "deleteUser":
      return deleteUser(op, ctx);
  }
}

async function createUser(op: OperationOf<"createUser">, ctx: OperationContext): Promise<void> {
  const { target, state } = ctx;
  const manager = op.manager ? userScimId(op.manager, state) : undefined;
  // Without its manager's SCIM id (the manager's create failed) the user is created without
  // one; the state says so, and a later run sets it.
  // The plan's own object whenever it says what is written (no manager to leave out): a copy per
  // user of a first sync would be 200,000 copies, kept by the state.
  const withoutManager = op.attributes.managerSourceId === undefined ? op.attributes : withoutManagerOf(op.attributes);
  const written: UserAttributes = manager === undefined ? withoutManager : op.attributes;
  const scimId = await createOrAdopt(() => target.createUser(op.sourceId, written, manager), ctx, {
    sourceId: op.sourceId,
    ...(op.formerId !== undefined ? { formerId: op.formerId } : {}),
    records: state.users,
    byExternalId: async () => (await target.findUser({ externalId: op.sourceId })) ?? (op.formerId === undefined ? undefined : target.findUser({ externalId: op.formerId })),
    byName: () => target.findUser({ userName: op.attributes.userName }),
    untouchable: () => false,
    // An email names a person: a user no tool has marked as its own is that person's account.
    adoptByName: true,
    refused: (existing: TenantUser, reason) => blockedUserReason(existing, reason),
    adopt: async (existing) => {
      const diff = diffAttributes(withoutManager, existing.attributes, ctx.managedAttributes);
      if (manager !== undefined && existing.managerScimId !== manager) diff.set.managerSourceId = op.attributes.managerSourceId;
      // The update the plan would have made, had it seen this user.
      const update: OperationOf<"updateUser"> = {
        kind: "updateUser",
        sourceId: op.sourceId,
        scimId: existing.scimId,
        ...diff,
        ...(existing.externalId === op.sourceId ? {} : { externalId: op.sourceId }),
        attributes: written,
        why: "adopt",
      };
      if (sendsRequest(update)) await target.updateUser(existing.scimId, userChange(update, diff.set.managerSourceId !== undefined ? manager : undefined));
    },
  });
  state.users[op.sourceId] = managedUser(scimId, written);
}

async function createGroup(op: OperationOf<"createGroup">, ctx: OperationContext): Promise<void> {
  const { target, state } = ctx;
  const members = resolveAll(op.members, (ref) => userScimId(ref, state));
  const scimId = await createOrAdopt(() => target.createGroup(op.sourceId, op.displayName, members.scimIds), ctx, {
    sourceId: op.sourceId,
    records: state.groups,
    byExternalId: () => target.findGroup({ externalId: op.sourceId }),
    byName: () => target.findGroup({ displayName: op.displayName }),
    untouchable: (existing) => matchesAnyGlob(existing.displayName, ctx.protectedGroups),
    adoptByName: ctx.adoptGroupsByName,
    refused: (existing: TenantGroup, reason) => blockedGroupReason(existing, reason),
    adopt: async (existing) => {
      if (existing.externalId !== op.sourceId) await target.updateGroup(existing.scimId, { externalId: op.sourceId });
      // Adding a present member is a no-op in AWS; members it holds beyond these are removed at the next full read.
      if (members.scimIds.length > 0) await target.addMembers(existing.scimId, members.scimIds);
    },
  });
  state.groups[op.sourceId] = ownGroup(managedGroup(scimId, op.displayName, members.sourceIds), ctx);
  if (members.missing.length > 0) throw new Error(`created without ${members.missing.length} member(s) whose user could not be created`);
}

/** How a create that met 409 may take over the resource holding the name: the plan's ownership rule, and what adopting it takes. */
interface Adoption<T extends Candidate> {
  sourceId: string;
  /** The id another tool keyed the record by: a resource carrying it is this record's too (match.ts, rule 3). */
  formerId?: string;
  /** The working state's records of this kind: a resource recorded as another record's is never taken. */
  records: Readonly<Record<string, { scimId: string }>>;
  byExternalId(): Promise<T | undefined>;
  byName(): Promise<T | undefined>;
  /** Never taken over, whatever externalId it carries (a protected group name). */
  untouchable(existing: T): boolean;
  /** May a resource with no externalId be taken over by its name? */
  adoptByName: boolean;
  /** The failed record's reason, as the plan words it for the same resource. */
  refused(existing: T, reason: BlockedReason): string;
  /** Makes the resource this record's (its externalId, attributes or members). */
  adopt(existing: T): Promise<void>;
}

/**
 * Creates; on 409 (a retried POST whose first try succeeded, or a resource made by hand with this
 * name) adopts what holds the name rather than fail: never a 409 storm, never a duplicate. The
 * plan's rule holds here too: never a protected resource; ours by externalId (or the former id
 * the source names, which the adoption then replaces); one with another
 * externalId is another tool's or another source record's (the plan may give it to them in a
 * later phase, e.g. renaming it away) and never taken over; one with none only when adoption by
 * name is allowed.
 */
async function createOrAdopt<T extends Candidate>(create: () => Promise<string>, ctx: OperationContext, adoption: Adoption<T>): Promise<string> {
  try {
    return await create();
  } catch (error) {
    if (!(error instanceof ScimRequestError && error.kind === "conflict")) throw error;
    const existing = (await adoption.byExternalId()) ?? (await adoption.byName());
    const owner = existing ? recordedAs(adoption.records, existing.scimId) : undefined;
    if (!existing || (owner !== undefined && owner !== adoption.sourceId)) throw error;
    const reason = refusalOf(existing, adoption);
    if (reason !== undefined) throw new Error(adoption.refused(existing, reason));
    await adoption.adopt(existing);
    ctx.counts.adoptedOnConflict++;
    return existing.scimId;
  }
}

function refusalOf<T extends Candidate>(existing: T, adoption: Adoption<T>): BlockedReason | undefined {
  if (adoption.untouchable(existing)) return "protected";
  if (existing.externalId === adoption.sourceId || (adoption.formerId !== undefined && existing.externalId === adoption.formerId)) return undefined;
  if (existing.externalId !== undefined) return "foreign-external-id";
  return adoption.adoptByName ? undefined : "adoption-off";
}

async function updateUser(op: OperationOf<"updateUser">, ctx: OperationContext): Promise<void> {
  const { state } = ctx;
  const scimId = op.scimId ?? userScimId({ sourceId: op.sourceId }, state);
  if (scimId === undefined) throw new Error("its create failed earlier in this run");
  const manager = op.manager ? userScimId(op.manager, state) : undefined;
  if (op.manager && manager === undefined) throw new Error("its manager could not be created");
  if (sendsRequest(op)) {
    await forgetIfGone(() => ctx.target.updateUser(scimId, userChange(op, manager)), () => forgetUser(state, op.sourceId));
  }
  state.users[op.sourceId] = managedUser(scimId, op.attributes);
}

async function updateGroup(op: OperationOf<"updateGroup">, ctx: OperationContext): Promise<void> {
  const { state } = ctx;
  if (sendsRequest(op)) {
    const change = {
      ...(op.displayName !== undefined ? { displayName: op.displayName } : {}),
      ...(op.externalId !== undefined ? { externalId: op.externalId } : {}),
    };
    await forgetIfGone(() => ctx.target.updateGroup(op.scimId, change), () => delete state.groups[op.sourceId]);
  }
  // The members the plan read (or, from the state, those it records): after a run stopped
  // before saving, AWS may hold members the state does not know, and the next runs would add them again.
  state.groups[op.sourceId] = ownGroup(managedGroup(op.scimId, op.desiredDisplayName, op.currentMemberSourceIds), ctx);
}

async function changeMembers(op: OperationOf<"addMembers" | "removeMembers">, ctx: OperationContext): Promise<void> {
  const { target, state } = ctx;
  const groupId = op.group.scimId ?? state.groups[op.group.sourceId ?? ""]?.scimId;
  const record = state.groups[op.groupSourceId];
  if (groupId === undefined || record === undefined) throw new Error("its group could not be created or adopted");
  const members = resolveAll(op.members, (ref) => userScimId(ref, state));
  if (members.scimIds.length > 0) {
    if (op.kind === "addMembers") await target.addMembers(groupId, members.scimIds);
    else await target.removeMembers(groupId, members.scimIds);
  }
  // Read again after the request: another chunk of the same group may have finished meanwhile.
  const entry = ownedEntry(op.groupSourceId, ctx) ?? ownGroup(managedGroup(groupId, record.displayName, record.memberSourceIds), ctx);
  ctx.state.groups[op.groupSourceId] = entry;
  // In place: a 200,000-member group gets 2,000 chunks, and a new sorted copy per chunk was quadratic.
  if (op.kind === "addMembers") addSorted(entry.memberSourceIds, members.sourceIds);
  else removeFrom(entry.memberSourceIds, members.sourceIds);
  if (members.missing.length > 0) throw new Error(`${members.missing.length} member(s) could not be created`);
}

function ownGroup(entry: ManagedGroup, ctx: OperationContext): ManagedGroup {
  ctx.ownGroups.add(entry);
  return entry;
}

/** The group's entry as one this run may change in place: its own, or a copy of the loaded one (made once). */
function ownedEntry(sourceId: string, ctx: OperationContext): ManagedGroup | undefined {
  const entry = ctx.state.groups[sourceId];
  if (entry === undefined || ctx.ownGroups.has(entry)) return entry;
  return ownGroup({ ...entry, memberSourceIds: [...entry.memberSourceIds] }, ctx);
}

/** Adds `ids` to a sorted list, keeping it sorted and unique; chunks of a sorted member list only append. */
function addSorted(list: string[], ids: readonly string[]): void {
  const fresh = [...new Set(ids)].filter((id) => !includesSorted(list, id)).sort();
  if (fresh.length === 0) return;
  const appendsOnly = list.length === 0 || fresh[0]! > list[list.length - 1]!;
  list.push(...fresh);
  if (!appendsOnly) list.sort();
}

function removeFrom(list: string[], ids: readonly string[]): void {
  const gone = new Set(ids);
  let kept = 0;
  for (const id of list) if (!gone.has(id)) list[kept++] = id;
  list.length = kept;
}

async function deleteGroup(op: OperationOf<"deleteGroup">, ctx: OperationContext): Promise<void> {
  await ctx.target.deleteGroup(op.scimId);
  if (op.sourceId !== undefined) delete ctx.state.groups[op.sourceId];
}

async function deleteUser(op: OperationOf<"deleteUser">, ctx: OperationContext): Promise<void> {
  await ctx.target.deleteUser(op.scimId);
  if (op.sourceId !== undefined) forgetUser(ctx.state, op.sourceId);
}

function withoutManagerOf(attributes: UserAttributes): UserAttributes {
  const { managerSourceId: _m, ...rest } = attributes;
  return rest;
}

/** The change an update sends; the manager's SCIM id only with a manager to write. */
function userChange(op: OperationOf<"updateUser">, managerScimId: string | undefined): UserChange {
  return {
    set: op.set,
    clear: op.clear,
    ...(op.externalId !== undefined ? { externalId: op.externalId } : {}),
    ...(managerScimId !== undefined ? { managerScimId } : {}),
  };
}

/** Deleted under us (404): forgotten, so the next run creates it again; the operation still fails. */
async function forgetIfGone(request: () => Promise<void>, forget: () => void): Promise<void> {
  try {
    await request();
  } catch (error) {
    if (error instanceof ScimRequestError && error.kind === "notFound") forget();
    throw error;
  }
}

function userScimId(ref: UserRef, state: SyncState): string | undefined {
  return ref.scimId ?? state.users[ref.sourceId ?? ""]?.scimId;
}

/** The source id whose record names this SCIM id, if any. */
function recordedAs(records: Readonly<Record<string, { scimId: string }>>, scimId: string): string | undefined {
  return Object.entries(records).find(([, record]) => record.scimId === scimId)?.[0];
}

function resolveAll(refs: readonly UserRef[], resolve: (ref: UserRef) => string | undefined) {
  const scimIds: string[] = [];
  const sourceIds: string[] = [];
  const missing: UserRef[] = [];
  for (const ref of refs) {
    const id = resolve(ref);
    if (id === undefined) missing.push(ref);
    else {
      scimIds.push(id);
      if (ref.sourceId !== undefined) sourceIds.push(ref.sourceId);
    }
  }
  return { scimIds, sourceIds, missing };
}

/** Drops a user from the state and from every group the state records it in (entries are replaced, never changed in place). */
export function forgetUser(state: SyncState, sourceId: string): void {
  delete state.users[sourceId];
  // for-in, not Object.entries: 400 deletions among 10,000 groups made 4,000,000 pair arrays (5 s of a 1% churn run).
  for (const groupId in state.groups) {
    const group = state.groups[groupId]!;
    // Member lists are sorted: a binary search keeps 400 deletions among 10,000 groups cheap.
    if (!includesSorted(group.memberSourceIds, sourceId)) continue;
    state.groups[groupId] = { ...group, memberSourceIds: group.memberSourceIds.filter((id) => id !== sourceId) };
  }
}
