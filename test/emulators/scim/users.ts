/** @module AWS rules for SCIM User bodies: validation for POST/PUT and PatchOp application (docs/aws-scim.md §5). */
import { badRequest, UNPARSABLE } from "./errors.ts";

export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
export const ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/** User attributes as stored: everything but id, meta and schemas (the enterprise extension under its URN). */
export type UserAttrs = Record<string, unknown>;

/** A user as AWS returns it (full SCIM JSON). */
export interface ScimUserResource {
  id: string;
  externalId?: string;
  meta: { resourceType: "User"; created: string; lastModified: string };
  schemas: string[];
  userName: string;
  name: { givenName: string; familyName: string; [k: string]: unknown };
  displayName: string;
  active: boolean;
  emails?: { value: string; type?: string; primary?: boolean }[];
  [attribute: string]: unknown;
}

/** Single-valued string attributes AWS supports (§5.1); order = the order of the captured bodies. */
const STRING_ATTRS = [
  "userName", "displayName", "nickName", "profileUrl", "title", "userType",
  "preferredLanguage", "locale", "timezone", "externalId",
] as const;
const NAME_ATTRS = ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"];
/** Multi-valued attributes limited to one value (§5.1) and the sub-attributes each accepts. */
const LIMITED_LISTS: Record<string, string[]> = {
  emails: ["value", "type", "primary"],
  addresses: ["formatted", "streetAddress", "locality", "region", "postalCode", "country", "type", "primary"],
  phoneNumbers: ["value", "type", "primary"],
  roles: ["value", "type", "primary"],
};
const ENTERPRISE_ATTRS = ["employeeNumber", "costCenter", "organization", "division", "department", "manager"];
/** Attributes AWS does not support on users (§5.1); sending them is a 400. */
const REJECTED = ["groups", "password", "ims", "photos", "x509Certificates", "entitlements"];
/** Output order of a user, following the captured bodies. */
export const USER_ORDER = [
  "userName", "name", "displayName", "nickName", "profileUrl", "title", "userType",
  "preferredLanguage", "locale", "timezone", "active", "emails", "addresses", "phoneNumbers", "roles",
];
/** Attributes PatchUser may target (§5.4); `roles` is not in the documented list. */
const PATCHABLE = new Set([
  ...STRING_ATTRS, "active", "name", "emails", "addresses", "phoneNumbers",
].map((a) => a.toLowerCase()));
const RESERVED_USER_NAMES = ["administrator", "awsadministrators"];

const canonical = new Map<string, string>(
  [...STRING_ATTRS, "active", "name", ...Object.keys(LIMITED_LISTS), ...REJECTED, ENTERPRISE_URN].map((a) => [a.toLowerCase(), a]),
);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** "1 validation error detected: Value at 'x' failed to satisfy constraint: …" — the AWS wording (§5.1, UG:troubleshooting). */
const constraint = (where: string, what: string) =>
  badRequest(`1 validation error detected: Value at '${where}' failed to satisfy constraint: ${what}`);

/**
 * Turns a POST/PUT body into stored attributes. Rejects the unsupported attributes of §5.1 and,
 * knowingly stricter than necessary (AWS behaviour NOT KNOWN), any attribute AWS does not list.
 * `id`, `meta` and `schemas` are read-only and ignored. `null` counts as absent.
 */
export function userFromBody(body: unknown): UserAttrs {
  if (!isObject(body)) throw badRequest(UNPARSABLE);
  const attrs: UserAttrs = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === "id" || key === "meta" || key === "schemas" || value === null) continue;
    const name = canonical.get(key.toLowerCase());
    if (!name) throw badRequest(`Attribute \`${key}\` is not supported.`);
    if (REJECTED.includes(name)) throw badRequest(`Attribute \`${name}\` is not supported.`);
    attrs[name] = structuredClone(value);
  }
  return checkUser(attrs);
}

/**
 * Validates stored attributes (after create, put or patch) and normalises them in place:
 * required userName/displayName/name.givenName/name.familyName (§5.1), userName ≤ 128 and not
 * reserved (IDS:CreateUser), one value at most in emails/addresses/phoneNumbers/roles with the
 * exact AWS detail, the email primary, no `display` sub-attribute, active boolean (the strings
 * "true"/"false" are coerced: the PatchUser doc example sends a string, §5.4).
 */
export function checkUser(attrs: UserAttrs): UserAttrs {
  for (const attr of STRING_ATTRS) {
    const v = attrs[attr];
    if (v === undefined || v === null) {
      delete attrs[attr];
      continue;
    }
    if (typeof v !== "string") throw constraint(attr, "Member must be a string");
    if (v.length === 0) throw constraint(attr, "Member must have length greater than or equal to 1");
  }
  if (typeof attrs.userName !== "string") throw constraint("userName", "Member must not be null");
  if (attrs.userName.length > 128) throw constraint("userName", "Member must have length less than or equal to 128");
  if (RESERVED_USER_NAMES.includes(attrs.userName.toLowerCase())) throw badRequest(`userName \`${attrs.userName}\` is reserved.`);
  if (typeof attrs.displayName !== "string") throw constraint("displayName", "Member must not be null");

  if (!isObject(attrs.name)) throw constraint("name", "Member must not be null");
  for (const [k, v] of Object.entries(attrs.name)) {
    if (!NAME_ATTRS.includes(k)) throw badRequest(`Attribute \`name.${k}\` is not supported.`);
    if (v === null) delete attrs.name[k];
    else if (typeof v !== "string") throw constraint(`name.${k}`, "Member must be a string");
    else if (v.length === 0) throw constraint(`name.${k}`, "Member must have length greater than or equal to 1");
  }
  for (const required of ["givenName", "familyName"]) {
    if (attrs.name[required] === undefined) throw constraint(`name.${required}`, "Member must not be null");
  }

  if (attrs.active === undefined || attrs.active === null) attrs.active = true; // AWS default (§5.2)
  if (typeof attrs.active === "string" && /^(true|false)$/i.test(attrs.active)) attrs.active = attrs.active.toLowerCase() === "true";
  if (typeof attrs.active !== "boolean") throw constraint("active", "Member must be a boolean");

  for (const [list, subs] of Object.entries(LIMITED_LISTS)) {
    const v = attrs[list];
    if (v === undefined || v === null) {
      delete attrs[list];
      continue;
    }
    if (!Array.isArray(v)) throw badRequest(UNPARSABLE);
    // The exact AWS detail for a second value (§5.1, UG:troubleshooting).
    if (v.length > 1) throw badRequest(`List attribute \`${list}\` exceeds allowed limit of 1`);
    for (const entry of v) {
      if (!isObject(entry)) throw badRequest(UNPARSABLE);
      for (const [k, sv] of Object.entries(entry)) {
        if (!subs.includes(k)) throw badRequest(`Attribute \`${list}.${k}\` is not supported.`);
        if (k === "primary" ? typeof sv !== "boolean" : typeof sv !== "string") throw constraint(`${list}.${k}`, "Member has the wrong type");
      }
      if (list !== "addresses" && typeof entry.value !== "string") throw constraint(`${list}.value`, "Member must not be null");
      // The single email must be the primary one (§5.1, DG:createuser).
      if (list === "emails" && entry.primary !== true) throw badRequest("The email must be marked primary (`primary: true`).");
    }
  }

  const ext = attrs[ENTERPRISE_URN];
  if (ext !== undefined) {
    if (!isObject(ext)) throw badRequest(UNPARSABLE);
    for (const [k, v] of Object.entries(ext)) {
      if (!ENTERPRISE_ATTRS.includes(k)) throw badRequest(`Attribute \`${ENTERPRISE_URN}:${k}\` is not supported.`);
      if (v === null) {
        delete ext[k];
      } else if (k === "manager") {
        if (!isObject(v) || typeof v.value !== "string" || v.value.length === 0) throw constraint(`${ENTERPRISE_URN}:manager.value`, "Member must be a string");
        ext[k] = { value: v.value }; // manager.displayName is not supported and not echoed (§5.1)
      } else if (typeof v !== "string" || v.length === 0) {
        throw constraint(`${ENTERPRISE_URN}:${k}`, "Member must be a non-empty string");
      }
    }
    if (Object.keys(ext).length === 0) delete attrs[ENTERPRISE_URN];
  }
  return attrs;
}

export function managerOf(attrs: UserAttrs): string | undefined {
  const ext = attrs[ENTERPRISE_URN];
  if (!isObject(ext) || !isObject(ext.manager)) return undefined;
  return typeof ext.manager.value === "string" ? ext.manager.value : undefined;
}

export function primaryEmailOf(attrs: UserAttrs): string | undefined {
  const emails = attrs.emails;
  if (!Array.isArray(emails)) return undefined;
  const first = emails[0] as { value?: unknown } | undefined;
  return typeof first?.value === "string" ? first.value : undefined;
}

interface PatchOperation {
  op: "add" | "replace" | "remove";
  path?: string;
  value?: unknown;
}

/** Checks the PatchOp envelope shared by users and groups (§5.4): schemas, Operations, op names. */
export function parsePatch(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw badRequest(UNPARSABLE);
  if (!Array.isArray(body.schemas) || !body.schemas.includes(PATCH_OP_SCHEMA)) {
    throw badRequest(`The request must carry schemas ["${PATCH_OP_SCHEMA}"].`);
  }
  if (!Array.isArray(body.Operations) || body.Operations.length === 0) throw badRequest(UNPARSABLE);
  return body.Operations.map((raw: unknown) => {
    if (!isObject(raw) || typeof raw.op !== "string") throw badRequest(UNPARSABLE);
    const op = raw.op.toLowerCase();
    if (op !== "add" && op !== "replace" && op !== "remove") throw badRequest(`Unsupported PATCH operation \`${raw.op}\`.`);
    if (raw.path !== undefined && (typeof raw.path !== "string" || raw.path.length === 0)) throw badRequest(UNPARSABLE);
    if (op === "remove" && raw.path === undefined) throw badRequest("The `path` attribute is required for remove operations.");
    if (op !== "remove" && raw.value === undefined) throw badRequest(`The \`value\` attribute is required for ${op} operations.`);
    return { op, path: raw.path as string | undefined, value: raw.value } as PatchOperation;
  });
}

/**
 * Applies a PatchUser request to a copy of the attributes and validates the result (§5.4):
 * remove needs a path and may not target userName/active or a required attribute; at most one
 * operation touches userName and one touches active; paths are top-level attributes,
 * `name.<sub>`, emails/addresses/phoneNumbers, and enterprise attributes as `<URN>:<attr>`
 * (`<URN>:manager` takes `{value}`; `<URN>:manager.value` a string). A path-less add/replace
 * applies each key of its value object. Value-path filters (`emails[type eq "work"]`) are
 * rejected: not documented by AWS.
 */
export function patchUser(current: UserAttrs, body: unknown): UserAttrs {
  const ops = parsePatch(body);
  const attrs = structuredClone(current);
  let userNameOps = 0;
  let activeOps = 0;
  for (const op of ops) {
    if (op.path === undefined) {
      if (!isObject(op.value)) throw badRequest(UNPARSABLE);
      const keys = Object.keys(op.value).map((k) => k.toLowerCase());
      if (keys.includes("username")) userNameOps++;
      if (keys.includes("active")) activeOps++;
      for (const [key, value] of Object.entries(op.value)) {
        if (key === "id" || key === "meta" || key === "schemas") continue;
        applyPath(attrs, op.op, key, value);
      }
    } else {
      const lower = op.path.toLowerCase();
      if (lower === "username") userNameOps++;
      if (lower === "active") activeOps++;
      applyPath(attrs, op.op, op.path, op.value);
    }
  }
  // "Several operations touching userName (or active) in the same request are not supported" (§5.4).
  if (userNameOps > 1) throw badRequest("Multiple operations on `userName` in one request are not supported.");
  if (activeOps > 1) throw badRequest("Multiple operations on `active` in one request are not supported.");
  return checkUser(attrs);
}

function applyPath(attrs: UserAttrs, op: PatchOperation["op"], path: string, value: unknown): void {
  const lower = path.toLowerCase();
  const urn = ENTERPRISE_URN.toLowerCase();
  if (path.includes("[")) throw badRequest(`Unsupported PATCH path \`${path}\`: value filters are not supported.`);

  if (lower === urn || lower.startsWith(`${urn}:`)) {
    const ext = isObject(attrs[ENTERPRISE_URN]) ? (attrs[ENTERPRISE_URN] as Record<string, unknown>) : {};
    attrs[ENTERPRISE_URN] = ext;
    const sub = path.slice(ENTERPRISE_URN.length + 1);
    if (lower === urn) {
      if (op === "remove") delete attrs[ENTERPRISE_URN];
      else if (!isObject(value)) throw badRequest(UNPARSABLE);
      else Object.assign(ext, structuredClone(value));
      return;
    }
    const subLower = sub.toLowerCase();
    const attr = ENTERPRISE_ATTRS.find((a) => a.toLowerCase() === subLower);
    if (subLower === "manager.value") {
      if (op === "remove") delete ext.manager;
      else ext.manager = { value };
      return;
    }
    if (!attr) throw badRequest(`Unsupported PATCH path \`${path}\`.`);
    if (op === "remove") delete ext[attr];
    else ext[attr] = structuredClone(value);
    return;
  }

  if (lower.startsWith("name.")) {
    const sub = NAME_ATTRS.find((a) => a.toLowerCase() === lower.slice(5));
    if (!sub) throw badRequest(`Unsupported PATCH path \`${path}\`.`);
    const name = isObject(attrs.name) ? attrs.name : {};
    attrs.name = name;
    if (op === "remove") {
      if (sub === "givenName" || sub === "familyName") throw badRequest(`Attribute \`name.${sub}\` is required and cannot be removed.`);
      delete name[sub];
    } else {
      name[sub] = value;
    }
    return;
  }

  const attr = canonical.get(lower);
  if (!attr || !PATCHABLE.has(lower)) throw badRequest(`Unsupported PATCH path \`${path}\`.`);
  if (op === "remove") {
    // No remove on userName or active (§5.4); required attributes cannot go either (§5.1).
    if (attr === "userName" || attr === "active") throw badRequest(`The remove operation is not supported on \`${attr}\`.`);
    if (attr === "displayName" || attr === "name") throw badRequest(`Attribute \`${attr}\` is required and cannot be removed.`);
    delete attrs[attr];
    return;
  }
  if (attr === "name") {
    // RFC 7644 §3.5.2: add/replace on a complex attribute sets the given sub-attributes only.
    if (!isObject(value)) throw badRequest(UNPARSABLE);
    attrs.name = { ...(isObject(attrs.name) ? attrs.name : {}), ...structuredClone(value) };
    return;
  }
  if (attr in LIMITED_LISTS) {
    const values = Array.isArray(value) ? structuredClone(value) : [structuredClone(value)];
    if (op === "replace") {
      attrs[attr] = values;
    } else {
      // add appends (RFC 7644 §3.5.2.1); an identical value is a no-op, a second one exceeds the limit.
      const existing = Array.isArray(attrs[attr]) ? (attrs[attr] as unknown[]) : [];
      const merged = [...existing];
      for (const v of values) {
        const same = merged.findIndex((e) =>
          isObject(e) && isObject(v) && e.value !== undefined ? e.value === v.value : JSON.stringify(e) === JSON.stringify(v),
        );
        if (same >= 0) merged[same] = { ...(merged[same] as object), ...(v as object) };
        else merged.push(v);
      }
      attrs[attr] = merged;
    }
    return;
  }
  attrs[attr] = structuredClone(value);
}
