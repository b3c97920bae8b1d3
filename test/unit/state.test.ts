/**
 * @module The state's rules: its canonical, ASCII-only serialisation in pieces, the migration of
 * version 1, sameState, and parseState's checks (every entry's types; a JSON error told by
 * position, not content).
 */
import { describe, expect, test } from "bun:test";
import { SyncError } from "../../src/core/errors.ts";
import { jsonErrorAt, managedGroup, managedUser, parseState, sameState, serialiseState } from "../../src/core/state.ts";
import { emptyState, STATE_SCHEMA_VERSION, type SyncState } from "../../src/model/index.ts";

const attributes = { userName: "a@example.com", displayName: "A", givenName: "A", familyName: "B", email: "a@example.com", active: true };

describe("serialiseState", () => {
  test("writes keys sorted at every level, whatever order the entries were built in", () => {
    const state = emptyState();
    state.users.u2 = managedUser("s2", { ...attributes, address: { region: "R", country: "FR" }, title: "T" });
    state.users.u1 = { attributes: { title: "T", ...attributes }, scimId: "s1" };
    state.groups.g = managedGroup("g1", "G", ["u2", "u1"]);
    state.updatedAt = "2024-05-01T06:00:02Z";
    const text = [...serialiseState(state)].join("");
    expect(text).toBe(
      '{"groups":{"g":{"displayName":"G","memberSourceIds":["u1","u2"],"scimId":"g1"}},"schemaVersion":3,"updatedAt":"2024-05-01T06:00:02Z",' +
        '"users":{"u1":{"attributes":{"active":true,"displayName":"A","email":"a@example.com","familyName":"B","givenName":"A","title":"T","userName":"a@example.com"},"scimId":"s1"},' +
        '"u2":{"attributes":{"active":true,"address":{"country":"FR","region":"R"},"displayName":"A","email":"a@example.com","familyName":"B","givenName":"A","title":"T","userName":"a@example.com"},"scimId":"s2"}}}\n',
    );
    expect(parseState(text, "x")).toEqual(state);
  });

  test("escapes every non-ASCII character, so the text is its own UTF-8 bytes, and reads back equal", () => {
    const state = emptyState();
    state.users["idé"] = managedUser("s1", { ...attributes, displayName: "Zoë 😀 \u007f", familyName: "Ødegård" });
    const text = [...serialiseState(state)].join("");
    expect(/^[\x00-\x7e]*$/.test(text)).toBe(true);
    expect(text).toContain('"id\\u00e9"');
    expect(text).toContain("Zo\\u00eb \\ud83d\\ude00 \\u007f");
    expect(parseState(text, "x")).toEqual(state);
  });

  test("writes the users left to create (pendingUserCreates) in place, and reads them back; none pending writes none", () => {
    const state = emptyState();
    state.users.u1 = managedUser("s1", attributes);
    state.pendingUserCreates = ["u2", "u3"];
    const text = [...serialiseState(state)].join("");
    expect(text).toContain('"pendingUserCreates":["u2","u3"],"schemaVersion":3,');
    expect(parseState(text, "x")).toEqual(state);
    state.pendingUserCreates = [];
    expect([...serialiseState(state)].join("")).not.toContain("pendingUserCreates");
  });

  test("cuts a large state into pieces of about 1 MiB that join to the whole text", () => {
    const state = emptyState();
    for (let i = 0; i < 12_000; i++) state.users[`u${i}`] = managedUser(`s${i}`, { ...attributes, userName: `user${i}@example.com` });
    const pieces = [...serialiseState(state)];
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces.slice(0, -1)) expect(piece.length).toBeLessThan(1.01 * 2 ** 20);
    expect(Object.keys(parseState(pieces.join(""), "x").users)).toHaveLength(12_000);
  });
});

test("a version-1 state (a SHA-256 hash in each entry) reads as the current version without the hashes", () => {
  const v1 = {
    schemaVersion: 1,
    lastFullReadAt: "2024-05-01T06:00:01.532Z",
    users: { u1: { scimId: "s1", hash: "ab12", attributes } },
    groups: { g: { scimId: "g1", hash: "cd34", displayName: "G", memberSourceIds: ["u1"] } },
  };
  const state = parseState(JSON.stringify(v1), "x");
  expect(state.schemaVersion).toBe(STATE_SCHEMA_VERSION);
  expect(state.users.u1).toEqual({ scimId: "s1", attributes });
  expect(state.groups.g).toEqual({ scimId: "g1", displayName: "G", memberSourceIds: ["u1"] });
  expect([...serialiseState(state)].join("")).not.toContain("hash");
});

describe("sameState", () => {
  const base = (): SyncState => {
    const state = emptyState();
    state.users.u1 = managedUser("s1", attributes);
    state.groups.g = managedGroup("g1", "G", ["u1"]);
    state.lastFullReadAt = "2024-05-01T06:00:01Z";
    return state;
  };
  test("equal entries are the same state, shared or rebuilt; updatedAt does not count", () => {
    const a = base();
    expect(sameState(a, { ...a, users: { ...a.users }, updatedAt: "2025-01-01T00:00:00Z" })).toBe(true);
    expect(sameState(a, base())).toBe(true);
  });
  test("a changed, added or removed entry, or another last full read, is not", () => {
    const a = base();
    expect(sameState(a, { ...a, users: { u1: managedUser("s1", { ...attributes, title: "T" }) } })).toBe(false);
    expect(sameState(a, { ...a, groups: { ...a.groups, h: managedGroup("g2", "H", []) } })).toBe(false);
    expect(sameState(a, { ...a, users: {} })).toBe(false);
    expect(sameState(a, { ...a, users: { u2: a.users.u1! } })).toBe(false);
    expect(sameState(a, { ...a, lastFullReadAt: "2024-05-02T06:00:01Z" })).toBe(false);
  });
});

test("a version-2 state (no pendingUserCreates) reads as version 3 with nothing pending; a version-3 one keeps its list, sorted and each once", () => {
  const v2 = { schemaVersion: 2, users: { u1: { scimId: "s1", attributes } }, groups: {} };
  const state = parseState(JSON.stringify(v2), "x");
  expect(state.schemaVersion).toBe(3);
  expect(state.pendingUserCreates).toBeUndefined();
  expect(state.users.u1).toEqual({ scimId: "s1", attributes });
  expect(parseState(JSON.stringify({ ...v2, schemaVersion: 3, pendingUserCreates: ["u3", "u2", "u3"] }), "x").pendingUserCreates).toEqual(["u2", "u3"]);
});

test("sameState tells states apart by what they leave to create", () => {
  const a = emptyState();
  const b = { ...emptyState(), pendingUserCreates: ["u1"] };
  expect(sameState(a, { ...emptyState(), pendingUserCreates: [] })).toBe(true);
  expect(sameState(a, b)).toBe(false);
  expect(sameState(b, { ...emptyState(), pendingUserCreates: ["u1"] })).toBe(true);
  expect(sameState(b, { ...emptyState(), pendingUserCreates: ["u2"] })).toBe(false);
});

describe("parseState checks every entry's types", () => {
  const user = () => ({
    scimId: "s1",
    attributes: { userName: "a@example.com", displayName: "A", givenName: "A", familyName: "B", email: "a@example.com", active: true },
  });
  const group = () => ({ scimId: "g1", displayName: "G", memberSourceIds: ["u1"] });
  const stateText = (patch: (s: any) => void) => {
    const s: any = { schemaVersion: 2, lastFullReadAt: "2024-05-01T06:00:01.532Z", users: { u1: user() }, groups: { g: group() } };
    patch(s);
    return JSON.stringify(s);
  };
  const problemOf = (text: string): string => {
    try {
      parseState(text, "file /tmp/state.json");
    } catch (error) {
      expect(error).toBeInstanceOf(SyncError);
      expect((error as SyncError).code).toBe("STATE_INVALID");
      expect((error as SyncError).exitCode).toBe(2);
      return (error as SyncError).describe();
    }
    throw new Error("parseState accepted it");
  };

  test("a well-formed state, optional attributes included, parses", () => {
    const text = stateText((s) => {
      Object.assign(s.users.u1.attributes, { title: "T", managerSourceId: "u2", phoneNumber: { value: "+1", type: "work" }, address: { locality: "Paris" } });
      s.updatedAt = "2024-05-01T06:00:02Z";
    });
    expect(parseState(text, "x").users.u1!.attributes.title).toBe("T");
    expect(parseState(JSON.stringify({ schemaVersion: 1, users: {}, groups: {} }), "x").users).toEqual({});
  });

  const cases: [string, (s: any) => void, string][] = [
    ["userName a number", (s) => (s.users.u1.attributes.userName = 42), 'users["u1"].attributes.userName is not a string'],
    ["email missing", (s) => delete s.users.u1.attributes.email, 'users["u1"].attributes.email is not a string'],
    ["displayName null", (s) => (s.users.u1.attributes.displayName = null), 'users["u1"].attributes.displayName is not a string'],
    ["givenName an object", (s) => (s.users.u1.attributes.givenName = {}), 'users["u1"].attributes.givenName is not a string'],
    ["familyName an array", (s) => (s.users.u1.attributes.familyName = []), 'users["u1"].attributes.familyName is not a string'],
    ["active a string", (s) => (s.users.u1.attributes.active = "true"), 'users["u1"].attributes.active is not a boolean'],
    ["an optional attribute of the wrong type", (s) => (s.users.u1.attributes.department = 7), 'users["u1"].attributes.department is not a string'],
    ["a phone number without value", (s) => (s.users.u1.attributes.phoneNumber = { type: "work" }), 'users["u1"].attributes.phoneNumber.value is not a string'],
    ["an empty scimId", (s) => (s.users.u1.scimId = ""), 'users["u1"].scimId is not a non-empty string'],
    ["a user that is null", (s) => (s.users.u1 = null), 'users["u1"] is not an object'],
    ["attributes an array", (s) => (s.users.u1.attributes = []), 'users["u1"].attributes is not an object'],
    ["a group scimId a number", (s) => (s.groups.g.scimId = 5), 'groups["g"].scimId is not a non-empty string'],
    ["a group displayName a boolean", (s) => (s.groups.g.displayName = true), 'groups["g"].displayName is not a string'],
    ["memberSourceIds not an array", (s) => (s.groups.g.memberSourceIds = "u1"), 'groups["g"].memberSourceIds is not an array'],
    ["a member id a number", (s) => (s.groups.g.memberSourceIds = ["u1", 2]), 'groups["g"].memberSourceIds[1] is not a string'],
    ["lastFullReadAt not a date", (s) => (s.lastFullReadAt = "yesterday"), "lastFullReadAt is not an ISO-8601 date"],
    ["lastFullReadAt an impossible date", (s) => (s.lastFullReadAt = "2024-13-45T99:00:00Z"), "lastFullReadAt is not an ISO-8601 date"],
    ["lastFullReadAt a number", (s) => (s.lastFullReadAt = 1714543201532), "lastFullReadAt is not an ISO-8601 date"],
    ["pendingUserCreates not an array", (s) => (s.pendingUserCreates = "u2"), "`pendingUserCreates` is not an array of strings"],
    ["a pending user id a number", (s) => (s.pendingUserCreates = ["u2", 3]), "`pendingUserCreates` is not an array of strings"],
  ];
  for (const [what, patch, expected] of cases) {
    test(`${what}: STATE_INVALID naming the entry and field`, () => {
      const message = problemOf(stateText(patch));
      expect(message).toContain(`state file /tmp/state.json is not an idpscim state: ${expected}`);
      expect(message).toContain("restore a previous version of the state");
    });
  }

  test("the id in the message is JSON-quoted and cut to 60 characters: a hostile key prints no control character", () => {
    const id = `\u001b[31m${"x".repeat(200)}`;
    const message = problemOf(
      stateText((s) => {
        s.users[id] = { ...user(), attributes: { ...user().attributes, userName: 42 } };
      }),
    );
    expect(message).not.toContain("\u001b");
    expect(message).toContain('users["\\u001b[31mxxx');
    const shown = message.slice(message.indexOf("users[") + 6, message.indexOf("].attributes"));
    expect(shown.length).toBeLessThanOrEqual(60);
    expect(shown.endsWith("…")).toBe(true);
  });
});

describe("parseState: a file that is not JSON is reported by position, never by its content", () => {
  const messageOf = (text: string) => {
    try {
      parseState(text, "file /tmp/state.json");
    } catch (error) {
      expect((error as SyncError).code).toBe("STATE_INVALID");
      return (error as SyncError).describe();
    }
    throw new Error("parsed");
  };

  test("a word: line and column, and the word is not quoted", () => {
    const message = messageOf("abcSECRETxyz and more");
    expect(message).toContain("state file /tmp/state.json is not valid JSON (at line 1, column 1)");
    expect(message).not.toContain("abc");
    expect(message).not.toContain("SECRET");
  });

  test("an error on a later line, a truncated file, an empty file", () => {
    expect(messageOf('{\n  "schemaVersion": 1,\n  "users": {"a": secretABC}\n}')).toContain("(at line 3, column 18)");
    expect(messageOf('{"schemaVersion": 1, "users": {')).toContain("(it ends early, at the end of the file)");
    expect(messageOf("")).toContain("(the file is empty)");
    expect(messageOf('{"a": "unterminated')).toContain("ends early");
    expect(messageOf('{"a": 1} trailing')).toContain("(at line 1, column 10)");
    expect(messageOf("tokenABC")).not.toContain("token");
  });

  test("the scanner agrees with JSON.parse on what is valid", () => {
    for (const text of ['{"a":[1,-2.5e+3,true,false,null,"\\u00e9\\n"]}', "[]", " 0 ", '"x"']) {
      expect(() => JSON.parse(text)).not.toThrow();
      expect(jsonErrorAt(text)).toBe("no position found");
    }
    for (const text of ["[1,]", "{'a':1}", "01", '"\\x"', "[1 2]", "nul", '{"a" 1}', "1.", "-"]) {
      expect(() => JSON.parse(text)).toThrow();
      expect(jsonErrorAt(text)).toMatch(/^(at line \d+, column \d+|it ends early, at the end of the file)$/);
    }
  });
});

describe("parseState: idp-scim-sync's state.json is named as such", () => {
  // The shape of slashdevops/idp-scim-sync docs/State-File-example.md, trimmed.
  const theirs = {
    schemaVersion: "1.0.0",
    codeVersion: "v0.0.1",
    lastSync: "2022-01-15T17:55:36+01:00",
    hashCode: "1be3",
    resources: {
      groups: { items: 1, hashCode: "25", resources: [{ ipid: "00nmf14n0mfn3n3", scimid: "9067-g", name: "Administrators", email: "administrators@example.com", hashCode: "f8" }] },
      users: { items: 0, hashCode: "82", resources: [] },
      groupsMembers: { items: 0, hashCode: "c7", resources: [] },
    },
  };
  const describeOf = (value: unknown): string => {
    try {
      parseState(JSON.stringify(value), "s3://bucket/state.json");
    } catch (error) {
      expect((error as SyncError).code).toBe("STATE_INVALID");
      return (error as SyncError).describe();
    }
    throw new Error("parsed");
  };

  test("their state: the message says whose it is and what to do, never its content", () => {
    const message = describeOf(theirs);
    expect(message).toContain(
      "state s3://bucket/state.json is not an idpscim state: this looks like idp-scim-sync's state; idpscim keeps its own: point aws.s3_bucket_key at a new key, the first run adopts what idp-scim-sync created",
    );
    expect(message).toContain("state.file");
    expect(message).not.toContain("Administrators");
  });

  test("only that shape: any JSON object of another shape keeps the generic message", () => {
    for (const other of [
      { schemaVersion: "1.0.0", users: {}, groups: {} },
      { schemaVersion: 1, resources: { groups: {} } },
      { schemaVersion: "1.0.0", resources: [] },
      { schemaVersion: "1.0.0", resources: { something: {} } },
    ]) {
      expect(describeOf(other)).not.toContain("idp-scim-sync");
    }
    expect(describeOf({ ...theirs, resources: { users: {} } })).toContain("idp-scim-sync");
  });
});
