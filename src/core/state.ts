/**
 * @module The state file's rules: parse and check it (migrating older versions), serialise it
 * canonically, and read it as the tenant it describes (so a run with nothing to do reads no SCIM).
 */
import type { ManagedGroup, ManagedUser, SyncState, TenantSnapshot, UserAttributes } from "../model/index.ts";
import { STATE_SCHEMA_VERSION, USER_ATTRIBUTE_NAMES } from "../model/index.ts";
import { SyncError } from "./errors.ts";
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
  for (const sourceId in state.groups) {
    const managed = state.groups[sourceId]!;
    const memberScimIds: string[] = [];
    for (const id of managed.memberSourceIds) {
      const scimId = scimIds.get(id);
      if (scimId !== undefined) memberScimIds.push(scimId);
    }
    groups.push({ scimId: managed.scimId, externalId: sourceId, displayName: managed.displayName, memberScimIds });
  }
  return { users, groups };
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
 * at every depth. Attributes read from a state file are (it is written so): JSON.stringify then
 * takes them as they are, with no sorted copy made of each of 200,000 records at every save.
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
 * a key that is not part of the state is not written. ASCII only (see serialiseState).
 */
export function entryJson(entry: ManagedUser | ManagedGroup): string {
  if ("attributes" in entry) {
    const attributes = inOrder(entry.attributes, ATTRIBUTE_KEY_SET) ? entry.attributes : ordered(entry.attributes, ATTRIBUTE_KEYS);
    return asciiOnly(`{"attributes":${JSON.stringify(attributes)},"scimId":${JSON.stringify(entry.scimId)}}`);
  }
  return asciiOnly(`{"displayName":${JSON.stringify(entry.displayName)},"memberSourceIds":${JSON.stringify(entry.memberSourceIds)},"scimId":${JSON.stringify(entry.scimId)}}`);
}

/**
 * Non-ASCII characters as JSON `\u` escapes: an ASCII text is held in one byte per character
 * when it is read back (a runtime stores a string with any wider character at two bytes per
 * character), and its UTF-8 bytes are the text itself.
 */
function asciiOnly(json: string): string {
  return /[^\x00-\x7e]/.test(json) ? json.replace(/[\x7f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : json;
}

/** About how many characters each piece of serialiseState holds: large enough to write fast, small enough never to need one string of the whole state. */
const PIECE_CHARS = 1 << 20;

/**
 * The state's canonical JSON text (keys sorted at every level, so equal states are byte-identical),
 * ASCII only, in pieces of about 1 MiB, made as they are asked for: a 200,000-user state is about
 * 110 MB, and a store that writes each piece as it comes never holds more than one. Read to the
 * end without an await between pieces, it is the state as it was when reading began.
 */
export function* serialiseState(state: SyncState): Generator<string, void, undefined> {
  let piece = "{";
  function* entries(name: "groups" | "users", records: Record<string, ManagedUser | ManagedGroup>) {
    piece += `${JSON.stringify(name)}:{`;
    let first = true;
    for (const id of Object.keys(records).sort()) {
      piece += `${first ? "" : ","}${asciiOnly(JSON.stringify(id))}:${entryJson(records[id]!)}`;
      first = false;
      if (piece.length >= PIECE_CHARS) {
        yield piece;
        piece = "";
      }
    }
    piece += "}";
  }
  yield* entries("groups", state.groups);
  if (state.lastFullReadAt !== undefined) piece += `,"lastFullReadAt":${JSON.stringify(state.lastFullReadAt)}`;
  if (state.pendingUserCreates !== undefined && state.pendingUserCreates.length > 0) {
    piece += `,"pendingUserCreates":[`;
    // Up to 200,000 ids: written in pieces as the entries are, never one string of them all.
    state.pendingUserCreates.forEach((id, i) => {
      piece += `${i === 0 ? "" : ","}${asciiOnly(JSON.stringify(id))}`;
    });
    piece += "]";
  }
  piece += `,"schemaVersion":${state.schemaVersion}`;
  if (state.updatedAt !== undefined) piece += `,"updatedAt":${JSON.stringify(state.updatedAt)}`;
  piece += ",";
  yield* entries("users", state.users);
  yield `${piece}}\n`;
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

/**
 * Parses state text and checks its shape, every entry's types included. A corrupt file or one of
 * another schema version is a configuration-level problem: running on a state we do not understand
 * could delete things. Messages name where the problem is, never the file's content (it may hold
 * anything, a secret pasted by mistake included): the JSON error is a line and column, and ids are
 * JSON-quoted and cut.
 */
export function parseState(text: string, where: string): SyncState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not the runtime's message: V8 and JavaScriptCore both quote the text around the error.
    throw new SyncError("STATE_INVALID", `state ${where} is not valid JSON (${jsonErrorAt(text)})`, { hint: STATE_HINT });
  }
  const bad = (what: string): never => {
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
  if (obj.schemaVersion !== STATE_SCHEMA_VERSION && obj.schemaVersion !== 1 && obj.schemaVersion !== 2) {
    if (typeof obj.schemaVersion === "number" && obj.schemaVersion > STATE_SCHEMA_VERSION) {
      throw new SyncError("STATE_INVALID", `state ${where} has schemaVersion ${obj.schemaVersion}, newer than this release understands (${STATE_SCHEMA_VERSION})`, {
        hint: "upgrade idpscim to the release that wrote it",
      });
    }
    bad(`schemaVersion is ${shortJson(obj.schemaVersion)}, expected ${STATE_SCHEMA_VERSION}`);
  }
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
  const pending = obj.pendingUserCreates;
  if (pending !== undefined && (!Array.isArray(pending) || pending.some((id) => typeof id !== "string"))) bad("`pendingUserCreates` is not an array of strings");
  for (const key of ["lastFullReadAt", "updatedAt"] as const) {
    // The planner compares lastFullReadAt with the clock to decide whether to read the tenant.
    if (obj[key] !== undefined && !isIsoDate(obj[key])) bad(`${key} is not an ISO-8601 date`);
  }
  return migrated(obj);
}

/**
 * The checked state as this version holds it: version 1 differs only by a `hash` in each entry,
 * which nothing read (dropped), and versions 1 and 2 by having no `pendingUserCreates`. Member lists are sorted, as every writer keeps them, also in a
 * file edited by hand: forgetUser finds a member by binary search.
 */
function migrated(obj: Record<string, unknown>): SyncState {
  if (obj.schemaVersion === 1) {
    for (const records of [obj.users, obj.groups] as Record<string, Record<string, unknown>>[]) for (const entry of Object.values(records)) delete entry.hash;
  }
  // Version 2 is version 3 with nothing pending (its runs recorded no pendingUserCreates).
  if (obj.schemaVersion === 1 || obj.schemaVersion === 2) delete obj.pendingUserCreates;
  obj.schemaVersion = STATE_SCHEMA_VERSION;
  // Sorted and each once, as every writer keeps them, also in a file edited by hand (a binary search reads them).
  if (Array.isArray(obj.pendingUserCreates)) obj.pendingUserCreates = [...new Set(obj.pendingUserCreates as string[])].sort();
  // JSON.parse makes a new string of every member id: at 200,000 users and 1,000,000 memberships
  // that is about 50 MB of copies of the user keys, which each member id then shares instead.
  const userKeys = new Map<string, string>();
  for (const id in obj.users as object) userKeys.set(id, id);
  for (const group of Object.values(obj.groups as Record<string, { memberSourceIds: string[] }>)) {
    const members = group.memberSourceIds;
    for (let i = 0; i < members.length; i++) members[i] = userKeys.get(members[i] as string) ?? (members[i] as string);
    members.sort();
  }
  return obj as unknown as SyncState;
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

/** What is wrong with a user entry, as a path suffix (`.attributes.userName is not a string`), or undefined. */
function userProblem(entry: unknown): string | undefined {
  if (!isRecord(entry)) return " is not an object";
  if (typeof entry.scimId !== "string" || entry.scimId === "") return ".scimId is not a non-empty string";
  const attributes = entry.attributes;
  if (!isRecord(attributes)) return ".attributes is not an object";
  for (const key of REQUIRED_STRINGS) if (typeof attributes[key] !== "string") return `.attributes.${key} is not a string`;
  if (typeof attributes.active !== "boolean") return ".attributes.active is not a boolean";
  for (const key of OPTIONAL_STRINGS) if (attributes[key] !== undefined && typeof attributes[key] !== "string") return `.attributes.${key} is not a string`;
  const phone = attributes.phoneNumber;
  if (phone !== undefined) {
    if (!isRecord(phone) || typeof phone.value !== "string") return ".attributes.phoneNumber.value is not a string";
    if (phone.type !== undefined && typeof phone.type !== "string") return ".attributes.phoneNumber.type is not a string";
  }
  const address = attributes.address;
  if (address !== undefined) {
    if (!isRecord(address)) return ".attributes.address is not an object";
    for (const key of ADDRESS_FIELDS) if (address[key] !== undefined && typeof address[key] !== "string") return `.attributes.address.${key} is not a string`;
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
