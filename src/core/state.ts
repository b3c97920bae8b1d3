/**
 * @module The state file's rules: parse and check it (migrating older versions), serialise it
 * canonically, and read it as the tenant it describes (so a run with nothing to do reads no SCIM).
 */
import type { ManagedGroup, ManagedUser, SyncState, TenantSnapshot, UserAttributes } from "../model/index.ts";
import { STATE_SCHEMA_VERSION, USER_ATTRIBUTE_NAMES } from "../model/index.ts";
import { SyncError } from "./errors.ts";
import { JsonBytes } from "./json-bytes.ts";
import { shortJson } from "./text.ts";

/** The tenant as the state says it is: only managed resources, with what was last written. */
export function tenantFromState(state: SyncState): TenantSnapshot {
  // A map, not state.users[id] for each of 1,000,000 member ids: a lookup in an object of 200,000 keys is several times slower.
  const scimIds = new Map<string, string>();
  for (const sourceId in state.users) scimIds.set(sourceId, state.users[sourceId]!.scimId);
  // for-in loops, not Object.entries: no pair array per record of a 200,000-user state.
  const users: TenantSnapshot["users"] = [];
  for (const sourceId in state.users) {
    const managed = state.users[sourceId]!;
    const { managerSourceId } = managed.attributes;
    const managerScimId = managerSourceId === undefined ? undefined : scimIds.get(managerSourceId);
    users.push({
      scimId: managed.scimId,
      externalId: sourceId,
      // The record's own object, not a copy without managerSourceId: no planner reads that
      // field of a tenant user (see TenantUser), and 200,000 copies would cost tens of MB.
      attributes: managed.attributes,
      ...(managerScimId !== undefined ? { managerScimId } : {}),
    });
  }
  const groups: TenantSnapshot["groups"] = [];
  // A member list read from a version-4 file finds each member's SCIM id by the row it was read
  // from (see membersAsRead), not by 1,000,000 lookups of 21-character strings.
  const ofRows = new Map<readonly string[], (string | undefined)[]>();
  const scimIdsOfRows = (rowIds: readonly string[]) => {
    let found = ofRows.get(rowIds);
    if (found === undefined) ofRows.set(rowIds, (found = rowIds.map((id) => scimIds.get(id))));
    return found;
  };
  for (const sourceId in state.groups) {
    const managed = state.groups[sourceId]!;
    const ids = managed.memberSourceIds;
    const read = membersAsRead.get(ids);
    const byRow = read === undefined ? undefined : scimIdsOfRows(read.rowIds);
    const memberScimIds: string[] = [];
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      const row = read !== undefined && k < read.rows.length ? read.rows[k]! : -1;
      const scimId = row >= 0 && read!.rowIds[row] === id ? byRow![row] : scimIds.get(id);
      if (scimId !== undefined) memberScimIds.push(scimId);
    }
    // Every member found: the k-th SCIM id is the record's k-th member (see membersOfRecord).
    if (memberScimIds.length === ids.length) recordOfMembers.set(memberScimIds, ids);
    groups.push({ scimId: managed.scimId, externalId: sourceId, displayName: managed.displayName, memberScimIds });
  }
  return { users, groups };
}

/** A tenant group's members made by tenantFromState → the record's members they are, one for one. */
const recordOfMembers = new WeakMap<readonly string[], readonly string[]>();

/**
 * The state record's member list (sorted source ids) that a tenant group's `memberScimIds` were
 * made from by tenantFromState, each SCIM id the user of the source id at the same place; undefined
 * for members read from AWS (or made any other way). The planner then compares a group's source
 * members with its record by one walk of both sorted lists, with no lookup per member: a run from
 * the state compares 1,000,000 memberships.
 */
export function membersOfRecord(memberScimIds: readonly string[] | undefined): readonly string[] | undefined {
  return memberScimIds === undefined ? undefined : recordOfMembers.get(memberScimIds);
}

/**
 * A state entry. An entry of the state as loaded is never changed in place: apply's working state
 * shares it; only a group entry the run made itself grows in place (see OperationContext.ownGroups).
 */
export function managedUser(scimId: string, attributes: UserAttributes): ManagedUser {
  return { scimId, attributes };
}

export function managedGroup(scimId: string, displayName: string, memberSourceIds: Iterable<string>): ManagedGroup {
  return { scimId, displayName, memberSourceIds: [...new Set(memberSourceIds)].sort() };
}

/** Whether a sorted list (a group's `memberSourceIds`, kept sorted by every writer) holds `value`: a binary search. */
export function includesSorted(sorted: readonly string[], value: string): boolean {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const at = sorted[mid]!;
    if (at === value) return true;
    if (at < value) low = mid + 1;
    else high = mid - 1;
  }
  return false;
}

/** The attribute names, and the fields of an address and a phone number, sorted: the order an entry is written in. */
const ATTRIBUTE_KEYS = [...USER_ATTRIBUTE_NAMES].sort();
const NESTED_KEYS = ["country", "formatted", "locality", "postalCode", "region", "streetAddress", "type", "value"];

/** `record` with its keys in `keys`' order (the others left out), for JSON.stringify's fast path. */
function ordered(record: object, keys: readonly string[]): Record<string, unknown> {
  const from = record as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = from[key];
    if (value !== undefined) out[key] = typeof value === "object" && value !== null ? ordered(value, NESTED_KEYS) : value;
  }
  return out;
}

const ATTRIBUTE_KEY_SET: ReadonlySet<string> = new Set(ATTRIBUTE_KEYS);
const NESTED_KEY_SET: ReadonlySet<string> = new Set(NESTED_KEYS);

/**
 * Whether `record` is already what `ordered` would make of it: known keys only, each in order,
 * at every depth. Attributes read from a state file are (usersFromRows makes them so): entryJson
 * then takes them as they are, with no sorted copy made of each of 200,000 records.
 */
function inOrder(record: object, known: ReadonlySet<string>): boolean {
  let previous = "";
  for (const key in record) {
    if (key <= previous || !known.has(key)) return false;
    previous = key;
    const value = (record as Record<string, unknown>)[key];
    if (typeof value === "object" && value !== null && (Array.isArray(value) || !inOrder(value, NESTED_KEY_SET))) return false;
  }
  return true;
}

/**
 * One entry's canonical JSON: keys sorted at every depth, so equal entries are byte-identical;
 * a key that is not part of the state is not written. What sameState compares; version 3 wrote
 * each entry so.
 */
export function entryJson(entry: ManagedUser | ManagedGroup): string {
  if ("attributes" in entry) {
    const attributes = inOrder(entry.attributes, ATTRIBUTE_KEY_SET) ? entry.attributes : ordered(entry.attributes, ATTRIBUTE_KEYS);
    return `{"attributes":${JSON.stringify(attributes)},"scimId":${JSON.stringify(entry.scimId)}}`;
  }
  return `{"displayName":${JSON.stringify(entry.displayName)},"memberSourceIds":${JSON.stringify(entry.memberSourceIds)},"scimId":${JSON.stringify(entry.scimId)}}`;
}

/** About how many bytes each chunk of savedChunks holds: large enough to write fast, small enough never to need the whole state at once. */
const CHUNK_BYTES = 1 << 20;

/**
 * The attributes users of `users` have: a version-4 file's `userColumns`, each name written once
 * instead of in every one of 200,000 entries. The most common first (ties by name), so the
 * trailing absent values a row leaves out are the rare ones; equal states have equal columns.
 */
function columnsOf(users: Record<string, ManagedUser>): string[] {
  // A plain object of counters, not a Map: half the time over 2,000,000 keys.
  const counts: Record<string, number> = Object.create(null);
  for (const key of ATTRIBUTE_KEYS) counts[key] = 0;
  for (const id in users) {
    const attributes = users[id]!.attributes as unknown as Record<string, unknown>;
    for (const key in attributes) if (attributes[key] !== undefined && counts[key] !== undefined) counts[key]++;
  }
  return ATTRIBUTE_KEYS.filter((key) => counts[key]! > 0).sort((a, b) => counts[b]! - counts[a]! || (a < b ? -1 : 1));
}

/** A user's row: `[sourceId, scimId, value of each column...]`, an absent value `null`, trailing ones left out. */
function writeUserRow(out: JsonBytes, id: string, user: ManagedUser, columns: readonly string[]): void {
  const attributes = user.attributes as unknown as Record<string, unknown>;
  let end = columns.length;
  while (end > 0 && attributes[columns[end - 1]!] === undefined) end--;
  out.raw("[");
  out.string(id);
  out.raw(",");
  out.string(user.scimId);
  for (let c = 0; c < end; c++) {
    out.raw(",");
    const value = attributes[columns[c]!];
    // An address or a phone number: its fields sorted, as a version-3 entry had them.
    out.value(value === undefined ? null : typeof value === "object" && value !== null && !inOrder(value, NESTED_KEY_SET) ? ordered(value, NESTED_KEYS) : value);
  }
  out.raw("]");
}

/** Where each user is in the `users` of the file being written, and how to find a member's row fast. */
class UserRows {
  private rowOf: Map<string, number> | undefined;
  private readonly remaps = new Map<readonly string[], Int32Array>();

  constructor(
    private readonly userIds: readonly string[],
    private readonly users: Readonly<Record<string, ManagedUser>>,
  ) {}

  /** A group's members as the file holds them: each the index of its user's row, or its source id when the state holds no such user. */
  write(out: JsonBytes, memberSourceIds: readonly string[]): void {
    const read = membersAsRead.get(memberSourceIds);
    const remap = read === undefined ? undefined : this.remapOf(read.rowIds);
    out.raw("[");
    let found: Int32Array | undefined;
    for (let k = 0; k < memberSourceIds.length; k++) {
      if (k > 0) out.raw(",");
      const member = memberSourceIds[k]!;
      // The row the file read had it at, when the member is still the very string read there.
      const readRow = read !== undefined && k < read.rows.length ? read.rows[k]! : -1;
      let row = readRow >= 0 && read!.rowIds[readRow] === member ? remap![readRow]! : -1;
      if (row < 0) {
        row = this.rows().get(member) ?? -1;
        (found ??= this.rowsSoFar(memberSourceIds.length, k, read, remap))[k] = row;
      } else if (found !== undefined) found[k] = row;
      if (row >= 0) out.number(row);
      else out.string(member);
    }
    out.raw("]");
    // A list some of whose rows were looked up is remembered as written: the next save finds them
    // with no lookup per member (a first sync saves its 1,000,000 memberships every 30 s).
    if (found !== undefined) membersAsRead.set(memberSourceIds, { rowIds: this.userIds, rows: found });
  }

  /** The rows found for the first `k` members of a list of `length` (all found through `read`), to go on with. */
  private rowsSoFar(length: number, k: number, read: MembersAsRead | undefined, remap: Int32Array | undefined): Int32Array {
    const rows = new Int32Array(length);
    for (let i = 0; i < k; i++) rows[i] = remap![read!.rows[i]!]!;
    return rows;
  }

  /** Every user's row by source id, made only when a member list was not read from a file (a save of lists read finds none by it). */
  private rows(): Map<string, number> {
    if (this.rowOf === undefined) {
      this.rowOf = new Map();
      for (let i = 0; i < this.userIds.length; i++) this.rowOf.set(this.userIds[i]!, i);
    }
    return this.rowOf;
  }

  /**
   * Each row of a file read or written earlier as a row of this one, -1 for a user gone since.
   * Rows keep the state's order from save to save, users added since come last: one walk of both
   * lists, a lookup only where they part (a user gone, or one that moved).
   */
  private remapOf(rowIds: readonly string[]): Int32Array {
    let remap = this.remaps.get(rowIds);
    if (remap !== undefined) return remap;
    remap = new Int32Array(rowIds.length);
    const userIds = this.userIds;
    for (let i = 0, j = 0; i < rowIds.length; i++) {
      const id = rowIds[i]!;
      if (id === userIds[j]) {
        remap[i] = j++;
        continue;
      }
      const row = Object.hasOwn(this.users, id) ? (this.rows().get(id) ?? -1) : -1;
      remap[i] = row;
      // Users came before it (a key that reads as an array index goes first): go on after it,
      // unless it alone moved (made again, so last) and the rest are still where they were.
      if (row > j && (i + 1 === rowIds.length || rowIds[i + 1] === userIds[row + 1])) j = row + 1;
    }
    this.remaps.set(rowIds, remap);
    return remap;
  }
}

/**
 * What a file said of the members of each group list read from it, or written to it by this
 * process (a list made or grown by the run, once saved): the file's user ids in row order and each
 * member's row there, -1 for a source id not among them. Finding a row by source id costs a hash
 * lookup, about a second for 1,000,000 members at every save; a list read or written before
 * finds its rows here instead, moved by the users created or deleted since. A member is taken
 * from here only when it is still the very string read or written at that place, so a list
 * changed since (apply grows the lists of groups the run made in place) is written right all the same.
 */
const membersAsRead = new WeakMap<readonly string[], MembersAsRead>();
interface MembersAsRead {
  rowIds: readonly string[];
  rows: Int32Array;
}

/** A group's row: `[sourceId, scimId, displayName, members]` (see UserRows.write). */
function writeGroupRow(out: JsonBytes, id: string, group: ManagedGroup, rows: UserRows): void {
  out.raw("[");
  out.string(id);
  out.raw(",");
  out.string(group.scimId);
  out.raw(",");
  out.string(group.displayName);
  out.raw(",");
  rows.write(out, group.memberSourceIds);
  out.raw("]");
}

/**
 * The state's canonical file, schema version 4, written into `out` (JsonBytes: ASCII, as
 * JSON.stringify writes it), pausing (a yield) after each row so that savedChunks takes what is
 * written:
 *
 * `{"schemaVersion":4,"lastFullReadAt":..,"updatedAt":..,"pendingUserCreates":[..],
 * "userColumns":["active","displayName",..],"users":[[sourceId,scimId,active,displayName,..],..],
 * "groups":[[sourceId,scimId,displayName,[0,17,"<source id>",..]],..]}`
 *
 * Users in the state's order (a file's rows, then the users added since, as the state holds
 * them), groups sorted by source id; a member is the index of its user in `users`. About 60% of version 3's size: a
 * 200,000-user state's 120 MB were mostly attribute names repeated in every entry and member ids
 * quoted in full. Read to the end without an await between rows, it is the state as it was when
 * writing began.
 */
function* writeState(state: SyncState, out: JsonBytes): Generator<void, void, undefined> {
  // In the state's order, not sorted: entries read from a file, then those the run added, lie in
  // memory in about that order, and a walk in any other order (by source id) misses the cache for
  // each of 200,000 users' values: a save of the users a first sync made took twice as long.
  const userIds = Object.keys(state.users);
  out.raw('{"schemaVersion":');
  out.number(state.schemaVersion);
  for (const key of ["lastFullReadAt", "updatedAt"] as const) {
    const value = state[key];
    if (value === undefined) continue;
    out.raw(`,"${key}":`);
    out.string(value);
  }
  const pending = state.pendingUserCreates ?? [];
  if (pending.length > 0) {
    out.raw(',"pendingUserCreates":');
    out.value(pending);
  }
  const columns = columnsOf(state.users);
  out.raw(',"userColumns":');
  out.value(columns);
  out.raw(',"users":[');
  for (let i = 0; i < userIds.length; i++) {
    if (i > 0) out.raw(",");
    writeUserRow(out, userIds[i]!, state.users[userIds[i]!]!, columns);
    yield;
  }
  out.raw('],"groups":[');
  const rows = new UserRows(userIds, state.users);
  const groupIds = Object.keys(state.groups).sort();
  for (let i = 0; i < groupIds.length; i++) {
    if (i > 0) out.raw(",");
    writeGroupRow(out, groupIds[i]!, state.groups[groupIds[i]!]!, rows);
    yield;
  }
  out.raw("]}\n");
}

/**
 * The state file's bytes (writeState), in chunks of about 1 MiB. Each chunk is a view of a buffer
 * the next one reuses: a store writes or copies it before it asks for the next. A save leaves
 * little garbage (no string per row): the run collects what its checkpoints leave (sync.ts).
 */
export function* savedChunks(state: SyncState): Generator<Uint8Array, void, undefined> {
  const out = new JsonBytes(CHUNK_BYTES + (CHUNK_BYTES >> 2));
  for (const _row of writeState(state, out)) if (out.length >= CHUNK_BYTES) yield out.take();
  yield out.take();
}

/**
 * Whether two states hold the same entries and the same last full read (not `updatedAt`). Entries
 * are shared until changed, so most compare by reference; the rest by their canonical JSON.
 */
export function sameState(a: SyncState, b: SyncState): boolean {
  return a.lastFullReadAt === b.lastFullReadAt && samePending(a.pendingUserCreates, b.pendingUserCreates) && sameEntries(a.users, b.users) && sameEntries(a.groups, b.groups);
}

function samePending(a: readonly string[] = [], b: readonly string[] = []): boolean {
  return a === b || (a.length === b.length && a.every((id, i) => id === b[i]));
}

function sameEntries(a: Record<string, ManagedUser | ManagedGroup>, b: Record<string, ManagedUser | ManagedGroup>): boolean {
  const ids = Object.keys(a);
  if (ids.length !== Object.keys(b).length) return false;
  return ids.every((id) => {
    const x = a[id]!;
    const y = b[id];
    return x === y || (y !== undefined && entryJson(x) === entryJson(y));
  });
}

const STATE_HINT = "restore a previous version of the state, or move it away to start over (the next run re-adopts by externalId)";

/** Reports a problem with the state's content: one line naming where it is. */
type Bad = (what: string) => never;

/**
 * Parses state text and checks its shape, every entry's types included; a version-1, -2 or -3
 * state is read as this version. A corrupt file or one of another schema version is a
 * configuration-level problem: running on a state we do not understand could delete things.
 * Messages name where the problem is, never the file's content (it may hold anything, a secret
 * pasted by mistake included): the JSON error is a line and column, and ids are JSON-quoted and cut.
 */
export function parseState(text: string, where: string): SyncState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not the runtime's message: V8 and JavaScriptCore both quote the text around the error.
    throw new SyncError("STATE_INVALID", `state ${where} is not valid JSON (${jsonErrorAt(text)})`, { hint: STATE_HINT });
  }
  const bad: Bad = (what) => {
    throw new SyncError("STATE_INVALID", `state ${where} is not an idpscim state: ${what}`, { hint: STATE_HINT });
  };
  if (!isRecord(json)) bad("not a JSON object");
  const obj = json as Record<string, unknown>;
  if (looksLikeIdpScimSyncState(obj)) {
    throw new SyncError(
      "STATE_INVALID",
      `state ${where} is not an idpscim state: this looks like idp-scim-sync's state; idpscim keeps its own: point aws.s3_bucket_key at a new key, the first run adopts what idp-scim-sync created`,
      { hint: "with a local state, point state.file at a new path instead; leave idp-scim-sync's object as it is (README: Coming from idp-scim-sync)" },
    );
  }
  const version = obj.schemaVersion;
  if (version !== STATE_SCHEMA_VERSION && version !== 1 && version !== 2 && version !== 3) {
    if (typeof version === "number" && version > STATE_SCHEMA_VERSION) {
      throw new SyncError("STATE_INVALID", `state ${where} has schemaVersion ${version}, newer than this release understands (${STATE_SCHEMA_VERSION})`, {
        hint: "upgrade idpscim to the release that wrote it",
      });
    }
    bad(`schemaVersion is ${shortJson(version)}, expected ${STATE_SCHEMA_VERSION}`);
  }
  const pending = obj.pendingUserCreates;
  if (pending !== undefined && (!Array.isArray(pending) || pending.some((id) => typeof id !== "string"))) bad("`pendingUserCreates` is not an array of strings");
  for (const key of ["lastFullReadAt", "updatedAt"] as const) {
    // The planner compares lastFullReadAt with the clock to decide whether to read the tenant.
    if (obj[key] !== undefined && !isIsoDate(obj[key])) bad(`${key} is not an ISO-8601 date`);
  }
  // Versions 1 and 2 recorded nothing pending (their runs wrote no pendingUserCreates).
  const pendingUserCreates = version === 1 || version === 2 || pending === undefined ? undefined : [...new Set(pending as string[])].sort();
  const { users, groups } = version === STATE_SCHEMA_VERSION ? fromRows(obj, bad) : fromEntries(obj, bad);
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    ...(obj.lastFullReadAt !== undefined ? { lastFullReadAt: obj.lastFullReadAt as string } : {}),
    ...(obj.updatedAt !== undefined ? { updatedAt: obj.updatedAt as string } : {}),
    // Sorted and each once, as every writer keeps them, also in a file edited by hand (a binary search reads them).
    ...(pendingUserCreates !== undefined ? { pendingUserCreates } : {}),
    users,
    groups,
  };
}

type Entries = Pick<SyncState, "users" | "groups">;

/**
 * A version-4 file's users and groups (see writeState), checked. Each row is let go of once
 * read, so the collector may free the rows while the entries are made; a member index becomes its
 * user's key string itself, so 1,000,000 memberships share 200,000 strings.
 */
function fromRows(obj: Record<string, unknown>, bad: Bad): Entries {
  const columns = obj.userColumns;
  if (!Array.isArray(columns)) bad("`userColumns` is not an array");
  (columns as unknown[]).forEach((name, i) => {
    if (typeof name !== "string" || !ATTRIBUTE_KEY_SET.has(name)) bad(`userColumns[${i}] is ${shortJson(name)}, not a user attribute this release knows`);
    if ((columns as unknown[]).indexOf(name) !== i) bad(`userColumns[${i}] repeats ${shortJson(name)}`);
  });
  const rows = obj.users;
  const groupRows = obj.groups;
  if (!Array.isArray(rows)) bad("`users` is not an array");
  if (!Array.isArray(groupRows)) bad("`groups` is not an array");
  const read = usersFromRows(rows as unknown[], columns as string[], bad);
  return { users: read.users, groups: groupsFromRows(groupRows as unknown[], read, bad) };
}

/** The users' entries, their ids in row order, and whether those are sorted (earlier writers sorted them; the order is free): then members compare by row. */
function usersFromRows(rows: unknown[], columns: readonly string[], bad: Bad): { users: Record<string, ManagedUser>; rowIds: string[]; sorted: boolean } {
  const users: Record<string, ManagedUser> = {};
  const rowIds: string[] = new Array(rows.length);
  // Each row's values in the columns' name order: every entry gets its keys sorted (see inOrder).
  const byName = columns.map((_, k) => k + 2).sort((a, b) => (columns[a - 2]! < columns[b - 2]! ? -1 : 1));
  let sorted = true;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!Array.isArray(row) || typeof row[0] !== "string") bad(`users[${i}] is not a row [source id, scimId, a value for each of userColumns]`);
    const id = row[0] as string;
    const scimId = row[1];
    // Made only for a message: 200,000 of them would cost a tenth of the read.
    const at = () => `users[${i}] (source id ${shortJson(id)})`;
    if (row.length > 2 + columns.length) bad(`${at()} has ${row.length} values, more than a source id, a scimId and the ${columns.length} userColumns`);
    if (typeof scimId !== "string" || scimId === "") bad(`${at()}: scimId is not a non-empty string`);
    if (Object.hasOwn(users, id)) bad(`${at()} repeats the source id of an earlier row`);
    const attributes: Record<string, unknown> = {};
    for (const k of byName) if (k < row.length && row[k] !== null) attributes[columns[k - 2]!] = row[k];
    const problem = attributesProblem(attributes);
    if (problem) bad(`${at()}: ${problem}`);
    setOwn(users, id, { scimId: scimId as string, attributes: attributes as unknown as UserAttributes });
    if (i > 0 && rowIds[i - 1]! >= id) sorted = false;
    rowIds[i] = id;
    rows[i] = null;
  }
  return { users, rowIds, sorted };
}

function groupsFromRows(rows: unknown[], users: { rowIds: readonly string[]; sorted: boolean }, bad: Bad): Record<string, ManagedGroup> {
  const { rowIds } = users;
  const groups: Record<string, ManagedGroup> = {};
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!Array.isArray(row) || row.length !== 4 || typeof row[0] !== "string") bad(`groups[${i}] is not a row [source id, scimId, displayName, members]`);
    const id = row[0] as string;
    const scimId = row[1];
    const displayName = row[2];
    const members = row[3];
    const at = () => `groups[${i}] (source id ${shortJson(id)})`;
    if (typeof scimId !== "string" || scimId === "") bad(`${at()}: scimId is not a non-empty string`);
    if (typeof displayName !== "string") bad(`${at()}: displayName is not a string`);
    if (!Array.isArray(members)) bad(`${at()}: members is not an array`);
    if (Object.hasOwn(groups, id)) bad(`${at()} repeats the source id of an earlier row`);
    const memberSourceIds = members as unknown[];
    const read = new Int32Array(memberSourceIds.length);
    let sorted = true;
    for (let k = 0; k < memberSourceIds.length; k++) {
      const member = memberSourceIds[k];
      const sourceId = typeof member === "number" ? rowIds[member] : member;
      if (typeof sourceId !== "string") bad(`${at()}: members[${k}] is neither the index of a row of users nor a source id`);
      read[k] = typeof member === "number" ? member : -1;
      memberSourceIds[k] = sourceId;
      // Two rows of sorted users are in order as their indices are: no comparison of 1,000,000 pairs of strings.
      if (k > 0 && (read[k]! >= 0 && read[k - 1]! >= 0 && users.sorted ? read[k - 1]! >= read[k]! : (memberSourceIds[k - 1] as string) >= (sourceId as string))) sorted = false;
    }
    // Sorted, as every writer keeps them, also in a file edited by hand: forgetUser finds a member by binary search.
    if (!sorted) memberSourceIds.sort();
    else membersAsRead.set(memberSourceIds as string[], { rowIds, rows: read });
    setOwn(groups, id, { scimId: scimId as string, displayName: displayName as string, memberSourceIds: memberSourceIds as string[] });
    rows[i] = null;
  }
  return groups;
}

/** `record[key] = value`, also for a key `__proto__` (an own property, as JSON.parse makes it, not the prototype). */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/**
 * A version-1, -2 or -3 file's users and groups (objects keyed by source id), checked: version 1
 * differs only by a `hash` in each entry, which nothing read (dropped).
 */
function fromEntries(obj: Record<string, unknown>, bad: Bad): Entries {
  const users = obj.users;
  const groups = obj.groups;
  if (!isRecord(users)) bad("`users` is not an object");
  if (!isRecord(groups)) bad("`groups` is not an object");
  // for-in, not Object.entries: no pair array per entry of a 200,000-user state.
  for (const id in users as Record<string, unknown>) {
    const problem = userProblem((users as Record<string, unknown>)[id]);
    if (problem) bad(`users[${shortJson(id)}]${problem}`);
  }
  for (const id in groups as Record<string, unknown>) {
    const problem = groupProblem((groups as Record<string, unknown>)[id]);
    if (problem) bad(`groups[${shortJson(id)}]${problem}`);
  }
  if (obj.schemaVersion === 1) {
    for (const records of [users, groups] as Record<string, Record<string, unknown>>[]) for (const id in records) delete records[id]!.hash;
  }
  // JSON.parse makes a new string of every member id: at 200,000 users and 1,000,000 memberships
  // that is about 50 MB of copies of the user keys, which each member id then shares instead.
  const userKeys = new Map<string, string>();
  for (const id in users as object) userKeys.set(id, id);
  for (const id in groups as object) {
    const members = (groups as Record<string, ManagedGroup>)[id]!.memberSourceIds;
    for (let i = 0; i < members.length; i++) members[i] = userKeys.get(members[i]!) ?? members[i]!;
    members.sort();
  }
  return { users: users as Record<string, ManagedUser>, groups: groups as Record<string, ManagedGroup> };
}

/**
 * idp-scim-sync's state.json (docs/State-File-example.md in slashdevops/idp-scim-sync): a string
 * `schemaVersion` ("1.0.0") and a `resources` object holding `groups`, `users` and `groupsMembers`.
 * Ours has a numeric schemaVersion and `users`/`groups` at the top, so the two never mix up.
 */
function looksLikeIdpScimSyncState(obj: Record<string, unknown>): boolean {
  const resources = obj.resources;
  return typeof obj.schemaVersion === "string" && isRecord(resources) && ["groups", "users", "groupsMembers"].some((key) => isRecord(resources[key]));
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function isIsoDate(value: unknown): boolean {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value));
}

const REQUIRED_STRINGS = ["userName", "displayName", "givenName", "familyName", "email"] as const;
const OPTIONAL_STRINGS = [
  "formattedName", "title", "preferredLanguage", "nickName", "profileUrl", "userType", "locale", "timezone",
  "employeeNumber", "costCenter", "organization", "division", "department", "managerSourceId",
] as const;
const ADDRESS_FIELDS = ["type", "formatted", "streetAddress", "locality", "region", "postalCode", "country"] as const;

/** What is wrong with a version-1 to -3 user entry, as a path suffix (`.attributes.userName is not a string`), or undefined. */
function userProblem(entry: unknown): string | undefined {
  if (!isRecord(entry)) return " is not an object";
  if (typeof entry.scimId !== "string" || entry.scimId === "") return ".scimId is not a non-empty string";
  if (!isRecord(entry.attributes)) return ".attributes is not an object";
  const problem = attributesProblem(entry.attributes);
  return problem === undefined ? undefined : `.attributes.${problem}`;
}

/** What is wrong with a user's attributes (`userName is not a string`), or undefined. */
function attributesProblem(attributes: Record<string, unknown>): string | undefined {
  for (const key of REQUIRED_STRINGS) if (typeof attributes[key] !== "string") return `${key} is not a string`;
  if (typeof attributes.active !== "boolean") return "active is not a boolean";
  for (const key of OPTIONAL_STRINGS) if (attributes[key] !== undefined && typeof attributes[key] !== "string") return `${key} is not a string`;
  const phone = attributes.phoneNumber;
  if (phone !== undefined) {
    if (!isRecord(phone) || typeof phone.value !== "string") return "phoneNumber.value is not a string";
    if (phone.type !== undefined && typeof phone.type !== "string") return "phoneNumber.type is not a string";
  }
  const address = attributes.address;
  if (address !== undefined) {
    if (!isRecord(address)) return "address is not an object";
    for (const key of ADDRESS_FIELDS) if (address[key] !== undefined && typeof address[key] !== "string") return `address.${key} is not a string`;
  }
  return undefined;
}

function groupProblem(entry: unknown): string | undefined {
  if (!isRecord(entry)) return " is not an object";
  if (typeof entry.scimId !== "string" || entry.scimId === "") return ".scimId is not a non-empty string";
  if (typeof entry.displayName !== "string") return ".displayName is not a string";
  if (!Array.isArray(entry.memberSourceIds)) return ".memberSourceIds is not an array";
  const at = entry.memberSourceIds.findIndex((id) => typeof id !== "string");
  if (at !== -1) return `.memberSourceIds[${at}] is not a string`;
  return undefined;
}

/**
 * Where JSON text stops being valid, as `line L, column C` (or that it ends early), found by a
 * small scanner of the JSON grammar: runtimes' parse errors quote the text, and not all give a position.
 */
export function jsonErrorAt(text: string): string {
  const scanner = new JsonScanner(text);
  try {
    scanner.document();
    return "no position found";
  } catch (thrown) {
    if (typeof thrown !== "number") return "no position found";
    if (text.trim() === "") return "the file is empty";
    const at = Math.min(thrown, text.length);
    if (at >= text.length) return "it ends early, at the end of the file";
    const before = text.slice(0, at);
    const line = before.split("\n").length;
    const column = at - before.lastIndexOf("\n");
    return `at line ${line}, column ${column}`;
  }
}

/** The JSON grammar, scanned for where it breaks: each rule advances `i`, and a mismatch throws `i` (a number). */
class JsonScanner {
  private readonly text: string;
  private i = 0;

  constructor(text: string) {
    this.text = text;
  }

  /** One value and nothing after it but whitespace. */
  document(): void {
    this.value(0);
    this.ws();
    if (this.i < this.text.length) this.fail();
  }

  private fail(): never {
    throw this.i;
  }

  private ws(): void {
    const text = this.text;
    while (this.i < text.length && " \t\n\r".includes(text[this.i]!)) this.i++;
  }

  private literal(word: string): void {
    for (const c of word) {
      if (this.text[this.i] !== c) this.fail();
      this.i++;
    }
  }

  private string(): void {
    const text = this.text;
    this.i++; // the opening quote
    for (;;) {
      if (this.i >= text.length) this.fail();
      const c = text.charCodeAt(this.i);
      if (c === 0x22) return void this.i++;
      if (c < 0x20) this.fail();
      if (c === 0x5c) {
        this.i++;
        if (text[this.i] === "u") {
          this.i++;
          for (let k = 0; k < 4; k++, this.i++) if (!/[0-9a-fA-F]/.test(text[this.i] ?? "")) this.fail();
          continue;
        }
        if (!'"\\/bfnrt'.includes(text[this.i] ?? "x")) this.fail();
      }
      this.i++;
    }
  }

  private digits(): void {
    const text = this.text;
    const from = this.i;
    while (text[this.i] !== undefined && text[this.i]! >= "0" && text[this.i]! <= "9") this.i++;
    if (this.i === from) this.fail();
  }

  private number(): void {
    const text = this.text;
    if (text[this.i] === "-") this.i++;
    if (text[this.i] === "0") this.i++;
    else this.digits();
    if (text[this.i] === ".") {
      this.i++;
      this.digits();
    }
    if (text[this.i] === "e" || text[this.i] === "E") {
      this.i++;
      if (text[this.i] === "+" || text[this.i] === "-") this.i++;
      this.digits();
    }
  }

  private value(depth: number): void {
    if (depth > 10_000) this.fail();
    this.ws();
    const c = this.text[this.i];
    if (c === "{" || c === "[") {
      // An object or an array, up to its closing bracket (recursing in place: one stack frame per level of nesting).
      const close = c === "{" ? "}" : "]";
      this.i++;
      this.ws();
      if (this.text[this.i] === close) return void this.i++;
      for (;;) {
        if (c === "{") {
          this.ws();
          if (this.text[this.i] !== '"') this.fail();
          this.string();
          this.ws();
          if (this.text[this.i] !== ":") this.fail();
          this.i++;
        }
        this.value(depth + 1);
        this.ws();
        if (this.text[this.i] === ",") {
          this.i++;
          continue;
        }
        if (this.text[this.i] === close) return void this.i++;
        this.fail();
      }
    }
    if (c === '"') return this.string();
    if (c === "t") return this.literal("true");
    if (c === "f") return this.literal("false");
    if (c === "n") return this.literal("null");
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
    this.fail();
  }
}
