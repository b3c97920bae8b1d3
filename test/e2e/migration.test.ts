/**
 * @module Coming from another tool: a tenant shaped as idp-scim-sync leaves it (every user and
 * group carrying the Google id as externalId, its state.json in S3) and one shaped as ssosync
 * leaves it (no externalIds at all), each with AWS Control Tower's group beside. The real CLI
 * turns the other tool's configuration into config.toml (`config import`), then syncs with it:
 * everything is adopted in place on the first run (no 409, no DELETE, no POST, same SCIM ids,
 * externalId now the Google id), Control Tower's group is never written to, and a second run
 * sends no SCIM request.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseScenario, type Scenario } from "../emulators/scenario.ts";
import { runIdpscim, startWorld, type World } from "../support/harness.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const PEOPLE = [
  { id: "110000000000000000001", email: "ana@example.com", given: "Ana", family: "Lima" },
  { id: "110000000000000000002", email: "bo@example.com", given: "Bo", family: "Chen" },
  { id: "110000000000000000003", email: "cy@example.com", given: "Cy", family: "Diaz" },
  { id: "110000000000000000004", email: "di@example.com", given: "Di", family: "Patel" },
];
const TEAMS = [
  { id: "220000000000000000001", name: "AWS Admins", email: "aws-admins@example.com", members: [0, 1] },
  { id: "220000000000000000002", name: "AWS Developers", email: "aws-developers@example.com", members: [1, 2, 3] },
];
const CONTROL_TOWER = { id: "ct-group", displayName: "AWSControlTowerAdmins", members: ["ct-user"] };
const CT_USER = {
  id: "ct-user",
  userName: "cloud-admin@example.com",
  displayName: "Cloud Admin",
  name: { givenName: "Cloud", familyName: "Admin" },
  emails: [{ value: "cloud-admin@example.com", type: "work", primary: true }],
  externalId: null,
};

/** The Google side, and the AWS tenant as `tool` left it: `externalIds` says whether it set the Google ids. */
function leftBy(externalIds: boolean): Scenario {
  const scimUser = (p: (typeof PEOPLE)[number], i: number) => ({
    id: `scim-user-${i}`,
    externalId: externalIds ? p.id : null,
    userName: p.email,
    displayName: `${p.given} ${p.family}`,
    name: { givenName: p.given, familyName: p.family },
    emails: [{ value: p.email, type: "work", primary: true }],
    active: true,
  });
  return parseScenario({
    google: {
      domain: "example.com",
      adminEmail: "admin@example.com",
      users: PEOPLE.map((p) => ({ id: p.id, primaryEmail: p.email, name: { givenName: p.given, familyName: p.family } })),
      groups: TEAMS.map((t) => ({ id: t.id, email: t.email, name: t.name, members: t.members.map((i) => ({ email: PEOPLE[i]!.email })) })),
    },
    scim: {
      users: [...PEOPLE.map(scimUser), CT_USER],
      groups: [
        ...TEAMS.map((t, k) => ({ id: `scim-group-${k}`, displayName: t.name, externalId: externalIds ? t.id : null, members: t.members.map((i) => `scim-user-${i}`) })),
        CONTROL_TOWER,
      ],
    },
  });
}

/** What idp-scim-sync's docs/State-File-example.md shows, trimmed: what its S3 object holds. */
const THEIR_STATE = JSON.stringify({
  schemaVersion: "1.0.0",
  codeVersion: "v0.30.0",
  lastSync: "2024-05-01T06:00:00Z",
  hashCode: "1be3",
  resources: { groups: { items: 0, hashCode: "25", resources: [] }, users: { items: 0, hashCode: "82", resources: [] }, groupsMembers: { items: 0, hashCode: "c7", resources: [] } },
});

/** Runs with the imported config only, plus what a test needs: the emulators' Google URLs, an unthrottled rate, the token the importer said to pass by variable. */
function syncWith(w: World, configPath: string, extra: string[] = []) {
  const g = w.emulators.google;
  return w.run(["sync", "--config-file", configPath, "--gws-api-url", g.url, "--gws-token-url", g.tokenUrl, "--aws-scim-rate-limit", "1000", "--aws-scim-read-rate-limit", "1000", ...extra], {
    config: false,
    env: { IDPSCIM_AWS_SCIM_ACCESS_TOKEN: w.emulators.scim.token },
  });
}

/** The first run's SCIM traffic: no 409, no DELETE, no create; the second run's: nothing at all. */
async function expectAdoptedInPlace(w: World, configPath: string, extra: string[] = []): Promise<void> {
  const before = w.emulators.scim.snapshot();
  w.emulators.scim.log.clear();
  const first = await syncWith(w, configPath, extra);
  expect(first.stderr).not.toContain("ERROR");
  expect(first.code).toBe(0);
  const entries = w.emulators.scim.log.entries;
  expect(entries.filter((e) => e.status === 409)).toEqual([]);
  expect(entries.filter((e) => e.method === "DELETE")).toEqual([]);
  expect(entries.filter((e) => e.method === "POST")).toEqual([]);

  const after = w.emulators.scim.snapshot();
  for (const [i, person] of PEOPLE.entries()) {
    const user = after.users.find((u) => u.id === `scim-user-${i}`)!;
    expect({ userName: user.userName, externalId: user.externalId }).toEqual({ userName: person.email, externalId: person.id });
  }
  for (const [k, team] of TEAMS.entries()) {
    const group = after.groups.find((g) => g.id === `scim-group-${k}`)!;
    expect({ displayName: group.displayName, externalId: group.externalId, members: [...group.members].sort() }).toEqual({
      displayName: team.name,
      externalId: team.id,
      members: team.members.map((i) => `scim-user-${i}`).sort(),
    });
  }
  expect(after.users.length).toBe(before.users.length);
  expect(after.groups.length).toBe(before.groups.length);
  // Control Tower's group and user: untouched, and not a single request wrote to them.
  expect(after.groups.find((g) => g.id === CONTROL_TOWER.id)).toEqual(before.groups.find((g) => g.id === CONTROL_TOWER.id)!);
  expect(after.users.find((u) => u.id === CT_USER.id)).toEqual(before.users.find((u) => u.id === CT_USER.id)!);
  expect(entries.filter((e) => e.method !== "GET" && (e.url.includes(CONTROL_TOWER.id) || e.url.includes(CT_USER.id)))).toEqual([]);

  w.emulators.scim.log.clear();
  const second = await syncWith(w, configPath, extra);
  expect(second.code).toBe(0);
  expect(w.emulators.scim.log.total()).toBe(0);
}

describe("coming from idp-scim-sync", () => {
  test("its .idpscim.yaml, imported: the users and groups it made (externalId = Google id) are adopted in place; its state.json is left alone, ours is a new key", async () => {
    world = await startWorld({ scenario: leftBy(true) });
    const w = world;
    const s3 = w.emulators.s3;
    await s3.putObjectAsOtherWriter("data/state.json", THEIR_STATE);
    const yaml = join(w.emulators.directory, ".idpscim.yaml");
    writeFileSync(
      yaml,
      [
        "log_level: info",
        `gws_service_account_file: ${w.emulators.google.serviceAccountFile}`,
        `gws_user_email: ${w.emulators.google.adminEmail}`,
        "gws_groups_filter:",
        "  - 'name:AWS*'",
        `aws_scim_endpoint: ${w.emulators.scim.url}`,
        `aws_scim_access_token: ${w.emulators.scim.token}`,
        `aws_s3_bucket_name: ${s3.bucket}`,
        "aws_s3_bucket_key: data/state.json",
        "sync_method: groups",
        "",
      ].join("\n"),
    );
    const configPath = join(w.emulators.directory, "imported.toml");
    const imported = await w.run(["config", "import", "--from", "idp-scim-sync", yaml, "--out", configPath], { config: false });
    expect(imported.code).toBe(0);
    expect(imported.stderr).toContain("aws_scim_access_token: a secret, not copied");
    expect(imported.stderr).not.toContain(w.emulators.scim.token);
    expect(await Bun.file(configPath).text()).not.toContain(w.emulators.scim.token);

    await expectAdoptedInPlace(w, configPath);

    const client = new S3Client({ endpoint: s3.url, forcePathStyle: true, region: s3.region, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    try {
      const read = async (key: string) => (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToString();
      expect(await read("data/state.json")).toBe(THEIR_STATE);
      const ours = JSON.parse(await read("data/idpscim-state.json"));
      expect(Object.keys(ours.users).sort()).toEqual(PEOPLE.map((p) => p.id).sort());
    } finally {
      client.destroy();
    }
  });

  test("pointed at idp-scim-sync's state.json by mistake: STATE_INVALID names it and the fix, and nothing is written", async () => {
    world = await startWorld({ scenario: leftBy(true) }, { state: "s3" });
    const w = world;
    await w.emulators.s3.putObjectAsOtherWriter("data/state.json", THEIR_STATE);
    w.emulators.scim.log.clear();
    const run = await w.run(["sync"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("STATE_INVALID");
    expect(run.stderr).toContain("this looks like idp-scim-sync's state; idpscim keeps its own: point aws.s3_bucket_key at a new key, the first run adopts what idp-scim-sync created");
    expect(w.emulators.scim.log.writes()).toBe(0);
  });
});

describe("coming from ssosync", () => {
  test("its SSOSYNC_* settings, imported: the users (by userName) and groups (by displayName, first run) it made without externalIds are adopted in place", async () => {
    world = await startWorld({ scenario: leftBy(false) });
    const w = world;
    const envFile = join(w.emulators.directory, "ssosync.env");
    writeFileSync(
      envFile,
      [
        `SSOSYNC_GOOGLE_ADMIN=${w.emulators.google.adminEmail}`,
        `SSOSYNC_GOOGLE_CREDENTIALS=${w.emulators.google.serviceAccountFile}`,
        `SSOSYNC_SCIM_ENDPOINT=${w.emulators.scim.url}`,
        `SSOSYNC_SCIM_ACCESS_TOKEN=${w.emulators.scim.token}`,
        "SSOSYNC_GROUP_MATCH=name:AWS*",
        "SSOSYNC_SYNC_METHOD=groups",
        "SSOSYNC_REGION=us-east-1",
        "SSOSYNC_IDENTITY_STORE_ID=d-1234567890",
        "",
      ].join("\n"),
    );
    const configPath = join(w.emulators.directory, "imported.toml");
    const imported = await w.run(["config", "import", "--from", "ssosync", envFile, "--out", configPath], { config: false });
    expect(imported.code).toBe(0);
    expect(imported.stderr).toContain("SSOSYNC_IDENTITY_STORE_ID: no equivalent");
    expect(imported.stderr).not.toContain(w.emulators.scim.token);
    expect(await Bun.file(configPath).text()).not.toContain(w.emulators.scim.token);

    // ssosync keeps no state: the importer says to give one; a local file here.
    await expectAdoptedInPlace(w, configPath, ["--state-file", w.statePath]);
  });
});

describe("config import on the command line", () => {
  test("--out never replaces a file without --force; usage mistakes stop with exit 2 before reading anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idpscim-import-"));
    try {
      const env = join(dir, "ssosync.env");
      const out = join(dir, "config.toml");
      writeFileSync(env, "SSOSYNC_GOOGLE_ADMIN=admin@example.com\n");
      writeFileSync(out, "# mine\n");
      const refused = await runIdpscim(["config", "import", "--from", "ssosync", env, "--out", out]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("exists; not replaced: pass --force to replace it");
      expect(readFileSync(out, "utf8")).toBe("# mine\n");
      expect((await runIdpscim(["config", "import", "--from", "ssosync", env, "--out", out, "--force"])).code).toBe(0);
      expect(readFileSync(out, "utf8")).toContain('user_email = "admin@example.com"');

      for (const [args, message] of [
        [["config", "import", env], "config import needs --from"],
        [["config", "import", "--from", "idp-scim-sync"], "needs the FILE it reads"],
        [["config", "validate", env], "config validate takes no FILE"],
      ] as const) {
        const run = await runIdpscim([...args]);
        expect(run.code).toBe(2);
        expect(run.stderr).toContain(message);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
