/**
 * @module The state's rules: its canonical, ASCII-only version-4 file in pieces, the reading of
 * versions 1 to 3, sameState, and parseState's checks (every row's and entry's types; a JSON error
 * told by position, not content).
 */
import { describe, expect, test } from "bun:test";
import { SyncError } from "../../src/core/errors.ts";
import { jsonErrorAt, managedGroup, managedUser, parseState, sameState, savedChunks, tenantFromState } from "../../src/core/state.ts";
import { emptyState, STATE_SCHEMA_VERSION, type SyncState } from "../../src/model/index.ts";
import { stateFileText } from "../support/state-file.ts";

const attributes = { userName: "a@example.com", displayName: "A", givenName: "A", familyName: "B", email: "a@example.com", active: true };

// The file as a store writes it (ASCII).
const text = stateFileText;
/** What JSON.stringify writes for the file's own content, each character past ~ as a \\u escape: the writer's oracle. */
const asJsonStringifyWrites = (file: string) =>
  `${JSON.stringify(JSON.parse(file)).replace(/[\x7f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}\n`;
/** The state as the version-3 releases wrote it: users and groups keyed by source id. */
const v3Text = (state: SyncState) => JSON.stringify({ ...state, schemaVersion: 3 });

describe("the state file (savedChunks)", () => {
  test("writes version 4: users as rows under one column header (the most common first) in the state's order, groups by source id with each member its user's row", () => {
    const state = emptyState();
    state.users.u2 = managedUser("s2", { ...attributes, address: { region: "R", country: "FR" }, title: "T" });
    state.users.u1 = { attributes: { title: "T", ...attributes }, scimId: "s1" };
    state.groups.g = managedGroup("g1", "G", ["u2", "u1"]);
    state.updatedAt = "2024-05-01T06:00:02Z";
    expect(text(state)).toBe(
      '{"schemaVersion":4,"updatedAt":"2024-05-01T06:00:02Z","userColumns":["active","displayName","email","familyName","givenName","title","userName","address"],' +
        '"users":[["u2","s2",true,"A","a@example.com","B","A","T","a@example.com",{"country":"FR","region":"R"}],["u1","s1",true,"A","a@example.com","B","A","T","a@example.com"]],' +
        '"groups":[["g","g1","G",[1,0]]]}\n',
    );
    expect(parseState(text(state), "x")).toEqual(state);
  });

  test("equal states are byte-identical, however their entries were built (users added in the same order)", () => {
    const a = emptyState();
    a.users.u1 = managedUser("s1", { ...attributes, phoneNumber: { value: "+1", type: "work" } });
    a.users.u0 = managedUser("s0", attributes);
    a.groups.h = managedGroup("g2", "H", ["u1"]);
    a.groups.g = managedGroup("g1", "G", ["u0", "x"]);
    const b: SyncState = {
      users: { u1: { attributes: { phoneNumber: { type: "work", value: "+1" }, ...attributes }, scimId: "s1" }, u0: { scimId: "s0", attributes: Object.fromEntries(Object.entries(attributes).reverse()) as typeof attributes } },
      groups: { g: { memberSourceIds: ["u0", "x"], displayName: "G", scimId: "g1" }, h: { scimId: "g2", displayName: "H", memberSourceIds: ["u1"] } },
      schemaVersion: STATE_SCHEMA_VERSION,
    };
    expect(text(b)).toBe(text(a));
    expect(text(parseState(text(a), "x"))).toBe(text(a));
  });

  test("reads back every attribute kind: optional strings, a phone number, an address, a manager, non-ASCII text", () => {
    const state = emptyState();
    state.users.u1 = managedUser("s1", {
      ...attributes,
      formattedName: "Zoë Ødegård",
      phoneNumber: { value: "+33 1 23 45 67 89", type: "work" },
      address: { type: "work", formatted: "1 rue X, Paris", streetAddress: "1 rue X", locality: "Paris", region: "IDF", postalCode: "75001", country: "FR" },
      title: "T", preferredLanguage: "fr", nickName: "Z", profileUrl: "https://example.com/z", userType: "Employee", locale: "fr-FR", timezone: "Europe/Paris",
      employeeNumber: "42", costCenter: "CC", organization: "O", division: "D", department: "Dep", managerSourceId: "u2",
      active: false,
    });
    state.users.u2 = managedUser("s2", { ...attributes, phoneNumber: { value: "+1" } });
    state.groups.g = managedGroup("g1", "Équipe", ["u1", "u2"]);
    state.lastFullReadAt = "2024-05-01T06:00:01.532Z";
    const file = text(state);
    expect(parseState(file, "x")).toEqual(state);
    // Each name once, in the header: not in each row.
    expect(file.split('"managerSourceId"')).toHaveLength(2);
    // Read back with their keys sorted, as version 3 held them (sameState's entryJson then copies none).
    const keys = Object.keys(parseState(file, "x").users.u1!.attributes);
    expect(keys).toEqual([...keys].sort());
  });

  test("a member the state holds no user for (sync.only_groups, or a user forgotten) is written as its source id", () => {
    const state = emptyState();
    state.users.u2 = managedUser("s2", attributes);
    state.groups.g = managedGroup("g1", "G", ["u1", "u2", "u3"]);
    const file = text(state);
    expect(file).toContain('"groups":[["g","g1","G",["u1",0,"u3"]]]');
    expect(parseState(file, "x").groups.g!.memberSourceIds).toEqual(["u1", "u2", "u3"]);
  });

  test("an empty state: no columns, no rows", () => {
    const state = emptyState();
    expect(text(state)).toBe('{"schemaVersion":4,"userColumns":[],"users":[],"groups":[]}\n');
    expect(parseState(text(state), "x")).toEqual(state);
  });

  test("escapes every non-ASCII character, so the text is its own UTF-8 bytes, and reads back equal", () => {
    const state = emptyState();
    state.users["idé"] = managedUser("s1", { ...attributes, displayName: "Zoë 😀 \u007f", familyName: "Ødegård 日本" });
    state.groups["gré"] = managedGroup("g1", "Équipe", ["idé", "ïd"]);
    const file = text(state);
    expect(/^[\x00-\x7e]*$/.test(file)).toBe(true);
    expect(file).toContain('"id\\u00e9"');
    expect(file).toContain("Zo\\u00eb \\ud83d\\ude00 \\u007f");
    expect(file).toContain("\\u00d8deg\\u00e5rd \\u65e5\\u672c");
    expect(file).toContain('[0,"\\u00efd"]');
    expect(parseState(file, "x")).toEqual(state);
  });

  test("writes every string as JSON.stringify does, made ASCII: quotes, backslashes, control characters, line separators, DEL, emoji, a lone surrogate", () => {
    const state = emptyState();
    const tricky = 'a"b\\c\b\f\n\r\t\u0000\u001f\u007f\u2028\u2029 é 😀 \ud800 end';
    state.users[tricky] = managedUser(`s-${tricky}`, { ...attributes, displayName: tricky, address: { type: "work", formatted: tricky } });
    state.groups.g = managedGroup(tricky, tricky, [tricky, "not-a-user"]);
    state.lastFullReadAt = "2024-05-01T06:00:01.532Z";
    const file = text(state);
    expect(/^[\x00-\x7e]*$/.test(file)).toBe(true);
    expect(file).toBe(asJsonStringifyWrites(file));
    expect(parseState(file, "x")).toEqual(state);
  });

  test("writes the users left to create (pendingUserCreates) in place, and reads them back; none pending writes none", () => {
    const state = emptyState();
    state.users.u1 = managedUser("s1", attributes);
    state.pendingUserCreates = ["u2", "u3"];
    expect(text(state)).toContain('{"schemaVersion":4,"pendingUserCreates":["u2","u3"],"userColumns":');
    expect(parseState(text(state), "x")).toEqual(state);
    state.pendingUserCreates = [];
    expect(text(state)).not.toContain("pendingUserCreates");
  });

  test("cuts a large state into chunks of about 1 MiB that join to the whole file, wide characters escaped in each", () => {
    const state = emptyState();
    for (let i = 0; i < 20_000; i++) state.users[`u${i}`] = managedUser(`s${i}`, { ...attributes, userName: `user${i}@example.com`, familyName: i % 7 === 0 ? "Ødegård" : "B" });
    state.groups.g = managedGroup("g1", "G", Object.keys(state.users));
    // Each chunk is a view of a buffer the next one reuses: copied as a store writes it.
    const chunks = [...(function* () {
      for (const chunk of savedChunks(state)) yield Buffer.from(chunk);
    })()];
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeLessThan(1.1 * 2 ** 20);
    const file = Buffer.concat(chunks).toString("latin1");
    expect(/^[\x00-\x7e]*$/.test(file)).toBe(true);
    expect(file).toBe(asJsonStringifyWrites(file));
    expect(file).toContain('"\\u00d8deg\\u00e5rd"');
    const read = parseState(file, "x");
    expect(Object.keys(read.users)).toHaveLength(20_000);
    expect(read.groups.g!.memberSourceIds).toHaveLength(20_000);
  });

  test("a state read from a file, then changed (users created and deleted, members added and removed), is written as the same state built afresh", () => {
    const state = emptyState();
    for (let i = 10; i < 60; i++) state.users[`u${i}`] = managedUser(`s${i}`, attributes);
    state.groups.g = managedGroup("g1", "G", ["u11", "u20", "u35", "u59", "x1"]);
    state.groups.h = managedGroup("g2", "H", ["u10", "u12"]);
    const read = parseState(text(state), "x");
    // What apply does: new entries, forgotten users, member lists replaced or changed in place.
    read.users.u05 = managedUser("s05", attributes);
    read.users.x1 = managedUser("sx1", attributes);
    delete read.users.u20;
    delete read.users.u12;
    read.users.u99 = managedUser("s99", attributes);
    // Moved: deleted and made again (last now), and a key that reads as an array index (first now).
    delete read.users.u13;
    read.users.u13 = managedUser("s13", attributes);
    read.users["7"] = managedUser("s7", attributes);
    read.groups.h = { ...read.groups.h!, memberSourceIds: ["u05", "u10", "u99"] };
    read.groups.g!.memberSourceIds.splice(1, 1, "u21");
    const fresh: SyncState = JSON.parse(JSON.stringify(read));
    expect(text(read)).toBe(text(fresh));
    // The tenant the state describes, found by the rows the file had (see membersAsRead), is the same too.
    expect(tenantFromState(read)).toEqual(tenantFromState(fresh));
    expect(tenantFromState(read).groups.find((g) => g.externalId === "g")!.memberScimIds).toEqual(["s11", "s21", "s35", "s59", "sx1"]);
    expect(parseState(text(read), "x")).toEqual(fresh);
    expect(text(read)).toContain('"groups":[["g","g1","G",[2,9,23,47,49]],["h","g2","H",[48,1,50]]]');
  });

  test("a list written once and changed in place since (members inserted, appended, removed) is written as the same state built afresh", () => {
    const state = emptyState();
    for (let i = 10; i < 40; i++) state.users[`u${i}`] = managedUser(`s${i}`, attributes);
    state.groups.g = managedGroup("g1", "G", ["u11", "u20", "u35", "x1"]);
    const fresh = () => text(JSON.parse(JSON.stringify(state)) as SyncState);
    expect(text(state)).toBe(fresh());
    // What apply does to a group it made: its list grows in place between two saves.
    state.groups.g!.memberSourceIds.splice(1, 0, "u12");
    state.groups.g!.memberSourceIds.push("u39");
    state.users.u05 = managedUser("s05", attributes);
    expect(text(state)).toBe(fresh());
    state.groups.g!.memberSourceIds.splice(0, 2);
    delete state.users.u35;
    expect(text(state)).toBe(fresh());
    expect(text(state)).toContain('"groups":[["g","g1","G",[10,"u35","x1",28]]]');
  });
});

test("a version-4 file edited by hand, its rows reordered, reads as the same state", () => {
  const state = emptyState();
  for (const i of [1, 2, 3]) state.users[`u${i}`] = managedUser(`s${i}`, attributes);
  state.groups.h = managedGroup("g2", "H", ["u1", "u3"]);
  state.groups.g = managedGroup("g1", "G", ["u2", "u3", "x"]);
  const file = JSON.parse(text(state));
  file.users.reverse(); // u3, u2, u1: each member index now names another user
  file.groups = [["h", "g2", "H", [2, 0]], ["g", "g1", "G", ["x", 0, 1]]];
  const read = parseState(JSON.stringify(file), "x");
  expect(read).toEqual(state);
  expect(text(read)).toBe(text(JSON.parse(JSON.stringify(read)) as SyncState));
});

describe("reading versions 1, 2 and 3", () => {
  const sample = (): SyncState => {
    const state = emptyState();
    state.users.u1 = managedUser("s1", { ...attributes, address: { locality: "Paris" }, managerSourceId: "u2" });
    state.users.u2 = managedUser("s2", attributes);
    state.groups.g = managedGroup("g1", "G", ["u1", "u2", "u9"]);
    state.lastFullReadAt = "2024-05-01T06:00:01.532Z";
    state.updatedAt = "2024-05-01T06:00:02Z";
    return state;
  };

  test("a version-3 file reads as the same state as its version-4 file, pending users included", () => {
    const state = { ...sample(), pendingUserCreates: ["u3"] };
    expect(parseState(v3Text(state), "x")).toEqual(state);
    expect(parseState(v3Text(state), "x")).toEqual(parseState(text(state), "x"));
    expect(text(parseState(v3Text(state), "x"))).toBe(text(state));
  });

  test("a version-1 state (a SHA-256 hash in each entry) reads as the current version without the hashes", () => {
    const state = sample();
    const withHash = (records: object) => Object.fromEntries(Object.entries(records).map(([id, entry]) => [id, { ...entry, hash: "ab12" }]));
    const v1 = { ...state, schemaVersion: 1, users: withHash(state.users), groups: withHash(state.groups) };
    const read = parseState(JSON.stringify(v1), "x");
    expect(read).toEqual(state);
    expect(read.schemaVersion).toBe(STATE_SCHEMA_VERSION);
    expect(text(read)).not.toContain("hash");
  });

  test("a version-2 state (no pendingUserCreates) reads as this version with nothing pending; a version-3 one keeps its list, sorted and each once", () => {
    const v2 = { schemaVersion: 2, users: { u1: { scimId: "s1", attributes } }, groups: {} };
    const state = parseState(JSON.stringify(v2), "x");
    expect(state.schemaVersion).toBe(4);
    expect(state.pendingUserCreates).toBeUndefined();
    expect(state.users.u1).toEqual({ scimId: "s1", attributes });
    expect(parseState(JSON.stringify({ ...v2, schemaVersion: 3, pendingUserCreates: ["u3", "u2", "u3"] }), "x").pendingUserCreates).toEqual(["u2", "u3"]);
  });

  test("member lists are read sorted, whatever order a hand-edited file has them in", () => {
    const state = sample();
    expect(parseState(JSON.stringify({ ...state, schemaVersion: 3, groups: { g: { ...state.groups.g, memberSourceIds: ["u9", "u2", "u1"] } } }), "x").groups.g!.memberSourceIds).toEqual(["u1", "u2", "u9"]);
    expect(parseState(text(state).replace('[0,1,"u9"]', '["u9",1,0]'), "x").groups.g!.memberSourceIds).toEqual(["u1", "u2", "u9"]);
  });
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

describe("parseState checks every row of a version-4 file", () => {
  const v4 = (patch: (s: any) => void) => {
    const state = emptyState();
    state.users.u1 = managedUser("s1", { ...attributes, title: "T" });
    state.groups.g = managedGroup("g1", "G", ["u1", "x"]);
    const s = JSON.parse(text(state));
    patch(s);
    return JSON.stringify(s);
  };
  const problemOf = (file: string): string => {
    try {
      parseState(file, "file /tmp/state.json");
    } catch (error) {
      expect((error as SyncError).code).toBe("STATE_INVALID");
      expect((error as SyncError).exitCode).toBe(2);
      return (error as SyncError).describe();
    }
    throw new Error("parseState accepted it");
  };
  test("the file as written parses", () => {
    expect(parseState(v4(() => {}), "x").users.u1!.attributes.title).toBe("T");
  });
  const cases: [string, (s: any) => void, string][] = [
    ["userColumns missing", (s) => delete s.userColumns, "`userColumns` is not an array"],
    ["a column this release does not know", (s) => s.userColumns.push("shoeSize"), 'userColumns[7] is "shoeSize", not a user attribute this release knows'],
    ["a column twice", (s) => (s.userColumns[1] = "active"), 'userColumns[1] repeats "active"'],
    ["users an object", (s) => (s.users = {}), "`users` is not an array"],
    ["groups an object", (s) => (s.groups = {}), "`groups` is not an array"],
    ["a user row an object", (s) => (s.users[0] = { id: "u1" }), "users[0] is not a row [source id, scimId, a value for each of userColumns]"],
    ["a user row's source id a number", (s) => (s.users[0][0] = 1), "users[0] is not a row"],
    ["a user row too long", (s) => s.users[0].push("extra"), 'users[0] (source id "u1") has 10 values, more than a source id, a scimId and the 7 userColumns'],
    ["an empty scimId", (s) => (s.users[0][1] = ""), 'users[0] (source id "u1"): scimId is not a non-empty string'],
    ["userName a number", (s) => (s.users[0][8] = 42), 'users[0] (source id "u1"): userName is not a string'],
    ["a required attribute left out", (s) => (s.users[0][3] = null), 'users[0] (source id "u1"): displayName is not a string'],
    ["active a string", (s) => (s.users[0][2] = "true"), 'users[0] (source id "u1"): active is not a boolean'],
    ["a phone number without value", (s) => (s.userColumns.push("phoneNumber"), s.users[0].push({ type: "work" })), 'users[0] (source id "u1"): phoneNumber.value is not a string'],
    ["an address field a number", (s) => (s.userColumns.push("address"), s.users[0].push({ locality: 75 })), 'users[0] (source id "u1"): address.locality is not a string'],
    ["a source id twice", (s) => s.users.push([...s.users[0]]), 'users[1] (source id "u1") repeats the source id of an earlier row'],
    ["a group row too short", (s) => s.groups[0].pop(), "groups[0] is not a row [source id, scimId, displayName, members]"],
    ["a group scimId a number", (s) => (s.groups[0][1] = 5), 'groups[0] (source id "g"): scimId is not a non-empty string'],
    ["a group displayName a boolean", (s) => (s.groups[0][2] = true), 'groups[0] (source id "g"): displayName is not a string'],
    ["members not an array", (s) => (s.groups[0][3] = "u1"), 'groups[0] (source id "g"): members is not an array'],
    ["a member index past the users", (s) => (s.groups[0][3][0] = 1), 'groups[0] (source id "g"): members[0] is neither the index of a row of users nor a source id'],
    ["a member index not a whole number", (s) => (s.groups[0][3][0] = 0.5), 'groups[0] (source id "g"): members[0] is neither the index of a row of users nor a source id'],
    ["a member null", (s) => (s.groups[0][3][1] = null), 'groups[0] (source id "g"): members[1] is neither the index of a row of users nor a source id'],
    ["a group source id twice", (s) => s.groups.push([...s.groups[0]]), 'groups[1] (source id "g") repeats the source id of an earlier row'],
    ["pendingUserCreates not an array", (s) => (s.pendingUserCreates = "u2"), "`pendingUserCreates` is not an array of strings"],
    ["updatedAt not a date", (s) => (s.updatedAt = "today"), "updatedAt is not an ISO-8601 date"],
  ];
  for (const [what, patch, expected] of cases) {
    test(`${what}: STATE_INVALID naming the row and field`, () => {
      const message = problemOf(v4(patch));
      expect(message).toContain(`state file /tmp/state.json is not an idpscim state: ${expected}`);
      expect(message).toContain("restore a previous version of the state");
    });
  }
  test("a later version is refused as newer than this release, not misread", () => {
    expect(problemOf(v4((s) => (s.schemaVersion = 5)))).toContain("state file /tmp/state.json has schemaVersion 5, newer than this release understands (4)");
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
