/** @module Contract tests of the Google emulator over real HTTP: raw fetch and the real googleapis/google-auth-library clients (§ = docs/google-directory.md). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JWT, gaxios } from "google-auth-library";
import { admin_directory_v1 } from "googleapis/build/src/apis/admin/directory_v1.js";
import { EXAMPLE_SCENARIO } from "../support/paths.ts";
import { loadScenarioFile, parseScenario, type Scenario } from "../emulators/scenario.ts";
import { DIRECTORY_READONLY_SCOPES, startGoogleEmulator, type GoogleEmulator } from "../emulators/google/server.ts";

const EXAMPLE = EXAMPLE_SCENARIO;
const USER_RO = "https://www.googleapis.com/auth/admin.directory.user.readonly";
const GROUP_RO = "https://www.googleapis.com/auth/admin.directory.group.readonly";
const MEMBER_RO = "https://www.googleapis.com/auth/admin.directory.group.member.readonly";
const DIR = "/admin/directory/v1";
const tmp = mkdtempSync(join(tmpdir(), "google-emulator-"));

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---- helpers -----------------------------------------------------------------------------------

/** A gaxios transporter that sends ONLY the hard-coded token call to the emulator (docs/google-directory.md §7.6, §8.1). */
function tokenRedirect(tokenOrigin: string): InstanceType<typeof gaxios.Gaxios> {
  const transporter = new gaxios.Gaxios();
  transporter.interceptors.request.add({
    resolved: async (config) => {
      const target = new URL(config.url.toString());
      if (target.origin === "https://oauth2.googleapis.com") {
        const origin = new URL(tokenOrigin);
        target.protocol = origin.protocol;
        target.host = origin.host;
        config.url = target;
      }
      return config;
    },
  });
  return transporter;
}

function realClient(emu: GoogleEmulator, opts: { scopes?: readonly string[]; subject?: string } = {}) {
  const auth = new JWT({
    email: emu.serviceAccountKey.client_email,
    key: emu.serviceAccountKey.private_key,
    keyId: emu.serviceAccountKey.private_key_id,
    scopes: [...(opts.scopes ?? DIRECTORY_READONLY_SCOPES)],
    subject: opts.subject ?? emu.adminEmail,
    transporter: tokenRedirect(emu.url),
  });
  // §8.2: a global rootUrl keeps only scheme/host/port; the emulator serves /admin/directory/v1 at its root.
  return { auth, admin: new admin_directory_v1.Admin({ auth, rootUrl: `${emu.url}/` }) };
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function assertion(emu: GoogleEmulator, claims: Record<string, unknown> = {}, key = emu.serviceAccountKey.private_key!): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: emu.serviceAccountKey.client_email,
    scope: DIRECTORY_READONLY_SCOPES.join(" "),
    aud: "https://oauth2.googleapis.com/token",
    iat: now,
    exp: now + 3600,
    sub: emu.adminEmail,
    ...claims,
  };
  const input = `${b64url({ alg: "RS256" })}.${b64url(payload)}`;
  const signature = createSign("RSA-SHA256").update(input).sign(key).toString("base64url");
  return `${input}.${signature}`;
}

async function postToken(emu: GoogleEmulator, jwt: string, grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer") {
  const res = await fetch(emu.tokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: grantType, assertion: jwt }),
  });
  return { res, body: (await res.json()) as Record<string, unknown> };
}

async function token(emu: GoogleEmulator, claims: Record<string, unknown> = {}): Promise<string> {
  const { res, body } = await postToken(emu, assertion(emu, claims));
  expect(res.status).toBe(200);
  return body.access_token as string;
}

async function api(emu: GoogleEmulator, path: string, accessToken?: string) {
  const res = await fetch(`${emu.url}${DIR}${path}`, { headers: accessToken ? { Authorization: `Bearer ${accessToken}` } : {} });
  return { res, body: (await res.json()) as any };
}

/** Runs `fn`, expecting the real client to throw a GaxiosError; returns status and first reason. */
async function clientError(fn: () => Promise<unknown>) {
  try {
    await fn();
  } catch (error) {
    const e = error as { status?: number; message: string; response?: { data?: any } };
    return { status: e.status, message: e.message, reason: e.response?.data?.error?.errors?.[0]?.reason as string | undefined };
  }
  throw new Error("expected the client call to fail");
}

function bigScenario(users: number, groups: number): Scenario {
  const pad = (n: number) => String(n).padStart(5, "0");
  return parseScenario({
    google: {
      domain: "big.example",
      customerId: "C0big",
      adminEmail: "admin@big.example",
      users: Array.from({ length: users }, (_, i) => ({
        id: `1${pad(i)}`,
        primaryEmail: `user${pad(i)}@big.example`,
        name: { givenName: `Given${i}`, familyName: `Family${i}` },
        suspended: i % 10 === 0,
        orgUnitPath: i % 3 === 0 ? "/Engineering/Platform" : i % 3 === 1 ? "/Engineering" : "/Sales",
      })),
      groups: Array.from({ length: groups }, (_, i) => ({
        id: `2${pad(i)}`,
        email: `${i % 2 === 0 ? "team" : "list"}-${pad(i)}@big.example`,
        name: `${i % 2 === 0 ? "Team" : "List"} ${pad(i)}`,
        members: i === 0 ? Array.from({ length: 450 }, (_, j) => ({ email: `user${pad(j)}@big.example` })) : [],
      })),
    },
  });
}

// ---- example scenario ----------------------------------------------------------------------------

describe("token endpoint and auth (example scenario)", () => {
  let emu: GoogleEmulator;
  beforeAll(async () => {
    emu = await startGoogleEmulator({ scenario: loadScenarioFile(EXAMPLE), directory: tmp });
  });
  afterAll(() => emu.close());

  test("writes a usable service-account key file", () => {
    const file = JSON.parse(readFileSync(emu.serviceAccountFile, "utf8"));
    expect(file).toEqual(emu.serviceAccountKey);
    expect(file.type).toBe("service_account");
    expect(file.universe_domain).toBe("googleapis.com");
    expect(file.private_key).toStartWith("-----BEGIN PRIVATE KEY-----");
    expect(file.client_id).toMatch(/^\d{21}$/);
    expect(emu.tokenUrl).toBe(`${emu.url}/token`);
  });

  test("token success: ya29 token, expires_in 3599, Bearer", async () => {
    const { res, body } = await postToken(emu, assertion(emu));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(body.access_token).toStartWith("ya29.");
    expect(body).toMatchObject({ expires_in: 3599, token_type: "Bearer" });
    expect(emu.log.counts()["POST /token"]).toBeGreaterThanOrEqual(1);
  });

  test("scope outside the DWD allow-list → 401 unauthorized_client with Google's text", async () => {
    const { res, body } = await postToken(emu, assertion(emu, { scope: `${USER_RO} https://www.googleapis.com/auth/admin.directory.user` }));
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(body).toEqual({
      error: "unauthorized_client",
      error_description:
        "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
    });
  });

  test("grantedScopes is mutable: revoking a scope makes the real client throw unauthorized_client", async () => {
    emu.grantedScopes.splice(0, emu.grantedScopes.length, USER_RO, GROUP_RO);
    try {
      const { admin } = realClient(emu);
      const err = await clientError(() => admin.users.list({ customer: "my_customer" }));
      expect(err.status).toBe(401);
      expect(err.message).toContain("unauthorized_client");
    } finally {
      emu.grantedScopes.splice(0, emu.grantedScopes.length, ...DIRECTORY_READONLY_SCOPES);
    }
  });

  test("bad signature → 400 invalid_grant", async () => {
    const other = (await import("node:crypto")).generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const { res, body } = await postToken(emu, assertion(emu, {}, other.export({ type: "pkcs8", format: "pem" }) as string));
    expect(res.status).toBe(400);
    expect(body).toEqual({ error: "invalid_grant", error_description: "Invalid JWT Signature." });
    const forged = assertion(emu).replace(/\.[^.]+\./, `.${b64url({ iss: "x" })}.`);
    expect((await postToken(emu, forged)).body.error).toBe("invalid_grant");
  });

  test("over-long or future assertions → invalid_grant; wrong grant_type and audience rejected", async () => {
    const now = Math.floor(Date.now() / 1000);
    const long = await postToken(emu, assertion(emu, { iat: now, exp: now + 3601 }));
    expect(long.res.status).toBe(400);
    expect(long.body.error).toBe("invalid_grant");
    expect(long.body.error_description).toStartWith("Invalid JWT: Token must be a short-lived token (60 minutes)");
    const future = await postToken(emu, assertion(emu, { iat: now + 3600, exp: now + 7200 }));
    expect(future.body.error).toBe("invalid_grant");
    expect((await postToken(emu, assertion(emu, { aud: "https://example.com/token" }))).body.error).toBe("invalid_grant");
    expect((await postToken(emu, assertion(emu, { aud: emu.tokenUrl }))).res.status).toBe(200);
    expect((await postToken(emu, assertion(emu), "client_credentials")).body.error).toBe("unsupported_grant_type");
  });

  test("API without a token, or with an unknown one → 401 authError envelope", async () => {
    for (const t of [undefined, "ya29.not-issued"]) {
      const { res, body } = await api(emu, "/users?customer=my_customer", t);
      expect(res.status).toBe(401);
      expect(body.error.code).toBe(401);
      expect(body.error.errors[0]).toMatchObject({ domain: "global", reason: "authError" });
    }
  });

  test("token for a non-admin sub is issued but API answers 403 forbidden", async () => {
    const t = await token(emu, { sub: "ana.lima@example.com" });
    const { res, body } = await api(emu, "/users?customer=my_customer", t);
    expect(res.status).toBe(403);
    expect(body).toEqual({
      error: {
        code: 403,
        message: "Not Authorized to access this resource/api",
        errors: [{ message: "Not Authorized to access this resource/api", domain: "global", reason: "forbidden" }],
      },
    });
    const { admin } = realClient(emu, { subject: "ana.lima@example.com" });
    const err = await clientError(() => admin.groups.list({ customer: "my_customer" }));
    expect(err).toMatchObject({ status: 403, reason: "forbidden" });
  });

  test("token without the method's scope → 403 insufficientPermissions; members.list accepts group.readonly", async () => {
    const usersOnly = await token(emu, { scope: USER_RO });
    const denied = await api(emu, "/groups?customer=my_customer", usersOnly);
    expect(denied.res.status).toBe(403);
    expect(denied.body.error.errors[0].reason).toBe("insufficientPermissions");
    const groupOnly = await token(emu, { scope: GROUP_RO });
    expect((await api(emu, "/groups/aws-admins@example.com/members", groupOnly)).res.status).toBe(200);
    const memberOnly = await token(emu, { scope: MEMBER_RO });
    expect((await api(emu, "/groups/aws-admins@example.com/members", memberOnly)).res.status).toBe(200);
    expect((await api(emu, "/groups?customer=my_customer", memberOnly)).res.status).toBe(403);
  });

  test("expired tokens are refused", async () => {
    const short = await startGoogleEmulator({ scenario: loadScenarioFile(EXAMPLE), directory: tmp, tokenLifetimeSeconds: 1 });
    try {
      const { res, body } = await postToken(short, assertion(short));
      expect(body.expires_in).toBe(1);
      expect(res.status).toBe(200);
      await Bun.sleep(1100);
      expect((await api(short, "/users?customer=my_customer", body.access_token as string)).res.status).toBe(401);
    } finally {
      await short.close();
    }
  });
});

describe("Directory methods on the example scenario", () => {
  let emu: GoogleEmulator;
  let t: string;
  beforeAll(async () => {
    emu = await startGoogleEmulator({ scenario: loadScenarioFile(EXAMPLE), directory: tmp });
    t = await token(emu);
  });
  afterAll(() => emu.close());

  test("users.list through the real client: shape, defaults, order by email, customer or domain required", async () => {
    const { admin } = realClient(emu);
    const res = await admin.users.list({ customer: "my_customer" });
    const users = res.data.users ?? [];
    expect(users.length).toBe(12);
    expect(users.map((u) => u.primaryEmail)).toEqual([...users.map((u) => u.primaryEmail!)].sort());
    const ana = users.find((u) => u.primaryEmail === "ana.lima@example.com")!;
    expect(ana).toMatchObject({
      kind: "admin#directory#user",
      id: "100000000000000000001",
      isAdmin: false,
      suspended: false,
      archived: false,
      orgUnitPath: "/",
      customerId: "C01exmpl",
      emails: [{ address: "ana.lima@example.com", primary: true }],
      name: { givenName: "Ana", familyName: "Lima", fullName: "Ana Lima" },
    });
    expect(ana.organizations).toEqual([{ primary: true, title: "Staff Engineer", department: "Platform", costCenter: "CC-10", name: "Example Corp" }]);
    expect(ana.etag).toMatch(/^".+"$/);
    expect(users.find((u) => u.primaryEmail === "dev.patel@example.com")!.suspended).toBe(true);
    expect(res.data.nextPageToken).toBeUndefined();

    const err = await clientError(() => admin.users.list({}));
    expect(err).toMatchObject({ status: 400, reason: "badRequest" });
    const byDomain = await admin.users.list({ domain: "example.com", maxResults: 5 });
    expect(byDomain.data.users?.length).toBe(5);
    expect(byDomain.data.nextPageToken).toBeString();
  });

  test("users.list query subset: email prefix/exact, isSuspended, orgUnitPath subtree, AND, empty result omits users", async () => {
    const q = async (query: string) => {
      const { res, body } = await api(emu, `/users?customer=my_customer&query=${encodeURIComponent(query).replace(/%20/g, "%20")}`, t);
      expect(res.status).toBe(200);
      return ((body.users ?? []) as { primaryEmail: string }[]).map((u) => u.primaryEmail);
    };
    expect(await q("email:ana*")).toEqual(["ana.lima@example.com"]);
    expect(await q("email=BO.CHEN@example.com")).toEqual(["bo.chen@example.com"]);
    expect(await q("isSuspended=true")).toEqual(["dev.patel@example.com"]);
    expect((await q("isSuspended=false")).length).toBe(11);
    expect(await q("orgUnitPath='/Contractors'")).toEqual(["kai.berg@example.com"]);
    expect((await q("orgUnitPath=/")).length).toBe(12);
    expect(await q("orgUnitPath='/Contractors' isSuspended=true")).toEqual([]);
    expect(await q("isArchived=false email:k*")).toEqual(["kai.berg@example.com"]);
    const empty = await api(emu, `/users?customer=my_customer&query=${encodeURIComponent("email=nobody@example.com")}`, t);
    expect(empty.body).not.toHaveProperty("users");
    expect(empty.body.kind).toBe("admin#directory#users");
    expect((await api(emu, `/users?customer=my_customer&query=${encodeURIComponent("email='unclosed")}`, t)).res.status).toBe(400);
    expect((await api(emu, `/users?customer=my_customer&showDeleted=false&projection=full`, t)).res.status).toBe(200);
  });

  test("users.get by email (any case), alias-free id; unknown and external → 404 notFound userKey", async () => {
    const { admin } = realClient(emu);
    expect((await admin.users.get({ userKey: "Jo.Ng@Example.com" })).data.id).toBe("100000000000000000010");
    expect((await admin.users.get({ userKey: "100000000000000000010" })).data.primaryEmail).toBe("jo.ng@example.com");
    const err = await clientError(() => admin.users.get({ userKey: "contractor@partner.example" }));
    expect(err).toMatchObject({ status: 404, reason: "notFound", message: "Resource Not Found: userKey" });
    expect(emu.log.counts()["GET users.get"]).toBe(3);
  });

  test("groups.get (§2.5) by email (any case) or id, fields selected; unknown → 404 notFound groupKey", async () => {
    const { admin } = realClient(emu);
    expect((await admin.groups.get({ groupKey: "AWS-Admins@Example.com", fields: "id,email,name" })).data).toEqual({
      id: "200000000000000000001",
      email: "aws-admins@example.com",
      name: "AWS Admins",
    });
    expect((await admin.groups.get({ groupKey: "200000000000000000005" })).data).toMatchObject({ kind: "admin#directory#group", name: "All Staff", directMembersCount: "12" });
    const err = await clientError(() => admin.groups.get({ groupKey: "nobody@example.com" }));
    expect(err).toMatchObject({ status: 404, reason: "notFound", message: "Resource Not Found: groupKey" });
    expect(emu.log.counts()["GET groups.get"]).toBe(3);
  });

  test("groups.list shape and query forms", async () => {
    const { admin } = realClient(emu);
    const all = await admin.groups.list({ customer: "my_customer" });
    expect(all.data.groups?.map((g) => g.email)).toEqual([
      "all-staff@example.com",
      "aws-admins@example.com",
      "aws-breakglass@example.com",
      "aws-developers@example.com",
      "aws-readers@example.com",
    ]);
    expect(all.data.groups?.[1]).toEqual({
      kind: "admin#directory#group",
      id: "200000000000000000001",
      etag: expect.stringMatching(/^".+"$/),
      email: "aws-admins@example.com",
      name: "AWS Admins",
      directMembersCount: "3",
      description: "",
      adminCreated: true,
    });
    const names = async (query: string) => ((await admin.groups.list({ customer: "my_customer", query })).data.groups ?? []).map((g) => g.email);
    expect(await names("name:AWS*")).toEqual(["aws-admins@example.com", "aws-breakglass@example.com", "aws-developers@example.com", "aws-readers@example.com"]);
    expect(await names("name='AWS ReadOnly'")).toEqual(["aws-readers@example.com"]);
    expect(await names("name=All")).toEqual([]);
    expect(await names("email:aws-b*")).toEqual(["aws-breakglass@example.com"]);
    expect(await names("email=aws-admins@example.com")).toEqual(["aws-admins@example.com"]);
    expect(await names("name:AWS* email:aws-d*")).toEqual(["aws-developers@example.com"]);
    expect(await names("memberKey=jo.ng@example.com")).toEqual(["all-staff@example.com", "aws-breakglass@example.com"]);
    // §8.3: the client serialises spaces as %20, which the emulator decodes.
    expect(emu.log.entries.some((e) => e.route === "groups.list" && e.url.includes("name%3AAWS%2A%20email"))).toBe(true);
    for (const bad of ["name:AWS", "description:x", "memberKey=jo.ng@example.com name:AWS*", "name>x"]) {
      expect(await clientError(() => admin.groups.list({ customer: "my_customer", query: bad }))).toMatchObject({ status: 400, reason: "invalid" });
    }
    // §2.3: userKey alone works, userKey + customer → 400.
    const userGroups = await admin.groups.list({ userKey: "jo.ng@example.com" });
    expect(userGroups.data.groups?.map((g) => g.email)).toEqual(["all-staff@example.com", "aws-breakglass@example.com"]);
    expect(await clientError(() => admin.groups.list({ userKey: "jo.ng@example.com", customer: "my_customer" }))).toMatchObject({ status: 400 });
  });

  test("members.list direct: GROUP entries, external USER with a synthetic id, suspended member", async () => {
    const { admin } = realClient(emu);
    const admins = await admin.members.list({ groupKey: "aws-admins@example.com" });
    expect(admins.data.members).toEqual([
      { kind: "admin#directory#member", etag: expect.any(String), id: "100000000000000000001", email: "ana.lima@example.com", role: "MEMBER", type: "USER", status: "ACTIVE" },
      { kind: "admin#directory#member", etag: expect.any(String), id: "100000000000000000002", email: "bo.chen@example.com", role: "OWNER", type: "USER", status: "ACTIVE" },
      { kind: "admin#directory#member", etag: expect.any(String), id: "200000000000000000004", email: "aws-breakglass@example.com", role: "MEMBER", type: "GROUP", status: "ACTIVE" },
    ]);
    const devs = (await admin.members.list({ groupKey: "200000000000000000002" })).data.members ?? [];
    const external = devs.find((m) => m.email === "contractor@partner.example")!;
    expect(external).toMatchObject({ type: "USER", role: "MEMBER", status: "ACTIVE" });
    expect(external.id).toMatch(/^\d{21}$/);
    const again = (await admin.members.list({ groupKey: "aws-developers@example.com" })).data.members ?? [];
    expect(again.find((m) => m.email === "contractor@partner.example")!.id).toBe(external.id!);
    expect(devs.find((m) => m.email === "dev.patel@example.com")!.status).toBe("SUSPENDED");
    // all-staff lists dev.patel as ACTIVE in the scenario; a suspended user's membership shows SUSPENDED.
    const staff = (await admin.members.list({ groupKey: "all-staff@example.com" })).data.members ?? [];
    expect(staff.find((m) => m.email === "dev.patel@example.com")!.status).toBe("SUSPENDED");
    expect(await clientError(() => admin.users.get({ userKey: external.email! }))).toMatchObject({ status: 404 });
    expect(await clientError(() => admin.members.list({ groupKey: "nope@example.com" }))).toMatchObject({
      status: 404,
      reason: "notFound",
      message: "Resource Not Found: groupKey",
    });
  });

  test("members.list includeDerivedMembership flattens nested groups to users only", async () => {
    const { admin } = realClient(emu);
    const emails = async (groupKey: string) =>
      ((await admin.members.list({ groupKey, includeDerivedMembership: true })).data.members ?? []).map((m) => `${m.email}:${m.type}:${m.role}`);
    expect(await emails("aws-admins@example.com")).toEqual([
      "ana.lima@example.com:USER:MEMBER",
      "bo.chen@example.com:USER:OWNER",
      "jo.ng@example.com:USER:MEMBER",
    ]);
    const readers = await emails("aws-readers@example.com");
    expect(readers).toEqual([
      "hana.sato@example.com:USER:MEMBER",
      "ivan.petrov@example.com:USER:MEMBER",
      "carla.diaz@example.com:USER:MEMBER",
      "dev.patel@example.com:USER:MEMBER",
      "eun.kim@example.com:USER:MEMBER",
      "farah@example.com:USER:MEMBER",
      "goran.ivic@example.com:USER:MEMBER",
      "contractor@partner.example:USER:MEMBER",
    ]);
    const owners = await admin.members.list({ groupKey: "aws-admins@example.com", roles: "OWNER,MANAGER" });
    expect(owners.data.members?.map((m) => m.email)).toEqual(["bo.chen@example.com"]);
    // The raw wire form of booleans is the string "true".
    const raw = await api(emu, "/groups/aws-admins%40example.com/members?includeDerivedMembership=true&fields=members(email)", t);
    expect(raw.body).toEqual({ members: [{ email: "ana.lima@example.com" }, { email: "bo.chen@example.com" }, { email: "jo.ng@example.com" }] });
  });

  test("partial responses: fields selects, kind/etag dropped, invalid selector → 400 invalidParameter", async () => {
    const { admin } = realClient(emu);
    const res = await admin.users.list({ customer: "my_customer", maxResults: 5, fields: "users(id,primaryEmail,name/fullName,suspended)" });
    expect(res.data).not.toHaveProperty("nextPageToken");
    expect(res.data).not.toHaveProperty("kind");
    expect(res.data.users?.[0]).toEqual({ id: "100000000000000000001", primaryEmail: "ana.lima@example.com", name: { fullName: "Ana Lima" }, suspended: false });
    const withToken = await admin.users.list({ customer: "my_customer", maxResults: 5, fields: "nextPageToken,users(primaryEmail)" });
    expect(withToken.data.nextPageToken).toBeString();
    expect(Object.keys(withToken.data.users?.[0] ?? {})).toEqual(["primaryEmail"]);
    const star = await api(emu, "/users/ana.lima@example.com?fields=*", t);
    expect(star.body.kind).toBe("admin#directory#user");
    const nested = await api(emu, "/users/ana.lima@example.com?fields=name(givenName,familyName),organizations/title", t);
    expect(nested.body).toEqual({ name: { givenName: "Ana", familyName: "Lima" }, organizations: [{ title: "Staff Engineer" }] });
    for (const bad of ["bogus", "users(id", "users(id))", "users,,id"]) {
      const err = await clientError(() => admin.users.list({ customer: "my_customer", fields: bad }));
      expect(err).toMatchObject({ status: 400, reason: "invalidParameter" });
      expect(err.message).toStartWith("Invalid field selection");
    }
  });
});

describe("nested membership edge cases", () => {
  test("cycles terminate, CUSTOMER entries stay, duplicates collapse with the direct role winning", async () => {
    const scenario = parseScenario({
      google: {
        domain: "c.example",
        customerId: "C0cyc",
        users: [
          { id: "u1", primaryEmail: "a@c.example" },
          { id: "u2", primaryEmail: "b@c.example", suspended: true },
        ],
        groups: [
          { id: "g1", email: "one@c.example", name: "One", members: [{ email: "a@c.example", role: "OWNER" }, { email: "two@c.example", type: "GROUP" }, { type: "CUSTOMER" }] },
          { id: "g2", email: "two@c.example", name: "Two", members: [{ email: "a@c.example" }, { email: "b@c.example" }, { email: "one@c.example", type: "GROUP" }] },
        ],
      },
    });
    const emu = await startGoogleEmulator({ scenario, directory: tmp });
    try {
      const t = await token(emu);
      const { body } = await api(emu, "/groups/g1/members?includeDerivedMembership=true&fields=members(id,email,role,type,status)", t);
      expect(body.members).toEqual([
        { id: "u1", email: "a@c.example", role: "OWNER", type: "USER", status: "ACTIVE" },
        { id: "C0cyc", role: "MEMBER", type: "CUSTOMER", status: "ACTIVE" },
        { id: "u2", email: "b@c.example", role: "MEMBER", type: "USER", status: "SUSPENDED" },
      ]);
    } finally {
      await emu.close();
    }
  });
});

describe("custom schemas by projection (§2.1)", () => {
  test("basic leaves them out, custom keeps the schemas customFieldMask names (none: no key), full keeps all", async () => {
    const customSchemas = { HR: { login: "alima", level: 8, projects: [{ value: "Apollo", type: "work" }] }, Badge: { id: "B-1" } };
    const scenario = parseScenario({ google: { domain: "c.example", customerId: "C0cs", users: [{ id: "u1", primaryEmail: "a@c.example", customSchemas }] } });
    const emu = await startGoogleEmulator({ scenario, directory: tmp });
    try {
      const t = await token(emu);
      const schemasOf = async (query: string) => (await api(emu, `/users/u1?${query}`, t)).body.customSchemas;
      expect(await schemasOf("")).toBeUndefined();
      expect(await schemasOf("projection=basic&customFieldMask=HR")).toBeUndefined();
      expect(await schemasOf("projection=custom&customFieldMask=HR")).toEqual({ HR: customSchemas.HR });
      expect(await schemasOf("projection=custom&customFieldMask=HR,Badge&fields=customSchemas")).toEqual(customSchemas);
      expect(await schemasOf("projection=custom")).toBeUndefined();
      expect(await schemasOf("projection=full")).toEqual(customSchemas);
      const { body } = await api(emu, "/users?customer=my_customer&projection=custom&customFieldMask=Badge&fields=users(id,customSchemas)", t);
      expect(body.users).toEqual([{ id: "u1", customSchemas: { Badge: { id: "B-1" } } }]);
    } finally {
      await emu.close();
    }
  });
});

describe("users.list query: custom schema fields and manager chains (§3.1)", () => {
  test("schemaName.fieldName by type (BOOL =, STRING = : prefix*, multi-valued), manager up the chain, directManager one step; unknown fields and wrong operators are 400", async () => {
    const scenario = parseScenario({
      google: {
        domain: "q.example",
        customerId: "C0q",
        users: [
          { id: "u1", primaryEmail: "boss@q.example", customSchemas: { Custom: { awsAccess: true, team: "Platform Core" } } },
          { id: "u2", primaryEmail: "lead@q.example", relations: [{ type: "manager", value: "boss@q.example" }], customSchemas: { Custom: { awsAccess: false, team: "Platform" } } },
          { id: "u3", primaryEmail: "dev@q.example", relations: [{ type: "manager", value: "lead@q.example" }], customSchemas: { Custom: { awsAccess: true }, Projects: { names: [{ value: "gene" }, { value: "Atlas Prime" }] } } },
          { id: "u4", primaryEmail: "loop@q.example", relations: [{ type: "manager", value: "loop@q.example" }] },
        ],
      },
    });
    const emu = await startGoogleEmulator({ scenario, directory: tmp });
    try {
      const t = await token(emu);
      const q = async (query: string) => {
        const { res, body } = await api(emu, `/users?customer=my_customer&query=${encodeURIComponent(query)}`, t);
        return res.status === 200 ? ((body.users ?? []) as { primaryEmail: string }[]).map((u) => u.primaryEmail.split("@")[0]) : res.status;
      };
      expect(await q("Custom.awsAccess=true")).toEqual(["boss", "dev"]);
      expect(await q("Custom.awsAccess=FALSE")).toEqual(["lead"]);
      expect(await q("Custom.team='Platform Core'")).toEqual(["boss"]);
      expect(await q("Custom.team:platform")).toEqual(["boss", "lead"]);
      expect(await q("Custom.team:Plat*")).toEqual(["boss", "lead"]);
      expect(await q("Projects.names=gene")).toEqual(["dev"]);
      expect(await q("Projects.names:atlas")).toEqual(["dev"]);
      expect(await q("Custom.awsAccess=true email:d*")).toEqual(["dev"]); // clauses ANDed
      expect(await q("manager=boss@q.example")).toEqual(["dev", "lead"]);
      expect(await q("managerId=u1")).toEqual(["dev", "lead"]);
      expect(await q("directManager=BOSS@q.example")).toEqual(["lead"]);
      expect(await q("directManagerId=u2")).toEqual(["dev"]);
      expect(await q("manager=loop@q.example")).toEqual([]); // a user is not its own manager; the loop ends
      // Refused whoever the users are, as Google does for a query it cannot run.
      expect(await q("Custom.nothing=true")).toBe(400);
      expect(await q("Nothing.awsAccess=true")).toBe(400);
      expect(await q("Custom.awsAccess:true")).toBe(400);
      expect(await q("Custom.awsAccess=yes")).toBe(400);
      expect(await q("manager:boss@q.example")).toBe(400);
      expect(await q("Custom.team>A")).toBe(400);
    } finally {
      await emu.close();
    }
  });
});

// ---- volume, paging, faults ----------------------------------------------------------------------

describe("paging and caps on a large directory", () => {
  let emu: GoogleEmulator;
  beforeAll(async () => {
    emu = await startGoogleEmulator({ scenario: bigScenario(1200, 250), directory: tmp });
  });
  afterAll(() => emu.close());

  test("users.list pages at 500: 1200 users in 3 pages; maxResults 501 and 0 → 400", async () => {
    const { admin } = realClient(emu);
    const pages: number[] = [];
    const seen = new Set<string>();
    let pageToken: string | undefined;
    do {
      const res = await admin.users.list({ customer: "C0big", maxResults: 500, pageToken, fields: "nextPageToken,users(id)" });
      pages.push(res.data.users?.length ?? 0);
      for (const u of res.data.users ?? []) seen.add(u.id!);
      pageToken = res.data.nextPageToken ?? undefined;
    } while (pageToken);
    expect(pages).toEqual([500, 500, 200]);
    expect(seen.size).toBe(1200);
    expect(emu.log.counts()["GET users.list"]).toBe(3);
    for (const n of [501, 0]) {
      const err = await clientError(() => admin.users.list({ customer: "my_customer", maxResults: n }));
      expect(err).toMatchObject({ status: 400, reason: "invalid" });
    }
    expect((await admin.users.list({ customer: "my_customer" })).data.users?.length).toBe(100);
  });

  test("page tokens are opaque and bound to their list: a foreign token → 400", async () => {
    const { admin } = realClient(emu);
    const first = await admin.users.list({ customer: "my_customer", maxResults: 10 });
    const token = first.data.nextPageToken!;
    expect(await clientError(() => admin.groups.list({ customer: "my_customer", pageToken: token }))).toMatchObject({ status: 400 });
    expect(await clientError(() => admin.users.list({ customer: "my_customer", query: "isSuspended=true", pageToken: token }))).toMatchObject({ status: 400 });
    expect(await clientError(() => admin.users.list({ customer: "my_customer", pageToken: "garbage" }))).toMatchObject({ status: 400 });
  });

  test("users.list orgUnitPath matches the subtree; a client forgetting nextPageToken in fields stops after one page", async () => {
    const { admin } = realClient(emu);
    const res = await admin.users.list({ customer: "my_customer", maxResults: 500, query: "orgUnitPath='/Engineering' isSuspended=false", fields: "users(orgUnitPath)" });
    expect(res.data.users?.length).toBe(500);
    expect(res.data.nextPageToken).toBeUndefined();
    expect(new Set(res.data.users?.map((u) => u.orgUnitPath))).toEqual(new Set(["/Engineering", "/Engineering/Platform"]));
  });

  test("groups.list defaults to and caps at 200; members.list caps at 200", async () => {
    const { admin } = realClient(emu);
    const first = await admin.groups.list({ customer: "my_customer" });
    expect(first.data.groups?.length).toBe(200);
    const second = await admin.groups.list({ customer: "my_customer", pageToken: first.data.nextPageToken! });
    expect(second.data.groups?.length).toBe(50);
    expect(second.data.nextPageToken).toBeUndefined();
    expect(await clientError(() => admin.groups.list({ customer: "my_customer", maxResults: 201 }))).toMatchObject({ status: 400, reason: "invalid" });
    expect((await admin.groups.list({ domain: "big.example", query: "name:Team*", maxResults: 200 })).data.groups?.length).toBe(125);
    const members = await admin.members.list({ groupKey: "team-00000@big.example" });
    expect(members.data.members?.length).toBe(200);
    const rest = await admin.members.list({ groupKey: "team-00000@big.example", maxResults: 200, pageToken: members.data.nextPageToken! });
    expect(rest.data.members?.length).toBe(200);
    expect(await clientError(() => admin.members.list({ groupKey: "team-00000@big.example", maxResults: 201 }))).toMatchObject({ status: 400 });
  });
});

describe("faults and quota through the real client", () => {
  let emu: GoogleEmulator;
  beforeAll(async () => {
    emu = await startGoogleEmulator({
      scenario: loadScenarioFile(EXAMPLE),
      directory: tmp,
      failPages: [{ route: "members.list", nth: 2 }],
    });
  });
  afterAll(() => emu.close());

  test("403 userRateLimitExceeded surfaces (not retried by the library, §6.3)", async () => {
    emu.quota.userRateLimitRate = 1;
    try {
      const { admin } = realClient(emu);
      emu.log.clear();
      const err = await clientError(() => admin.users.list({ customer: "my_customer" }));
      expect(err).toMatchObject({ status: 403, reason: "userRateLimitExceeded", message: "User Rate Limit Exceeded" });
      expect(emu.log.counts()["GET users.list"]).toBe(1);
    } finally {
      emu.quota.userRateLimitRate = 0;
    }
  });

  test("403 quotaExceeded and 429 rateLimitExceeded carry domain usageLimits", async () => {
    const t = await token(emu);
    emu.quota.quotaExceededRate = 1;
    const q = await api(emu, "/users?customer=my_customer", t);
    emu.quota.quotaExceededRate = 0;
    expect(q.res.status).toBe(403);
    expect(q.body.error.errors[0]).toMatchObject({ reason: "quotaExceeded", domain: "usageLimits" });
    emu.quota.rateLimitRate = 1;
    const r = await api(emu, "/users?customer=my_customer", t);
    emu.quota.rateLimitRate = 0;
    expect(r.res.status).toBe(429);
    expect(r.body.error.errors[0]).toMatchObject({ reason: "rateLimitExceeded", domain: "usageLimits" });
  });

  test("503 backendError: the library retries 3 times, then surfaces the error", async () => {
    const { admin } = realClient(emu);
    await admin.users.get({ userKey: "ana.lima@example.com" }); // token fetched before faults start
    emu.faults.errorRate = 1;
    emu.log.clear();
    try {
      const err = await clientError(() => admin.users.list({ customer: "my_customer" }));
      expect(err).toMatchObject({ status: 503, reason: "backendError", message: "Service unavailable. Please try again" });
      expect(emu.log.counts()["GET users.list"]).toBe(4);
    } finally {
      emu.faults.errorRate = 0;
    }
  }, 15_000);

  test("failPages fails the Nth page once; the library's retry recovers it", async () => {
    const { admin } = realClient(emu);
    emu.log.clear();
    await admin.members.list({ groupKey: "aws-admins@example.com" });
    const second = await admin.members.list({ groupKey: "aws-admins@example.com" });
    expect(second.data.members?.length).toBe(3);
    const statuses = emu.log.entries.filter((e) => e.route === "members.list").map((e) => e.status);
    expect(statuses).toEqual([200, 503, 200]);
  });

  test("dropped connections and latency", async () => {
    const t = await token(emu);
    emu.faults.dropRate = 1;
    await expect(fetch(`${emu.url}${DIR}/users?customer=my_customer`, { headers: { Authorization: `Bearer ${t}` } })).rejects.toThrow();
    emu.faults.dropRate = 0;
    emu.faults.latencyMs = 150;
    const started = Date.now();
    expect((await api(emu, "/users?customer=my_customer", t)).res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    emu.faults.latencyMs = 0;
  });
});
