/**
 * @module continuesFromState: which operations a run cut short may leave to a run that trusts
 * the state (it plans them again), and which only a full read finds again.
 */
import { describe, expect, test } from "bun:test";
import type { Operation } from "../../src/core/plan.ts";
import { continuesFromState } from "../../src/core/resume.ts";
import { managedGroup, managedUser } from "../../src/core/state.ts";
import { emptyState, type UserAttributes } from "../../src/model/index.ts";

const attrs = (name: string, extra: Partial<UserAttributes> = {}): UserAttributes => ({
  userName: `${name}@example.com`, displayName: name, givenName: name, familyName: "T", email: `${name}@example.com`, active: true, ...extra,
});
const state = emptyState();
state.users.u1 = managedUser("s1", attrs("ana", { title: "Old" }));
state.users.u2 = managedUser("s2", attrs("bo"));
state.groups.g1 = managedGroup("sg1", "Admins", ["u1"]);

const update = (why: "changed" | "adopt" | "record", set: Partial<UserAttributes>, clear: (keyof UserAttributes)[] = []): Operation => ({
  kind: "updateUser", sourceId: "u1", scimId: "s1", set, clear, attributes: { ...attrs("ana", { title: "Old" }), ...set }, why,
});

describe("continuesFromState", () => {
  test("creates always: the state records only what was created", () => {
    expect(continuesFromState({ kind: "createUser", sourceId: "u9", attributes: attrs("cy") }, state)).toBe(true);
    expect(continuesFromState({ kind: "createGroup", sourceId: "g9", displayName: "New", members: [] }, state)).toBe(true);
  });

  test("an update only when the state records other values than it writes (a source change, not drift)", () => {
    expect(continuesFromState(update("changed", { title: "New" }), state)).toBe(true);
    // AWS was changed by hand: the state already records what the update writes back.
    expect(continuesFromState(update("changed", { title: "Old" }), state)).toBe(false);
    expect(continuesFromState(update("changed", { title: "New", displayName: "ana" }), state)).toBe(false);
    expect(continuesFromState(update("changed", {}, ["title"]), state)).toBe(true);
    expect(continuesFromState(update("changed", {}, ["nickName"]), state)).toBe(false);
    // Compared as the planner compares (sameValue): a blank recorded title is no title to clear.
    const blank = { ...state, users: { u1: managedUser("s1", attrs("ana", { title: "" })) } };
    expect(continuesFromState(update("changed", {}, ["title"]), blank)).toBe(false);
    expect(continuesFromState(update("adopt", { title: "New" }), state)).toBe(false);
    expect(continuesFromState(update("record", { title: "New" }), state)).toBe(false);
  });

  test("membership changes only when the group's record says so", () => {
    const add = (members: string[]): Operation => ({ kind: "addMembers", group: { scimId: "sg1" }, groupSourceId: "g1", members: members.map((sourceId) => ({ sourceId })) });
    const remove = (members: string[]): Operation => ({ kind: "removeMembers", group: { scimId: "sg1" }, groupSourceId: "g1", members: members.map((sourceId) => ({ sourceId })) });
    expect(continuesFromState(add(["u2"]), state)).toBe(true);
    expect(continuesFromState(add(["u1"]), state)).toBe(false); // recorded, missing in AWS: drift
    expect(continuesFromState({ ...add([]), members: [{ scimId: "s-stranger" }] } as Operation, state)).toBe(false);
    expect(continuesFromState(remove(["u1"]), state)).toBe(true);
    expect(continuesFromState(remove(["u2"]), state)).toBe(false); // added by hand in AWS
    expect(continuesFromState({ ...add(["u2"]), groupSourceId: "g-not-created-yet" } as Operation, state)).toBe(true);
  });

  test("a rename and the deletes of what the state records; never what the state does not record", () => {
    expect(continuesFromState({ kind: "updateGroup", sourceId: "g1", scimId: "sg1", displayName: "Root", desiredDisplayName: "Root", currentMemberSourceIds: [], why: "rename" }, state)).toBe(true);
    expect(continuesFromState({ kind: "updateGroup", sourceId: "g1", scimId: "sg1", displayName: "Admins", desiredDisplayName: "Admins", currentMemberSourceIds: [], why: "rename" }, state)).toBe(false);
    expect(continuesFromState({ kind: "updateGroup", sourceId: "g7", scimId: "sg7", externalId: "g7", desiredDisplayName: "X", currentMemberSourceIds: [], why: "adopt" }, state)).toBe(false);
    expect(continuesFromState({ kind: "deleteUser", scimId: "s2", sourceId: "u2", userName: "bo@example.com", why: "left-scope" }, state)).toBe(true);
    expect(continuesFromState({ kind: "deleteUser", scimId: "s7", userName: "x@example.com", why: "unmanaged" }, state)).toBe(false);
    expect(continuesFromState({ kind: "deleteGroup", scimId: "sg1", sourceId: "g1", displayName: "Admins", why: "left-scope" }, state)).toBe(true);
    expect(continuesFromState({ kind: "deleteGroup", scimId: "sg8", displayName: "Hand", why: "unmanaged" }, state)).toBe(false);
  });
});
