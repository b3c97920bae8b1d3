/** @module GoogleDirectorySource: reads in-scope groups, their derived members and those users from the Admin SDK Directory API. */
// Only the Directory module, never the `googleapis` root: the root pulls in every Google API (bundle size).
import { admin_directory_v1 } from "googleapis/build/src/apis/admin/directory_v1.js";
import type { RetryOptions } from "../../core/retry.ts";
import type { DirectorySource, SourceSnapshot } from "../../core/ports.ts";
import type { UserFieldName } from "../../model/index.ts";
import { sourceFields } from "../../mapping/map-user.ts";
import { GOOGLE_USER } from "../../mapping/presets/google.ts";
import { desiredGroups, readGroups, readMembers } from "./groups.ts";
import { countRequest, createDirectoryPacer, formatRps, DEFAULT_RATE_LIMIT, DEFAULT_RETRY, type DirectoryContext, type DirectoryPacerOptions } from "./requests.ts";
import { createJwtClient, parseServiceAccountKey } from "./service-account.ts";
import { readTargets } from "./targeted.ts";
import { readUsers, sourceUsers, type UserFetchMode } from "./users.ts";

export interface GoogleDirectorySourceOptions {
  /** The JSON text of the key file (never logged). */
  serviceAccountKey: string;
  /** The domain-wide delegation subject (`gws.user_email`). */
  adminEmail: string;
  /** groups.list `query` strings, ORed; [] = all groups. */
  groupsFilter: string[];
  userFields: ReadonlySet<UserFieldName>;
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
  const key = parseServiceAccountKey(options.serviceAccountKey);
  const log = options.logger ?? NO_LOG;
  const userFieldList = sourceFields(GOOGLE_USER, options.userFields).join(",");
  const accessTokens = new Set<string>();
  const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const retry = options.retry ?? DEFAULT_RETRY;
  const now = options.clock?.now ?? Date.now;
  const rate = createDirectoryPacer({ rateLimit, concurrency, retry, ...options.clock });
  const stats: DirectoryContext["stats"] = { requests: {}, pace: { lowestRps: rate.stats().currentRps, lastRps: rate.stats().currentRps } };
  let readMs = 0;

  const auth = createJwtClient({
    key,
    subject: options.adminEmail,
    ...(options.tokenUrl ? { tokenUrl: options.tokenUrl } : {}),
    onTokenRequest: () => countRequest(stats, "token"),
    onAccessToken: (token) => accessTokens.add(token),
  });
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
      clientEmail: key.clientEmail,
      adminEmail: options.adminEmail,
      ...(key.clientId ? { clientId: key.clientId } : {}),
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

    async read(): Promise<SourceSnapshot> {
      const started = now();
      try {
        return await readOnce();
      } finally {
        readMs += now() - started;
      }
    },

    async readTargets(targets, known) {
      const started = now();
      try {
        return await readTargets(ctx, { groupsFilter: options.groupsFilter, userFieldList, fields: options.userFields, known }, targets);
      } finally {
        readMs += now() - started;
      }
    },
  };

  async function readOnce(): Promise<SourceSnapshot> {
    const warnings: string[] = [];
    const groups = await readGroups(ctx, options.groupsFilter);
    log.info(`google: ${groups.length} groups in scope`);
    const { memberIdsByGroup, members } = await readMembers(ctx, groups, warnings);
    const memberIds = members.sortedIds();
    const directoryUsers = await readUsers(ctx, members, memberIds, userFieldList, options.userFields);
    const users = sourceUsers(memberIds, directoryUsers, members, groups, warnings);
    log.info(
      `google: ${users.length} users (${users.filter((u) => u.suspended).length} suspended) via ${stats.userFetch}, ` +
        `${memberIds.length - users.length} external members skipped, ${warnings.length} warnings, ` +
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
