/** @module GoogleDirectorySource: reads in-scope groups, their derived members and those users from the Admin SDK Directory API. */
// Only the Directory module, never the `googleapis` root: the root pulls in every Google API (bundle size).
import { admin_directory_v1 } from "googleapis/build/src/apis/admin/directory_v1.js";
import { SyncError } from "../../core/errors.ts";
import { forEachLimit } from "../../core/pool.ts";
import { backoffDelay, type RetryOptions } from "../../core/retry.ts";
import type { DirectorySource, SourceSnapshot, SourceUser } from "../../core/ports.ts";
import type { DesiredGroup, UserFieldName } from "../../model/index.ts";
import { mapUser, sourceFields } from "../../mapping/map-user.ts";
import { GOOGLE_USER, type GoogleUser } from "../../mapping/presets/google.ts";
import { describeAnswer } from "../http-answer.ts";
import {
  DEFAULT_RETRY,
  describeFailure,
  isRetryable,
  toSyncError,
  type AuthContext,
} from "./requests.ts";
import { createJwtClient, parseServiceAccountKey } from "./service-account.ts";

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
}

export type UserFetchMode = "users.list" | "users.list+users.get";

export interface GoogleSourceStats {
  /** Requests sent since creation by Directory method (retries included), plus `token` requests. */
  requests: Record<string, number>;
  retries: number;
  /** How the last read fetched users (see USERS_GET_MAX). */
  userFetch?: UserFetchMode;
}

export type GoogleDirectorySource = DirectorySource & { stats(): GoogleSourceStats };

/**
 * The user-fetch rule. users.list costs one request per 500 users of the whole customer
 * (https://developers.google.com/admin-sdk/directory/reference/rest/v1/users/list),
 * a size learnt only by listing; users.get costs one request per member. So: list the first page
 * (one request covers a domain of up to 500 users, however many members); stop as soon as every
 * member was seen; and when the members still unseen are at most 50 while pages remain, fetch
 * those with users.get instead of listing on. A large domain with few members in scope pays at
 * most 1 + 50 requests; a scope covering most of the domain never pays more than the listing.
 */
export const USERS_GET_MAX = 50;

/**
 * Page sizes at the documented maxima: groups.list and members.list 200, users.list 500
 * (https://developers.google.com/admin-sdk/directory/reference/rest/v1/groups/list, …/members/list, …/users/list).
 */
const GROUPS_PAGE = 200;
const MEMBERS_PAGE = 200;
const USERS_PAGE = 500;

const NO_LOG = { debug() {}, info() {}, warn() {} };

/** The array each list method's page carries; absent means an empty page (fields= drops empty arrays). */
const LIST_FIELD: Record<string, string> = { "groups.list": "groups", "members.list": "members", "users.list": "users" };

/**
 * @example
 * const source = createGoogleDirectorySource({ serviceAccountKey, adminEmail: "admin@example.com",
 *   groupsFilter: ["email:aws-*"], userFields: new Set(["enterprise"]) });
 * const { users, groups, warnings } = await source.read();
 */
export function createGoogleDirectorySource(options: GoogleDirectorySourceOptions): GoogleDirectorySource {
  const key = parseServiceAccountKey(options.serviceAccountKey);
  const customer = options.customer ?? "my_customer";
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const retry = options.retry ?? DEFAULT_RETRY;
  const log = options.logger ?? NO_LOG;
  const userFieldList = sourceFields(GOOGLE_USER, options.userFields).join(",");
  const apiUrl = options.apiUrl ?? "https://admin.googleapis.com";
  const authContext: AuthContext = {
    clientEmail: key.clientEmail,
    adminEmail: options.adminEmail,
    ...(key.clientId ? { clientId: key.clientId } : {}),
    apiUrl,
    tokenUrl: options.tokenUrl ?? "https://oauth2.googleapis.com/token",
  };
  // Access tokens issued to this source: scrubbed from every failure message (a proxy may echo them).
  const accessTokens = new Set<string>();

  const requests: Record<string, number> = {};
  let retries = 0;
  let userFetch: UserFetchMode | undefined;
  const count = (method: string) => {
    requests[method] = (requests[method] ?? 0) + 1;
  };

  const auth = createJwtClient({
    key,
    subject: options.adminEmail,
    ...(options.tokenUrl ? { tokenUrl: options.tokenUrl } : {}),
    onTokenRequest: () => count("token"),
    onAccessToken: (token) => accessTokens.add(token),
  });
  // A global rootUrl rewrites every request to the same path on that host (googleapis-common
  // apirequest.ts, https://github.com/googleapis/nodejs-googleapis-common/blob/main/src/apirequest.ts).
  const admin = new admin_directory_v1.Admin({ auth, ...(options.apiUrl ? { rootUrl: options.apiUrl } : {}) });
  // googleapis-common sets retry: true unless told otherwise (same file); our backoff owns every retry.
  const noRetry = { retry: false } as const;

  /**
   * One logical request with our backoff (truncated exponential backoff for quota errors,
   * https://developers.google.com/admin-sdk/directory/v1/limits).
   * `allowNotFound` turns a 404 into `undefined` (users.get of an external member).
   */
  async function call<T>(
    method: string,
    target: string,
    send: () => Promise<{ data: T; status?: number; headers?: unknown }>,
    allowNotFound = false,
  ): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      count(method);
      let response: Awaited<ReturnType<typeof send>>;
      try {
        response = await send();
      } catch (error) {
        const failure = describeFailure(error, accessTokens);
        if (allowNotFound && !failure.token && failure.status === 404) return undefined;
        if (!isRetryable(failure) || attempt >= retry.attempts) throw toSyncError(method, target, failure, authContext, attempt);
        const delay = backoffDelay(attempt, retry);
        retries++;
        log.debug(`google: ${method} ${target}: ${failure.status ?? "network"} ${failure.reason}; retry ${attempt}/${retry.attempts - 1} in ${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      checkShape(method, target, response);
      return response.data;
    }
  }

  /**
   * A 2xx answer that is not the Directory JSON asked for (an HTML page from a proxy or a wrong
   * gws.api_url) aborts the read: taken as an empty page it would read as "no groups".
   */
  function checkShape(method: string, target: string, response: { data: unknown; status?: number; headers?: unknown }): void {
    const data = response.data;
    const fail = (what: string): never => {
      throw new SyncError("SOURCE_READ", `Google ${method} ${target} at ${apiUrl} answered ${response.status ?? "2xx"} with ${what}, not Directory API JSON`, {
        hint: "check gws.api_url (leave it unset for https://admin.googleapis.com) and any proxy in between; nothing was changed",
      });
    };
    if (typeof data !== "object" || data === null || Array.isArray(data)) fail(describeAnswer(data, contentTypeOf(response.headers)));
    const body = data as Record<string, unknown>;
    const list = LIST_FIELD[method];
    if (list !== undefined && body[list] !== undefined && !Array.isArray(body[list])) fail(`"${list}" as a ${typeof body[list]} instead of an array`);
    if (body.nextPageToken !== undefined && body.nextPageToken !== null && typeof body.nextPageToken !== "string") fail(`a nextPageToken that is not a string`);
    if (method === "users.get" && typeof body.id !== "string") fail("a user without an id");
  }

  /** Follows nextPageToken until it is absent; a short page is no sign of the end. `onPage` returning true stops early. */
  async function listAll<P extends { nextPageToken?: string | null }>(
    method: string,
    target: string,
    send: (pageToken: string | undefined) => Promise<{ data: P }>,
    onPage: (page: P) => boolean | void,
  ): Promise<void> {
    let pageToken: string | undefined;
    do {
      const page = await call(method, target, () => send(pageToken));
      if (page === undefined) return;
      if (onPage(page) === true) return;
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
  }

  async function readGroups(): Promise<admin_directory_v1.Schema$Group[]> {
    const byId = new Map<string, admin_directory_v1.Schema$Group>();
    const queries: (string | undefined)[] = options.groupsFilter.length > 0 ? options.groupsFilter : [undefined];
    for (const query of queries) {
      await listAll(
        "groups.list",
        query === undefined ? customer : `${customer} query=${JSON.stringify(query)}`,
        (pageToken) =>
          admin.groups.list(
            {
              customer,
              maxResults: GROUPS_PAGE,
              ...(query !== undefined ? { query } : {}),
              ...(pageToken ? { pageToken } : {}),
              fields: "nextPageToken,groups(id,email,name)",
            },
            noRetry,
          ),
        (page) => {
          for (const g of page.groups ?? []) if (g.id && !byId.has(g.id)) byId.set(g.id, g);
        },
      );
    }
    return [...byId.values()];
  }

  return {
    stats: () => ({ requests: { ...requests }, retries, ...(userFetch ? { userFetch } : {}) }),

    async read(): Promise<SourceSnapshot> {
      const warnings: string[] = [];
      const groups = await readGroups();
      log.info(`google: ${groups.length} groups in scope`);

      // Derived members (members.list includeDerivedMembership): nested groups come back flattened to users.
      const memberIdsByGroup = new Map<string, string[]>();
      const memberInfo = new Map<string, { email: string; group: string }>();
      await forEachLimit(groups, concurrency, async (group) => {
        const groupId = group.id!;
        const ids: string[] = [];
        await listAll(
          "members.list",
          group.email ?? groupId,
          (pageToken) =>
            admin.members.list(
              {
                groupKey: groupId,
                includeDerivedMembership: true,
                maxResults: MEMBERS_PAGE,
                ...(pageToken ? { pageToken } : {}),
                fields: "nextPageToken,members(id,email,type,status)",
              },
              noRetry,
            ),
          (page) => {
            for (const m of page.members ?? []) {
              if (m.type === "CUSTOMER") {
                warnings.push(`group ${group.email}: its "all users in the domain" member is not expanded; add the users or a group instead`);
              } else if (m.type === "USER" && m.id) {
                ids.push(m.id);
                if (!memberInfo.has(m.id)) memberInfo.set(m.id, { email: m.email ?? "(no email)", group: group.email ?? groupId });
              }
              // GROUP entries (if any) are already flattened by includeDerivedMembership.
            }
          },
        );
        memberIdsByGroup.set(groupId, ids);
      });

      const memberIds = [...memberInfo.keys()].sort();
      const googleUsers = new Map<string, GoogleUser>();
      // Page through users.list while it pays; once the members still unseen are few enough
      // that fetching each is cheaper than listing on, fetch those with users.get (see USERS_GET_MAX).
      const wanted = new Set(memberIds);
      let pages = 0;
      let rest: string[] = [];
      if (wanted.size > 0) {
        await listAll(
          "users.list",
          customer,
          (pageToken) =>
            admin.users.list(
              { customer, maxResults: USERS_PAGE, ...(pageToken ? { pageToken } : {}), fields: `nextPageToken,users(${userFieldList})` },
              noRetry,
            ),
          (page) => {
            pages++;
            for (const user of page.users ?? []) {
              if (user.id && wanted.delete(user.id)) googleUsers.set(user.id, user);
            }
            if (wanted.size === 0) return true; // every member seen: the remaining pages cannot add anything
            if (page.nextPageToken && wanted.size <= USERS_GET_MAX) {
              rest = [...wanted];
              return true;
            }
            return false;
          },
        );
      }
      userFetch = rest.length > 0 ? "users.list+users.get" : "users.list";
      await forEachLimit(rest, concurrency, async (id) => {
        const user = await call("users.get", id, () => admin.users.get({ userKey: id, fields: userFieldList }, noRetry), true);
        if (user) googleUsers.set(id, user);
      });
      log.debug(`google: users read with ${pages} users.list page(s) and ${rest.length} users.get`);

      // A USER member without a Directory user is an account outside the domain (users.get answers 404).
      for (const id of memberIds) {
        if (googleUsers.has(id)) continue;
        const info = memberInfo.get(id)!;
        warnings.push(`member ${info.email} (id ${id}) of group ${info.group} has no Directory user (external account); skipped`);
      }

      const mapped = memberIds.flatMap((id) => {
        const user = googleUsers.get(id);
        if (!user) return [];
        const result = mapUser(GOOGLE_USER, user, { fields: options.userFields });
        warnings.push(...result.warnings);
        return [{ id, user, result }];
      });
      // Google keeps the manager as an email (a `relations` entry of type manager,
      // https://developers.google.com/admin-sdk/directory/reference/rest/v1/users); only users read here can be resolved.
      const idByEmail = new Map(mapped.map(({ id, result }) => [result.attributes.email.toLowerCase(), id]));
      const users: SourceUser[] = mapped.map(({ id, user, result }) => {
        const managerId = result.manager ? idByEmail.get(result.manager.toLowerCase()) : undefined;
        if (managerId !== undefined) result.attributes.managerSourceId = managerId;
        // An archived user cannot sign in either (a licence-saving form of suspension): same policy.
        return { sourceId: id, attributes: result.attributes, suspended: user.suspended === true || user.archived === true };
      });

      const desiredGroups: DesiredGroup[] = groups.map((g) => ({
        sourceId: g.id!,
        displayName: g.name || g.email || g.id!,
        memberSourceIds: [...new Set(memberIdsByGroup.get(g.id!) ?? [])].filter((id) => googleUsers.has(id)).sort(),
      }));

      log.info(
        `google: ${users.length} users (${users.filter((u) => u.suspended).length} suspended) via ${userFetch}, ` +
          `${memberIds.length - users.length} external members skipped, ${warnings.length} warnings, ` +
          `${Object.values(requests).reduce((a, b) => a + b, 0)} requests, ${retries} retries`,
      );
      for (const w of warnings) log.debug(`google: ${w}`);
      return { users, groups: desiredGroups, warnings };
    },
  };
}

/** The Content-Type of a gaxios response, whose headers are a fetch `Headers` (typed as Node's). */
function contentTypeOf(headers: unknown): string | null {
  const h = headers as { get?: (name: string) => string | null; ["content-type"]?: unknown } | undefined;
  if (typeof h?.get === "function") return h.get("content-type");
  return typeof h?.["content-type"] === "string" ? h["content-type"] : null;
}

