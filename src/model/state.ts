/**
 * @module The state file: which SCIM resources this tool manages, what it last wrote to them,
 * and when it last read the whole tenant. Versioned so later releases can migrate it.
 */
import type { UserAttributes } from "./user.ts";

/**
 * 2: version 1 without the per-entry SHA-256 `hash` (nothing read it, and hashing 200,000 entries
 * made every save slow). 3: version 2 with `pendingUserCreates` (a run cut short says which users
 * it left to create). 4: the same content in a compact file (users as rows under one column header,
 * group members as the index of their user's row; src/core/state.ts). A version-1, -2 or -3 state
 * is read as version 4 and saved as version 4 by the first run that changes something (a run with
 * nothing to do leaves the file as it is); an earlier release refuses version 4 rather than misread it.
 * Only the file differs between versions 3 and 4; this in-memory shape is the same.
 */
export const STATE_SCHEMA_VERSION = 4;

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
