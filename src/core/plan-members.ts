/**
 * @module The planner's comparison of a group's members (pure): what the source lists against
 * what the group holds, one lookup per membership at most (a large tenant has 1,000,000), and
 * none for a group the tenant made from the state holds as its record says.
 */
import type { ManagedGroup, SyncState } from "../model/index.ts";
import type { UserPlan, UserRef } from "./plan.ts";

/**
 * What comparing the groups' members looks up, once per membership: a large tenant has
 * 1,000,000, and each lookup in a map of 200,000 users costs a cache miss, so each side of a
 * membership is one lookup (not one per question asked of it), and no set is built per group.
 * A group its record describes (recordedMemberChanges) needs none of it: the slots are built when
 * a first group needs them.
 */
export interface MemberIndex {
  /** A user this run wants in AWS → its SCIM id, or null when this plan creates it (UserPlan.wanted). */
  wanted: (sourceId: string) => string | null | undefined;
  /**
   * One reference per user, made when a first group names it and shared by every other: a first
   * sync of 200,000 users names them 1,000,000 times (a reference is only ever read).
   */
  refs: Map<string, UserRef>;
  slots: () => MemberSlots;
  /** The number of the group being compared: its members are marked with it. */
  group: number;
  /** Members never removed: frozen users (through a record the tenant confirms) and users this plan deletes. */
  keep: (scimId: string) => boolean;
  deletedScimIds: ReadonlySet<string>;
  /** Source ids of the state's users this run does not want as recorded (see irregularUsers). */
  irregular: () => ReadonlySet<string>;
  /** The source id whose state record the tenant confirms as this SCIM id's (Matching.owned). */
  ownerOf: (scimId: string) => string | undefined;
}

/**
 * SCIM id of each user a group may hold → its slot in `sourceIdAt` and `markAt`: who it is
 * (this run's match, else the state's record; undefined for a stranger) and the number of the
 * last group found holding it (negated once that group is found to want it, or once it is
 * listed for removal). Numbers in arrays, not an object per user; a tenant user's slot
 * is its place in the tenant (the matching's index), a member the tenant lacks gets one past them.
 */
export interface MemberSlots {
  slotOf: (scimId: string) => number;
  /** A wanted user's slot by its source id, -1 when this plan creates it, undefined when unwanted (UserPlan.wanted, in one lookup). */
  wantedSlot: (sourceId: string) => number | undefined;
  sourceIdAt: (string | undefined)[];
  markAt: number[];
}

export function memberIndex(users: UserPlan, tenantUsers: number, state: SyncState): MemberIndex {
  let slots: MemberSlots | undefined;
  let irregular: Set<string> | undefined;
  let frozenUserScimIds: Set<string> | undefined;
  // Frozen users keep their memberships, but only through a record the tenant confirms: a tampered one names a stranger.
  const frozenScimIds = () => {
    if (frozenUserScimIds !== undefined) return frozenUserScimIds;
    frozenUserScimIds = new Set<string>();
    if (users.frozenIds.size > 0) for (const [scimId, sourceId] of users.matching.owned) if (users.frozenIds.has(sourceId)) frozenUserScimIds.add(scimId);
    return frozenUserScimIds;
  };
  return {
    wanted: users.wanted,
    refs: new Map(),
    slots: () => (slots ??= memberSlots(users, tenantUsers)),
    group: 0,
    keep: (scimId) => frozenScimIds().has(scimId) || users.deletedScimIds.has(scimId),
    deletedScimIds: users.deletedScimIds,
    irregular: () => (irregular ??= irregularUsers(state, users.wanted)),
    ownerOf: (scimId) => users.matching.owned.get(scimId),
  };
}

function memberSlots(users: UserPlan, tenantUsers: number): MemberSlots {
  const sourceIdAt: (string | undefined)[] = new Array<string | undefined>(tenantUsers).fill(undefined);
  const markAt: number[] = new Array<number>(tenantUsers).fill(0);
  const strangers = new Map<string, number>();
  const slotOf = (scimId: string) => {
    let slot = users.matching.slotOf.get(scimId) ?? strangers.get(scimId);
    if (slot === undefined) {
      strangers.set(scimId, (slot = sourceIdAt.push(undefined) - 1));
      markAt.push(0);
    }
    return slot;
  };
  // Who each SCIM id is: this run's matches (each slot kept: a source member is then one lookup,
  // not two), the frozen users', then the state's records.
  const matchedSlots = new Map<string, number>();
  users.existing.eachUser((sourceId, scimId, wanted) => {
    const slot = slotOf(scimId);
    sourceIdAt[slot] = sourceId;
    if (wanted) matchedSlots.set(sourceId, slot);
  });
  users.matching.owned.forEach((sourceId, scimId) => {
    const slot = slotOf(scimId);
    sourceIdAt[slot] ??= sourceId;
  });
  const wantedSlot = (sourceId: string) => {
    const slot = matchedSlots.get(sourceId);
    if (slot !== undefined) return slot;
    const scimId = users.wanted(sourceId);
    return scimId === undefined ? undefined : scimId === null ? -1 : slotOf(scimId);
  };
  return { slotOf, wantedSlot, sourceIdAt, markAt };
}

/**
 * The state's users this run does not want with the SCIM id recorded for them: gone, left, frozen,
 * deleted, matched to another resource. A handful on most runs; any of them in a group's record
 * sends that group to the member-by-member comparison.
 */
function irregularUsers(state: SyncState, wanted: UserPlan["wanted"]): Set<string> {
  const irregular = new Set<string>();
  for (const sourceId in state.users) if (wanted(sourceId) !== state.users[sourceId]!.scimId) irregular.add(sourceId);
  return irregular;
}

/** The shared reference to a wanted user (`scimId` null: this plan creates it). */
export function memberRef(sourceId: string, scimId: string | null, index: MemberIndex): UserRef {
  let ref = index.refs.get(sourceId);
  if (ref === undefined) index.refs.set(sourceId, (ref = scimId === null ? { sourceId } : { scimId, sourceId }));
  return ref;
}

/** References to the members of `sourceIds` this run wants in AWS. */
export function wantedRefs(sourceIds: readonly string[], index: MemberIndex): UserRef[] {
  const refs: UserRef[] = [];
  for (const sourceId of sourceIds) {
    const scimId = index.wanted(sourceId);
    if (scimId !== undefined) refs.push(memberRef(sourceId, scimId, index));
  }
  return refs;
}

/**
 * The members a group holds, each marked `mark` in its slot: how many, and what the group holds
 * once this plan ran as far as the state records it (`current`): a member this plan deletes leaves
 * every group (a delete that frees a name runs before this update is recorded).
 */
export function heldMembers(memberScimIds: readonly string[], recorded: ManagedGroup | undefined, slots: MemberSlots, mark: number, index: MemberIndex): { count: number; current: RecordFollower } {
  const current = new RecordFollower(recorded?.memberSourceIds ?? []);
  let count = 0;
  for (const scimId of memberScimIds) {
    // A stranger (no user this run knows) has a slot too, with no source id.
    const slot = slots.slotOf(scimId);
    if (slots.markAt[slot] === mark) continue; // listed twice
    slots.markAt[slot] = mark;
    count++;
    const sourceId = slots.sourceIdAt[slot];
    if (sourceId !== undefined && !index.deletedScimIds.has(scimId)) current.push(sourceId);
  }
  return { count, current };
}

/**
 * The members the source lists that this run wants: those held are marked so (negated), which
 * leaves the members held and not wanted marked `mark`; a reference is made only for a member to
 * add (a tenant of 1,000,000 memberships mostly has them all).
 */
export function wantedMembers(memberSourceIds: readonly string[], slots: MemberSlots, mark: number, index: MemberIndex): { toAdd: UserRef[]; wantedHeld: number } {
  const toAdd: UserRef[] = [];
  let wantedHeld = 0;
  for (const sourceId of memberSourceIds) {
    const slot = slots.wantedSlot(sourceId);
    if (slot === undefined) continue;
    if (slot !== -1 && slots.markAt[slot] === mark) {
      slots.markAt[slot] = -mark;
      wantedHeld++;
    } else toAdd.push(memberRef(sourceId, index.wanted(sourceId)!, index));
  }
  return { toAdd, wantedHeld };
}

export interface MemberChanges {
  toAdd: UserRef[];
  toRemove: UserRef[];
}

/**
 * The member changes of a group the tenant holds as its record says (tenantFromState made its
 * members from the record, `held[k]` the user of `recorded[k]`), found by one walk of the source's
 * and the record's sorted lists: no lookup per member, where a run from the state compares
 * 1,000,000 memberships. A member the record holds that this run wants with the SCIM id recorded
 * is kept when listed and removed when not; only the others are looked up: one listed and not
 * held (to add it), and one of irregularUsers, which is removed unless kept (frozen, or deleted
 * by this plan: then `current` leaves it out, and the record is stale). Undefined when the
 * general comparison of planGroupUpdate must decide (a record member wanted under another SCIM id
 * or held by a record the tenant does not confirm, a source list not sorted and unique); it
 * finds the same where both apply.
 */
export function recordedMemberChanges(source: readonly string[], recorded: readonly string[], held: readonly string[], index: MemberIndex): (MemberChanges & { current?: string[] }) | undefined {
  const irregular = index.irregular();
  const toAdd: UserRef[] = [];
  const toRemove: UserRef[] = [];
  let current: string[] | undefined;
  for (let i = 0, j = 0; i < recorded.length || j < source.length; ) {
    const listed = source[j];
    if (listed !== undefined && j > 0 && listed <= source[j - 1]!) return undefined;
    const kept = recorded[i];
    if (listed === undefined || (kept !== undefined && kept <= listed)) {
      if (kept === listed) j++;
      if (irregular.size > 0 && irregular.has(kept!)) {
        const scimId = held[i]!;
        if (index.wanted(kept!) !== undefined || index.ownerOf(scimId) !== kept) return undefined;
        if (!index.keep(scimId)) toRemove.push({ scimId, sourceId: kept! });
        if (index.deletedScimIds.has(scimId)) current ??= recorded.slice(0, i);
        else current?.push(kept!);
      } else {
        if (kept !== listed) toRemove.push({ scimId: held[i]!, sourceId: kept! });
        current?.push(kept!);
      }
      i++;
    } else {
      const scimId = index.wanted(listed);
      if (scimId !== undefined) toAdd.push(memberRef(listed, scimId, index));
      j++;
    }
  }
  return { toAdd, toRemove, ...(current !== undefined ? { current } : {}) };
}

/**
 * A list made item by item that stays a view of `recorded` while its items are `recorded`'s, in
 * order, as a tenant made from the state lists a group's members: a run with nothing to do then
 * copies none of its 1,000,000 memberships to find each group as recorded.
 */
class RecordFollower {
  private readonly recorded: readonly string[];
  private copy: string[] | undefined;
  private followed = 0;

  constructor(recorded: readonly string[]) {
    this.recorded = recorded;
  }

  push(item: string): void {
    if (this.copy === undefined && this.recorded[this.followed] === item) this.followed++;
    else (this.copy ??= this.recorded.slice(0, this.followed)).push(item);
  }

  /** Whether the list is `recorded` itself, item for item. */
  isRecorded(): boolean {
    return this.copy === undefined && this.followed === this.recorded.length;
  }

  toArray(): string[] {
    return this.copy ?? this.recorded.slice(0, this.followed);
  }
}

/**
 * The members a group holds (`memberScimIds`) that it should not, but those `index.keep` keeps:
 * those planGroupUpdate left marked `mark` (held, not wanted), each once. No set of the wanted
 * members is built: the group of all 200,000 users would make one at every run a member leaves.
 */
export function unwantedMembers(memberScimIds: readonly string[], mark: number, index: MemberIndex): UserRef[] {
  const toRemove: UserRef[] = [];
  const { slotOf, markAt, sourceIdAt } = index.slots();
  for (const scimId of memberScimIds) {
    const slot = slotOf(scimId);
    if (markAt[slot] !== mark) continue;
    markAt[slot] = -mark; // listed twice: looked at once
    if (index.keep(scimId)) continue;
    const sourceId = sourceIdAt[slot];
    toRemove.push(sourceId === undefined ? { scimId } : { scimId, sourceId });
  }
  return toRemove;
}

/** Whether two lists hold the same ids; `recorded` is a state record's (sorted, unique), so a sorted copy of the other suffices. */
export function sameSet(recorded: readonly string[], other: readonly string[]): boolean {
  if (other.length < recorded.length) return false;
  // Already in order, as a tenant made from the state lists them: no sorted copy to make.
  const sorted = isSorted(other) ? other : [...other].sort();
  let unique = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i] === sorted[i - 1]) continue;
    if (sorted[i] !== recorded[unique++]) return false;
  }
  return unique === recorded.length;
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isSorted(list: readonly string[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i - 1]! > list[i]!) return false;
  return true;
}
