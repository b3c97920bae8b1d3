/**
 * @module The state file's rules: parse and check it, serialise it canonically with a SHA-256 per
 * resource, and read it as the tenant it describes (so a run with nothing to do reads no SCIM).
 */
import type { ManagedGroup, ManagedUser, SyncState, TenantSnapshot, UserAttributes } from "../model/index.ts";
import { STATE_SCHEMA_VERSION } from "../model/index.ts";
import { SyncError } from "./errors.ts";
import { canonicalJson } from "./plan.ts";

/** The tenant as the state says it is: only managed resources, with what was last written. */
export function tenantFromState(state: SyncState): TenantSnapshot {
  const scimIdOf = (sourceId: string) => state.users[sourceId]?.scimId;
  return {
    users: Object.entries(state.users).map(([sourceId, managed]) => {
      const { managerSourceId, ...attributes } = managed.attributes;
      const managerScimId = managerSourceId === undefined ? undefined : scimIdOf(managerSourceId);
      return {
        scimId: managed.scimId,
        externalId: sourceId,
        attributes,
        ...(managerScimId !== undefined ? { managerScimId } : {}),
      };
    }),
    groups: Object.entries(state.groups).map(([sourceId, managed]) => ({
      scimId: managed.scimId,
      externalId: sourceId,
      displayName: managed.displayName,
      memberScimIds: managed.memberSourceIds.flatMap((id) => {
        const scimId = scimIdOf(id);
        return scimId === undefined ? [] : [scimId];
      }),
    })),
  };
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A state entry; its hash is filled in by `hashState` when the state is saved. Any change to an entry makes a new one (or clears its hash). */
export function managedUser(scimId: string, attributes: UserAttributes): ManagedUser {
  return { scimId, hash: "", attributes };
}

export function managedGroup(scimId: string, displayName: string, memberSourceIds: Iterable<string>): ManagedGroup {
  return { scimId, hash: "", displayName, memberSourceIds: [...new Set(memberSourceIds)].sort() };
}

/**
 * Fills each resource's SHA-256 over its canonical JSON. Done once per save rather than per
 * operation so the executor can update the working state synchronously (no interleaving).
 */
export async function hashState(state: SyncState): Promise<SyncState> {
  // Only entries written since the last save carry an empty hash: a large state (20,000 users)
  // is saved many times in a run, and rehashing every entry each time cost a second per save.
  const users: Record<string, ManagedUser> = {};
  const groups: Record<string, ManagedGroup> = {};
  for (const [id, u] of Object.entries(state.users)) users[id] = u.hash ? u : { ...u, hash: await sha256Hex(canonicalJson(u.attributes)) };
  for (const [id, g] of Object.entries(state.groups)) {
    groups[id] = g.hash ? g : { ...g, hash: await sha256Hex(canonicalJson({ displayName: g.displayName, members: g.memberSourceIds })) };
  }
  return { ...state, users, groups };
}

/** Canonical JSON text of the whole state (keys sorted), so equal states are byte-identical. */
export function serialiseState(state: SyncState): string {
  return `${canonicalJson(state)}\n`;
}

/**
 * Parses state text and checks its shape. A corrupt file or one of another schema version is a
 * configuration-level problem: running on a state we do not understand could delete things.
 */
export function parseState(text: string, where: string): SyncState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SyncError("STATE_INVALID", `state ${where} is not valid JSON (${(error as Error).message})`, {
      hint: "restore a previous version of the state, or move it away to start over (the next run re-adopts by externalId)",
    });
  }
  const bad = (what: string): never => {
    throw new SyncError("STATE_INVALID", `state ${where} is not an idpscim state: ${what}`, {
      hint: "restore a previous version of the state, or move it away to start over (the next run re-adopts by externalId)",
    });
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) bad("not a JSON object");
  const obj = json as Record<string, unknown>;
  if (obj.schemaVersion !== STATE_SCHEMA_VERSION) {
    if (typeof obj.schemaVersion === "number" && obj.schemaVersion > STATE_SCHEMA_VERSION) {
      throw new SyncError("STATE_INVALID", `state ${where} has schemaVersion ${obj.schemaVersion}, newer than this release understands (${STATE_SCHEMA_VERSION})`, {
        hint: "upgrade idpscim to the release that wrote it",
      });
    }
    bad(`schemaVersion is ${JSON.stringify(obj.schemaVersion)}, expected ${STATE_SCHEMA_VERSION}`);
  }
  const users = obj.users;
  const groups = obj.groups;
  if (typeof users !== "object" || users === null || Array.isArray(users)) bad("`users` is not an object");
  if (typeof groups !== "object" || groups === null || Array.isArray(groups)) bad("`groups` is not an object");
  for (const [id, u] of Object.entries(users as Record<string, unknown>)) {
    const user = u as Partial<ManagedUser> | null;
    if (!user || typeof user.scimId !== "string" || typeof user.attributes !== "object" || user.attributes === null) bad(`users["${id}"] lacks scimId or attributes`);
  }
  for (const [id, g] of Object.entries(groups as Record<string, unknown>)) {
    const group = g as Partial<ManagedGroup> | null;
    if (!group || typeof group.scimId !== "string" || typeof group.displayName !== "string" || !Array.isArray(group.memberSourceIds)) {
      bad(`groups["${id}"] lacks scimId, displayName or memberSourceIds`);
    }
  }
  if (obj.lastFullReadAt !== undefined && typeof obj.lastFullReadAt !== "string") bad("lastFullReadAt is not a string");
  return json as SyncState;
}
