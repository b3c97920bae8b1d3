/**
 * @module Scenario files (test/scenarios/FORMAT.md): types, loading and the loader's rules.
 * Every emulator, test, the demo and the benchmarks read scenarios through this module.
 */
import { readFileSync } from "node:fs";

export interface ScenarioMember {
  email?: string;
  id?: string;
  type: "USER" | "GROUP" | "CUSTOMER" | "EXTERNAL";
  role: "OWNER" | "MANAGER" | "MEMBER";
  status: string;
}

/** A Directory API User resource; only `id` and `primaryEmail` are required, the rest passes through. */
export interface ScenarioGoogleUser {
  id: string;
  primaryEmail: string;
  name?: { givenName?: string; familyName?: string; fullName?: string; displayName?: string };
  suspended?: boolean;
  archived?: boolean;
  orgUnitPath?: string;
  [field: string]: unknown;
}

export interface ScenarioGoogleGroup {
  id: string;
  email: string;
  name: string;
  description?: string;
  members: ScenarioMember[];
  [field: string]: unknown;
}

export interface ScenarioGoogle {
  domain: string;
  customerId: string;
  adminEmail: string;
  users: ScenarioGoogleUser[];
  groups: ScenarioGoogleGroup[];
}

/** A SCIM User as AWS stores it (free-form beyond the checked fields). */
export interface ScenarioScimUser {
  id: string;
  externalId?: string | null;
  userName: string;
  displayName: string;
  name: { givenName: string; familyName: string; [k: string]: unknown };
  emails?: { value: string; type?: string; primary?: boolean }[];
  active?: boolean;
  [field: string]: unknown;
}

export interface ScenarioScimGroup {
  id: string;
  displayName: string;
  externalId?: string | null;
  members: string[];
}

export interface Scenario {
  google: ScenarioGoogle;
  scim: { users: ScenarioScimUser[]; groups: ScenarioScimGroup[] };
}

export class ScenarioError extends Error {
  override name = "ScenarioError";
}

const DEFAULT_GOOGLE: ScenarioGoogle = {
  domain: "example.com",
  customerId: "C00000000",
  adminEmail: "admin@example.com",
  users: [],
  groups: [],
};

export function loadScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ScenarioError(`scenario ${path}: cannot read the file (${(error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(`scenario ${path}: not valid JSON (${(error as Error).message})`);
  }
  return parseScenario(json, path);
}

/** Validates a parsed scenario and fills defaults. Throws ScenarioError naming the offending entry. */
export function parseScenario(json: unknown, origin = "scenario"): Scenario {
  const fail = (where: string, what: string): never => {
    throw new ScenarioError(`${origin}: ${where}: ${what}`);
  };
  if (!isObject(json)) fail("top level", "must be a JSON object with optional `google` and `scim` parts");
  const root = json as Record<string, unknown>;
  for (const key of Object.keys(root)) {
    if (key !== "google" && key !== "scim") fail(key, "unknown top-level part (expected `google` and/or `scim`)");
  }

  const google = parseGoogle(root.google, fail);
  const scim = parseScim(root.scim, fail);
  return { google, scim };
}

type Fail = (where: string, what: string) => never;

function parseGoogle(raw: unknown, fail: Fail): ScenarioGoogle {
  if (raw === undefined) return structuredClone(DEFAULT_GOOGLE);
  if (!isObject(raw)) fail("google", "must be an object");
  const g = raw as Record<string, unknown>;
  const domain = optionalString(g.domain, "google.domain", fail) ?? DEFAULT_GOOGLE.domain;
  const customerId = optionalString(g.customerId, "google.customerId", fail) ?? DEFAULT_GOOGLE.customerId;
  const adminEmail = optionalString(g.adminEmail, "google.adminEmail", fail) ?? `admin@${domain}`;
  const rawUsers = g.users ?? [];
  const rawGroups = g.groups ?? [];
  if (!Array.isArray(rawUsers)) fail("google.users", "must be an array");
  if (!Array.isArray(rawGroups)) fail("google.groups", "must be an array");

  const userIds = new Set<string>();
  const userEmails = new Set<string>();
  const users = (rawUsers as unknown[]).map((entry, index) => {
    const where = `google.users[${index}]`;
    if (!isObject(entry)) fail(where, "must be an object");
    const u = entry as Record<string, unknown>;
    const id = requiredString(u.id, `${where}.id`, fail);
    const primaryEmail = requiredString(u.primaryEmail, `${where} (id ${id}).primaryEmail`, fail);
    if (userIds.has(id)) fail(`${where}.id`, `duplicate user id "${id}"`);
    if (userEmails.has(primaryEmail.toLowerCase())) fail(`${where}.primaryEmail`, `duplicate primaryEmail "${primaryEmail}"`);
    userIds.add(id);
    userEmails.add(primaryEmail.toLowerCase());
    if (u.name !== undefined && !isObject(u.name)) fail(`${where}.name`, "must be an object");
    for (const flag of ["suspended", "archived"]) {
      if (u[flag] !== undefined && typeof u[flag] !== "boolean") fail(`${where}.${flag}`, "must be true or false");
    }
    return {
      ...u,
      id,
      primaryEmail,
      suspended: (u.suspended as boolean | undefined) ?? false,
      archived: (u.archived as boolean | undefined) ?? false,
      orgUnitPath: (u.orgUnitPath as string | undefined) ?? "/",
    } as ScenarioGoogleUser;
  });

  const groupIds = new Set<string>();
  const groupEmails = new Set<string>();
  const groupShells = (rawGroups as unknown[]).map((entry, index) => {
    const where = `google.groups[${index}]`;
    if (!isObject(entry)) fail(where, "must be an object");
    const gr = entry as Record<string, unknown>;
    const id = requiredString(gr.id, `${where}.id`, fail);
    const email = requiredString(gr.email, `${where} (id ${id}).email`, fail);
    const name = requiredString(gr.name, `${where} (${email}).name`, fail);
    if (groupIds.has(id) || userIds.has(id)) fail(`${where}.id`, `duplicate id "${id}"`);
    if (groupEmails.has(email.toLowerCase()) || userEmails.has(email.toLowerCase())) {
      fail(`${where}.email`, `duplicate email "${email}"`);
    }
    groupIds.add(id);
    groupEmails.add(email.toLowerCase());
    return { gr, id, email, name, where };
  });

  const groups = groupShells.map(({ gr, id, email, name, where }) => {
    const rawMembers = gr.members ?? [];
    if (!Array.isArray(rawMembers)) fail(`${where}.members`, "must be an array");
    const members = (rawMembers as unknown[]).map((m, mi) => {
      const mWhere = `${where} (${email}).members[${mi}]`;
      if (!isObject(m)) fail(mWhere, "must be an object");
      const mm = m as Record<string, unknown>;
      const type = (mm.type ?? "USER") as string;
      if (!["USER", "GROUP", "CUSTOMER", "EXTERNAL"].includes(type)) {
        fail(`${mWhere}.type`, `"${type}" is not one of USER, GROUP, CUSTOMER, EXTERNAL`);
      }
      const role = (mm.role ?? "MEMBER") as string;
      if (!["OWNER", "MANAGER", "MEMBER"].includes(role)) fail(`${mWhere}.role`, `"${role}" is not one of OWNER, MANAGER, MEMBER`);
      const status = optionalString(mm.status, `${mWhere}.status`, fail) ?? "ACTIVE";
      let memberEmail: string | undefined;
      if (type === "CUSTOMER") {
        memberEmail = undefined;
      } else {
        memberEmail = requiredString(mm.email, `${mWhere}.email`, fail);
        const key = memberEmail.toLowerCase();
        if (type === "GROUP" && !groupEmails.has(key)) fail(mWhere, `GROUP member "${memberEmail}" names no group of this scenario`);
        if (type === "USER" && groupEmails.has(key)) fail(mWhere, `USER member "${memberEmail}" names a group; use type GROUP`);
      }
      return {
        ...(memberEmail !== undefined ? { email: memberEmail } : {}),
        ...(typeof mm.id === "string" ? { id: mm.id } : {}),
        type,
        role,
        status,
      } as ScenarioMember;
    });
    return { ...gr, id, email, name, members } as ScenarioGoogleGroup;
  });

  return { domain, customerId, adminEmail, users, groups };
}

function parseScim(raw: unknown, fail: Fail): Scenario["scim"] {
  if (raw === undefined) return { users: [], groups: [] };
  if (!isObject(raw)) fail("scim", "must be an object");
  const s = raw as Record<string, unknown>;
  const rawUsers = s.users ?? [];
  const rawGroups = s.groups ?? [];
  if (!Array.isArray(rawUsers)) fail("scim.users", "must be an array");
  if (!Array.isArray(rawGroups)) fail("scim.groups", "must be an array");

  const ids = new Set<string>();
  const userNames = new Set<string>();
  const emails = new Set<string>();
  const externalIds = new Set<string>();
  const users = (rawUsers as unknown[]).map((entry, index) => {
    const where = `scim.users[${index}]`;
    if (!isObject(entry)) fail(where, "must be an object");
    const u = entry as Record<string, unknown>;
    const id = requiredString(u.id, `${where}.id`, fail);
    const at = `${where} (id ${id})`;
    if (ids.has(id)) fail(`${at}.id`, "duplicate id");
    ids.add(id);
    const userName = requiredString(u.userName, `${at}.userName`, fail);
    requiredString(u.displayName, `${at}.displayName`, fail);
    if (!isObject(u.name)) fail(`${at}.name`, "is required with givenName and familyName (AWS rejects users without them)");
    const name = u.name as Record<string, unknown>;
    requiredString(name.givenName, `${at}.name.givenName`, fail);
    requiredString(name.familyName, `${at}.name.familyName`, fail);
    for (const multi of ["emails", "addresses", "phoneNumbers", "roles"]) {
      const v = u[multi];
      if (v === undefined) continue;
      if (!Array.isArray(v)) fail(`${at}.${multi}`, "must be an array");
      if ((v as unknown[]).length > 1) fail(`${at}.${multi}`, `AWS allows at most one value (List attribute \`${multi}\` exceeds allowed limit of 1)`);
    }
    if (userNames.has(userName.toLowerCase())) fail(`${at}.userName`, `duplicate userName "${userName}"`);
    userNames.add(userName.toLowerCase());
    const email = (u.emails as { value?: string }[] | undefined)?.[0]?.value;
    if (email) {
      if (emails.has(email.toLowerCase())) fail(`${at}.emails`, `duplicate primary email "${email}"`);
      emails.add(email.toLowerCase());
    }
    const externalId = u.externalId;
    if (externalId !== undefined && externalId !== null) {
      if (typeof externalId !== "string") fail(`${at}.externalId`, "must be a string or null");
      if (externalIds.has(externalId as string)) fail(`${at}.externalId`, `duplicate externalId "${externalId}"`);
      externalIds.add(externalId as string);
    }
    return { active: true, ...u } as ScenarioScimUser;
  });

  const userIds = new Set(users.map((u) => u.id));
  const groupNames = new Set<string>();
  const groupExternalIds = new Set<string>();
  const groups = (rawGroups as unknown[]).map((entry, index) => {
    const where = `scim.groups[${index}]`;
    if (!isObject(entry)) fail(where, "must be an object");
    const gr = entry as Record<string, unknown>;
    const id = requiredString(gr.id, `${where}.id`, fail);
    const at = `${where} (id ${id})`;
    if (ids.has(id)) fail(`${at}.id`, "duplicate id");
    ids.add(id);
    const displayName = requiredString(gr.displayName, `${at}.displayName`, fail);
    if (groupNames.has(displayName)) fail(`${at}.displayName`, `duplicate group displayName "${displayName}"`);
    groupNames.add(displayName);
    const externalId = gr.externalId;
    if (externalId !== undefined && externalId !== null) {
      if (typeof externalId !== "string") fail(`${at}.externalId`, "must be a string or null");
      if (groupExternalIds.has(externalId as string)) fail(`${at}.externalId`, `duplicate externalId "${externalId}"`);
      groupExternalIds.add(externalId as string);
    }
    const members = gr.members ?? [];
    if (!Array.isArray(members)) fail(`${at}.members`, "must be an array of SCIM user ids");
    for (const [mi, m] of (members as unknown[]).entries()) {
      if (typeof m !== "string") fail(`${at}.members[${mi}]`, "must be a SCIM user id string");
      if (!userIds.has(m as string)) fail(`${at}.members[${mi}]`, `"${m}" names no user in scim.users`);
    }
    return {
      id,
      displayName,
      ...(typeof externalId === "string" ? { externalId } : {}),
      members: [...new Set(members as string[])],
    } as ScenarioScimGroup;
  });

  return { users, groups };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function requiredString(v: unknown, where: string, fail: Fail): string {
  if (typeof v !== "string" || v.length === 0) fail(where, "is required and must be a non-empty string");
  return v as string;
}

function optionalString(v: unknown, where: string, fail: Fail): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string") fail(where, "must be a string");
  return v as string;
}
