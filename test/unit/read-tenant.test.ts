/** @module Unit tests of the full tenant read (src/core/sync.ts readTenant): what it asks of the target, and when it lets the shell collect garbage. */
import { describe, expect, test } from "bun:test";
import { readTenant } from "../../src/core/sync.ts";
import type { TenantSnapshot, UserAttributes } from "../../src/model/index.ts";
import { emptyState } from "../../src/model/index.ts";
import { TenantModel } from "../support/tenant-model.ts";

const attrs = (i: number): UserAttributes => ({ userName: `u${i}@example.com`, displayName: `U ${i}`, givenName: "U", familyName: `${i}`, email: `u${i}@example.com`, active: true });

describe("readTenant: memory at 200,000 users (issue 11)", () => {
  test("a read of 60,000 users and 6,000 groups lets the shell collect the pages' garbage as it goes, not only at its end", async () => {
    const tenant: TenantSnapshot = {
      users: Array.from({ length: 60_000 }, (_, i) => ({ scimId: `s${i}`, externalId: `e${i}`, attributes: attrs(i) })),
      groups: Array.from({ length: 6_000 }, (_, i) => ({ scimId: `g${i}`, externalId: `G${i}`, displayName: `Group ${i}`, memberScimIds: [`s${i}`] })),
    };
    const source = { users: [], groups: tenant.groups.map((g) => ({ sourceId: g.externalId!, displayName: g.displayName, memberSourceIds: [] })), warnings: [] };
    let settled = 0;
    const read = await readTenant(TenantModel.from(tenant, "t").target(), source, emptyState(), () => settled++);
    expect(read.users).toHaveLength(60_000);
    expect(read.groups.filter((g) => g.memberScimIds?.length === 1)).toHaveLength(6_000);
    // Every 25,000 users listed and every 2,500 groups' members read.
    expect(settled).toBe(2 + 2);
  });
});
