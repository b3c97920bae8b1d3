/**
 * @module The ownership rule and the one matcher that applies it, to users and groups alike (pure).
 *
 * A resource is the tool's when the state records it and the resource's externalId equals the
 * state's source id (or when this run creates it). Matching goes by strength, each rule over every
 * desired record before the next, so a weaker rule never takes what a stronger one gives another:
 *   1. the state's record, confirmed by the resource's externalId;
 *   2. externalId equal to the source id (a resource ours whose record was lost);
 *   3. externalId equal to the record's former id, the id another tool keyed it by that the source
 *      also reads (AWS's Active Directory sample keys users by objectSid): the same proof of
 *      identity as 2, allowed only because the administrator named that attribute; the resource
 *      is then given the source id as its externalId (re-keyed);
 *   4. name (userName, group displayName), only when the resource carries no externalId at all
 *      and adoption by name is allowed: never a resource another tool or source marked as its own.
 * Protected resources (Control Tower's groups) are never matched, changed or deleted.
 */

export interface Candidate {
  scimId: string;
  externalId?: string;
}

export interface MatchInput<D, T extends Candidate> {
  /** In a stable order: when two compete for one resource, the first wins. */
  desired: readonly D[];
  sourceIdOf(d: D): string;
  /** The id another tool gave the record's resource (rule 3), if the source knows one. */
  formerIdOf?(d: D): string | undefined;
  /** The key a name match compares (lower-cased for userNames, exact for group names). */
  nameOf(d: D): string;
  tenant: readonly T[];
  tenantNameOf(t: T): string;
  /** The state's records: source id → SCIM id. */
  recorded: Readonly<Record<string, { scimId: string }>>;
  /** Never matched, changed or deleted (a protected group name). */
  untouchable(t: T): boolean;
  adoptByName: boolean;
}

export type BlockedReason = "foreign-external-id" | "protected" | "adoption-off";

export interface Matching<T> {
  /** Source id → the tenant resource it is. */
  matched: Map<string, T>;
  /** Source ids of the matched records this run takes over (rules 2 to 4). */
  adopted: Set<string>;
  /** SCIM id → source id of every state record the tenant confirms. */
  owned: Map<string, string>;
  /** State records whose resource is gone from the tenant. */
  gone: Set<string>;
  /** State records whose resource carries another externalId (or none), or a protected name: forgotten, never touched. */
  disowned: { sourceId: string; resource: T }[];
  /** Desired records whose name a resource holds that this run may not take. */
  blocked: Map<string, { resource: T; reason: BlockedReason }>;
  /** Every tenant resource by SCIM id: the planner's lookups share this one index. */
  byScimId: { get(scimId: string): T | undefined };
  /**
   * SCIM id → the resource's index in the tenant list: what the planner numbers its per-user
   * marks by, rather than build another map of 200,000 users.
   */
  slotOf: ReadonlyMap<string, number>;
}

export function matchResources<D, T extends Candidate>(input: MatchInput<D, T>): Matching<T> {
  const slotOf = new Map<string, number>();
  input.tenant.forEach((t, slot) => slotOf.set(t.scimId, slot));
  const byId = { get: (scimId: string): T | undefined => input.tenant[slotOf.get(scimId) ?? -1] };
  // Built when first asked: on a run with little to do every desired record matches its state
  // record (rule 1), and two more indexes of 200,000 users would be made for nothing.
  let byExternalId: Map<string, T> | undefined;
  let byName: Map<string, T> | undefined;
  const result: Matching<T> = { matched: new Map(), adopted: new Set(), owned: new Map(), gone: new Set(), disowned: [], blocked: new Map(), byScimId: byId, slotOf };
  // Resources taken by rules 2 to 4; one taken by rule 1 is in `owned`, which `free` checks too.
  const claimed = new Set<string>();

  // for-in, not Object.entries: no pair array per record of a 200,000-user state.
  for (const sourceId in input.recorded) {
    const record = input.recorded[sourceId]!;
    const resource = byId.get(record.scimId);
    if (resource === undefined) result.gone.add(sourceId);
    else if (resource.externalId !== sourceId || input.untouchable(resource) || result.owned.has(resource.scimId)) {
      result.disowned.push({ sourceId, resource });
    } else result.owned.set(resource.scimId, sourceId);
  }
  const take = (sourceId: string, resource: T, adopted: boolean) => {
    result.matched.set(sourceId, resource);
    if (adopted) {
      result.adopted.add(sourceId);
      claimed.add(resource.scimId);
    }
  };
  const free = (t: T | undefined): t is T => t !== undefined && !claimed.has(t.scimId) && !result.owned.has(t.scimId);
  // Rules 2 to 4 only ever take a resource no record owns: they look among those alone (a run
  // from the state with 400 new users then indexes a handful, not 200,000 names lower-cased).
  // `owned` is complete by then (rule 1 ran first): one list serves both indexes.
  let unownedTenant: T[] | undefined;
  const unowned = () => (unownedTenant ??= input.tenant.filter((t) => !result.owned.has(t.scimId)));

  for (const d of input.desired) {
    const sourceId = input.sourceIdOf(d);
    const scimId = input.recorded[sourceId]?.scimId;
    const resource = scimId === undefined ? undefined : byId.get(scimId);
    if (resource !== undefined && result.owned.get(resource.scimId) === sourceId) take(sourceId, resource, false);
  }
  // Rule 2 over every record, then rule 3: a former id never takes what a source id gives another.
  for (const idOf of [input.sourceIdOf, input.formerIdOf]) {
    if (idOf === undefined) continue;
    for (const d of input.desired) {
      const sourceId = input.sourceIdOf(d);
      const id = idOf(d);
      if (result.matched.has(sourceId) || result.blocked.has(sourceId)) continue;
      const resource = id === undefined ? undefined : (byExternalId ??= indexFirst(unowned(), (t) => t.externalId)).get(id);
      if (result.matched.has(sourceId) || result.blocked.has(sourceId) || !free(resource)) continue;
      // A protected resource carrying our id is still never touched, and no create can take the id: blocked.
      if (input.untouchable(resource)) result.blocked.set(sourceId, { resource, reason: "protected" });
      else take(sourceId, resource, true);
    }
  }
  for (const d of input.desired) {
    const sourceId = input.sourceIdOf(d);
    if (result.matched.has(sourceId) || result.blocked.has(sourceId)) continue;
    const resource = (byName ??= indexFirst(unowned(), input.tenantNameOf)).get(input.nameOf(d));
    if (result.matched.has(sourceId) || result.blocked.has(sourceId) || !free(resource)) continue;
    const reason: BlockedReason | undefined = input.untouchable(resource)
      ? "protected"
      : resource.externalId !== undefined
        ? "foreign-external-id"
        : input.adoptByName
          ? undefined
          : "adoption-off";
    if (reason === undefined) take(sourceId, resource, true);
    else result.blocked.set(sourceId, { resource, reason });
  }
  return result;
}

/** Case-insensitive glob (`*` any run, `?` one character), for `sync.protected_groups`. */
function matchesGlob(name: string, pattern: string): boolean {
  return globRegExp(pattern).test(name);
}

/** Compiled once per pattern: a plan of 10,000 groups asks about each of them several times. */
const GLOBS = new Map<string, RegExp>();

function globRegExp(pattern: string): RegExp {
  let compiled = GLOBS.get(pattern);
  if (compiled === undefined) {
    const source = pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("");
    compiled = new RegExp(`^${source}$`, "isu");
    GLOBS.set(pattern, compiled);
  }
  return compiled;
}

export function matchesAnyGlob(name: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => matchesGlob(name, pattern));
}

/**
 * Each item by its key (unique keys: the last wins). A loop, not `new Map(items.map(...))`: that
 * makes a pair array per item, 200,000 of them for the users of a large tenant.
 */
export function indexBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T> {
  const index = new Map<string, T>();
  for (const item of items) index.set(key(item), item);
  return index;
}

function indexFirst<T>(items: readonly T[], key: (item: T) => string | undefined): Map<string, T> {
  const index = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    if (k !== undefined && k !== "" && !index.has(k)) index.set(k, item);
  }
  return index;
}
