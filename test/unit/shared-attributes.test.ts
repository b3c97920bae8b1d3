import { describe, expect, test } from "bun:test";
import { identical, sourceSharingState, tenantUserSharing } from "../../src/core/shared-attributes.ts";
import { emptyState, type SyncState, type UserAttributes } from "../../src/model/index.ts";
import type { SourceSnapshot } from "../../src/core/ports.ts";

const kim = (extra: Partial<UserAttributes> = {}): UserAttributes => ({
  userName: "kim@example.org",
  displayName: "Kim Sato",
  givenName: "Kim",
  familyName: "Sato",
  email: "kim@example.org",
  active: true,
  phoneNumber: { value: "+1 555", type: "work" },
  ...extra,
});

function stateWith(attributes: UserAttributes): SyncState {
  return { ...emptyState(), users: { "111": { scimId: "u-1", attributes } } };
}

const sourceOf = (attributes: UserAttributes): SourceSnapshot => ({ users: [{ sourceId: "111", attributes, suspended: false }], groups: [], warnings: [] });

describe("identical: equal key for key, not by the planner's blank-is-absent rule", () => {
  test("equal in any key order, nested objects included; an undefined key counts as absent", () => {
    expect(identical(kim(), { ...kim(), phoneNumber: { type: "work", value: "+1 555" } })).toBe(true);
    expect(identical(kim(), { ...kim(), title: undefined })).toBe(true);
  });
  test('"" is not absent, a changed nested value is a difference, an extra key is a difference', () => {
    expect(identical(kim(), kim({ title: "" }))).toBe(false);
    expect(identical(kim(), kim({ phoneNumber: { value: "+1 556", type: "work" } }))).toBe(false);
    expect(identical(kim({ title: "CTO" }), kim())).toBe(false);
  });
  test("the skipped key is compared on neither side", () => {
    expect(identical(kim(), kim({ managerSourceId: "112" }), "managerSourceId")).toBe(true);
    expect(identical(kim(), kim({ managerSourceId: "112" }))).toBe(false);
  });
});

describe("sourceSharingState", () => {
  test("a source user identical to its record takes the record's object", () => {
    const state = stateWith(kim());
    const shared = sourceSharingState(sourceOf(kim()), state);
    expect(shared.users[0]?.attributes).toBe(state.users["111"]!.attributes);
  });
  test("a source user that differs in one value keeps its own (the plan must see the change)", () => {
    const state = stateWith(kim());
    const source = sourceOf(kim({ title: "CTO" }));
    expect(sourceSharingState(source, state)).toBe(source);
  });
});

describe("tenantUserSharing", () => {
  test("a tenant user identical to its record (found by SCIM id) takes the record's, its manager aside", () => {
    const state = stateWith(kim({ managerSourceId: "112" }));
    const share = tenantUserSharing(sourceOf(kim()), state);
    const read = { scimId: "u-1", externalId: "111", attributes: kim() };
    expect(share(read).attributes).toBe(state.users["111"]!.attributes);
  });
  test("without a record (adoption), the source user its externalId names", () => {
    const source = sourceOf(kim());
    const share = tenantUserSharing(source, emptyState());
    expect(share({ scimId: "u-9", externalId: "111", attributes: kim() }).attributes).toBe(source.users[0]!.attributes);
  });
  test("the source's users are not indexed while every tenant user has its record (a reconcile holds the whole tenant already)", () => {
    const state = stateWith(kim());
    let looked = 0;
    const source = { groups: [], warnings: [], get users() { looked++; return sourceOf(kim()).users; } };
    const share = tenantUserSharing(source, state);
    expect(share({ scimId: "u-1", externalId: "111", attributes: kim() }).attributes).toBe(state.users["111"]!.attributes);
    expect(looked).toBe(0);
    // A user whose externalId keys a record naming another SCIM id: no record of its own, so the source's index is built.
    share({ scimId: "u-2", externalId: "111", attributes: kim() });
    expect(looked).toBe(1);
  });
  test("drift made by hand in AWS keeps AWS's values, so the plan repairs it", () => {
    const state = stateWith(kim());
    const drifted = { scimId: "u-1", externalId: "111", attributes: kim({ displayName: "Kim (edited in AWS)" }) };
    expect(tenantUserSharing(sourceOf(kim()), state)(drifted)).toBe(drifted);
  });
});
