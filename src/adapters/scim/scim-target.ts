/** @module The ScimTarget port over AWS IAM Identity Center's SCIM v2 endpoint, in AWS's dialect (docs/aws-scim.md; § cites its sections). */
import { SyncError } from "../../core/errors.ts";
import type { RequestStats, ScimTarget } from "../../core/ports.ts";
import type { RateControlOptions, RateControlStats, RequestKind } from "../../core/rate-control.ts";
import type { TenantUser } from "../../model/index.ts";
import { connect, objectBody, observedConnection, type ScimConnection, type ScimRequest } from "./connection.ts";
import { eqFilter } from "./filter.ts";
import { findGroup, findUser, getOne, listAll, readGroup, readUser, readUserId } from "./listing.ts";
import { changeMembers, createGroup, createUser, remove, updateGroup, updateUser } from "./writes.ts";

export interface ScimTargetOptions {
  /** The SCIM endpoint as the console shows it: `https://scim.<region>.amazonaws.com/<tenant>/scim/v2/` (trailing slash optional). */
  endpoint: string;
  token: string;
  /**
   * Pacing: what is set at the top applies to both pacers (retry, concurrency, a test clock);
   * `read` and `write` set each one's own rates over it.
   */
  rate?: Partial<RateControlOptions> & Partial<Record<RequestKind, Partial<PacerRates>>>;
  logger?: { debug(message: string): void };
  /** Per request; a timed-out request counts as a network failure and is retried. */
  timeoutMs?: number;
}

/** The rates one pacer starts at and keeps between. */
export type PacerRates = Pick<RateControlOptions, "initialRps" | "minRps" | "maxRps">;

/** RequestStats plus the deletes that found nothing (already gone: success, counted apart), and each pacer's figures. */
export interface ScimTargetStats extends RequestStats {
  alreadyDeleted: number;
  /** Requests sent of each kind (retries included), with that pacer's retries, 429s and current rate. */
  byKind: Record<RequestKind, RateControlStats & { requests: number }>;
}

/** The port, with its stats widened by `alreadyDeleted`. */
export interface AwsScimTarget extends ScimTarget {
  stats(): ScimTargetStats;
  /** GET /ServiceProviderConfig: what the tenant says it supports (for `inspect scim config`). */
  serviceProviderConfig(): Promise<Record<string, unknown>>;
}

/**
 * Defaults stay under AWS's published limits per identity store (docs/aws-scim.md §9), one pacer
 * each: reads start at 32/s and never exceed 40, writes (member PATCHes included) start at 20/s and
 * never exceed 25; each 8 in flight, and 8 attempts with backoff from 250 ms to 20 s (≈ 30 s of
 * patience in total).
 */
export const DEFAULT_RATE: Omit<RateControlOptions, "random" | "now" | "sleep" | keyof PacerRates> & Record<RequestKind, PacerRates> = {
  read: { initialRps: 32, minRps: 1, maxRps: 40 },
  write: { initialRps: 20, minRps: 1, maxRps: 25 },
  maxConcurrency: 8,
  retry: { attempts: 8, baseDelayMs: 250, maxDelayMs: 20_000 },
};
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * @example
 * const scim = createScimTarget({ endpoint: config.aws.scimEndpoint, token: config.aws.scimAccessToken });
 * const users = await scim.listUsers();
 */
export function createScimTarget(options: ScimTargetOptions): AwsScimTarget {
  const conn = connect({
    baseURL: checkEndpoint(options.endpoint).replace(/\/+$/, ""),
    token: options.token,
    ...(options.logger ? { log: options.logger } : {}),
    rate: { read: pacerOptions(options.rate, "read"), write: pacerOptions(options.rate, "write") },
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });

  const target: AwsScimTarget = {
    async serviceProviderConfig() {
      const request: ScimRequest = { method: "GET", route: "GET /ServiceProviderConfig", path: "/ServiceProviderConfig" };
      return objectBody(conn, await conn.send(request), request);
    },

    async listUsers(each = (user: TenantUser) => user) {
      return listAll(conn, "Users", (r) => each(readUser(conn, r, "GET /Users")));
    },

    async listGroups() {
      return listAll(conn, "Groups", (r) => readGroup(conn, r, "GET /Groups"));
    },

    async listGroupMembers(groupScimId) {
      // GetGroup/ListGroups never return members (§6.2): ask for the users in the group instead.
      return listAll(conn, "Users", (r) => readUserId(conn, r, "GET /Users"), eqFilter("groups.value", groupScimId), `members of ${groupScimId}`);
    },

    async listGroupsOfUser(userScimId) {
      // The groups of one user (§3): one page for up to 100 groups, however large the tenant.
      return listAll(conn, "Groups", (r) => readGroup(conn, r, "GET /Groups").scimId, eqFilter("members.value", userScimId), `groups of ${userScimId}`);
    },

    findUser: (by) => findUser(conn, by),
    findGroup: (by) => findGroup(conn, by),

    async getUser(scimId) {
      const found = await getOne(conn, "Users", scimId);
      return found === undefined ? undefined : readUser(conn, found, "GET /Users/{id}");
    },

    async getGroup(scimId) {
      const found = await getOne(conn, "Groups", scimId);
      return found === undefined ? undefined : readGroup(conn, found, "GET /Groups/{id}");
    },

    ...writesOver(conn),

    stats() {
      const { read, write } = conn.pacers.stats();
      return {
        byRoute: { ...conn.counts.byRoute },
        total: conn.counts.total,
        retries: read.retries + write.retries,
        throttled: read.throttled + write.throttled,
        alreadyDeleted: conn.counts.alreadyDeleted,
        byKind: { read: { ...read, requests: conn.counts.byKind.read }, write: { ...write, requests: conn.counts.byKind.write } },
      };
    },

    observed: (onWriteAttempt) => ({ ...target, ...writesOver(observedConnection(conn, onWriteAttempt)) }),
  };
  return target;
}

type Writes = Pick<ScimTarget, "createUser" | "updateUser" | "deleteUser" | "createGroup" | "updateGroup" | "addMembers" | "removeMembers" | "deleteGroup">;

/** The port's writes over `conn` (`observed` makes them again over a connection that counts their attempts). */
function writesOver(conn: ScimConnection): Writes {
  return {
    createUser: (externalId, attributes, managerScimId) => createUser(conn, externalId, attributes, managerScimId),
    updateUser: (scimId, change) => updateUser(conn, scimId, change),
    deleteUser: (scimId) => remove(conn, "Users", scimId),
    createGroup: (externalId, displayName, memberScimIds) => createGroup(conn, externalId, displayName, memberScimIds),
    updateGroup: (scimId, change) => updateGroup(conn, scimId, change),
    addMembers: (groupScimId, userScimIds) => changeMembers(conn, "add", groupScimId, userScimIds),
    removeMembers: (groupScimId, userScimIds) => changeMembers(conn, "remove", groupScimId, userScimIds),
    deleteGroup: (scimId) => remove(conn, "Groups", scimId),
  };
}

/** The defaults of `kind`, under what `rate` sets for both, under what it sets for `kind`. */
function pacerOptions(rate: ScimTargetOptions["rate"], kind: RequestKind): RateControlOptions {
  const { read, write, ...shared } = rate ?? {};
  const { read: _read, write: _write, ...defaults } = DEFAULT_RATE;
  return { ...defaults, ...DEFAULT_RATE[kind], ...shared, ...(kind === "read" ? read : write), retry: { ...defaults.retry, ...shared.retry } };
}

function checkEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new SyncError("CONFIG_INVALID", `aws.scim_endpoint is not a URL: ${JSON.stringify(endpoint)}`, {
      hint: "copy the SCIM endpoint from the IAM Identity Center console (Settings > Automatic provisioning), e.g. https://scim.us-east-1.amazonaws.com/<tenant>/scim/v2/",
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new SyncError("CONFIG_INVALID", `aws.scim_endpoint must be an https URL, got ${url.protocol}`, { hint: "use the https SCIM endpoint shown in the IAM Identity Center console" });
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new SyncError("CONFIG_INVALID", "aws.scim_endpoint must not carry a query, fragment or credentials", { hint: "use the SCIM endpoint exactly as the IAM Identity Center console shows it" });
  }
  return endpoint;
}
