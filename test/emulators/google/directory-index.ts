/**
 * @module Lookup indexes over a scenario's Google part (issue #11): users and groups by id and
 * email, sorted orders and prefix indexes for users.list/groups.list, built once per scenario
 * state. Tests edit `scenario.google` in place between runs, so an index remembers a fingerprint
 * of every entry it was built from; `matches()` compares them (once per listing, not per page)
 * and the Directory rebuilds when anything it indexes changed.
 */
import type { ScenarioGoogle, ScenarioGoogleGroup, ScenarioGoogleUser, ScenarioMember } from "../scenario.ts";
import type { WorkMeter } from "../work.ts";

export const lower = (s: string) => s.toLowerCase();
export const words = (s: string) => lower(s).split(/[^\p{L}\p{N}]+/u).filter((w) => w !== "");
export const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const strings = (a: unknown): string[] => (Array.isArray(a) ? a.filter((x): x is string => typeof x === "string") : []);

export function userEmails(u: ScenarioGoogleUser): string[] {
  const extra = Array.isArray(u.emails) ? (u.emails as { address?: unknown }[]).map((e) => e.address).filter((a): a is string => typeof a === "string") : [];
  return [u.primaryEmail, ...strings(u.aliases), ...strings(u.nonEditableAliases), ...extra];
}

export function groupEmails(g: ScenarioGoogleGroup): string[] {
  return [g.email, ...strings(g.aliases), ...strings(g.nonEditableAliases)];
}

export function fullNameOf(u: ScenarioGoogleUser): string {
  const n = u.name ?? {};
  return n.fullName ?? [n.givenName, n.familyName].filter((x) => x).join(" ");
}

/** Everything of a user an index or a query reads; the rest is read live when rendering. */
function userFingerprint(u: ScenarioGoogleUser): string {
  const n = u.name;
  return JSON.stringify([
    u.id, u.primaryEmail, n?.givenName, n?.familyName, n?.fullName, u.deletionTime, u.suspended, u.archived, u.isAdmin,
    u.isDelegatedAdmin, u.orgUnitPath, u.aliases, u.nonEditableAliases, u.emails, u.externalIds,
  ]);
}

function groupFingerprint(g: ScenarioGoogleGroup): string {
  return JSON.stringify([g.id, g.email, g.name, g.aliases, g.nonEditableAliases]);
}

/** What of a group's member list the member caches read (status and the rest are read live). */
export function membersFingerprint(members: ScenarioMember[]): string {
  return JSON.stringify(members.map((m) => [m.email, m.id, m.type, m.role]));
}

export type UserOrder = "email" | "familyName" | "givenName";
export type NameField = "givenName" | "familyName" | "name";

/** A sorted (key, entry) list answering prefix ranges by binary search. */
class PrefixIndex<T> {
  constructor(private readonly entries: [string, T][]) {
    entries.sort((a, b) => cmp(a[0], b[0]));
  }

  /** Entries whose key starts with `prefix` (all of them for ""). */
  range(prefix: string, work: WorkMeter): T[] {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      work.examined++;
      if (this.entries[mid]![0] < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: T[] = [];
    for (let i = lo; i < this.entries.length && this.entries[i]![0].startsWith(prefix); i++) {
      work.examined++;
      out.push(this.entries[i]![1]);
    }
    return out;
  }
}

export class DirectoryIndex {
  private readonly users: ScenarioGoogleUser[];
  private readonly groups: ScenarioGoogleGroup[];
  private readonly userPrints: string[];
  private readonly groupPrints: string[];
  private readonly groupMembers: ScenarioMember[][];
  private readonly groupMemberCounts: number[];
  /** Position in `users` of each user, for sorting candidates back into an order. */
  private readonly position = new Map<ScenarioGoogleUser, number>();
  private readonly userById = new Map<string, ScenarioGoogleUser>();
  private readonly userByEmail = new Map<string, ScenarioGoogleUser>();
  private readonly groupByKey = new Map<string, ScenarioGoogleGroup>();
  private readonly groupPosition = new Map<ScenarioGoogleGroup, number>();
  private readonly orders = new Map<UserOrder, { rank: Map<ScenarioGoogleUser, number>; users: ScenarioGoogleUser[] }>();
  private userEmailIndex?: PrefixIndex<ScenarioGoogleUser>;
  private readonly nameIndexes = new Map<NameField, PrefixIndex<ScenarioGoogleUser>>();
  private groupsByEmail?: ScenarioGoogleGroup[];
  private groupsByEmailDesc?: ScenarioGoogleGroup[];
  private readonly orderedLists = new Map<string, ScenarioGoogleUser[]>();
  private groupEmailIndex?: PrefixIndex<ScenarioGoogleGroup>;
  private groupNameIndex?: PrefixIndex<ScenarioGoogleGroup>;

  constructor(google: ScenarioGoogle, private readonly work: WorkMeter) {
    this.users = google.users;
    this.groups = google.groups;
    this.userPrints = this.users.map(userFingerprint);
    this.groupPrints = this.groups.map(groupFingerprint);
    this.groupMembers = this.groups.map((g) => g.members);
    this.groupMemberCounts = this.groups.map((g) => g.members.length);
    // First wins, as the scans these maps replace (Array.find) did.
    this.users.forEach((u, i) => {
      this.position.set(u, i);
      if (!this.userById.has(u.id)) this.userById.set(u.id, u);
      for (const e of userEmails(u)) if (!this.userByEmail.has(lower(e))) this.userByEmail.set(lower(e), u);
    });
    this.groups.forEach((g, i) => this.groupPosition.set(g, i));
    for (const g of this.groups) {
      if (!this.groupByKey.has(g.id)) this.groupByKey.set(g.id, g);
      for (const e of groupEmails(g)) if (!this.groupByKey.has(lower(e))) this.groupByKey.set(lower(e), g);
    }
    work.indexed += this.users.length + this.groups.length;
  }

  /** Whether the scenario still holds what this index was built from: O(users + groups), once per listing. */
  matches(google: ScenarioGoogle): boolean {
    const { users, groups } = google;
    if (users !== this.users || groups !== this.groups) return false;
    if (users.length !== this.userPrints.length || groups.length !== this.groupPrints.length) return false;
    this.work.checked += users.length + groups.length;
    for (let i = 0; i < users.length; i++) if (userFingerprint(users[i]!) !== this.userPrints[i]) return false;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (g.members !== this.groupMembers[i] || g.members.length !== this.groupMemberCounts[i]) return false;
      if (groupFingerprint(g) !== this.groupPrints[i]) return false;
    }
    return true;
  }

  /** Whether these users (a page about to be served) are unchanged: O(page). */
  usersUnchanged(google: ScenarioGoogle, some: ScenarioGoogleUser[]): boolean {
    if (google.users !== this.users || google.users.length !== this.userPrints.length) return false;
    this.work.checked += some.length;
    return some.every((u) => {
      const i = this.position.get(u);
      return i !== undefined && this.users[i] === u && userFingerprint(u) === this.userPrints[i];
    });
  }

  groupsUnchanged(google: ScenarioGoogle, some: ScenarioGoogleGroup[]): boolean {
    if (google.groups !== this.groups || google.groups.length !== this.groupPrints.length) return false;
    this.work.checked += some.length;
    return some.every((g) => {
      const i = this.groupPosition.get(g);
      return i !== undefined && groupFingerprint(g) === this.groupPrints[i] && g.members === this.groupMembers[i] && g.members.length === this.groupMemberCounts[i];
    });
  }

  /** A user by id or any of its addresses: the first in scenario order, as `Array.find` answered. */
  findUser(key: string): ScenarioGoogleUser | undefined {
    this.work.examined++;
    const byId = this.userById.get(key);
    const byEmail = this.userByEmail.get(lower(key));
    if (byId && byEmail) return this.position.get(byId)! <= this.position.get(byEmail)! ? byId : byEmail;
    return byId ?? byEmail;
  }

  userByAddress(email: string): ScenarioGoogleUser | undefined {
    this.work.examined++;
    return this.userByEmail.get(lower(email));
  }

  findGroup(key: string): ScenarioGoogleGroup | undefined {
    this.work.examined++;
    return this.groupByKey.get(key) ?? this.groupByKey.get(lower(key));
  }

  /** All users in one order (ascending; ties in scenario order, as a stable sort leaves them). */
  order(orderBy: UserOrder): { rank: Map<ScenarioGoogleUser, number>; users: ScenarioGoogleUser[] } {
    let o = this.orders.get(orderBy);
    if (!o) {
      const key = (u: ScenarioGoogleUser) => lower(orderBy === "email" ? u.primaryEmail : (u.name?.[orderBy] ?? ""));
      const keyed = this.users.map((u) => ({ u, k: key(u), e: lower(u.primaryEmail) }));
      keyed.sort((a, b) => cmp(a.k, b.k) || cmp(a.e, b.e));
      const users = keyed.map((x) => x.u);
      o = { users, rank: new Map(users.map((u, i) => [u, i])) };
      this.orders.set(orderBy, o);
      this.work.indexed += users.length;
    }
    return o;
  }

  /** The users listed with or without `showDeleted`, in one order: a prefix of this list is a page. */
  ordered(orderBy: UserOrder, deleted: boolean, descending: boolean): ScenarioGoogleUser[] {
    const key = `${orderBy}/${deleted}/${descending}`;
    let list = this.orderedLists.get(key);
    if (!list) {
      list = this.order(orderBy).users.filter((u) => (deleted ? u.deletionTime !== undefined : u.deletionTime === undefined));
      if (descending) list.reverse();
      this.orderedLists.set(key, list);
      this.work.indexed += list.length;
    }
    return list;
  }

  /** O(1): the scenario still holds the same arrays at the same lengths (anything else needs `matches`). */
  sameArrays(google: ScenarioGoogle): boolean {
    return google.users === this.users && google.groups === this.groups &&
      google.users.length === this.userPrints.length && google.groups.length === this.groupPrints.length;
  }

  /** Users one of whose addresses starts with `prefix` (lower-cased), each once. */
  usersByEmailPrefix(prefix: string): ScenarioGoogleUser[] {
    this.userEmailIndex ??= this.built(new PrefixIndex(this.users.flatMap((u) => userEmails(u).map((e): [string, ScenarioGoogleUser] => [lower(e), u]))));
    return [...new Set(this.userEmailIndex.range(prefix, this.work))];
  }

  /** Users one of whose name words (in `field`) starts with `prefix`, each once. */
  usersByNameWord(field: NameField, prefix: string): ScenarioGoogleUser[] {
    let index = this.nameIndexes.get(field);
    if (!index) {
      const text = (u: ScenarioGoogleUser) => (field === "name" ? fullNameOf(u) : (u.name?.[field] ?? ""));
      index = this.built(new PrefixIndex(this.users.flatMap((u) => words(text(u)).map((w): [string, ScenarioGoogleUser] => [w, u]))));
      this.nameIndexes.set(field, index);
    }
    return [...new Set(index.range(prefix, this.work))];
  }

  /** Groups by lower-cased email (stable), descending as the reverse of ascending. */
  groupOrder(descending: boolean): ScenarioGoogleGroup[] {
    if (!this.groupsByEmail) {
      const keyed = this.groups.map((g) => ({ g, k: lower(g.email) }));
      keyed.sort((a, b) => cmp(a.k, b.k));
      this.groupsByEmail = keyed.map((x) => x.g);
      this.work.indexed += keyed.length;
    }
    if (!descending) return this.groupsByEmail;
    this.groupsByEmailDesc ??= [...this.groupsByEmail].reverse();
    return this.groupsByEmailDesc;
  }

  /** Position of a group in the scenario (-1 if not indexed); sorts candidates into email order with groupOrder's stable ties. */
  groupRank(g: ScenarioGoogleGroup): number {
    return this.groupOrderRank().get(g) ?? -1;
  }

  private groupOrderRanks?: Map<ScenarioGoogleGroup, number>;
  private groupOrderRank(): Map<ScenarioGoogleGroup, number> {
    this.groupOrderRanks ??= new Map(this.groupOrder(false).map((g, i) => [g, i]));
    return this.groupOrderRanks;
  }

  groupsByEmailPrefix(prefix: string): ScenarioGoogleGroup[] {
    this.groupEmailIndex ??= this.built(new PrefixIndex(this.groups.flatMap((g) => groupEmails(g).map((e): [string, ScenarioGoogleGroup] => [lower(e), g]))));
    return [...new Set(this.groupEmailIndex.range(prefix, this.work))];
  }

  groupsByNamePrefix(prefix: string): ScenarioGoogleGroup[] {
    this.groupNameIndex ??= this.built(new PrefixIndex(this.groups.map((g): [string, ScenarioGoogleGroup] => [lower(g.name), g])));
    return [...new Set(this.groupNameIndex.range(prefix, this.work))];
  }

  private built<T>(index: PrefixIndex<T>): PrefixIndex<T> {
    this.work.indexed += this.users.length;
    return index;
  }
}
