/**
 * @module Unit tests of the scope's pure parts: the exclusions (src/core/scope.ts), the planner
 * under sync.only_groups (src/core/plan.ts) and the gws.users_filter clause check (values.ts).
 */
import { describe, expect, test } from "bun:test";
import { usersFilterProblem } from "../../src/config/values.ts";
import { plan, type PlanPolicy } from "../../src/core/plan.ts";
import type { SourceSnapshot, SourceUser } from "../../src/core/ports.ts";
import { applyExclusions } from "../../src/core/scope.ts";
import type { DesiredGroup, SyncState, TenantUser, UserAttributes } from "../../src/model/index.ts";
import { managedAttributesFor, STATE_SCHEMA_VERSION } from "../../src/model/index.ts";

const attrs = (name: string): UserAttributes => ({ userName: `${name}@example.com`, displayName: name, givenName: name, familyName: "Test", email: `${name}@example.com`, active: true });
const user = (sourceId: string, name: string, suspended = false): SourceUser => ({ sourceId, attributes: attrs(name), suspended });
const group = (sourceId: string, displayName: string, members: string[], email?: string): DesiredGroup => ({ sourceId, displayName, memberSourceIds: members, ...(email ? { email } : {}) });
const snapshot = (users: SourceUser[], groups: DesiredGroup[]): SourceSnapshot => ({ users, groups, warnings: [] });

describe("applyExclusions", () => {
  const source = snapshot(
    [user("1", "ana"), user("2", "bo.contractor"), user("3", "gia")],
    [group("g1", "Engineering", ["1", "2"], "eng@example.com"), group("g2", "All Staff", ["1", "2", "3"], "all@example.com")],
  );

  test("nothing to exclude: the snapshot itself", () => {
    expect(applyExclusions(source, { method: "groups", excludeUsers: [], excludeGroups: [] }).snapshot).toBe(source);
  });

  test("a user by glob on email leaves every group; a group by email goes, and with method groups so does a user only it held", () => {
    const { snapshot: scoped, excluded } = applyExclusions(source, { method: "groups", excludeUsers: ["*CONTRACTOR*"], excludeGroups: ["all@example.com"] });
    expect(scoped.users.map((u) => u.sourceId)).toEqual(["1"]);
    expect(scoped.groups).toEqual([group("g1", "Engineering", ["1"], "eng@example.com")]);
    expect(excluded).toEqual({ users: 1, groups: 1, heldOnlyByExcluded: 1 });
    expect(source.groups[0]!.memberSourceIds).toEqual(["1", "2"]); // the read is not changed in place
  });

  test("with method users a user stays in scope without any group; a group matches by name too (? is one character)", () => {
    const { snapshot: scoped } = applyExclusions(source, { method: "users", excludeUsers: [], excludeGroups: ["All Staf?"] });
    expect(scoped.users.map((u) => u.sourceId)).toEqual(["1", "2", "3"]);
    expect(scoped.groups.map((g) => g.sourceId)).toEqual(["g1"]);
  });
});

describe("plan with sync.only_groups", () => {
  const policy: PlanPolicy = {
    suspendedUsers: "deactivate", removedUsers: "delete", deleteUnmanaged: true, mode: "sync",
    managedAttributes: managedAttributesFor([]), adoptGroupsByName: true, protectedGroups: [], onlyGroups: true,
  };
  const tenantUser = (scimId: string, name: string, externalId?: string): TenantUser => ({ scimId, attributes: { ...attrs(name), displayName: "Someone else's" }, ...(externalId ? { externalId } : {}) });
  const state: SyncState = {
    schemaVersion: STATE_SCHEMA_VERSION,
    users: { old: { scimId: "s-old", attributes: attrs("old") }, gone: { scimId: "s-gone", attributes: attrs("gone") } },
    groups: {},
  };

  test("no user operation, even with delete_unmanaged and a managed user gone from the source; members are the AWS users matched", () => {
    const source = snapshot([user("1", "ana"), user("2", "bo"), user("3", "cy"), user("4", "dee", true)], [group("g1", "Team", ["1", "2", "3", "4"])]);
    const tenant = {
      users: [tenantUser("s-ana", "ana", "other-tool"), tenantUser("s-bo", "bo"), tenantUser("s-dee", "dee"), tenantUser("s-old", "old", "old"), tenantUser("s-x", "stranger")],
      groups: [],
    };
    const p = plan(source, tenant, state, policy);
    expect(p.operations.map((op) => op.kind)).toEqual(["createGroup"]);
    // ana carries another tool's externalId and is still ana; cy has no AWS user; dee is suspended: left out.
    expect(p.operations[0]).toMatchObject({ members: [{ scimId: "s-ana", sourceId: "1" }, { scimId: "s-bo", sourceId: "2" }] });
    expect(p.warnings.join("\n")).toContain('sync.only_groups: 1 users in scope have no AWS user ("cy@example.com")');
    expect(p.rejected).toEqual([]);
    // A record of an earlier run whose user is gone from AWS is forgotten; "old" (still there, no longer in scope) is left alone.
    expect(p.bookkeeping.forgetUsers).toEqual(["gone"]);
  });
});

describe("usersFilterProblem", () => {
  test("Google's documented forms pass", () => {
    for (const query of ["orgUnitPath='/Engineering'", "isSuspended=false", "Custom.awsAccess=true", "email:dev*", "orgUnitPath='/Sales EMEA' isSuspended=false", "manager=boss@example.com", "jane", "name:'Jane Smith'", "EmployeeData.startYear>=2020"]) {
      expect(usersFilterProblem(query)).toBeUndefined();
    }
  });

  test("each mistake is one phrase naming the clause", () => {
    expect(usersFilterProblem("orgUnit=/Eng")).toContain(`"orgUnit=/Eng" names no Directory user search field`);
    expect(usersFilterProblem("orgUnitPath:/Eng")).toContain("orgUnitPath takes only =");
    expect(usersFilterProblem("isSuspended=no")).toContain("isSuspended is true or false");
    expect(usersFilterProblem("email=")).toContain("has no value");
    expect(usersFilterProblem("orgUnitPath='/Eng")).toContain("unbalanced single quote");
    expect(usersFilterProblem("constructor=x")).toContain("names no Directory user search field");
  });
});
