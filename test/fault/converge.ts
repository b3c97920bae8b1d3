/**
 * @module Shared assertions of the fault tests: what the tenant must hold once a sync has
 * converged (computed from the scenario, not from the product), that nothing unmanaged was
 * touched, and that the state parses and describes the tenant. Plus the figures each test logs.
 */
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { expect } from "bun:test";
import { readFileSync } from "node:fs";
import { parseState } from "../../src/core/state.ts";
import type { SyncState } from "../../src/model/index.ts";
import type { RequestLog } from "../emulators/request-log.ts";
import type { Scenario, ScenarioGoogleGroup } from "../emulators/scenario.ts";
import type { ScimUserResource } from "../emulators/scim/server.ts";
import type { World } from "../support/harness.ts";

const lower = (s: string) => s.toLowerCase();

export interface DesiredUser {
  sourceId: string;
  userName: string;
  active: boolean;
}

export interface DesiredGroupView {
  sourceId: string;
  displayName: string;
  /** userNames of the (derived) members that are Directory users, sorted. */
  members: string[];
}

export interface Desired {
  /** Keyed by lower-cased userName. */
  users: Map<string, DesiredUser>;
  /** Keyed by displayName. */
  groups: Map<string, DesiredGroupView>;
}

/**
 * What AWS must hold after a converged sync with the default policy: every group in scope (no
 * filter: all), its members flattened through nested groups, only members that are Directory
 * users (external accounts and "all users in the domain" are skipped), suspended or archived
 * users present with active=false.
 */
export function desiredFromScenario(scenario: Scenario): Desired {
  const usersByEmail = new Map(scenario.google.users.map((u) => [lower(u.primaryEmail), u]));
  const groupsByEmail = new Map(scenario.google.groups.map((g) => [lower(g.email), g]));
  const flatten = (root: ScenarioGoogleGroup): Set<string> => {
    const out = new Set<string>();
    const seen = new Set<string>([root.id]);
    const queue = [root];
    for (let g = queue.shift(); g; g = queue.shift()) {
      for (const m of g.members) {
        if (m.type === "GROUP" && m.email) {
          const nested = groupsByEmail.get(lower(m.email));
          if (nested && !seen.has(nested.id)) {
            seen.add(nested.id);
            queue.push(nested);
          }
        } else if (m.type === "USER" && m.email) {
          const user = usersByEmail.get(lower(m.email));
          if (user) out.add(user.primaryEmail);
        }
      }
    }
    return out;
  };
  const users = new Map<string, DesiredUser>();
  const groups = new Map<string, DesiredGroupView>();
  for (const g of scenario.google.groups) {
    const members = flatten(g);
    groups.set(g.name || g.email, { sourceId: g.id, displayName: g.name || g.email, members: [...members].sort() });
    for (const email of members) {
      const u = usersByEmail.get(lower(email))!;
      users.set(lower(email), { sourceId: u.id, userName: u.primaryEmail, active: !(u.suspended === true || u.archived === true) });
    }
  }
  return { users, groups };
}

export interface GroupView {
  id: string;
  displayName: string;
  externalId?: string;
  members: string[];
}

/** The tenant resources a sync of `scenario` must leave exactly as they are (hand-made users, Control Tower groups, …). */
export interface Baseline {
  desired: Desired;
  unmanagedUsers: ScimUserResource[];
  unmanagedGroups: GroupView[];
}

export function baselineOf(world: World, scenario: Scenario): Baseline {
  const desired = desiredFromScenario(scenario);
  const desiredUserIds = new Set([...desired.users.values()].map((u) => u.sourceId));
  const desiredGroupIds = new Set([...desired.groups.values()].map((g) => g.sourceId));
  const snap = world.emulators.scim.snapshot();
  return {
    desired,
    unmanagedUsers: snap.users.filter(
      (u) => !desired.users.has(lower(String(u.userName))) && !(typeof u.externalId === "string" && desiredUserIds.has(u.externalId)),
    ),
    unmanagedGroups: snap.groups.filter((g) => !desired.groups.has(g.displayName) && !(g.externalId !== undefined && desiredGroupIds.has(g.externalId))),
  };
}

/** Reads the product's state where the world keeps it (file, or the S3 emulator's object). */
export async function readState(world: World, backend: "file" | "s3"): Promise<{ text: string; state: SyncState } | undefined> {
  let text: string;
  if (backend === "file") {
    try {
      text = readFileSync(world.statePath, "utf8");
    } catch {
      return undefined;
    }
  } else {
    const s3 = world.emulators.s3;
    const client = new S3Client({
      endpoint: s3.url,
      forcePathStyle: true,
      region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    try {
      const answer = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "data/state.json" }));
      text = (await answer.Body?.transformToString("utf8")) ?? "";
    } catch (error) {
      if ((error as { name?: string }).name === "NoSuchKey") return undefined;
      throw error;
    } finally {
      client.destroy();
    }
  }
  return { text, state: parseState(text, backend) };
}

export interface Convergence {
  users: number;
  groups: number;
  memberships: number;
}

/**
 * Asserts the tenant equals the desired state, with no duplicate, nothing unmanaged touched, and
 * a state that parses and names exactly the managed resources with their members.
 */
export async function assertConverged(world: World, baseline: Baseline, backend: "file" | "s3" = "file"): Promise<Convergence> {
  const { desired } = baseline;
  const snap = world.emulators.scim.snapshot();
  const userById = new Map(snap.users.map((u) => [u.id, u]));
  const nameOf = (id: string) => String(userById.get(id)?.userName ?? `missing:${id}`);

  // No duplicates: one user per userName (case-insensitively), one group per displayName.
  const userNames = snap.users.map((u) => lower(String(u.userName)));
  expect(userNames.filter((n, i) => userNames.indexOf(n) !== i)).toEqual([]);
  const groupNames = snap.groups.map((g) => g.displayName);
  expect(groupNames.filter((n, i) => groupNames.indexOf(n) !== i)).toEqual([]);

  // Unmanaged resources: identical, members included (minus users that no longer exist).
  const unmanagedUserIds = new Set(baseline.unmanagedUsers.map((u) => u.id));
  for (const was of baseline.unmanagedUsers) expect(userById.get(was.id)).toEqual(was);
  for (const was of baseline.unmanagedGroups) {
    const now = snap.groups.find((g) => g.id === was.id);
    expect(now).toBeDefined();
    expect({ ...now!, members: [...now!.members].sort() }).toEqual({ ...was, members: was.members.filter((m) => userById.has(m)).sort() });
  }

  // Managed users and groups: exactly the desired ones.
  const managedUsers = snap.users.filter((u) => !unmanagedUserIds.has(u.id));
  const view = Object.fromEntries(managedUsers.map((u) => [String(u.userName), { active: u.active !== false, externalId: u.externalId }]));
  const want = Object.fromEntries([...desired.users.values()].map((u) => [u.userName, { active: u.active, externalId: u.sourceId }]));
  expect(view).toEqual(want);
  const unmanagedGroupIds = new Set(baseline.unmanagedGroups.map((g) => g.id));
  const managedGroups = snap.groups.filter((g) => !unmanagedGroupIds.has(g.id));
  const groupView = Object.fromEntries(managedGroups.map((g) => [g.displayName, { externalId: g.externalId, members: g.members.map(nameOf).sort() }]));
  const groupWant = Object.fromEntries([...desired.groups.values()].map((g) => [g.displayName, { externalId: g.sourceId, members: g.members }]));
  expect(groupView).toEqual(groupWant);

  // The state: parses, and names exactly the managed resources, as they are.
  const loaded = await readState(world, backend);
  expect(loaded).toBeDefined();
  const state = loaded!.state;
  const stateUsers = Object.fromEntries(Object.entries(state.users).map(([sourceId, m]) => [sourceId, { scimId: m.scimId, userName: m.attributes.userName }]));
  const tenantUsers = Object.fromEntries(managedUsers.map((u) => [String(u.externalId), { scimId: u.id, userName: String(u.userName) }]));
  expect(stateUsers).toEqual(tenantUsers);
  const scimIdOf = (sourceId: string) => state.users[sourceId]?.scimId ?? `unknown:${sourceId}`;
  const stateGroups = Object.fromEntries(
    Object.entries(state.groups).map(([sourceId, g]) => [sourceId, { scimId: g.scimId, displayName: g.displayName, members: g.memberSourceIds.map((id) => nameOf(scimIdOf(id))).sort() }]),
  );
  const tenantGroups = Object.fromEntries(managedGroups.map((g) => [String(g.externalId), { scimId: g.id, displayName: g.displayName, members: g.members.map(nameOf).sort() }]));
  expect(stateGroups).toEqual(tenantGroups);

  return { users: managedUsers.length, groups: managedGroups.length, memberships: managedGroups.reduce((n, g) => n + g.members.length, 0) };
}

/** Requests an emulator saw, by status (0 = connection dropped or answer lost), and the total. */
export function statusCounts(log: RequestLog, filter: (e: RequestLog["entries"][number]) => boolean = () => true): { total: number; byStatus: Record<string, number> } {
  const byStatus: Record<string, number> = {};
  let total = 0;
  for (const e of log.entries) {
    if (!filter(e)) continue;
    total++;
    byStatus[e.status] = (byStatus[e.status] ?? 0) + 1;
  }
  return { total, byStatus };
}

/** Failed attempts the client had to retry: throttled, server errors, dropped or lost answers. */
export function retriedAttempts(log: RequestLog): number {
  return log.entries.filter((e) => e.status === 0 || e.status === 429 || e.status >= 500).length;
}

export const isWrite = (e: RequestLog["entries"][number]) => e.method !== "GET" && e.method !== "HEAD";

/** One line per test with its figures, gathered for the suite's record. */
export function record(name: string, figures: Record<string, unknown>): void {
  console.log(`fault ${name}: ${JSON.stringify(figures)}`);
}
