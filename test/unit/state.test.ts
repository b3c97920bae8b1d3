/** @module The state's per-resource SHA-256: filled for new entries, kept for unchanged ones. */
import { expect, test } from "bun:test";
import { canonicalJson } from "../../src/core/plan.ts";
import { hashState, managedGroup, managedUser, sha256Hex } from "../../src/core/state.ts";
import { emptyState } from "../../src/model/index.ts";

test("hashState hashes entries written since the last save and keeps the others' hashes", async () => {
  const attributes = { userName: "a@example.com", displayName: "A", givenName: "A", familyName: "B", email: "a@example.com", active: true };
  const state = emptyState();
  state.users.new = managedUser("s1", attributes);
  state.users.kept = { ...managedUser("s2", attributes), hash: "kept-hash" };
  state.groups.g = managedGroup("g1", "G", ["new", "kept"]);
  const hashed = await hashState(state);
  expect(hashed.users.new!.hash).toBe(await sha256Hex(canonicalJson(attributes)));
  expect(hashed.users.kept!.hash).toBe("kept-hash");
  expect(hashed.groups.g!.hash).toBe(await sha256Hex(canonicalJson({ displayName: "G", members: ["kept", "new"] })));
  expect(state.users.new!.hash).toBe(""); // the input is not changed
});
