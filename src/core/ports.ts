/**
 * @module Ports: what the core needs from the outside world. Adapters implement them;
 * `compose.ts` wires them. No SDK type crosses these interfaces.
 */
import type { DesiredGroup, DesiredUser, SyncState, TenantGroup, TenantUser, UserAttributes } from "../model/index.ts";

/** A user read from the source: the desired attributes plus what the suspension policy needs. */
export interface SourceUser extends DesiredUser {
  suspended: boolean;
  /**
   * The id another tool keyed this user by in AWS (its externalId there), when the source is told
   * of one (ldap.rekey_users_from): an AWS user carrying it is this user, taken over and given
   * `sourceId` as its externalId (see core/match.ts).
   */
  formerId?: string;
}

export interface SourceSnapshot {
  users: SourceUser[];
  groups: DesiredGroup[];
  /** Things skipped on purpose (external members, ...), one line each. */
  warnings: string[];
  /**
   * Records AWS would refuse as they are (an identity too long or with control characters), taken
   * out of `users`/`groups`: the planner leaves what AWS holds for them as it is (never deleted
   * for it) and the run reports each as a failed record.
   */
  rejected?: RejectedRecord[];
}

export interface RejectedRecord {
  kind: "user" | "group";
  sourceId: string;
  /** The user's email or the group's name, escaped and shortened for messages. */
  subject: string;
  reason: string;
}

export interface DirectorySource {
  /**
   * Reads every in-scope group, its derived members and those users. Throws on any failed
   * request after retries: a partial read is never returned, so it is never taken as the truth.
   */
  read(headStart?: HeadStart, recorded?: RecordedAttributes): Promise<SourceSnapshot>;
  /**
   * Reads only what `sync --user` / `--group` need (src/core/targeted.ts): each named user and
   * whether it is in scope, with the in-scope groups it is a derived member of; each named group
   * and whether it is in scope, with its derived members and those users. Absent (LDAP): the core
   * cuts a full `read` down to the targets (targetsFromSnapshot). Throws on a failed request, as `read` does.
   */
  readTargets?(targets: SyncTargets, known?: KnownRecords): Promise<TargetedRead>;
}

/**
 * A run continuing a cut-short one (src/core/head-start.ts): the users the last run had in scope
 * are read first, so the users it left to create are created while the rest of the read (the
 * groups' members, the bulk of it) goes on. A source may ignore it (LDAP: its read is fast) and
 * read as always; the snapshot `read` returns is the truth either way.
 */
/**
 * The attributes the state records for a source id, for a read to share: a user read exactly as
 * recorded (its manager aside, where the source resolves managers once every user is read) takes
 * the record's object and its own copy is dropped as soon as it is mapped, not held through the
 * whole read (at 200,000 users, a second copy of every user at the peak of a run with nothing to
 * do). The record's object is never changed: a manager that differs makes a copy.
 */
export type RecordedAttributes = (sourceId: string) => UserAttributes | undefined;

export interface HeadStart {
  /** Source ids of the users the last run had in scope: the state's users and those it left to create. */
  knownIds: ReadonlySet<string>;
  /**
   * Called at most once, before the read goes on, with the source's fresh records of the known
   * users it still holds (managers resolved among them; a deleted one is absent, a suspended one
   * says so). Never changed afterwards: the records `read` returns are others where they differ.
   */
  onUsers(users: SourceUser[]): void;
}

/**
 * What the state knows, for a targeted read: the managed users' source ids by email (lower case),
 * which resolve managers without a request, and the managed groups' by name. A name the source
 * no longer knows is asked again by the id the state holds for it: a user whose email changed, or
 * a group renamed, must never be taken for one deleted.
 */
export interface KnownRecords {
  userIdByEmail: ReadonlyMap<string, string>;
  groupIdByName: ReadonlyMap<string, string>;
}

/** What `sync --user EMAIL` and `--group EMAIL-OR-NAME` name, as given (repeatable). */
export interface SyncTargets {
  users: readonly string[];
  groups: readonly string[];
}

/** How the source answered for one name asked: unknown to it (no `sourceId`), or its id and whether it is in scope. */
export interface TargetAnswer {
  asked: string;
  sourceId?: string;
  inScope: boolean;
  /** Why it is not synced, when it is not in scope or unknown: the end of a sentence naming it ("is not a member of …"). */
  note?: string;
  /** The name is several records' (groups sharing a name): none is synced, and the state's record of that name is not taken for gone. */
  several?: boolean;
}

export interface TargetedRead {
  users: TargetAnswer[];
  groups: TargetAnswer[];
  /**
   * The records read: the named users in scope and the named groups' members (`users`); the
   * in-scope groups read (`groups`), each with the members this read knows: all of them for a
   * named group, only the named users for a group read because a named user is in it.
   */
  snapshot: SourceSnapshot;
}

/** A user change: attributes to set, and attribute names to clear. */
export interface UserChange {
  set: Partial<UserAttributes>;
  clear: (keyof UserAttributes)[];
  externalId?: string;
  /** SCIM id of the manager when `set.managerSourceId` is being set (the adapter writes ids, not source ids). */
  managerScimId?: string;
}

export interface GroupChange {
  displayName?: string;
  externalId?: string;
}

export interface RequestStats {
  /** Requests sent, by `METHOD route` (retries included). */
  byRoute: Record<string, number>;
  total: number;
  retries: number;
  throttled: number;
}

export interface ScimTarget {
  /** Every user; `each`, when given, maps each one as its page arrives (a large tenant is never held twice). */
  listUsers(each?: (user: TenantUser) => TenantUser): Promise<TenantUser[]>;
  /** Groups without members (AWS never returns them with the group). */
  listGroups(): Promise<TenantGroup[]>;
  /** SCIM ids of a group's members, read with the `groups.value` filter. */
  listGroupMembers(groupScimId: string): Promise<string[]>;
  /** SCIM ids of the groups a user is a member of, read with the `members.value` filter (`sync --user`). */
  listGroupsOfUser(userScimId: string): Promise<string[]>;
  findUser(by: { externalId?: string; userName?: string }): Promise<TenantUser | undefined>;
  findGroup(by: { externalId?: string; displayName?: string }): Promise<TenantGroup | undefined>;
  /** One user by SCIM id, as AWS holds it; `undefined` when it is gone. */
  getUser(scimId: string): Promise<TenantUser | undefined>;
  /** One group by SCIM id, without members; `undefined` when it is gone. */
  getGroup(scimId: string): Promise<TenantGroup | undefined>;
  createUser(externalId: string, attributes: UserAttributes, managerScimId?: string): Promise<string>;
  updateUser(scimId: string, change: UserChange): Promise<void>;
  deleteUser(scimId: string): Promise<void>;
  /** At most 100 members: AWS rejects more in one request. */
  createGroup(externalId: string, displayName: string, memberScimIds: string[]): Promise<string>;
  updateGroup(scimId: string, change: GroupChange): Promise<void>;
  /** At most 100 members per call. */
  addMembers(groupScimId: string, userScimIds: string[]): Promise<void>;
  removeMembers(groupScimId: string, userScimIds: string[]): Promise<void>;
  deleteGroup(scimId: string): Promise<void>;
  stats(): RequestStats;
  /**
   * The same target, calling `onWriteAttempt` as each attempt of a write request is sent (the
   * first and every retry): the audit trail says how many attempts each write took.
   */
  observed?(onWriteAttempt: () => void): ScimTarget;
}

export interface LoadedState {
  state: SyncState;
  /** Opaque version (S3 ETag, file hash) used for compare-and-swap on save. */
  version: string;
}

export interface StateStore {
  /** `undefined` when there is no state yet (first run). */
  load(): Promise<LoadedState | undefined>;
  /**
   * Writes only if the stored version is still `expectedVersion` (`undefined` = must not exist).
   * Returns the new version. Reads `state` (savedChunks) before its first await, so a caller
   * may change it as soon as the call returns: a run saves its working state, never a copy of it.
   */
  save(state: SyncState, expectedVersion: string | undefined): Promise<string>;
  /** Where the state lives, for messages (never a secret). */
  describe(): string;
  /**
   * Holds the state for a whole run, or throws STATE_CONFLICT when another run does, before
   * anything is read. Compare-and-swap saves alone would refuse a second writer only at its
   * first save, after its SCIM writes: two runs would create the same users twice.
   * A lock another run takes over (ours looked dead) makes the next `save` throw STATE_CONFLICT.
   */
  lockForRun?(log: Logger, options?: RunLockOptions): Promise<RunLock>;
  /**
   * Proves the state can be written without touching it (`doctor`): creates a probe object next
   * to the state the way the first save creates the state (a create that fails if it exists), then
   * removes it. Returns what it did, for the report; throws STATE_WRITE naming the permission or path.
   */
  probeWrite?(): Promise<string>;
}

export interface RunLockOptions {
  /**
   * Epoch ms by which the runtime ends this process whatever it does (a Lambda invocation's
   * deadline). Written in the lock: past it, the next run takes the lock over at once instead
   * of waiting for it to go stale.
   */
  endsBy?: number;
}

export interface RunLock {
  /** Gives the lock up (only if still ours); never throws. */
  release(): Promise<void>;
}

export interface SecretResolver {
  /** The secret's string value; throws SyncError SECRET_UNAVAILABLE naming the secret. */
  get(name: string): Promise<string>;
}

/** The log lines the core writes; the shell decides where they go and redacts secrets. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * One line of the audit trail (src/core/audit.ts builds them): a SCIM write and how AWS answered
 * it, or a refusal. Holds names, ids and the attributes written, never a credential.
 */
export interface AuditEvent {
  /** The marker a CloudWatch Logs Insights `filter audit = "idpscim"` selects the lines by. */
  audit: "idpscim";
  /** ISO 8601, when the write ended or the refusal was made. */
  time: string;
  /** The run's id: the summary line's `run …` (in Lambda, the invocation's request id). */
  run: string;
  /** The SCIM write (the ScimTarget method), or `refuseRun` / `refuseRecord` for a refusal. */
  operation: "createUser" | "updateUser" | "deleteUser" | "createGroup" | "updateGroup" | "deleteGroup" | "addMembers" | "removeMembers" | "refuseRun" | "refuseRecord";
  resource: "User" | "Group" | "Run";
  /** The plan's operation the write served, when it is not the same kind (an adoption after a 409). */
  planned?: string;
  /** Why the plan made it: deactivate, left-scope, suspended, unmanaged, rename, adopt, … */
  why?: string;
  scimId?: string;
  externalId?: string;
  /** The user's userName or the group's displayName. */
  name?: string;
  /** Attributes written, by name, with their new values. */
  changed?: Record<string, unknown>;
  /** Attributes removed. */
  cleared?: string[];
  /** Members added or removed (or given to a new group), with their userName when the run knows it. */
  members?: { scimId: string; userName?: string }[];
  /** ok: AWS accepted it; rejected: AWS answered with an error (`status`, `reason`); failed: no answer; refused: not sent, by the tool's own rules. */
  result: "ok" | "rejected" | "failed" | "refused" | "allowed";
  /** Requests sent for this write: more than 1 when it was retried (a 429, a 5xx, a lost answer). */
  attempts?: number;
  status?: number;
  reason?: string;
  /** A refused run: the rule broken and its figures. */
  rule?: string;
  count?: number;
  limit?: number;
  managed?: number;
  names?: string[];
}

/** Where the audit trail goes: a file (--audit-log) or, in Lambda, the log stream. Never throws. */
export interface AuditTrail {
  record(event: AuditEvent): void;
}
