/** @module SCIM writes in AWS's dialect: creates that survive a lost answer, idempotent deletes, group PATCHes (docs/aws-scim.md; § cites its sections). */
import { ScimRequestError } from "../../core/errors.ts";
import type { GroupChange, UserChange } from "../../core/ports.ts";
import { MAX_MEMBERS_PER_REQUEST, type UserAttributes } from "../../model/index.ts";
import { objectBody, unexpected, type ScimConnection, type ScimRequest } from "./connection.ts";
import { isAmbiguous } from "./errors.ts";
import { findGroup, findUser } from "./listing.ts";
import { PATCH_OP_SCHEMA, userPatchOperations, userToScim, type PatchOperation } from "./user-mapping.ts";

const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";

export async function createUser(conn: ScimConnection, externalId: string, attributes: UserAttributes, managerScimId?: string): Promise<string> {
  return create(
    conn,
    { method: "POST", route: "POST /Users", path: "/Users", target: `externalId ${JSON.stringify(externalId)}`, body: userToScim(externalId, attributes, managerScimId) },
    async () => (await findUser(conn, { externalId }))?.scimId,
  );
}

export async function updateUser(conn: ScimConnection, scimId: string, change: UserChange): Promise<void> {
  const operations = userPatchOperations(change);
  if (operations.length === 0) return;
  await conn.send({
    method: "PATCH",
    route: "PATCH /Users/{id}",
    path: `/Users/${encodeURIComponent(scimId)}`,
    target: scimId,
    body: { schemas: [PATCH_OP_SCHEMA], Operations: operations },
  });
}

export async function createGroup(conn: ScimConnection, externalId: string, displayName: string, memberScimIds: string[]): Promise<string> {
  if (memberScimIds.length > MAX_MEMBERS_PER_REQUEST) {
    throw new RangeError(`createGroup: ${memberScimIds.length} members; AWS accepts at most ${MAX_MEMBERS_PER_REQUEST} in CreateGroup (add the rest with addMembers)`);
  }
  const body: Record<string, unknown> = { schemas: [GROUP_SCHEMA], displayName, externalId };
  if (memberScimIds.length > 0) body.members = memberScimIds.map((value) => ({ value }));
  return create(
    conn,
    { method: "POST", route: "POST /Groups", path: "/Groups", target: `externalId ${JSON.stringify(externalId)}`, body },
    async () => (await findGroup(conn, { externalId }))?.scimId,
  );
}

export async function updateGroup(conn: ScimConnection, scimId: string, change: GroupChange): Promise<void> {
  const operations: PatchOperation[] = [];
  if (change.displayName !== undefined) operations.push({ op: "replace", path: "displayName", value: change.displayName });
  if (change.externalId !== undefined) operations.push({ op: "replace", path: "externalId", value: change.externalId });
  if (operations.length > 0) await patchGroup(conn, scimId, operations);
}

/** Creates, and if the only obstacle is a 409 after an attempt that may have succeeded, finds what that attempt made. */
async function create(conn: ScimConnection, request: ScimRequest, recover: () => Promise<string | undefined>): Promise<string> {
  // A retried POST whose first answer was lost meets its own resource: 409 (§9 reports such
  // "spurious 409s after retries"). Only then is the 409 resolved by looking up the externalId.
  let ambiguous = false;
  try {
    const response = await conn.send(request, (failure) => {
      if (isAmbiguous(failure)) ambiguous = true;
    });
    const id = objectBody(conn, response, request).id;
    if (typeof id !== "string" || id === "") throw unexpected(conn, request, `${response.status} without the new resource's id`, response.status);
    return id;
  } catch (error) {
    if (ambiguous && error instanceof ScimRequestError && error.kind === "conflict") {
      const id = await recover();
      if (id !== undefined) {
        conn.log?.debug(`SCIM ${request.route} (${request.target}): 409 after a lost answer; found the resource made by the earlier attempt: ${id}`);
        return id;
      }
    }
    throw error;
  }
}

export async function remove(conn: ScimConnection, collection: "Users" | "Groups", id: string): Promise<void> {
  try {
    await conn.send({ method: "DELETE", route: `DELETE /${collection}/{id}`, path: `/${collection}/${encodeURIComponent(id)}`, target: id });
  } catch (error) {
    // Already gone (deleted by hand, or an earlier attempt whose answer was lost): the goal is met.
    if (error instanceof ScimRequestError && error.kind === "notFound") {
      conn.counts.alreadyDeleted++;
      conn.log?.debug(`SCIM DELETE /${collection}/{id} (${id}): already gone (404)`);
      return;
    }
    throw error;
  }
}

async function patchGroup(conn: ScimConnection, id: string, operations: PatchOperation[]): Promise<void> {
  // PatchGroup answers 204 with no body (§6.3): nothing is parsed.
  await conn.send({
    method: "PATCH",
    route: "PATCH /Groups/{id}",
    path: `/Groups/${encodeURIComponent(id)}`,
    target: id,
    body: { schemas: [PATCH_OP_SCHEMA], Operations: operations },
  });
}

export async function changeMembers(conn: ScimConnection, op: "add" | "remove", groupScimId: string, userScimIds: string[]): Promise<void> {
  if (userScimIds.length > MAX_MEMBERS_PER_REQUEST) {
    throw new RangeError(`${op}Members: ${userScimIds.length} members in one call; AWS accepts at most ${MAX_MEMBERS_PER_REQUEST} membership changes per PatchGroup (split them)`);
  }
  if (userScimIds.length === 0) return;
  await patchGroup(conn, groupScimId, [{ op, path: "members", value: userScimIds.map((value) => ({ value })) }]);
}
