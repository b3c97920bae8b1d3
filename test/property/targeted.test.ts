/**
 * @module Property test of sync on demand: for random organisations synced in full once, then
 * changed, and random names asked for, the targeted run (the core's pipeline over the tenant model
 * as the ScimTarget, the real executor) leaves every state record outside its targets as the very
 * same object, and gives the named users what a full sync gives them: their attributes, and their
 * membership of every group.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { apply } from "../../src/core/apply.ts";
import { confirmOwnership } from "../../src/core/confirm.ts";
import { SyncError } from "../../src/core/errors.ts";
import { plan, type PlanPolicy } from "../../src/core/plan.ts";
import type { SourceSnapshot, SourceUser } from "../../src/core/ports.ts";
import { explainNameClashes, knownRecords, resolveTargets, restrictPlan, targetedSource, targetedTenant, targetsFromSnapshot } from "../../src/core/targeted.ts";
import { emptyState, managedAttributesFor, type SyncState, type TenantSnapshot } from "../../src/model/index.ts";
import { TenantModel } from "../support/tenant-model.ts";

const RUNS = Number(process.env.FC_RUNS ?? 200);
const NAMES = ["ana", "bo", "carla", "dev", "eun", "farah", "goran", "hana"];
const FAMILY = ["Lima", "Chen", "Díaz"];
const GROUP_NAMES = ["Admins", "Developers", "ReadOnly", "Operators", "All Staff", "Billing"];

const orgArb = fc.record({
  users: fc.uniqueArray(fc.record({ id: fc.nat(NAMES.length - 1), family: fc.nat(FAMILY.length - 1) }), { selector: (u) => u.id, maxLength: 7 }),
  groups: fc.uniqueArray(fc.record({ id: fc.nat(4), name: fc.nat(GROUP_NAMES.length - 1), members: fc.uniqueArray(fc.nat(NAMES.length - 1), { maxLength: 6 }) }), {
    selector: (g) => g.id,
    maxLength: 4,
  }),
});

const caseArb = fc.record({
  before: orgArb,
  after: orgArb,
  users: fc.uniqueArray(fc.nat(NAMES.length - 1), { maxLength: 2 }),
  groups: fc.uniqueArray(fc.nat(GROUP_NAMES.length - 1), { maxLength: 1 }),
  removedUsers: fc.constantFrom("delete" as const, "deactivate" as const),
});

type Org = typeof orgArb extends fc.Arbitrary<infer T> ? T : never;

/** The organisation as a source reads it: unique group names (one per name), members that are users of it. */
function sourceOf(org: Org): SourceSnapshot {
  const users: SourceUser[] = org.users.map((u) => ({
    sourceId: `u${u.id}`,
    suspended: false,
    attributes: { userName: `${NAMES[u.id]}@example.com`, email: `${NAMES[u.id]}@example.com`, givenName: NAMES[u.id]!, familyName: FAMILY[u.family]!, displayName: NAMES[u.id]!, active: true },
  }));
  const ids = new Set(users.map((u) => u.sourceId));
  const names = new Set<number>();
  const groups = org.groups.flatMap((g) => {
    if (names.has(g.name)) return [];
    names.add(g.name);
    return [{ sourceId: `g${g.id}`, displayName: GROUP_NAMES[g.name]!, memberSourceIds: g.members.map((m) => `u${m}`).filter((id) => ids.has(id)).sort() }];
  });
  return { users, groups, warnings: [] };
}

/** A full sync's state, and whether every record of it went through (no record failed or was rejected). */
async function fullSync(source: SourceSnapshot, model: TenantModel, state: SyncState, policy: PlanPolicy): Promise<{ state: SyncState; clean: boolean }> {
  const planned = plan(source, model.snapshot(), state, policy);
  const result = await apply(planned, state, { target: model.target(), concurrency: 4, managedAttributes: policy.managedAttributes, adoptGroupsByName: true, protectedGroups: [] });
  return { state: result.state, clean: result.failed.length === 0 && planned.rejected.length === 0 };
}

describe("sync on demand properties", () => {
  test("records outside the targets stay the same objects; named users end as a full sync leaves them", async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const policy: PlanPolicy = { suspendedUsers: "deactivate", removedUsers: c.removedUsers, deleteUnmanaged: false, mode: "sync", managedAttributes: managedAttributesFor([]), adoptGroupsByName: true, protectedGroups: [] };
        const model = new TenantModel("t");
        const { state } = await fullSync(sourceOf(c.before), model, emptyState(), policy);
        const after = sourceOf(c.after);
        const targets = { users: c.users.map((i) => `${NAMES[i]}@example.com`), groups: c.groups.map((i) => GROUP_NAMES[i]!) };

        // The targeted run, as runSync does it (without the rails).
        const targetedModel = model.clone("o");
        const target = targetedModel.target();
        const answered = targetsFromSnapshot(after, targets, knownRecords(state));
        let scope;
        try {
          scope = resolveTargets(answered, state);
        } catch (error) {
          if (error instanceof SyncError && error.code === "TARGET_UNKNOWN") return;
          throw error;
        }
        const { tenant, alreadyRead } = await targetedTenant(target, state, scope, answered.snapshot);
        const source = targetedSource(answered.snapshot, scope, state);
        const planOf = (t: TenantSnapshot) => explainNameClashes(restrictPlan(plan(source, t, state, policy), scope), answered.snapshot, state);
        const planned = (await confirmOwnership(planOf(tenant), tenant, state, target, planOf, alreadyRead)).plan;
        const result = await apply(planned, state, { target, concurrency: 4, managedAttributes: policy.managedAttributes, adoptGroupsByName: true, protectedGroups: [] });
        const targeted = result.state;
        // A record the targeted run could not act on (a name a managed group it was not asked
        // about still holds: a rename meets 409, a create is a duplicate name) waits for the
        // scheduled run, as a full sync's failed record waits for the next: compared no further.
        const settled = result.failed.length === 0 && planned.rejected.length === 0;

        const touchedUsers = new Set([...scope.users, ...scope.namedUsers]);
        const touchedGroups = new Set([...scope.groups, ...scope.namedGroups]);
        for (const id of Object.keys(state.users)) if (!touchedUsers.has(id)) expect(targeted.users[id]).toBe(state.users[id]!);
        for (const id of Object.keys(state.groups)) if (!touchedGroups.has(id)) expect(targeted.groups[id]).toBe(state.groups[id]!);
        expect(Object.keys(targeted.users).filter((id) => !touchedUsers.has(id)).sort()).toEqual(Object.keys(state.users).filter((id) => !touchedUsers.has(id)).sort());

        if (!settled) return;
        // The full sync of the same change, from the same start.
        const { state: full, clean } = await fullSync(after, model.clone("f"), state, policy);
        if (!clean) return;
        for (const id of scope.namedUsers) {
          expect(targeted.users[id]?.attributes).toEqual(full.users[id]?.attributes);
          for (const [groupId, group] of Object.entries(full.groups)) {
            if (group.memberSourceIds.includes(id)) expect(targeted.groups[groupId]?.memberSourceIds).toContain(id);
          }
          for (const [groupId, group] of Object.entries(targeted.groups)) {
            if (group.memberSourceIds.includes(id) && full.groups[groupId] !== undefined) expect(full.groups[groupId]!.memberSourceIds).toContain(id);
          }
        }
        // A named group ends with the full sync's members and name.
        const shape = (g: SyncState["groups"][string] | undefined) => (g === undefined ? undefined : { displayName: g.displayName, members: g.memberSourceIds });
        for (const id of scope.namedGroups) expect(shape(targeted.groups[id])).toEqual(shape(full.groups[id]));
      }),
      { numRuns: RUNS },
    );
  });
});
