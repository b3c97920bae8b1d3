/** @module The ScimTarget port over AWS IAM Identity Center's SCIM v2 endpoint, in AWS's dialect (docs/aws-scim.md; § cites its sections). */
import { SyncError } from "../../core/errors.ts";
import type { RequestStats, ScimTarget } from "../../core/ports.ts";
import type { RateControlOptions } from "../../core/rate-control.ts";
import { connect, objectBody, type ScimRequest } from "./connection.ts";
import { eqFilter } from "./filter.ts";
import { findGroup, findUser, getOne, listAll, readGroup, readUser } from "./listing.ts";
import { changeMembers, createGroup, createUser, remove, updateGroup, updateUser } from "./writes.ts";

export interface ScimTargetOptions {
  /** The SCIM endpoint as the console shows it: `https://scim.<region>.amazonaws.com/<tenant>/scim/v2/` (trailing slash optional). */
  endpoint: string;
  token: string;
  rate?: Partial<RateControlOptions>;
  logger?: { debug(message: string): void };
  /** Per request; a timed-out request counts as a network failure and is retried. */
  timeoutMs?: number;
}

/** RequestStats plus the deletes that found nothing (already gone: success, counted apart). */
export interface ScimTargetStats extends RequestStats {
  alreadyDeleted: number;
}

/** The port, with its stats widened by `alreadyDeleted`. */
export interface AwsScimTarget extends ScimTarget {
  stats(): ScimTargetStats;
  /** GET /ServiceProviderConfig: what the tenant says it supports (for `inspect scim config`). */
  serviceProviderConfig(): Promise<Record<string, unknown>>;
}

/**
 * Defaults stay under AWS's published 25 write / 40 read TPS per identity store (docs/aws-scim.md §9):
 * start at 20 req/s, never above 25 (the write limit, since one limiter paces reads and writes),
 * 8 in flight, and 8 attempts with backoff from 250 ms to 20 s (≈ 30 s of patience in total).
 */
export const DEFAULT_RATE: Omit<RateControlOptions, "random" | "now" | "sleep"> = {
  initialRps: 20,
  minRps: 1,
  maxRps: 25,
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
    rate: { ...DEFAULT_RATE, ...options.rate, retry: { ...DEFAULT_RATE.retry, ...options.rate?.retry } },
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });

  return {
    async serviceProviderConfig() {
      const request: ScimRequest = { method: "GET", route: "GET /ServiceProviderConfig", path: "/ServiceProviderConfig" };
      return objectBody(conn, await conn.send(request), request);
    },

    async listUsers() {
      return (await listAll(conn, "Users")).map((r) => readUser(conn, r, "GET /Users"));
    },

    async listGroups() {
      return (await listAll(conn, "Groups")).map((r) => readGroup(conn, r, "GET /Groups"));
    },

    async listGroupMembers(groupScimId) {
      // GetGroup/ListGroups never return members (§6.2): ask for the users in the group instead.
      const users = await listAll(conn, "Users", eqFilter("groups.value", groupScimId), `members of ${groupScimId}`);
      return users.map((r) => readUser(conn, r, "GET /Users").scimId);
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

    createUser: (externalId, attributes, managerScimId) => createUser(conn, externalId, attributes, managerScimId),
    updateUser: (scimId, change) => updateUser(conn, scimId, change),
    deleteUser: (scimId) => remove(conn, "Users", scimId),
    createGroup: (externalId, displayName, memberScimIds) => createGroup(conn, externalId, displayName, memberScimIds),
    updateGroup: (scimId, change) => updateGroup(conn, scimId, change),
    addMembers: (groupScimId, userScimIds) => changeMembers(conn, "add", groupScimId, userScimIds),
    removeMembers: (groupScimId, userScimIds) => changeMembers(conn, "remove", groupScimId, userScimIds),
    deleteGroup: (scimId) => remove(conn, "Groups", scimId),

    stats() {
      const r = conn.rate.stats();
      return { byRoute: { ...conn.counts.byRoute }, total: conn.counts.total, retries: r.retries, throttled: r.throttled, alreadyDeleted: conn.counts.alreadyDeleted };
    },
  };
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
