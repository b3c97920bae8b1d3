/**
 * @module The state file: which SCIM resources this tool manages, what it last wrote to them,
 * and when it last read the whole tenant. Versioned so later releases can migrate it.
 */
import type { UserAttributes } from "./user.ts";

/**
 * 2: version 1 without the per-entry SHA-256 `hash` (nothing read it, and hashing 200,000 entries
 * made every save slow). 3: version 2 with `pendingUserCreates` (a run cut short says which users
 * it left to create). A version-1 or -2 state is read as version 3 (with nothing pending) and saved
 * as version 3: an earlier release refuses it rather than ignore what is pending.
 */
export const STATE_SCHEMA_VERSION = 3;

export interface ManagedUser {
  scimId: string;
  /** The attributes last written to AWS; the next run diffs against them without reading AWS. */
  attributes: UserAttributes;
}

export interface ManagedGroup {
  scimId: string;
  displayName: string;
  /** Source ids of the members last written to AWS, sorted. */
  memberSourceIds: string[];
}

export interface SyncState {
  schemaVersion: typeof STATE_SCHEMA_VERSION;
  /** ISO-8601 time of the last complete read of the tenant (drift repair); absent before the first. */
  lastFullReadAt?: string;
  /** ISO-8601 time this state was last written. */
  updatedAt?: string;
  /**
   * Source ids, sorted, of the users the last run planned to create but did not start (its time
   * budget or a stop came first); absent when none. The next run creates those while the rest of
   * its source read is still going (src/core/head-start.ts). An id the state's `users` holds is done.
   */
  pendingUserCreates?: string[];
  /** Keyed by source id (Google id = SCIM externalId). */
  users: Record<string, ManagedUser>;
  groups: Record<string, ManagedGroup>;
}

export function emptyState(): SyncState {
  return { schemaVersion: STATE_SCHEMA_VERSION, users: {}, groups: {} };
}
