/**
 * @module Property tests of the planner: for random (source, tenant, state, policy) triples, the
 * plan applied to the tenant (by the oracle in test/support/tenant-model.ts, and by the real
 * executor) yields the desired state for the managed set, touches nothing unmanaged, is ordered,
 * keeps member changes ≤ 100 per operation, and re-planning afterwards finds nothing to do, both
 * from a full tenant read and from the state alone.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { apply } from "../../src/core/apply.ts";
import { MAX_MEMBERS_PER_REQUEST, phaseOf, plan, sameValue, type Operation, type Plan, type PlanPolicy } from "../../src/core/plan.ts";
import type { SourceSnapshot, SourceUser } from "../../src/core/ports.ts";
import { tenantFromState } from "../../src/core/state.ts";
import { managedAttributesFor, readTenant } from "../../src/core/sync.ts";
import type { DesiredGroup, ManagedGroup, ManagedUser, SyncState, TenantSnapshot, TenantUser, UserAttributes } from "../../src/model/index.ts";
import { STATE_SCHEMA_VERSION, USER_ATTRIBUTE_NAMES } from "../../src/model/index.ts";
import { seededRandom } from "../emulators/faults.ts";
import { applyOperations, TenantModel, type ModelGroup, type ModelUser } from "../support/tenant-model.ts";

/** Runs per property; FC_RUNS raises it for a longer local search (FC_SEED replays one). */
const RUNS = Number(process.env.FC_RUNS ?? 300);
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

// Small pools, so that names and ids collide often: adoption by externalId, by userName (any
// letter case) and by group displayName, renames, and users who left the scope all come up.
const NAMES = ["ana", "bo", "carla", "dev", "eun", "farah", "goran", "hana", "ivan", "jo"];
const USER_IDS = ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10", "u11"];
const GROUP_NAMES = ["Admins", "Developers", "ReadOnly", "Operators", "All Staff", "AWSControlTowerAdmins", "Billing"];
const GROUP_IDS = ["g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7"];
const GIVEN = ["Ana", "Bo", "Carla"];
const FAMILY = ["Lima", "Chen", "Díaz"];
const TITLES = ["Engineer", "Manager"];
const DEPARTMENTS = ["Platform", "Sales"];
const PHONES = ["+351 21 000 0001", "+49 30 000 0002"];

const email = (name: string) => `${name}@example.com`;
const lower = (s: string) => s.toLowerCase();

// ---- generators ---------------------------------------------------------------------------

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
const index = (list: readonly unknown[]) => fc.integer({ min: 0, max: list.length - 1 });

const personArb = fc.record({
  given: index(GIVEN),
  family: index(FAMILY),
  title: optional(index(TITLES)),
  department: optional(index(DEPARTMENTS)),
  phone: optional(index(PHONES)),
});

const sourceUserArb = fc.record({
  name: index(NAMES),
  id: index(USER_IDS),
  suspended: fc.boolean(),
  person: personArb,
  manager: optional(index(USER_IDS)),
});

const sourceGroupArb = fc.record({
  name: index(GROUP_NAMES),
  id: index(GROUP_IDS),
  members: fc.array(fc.nat(20), { maxLength: 8 }),
});

const tenantUserArb = fc.record({
  name: index(NAMES),
  upper: fc.boolean(),
  externalId: optional(index(USER_IDS)),
  active: fc.boolean(),
  person: personArb,
  manager: optional(fc.nat(20)),
  /** Managed (in the state) when it carries an externalId. */
  inState: fc.boolean(),
  /** The state recorded other attributes (changed by hand since, or a run stopped before saving). */
  stateDrift: optional(personArb),
});

const tenantGroupArb = fc.record({
  name: index(GROUP_NAMES),
  externalId: optional(index(GROUP_IDS)),
  members: fc.array(fc.nat(20), { maxLength: 8 }),
  inState: fc.boolean(),
  /** The state remembers another name (renamed by hand since). */
  stateName: optional(index(GROUP_NAMES)),
  /** The state remembers other members (changed by hand since, or a run stopped before saving). */
  stateMembers: optional(fc.array(fc.nat(20), { maxLength: 4 })),
});

const policyArb = fc.record({
  suspendedUsers: fc.constantFrom("deactivate", "delete", "ignore") as fc.Arbitrary<PlanPolicy["suspendedUsers"]>,
  removedUsers: fc.constantFrom("delete", "deactivate") as fc.Arbitrary<PlanPolicy["removedUsers"]>,
  deleteUnmanaged: fc.boolean(),
  mode: fc.constantFrom("sync", "upsert") as fc.Arbitrary<PlanPolicy["mode"]>,
  fields: fc.subarray(["title", "enterprise", "phoneNumbers"]),
  adoptGroupsByName: fc.constant(true),
  protectedGroups: fc.constant([] as string[]),
});

const worldArb = fc.record({
  source: fc.record({
    users: fc.array(sourceUserArb, { maxLength: 8 }),
    groups: fc.array(sourceGroupArb, { maxLength: 5 }),
  }),
  tenant: fc.record({
    users: fc.array(tenantUserArb, { maxLength: 8 }),
    groups: fc.array(tenantGroupArb, { maxLength: 5 }),
  }),
  /** State entries whose resource was deleted by hand since. */
  staleUsers: fc.array(index(USER_IDS), { maxLength: 2 }),
  staleGroups: fc.array(index(GROUP_IDS), { maxLength: 1 }),
  policy: policyArb,
});

type RawWorld = typeof worldArb extends fc.Arbitrary<infer T> ? T : never;

interface World {
  source: SourceSnapshot;
  tenant: TenantSnapshot;
  state: SyncState;
  policy: PlanPolicy;
}

function personAttributes(name: string, userName: string, p: RawWorld["source"]["users"][number]["person"], active: boolean): UserAttributes {
  const attributes: UserAttributes = {
    userName,
    displayName: `${GIVEN[p.given]} ${FAMILY[p.family]}`,
    givenName: GIVEN[p.given]!,
    familyName: FAMILY[p.family]!,
    email: email(name),
    active,
  };
  if (p.title !== undefined) attributes.title = TITLES[p.title]!;
  if (p.department !== undefined) attributes.department = DEPARTMENTS[p.department]!;
  if (p.phone !== undefined) attributes.phoneNumber = { value: PHONES[p.phone]!, type: "work" };
  return attributes;
}

/** Builds a consistent world: unique names and ids as Google and AWS guarantee, a state that describes the tenant. */
function build(raw: RawWorld): World {
  const managedAttributes = managedAttributesFor(raw.policy.fields);
  const policy: PlanPolicy = { ...raw.policy, managedAttributes };

  // Source: primary emails and ids unique; only the attributes the policy selects (the source adapter's contract).
  const seenNames = new Set<number>();
  const seenIds = new Set<number>();
  const users: SourceUser[] = [];
  for (const u of raw.source.users) {
    if (seenNames.has(u.name) || seenIds.has(u.id)) continue;
    seenNames.add(u.name);
    seenIds.add(u.id);
    const attributes = personAttributes(NAMES[u.name]!, email(NAMES[u.name]!), u.person, true);
    if (!managedAttributes.has("title")) delete attributes.title;
    if (!managedAttributes.has("department")) delete attributes.department;
    if (!managedAttributes.has("phoneNumber")) delete attributes.phoneNumber;
    if (u.manager !== undefined && managedAttributes.has("managerSourceId")) attributes.managerSourceId = USER_IDS[u.manager]!;
    users.push({ sourceId: USER_IDS[u.id]!, attributes, suspended: u.suspended });
  }
  const groupNames = new Set<number>();
  const groupIds = new Set<number>();
  const groups: DesiredGroup[] = [];
  for (const g of raw.source.groups) {
    if (groupNames.has(g.name) || groupIds.has(g.id)) continue;
    groupNames.add(g.name);
    groupIds.add(g.id);
    const members = users.length === 0 ? [] : [...new Set(g.members.map((m) => users[m % users.length]!.sourceId))].sort();
    groups.push({ sourceId: GROUP_IDS[g.id]!, displayName: GROUP_NAMES[g.name]!, memberSourceIds: members });
  }

  // Tenant: userName (case-insensitively), email and externalId unique; group displayName and externalId unique.
  const tenantUsers: TenantUser[] = [];
  const tNames = new Set<number>();
  const tExternal = new Set<number>();
  const inStateUser = new Set<string>();
  raw.tenant.users.forEach((u, k) => {
    if (tNames.has(u.name)) return;
    tNames.add(u.name);
    const externalId = u.externalId !== undefined && !tExternal.has(u.externalId) ? u.externalId : undefined;
    if (externalId !== undefined) tExternal.add(externalId);
    const name = NAMES[u.name]!;
    const user: TenantUser = { scimId: `t-u${k}`, attributes: personAttributes(name, u.upper ? email(name).toUpperCase() : email(name), u.person, u.active) };
    if (externalId !== undefined) {
      user.externalId = USER_IDS[externalId]!;
      if (u.inState) inStateUser.add(user.scimId);
    }
    tenantUsers.push(user);
  });
  raw.tenant.users.forEach((u, k) => {
    const user = tenantUsers.find((t) => t.scimId === `t-u${k}`);
    if (user && u.manager !== undefined && tenantUsers.length > 0) user.managerScimId = tenantUsers[u.manager % tenantUsers.length]!.scimId;
  });
  const tenantGroups: { group: ModelGroup; inState: boolean; stateName?: string; stateMembers?: string[] }[] = [];
  const tgNames = new Set<number>();
  const tgExternal = new Set<number>();
  raw.tenant.groups.forEach((g, k) => {
    if (tgNames.has(g.name)) return;
    tgNames.add(g.name);
    const externalId = g.externalId !== undefined && !tgExternal.has(g.externalId) ? g.externalId : undefined;
    if (externalId !== undefined) tgExternal.add(externalId);
    const members = new Set(tenantUsers.length === 0 ? [] : g.members.map((m) => tenantUsers[m % tenantUsers.length]!.scimId));
    tenantGroups.push({
      group: { scimId: `t-g${k}`, ...(externalId !== undefined ? { externalId: GROUP_IDS[externalId]! } : {}), displayName: GROUP_NAMES[g.name]!, members },
      inState: externalId !== undefined && g.inState,
      ...(g.stateName !== undefined ? { stateName: GROUP_NAMES[g.stateName]! } : {}),
      ...(g.stateMembers !== undefined && tenantUsers.length > 0 ? { stateMembers: g.stateMembers.map((m) => tenantUsers[m % tenantUsers.length]!.scimId) } : {}),
    });
  });

  // State: keyed by the externalId the tool wrote; attributes = what AWS holds (last written).
  const stateUsers: Record<string, ManagedUser> = {};
  const sourceIdOf = new Map<string, string>();
  for (const u of tenantUsers) if (inStateUser.has(u.scimId)) sourceIdOf.set(u.scimId, u.externalId!);
  tenantUsers.forEach((u, k) => {
    const sourceId = sourceIdOf.get(u.scimId);
    if (sourceId === undefined) return;
    const drift = raw.tenant.users.find((_, i) => `t-u${i}` === u.scimId)?.stateDrift;
    const attributes: UserAttributes = drift === undefined ? structuredClone(u.attributes) : personAttributes(NAMES[k % NAMES.length]!, u.attributes.userName, drift, !u.attributes.active);
    const manager = u.managerScimId === undefined ? undefined : sourceIdOf.get(u.managerScimId);
    if (manager !== undefined) attributes.managerSourceId = manager;
    stateUsers[sourceId] = { scimId: u.scimId, hash: "", attributes };
  });
  for (const i of raw.staleUsers) {
    const id = USER_IDS[i]!;
    if (stateUsers[id] || tenantUsers.some((u) => u.externalId === id)) continue;
    stateUsers[id] = { scimId: `gone-${id}`, hash: "", attributes: { userName: email(`gone-${id}`), displayName: "Gone", givenName: "Gone", familyName: "Gone", email: email(`gone-${id}`), active: true } };
  }
  const stateGroups: Record<string, ManagedGroup> = {};
  for (const { group, inState, stateName, stateMembers } of tenantGroups) {
    if (!inState) continue;
    stateGroups[group.externalId!] = {
      scimId: group.scimId,
      hash: "",
      displayName: stateName ?? group.displayName,
      memberSourceIds: [...new Set([...(stateMembers ?? group.members)].flatMap((id) => (sourceIdOf.has(id) ? [sourceIdOf.get(id)!] : [])))].sort(),
    };
  }
  for (const i of raw.staleGroups) {
    const id = GROUP_IDS[i]!;
    if (stateGroups[id] || tenantGroups.some((g) => g.group.externalId === id)) continue;
    stateGroups[id] = { scimId: `gone-${id}`, hash: "", displayName: `Gone ${id}`, memberSourceIds: [] };
  }

  return {
    source: { users, groups, warnings: [] },
    tenant: {
      users: tenantUsers,
      groups: tenantGroups.map(({ group }) => ({
        scimId: group.scimId,
        ...(group.externalId !== undefined ? { externalId: group.externalId } : {}),
        displayName: group.displayName,
        memberScimIds: [...group.members].sort(),
      })),
    },
    state: { schemaVersion: STATE_SCHEMA_VERSION, users: stateUsers, groups: stateGroups },
    policy,
  };
}

// ---- the expected outcome, from first principles -----------------------------------------

interface Expectation {
  /** source id → the tenant user it is (undefined: to be created). */
  userMatch: Map<string, string | undefined>;
  groupMatch: Map<string, string | undefined>;
  desiredUsers: SourceUser[];
  frozenScimIds: Set<string>;
  /** Tenant resources that nothing in the plan may touch (unless deleteUnmanaged). */
  unmanagedUsers: Set<string>;
  unmanagedGroups: Set<string>;
  /** Why the world is out of scope for a one-run convergence (a name held by another resource), if it is. */
  unresolvable?: string;
}

function expectationOf(world: World): Expectation {
  const { source, tenant, state, policy } = world;
  const desiredUsers = source.users.flatMap((u): SourceUser[] => {
    if (!u.suspended) return [u];
    if (policy.suspendedUsers === "deactivate") return [{ ...u, attributes: { ...u.attributes, active: false } }];
    return [];
  });
  const frozen = source.users.filter((u) => u.suspended && policy.suspendedUsers === "ignore").map((u) => u.sourceId);
  const tenantUserIds = new Set(tenant.users.map((u) => u.scimId));
  const managedUserScimIds = new Map(Object.entries(state.users).map(([sourceId, m]) => [m.scimId, sourceId]));
  const managedGroupScimIds = new Map(Object.entries(state.groups).map(([sourceId, m]) => [m.scimId, sourceId]));
  let unresolvable: string | undefined;

  // Matching by strength, each rule over every desired resource before the next (README "How it
  // works" §3): the state's record, then externalId, then userName / displayName.
  const userMatch = new Map<string, string | undefined>();
  const claimed = new Set<string>();
  const rulesForUser = [
    (d: SourceUser) => {
      const id = state.users[d.sourceId]?.scimId;
      return id !== undefined && tenantUserIds.has(id) && !claimed.has(id) ? id : undefined;
    },
    (d: SourceUser) => freeUser(d, tenant.users.find((u) => u.externalId === d.sourceId)),
    (d: SourceUser) => freeUser(d, tenant.users.find((u) => lower(u.attributes.userName) === lower(d.attributes.userName))),
  ];
  function freeUser(d: SourceUser, u: TenantUser | undefined) {
    return u && !claimed.has(u.scimId) && (managedUserScimIds.get(u.scimId) ?? d.sourceId) === d.sourceId ? u.scimId : undefined;
  }
  for (const rule of rulesForUser) {
    for (const d of desiredUsers) {
      if (userMatch.get(d.sourceId) !== undefined) continue;
      const match = rule(d);
      if (match !== undefined) {
        userMatch.set(d.sourceId, match);
        claimed.add(match);
      }
    }
  }
  for (const d of desiredUsers) {
    if (!userMatch.has(d.sourceId)) userMatch.set(d.sourceId, undefined);
    const match = userMatch.get(d.sourceId);
    const holder = tenant.users.find((u) => lower(u.attributes.userName) === lower(d.attributes.userName) || lower(u.attributes.email) === lower(d.attributes.email));
    if (holder && holder.scimId !== match) unresolvable ??= `user ${d.attributes.userName} is held by ${holder.scimId}, not by its match ${match}`;
  }

  const groupMatch = new Map<string, string | undefined>();
  const claimedGroups = new Set<string>();
  const tenantGroupIds = new Set(tenant.groups.map((g) => g.scimId));
  type TG = TenantSnapshot["groups"][number];
  const freeGroup = (g: DesiredGroup, t: TG | undefined) =>
    t && !claimedGroups.has(t.scimId) && (managedGroupScimIds.get(t.scimId) ?? g.sourceId) === g.sourceId ? t.scimId : undefined;
  const rulesForGroup = [
    (g: DesiredGroup) => {
      const id = state.groups[g.sourceId]?.scimId;
      return id !== undefined && tenantGroupIds.has(id) && !claimedGroups.has(id) ? id : undefined;
    },
    (g: DesiredGroup) => freeGroup(g, tenant.groups.find((t) => t.externalId === g.sourceId)),
    (g: DesiredGroup) => freeGroup(g, tenant.groups.find((t) => t.displayName === g.displayName)),
  ];
  const sortedGroups = [...source.groups].sort((a, b) => (a.sourceId < b.sourceId ? -1 : 1));
  for (const rule of rulesForGroup) {
    for (const g of sortedGroups) {
      if (groupMatch.get(g.sourceId) !== undefined) continue;
      const match = rule(g);
      if (match !== undefined) {
        groupMatch.set(g.sourceId, match);
        claimedGroups.add(match);
      }
    }
  }
  for (const g of source.groups) {
    const match = groupMatch.get(g.sourceId);
    const holder = tenant.groups.find((t) => t.displayName === g.displayName);
    if (holder && holder.scimId !== match) unresolvable ??= `group "${g.displayName}" is held by ${holder.scimId}, not by its match ${match}`;
  }

  const unmanagedUsers = new Set(tenant.users.filter((u) => !managedUserScimIds.has(u.scimId) && !claimed.has(u.scimId)).map((u) => u.scimId));
  const unmanagedGroups = new Set(tenant.groups.filter((g) => !managedGroupScimIds.has(g.scimId) && !claimedGroups.has(g.scimId)).map((g) => g.scimId));
  const frozenScimIds = new Set(frozen.flatMap((id) => (state.users[id] && tenantUserIds.has(state.users[id].scimId) ? [state.users[id].scimId] : [])));
  return { userMatch, groupMatch, desiredUsers, frozenScimIds, unmanagedUsers, unmanagedGroups, ...(unresolvable ? { unresolvable } : {}) };
}

/** Checks `after` (the model once the plan ran) against what the world asks for. Returns the problems found. */
function checkOutcome(world: World, exp: Expectation, before: TenantModel, after: TenantModel): string[] {
  const problems: string[] = [];
  const { source, state, policy } = world;
  const desiredIds = new Set(exp.desiredUsers.map((u) => u.sourceId));
  const byExternal = new Map([...after.users.values()].flatMap((u) => (u.externalId !== undefined ? [[u.externalId, u] as const] : [])));
  const scimIdOf = (sourceId: string) => byExternal.get(sourceId)?.scimId;

  for (const d of exp.desiredUsers) {
    const u = byExternal.get(d.sourceId);
    if (!u) {
      problems.push(`desired user ${d.sourceId} (${d.attributes.userName}) is missing`);
      continue;
    }
    const match = exp.userMatch.get(d.sourceId);
    if (match !== undefined && u.scimId !== match) problems.push(`user ${d.sourceId} is ${u.scimId}, expected its match ${match} to be kept`);
    for (const name of USER_ATTRIBUTE_NAMES) {
      if (name === "managerSourceId" || !policy.managedAttributes.has(name)) continue;
      if (!sameValue(u.attributes[name], d.attributes[name])) {
        problems.push(`user ${d.sourceId}.${name} = ${JSON.stringify(u.attributes[name])}, expected ${JSON.stringify(d.attributes[name])}`);
      }
    }
    if (policy.managedAttributes.has("managerSourceId")) {
      const m = d.attributes.managerSourceId;
      const expected = m !== undefined && m !== d.sourceId && desiredIds.has(m) ? scimIdOf(m) : undefined;
      if (u.managerScimId !== expected) problems.push(`user ${d.sourceId} has manager ${u.managerScimId}, expected ${expected}`);
    }
  }
  const sameUsers = [...after.users.values()].filter((u) => u.externalId !== undefined && desiredIds.has(u.externalId));
  if (sameUsers.length !== desiredIds.size) problems.push(`${sameUsers.length} users carry a desired externalId, expected ${desiredIds.size}`);

  for (const g of source.groups) {
    const found = [...after.groups.values()].filter((t) => t.externalId === g.sourceId);
    if (found.length !== 1) {
      problems.push(`desired group ${g.sourceId} exists ${found.length} times`);
      continue;
    }
    const group = found[0]!;
    const match = exp.groupMatch.get(g.sourceId);
    if (match !== undefined && group.scimId !== match) problems.push(`group ${g.sourceId} is ${group.scimId}, expected its match ${match} to be kept`);
    if (group.displayName !== g.displayName) problems.push(`group ${g.sourceId} is named "${group.displayName}", expected "${g.displayName}"`);
    const wanted = new Set(g.memberSourceIds.filter((id) => desiredIds.has(id)).map((id) => scimIdOf(id) ?? `missing:${id}`));
    const previous = match === undefined ? new Set<string>() : (before.groups.get(match)?.members ?? new Set<string>());
    for (const id of previous) if (exp.frozenScimIds.has(id) && after.users.has(id)) wanted.add(id);
    const have = [...group.members].sort();
    if (JSON.stringify(have) !== JSON.stringify([...wanted].sort())) problems.push(`group ${g.sourceId} has members ${JSON.stringify(have)}, expected ${JSON.stringify([...wanted].sort())}`);
  }

  // Managed resources that are no longer desired.
  const sync = policy.mode === "sync";
  for (const [sourceId, managed] of Object.entries(state.users)) {
    if (desiredIds.has(sourceId) || !before.users.has(managed.scimId)) continue;
    const now = after.users.get(managed.scimId);
    if ([...exp.userMatch.values()].includes(managed.scimId)) continue;
    const sourceUser = source.users.find((u) => u.sourceId === sourceId);
    if (sourceUser?.suspended && policy.suspendedUsers === "ignore") {
      if (!now || JSON.stringify(now) !== JSON.stringify(before.users.get(managed.scimId))) problems.push(`frozen user ${sourceId} was touched`);
      continue;
    }
    const remove = sourceUser?.suspended ? true : policy.removedUsers === "delete";
    if (remove && sync && now) problems.push(`user ${sourceId} left the scope but still exists`);
    if (remove && !sync && !now) problems.push(`user ${sourceId} was deleted in upsert mode`);
    if (!remove && (!now || now.attributes.active !== false)) problems.push(`user ${sourceId} left the scope and should be deactivated`);
  }
  const desiredGroupIds = new Set(source.groups.map((g) => g.sourceId));
  for (const [sourceId, managed] of Object.entries(state.groups)) {
    if (desiredGroupIds.has(sourceId) || !before.groups.has(managed.scimId)) continue;
    const now = after.groups.has(managed.scimId);
    if (sync && now) problems.push(`group ${sourceId} left the scope but still exists`);
    if (!sync && !now) problems.push(`group ${sourceId} was deleted in upsert mode`);
  }

  // Unmanaged resources: untouched, or (deleteUnmanaged in sync mode) gone.
  const purge = policy.deleteUnmanaged && sync;
  for (const id of exp.unmanagedUsers) {
    const was = before.users.get(id)!;
    const now = after.users.get(id);
    if (purge) {
      if (now) problems.push(`unmanaged user ${id} survived delete_unmanaged`);
    } else if (!now || JSON.stringify(now) !== JSON.stringify(was)) problems.push(`unmanaged user ${id} (${was.attributes.userName}) was changed or deleted`);
  }
  for (const id of exp.unmanagedGroups) {
    const was = before.groups.get(id)!;
    const now = after.groups.get(id);
    if (purge) {
      if (now) problems.push(`unmanaged group ${id} survived delete_unmanaged`);
      continue;
    }
    const survivors = [...was.members].filter((m) => after.users.has(m)).sort();
    if (!now || now.displayName !== was.displayName || now.externalId !== was.externalId || JSON.stringify([...now.members].sort()) !== JSON.stringify(survivors)) {
      problems.push(`unmanaged group ${id} ("${was.displayName}") was changed or deleted`);
    }
  }
  return problems;
}

/** Operations that name an unmanaged resource (by SCIM id): only deletes under delete_unmanaged may. */
function touchesOfUnmanaged(p: Plan, exp: Expectation, policy: PlanPolicy): string[] {
  const out: string[] = [];
  const allowed = (op: Operation) => policy.deleteUnmanaged && policy.mode === "sync" && (op.kind === "deleteUser" || op.kind === "deleteGroup") && op.why === "unmanaged";
  for (const op of p.operations) {
    if (allowed(op)) continue;
    const users: string[] = [];
    const groups: string[] = [];
    if (op.kind === "updateUser" && op.scimId) users.push(op.scimId);
    if (op.kind === "deleteUser") users.push(op.scimId);
    if (op.kind === "updateGroup" || op.kind === "deleteGroup") groups.push(op.scimId);
    if ((op.kind === "addMembers" || op.kind === "removeMembers") && op.group.scimId) groups.push(op.group.scimId);
    if (op.kind === "addMembers") for (const m of op.members) if (m.scimId) users.push(m.scimId);
    for (const id of users) if (exp.unmanagedUsers.has(id)) out.push(`${op.kind} touches unmanaged user ${id}`);
    for (const id of groups) if (exp.unmanagedGroups.has(id)) out.push(`${op.kind} touches unmanaged group ${id}`);
  }
  return out;
}

/** Phase order, and the order of dependent operations within a plan. */
function orderingProblems(p: Plan): string[] {
  const out: string[] = [];
  let last = 0;
  const createdUsers = new Set<string>();
  const deletedUsers = new Set<string>();
  for (const [i, op] of p.operations.entries()) {
    const phase = phaseOf(op);
    if (phase < last) out.push(`operation ${i} (${op.kind}) comes after a later phase`);
    last = Math.max(last, phase);
    if (op.kind === "createUser") {
      if (op.manager && op.manager.scimId === undefined && !createdUsers.has(op.manager.sourceId)) out.push(`createUser ${op.sourceId} names its manager before the manager's creation`);
      createdUsers.add(op.sourceId);
    }
    const refs = op.kind === "createGroup" || op.kind === "addMembers" || op.kind === "removeMembers" ? op.members : [];
    for (const ref of refs) {
      if (ref.scimId === undefined && !createdUsers.has(ref.sourceId)) out.push(`${op.kind} refers to user ${ref.sourceId} before its creation`);
      if (ref.scimId !== undefined && deletedUsers.has(ref.scimId)) out.push(`${op.kind} changes a membership of a user already deleted`);
    }
    if (op.kind === "deleteUser") deletedUsers.add(op.scimId);
    if ((op.kind === "createGroup" || op.kind === "addMembers" || op.kind === "removeMembers") && op.members.length > MAX_MEMBERS_PER_REQUEST) {
      out.push(`${op.kind} carries ${op.members.length} members (> ${MAX_MEMBERS_PER_REQUEST})`);
    }
    if ((op.kind === "addMembers" || op.kind === "removeMembers") && op.members.length === 0) out.push(`${op.kind} with no member`);
  }
  return out;
}

/** A model-independent view for comparing two models whose new ids differ. */
function canonical(model: TenantModel): unknown {
  const nameOf = (id: string | undefined) => (id === undefined ? undefined : (model.users.get(id)?.attributes.userName ?? `dangling:${id}`));
  const users = [...model.users.values()]
    .map((u: ModelUser) => ({ key: lower(u.attributes.userName), externalId: u.externalId, attributes: u.attributes, manager: nameOf(u.managerScimId) }))
    .sort((a, b) => a.key.localeCompare(b.key));
  const groups = [...model.groups.values()]
    .map((g) => ({ key: g.displayName, externalId: g.externalId, members: [...g.members].map(nameOf).sort() }))
    .sort((a, b) => a.key.localeCompare(b.key));
  return JSON.parse(JSON.stringify({ users, groups }));
}

/** What the runs exercised (operation kind and reason → runs that had one), printed once per property. */
const coverage: Record<string, number> = {};
let skipped = 0;

/**
 * The state names each resource once, and each carries its key as externalId; and (unless
 * `allowGone`: a create that failed leaves the entry of a resource deleted by hand) all exist.
 */
function stateIntegrity(state: SyncState, model: TenantModel, allowGone = false): string[] {
  const out: string[] = [];
  const seenUsers = new Map<string, string>();
  for (const [id, m] of Object.entries(state.users)) {
    const u = model.users.get(m.scimId);
    if (!u && !allowGone) out.push(`state user ${id} names ${m.scimId}, which does not exist`);
    else if (u && u.externalId !== id) out.push(`state user ${id} names ${m.scimId}, whose externalId is ${u.externalId}`);
    if (seenUsers.has(m.scimId)) out.push(`state users ${seenUsers.get(m.scimId)} and ${id} both name ${m.scimId}`);
    seenUsers.set(m.scimId, id);
  }
  const seenGroups = new Map<string, string>();
  for (const [id, m] of Object.entries(state.groups)) {
    const g = model.groups.get(m.scimId);
    if (!g && !allowGone) out.push(`state group ${id} names ${m.scimId}, which does not exist`);
    else if (g && g.externalId !== id) out.push(`state group ${id} names ${m.scimId}, whose externalId is ${g.externalId}`);
    if (seenGroups.has(m.scimId)) out.push(`state groups ${seenGroups.get(m.scimId)} and ${id} both name ${m.scimId}`);
    seenGroups.set(m.scimId, id);
  }
  return out;
}

/**
 * A world where a wanted name is held by another resource (a recreated account, two users
 * swapping addresses) cannot converge in one run: AWS answers 409 to the create or rename. The
 * run must still leave a sound state and touch nothing unmanaged, and the next run carries on.
 */
async function checkUnresolvable(world: World, exp: Expectation): Promise<void> {
  const before = TenantModel.from(world.tenant, "t");
  const problems: string[] = [];
  let state = world.state;
  const model = before.clone("exec");
  for (let run = 1; run <= 2; run++) {
    const p = plan(world.source, await readTenant(model.clone().target(), world.source, state), state, world.policy);
    if (run === 1) problems.push(...touchesOfUnmanaged(p, exp, world.policy));
    state = (await apply(p, state, { target: model.target(), concurrency: 1, managedAttributes: world.policy.managedAttributes, adoptGroupsByName: world.policy.adoptGroupsByName, protectedGroups: world.policy.protectedGroups })).state;
    problems.push(...stateIntegrity(state, model, true).map((s) => `after run ${run}: ${s}`));
  }
  if (problems.length > 0) throw new Error(`${problems.join("\n")}\n(${exp.unresolvable})\nworld: ${JSON.stringify(world, setReplacer)}`);
}

async function checkWorld(world: World): Promise<void> {
  const exp = expectationOf(world);
  if (exp.unresolvable !== undefined) {
    skipped++;
    return checkUnresolvable(world, exp);
  }
  const before = TenantModel.from(world.tenant, "t");
  // The tenant as the product reads it: every user and group, members of the relevant groups.
  const read = await readTenant(before.clone().target(), world.source, world.state);
  const p = plan(world.source, read, world.state, world.policy);
  const kinds = new Set(p.operations.map((op) => ("why" in op ? `${op.kind}:${op.why}` : op.kind)));
  if (p.bookkeeping.forgetUsers.length + p.bookkeeping.forgetGroups.length > 0) kinds.add("forget");
  if (p.operations.length === 0) kinds.add("empty");
  if (p.operations.some((op) => (op.kind === "addMembers" || op.kind === "removeMembers" || op.kind === "createGroup") && op.members.length === MAX_MEMBERS_PER_REQUEST)) kinds.add("full member chunk");
  for (const k of kinds) coverage[k] = (coverage[k] ?? 0) + 1;

  const problems = [...orderingProblems(p), ...touchesOfUnmanaged(p, exp, world.policy)];

  // 1. The oracle applies the operations by their meaning.
  const oracle = before.clone("oracle");
  const applied = applyOperations(oracle, p.operations);
  for (const r of applied.refused) problems.push(`oracle refused ${r.op.kind}: ${r.reason}`);
  problems.push(...checkOutcome(world, exp, before, oracle).map((s) => `oracle: ${s}`));

  // 2. The real executor against the same model: same tenant, and the state it leaves.
  const executed = before.clone("exec");
  const result = await apply(p, world.state, { target: executed.target(), concurrency: 1, managedAttributes: world.policy.managedAttributes, adoptGroupsByName: world.policy.adoptGroupsByName, protectedGroups: world.policy.protectedGroups });
  for (const f of result.failed) problems.push(`executor failed ${f.kind} ${f.subject}: ${f.reason}`);
  if (JSON.stringify(canonical(executed)) !== JSON.stringify(canonical(oracle))) problems.push(`executor and oracle disagree:\n${JSON.stringify(canonical(executed))}\n${JSON.stringify(canonical(oracle))}`);

  // 3. Nothing left to do: from a full read, and from the state alone.
  const state = result.state;
  problems.push(...stateIntegrity(state, executed));
  const reread = await readTenant(executed.clone().target(), world.source, state);
  const again = plan(world.source, reread, state, world.policy);
  for (const op of again.operations) problems.push(`re-plan (full read) not empty: ${describeOp(op)}`);
  if (again.bookkeeping.forgetUsers.length + again.bookkeeping.forgetGroups.length > 0) problems.push(`re-plan (full read) forgets ${JSON.stringify(again.bookkeeping)}`);
  const fromState = plan(world.source, tenantFromState(state), state, world.policy);
  for (const op of fromState.operations) problems.push(`re-plan (from state) not empty: ${describeOp(op)}`);

  if (problems.length > 0) {
    throw new Error(`${problems.join("\n")}\n\nplan:\n${p.operations.map(describeOp).join("\n")}\nworld: ${JSON.stringify(world, setReplacer)}`);
  }
}

function describeOp(op: Operation): string {
  return JSON.stringify(op);
}

function setReplacer(_key: string, value: unknown): unknown {
  return value instanceof Set ? [...value] : value;
}

/**
 * Large groups, so member changes exceed 100: up to 260 users, a group created with them all, and
 * a managed group whose members mostly change (adds and removes beyond 100 each).
 */
const bigWorldArb = fc.record({ users: fc.integer({ min: 90, max: 260 }), seed: fc.integer(), adoptPercent: fc.integer({ min: 0, max: 100 }) }).map(({ users: n, seed, adoptPercent }): World => {
  const random = seededRandom(seed);
  const users: SourceUser[] = Array.from({ length: n }, (_, i) => ({
    sourceId: `u${i}`,
    attributes: { userName: email(`user${i}`), displayName: `User ${i}`, givenName: "User", familyName: `${i}`, email: email(`user${i}`), active: true },
    suspended: false,
  }));
  // Some users exist already (managed, or to adopt by userName), members of the managed group at random.
  const tenantUsers: TenantUser[] = users.filter(() => random() * 100 < adoptPercent).map((u) => ({ scimId: `t-${u.sourceId}`, attributes: { ...u.attributes }, ...(random() < 0.5 ? { externalId: u.sourceId } : {}) }));
  const stateUsers: Record<string, ManagedUser> = {};
  for (const u of tenantUsers) if (u.externalId !== undefined) stateUsers[u.externalId] = { scimId: u.scimId, hash: "", attributes: { ...u.attributes } };
  const oldMembers = tenantUsers.filter(() => random() < 0.7).map((u) => u.scimId);
  const tenantGroup = { scimId: "t-g1", externalId: "g1", displayName: "Big", memberScimIds: oldMembers };
  const sourceIdOf = new Map(tenantUsers.flatMap((u) => (u.externalId !== undefined ? [[u.scimId, u.externalId] as const] : [])));
  return {
    source: {
      users,
      groups: [
        { sourceId: "g1", displayName: "Big", memberSourceIds: users.filter(() => random() < 0.5).map((u) => u.sourceId).sort() },
        { sourceId: "g2", displayName: "Everyone", memberSourceIds: users.map((u) => u.sourceId).sort() },
      ],
      warnings: [],
    },
    tenant: { users: tenantUsers, groups: [tenantGroup] },
    state: {
      schemaVersion: STATE_SCHEMA_VERSION,
      users: stateUsers,
      groups: { g1: { scimId: "t-g1", hash: "", displayName: "Big", memberSourceIds: oldMembers.flatMap((id) => (sourceIdOf.has(id) ? [sourceIdOf.get(id)!] : [])).sort() } },
    },
    policy: { suspendedUsers: "deactivate", removedUsers: "delete", deleteUnmanaged: false, mode: "sync", managedAttributes: managedAttributesFor([]), adoptGroupsByName: true, protectedGroups: [] },
  };
});

describe("planner properties", () => {
  test("applying the plan yields the desired state, touches nothing unmanaged, is ordered, and re-plans empty", async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (raw) => checkWorld(build(raw))),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
    console.log(`planner property: ${RUNS} runs (${skipped} with a name held by another resource: checked for a sound state only); plans with ${JSON.stringify(coverage)}`);
  }, 120_000);

  test("with groups of up to 260 members every member change goes in operations of at most 100, and the result is the same", async () => {
    for (const k of Object.keys(coverage)) delete coverage[k];
    const runs = Math.max(20, Math.round(RUNS / 10));
    await fc.assert(fc.asyncProperty(bigWorldArb, async (world) => checkWorld(world)), { numRuns: runs, ...(SEED !== undefined ? { seed: SEED } : {}) });
    expect(coverage["full member chunk"]).toBeGreaterThan(0);
    console.log(`planner property, large groups: ${runs} runs; plans with ${JSON.stringify(coverage)}`);
  }, 120_000);
});
