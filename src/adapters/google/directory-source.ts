/** @module GoogleDirectorySource: reads in-scope groups, their derived members and the users in scope (those members, or gws.users_filter's matches) from the Admin SDK Directory API. */
// Only the Directory module, never the `googleapis` root: the root pulls in every Google API (bundle size).
import { admin_directory_v1 } from "googleapis/build/src/apis/admin/directory_v1.js";
import type { RetryOptions } from "../../core/retry.ts";
import type { DirectorySource, HeadStart, RecordedAttributes, SourceSnapshot, SourceUser } from "../../core/ports.ts";
import type { UserFieldName } from "../../model/index.ts";
import { GOOGLE_USER } from "../../mapping/presets/google.ts";
import type { UserMappingTable } from "../../mapping/table.ts";
import { desiredGroups, readGroups, readMembers, type MemberIndex } from "./groups.ts";
import { countRequest, createDirectoryPacer, formatRps, DEFAULT_RATE_LIMIT, DEFAULT_RETRY, type DirectoryContext, type DirectoryPacerOptions } from "./requests.ts";
import { createJwtClient, parseServiceAccountKey } from "./service-account.ts";
import {
  headStartUsers, readKnownUsers, readMatchingUsers, readUsers, readUsersAfter, sourceUsers, userReadSpec,
  type PriorUsers, type ReadUser, type UserFetchMode, type UserReadSpec,
} from "./users.ts";
import { Gaxios } from "gaxios";
import { createWorkloadIdentityClient, parseWorkloadIdentityConfig } from "./workload-identity.ts";

/** Keyless authentication (`gws.auth = "workload-identity"`, workload-identity.ts): no key anywhere. */
export interface WorkloadIdentitySettings {
  /** The credential configuration's JSON text (`gws.workload_identity_config`). */
  config: string;
  /** `gws.service_account_email`. */
  serviceAccountEmail: string;
  /** IAM Credentials API root (`gws.iam_credentials_url`). */
  iamCredentialsUrl?: string;
  /** Called with every secret the chain handles, for the logger's redaction. */
  onSecret?: (secret: string) => void;
}
import { readTargets } from "./targeted.ts";

export interface GoogleDirectorySourceOptions {
  /** The JSON text of the key file (never logged); unused with `workloadIdentity`. */
  serviceAccountKey: string;
  /** Set: tokens come from the keyless chain instead of the key. */
  workloadIdentity?: WorkloadIdentitySettings;
  /** The domain-wide delegation subject (`gws.user_email`). */
  adminEmail: string;
  /** groups.list `query` strings, ORed; [] = all groups. */
  groupsFilter: string[];
  /** users.list `query` strings, ORed (`gws.users_filter`); [] = no user filter. */
  usersFilter?: string[];
  /** `sync.method`: "groups" (default) syncs the groups' members; "users" every user `usersFilter` matches. */
  method?: "groups" | "users";
  userFields: ReadonlySet<UserFieldName>;
  /** How a Directory user maps to SCIM attributes; default GOOGLE_USER (with [mapping] laid over it by the shell). */
  userTable?: UserMappingTable;
  /** Default "my_customer". */
  customer?: string;
  /** Directory API root; default https://admin.googleapis.com. */
  apiUrl?: string;
  /** Token endpoint; default https://oauth2.googleapis.com/token. */
  tokenUrl?: string;
  /** Parallel members.list / users.get requests; default 8. */
  concurrency?: number;
  logger?: { debug(msg: string): void; info(msg: string): void; warn(msg: string): void };
  /** Default 6 attempts, 500 ms base, 30 s cap. */
  retry?: RetryOptions;
  /** Most Directory requests per second (`gws.rate_limit`); default 35 (DEFAULT_RATE_LIMIT). */
  rateLimit?: number;
  /** Injectable clock (tests): paces the requests and times the reads. */
  clock?: Pick<DirectoryPacerOptions, "now" | "sleep">;
}

export interface GoogleSourceStats {
  /** Requests sent since creation by Directory method (retries included), plus `token` requests. */
  requests: Record<string, number>;
  retries: number;
  /** Quota errors (403 userRateLimitExceeded or quotaExceeded, 429 rateLimitExceeded); each may have halved the pace. */
  throttled: number;
  /** The pacer in requests per second: its limit, its pace now, and the lowest pace it fell to. */
  pace: { limitRps: number; currentRps: number; lowestRps: number };
  /** Time spent in read() since creation, in ms: requests / readMs is the rate achieved. */
  readMs: number;
  /** How the last read fetched users (see USERS_GET_MAX in users.ts). */
  userFetch?: UserFetchMode;
}

export type GoogleDirectorySource = DirectorySource & { stats(): GoogleSourceStats };

const NO_LOG = { debug() {}, info() {}, warn() {} };

/**
 * @example
 * const source = createGoogleDirectorySource({ serviceAccountKey, adminEmail: "admin@example.com",
 *   groupsFilter: ["email:aws-*"], userFields: new Set(["enterprise"]) });
 * const { users, groups, warnings } = await source.read();
 */
export function createGoogleDirectorySource(options: GoogleDirectorySourceOptions): GoogleDirectorySource {
  const log = options.logger ?? NO_LOG;
  const userRead = userReadSpec(options.userTable ?? GOOGLE_USER, options.userFields);
  const accessTokens = new Set<string>();
  const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const retry = options.retry ?? DEFAULT_RETRY;
  const now = options.clock?.now ?? Date.now;
  const rate = createDirectoryPacer({ rateLimit, concurrency, retry, ...options.clock });
  const stats: DirectoryContext["stats"] = { requests: {}, pace: { lowestRps: rate.stats().currentRps, lastRps: rate.stats().currentRps } };
  let readMs = 0;

  const { auth, clientEmail, clientId } = createAuth(options, stats, accessTokens);
  const ctx: DirectoryContext = {
    // A global rootUrl rewrites every request to the same path on that host (googleapis-common
    // apirequest.ts, https://github.com/googleapis/nodejs-googleapis-common/blob/main/src/apirequest.ts).
    admin: new admin_directory_v1.Admin({ auth, ...(options.apiUrl ? { rootUrl: options.apiUrl } : {}) }),
    customer: options.customer ?? "my_customer",
    concurrency,
    retry,
    rate,
    log,
    authContext: {
      clientEmail,
      credentialSetting: options.workloadIdentity ? "gws.workload_identity_config" : "gws.service_account_file",
      adminEmail: options.adminEmail,
      ...(clientId ? { clientId } : {}),
      apiUrl: options.apiUrl ?? "https://admin.googleapis.com",
      tokenUrl: options.tokenUrl ?? "https://oauth2.googleapis.com/token",
    },
    accessTokens,
    stats,
  };

  return {
    stats: () => {
      const r = rate.stats();
      return {
        requests: { ...stats.requests },
        retries: r.retries,
        throttled: r.throttled,
        pace: { limitRps: rateLimit, currentRps: r.currentRps, lowestRps: Math.min(stats.pace.lowestRps, r.currentRps) },
        readMs,
        ...(stats.userFetch ? { userFetch: stats.userFetch } : {}),
      };
    },

    async read(headStart?: HeadStart, recorded?: RecordedAttributes): Promise<SourceSnapshot> {
      const started = now();
      try {
        return await readOnce(headStart, recorded === undefined ? userRead : { ...userRead, recorded });
      } finally {
        readMs += now() - started;
      }
    },

    async readTargets(targets, known) {
      const started = now();
      try {
        return await readTargets(ctx, { groupsFilter: options.groupsFilter, usersFilter: options.usersFilter ?? [], method: options.method ?? "groups", spec: userRead, known }, targets);
      } finally {
        readMs += now() - started;
      }
    },
  };

  async function readOnce(headStart: HeadStart | undefined, userRead: UserReadSpec): Promise<SourceSnapshot> {
    const warnings: string[] = [];
    // A head start reads the users first, where the groups' members alone make the scope (no gws.users_filter query).
    const early = headStart !== undefined && (options.method ?? "groups") === "groups" && (options.usersFilter ?? []).length === 0 ? headStart : undefined;
    const handedOut = new WeakSet<SourceUser>();
    let prior: PriorUsers | undefined;
    if (early !== undefined) {
      prior = await readKnownUsers(ctx, early.knownIds, userRead);
      log.info(`google: head start: ${prior.read.size} of the ${early.knownIds.size} users of the last run read first`);
      early.onUsers(headStartUsers(prior, handedOut));
    }
    const groups = await readGroups(ctx, options.groupsFilter);
    log.info(`google: ${groups.length} groups in scope`);
    const { memberIdsByGroup, members } = await readMembers(ctx, groups, warnings);
    const { ids, directoryUsers, skipped } = await usersInScope(ctx, options, members, userRead, prior);
    prior = undefined; // the users out of scope now are let go
    const users = sourceUsers(ids, directoryUsers, members, groups, warnings, handedOut);
    log.info(
      `google: ${users.length} users (${users.filter((u) => u.suspended).length} suspended) via ${stats.userFetch}, ` +
        `${skipped}, ${warnings.length} warnings, ` +
        `${Object.values(stats.requests).reduce((a, b) => a + b, 0)} requests, ${rate.stats().retries} retries, ${paceNote()}`,
    );
    for (const w of warnings) log.debug(`google: ${w}`);
    return { users, groups: desiredGroups(groups, memberIdsByGroup, directoryUsers), warnings };
  }

  /** The pacer in the read's log line: the quota errors and how far they slowed it, when there were any. */
  function paceNote(): string {
    const r = rate.stats();
    if (r.throttled === 0) return `paced at ${rateLimit}/s`;
    const lowest = Math.min(stats.pace.lowestRps, r.currentRps);
    return `${r.throttled} quota errors: pace slowed from ${rateLimit}/s to ${formatRps(lowest)}/s, now ${formatRps(r.currentRps)}/s`;
  }
}

/**
 * The users in scope, by `sync.method` and `gws.users_filter`: the groups' members (those the
 * filter matches, when there is one), or every user the filter matches. `ids` are sorted; those
 * without a Directory user in `directoryUsers` are external members (warned of by sourceUsers).
 */
async function usersInScope(
  ctx: DirectoryContext,
  options: GoogleDirectorySourceOptions,
  members: MemberIndex,
  userRead: UserReadSpec,
  prior?: PriorUsers,
): Promise<{ ids: string[]; directoryUsers: Map<string, ReadUser>; skipped: string }> {
  const usersFilter = options.usersFilter ?? [];
  if (options.method === "users") {
    const directoryUsers = await readMatchingUsers(ctx, usersFilter, userRead);
    return { ids: [...directoryUsers.keys()].sort(), directoryUsers, skipped: "every user gws.users_filter matches" };
  }
  const memberIds = members.sortedIds();
  if (usersFilter.length === 0) {
    const directoryUsers = prior ? await readUsersAfter(ctx, members, memberIds, userRead, prior) : await readUsers(ctx, members, memberIds, userRead);
    return { ids: memberIds, directoryUsers, skipped: `${memberIds.length - directoryUsers.size} external members skipped` };
  }
  // A member the filter does not match is out of scope, not external: one query cannot tell which it is.
  const directoryUsers = await readMatchingUsers(ctx, usersFilter, userRead, members);
  return { ids: memberIds.filter((id) => directoryUsers.has(id)), directoryUsers, skipped: `${memberIds.length - directoryUsers.size} members outside gws.users_filter` };
}

/**
 * The auth client googleapis calls with: the key's JWT client, or the keyless chain. Either way each
 * token request is counted ("token"; keyless also "sts" and "signJwt") and each token is kept for
 * scrubbing. Both configurations are checked here, before any request.
 */
function createAuth(options: GoogleDirectorySourceOptions, stats: DirectoryContext["stats"], accessTokens: Set<string>) {
  const keyless = options.workloadIdentity;
  if (keyless) {
    const auth = createWorkloadIdentityClient({
      config: parseWorkloadIdentityConfig(keyless.config),
      serviceAccountEmail: keyless.serviceAccountEmail,
      subject: options.adminEmail,
      ...(options.tokenUrl ? { tokenUrl: options.tokenUrl } : {}),
      ...(keyless.iamCredentialsUrl ? { iamCredentialsUrl: keyless.iamCredentialsUrl } : {}),
      transporter: new Gaxios(),
      onRequest: (step) => countRequest(stats, step),
      onSecret: (secret) => {
        accessTokens.add(secret);
        keyless.onSecret?.(secret);
      },
    });
    return { auth, clientEmail: keyless.serviceAccountEmail, clientId: undefined };
  }
  const key = parseServiceAccountKey(options.serviceAccountKey);
  const auth = createJwtClient({
    key,
    subject: options.adminEmail,
    ...(options.tokenUrl ? { tokenUrl: options.tokenUrl } : {}),
    onTokenRequest: () => countRequest(stats, "token"),
    onAccessToken: (token) => accessTokens.add(token),
  });
  return { auth, clientEmail: key.clientEmail, clientId: key.clientId };
}
