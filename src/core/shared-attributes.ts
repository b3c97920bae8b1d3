/**
 * @module One copy of each user's attributes where the source, the tenant and the state agree.
 * A run holds the state's records, the source's users and (on a full read) AWS's users, each with
 * its own attributes: three copies of 200,000 users, nearly all equal on a run with little to do.
 * Where a read user's attributes are identical to the record's, the read user takes the record's
 * object and its own is dropped. Nothing changes an attributes object once made (handlers replace
 * a record, the planner builds new values), so sharing one cannot leak a change from one into another.
 */
import type { SyncState, TenantUser, UserAttributes } from "../model/index.ts";
import type { SourceSnapshot, SourceUser } from "./ports.ts";

/**
 * Exactly equal, key for key (not the planner's "" = absent rule): `b` may then stand for `a`
 * anywhere, in a request body as in a comparison. `skip` is a key left out of the comparison.
 */
export function identical(a: unknown, b: unknown, skip?: string): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let count = 0;
  for (const key in left) {
    if (key === skip || left[key] === undefined) continue;
    if (!identical(left[key], right[key])) return false;
    count++;
  }
  for (const key in right) if (key !== skip && right[key] !== undefined) count--;
  return count === 0;
}

/** The source's users, each taking its record's attributes where the two are identical. */
export function sourceSharingState(source: SourceSnapshot, state: SyncState): SourceSnapshot {
  let shared = 0;
  const users = source.users.map((user): SourceUser => {
    const recorded = state.users[user.sourceId]?.attributes;
    if (recorded === undefined || recorded === user.attributes || !identical(user.attributes, recorded)) return user;
    shared++;
    return { ...user, attributes: recorded };
  });
  return shared === 0 ? source : { ...source, users };
}

/**
 * For a full read of the tenant: each user AWS answers takes the attributes it is identical to,
 * its record's (the one its externalId keys, naming its SCIM id) or else the source user's its
 * externalId names (a first run, adopting). A record whose user carries another externalId is
 * not this tool's (match.ts), so nothing is lost by not finding it. A tenant user's
 * `managerSourceId` is never read (see TenantUser), so it is not compared. No index of the
 * records is built, and the source's only when a user has no record (adoption): a full read
 * holds every tenant user already, at the peak of a reconcile's memory.
 */
export function tenantUserSharing(source: SourceSnapshot, state: SyncState): (user: TenantUser) => TenantUser {
  let sourceById: Map<string, UserAttributes> | undefined;
  const sourceAttributes = (sourceId: string) => {
    if (sourceById === undefined) {
      sourceById = new Map();
      for (const user of source.users) sourceById.set(user.sourceId, user.attributes);
    }
    return sourceById.get(sourceId);
  };
  return (user) => {
    if (user.externalId === undefined) return user;
    const record = Object.hasOwn(state.users, user.externalId) ? state.users[user.externalId] : undefined;
    const ours = record !== undefined && record.scimId === user.scimId;
    const candidate = ours ? record.attributes : sourceAttributes(user.externalId);
    if (candidate === undefined || !identical(user.attributes, candidate, "managerSourceId")) return user;
    // The record's SCIM id string too (the same id): the members read next are interned to it, 1,000,000 of them.
    return { ...user, scimId: ours ? record.scimId : user.scimId, attributes: candidate };
  };
}
