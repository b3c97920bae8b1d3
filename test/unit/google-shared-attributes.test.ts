/**
 * @module Unit tests of the Google read sharing the state's records (issue 11): a user read exactly
 * as recorded takes the record's attributes object as it is mapped, and the record is never changed,
 * whatever manager the read resolves.
 */
import { describe, expect, test } from "bun:test";
import { mapGoogleUser, sourceUsers, userReadSpec, type ReadUser } from "../../src/adapters/google/users.ts";
import type { MemberIndex } from "../../src/adapters/google/groups.ts";
import { GOOGLE_USER, type GoogleUser } from "../../src/mapping/presets/google.ts";
import type { UserAttributes } from "../../src/model/index.ts";

const spec = userReadSpec(GOOGLE_USER, new Set(["enterprise"] as const));
const google = (id: string, name: string, manager?: string): GoogleUser => ({
  id,
  primaryEmail: `${name}@example.com`,
  name: { givenName: name, familyName: "Test", fullName: `${name} Test` },
  ...(manager ? { relations: [{ type: "manager", value: `${manager}@example.com` }] } : {}),
});
const recordOf = (id: string, name: string, managerSourceId?: string): UserAttributes => ({
  ...mapGoogleUser(id, google(id, name), spec).user.attributes,
  ...(managerSourceId ? { managerSourceId } : {}),
});
// Every member is read here: sourceUsers asks the member index only about members without a Directory user.
const noExternalMembers = {} as MemberIndex;

function readAll(users: GoogleUser[], recorded: Record<string, UserAttributes>) {
  const withState = { ...spec, recorded: (id: string) => recorded[id] };
  const read = new Map<string, ReadUser>(users.map((u) => [u.id!, mapGoogleUser(u.id!, u, withState)]));
  return sourceUsers([...read.keys()].sort(), read, noExternalMembers, [], []);
}

describe("Google read: the state's records shared as users are mapped", () => {
  test("a user read as recorded, manager included, is the record's object", () => {
    const boss = recordOf("1", "boss");
    const ana = recordOf("2", "ana", "1");
    const [readBoss, readAna] = readAll([google("1", "boss"), google("2", "ana", "boss")], { "1": boss, "2": ana });
    expect(readBoss!.attributes).toBe(boss);
    expect(readAna!.attributes).toBe(ana);
  });
  test("a manager changed at the source makes a copy: the record keeps what was written", () => {
    const ana = recordOf("2", "ana", "1");
    const [, readAna] = readAll([google("1", "boss"), google("3", "cy"), google("2", "ana", "cy")], { "2": ana });
    expect(readAna!.sourceId).toBe("2");
    expect(readAna!.attributes.managerSourceId).toBe("3");
    expect(ana.managerSourceId).toBe("1");
  });
  test("a manager removed at the source makes a copy without one; a changed name is not shared at all", () => {
    const ana = recordOf("2", "ana", "1");
    const [readAna] = readAll([google("2", "ana")], { "2": ana });
    expect(readAna!.attributes.managerSourceId).toBeUndefined();
    expect(ana.managerSourceId).toBe("1");
    const renamed = readAll([{ ...google("2", "ana"), name: { givenName: "Ana", familyName: "Lima", fullName: "Ana Lima" } }], { "2": ana })[0]!;
    expect(renamed.attributes).not.toBe(ana);
    expect(renamed.attributes.familyName).toBe("Lima");
  });
});
