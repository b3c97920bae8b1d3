/** @module HTTP emulator of the AWS IAM Identity Center SCIM v2 endpoint, AWS dialect and quirks included (docs/aws-scim.md). */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createFaults, sleep, type FaultOptions } from "../faults.ts";
import { RequestLog } from "../request-log.ts";
import type { Scenario } from "../scenario.ts";
import { badRequest, errorBody, ScimError, UNPARSABLE } from "./errors.ts";
import { parseFilter, type ParsedFilter } from "./filter.ts";
import { Buckets } from "./ratelimit.ts";
import { LIST_RESPONSE, listOf, RESOURCE_TYPES, SCHEMAS, SERVICE_PROVIDER_CONFIG } from "./schemas.ts";
import { ScimStore, type ListPage } from "./store.ts";
import type { WorkMeter } from "../work.ts";
import type { ScimUserResource } from "./users.ts";

export type { ScimUserResource } from "./users.ts";

export interface ScimEmulatorOptions {
  scenario: Scenario;            // from ../scenario.ts; seeds scim.users / scim.groups (members = user ids)
  token?: string;                // default: random 40-char token starting with a letter
  tenantId?: string;             // default: random; path prefix /<tenantId>/scim/v2
  faults?: Partial<FaultOptions>; // from ../faults.ts
  /** token-bucket rate limit: requests per second for reads and writes; undefined = unlimited. */
  rateLimit?: { readsPerSecond: number; writesPerSecond: number; membershipOpsPerSecond?: number };
  legacyListCap?: number;        // default 100 (50 to mimic older tenants)
  /**
   * Answer at most this many resources per cursor page whatever `count` asks, with nextCursor
   * still present: AWS may send short pages, so a client must never stop on one (§4.1).
   */
  shortPageSize?: number;
  /** How far the emulated service's clock is ahead of this host's (negative: behind), in seconds; default 0. */
  clockSkewSeconds?: number;
}

export interface ScimEmulator {
  url: string;          // e.g. http://127.0.0.1:PORT/<tenantId>/scim/v2  (no trailing slash)
  token: string;
  log: RequestLog;      // every request: method, route template like "/Users/{id}", status
  faults: FaultOptions; // mutable at run time
  rateLimit: ScimEmulatorOptions["rateLimit"]; // mutable at run time
  /** Deep copy of the store for assertions: users as AWS would return them (full SCIM JSON), groups with member id arrays. */
  snapshot(): { users: ScimUserResource[]; groups: { id: string; displayName: string; externalId?: string; members: string[] }[] };
  /** Entries examined answering requests (test/emulators/work.ts), to pin per-request cost as a count. */
  work: WorkMeter;
  /** The service's clock, mutable at run time: `skewSeconds` ahead of this host's, as every answer's `Date` header tells. */
  clock: { skewSeconds: number };
  close(): Promise<void>;
}

/** What a handler answers; `body` undefined = empty body (204). */
interface Reply {
  status: number;
  body?: unknown;
}

interface CursorState {
  resource: "Users" | "Groups";
  filter: string;
  afterSeq: number;
}

/** Cursor page size bounds and default (§4.1). */
const MAX_COUNT = 100;

/**
 * Starts the emulator on 127.0.0.1 (random port). Every request is logged with its route
 * template and the status the client saw (0 when the connection was dropped or the response lost).
 */
export async function startScimEmulator(options: ScimEmulatorOptions): Promise<ScimEmulator> {
  // Starts with a letter: tests pass it as the word after a flag, where a leading dash is refused (tested on its own).
  const token = options.token ?? `T${randomBytes(30).toString("base64url").slice(0, 39)}`;
  const tenantId = options.tenantId ?? randomUUID();
  const legacyListCap = options.legacyListCap ?? 100;
  const store = new ScimStore(options.scenario);
  const log = new RequestLog();
  const buckets = new Buckets();
  const cursors = new Map<string, CursorState>();

  const emulator: ScimEmulator = {
    url: "",
    token,
    log,
    faults: createFaults(options.faults),
    rateLimit: options.rateLimit,
    snapshot: () => structuredClone(store.snapshot()),
    work: store.work,
    clock: { skewSeconds: options.clockSkewSeconds ?? 0 },
    close: async () => {},
  };

  const chargeMembers = (changes: number) => {
    if (!buckets.take("membership", emulator.rateLimit?.membershipOpsPerSecond, changes)) throw throttled();
  };

  /** The cursor and legacy list modes of §4. */
  function list<T>(
    resource: "Users" | "Groups", query: URLSearchParams, fetch: (f: ParsedFilter | undefined, afterSeq: number, limit: number) => ListPage<T>,
  ): Reply {
    // Sorting, attribute selection are not supported (§2); sending them is rejected (AWS: NOT KNOWN
    // whether rejected or ignored). startIndex was historically ignored (§4.2) and still is here.
    for (const p of ["sortBy", "sortOrder", "attributes", "excludedAttributes"]) {
      if (query.has(p)) throw badRequest(`Query parameter \`${p}\` is not supported.`);
    }
    const filterText = query.get("filter") ?? "";
    // An empty filter is taken as no filter (AWS behaviour NOT KNOWN).
    const filter = filterText.trim() === "" ? undefined : parseFilter(filterText);
    const countText = query.get("count");
    let count = MAX_COUNT;
    if (countText !== null) {
      // count outside 1..100 → 400 in both modes (AWS NOT KNOWN whether rejected or clamped, §4.1).
      if (!/^\d+$/.test(countText) || Number(countText) < 1 || Number(countText) > MAX_COUNT) {
        throw badRequest(`1 validation error detected: Value at 'count' failed to satisfy constraint: Member must be between 1 and ${MAX_COUNT}`);
      }
      count = Number(countText);
    }

    if (!query.has("cursor")) {
      // Legacy mode (§4.2): one page, capped; totalResults is the returned count, not the true total.
      const page = fetch(filter, 0, Math.min(count, legacyListCap)).items.map((l) => l.resource);
      return { status: 200, body: listOf(page) };
    }

    // Cursor mode (§4.1): `?cursor` / `?cursor=` starts; a continuation must repeat the filter it
    // was issued for (else 400); unknown or forged cursors → 400. `count` may change between pages
    // (only the filter is bound; AWS NOT KNOWN). Cursors do not expire.
    const cursorText = query.get("cursor") ?? "";
    let afterSeq = 0;
    if (cursorText !== "") {
      const state = cursors.get(cursorText);
      if (!state || state.resource !== resource) throw badRequest("The cursor is invalid or expired.");
      if (state.filter !== filterText) throw badRequest("Filter parameters cannot change between paginated requests.");
      afterSeq = state.afterSeq;
    }
    const { items: page, more } = fetch(filter, afterSeq, Math.min(count, options.shortPageSize ?? count));
    const body: Record<string, unknown> = { schemas: [LIST_RESPONSE], itemsPerPage: page.length, Resources: page.map((l) => l.resource) };
    const last = page[page.length - 1];
    if (more && last) {
      const next = randomBytes(18).toString("base64");
      cursors.set(next, { resource, filter: filterText, afterSeq: last.seq });
      body.nextCursor = next; // present only when more remain: last page = nextCursor absent
    }
    return { status: 200, body };
  }

  function dispatch(method: string, segments: string[], query: URLSearchParams, body: () => unknown): Reply {
    const [collection, id, ...extra] = segments;
    if (extra.length > 0 || id === "") throw unsupportedOperation(method, segments);
    if (collection === "Users") {
      if (id === undefined) {
        if (method === "GET") return list("Users", query, (f, after, limit) => store.listUsers(f, after, limit));
        if (method === "POST") return { status: 201, body: store.createUser(body()) };
      } else {
        if (method === "GET") return { status: 200, body: store.getUser(id) };
        if (method === "PUT") return { status: 200, body: store.putUser(id, body()) };
        if (method === "PATCH") return { status: 200, body: store.patchUser(id, body()) };
        if (method === "DELETE") return store.deleteUser(id), { status: 204 };
      }
    } else if (collection === "Groups") {
      if (id === undefined) {
        if (method === "GET") return list("Groups", query, (f, after, limit) => store.listGroups(f, after, limit));
        if (method === "POST") return { status: 201, body: store.createGroup(body(), chargeMembers) };
      } else {
        if (method === "GET") return { status: 200, body: store.getGroup(id) };
        // PatchGroup answers 204 with no body (§6.3). PUT /Groups/{id} does not exist (§2) → 400 below.
        if (method === "PATCH") return store.patchGroup(id, body(), chargeMembers), { status: 204 };
        if (method === "DELETE") return store.deleteGroup(id), { status: 204 };
      }
    } else if (method === "GET" && collection === "ServiceProviderConfig" && id === undefined) {
      return { status: 200, body: SERVICE_PROVIDER_CONFIG };
    } else if (method === "GET" && collection === "Schemas") {
      if (id === undefined) return { status: 200, body: listOf(SCHEMAS) };
      const schema = SCHEMAS.find((s) => s.id === id);
      if (!schema) throw new ScimError(404, "ResourceNotFoundException", `Schema ${id} not found.`);
      return { status: 200, body: schema };
    } else if (method === "GET" && collection === "ResourceTypes" && id === undefined) {
      return { status: 200, body: listOf(RESOURCE_TYPES) };
    }
    throw unsupportedOperation(method, segments);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const method = (req.method ?? "GET").toUpperCase();
    const rawUrl = req.url ?? "/";
    const url = new URL(rawUrl, "http://emulator");
    const parts = url.pathname.split("/").slice(1).map(safeDecode);
    // /<tenantId>/scim/v2/<segments…>
    const prefixOk = parts.length >= 3 && parts[1] === "scim" && parts[2] === "v2";
    const segments = prefixOk ? parts.slice(3) : [];
    const route = prefixOk ? routeTemplate(segments) : url.pathname;
    const isWrite = method !== "GET" && method !== "HEAD";
    const faults = emulator.faults;
    const chance = (rate: number) => rate > 0 && faults.random() < rate;
    const record = (status: number) => log.record({ method, route, url: rawUrl, status });
    const lose = () => {
      record(0);
      req.socket.destroy();
    };
    const send = (reply: Reply) => {
      record(reply.status);
      const text = reply.body === undefined ? "" : JSON.stringify(reply.body);
      // Even the 204s carry Content-Type: application/json in the AWS examples (§1).
      res.writeHead(reply.status, {
        "Content-Type": "application/json",
        "x-amzn-RequestId": requestId,
        Date: new Date(Date.now() + emulator.clock.skewSeconds * 1000).toUTCString(),
        ...(text ? { "Content-Length": Buffer.byteLength(text) } : {}),
      });
      res.end(text);
    };
    const sendError = (e: ScimError) => send({ status: e.status, body: errorBody(e.status, e.detail, requestId) });

    // Faults, in the documented order: latency, drop, error, slow; then auth and rate limit.
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (chance(faults.dropRate)) return lose();
    if (chance(faults.errorRate)) return sendError(new ScimError(500, "InternalServerException", "An internal error occurred."));
    if (chance(faults.slowRate)) await sleep(faults.slowMs);

    const rawBody = await readBody(req);

    // A missing/invalid bearer token and a wrong tenant id both answer 401 (§1).
    const auth = req.headers.authorization ?? "";
    if (auth !== `Bearer ${token}` || !prefixOk || parts[0] !== tenantId) {
      return sendError(new ScimError(401, "UnauthorizedException", "The bearer token or tenant is not valid."));
    }
    // Separate read and write buckets (§9: 40 TPS reads, 25 TPS writes by default in AWS). 429 has no Retry-After (§9).
    const limits = emulator.rateLimit;
    if (!buckets.take(isWrite ? "write" : "read", isWrite ? limits?.writesPerSecond : limits?.readsPerSecond)) {
      return sendError(throttled());
    }

    let reply: Reply;
    try {
      reply = dispatch(method, segments, url.searchParams, () => parseJson(rawBody));
    } catch (error) {
      if (!(error instanceof ScimError)) {
        console.error("scim emulator: handler failed", error);
        return sendError(new ScimError(500, "InternalServerException", "An internal error occurred."));
      }
      reply = { status: error.status, body: errorBody(error.status, error.detail, requestId) };
    }
    // Lost response: the write happened, the answer never arrives (client retries a succeeded POST).
    if (isWrite && chance(faults.lostResponseRate)) return lose();
    send(reply);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      console.error("scim emulator: request failed", error);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  emulator.url = `http://127.0.0.1:${port}/${tenantId}/scim/v2`;
  emulator.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    });
  return emulator;
}

const throttled = () => new ScimError(429, "ThrottlingException", "Rate exceeded");

/**
 * Unsupported operations (PUT /Groups/{id}, /Me, /Bulk, /.search, anything else) → 400
 * ValidationException: the documented guess (§2; 404/405 not excluded, NOT KNOWN).
 */
const unsupportedOperation = (method: string, segments: string[]) =>
  badRequest(`The operation ${method} /${segments.join("/")} is not supported.`);

function routeTemplate(segments: string[]): string {
  const [collection, id, ...extra] = segments;
  if (collection === undefined) return "/";
  if (extra.length === 0 && id !== undefined && ["Users", "Groups", "Schemas", "ResourceTypes"].includes(collection)) {
    return `/${collection}/{id}`;
  }
  return `/${segments.join("/")}`;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(UNPARSABLE);
  }
}
