/**
 * @module End-to-end: identities are never altered (a record AWS would refuse is a failed record,
 * never cut, never deleted for it), and nothing read from Google or AWS reaches the terminal or
 * a log line raw. The real `idpscim` CLI against the emulators.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { startWorld, type CliResult, type World, spreadOrg as org, orgEmail } from "../support/harness.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const ESC = "\x1b";
const FORGED_LINE = "2026-01-01T00:00:00.000Z ERROR forged";
/** A display name that would clear the screen and forge a log line if printed raw. */
const FORGED = `${ESC}[2J\n${FORGED_LINE}`;
const email = orgEmail;


/** No raw ESC (or other control byte but the line feed) and no line that starts like a log line we did not write. */
function expectSafe(label: string, text: string): void {
  const raw = [...text].filter((c) => c !== "\n" && /[\u0000-\u001f\u007f-\u009f]/u.test(c));
  expect({ label, raw: raw.map((c) => c.codePointAt(0)) }).toEqual({ label, raw: [] });
  expect({ label, forged: text.split("\n").filter((line) => line.startsWith(FORGED_LINE.slice(0, 10))) }).toEqual({ label, forged: [] });
}

const users = (w: World) => w.emulators.scim.snapshot().users;
const counts = (w: World) => w.emulators.scim.log.counts();

describe("output never carries raw text from Google or AWS", () => {
  test("a Google display name with ESC [2J and a forged log line, an external member's forged email, an AWS group's forged name: plan, sync (text and JSON logs) and inspect print them escaped", async () => {
    const scenario = org(4, 2);
    scenario.google.users[0]!.name = { givenName: "Ana", familyName: "Lima", fullName: `Ana${FORGED}` };
    scenario.google.groups[1]!.members.push({ email: `ext${FORGED}@other.example`, type: "USER", role: "MEMBER", status: "ACTIVE" });
    // AWS takes a line break in a group name (its pattern allows \n): a group made by hand there.
    scenario.scim.groups.push({ id: "aws-legacy", displayName: `Legacy\n${FORGED_LINE}`, members: [] });
    world = await startWorld({ scenario });
    world.writeConfig(`[sync]\ndelete_unmanaged = true\n`);

    const plan = await world.run(["plan"]);
    expect(plan.code).toBe(0);
    expectSafe("plan stdout", plan.stdout);
    expectSafe("plan stderr", plan.stderr);
    // Shown, escaped: the AWS group's deletion names it on one line.
    expect(plan.stdout).toContain(`- group "Legacy\\n${FORGED_LINE}" (unmanaged)`);

    const sync = await world.run(["sync", "--debug"]);
    expect(sync.code).toBe(0);
    expectSafe("sync stderr", sync.stderr);
    expectSafe("sync stdout", sync.stdout);
    // The source's warning interpolates the email as it is: the logger escapes the ESC and indents the forged line.
    expect(sync.stderr).toContain(`member ext\\x1b[2J\n    ${FORGED_LINE}@other.example`);
    expect(sync.stderr).toContain(`user ${email(0)}: removed 1 control character from displayName`);
    // fitForAws removed the ESC (AWS refuses it); the line break AWS takes stays in the display name.
    const ana = users(world).find((u) => u.userName === email(0));
    expect(ana?.displayName).toBe(`Ana[2J\n${FORGED_LINE}`);

    const gws = await world.run(["inspect", "gws", "users"]);
    expect(gws.code).toBe(0);
    expectSafe("inspect gws users", gws.stdout);
    expect(gws.stdout).toContain(`Ana\\x1b[2J\\n${FORGED_LINE}`);

    const scim = await world.run(["inspect", "scim", "users"]);
    expect(scim.code).toBe(0);
    expectSafe("inspect scim users", scim.stdout);
    expect(scim.stdout).toContain(`Ana[2J\\n${FORGED_LINE}`);

    const json = await world.run(["sync", "--debug", "--log-format", "json"]);
    expectSafe("sync stderr (json)", json.stderr);
    for (const line of json.stderr.trimEnd().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
  });
});

/** The failed-record lines of a run. */
const failedLines = (result: CliResult) => result.stderr.split("\n").filter((l) => l.includes("failed: "));

describe("identities are never altered: a record AWS would refuse is a failed record", () => {
  test("a 140-character email: failed record naming the user and the reason, no POST /Users for it, the others synced, exit 1", async () => {
    const scenario = org(4, 2);
    const long = `toolong.${"x".repeat(140 - "toolong.".length - "@example.com".length)}@example.com`;
    expect(long).toHaveLength(140);
    scenario.google.users.push({ id: "19", primaryEmail: long, name: { givenName: "Too", familyName: "Long" } });
    scenario.google.groups[0]!.members.push({ email: long, type: "USER", role: "MEMBER", status: "ACTIVE" });
    world = await startWorld({ scenario });

    const result = await world.run(["sync"]);
    expect(result.code).toBe(1);
    const failed = failedLines(result);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain("toolong.xxxx");
    expect(failed[0]).toContain("userName is 140 characters; AWS allows at most 128");
    expect(counts(world)["POST /Users"]).toBe(4);
    expect(users(world).map((u) => u.userName).sort()).toEqual([0, 1, 2, 3].map(email));
    expect(users(world).some((u) => String(u.userName).startsWith("toolong."))).toBe(false);
  });

  test("a user created with a valid email whose Google email becomes invalid: failed record, AWS's copy is left as it is, no DELETE", async () => {
    const scenario = org(4, 2);
    world = await startWorld({ scenario });
    expect((await world.run(["sync"])).code).toBe(0);
    const before = users(world).find((u) => u.userName === email(1));
    expect(before).toBeDefined();

    scenario.google.users[1]!.primaryEmail = `${"y".repeat(140 - "@example.com".length)}@example.com`;
    scenario.google.groups[1]!.members = scenario.google.groups[1]!.members.map((m) => (m.email === email(1) ? { ...m, email: scenario.google.users[1]!.primaryEmail } : m));
    world.emulators.scim.log.clear();
    const result = await world.run(["sync"]);
    expect(result.code).toBe(1);
    const failed = failedLines(result);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain("yyyy");
    expect(failed[0]).toContain("userName is 140 characters; AWS allows at most 128");
    expect(counts(world)["DELETE /Users/{id}"]).toBeUndefined();
    expect(counts(world)["POST /Users"]).toBeUndefined();
    const after = users(world).find((u) => u.id === before!.id);
    expect(after?.userName).toBe(email(1));
    expect(after?.active).not.toBe(false);
  });

  test("a Google group whose name holds control characters: failed record, escaped, no POST /Groups for it; its members are synced", async () => {
    const scenario = org(4, 2);
    scenario.google.groups[1]!.name = `Team${FORGED}`;
    world = await startWorld({ scenario });

    const result = await world.run(["sync"]);
    expect(result.code).toBe(1);
    expectSafe("sync stderr", result.stderr);
    const failed = failedLines(result);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain(`Team\\x1b[2J\\n${FORGED_LINE}`);
    expect(failed[0]).toContain("group name contains 2 control characters (\\x1b, \\n)");
    expect(counts(world)["POST /Groups"]).toBe(1);
    expect(world.emulators.scim.snapshot().groups.map((g) => g.displayName)).toEqual(["Team 0"]);
    expect(users(world)).toHaveLength(4);
  });
});
