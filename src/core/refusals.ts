/**
 * @module The stops a run makes on its own rules, as values: which rule, the counts, the limit and
 * the setting's value, the first names. No flag, key or env variable is named here: the shells
 * word these (src/shell/messages.ts) from the option table.
 */

/** `sync.max_deletes` and `sync.max_membership_removals`: a share of what the tool manages ("25%") or a count ("50"). */
export type DeleteLimit = { percent: number } | { count: number };

export interface RemovalCount {
  /** Deletions plus deactivations (both take access away), or membership removals. */
  count: number;
  /** What the tool manages once this run's creates and adoptions are counted: the base of a percentage. */
  managed: number;
  /** The most removals allowed. */
  limit: number;
  /** The first removals' names, at most 10. */
  names: string[];
}

/** A removal rail broken: more users or groups (max_deletes), or memberships (max_membership_removals), than allowed. */
export interface RemovalRefusal extends RemovalCount {
  rule: "max_deletes" | "max_membership_removals";
  /** Users deleted or deactivated, groups deleted, or memberships removed. */
  what: "users" | "groups" | "memberships";
  /** The setting's value the limit was computed from. */
  setting: DeleteLimit;
}

/** The source returned no groups, or no users, while the state manages some. */
export interface EmptySourceRefusal {
  rule: "empty_source";
  what: "groups" | "users";
  /** How many of them the state manages. */
  managed: number;
}

export type Refusal = RemovalRefusal | EmptySourceRefusal;

/** What a run would take away, against each limit: the counts the safety rails judge. */
export interface RemovalCounts {
  users: RemovalCount;
  groups: RemovalCount;
  memberships: RemovalCount;
}

/** Why a run stopped before any write; a SyncError carries it as `detail` (SAFETY_REFUSED, DEADLINE). */
export type StopDetail =
  /** The whole verdict: the rules broken, those allowed for this run, and the counts (for `sync --output json`). */
  | { kind: "refused"; refusals: readonly Refusal[]; overridden: readonly Refusal[]; counts: RemovalCounts }
  /** The time budget ran out during the reads, before any write. */
  | { kind: "deadline"; phase: "reads" }
  /** A stop asked from outside (SIGTERM, Ctrl-C: the AbortSignal's reason) came during the reads, before any write. */
  | { kind: "stopped"; phase: "reads"; by: string };
