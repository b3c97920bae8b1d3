/** @module Directory API read methods over a scenario: users.list/get, groups.list, members.list (docs/google-directory.md §2–3, §5). */
import { createHash, randomBytes } from "node:crypto";
import type { Scenario, ScenarioGoogleGroup, ScenarioGoogleUser, ScenarioMember } from "../scenario.ts";
import { WorkMeter } from "../work.ts";
import {
  cmp, DirectoryIndex, fullNameOf, groupEmails, lower, membersFingerprint, userEmails, words, type NameField, type UserOrder,
} from "./directory-index.ts";
import { badRequest, invalid, notFound, rangeError } from "./errors.ts";
import { numericId } from "./oauth.ts";
import { checkContextClause, contextMatches, customFieldsOf, isContextClause, type CustomFields } from "./user-query.ts";

type Json = Record<string, unknown>;

/** Top-level fields of each method's response, for `fields` validation (§4). */
export const RESPONSE_FIELDS = {
  "users.list": ["kind", "etag", "users", "nextPageToken", "trigger_event"],
  "users.get": [
    "kind", "id", "etag", "primaryEmail", "name", "isAdmin", "isDelegatedAdmin", "lastLoginTime", "creationTime",
    "deletionTime", "agreedToTerms", "suspended", "suspensionReason", "archived", "changePasswordAtNextLogin",
    "ipWhitelisted", "emails", "externalIds", "relations", "aliases", "nonEditableAliases", "organizations", "phones",
    "addresses", "languages", "locations", "websites", "ims", "keywords", "gender", "notes", "posixAccounts",
    "sshPublicKeys", "customerId", "orgUnitPath", "isMailboxSetup", "isEnrolledIn2Sv", "isEnforcedIn2Sv",
    "includeInGlobalAddressList", "thumbnailPhotoUrl", "thumbnailPhotoEtag", "recoveryEmail", "recoveryPhone",
    "isGuestUser", "guestAccountInfo", "customSchemas", "hashFunction", "password", "primaryGuestEmail",
  ],
  "groups.list": ["kind", "etag", "groups", "nextPageToken"],
  "groups.get": ["kind", "id", "etag", "email", "name", "directMembersCount", "description", "adminCreated", "aliases", "nonEditableAliases"],
  "members.list": ["kind", "etag", "members", "nextPageToken"],
} as const satisfies Record<string, readonly string[]>;

/** Google etags are quoted opaque strings; a content hash keeps them stable across calls. */
export function etagOf(value: unknown): string {
  return `"${createHash("sha1").update(JSON.stringify(value)).digest("base64url")}"`;
}

/** Parses a boolean query parameter; §2.4: booleans arrive as the strings "true"/"false". */
function boolParam(params: URLSearchParams, name: string): boolean {
  const v = params.get(name);
  if (v === null || v === "") return false;
  if (v.toLowerCase() === "true") return true;
  if (v.toLowerCase() === "false") return false;
  throw invalid(`Invalid value '${v}'. Values must be one of: true, false`);
}

function intParam(params: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const v = params.get(name);
  if (v === null || v === "") return fallback;
  if (!/^-?\d+$/.test(v)) throw rangeError(v, min, max);
  const n = Number(v);
  if (n < min || n > max) throw rangeError(v, min, max);
  return n;
}

function enumParam<T extends string>(params: URLSearchParams, name: string, values: readonly T[], fallback: T): T {
  const v = params.get(name);
  if (v === null || v === "") return fallback;
  const match = values.find((x) => x.toLowerCase() === v.toLowerCase());
  if (!match) throw invalid(`Invalid value '${v}'. Values must be one of: ${values.join(", ")}`);
  return match;
}

/** One clause of a search query: `field op value` (§3). `field` is "" for a bare term. */
interface Clause {
  field: string;
  op: "=" | ":" | "<" | ">" | "<=" | ">=";
  value: string;
}

/** Splits a query into space-separated clauses; single-quoted values may contain spaces and `\'` (§3.1). */
export function parseQuery(query: string): Clause[] {
  const clauses: Clause[] = [];
  let i = 0;
  while (i < query.length) {
    if (/\s/.test(query[i]!)) {
      i++;
      continue;
    }
    const fieldMatch = /^[A-Za-z_][A-Za-z0-9_.]*(?=<=|>=|=|:|<|>)/.exec(query.slice(i));
    let field = "";
    let op: Clause["op"] = ":";
    if (fieldMatch) {
      field = fieldMatch[0];
      i += field.length;
      const opMatch = /^(<=|>=|=|:|<|>)/.exec(query.slice(i))!;
      op = opMatch[0] as Clause["op"];
      i += op.length;
    }
    let value = "";
    if (query[i] === "'") {
      i++;
      let closed = false;
      while (i < query.length) {
        const c = query[i]!;
        if (c === "\\" && query[i + 1] === "'") {
          value += "'";
          i += 2;
        } else if (c === "'") {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) throw invalid();
    } else {
      while (i < query.length && !/\s/.test(query[i]!)) value += query[i++];
    }
    if (value === "") throw invalid();
    clauses.push({ field, op, value });
  }
  return clauses;
}


/**
 * `:` semantics (§3.1): otherwise a whole-word ("contains") match; `PREFIX*` is a prefix of the
 * value, or with `wordPrefix` (names) of one of its words. Email prefixes apply to the whole address.
 */
function colonMatch(candidate: string, value: string, wordPrefix: boolean): boolean {
  const v = lower(value);
  if (v.endsWith("*")) {
    const prefix = v.slice(0, -1);
    return lower(candidate).startsWith(prefix) || (wordPrefix && words(candidate).some((w) => w.startsWith(prefix)));
  }
  if (/\s/.test(v)) return lower(candidate).includes(v);
  return words(candidate).includes(v);
}

const textMatch = (candidates: string[], op: Clause["op"], value: string, wordPrefix = true): boolean =>
  op === "=" ? candidates.some((c) => lower(c) === lower(value)) : candidates.some((c) => colonMatch(c, value, wordPrefix));

function boolClause(actual: boolean, c: Clause): boolean {
  if (c.op !== "=" || !/^(true|false)$/i.test(c.value)) throw invalid();
  return actual === (lower(c.value) === "true");
}

/** What a clause about the manager chain or a custom field needs besides the user (user-query.ts). */
interface QueryContext {
  fields: CustomFields;
  find(key: string): ScenarioGoogleUser | undefined;
}

/**
 * users `query` subset (§3.1): email, givenName, familyName, name, is* flags, orgUnitPath (subtree),
 * externalId, bare terms, and (user-query.ts) manager chains and custom schema fields.
 */
function userMatches(u: ScenarioGoogleUser, c: Clause, context: QueryContext): boolean {
  const name = u.name ?? {};
  if (isContextClause(c)) return contextMatches(u, c, context.fields, context.find);
  switch (c.field) {
    case "":
      return textMatch([name.givenName ?? "", name.familyName ?? "", ...userEmails(u)], ":", c.value);
    case "email":
      if (c.op !== "=" && c.op !== ":") throw invalid();
      return textMatch(userEmails(u), c.op, c.value, false);
    case "givenName":
    case "familyName":
      if (c.op !== "=" && c.op !== ":") throw invalid();
      return textMatch([name[c.field] ?? ""], c.op, c.value);
    case "name":
      if (c.op !== "=" && c.op !== ":") throw invalid();
      return textMatch([fullNameOf(u)], c.op, c.value);
    case "isSuspended":
      return boolClause(u.suspended === true, c);
    case "isArchived":
      return boolClause(u.archived === true, c);
    case "isAdmin":
      return boolClause(u.isAdmin === true, c);
    case "isDelegatedAdmin":
      return boolClause(u.isDelegatedAdmin === true, c);
    case "orgUnitPath": {
      // §3.1: `=` matches the OU and its descendants.
      if (c.op !== "=") throw invalid();
      const want = lower(c.value).replace(/\/+$/, "");
      const have = lower(u.orgUnitPath ?? "/");
      return want === "" || have === want || have.startsWith(`${want}/`);
    }
    case "externalId": {
      if (c.op !== "=" && c.op !== ":") throw invalid();
      const ids = Array.isArray(u.externalIds) ? (u.externalIds as { value?: unknown }[]).map((e) => String(e.value ?? "")) : [];
      return textMatch(ids, c.op, c.value);
    }
    default:
      // Not emulated: failing loudly beats silently listing everyone.
      throw invalid();
  }
}

/** Opaque page tokens bound to the method and its filtering parameters; a foreign token → 400. */
class PageTokens {
  private readonly tokens = new Map<string, { bind: string; offset: number }>();

  issue(bind: string, offset: number): string {
    const token = randomBytes(24).toString("base64url");
    this.tokens.set(token, { bind, offset });
    return token;
  }

  offset(params: URLSearchParams, bind: string): number {
    const token = params.get("pageToken");
    if (token === null || token === "") return 0;
    const entry = this.tokens.get(token);
    if (!entry || entry.bind !== bind) throw invalid("Invalid Input: pageToken");
    return entry.offset;
  }
}

/** A computed listing, kept for its continuation pages while the index it came from stands. */
interface Listing<T> {
  index: DirectoryIndex;
  items: T[];
  /** members.list: the member arrays it was computed from and their fingerprints. */
  sources?: { group: ScenarioGoogleGroup; members: ScenarioMember[]; length: number; print: string }[];
}

/** Listings kept at once; a continuation whose listing was dropped recomputes it (same answer). */
const LISTINGS_KEPT = 512;

export class Directory {
  private readonly pages = new PageTokens();
  /**
   * Lookup indexes over the scenario, kept while it does not change (directory-index.ts).
   * Tests edit the scenario in place between runs; every listing start (users.list or
   * groups.list without pageToken) compares the index with the scenario in O(users + groups) and
   * rebuilds it if anything it holds changed. Continuation pages and other requests check only
   * the entries they serve (O(page)); a lookup that misses checks everything before answering 404.
   */
  private current?: DirectoryIndex;
  private readonly listings = new Map<string, Listing<unknown>>();

  constructor(
    private readonly scenario: Scenario,
    readonly work: WorkMeter = new WorkMeter(),
  ) {}

  private get google() {
    return this.scenario.google;
  }

  /** The index; with `check`, first compared with the scenario and rebuilt if it differs. */
  private index(check = false): DirectoryIndex {
    const stale = !this.current || (check ? !this.current.matches(this.google) : !this.current.sameArrays(this.google));
    if (stale) {
      this.current = new DirectoryIndex(this.google, this.work);
      this.listings.clear();
    }
    return this.current!;
  }

  /** Drops the index so the next use rebuilds it (an entry about to be served changed). */
  private invalidate(): DirectoryIndex {
    this.current = undefined;
    return this.index();
  }

  private listing<T>(key: string, index: DirectoryIndex, compute: () => Listing<T>): Listing<T> {
    const kept = this.listings.get(key) as Listing<T> | undefined;
    if (kept && kept.index === index) return kept;
    const made = compute();
    this.listings.delete(key);
    this.listings.set(key, made as Listing<unknown>);
    if (this.listings.size > LISTINGS_KEPT) this.listings.delete(this.listings.keys().next().value!);
    return made;
  }

  private checkCustomer(customer: string): void {
    // NOT KNOWN (§9.4) what an unknown customer answers; a 400 like the missing-customer case.
    if (customer !== "my_customer" && customer !== this.google.customerId) throw badRequest();
  }

  private bindOf(route: string, params: URLSearchParams, bindKeys: string[]): string {
    return `${route}?${bindKeys.map((k) => `${k}=${params.get(k) ?? ""}`).join("&")}`;
  }

  private page<T>(bind: string, params: URLSearchParams, items: T[], maxResults: number) {
    const offset = this.pages.offset(params, bind);
    const slice = items.slice(offset, offset + maxResults);
    this.work.examined += slice.length;
    const next = offset + maxResults < items.length ? this.pages.issue(bind, offset + maxResults) : undefined;
    return { slice, next };
  }

  // ---- users -------------------------------------------------------------------------------

  renderUser(u: ScenarioGoogleUser, projection: "basic" | "custom" | "full", customFieldMask?: string): Json {
    const { id, primaryEmail, name, ...rest } = u;
    const given = name?.givenName ?? "";
    const family = name?.familyName ?? "";
    const body: Json = {
      kind: "admin#directory#user",
      id,
      etag: "",
      primaryEmail,
      name: { ...name, givenName: given, familyName: family, fullName: name?.fullName ?? [given, family].filter((x) => x).join(" ") },
      isAdmin: false,
      isDelegatedAdmin: false,
      lastLoginTime: "1970-01-01T00:00:00.000Z", // what Google shows for "never signed in"
      creationTime: "2024-01-01T00:00:00.000Z",
      agreedToTerms: true,
      suspended: false,
      archived: false,
      changePasswordAtNextLogin: false,
      ipWhitelisted: false,
      emails: [{ address: primaryEmail, primary: true }],
      customerId: this.google.customerId,
      orgUnitPath: "/",
      isMailboxSetup: true,
      isEnrolledIn2Sv: false,
      isEnforcedIn2Sv: false,
      includeInGlobalAddressList: true,
      ...rest,
    };
    if (body.suspended === true && body.suspensionReason === undefined) body.suspensionReason = "ADMIN";
    // §2.1: customSchemas only with projection custom (named schemas) or full.
    if (projection === "basic") delete body.customSchemas;
    if (projection === "custom" && body.customSchemas && typeof body.customSchemas === "object") {
      const keep = new Set((customFieldMask ?? "").split(",").map((s) => s.trim()).filter((s) => s));
      const kept = Object.entries(body.customSchemas as Json).filter(([k]) => keep.has(k));
      // Only the schemas customFieldMask names; none left is no key at all, as Google leaves out empty values.
      if (kept.length > 0) body.customSchemas = Object.fromEntries(kept);
      else delete body.customSchemas;
    }
    const { etag: _e, ...forEtag } = body;
    body.etag = etagOf(forEtag);
    return body;
  }

  private projectionOf(params: URLSearchParams) {
    const projection = enumParam(params, "projection", ["basic", "custom", "full"] as const, "basic");
    enumParam(params, "viewType", ["admin_view", "domain_public"] as const, "admin_view");
    return projection;
  }

  usersList(params: URLSearchParams): Json {
    const customer = params.get("customer");
    const domain = params.get("domain");
    if (!customer && !domain) throw badRequest(); // §2.1: customer or domain is required
    if (customer) this.checkCustomer(customer);
    const maxResults = intParam(params, "maxResults", 1, 500, 100);
    const projection = this.projectionOf(params);
    const orderBy = enumParam(params, "orderBy", ["email", "familyName", "givenName"] as const, "email");
    const sortOrder = enumParam(params, "sortOrder", ["ASCENDING", "DESCENDING"] as const, "ASCENDING");
    // showDeleted is accepted; scenarios carry no deleted users, so `true` lists nobody extra.
    const showDeleted = boolParam(params, "showDeleted");
    const clauses = parseQuery(params.get("query") ?? "");

    const bindKeys = ["customer", "domain", "query", "orderBy", "sortOrder", "showDeleted", "projection", "customFieldMask", "viewType"];
    const bind = this.bindOf("users.list", params, bindKeys);
    const starting = !params.get("pageToken");
    const select = (index: DirectoryIndex) =>
      this.listing(bind, index, () => ({ index, items: this.selectUsers(index, domain, showDeleted, clauses, orderBy, sortOrder) }));
    let index = this.index(starting);
    let { slice, next } = this.page(bind, params, select(index).items, maxResults);
    if (!index.usersUnchanged(this.google, slice)) {
      index = this.invalidate();
      ({ slice, next } = this.page(bind, params, select(index).items, maxResults));
    }
    const rendered = slice.map((u) => this.renderUser(u, projection, params.get("customFieldMask") ?? undefined));
    return listBody("admin#directory#users", "users", rendered, next);
  }

  /**
   * The users a users.list query selects, in order. The first clause narrows the candidates
   * through an index where one fits (email `=` and `:PREFIX*`, names `:WORDPREFIX*`); every clause
   * is then checked on each candidate as a full scan would, so answers and errors are the same.
   */
  private selectUsers(
    index: DirectoryIndex, domain: string | null, showDeleted: boolean, clauses: Clause[], orderBy: UserOrder, sortOrder: "ASCENDING" | "DESCENDING",
  ): ScenarioGoogleUser[] {
    const descending = sortOrder === "DESCENDING";
    if (!domain && clauses.length === 0) return index.ordered(orderBy, showDeleted, descending);
    // Google refuses an unknown custom field or a wrong operator whoever the users are: checked before any user.
    const fields = clauses.some(isContextClause) ? customFieldsOf(this.google.users) : new Map();
    for (const c of clauses) if (isContextClause(c)) checkContextClause(c, fields);
    const context: QueryContext = { fields, find: (key) => index.findUser(key) };
    const keep = (u: ScenarioGoogleUser) =>
      (showDeleted ? u.deletionTime !== undefined : u.deletionTime === undefined) &&
      (!domain || lower(u.primaryEmail).endsWith(`@${lower(domain)}`)) &&
      clauses.every((c) => userMatches(u, c, context));
    const candidates = userCandidates(index, clauses[0]);
    const { rank } = index.order(orderBy);
    const pool = candidates ?? index.ordered(orderBy, showDeleted, false);
    this.work.examined += pool.length;
    const users = pool.filter(keep);
    if (candidates) users.sort((a, b) => rank.get(a)! - rank.get(b)!);
    if (descending) users.reverse();
    return users;
  }

  usersGet(userKey: string, params: URLSearchParams): Json {
    const projection = this.projectionOf(params);
    const key = lower(userKey);
    const holds = (u: ScenarioGoogleUser | undefined) => u !== undefined && (u.id === userKey || userEmails(u).some((e) => lower(e) === key));
    let index = this.index();
    let user = index.findUser(userKey);
    if (!holds(user) || !index.usersUnchanged(this.google, [user!])) {
      index = this.index(true);
      user = index.findUser(userKey);
    }
    if (!user || user.deletionTime !== undefined) throw notFound("userKey");
    return this.renderUser(user, projection, params.get("customFieldMask") ?? undefined);
  }

  // ---- groups ------------------------------------------------------------------------------

  private findGroup(groupKey: string): ScenarioGoogleGroup | undefined {
    return this.index().findGroup(groupKey);
  }

  /** A group for members.list: an index hit is checked against the group, a miss against the whole scenario. */
  private groupFor(groupKey: string): ScenarioGoogleGroup | undefined {
    const key = lower(groupKey);
    const holds = (g: ScenarioGoogleGroup | undefined) => g !== undefined && (g.id === groupKey || groupEmails(g).some((e) => lower(e) === key));
    const index = this.index();
    const group = index.findGroup(groupKey);
    if (holds(group) && index.groupsUnchanged(this.google, [group!])) return group;
    return this.index(true).findGroup(groupKey);
  }

  /** groups.get (§2.5): by id, email or alias, exact and immediate (no search index); unknown → 404 notFound. */
  groupsGet(groupKey: string): Json {
    const group = this.groupFor(groupKey);
    if (!group) throw notFound("groupKey");
    return this.renderGroup(group);
  }

  renderGroup(g: ScenarioGoogleGroup): Json {
    const { id, email, name, description, members, ...rest } = g;
    const body: Json = {
      kind: "admin#directory#group",
      id,
      etag: "",
      email,
      name,
      directMembersCount: String(members.length), // int64 → string in JSON (§5.2)
      description: description ?? "",
      adminCreated: true,
      ...rest,
    };
    if (typeof body.directMembersCount === "number") body.directMembersCount = String(body.directMembersCount);
    const { etag: _e, ...forEtag } = body;
    body.etag = etagOf(forEtag);
    return body;
  }

  /** Whether `key` (email or id of a user, group or external account) is a direct member of `g`. */
  private hasDirectMember(g: ScenarioGoogleGroup, key: string): boolean {
    const k = lower(key);
    this.work.examined += g.members.length;
    return g.members.some((m) => (m.email !== undefined && lower(m.email) === k) || this.memberId(m) === key);
  }

  groupsList(params: URLSearchParams): Json {
    const customer = params.get("customer");
    const domain = params.get("domain");
    const userKey = params.get("userKey");
    // §2.3: userKey cannot be combined with customer (400, GH google-api-nodejs-client#2515).
    if (userKey && customer) throw badRequest();
    if (!customer && !domain && !userKey) throw badRequest();
    if (customer) this.checkCustomer(customer);
    const maxResults = intParam(params, "maxResults", 1, 200, 200);
    enumParam(params, "orderBy", ["email"] as const, "email");
    const sortOrder = enumParam(params, "sortOrder", ["ASCENDING", "DESCENDING"] as const, "ASCENDING");
    const clauses = parseQuery(params.get("query") ?? "");
    // §3.2: memberKey takes `=` only and cannot be combined with email/name.
    if (clauses.some((c) => c.field === "memberKey") && clauses.length > 1) throw invalid();

    const bind = this.bindOf("groups.list", params, ["customer", "domain", "userKey", "query", "orderBy", "sortOrder"]);
    const starting = !params.get("pageToken");
    const select = (index: DirectoryIndex) =>
      this.listing(bind, index, () => ({ index, items: this.selectGroups(index, domain, userKey, clauses, sortOrder) }));
    let index = this.index(starting);
    let { slice, next } = this.page(bind, params, select(index).items, maxResults);
    if (!index.groupsUnchanged(this.google, slice)) {
      index = this.invalidate();
      ({ slice, next } = this.page(bind, params, select(index).items, maxResults));
    }
    return listBody("admin#directory#groups", "groups", slice.map((g) => this.renderGroup(g)), next);
  }

  /** The groups a groups.list selects, by email; the first clause narrows through an index where one fits (as selectUsers). */
  private selectGroups(
    index: DirectoryIndex, domain: string | null, userKey: string | null, clauses: Clause[], sortOrder: "ASCENDING" | "DESCENDING",
  ): ScenarioGoogleGroup[] {
    const matches = (g: ScenarioGoogleGroup, c: Clause): boolean => {
      if (c.field === "memberKey") {
        if (c.op !== "=") throw invalid();
        return this.hasDirectMember(g, c.value);
      }
      if (c.field !== "name" && c.field !== "email") throw invalid();
      const candidates = c.field === "name" ? [g.name] : groupEmails(g);
      if (c.op === "=") return candidates.some((x) => lower(x) === lower(c.value));
      // §3.2 documents only `:PREFIX*` for groups.
      if (c.op !== ":" || !c.value.endsWith("*")) throw invalid();
      const prefix = lower(c.value.slice(0, -1));
      return candidates.some((x) => lower(x).startsWith(prefix));
    };
    const ordered = index.groupOrder(sortOrder === "DESCENDING");
    if (!domain && !userKey && clauses.length === 0) return ordered;
    const candidates = groupCandidates(index, clauses[0]);
    const pool = candidates ?? ordered;
    this.work.examined += pool.length;
    const groups = pool
      .filter((g) => !domain || lower(g.email).endsWith(`@${lower(domain)}`))
      .filter((g) => !userKey || this.hasDirectMember(g, userKey))
      .filter((g) => clauses.every((c) => matches(g, c)));
    if (candidates) {
      const rank = (g: ScenarioGoogleGroup) => index.groupRank(g);
      groups.sort((a, b) => rank(a) - rank(b));
      if (sortOrder === "DESCENDING") groups.reverse();
    }
    return groups;
  }

  // ---- members -----------------------------------------------------------------------------

  private userByEmail(email: string): ScenarioGoogleUser | undefined {
    return this.index().userByAddress(email);
  }

  /** The member's id: the user's or group's id, the customer id, or a stable synthetic id for an external account. */
  private memberId(m: ScenarioMember): string {
    if (m.id) return m.id;
    if (m.type === "CUSTOMER") return this.google.customerId;
    if (m.type === "GROUP") return this.findGroup(m.email!)?.id ?? numericId(`external:${lower(m.email!)}`);
    return this.userByEmail(m.email!)?.id ?? numericId(`external:${lower(m.email!)}`);
  }

  private renderMember(m: ScenarioMember): Json {
    const user = m.type === "USER" && m.email ? this.userByEmail(m.email) : undefined;
    const group = m.type === "GROUP" && m.email ? this.findGroup(m.email) : undefined;
    const body: Json = {
      kind: "admin#directory#member",
      etag: "",
      id: this.memberId(m),
      // §5.3: a CUSTOMER member has no email; known users/groups show their stored address.
      ...(m.type === "CUSTOMER" ? {} : { email: user?.primaryEmail ?? group?.email ?? m.email }),
      role: m.role,
      type: m.type,
      // test/scenarios/FORMAT.md: SUSPENDED marks a suspended user's membership, whatever the scenario line says.
      status: user?.suspended ? "SUSPENDED" : m.status,
    };
    const { etag: _e, ...forEtag } = body;
    body.etag = etagOf(forEtag);
    return body;
  }

  /**
   * includeDerivedMembership=true: breadth-first over nested groups (cycle-safe), every reachable
   * USER once (first seen wins, so a direct membership's role beats a nested one), CUSTOMER entries
   * kept, and nested GROUP entries NOT listed. §2.4/§9.3 say Google's exact behaviour is NOT KNOWN;
   * this is the choice a sync that flattens groups has to cope with either way. Returns the
   * member arrays it read too, so the listing can tell when one of them changes.
   */
  private derivedMembers(root: ScenarioGoogleGroup): { members: ScenarioMember[]; read: ScenarioGoogleGroup[] } {
    const out: ScenarioMember[] = [];
    const read: ScenarioGoogleGroup[] = [];
    const seen = new Set<string>();
    const visited = new Set<string>([root.id]);
    const queue: ScenarioGoogleGroup[] = [root];
    while (queue.length > 0) {
      const g = queue.shift()!;
      read.push(g);
      this.work.examined += g.members.length;
      for (const m of g.members) {
        if (m.type === "GROUP") {
          const nested = this.findGroup(m.email!);
          if (nested && !visited.has(nested.id)) {
            visited.add(nested.id);
            queue.push(nested);
          }
          continue;
        }
        const key = `${m.type}:${this.memberId(m)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(m);
      }
    }
    return { members: out, read };
  }

  membersList(groupKey: string, params: URLSearchParams): Json {
    const group = this.groupFor(groupKey);
    if (!group) throw notFound("groupKey");
    const maxResults = intParam(params, "maxResults", 1, 200, 200);
    const derived = boolParam(params, "includeDerivedMembership");
    const rolesParam = params.get("roles");
    const roles = rolesParam ? rolesParam.split(",").map((r) => r.trim().toUpperCase()).filter((r) => r) : undefined;
    if (roles?.some((r) => !["OWNER", "MANAGER", "MEMBER"].includes(r))) throw invalid();

    const bind = this.bindOf(`members.list:${group.id}`, params, ["includeDerivedMembership", "roles"]);
    const index = this.index();
    const compute = (): Listing<ScenarioMember> => {
      const { members, read } = derived ? this.derivedMembers(group) : { members: group.members, read: [group] };
      if (!derived) this.work.examined += members.length;
      const items = members.filter((m) => !roles || roles.includes(m.role));
      fresh = true;
      return { index, items, sources: read.map((g) => ({ group: g, members: g.members, length: g.members.length, print: membersFingerprint(g.members) })) };
    };
    let fresh = false;
    const key = `${bind}#${index.groupRank(group)}`;
    let listing = this.listing(key, index, compute);
    // A listing start re-reads every member array the listing came from (O(its size)); a
    // continuation checks only that the group's own array is the same one, at the same length.
    const moved = (src: NonNullable<Listing<unknown>["sources"]>[number]) => src.group.members !== src.members || src.members.length !== src.length;
    const changed = !fresh && (params.get("pageToken")
      ? moved(listing.sources![0]!)
      : listing.sources!.some((src) => {
          this.work.checked += src.members.length;
          return moved(src) || membersFingerprint(src.members) !== src.print;
        }));
    if (changed) {
      this.listings.delete(key);
      listing = this.listing(key, index, compute);
    }
    const { slice, next } = this.page(bind, params, listing.items, maxResults);
    return listBody("admin#directory#members", "members", slice.map((m) => this.renderMember(m)), next);
  }
}

/** Index candidates for a users.list clause (a superset of its matches), or undefined to scan. */
function userCandidates(index: DirectoryIndex, c: Clause | undefined): ScenarioGoogleUser[] | undefined {
  if (!c) return undefined;
  const v = lower(c.value);
  if (c.field === "email" && c.op === "=") return index.usersByEmailPrefix(v);
  if (c.field === "email" && c.op === ":" && v.endsWith("*")) return index.usersByEmailPrefix(v.slice(0, -1));
  // A word-character prefix of a name starts one of its words (colonMatch's wordPrefix case).
  const prefix = v.slice(0, -1);
  if (["givenName", "familyName", "name"].includes(c.field) && c.op === ":" && v.endsWith("*") && /^[\p{L}\p{N}]+$/u.test(prefix)) {
    return index.usersByNameWord(c.field as NameField, prefix);
  }
  return undefined;
}

/** Index candidates for a groups.list clause, or undefined to scan. */
function groupCandidates(index: DirectoryIndex, c: Clause | undefined): ScenarioGoogleGroup[] | undefined {
  if (!c || (c.field !== "email" && c.field !== "name")) return undefined;
  const v = lower(c.value);
  const prefix = c.op === "=" ? v : c.op === ":" && v.endsWith("*") ? v.slice(0, -1) : undefined;
  if (prefix === undefined) return undefined;
  return c.field === "email" ? index.groupsByEmailPrefix(prefix) : index.groupsByNamePrefix(prefix);
}

/** A list response; §2.1/§10: the array key is omitted when empty, nextPageToken on the last page. */
function listBody(kind: string, key: string, items: Json[], next: string | undefined): Json {
  const body: Json = { kind, etag: etagOf(items.map((i) => i.etag)) };
  if (items.length > 0) body[key] = items;
  if (next !== undefined) body.nextPageToken = next;
  return body;
}

