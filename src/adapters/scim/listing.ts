/** @module SCIM reads in AWS's dialect: cursor listings, filtered lookups and GETs by id, and the users and groups they answer (docs/aws-scim.md; § cites its sections). */
import type { FetchResponse } from "ofetch";
import { ScimRequestError } from "../../core/errors.ts";
import type { TenantGroup, TenantUser } from "../../model/index.ts";
import { describeAnswer } from "../http-answer.ts";
import { objectBody, unexpected, type ScimConnection, type ScimRequest } from "./connection.ts";
import { RESPONSE_HINT, type RequestLabel } from "./errors.ts";
import { eqFilter } from "./filter.ts";
import { scimIdOf, userFromScim } from "./user-mapping.ts";

const LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/** cursor pages hold at most 100 (§4.1); members per CreateGroup/PatchGroup have their own cap, MAX_MEMBERS_PER_REQUEST. */
const PAGE_SIZE = 100;

/**
 * Cursor pagination (§4.1): the first request carries an empty `cursor` (written bare, as in
 * the AWS example `?cursor`), the next ones `cursor=<nextCursor>` with the same filter. Stops
 * only when nextCursor is absent: a short page does not mean the last one. Each page is mapped
 * as it arrives and its raw resources dropped: at 200,000 users the raw listing alone would be
 * several hundred MB, and a group's member listing needs only each user's id.
 */
export async function listAll<T>(conn: ScimConnection, collection: "Users" | "Groups", map: (raw: unknown) => T, filter?: string, target?: string): Promise<T[]> {
  const out: T[] = [];
  const seen = new Set<string>();
  let cursor = "";
  for (;;) {
    const query = [cursor === "" ? "cursor" : `cursor=${encodeURIComponent(cursor)}`, `count=${PAGE_SIZE}`];
    if (filter !== undefined) query.push(`filter=${encodeURIComponent(filter)}`);
    const request: ScimRequest = { method: "GET", route: `GET /${collection}`, path: `/${collection}?${query.join("&")}`, ...(target ? { target } : {}) };
    const page = listPage(conn, await conn.send(request), request);
    for (const resource of page.Resources) out.push(map(resource));
    const next = page.nextCursor;
    if (typeof next !== "string" || next === "") return out;
    if (seen.has(next)) throw unexpected(conn, request, `the cursor ${next} twice; stopping to avoid an endless listing`);
    seen.add(next);
    cursor = next;
  }
}

/** One filtered GET (legacy mode, §4.2): enough for lookups by unique attributes. */
async function findOne(conn: ScimConnection, collection: "Users" | "Groups", attribute: string, value: string): Promise<unknown> {
  const filter = eqFilter(attribute, value);
  const request: ScimRequest = { method: "GET", route: `GET /${collection}`, path: `/${collection}?filter=${encodeURIComponent(filter)}`, target: filter };
  return listPage(conn, await conn.send(request), request).Resources[0];
}

/**
 * A ListResponse (§4): `Resources` an array, or absent on an empty page (AWS leaves it out).
 * Anything else, e.g. `Resources` as a string or a JSON body that is no ListResponse at all, is
 * an endpoint that does not speak SCIM: taking it as "no users" would plan creating everyone.
 */
export function listPage(conn: ScimConnection, response: FetchResponse<unknown>, request: RequestLabel): { Resources: unknown[]; nextCursor?: unknown } {
  const page = objectBody(conn, response, request);
  if (Array.isArray(page.Resources)) return { ...page, Resources: page.Resources };
  if (page.Resources !== undefined && page.Resources !== null) {
    throw unexpected(conn, request, `${response.status} with a ListResponse whose "Resources" is a ${typeof page.Resources}, not an array`, response.status);
  }
  const schemas = Array.isArray(page.schemas) ? page.schemas : [];
  if (!schemas.includes(LIST_RESPONSE_SCHEMA) && typeof page.totalResults !== "number") {
    throw unexpected(conn, request, `${response.status} with ${describeAnswer(page, response.headers.get("content-type"))} (no ListResponse schema, no Resources), not a SCIM list`, response.status);
  }
  return { ...page, Resources: [] };
}

/** GetUser/GetGroup by SCIM id; `undefined` when AWS answers 404 (deleted, by hand or otherwise). */
export async function getOne(conn: ScimConnection, collection: "Users" | "Groups", id: string): Promise<unknown> {
  const request: ScimRequest = { method: "GET", route: `GET /${collection}/{id}`, path: `/${collection}/${encodeURIComponent(id)}`, target: id };
  try {
    return objectBody(conn, await conn.send(request), request);
  } catch (error) {
    if (error instanceof ScimRequestError && error.kind === "notFound") return undefined;
    throw error;
  }
}

export function readUser(conn: ScimConnection, resource: unknown, request: string): TenantUser {
  const user = userFromScim(resource);
  if (!user) throw new ScimRequestError("response", `SCIM ${request} at ${conn.baseURL}: a user without an id in the answer`, { hint: RESPONSE_HINT });
  return user;
}

/** Only the user's id: a group's member listing needs nothing else of each member. */
export function readUserId(conn: ScimConnection, resource: unknown, request: string): string {
  const id = scimIdOf(resource);
  if (id === undefined) throw new ScimRequestError("response", `SCIM ${request} at ${conn.baseURL}: a user without an id in the answer`, { hint: RESPONSE_HINT });
  return id;
}

export function readGroup(conn: ScimConnection, resource: unknown, request: string): TenantGroup {
  const group = groupFromScim(resource);
  if (!group) throw new ScimRequestError("response", `SCIM ${request} at ${conn.baseURL}: a group without an id in the answer`, { hint: RESPONSE_HINT });
  return group;
}

export async function findUser(conn: ScimConnection, by: { externalId?: string; userName?: string }): Promise<TenantUser | undefined> {
  const [attribute, value] = by.externalId !== undefined ? ["externalId", by.externalId] : by.userName !== undefined ? ["userName", by.userName] : [];
  if (attribute === undefined || value === undefined) throw new TypeError("findUser needs externalId or userName");
  const found = await findOne(conn, "Users", attribute, value);
  return found === undefined ? undefined : readUser(conn, found, "GET /Users");
}

export async function findGroup(conn: ScimConnection, by: { externalId?: string; displayName?: string }): Promise<TenantGroup | undefined> {
  const [attribute, value] =
    by.externalId !== undefined ? ["externalId", by.externalId] : by.displayName !== undefined ? ["displayName", by.displayName] : [];
  if (attribute === undefined || value === undefined) throw new TypeError("findGroup needs externalId or displayName");
  const found = await findOne(conn, "Groups", attribute, value);
  return found === undefined ? undefined : readGroup(conn, found, "GET /Groups");
}

/** Reads a group; members are never returned by AWS (§6.2), so `memberScimIds` stays undefined. */
function groupFromScim(resource: unknown): TenantGroup | undefined {
  if (typeof resource !== "object" || resource === null) return undefined;
  const r = resource as Record<string, unknown>;
  if (typeof r.id !== "string" || r.id === "") return undefined;
  const group: TenantGroup = { scimId: r.id, displayName: typeof r.displayName === "string" ? r.displayName : "" };
  if (typeof r.externalId === "string" && r.externalId !== "") group.externalId = r.externalId;
  return group;
}
