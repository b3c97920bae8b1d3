/** @module The ScimTarget port over AWS IAM Identity Center's SCIM v2 endpoint, in AWS's dialect (docs/aws-scim.md; § cites its sections). */
import { ofetch, type FetchResponse } from "ofetch";
import { ScimRequestError, SyncError } from "../../core/errors.ts";
import type { GroupChange, RequestStats, ScimTarget, UserChange } from "../../core/ports.ts";
import { createRateControl, type RateControlOptions } from "../../core/rate-control.ts";
import { MAX_MEMBERS_PER_REQUEST, type TenantGroup, type TenantUser, type UserAttributes } from "../../model/index.ts";
import { describeAnswer } from "../http-answer.ts";
import { RESPONSE_HINT, classifyScimError, isAmbiguous, toScimRequestError, type RequestLabel } from "./errors.ts";
import { eqFilter } from "./filter.ts";
import { PATCH_OP_SCHEMA, userFromScim, userPatchOperations, userToScim, type PatchOperation } from "./user-mapping.ts";

export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

export interface ScimTargetOptions {
  /** The SCIM endpoint as the console shows it: `https://scim.<region>.amazonaws.com/<tenant>/scim/v2/` (trailing slash optional). */
  endpoint: string;
  token: string;
  rate?: Partial<RateControlOptions>;
  logger?: { debug(message: string): void };
  /** Per request; a timed-out request counts as a network failure and is retried. */
  timeoutMs?: number;
}

/** RequestStats plus the deletes that found nothing (already gone: success, counted apart). */
export interface ScimTargetStats extends RequestStats {
  alreadyDeleted: number;
}

/** The port, with its stats widened by `alreadyDeleted`. */
export interface AwsScimTarget extends ScimTarget {
  stats(): ScimTargetStats;
  /** GET /ServiceProviderConfig: what the tenant says it supports (for `inspect scim config`). */
  serviceProviderConfig(): Promise<Record<string, unknown>>;
}

/**
 * Defaults stay under AWS's published 25 write / 40 read TPS per identity store (docs/aws-scim.md §9):
 * start at 20 req/s, never above 25 (the write limit, since one limiter paces reads and writes),
 * 8 in flight, and 8 attempts with backoff from 250 ms to 20 s (≈ 30 s of patience in total).
 */
export const DEFAULT_RATE: Omit<RateControlOptions, "random" | "now" | "sleep"> = {
  initialRps: 20,
  minRps: 1,
  maxRps: 25,
  maxConcurrency: 8,
  retry: { attempts: 8, baseDelayMs: 250, maxDelayMs: 20_000 },
};
export const DEFAULT_TIMEOUT_MS = 30_000;

/** cursor pages hold at most 100 (§4.1); members per CreateGroup/PatchGroup have their own cap, MAX_MEMBERS_PER_REQUEST. */
const PAGE_SIZE = 100;

interface Request extends RequestLabel {
  /** Path below the endpoint, with its query already encoded. */
  path: string;
  body?: unknown;
}

/**
 * @example
 * const scim = createScimTarget({ endpoint: config.aws.scimEndpoint, token: config.aws.scimAccessToken });
 * const users = await scim.listUsers();
 */
export function createScimTarget(options: ScimTargetOptions): AwsScimTarget {
  const baseURL = checkEndpoint(options.endpoint).replace(/\/+$/, "");
  const token = options.token;
  const log = options.logger;
  const rate = createRateControl({ ...DEFAULT_RATE, ...options.rate, retry: { ...DEFAULT_RATE.retry, ...options.rate?.retry } });
  const byRoute: Record<string, number> = {};
  let total = 0;
  let alreadyDeleted = 0;

  // ofetch's own retry is off (`retry: 0`): every retry goes through RateControl, so the
  // counts are exact and throttling slows every request, not just the one that saw the 429.
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const http = ofetch.create({
    baseURL,
    retry: 0,
    timeout: timeoutMs,
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
  });

  /** One logical request: attempts under the limiter, errors translated without the token. */
  async function send(request: Request, onFailedAttempt?: (error: ScimRequestError) => void): Promise<FetchResponse<unknown>> {
    return rate.run(async () => {
      byRoute[request.route] = (byRoute[request.route] ?? 0) + 1;
      total++;
      const started = Date.now();
      try {
        const response = await http.raw<unknown>(request.path, {
          method: request.method,
          ...(request.body === undefined ? {} : { body: request.body as Record<string, unknown> }),
        });
        log?.debug(`SCIM ${request.route}${request.target ? ` (${request.target})` : ""}: ${response.status} in ${Date.now() - started} ms`);
        return response;
      } catch (error) {
        const failure = toScimRequestError(error, request, token, timeoutMs, baseURL);
        log?.debug(`${failure.message} after ${Date.now() - started} ms`);
        onFailedAttempt?.(failure);
        throw failure;
      }
    }, classifyScimError);
  }

  /**
   * An answer that is not SCIM: the endpoint (or a proxy in front of it) is not IAM Identity
   * Center's. The message names the request and the endpoint; nothing in it comes from our request.
   */
  function unexpected(request: RequestLabel, what: string, status?: number): ScimRequestError {
    return new ScimRequestError("response", `SCIM ${request.route}${request.target ? ` (${request.target})` : ""} at ${baseURL} answered ${what}`, {
      hint: RESPONSE_HINT,
      ...(status === undefined ? {} : { status }),
    });
  }

  /** A JSON object body, or a "response" error naming the request and endpoint (never the token). */
  function objectBody(response: FetchResponse<unknown>, request: RequestLabel): Record<string, unknown> {
    const data = response._data;
    if (typeof data === "object" && data !== null && !Array.isArray(data)) return data as Record<string, unknown>;
    const scrub = (text: string) => text.split(token).join("[redacted]");
    throw unexpected(request, `${response.status} with ${describeAnswer(data, response.headers.get("content-type"), scrub)}, not SCIM JSON`, response.status);
  }

  /**
   * Cursor pagination (§4.1): the first request carries an empty `cursor` (written bare, as in
   * the AWS example `?cursor`), the next ones `cursor=<nextCursor>` with the same filter. Stops
   * only when nextCursor is absent: a short page does not mean the last one.
   */
  async function listAll(collection: "Users" | "Groups", filter?: string, target?: string): Promise<unknown[]> {
    const out: unknown[] = [];
    const seen = new Set<string>();
    let cursor = "";
    for (;;) {
      const query = [cursor === "" ? "cursor" : `cursor=${encodeURIComponent(cursor)}`, `count=${PAGE_SIZE}`];
      if (filter !== undefined) query.push(`filter=${encodeURIComponent(filter)}`);
      const request: Request = { method: "GET", route: `GET /${collection}`, path: `/${collection}?${query.join("&")}`, ...(target ? { target } : {}) };
      const page = listPage(await send(request), request);
      out.push(...page.Resources);
      const next = page.nextCursor;
      if (typeof next !== "string" || next === "") return out;
      if (seen.has(next)) throw unexpected(request, `the cursor ${next} twice; stopping to avoid an endless listing`);
      seen.add(next);
      cursor = next;
    }
  }

  /** One filtered GET (legacy mode, §4.2): enough for lookups by unique attributes. */
  async function findOne(collection: "Users" | "Groups", attribute: string, value: string): Promise<unknown> {
    const filter = eqFilter(attribute, value);
    const request: Request = { method: "GET", route: `GET /${collection}`, path: `/${collection}?filter=${encodeURIComponent(filter)}`, target: filter };
    return listPage(await send(request), request).Resources[0];
  }

  /**
   * A ListResponse (§4): `Resources` an array, or absent on an empty page (AWS leaves it out).
   * Anything else, e.g. `Resources` as a string or a JSON body that is no ListResponse at all, is
   * an endpoint that does not speak SCIM: taking it as "no users" would plan creating everyone.
   */
  function listPage(response: FetchResponse<unknown>, request: RequestLabel): { Resources: unknown[]; nextCursor?: unknown } {
    const page = objectBody(response, request);
    if (Array.isArray(page.Resources)) return { ...page, Resources: page.Resources };
    if (page.Resources !== undefined && page.Resources !== null) {
      throw unexpected(request, `${response.status} with a ListResponse whose "Resources" is a ${typeof page.Resources}, not an array`, response.status);
    }
    const schemas = Array.isArray(page.schemas) ? page.schemas : [];
    if (!schemas.includes(LIST_RESPONSE_SCHEMA) && typeof page.totalResults !== "number") {
      throw unexpected(request, `${response.status} with ${describeAnswer(page, response.headers.get("content-type"))} (no ListResponse schema, no Resources), not a SCIM list`, response.status);
    }
    return { ...page, Resources: [] };
  }

  function readUser(resource: unknown, request: string): TenantUser {
    const user = userFromScim(resource);
    if (!user) throw new ScimRequestError("response", `SCIM ${request} at ${baseURL}: a user without an id in the answer`, { hint: RESPONSE_HINT });
    return user;
  }

  function readGroup(resource: unknown, request: string): TenantGroup {
    const group = groupFromScim(resource);
    if (!group) throw new ScimRequestError("response", `SCIM ${request} at ${baseURL}: a group without an id in the answer`, { hint: RESPONSE_HINT });
    return group;
  }

  /** Creates, and if the only obstacle is a 409 after an attempt that may have succeeded, finds what that attempt made. */
  async function create(request: Request, recover: () => Promise<string | undefined>): Promise<string> {
    // A retried POST whose first answer was lost meets its own resource: 409 (§9 reports such
    // "spurious 409s after retries"). Only then is the 409 resolved by looking up the externalId.
    let ambiguous = false;
    try {
      const response = await send(request, (failure) => {
        if (isAmbiguous(failure)) ambiguous = true;
      });
      const id = objectBody(response, request).id;
      if (typeof id !== "string" || id === "") throw unexpected(request, `${response.status} without the new resource's id`, response.status);
      return id;
    } catch (error) {
      if (ambiguous && error instanceof ScimRequestError && error.kind === "conflict") {
        const id = await recover();
        if (id !== undefined) {
          log?.debug(`SCIM ${request.route} (${request.target}): 409 after a lost answer; found the resource made by the earlier attempt: ${id}`);
          return id;
        }
      }
      throw error;
    }
  }

  async function remove(collection: "Users" | "Groups", id: string): Promise<void> {
    try {
      await send({ method: "DELETE", route: `DELETE /${collection}/{id}`, path: `/${collection}/${encodeURIComponent(id)}`, target: id });
    } catch (error) {
      // Already gone (deleted by hand, or an earlier attempt whose answer was lost): the goal is met.
      if (error instanceof ScimRequestError && error.kind === "notFound") {
        alreadyDeleted++;
        log?.debug(`SCIM DELETE /${collection}/{id} (${id}): already gone (404)`);
        return;
      }
      throw error;
    }
  }

  async function patchGroup(id: string, operations: PatchOperation[]): Promise<void> {
    // PatchGroup answers 204 with no body (§6.3): nothing is parsed.
    await send({
      method: "PATCH",
      route: "PATCH /Groups/{id}",
      path: `/Groups/${encodeURIComponent(id)}`,
      target: id,
      body: { schemas: [PATCH_OP_SCHEMA], Operations: operations },
    });
  }

  async function changeMembers(op: "add" | "remove", groupScimId: string, userScimIds: string[]): Promise<void> {
    if (userScimIds.length > MAX_MEMBERS_PER_REQUEST) {
      throw new RangeError(`${op}Members: ${userScimIds.length} members in one call; AWS accepts at most ${MAX_MEMBERS_PER_REQUEST} membership changes per PatchGroup (split them)`);
    }
    if (userScimIds.length === 0) return;
    await patchGroup(groupScimId, [{ op, path: "members", value: userScimIds.map((value) => ({ value })) }]);
  }

  async function findUser(by: { externalId?: string; userName?: string }): Promise<TenantUser | undefined> {
    const [attribute, value] = by.externalId !== undefined ? ["externalId", by.externalId] : by.userName !== undefined ? ["userName", by.userName] : [];
    if (attribute === undefined || value === undefined) throw new TypeError("findUser needs externalId or userName");
    const found = await findOne("Users", attribute, value);
    return found === undefined ? undefined : readUser(found, "GET /Users");
  }

  async function findGroup(by: { externalId?: string; displayName?: string }): Promise<TenantGroup | undefined> {
    const [attribute, value] =
      by.externalId !== undefined ? ["externalId", by.externalId] : by.displayName !== undefined ? ["displayName", by.displayName] : [];
    if (attribute === undefined || value === undefined) throw new TypeError("findGroup needs externalId or displayName");
    const found = await findOne("Groups", attribute, value);
    return found === undefined ? undefined : readGroup(found, "GET /Groups");
  }

  /** GetUser/GetGroup by SCIM id; `undefined` when AWS answers 404 (deleted, by hand or otherwise). */
  async function getOne(collection: "Users" | "Groups", id: string): Promise<unknown> {
    const request: Request = { method: "GET", route: `GET /${collection}/{id}`, path: `/${collection}/${encodeURIComponent(id)}`, target: id };
    try {
      return objectBody(await send(request), request);
    } catch (error) {
      if (error instanceof ScimRequestError && error.kind === "notFound") return undefined;
      throw error;
    }
  }

  return {
    async serviceProviderConfig() {
      const request: Request = { method: "GET", route: "GET /ServiceProviderConfig", path: "/ServiceProviderConfig" };
      return objectBody(await send(request), request);
    },

    async listUsers() {
      return (await listAll("Users")).map((r) => readUser(r, "GET /Users"));
    },

    async listGroups() {
      return (await listAll("Groups")).map((r) => readGroup(r, "GET /Groups"));
    },

    async listGroupMembers(groupScimId) {
      // GetGroup/ListGroups never return members (§6.2): ask for the users in the group instead.
      const users = await listAll("Users", eqFilter("groups.value", groupScimId), `members of ${groupScimId}`);
      return users.map((r) => readUser(r, "GET /Users").scimId);
    },

    findUser,
    findGroup,

    async getUser(scimId) {
      const found = await getOne("Users", scimId);
      return found === undefined ? undefined : readUser(found, "GET /Users/{id}");
    },

    async getGroup(scimId) {
      const found = await getOne("Groups", scimId);
      return found === undefined ? undefined : readGroup(found, "GET /Groups/{id}");
    },

    async createUser(externalId: string, attributes: UserAttributes, managerScimId?: string) {
      return create(
        { method: "POST", route: "POST /Users", path: "/Users", target: `externalId ${JSON.stringify(externalId)}`, body: userToScim(externalId, attributes, managerScimId) },
        async () => (await findUser({ externalId }))?.scimId,
      );
    },

    async updateUser(scimId: string, change: UserChange) {
      const operations = userPatchOperations(change);
      if (operations.length === 0) return;
      await send({
        method: "PATCH",
        route: "PATCH /Users/{id}",
        path: `/Users/${encodeURIComponent(scimId)}`,
        target: scimId,
        body: { schemas: [PATCH_OP_SCHEMA], Operations: operations },
      });
    },

    deleteUser: (scimId) => remove("Users", scimId),

    async createGroup(externalId, displayName, memberScimIds) {
      if (memberScimIds.length > MAX_MEMBERS_PER_REQUEST) {
        throw new RangeError(`createGroup: ${memberScimIds.length} members; AWS accepts at most ${MAX_MEMBERS_PER_REQUEST} in CreateGroup (add the rest with addMembers)`);
      }
      const body: Record<string, unknown> = { schemas: [GROUP_SCHEMA], displayName, externalId };
      if (memberScimIds.length > 0) body.members = memberScimIds.map((value) => ({ value }));
      return create(
        { method: "POST", route: "POST /Groups", path: "/Groups", target: `externalId ${JSON.stringify(externalId)}`, body },
        async () => (await findGroup({ externalId }))?.scimId,
      );
    },

    async updateGroup(scimId, change: GroupChange) {
      const operations: PatchOperation[] = [];
      if (change.displayName !== undefined) operations.push({ op: "replace", path: "displayName", value: change.displayName });
      if (change.externalId !== undefined) operations.push({ op: "replace", path: "externalId", value: change.externalId });
      if (operations.length > 0) await patchGroup(scimId, operations);
    },

    addMembers: (groupScimId, userScimIds) => changeMembers("add", groupScimId, userScimIds),
    removeMembers: (groupScimId, userScimIds) => changeMembers("remove", groupScimId, userScimIds),
    deleteGroup: (scimId) => remove("Groups", scimId),

    stats() {
      const r = rate.stats();
      return { byRoute: { ...byRoute }, total, retries: r.retries, throttled: r.throttled, alreadyDeleted };
    },
  };
}

/** Reads a group; members are never returned by AWS (§6.2), so `memberScimIds` stays undefined. */
export function groupFromScim(resource: unknown): TenantGroup | undefined {
  if (typeof resource !== "object" || resource === null) return undefined;
  const r = resource as Record<string, unknown>;
  if (typeof r.id !== "string" || r.id === "") return undefined;
  const group: TenantGroup = { scimId: r.id, displayName: typeof r.displayName === "string" ? r.displayName : "" };
  if (typeof r.externalId === "string" && r.externalId !== "") group.externalId = r.externalId;
  return group;
}

function checkEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new SyncError("CONFIG_INVALID", `aws.scim_endpoint is not a URL: ${JSON.stringify(endpoint)}`, {
      hint: "copy the SCIM endpoint from the IAM Identity Center console (Settings > Automatic provisioning), e.g. https://scim.us-east-1.amazonaws.com/<tenant>/scim/v2/",
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new SyncError("CONFIG_INVALID", `aws.scim_endpoint must be an https URL, got ${url.protocol}`, { hint: "use the https SCIM endpoint shown in the IAM Identity Center console" });
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new SyncError("CONFIG_INVALID", "aws.scim_endpoint must not carry a query, fragment or credentials", { hint: "use the SCIM endpoint exactly as the IAM Identity Center console shows it" });
  }
  return endpoint;
}
