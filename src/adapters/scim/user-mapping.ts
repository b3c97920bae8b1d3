/** @module Pure mapping between AWS SCIM user JSON and the model's UserAttributes, and UserChange → PatchOp operations. § cites docs/aws-scim.md. */
import type { UserChange } from "../../core/ports.ts";
import { USER_ATTRIBUTE_NAMES, type Address, type PhoneNumber, type TenantUser, type UserAttributeName, type UserAttributes } from "../../model/index.ts";

const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
export const ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

export type ScimJson = Record<string, unknown>;

export interface PatchOperation {
  op: "add" | "replace" | "remove";
  path: string;
  value?: unknown;
}

/** The model's optional plain-string attributes that are SCIM core attributes of the same name. */
const CORE_STRINGS = ["title", "preferredLanguage", "nickName", "profileUrl", "userType", "locale", "timezone"] as const;
/** The model's enterprise-extension attributes (docs/aws-scim.md §5.1); manager is handled apart. */
const ENTERPRISE_STRINGS = ["employeeNumber", "costCenter", "organization", "division", "department"] as const;
const ADDRESS_FIELDS = ["type", "formatted", "streetAddress", "locality", "region", "postalCode", "country"] as const;

type CoreString = (typeof CORE_STRINGS)[number];
type EnterpriseString = (typeof ENTERPRISE_STRINGS)[number];

/** PATCH path of each attribute (§5.4): sub-attributes dotted, enterprise ones as `<URN>:<attr>`. */
const PATCH_PATH: Record<UserAttributeName, string> = {
  userName: "userName",
  displayName: "displayName",
  givenName: "name.givenName",
  familyName: "name.familyName",
  formattedName: "name.formatted",
  email: "emails",
  active: "active",
  phoneNumber: "phoneNumbers",
  address: "addresses",
  title: "title",
  preferredLanguage: "preferredLanguage",
  nickName: "nickName",
  profileUrl: "profileUrl",
  userType: "userType",
  locale: "locale",
  timezone: "timezone",
  employeeNumber: `${ENTERPRISE_USER_SCHEMA}:employeeNumber`,
  costCenter: `${ENTERPRISE_USER_SCHEMA}:costCenter`,
  organization: `${ENTERPRISE_USER_SCHEMA}:organization`,
  division: `${ENTERPRISE_USER_SCHEMA}:division`,
  department: `${ENTERPRISE_USER_SCHEMA}:department`,
  managerSourceId: `${ENTERPRISE_USER_SCHEMA}:manager`,
};

/** Attributes every user has in AWS: they can be replaced but never cleared (§5.1, §5.4). */
const REQUIRED: ReadonlySet<UserAttributeName> = new Set(["userName", "displayName", "givenName", "familyName", "active"]);

const isObject = (v: unknown): v is ScimJson => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const firstOf = (v: unknown): ScimJson | undefined => {
  if (!Array.isArray(v)) return undefined;
  // AWS keeps at most one value (§5.1); prefer the primary one should a tenant hold more.
  const entries = v.filter(isObject);
  return entries.find((e) => e.primary === true) ?? entries[0];
};

/**
 * Reads a user as AWS returns it. Copes with what real tenants hold: `"emails": []` (email ""),
 * missing name parts (""), and `active` as a string (the PatchUser doc example, §5.4).
 * `managerSourceId` is never set: AWS only knows the manager's SCIM id (`managerScimId`).
 * Returns `undefined` when the resource has no id (not a user at all).
 */
/** A SCIM resource's `id`, or `undefined` when it has none (then it is no resource this tool can name). */
export function scimIdOf(resource: unknown): string | undefined {
  return isObject(resource) && typeof resource.id === "string" && resource.id !== "" ? resource.id : undefined;
}

export function userFromScim(resource: unknown): TenantUser | undefined {
  const id = scimIdOf(resource);
  if (id === undefined || !isObject(resource)) return undefined;
  const name = isObject(resource.name) ? resource.name : {};
  const attributes: UserAttributes = {
    userName: str(resource.userName) ?? "",
    displayName: str(resource.displayName) ?? "",
    givenName: str(name.givenName) ?? "",
    familyName: str(name.familyName) ?? "",
    email: str(firstOf(resource.emails)?.value) ?? "",
    active: readActive(resource.active),
  };
  const formatted = str(name.formatted);
  if (formatted !== undefined) attributes.formattedName = formatted;

  const phone = firstOf(resource.phoneNumbers);
  const phoneValue = str(phone?.value);
  if (phoneValue !== undefined) {
    const phoneNumber: PhoneNumber = { value: phoneValue };
    const type = str(phone?.type);
    if (type !== undefined) phoneNumber.type = type;
    attributes.phoneNumber = phoneNumber;
  }

  const rawAddress = firstOf(resource.addresses);
  if (rawAddress) {
    const address: Address = {};
    for (const field of ADDRESS_FIELDS) {
      const value = str(rawAddress[field]);
      if (value !== undefined) address[field] = value;
    }
    if (Object.keys(address).length > 0) attributes.address = address;
  }

  for (const key of CORE_STRINGS) {
    const value = str(resource[key]);
    if (value !== undefined) attributes[key] = value;
  }

  const user: TenantUser = { scimId: id, attributes };
  const externalId = str(resource.externalId);
  if (externalId !== undefined) user.externalId = externalId;

  const ext = resource[ENTERPRISE_USER_SCHEMA];
  if (isObject(ext)) {
    for (const key of ENTERPRISE_STRINGS) {
      const value = str(ext[key]);
      if (value !== undefined) attributes[key] = value;
    }
    const manager = isObject(ext.manager) ? str(ext.manager.value) : undefined;
    if (manager !== undefined) user.managerScimId = manager;
  }
  return user;
}

function readActive(v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "string") return v.toLowerCase() !== "false";
  return true; // AWS always returns it; a user is active unless said otherwise (§5.2)
}

/**
 * The POST /Users body (§5.1). `attributes.managerSourceId` is ignored: the manager is written
 * by SCIM id. Empty optional strings are left out (AWS rejects empty values, §5.1). The
 * enterprise URN is listed in `schemas` only when extension data is sent (§5.2).
 */
export function userToScim(externalId: string, attributes: UserAttributes, managerScimId?: string): ScimJson {
  const body: ScimJson = { schemas: [USER_SCHEMA], externalId, userName: attributes.userName };
  const name: ScimJson = { givenName: attributes.givenName, familyName: attributes.familyName };
  if (str(attributes.formattedName) !== undefined) name.formatted = attributes.formattedName;
  body.name = name;
  body.displayName = attributes.displayName;
  for (const key of CORE_STRINGS) {
    const value = str(attributes[key]);
    if (value !== undefined) body[key] = value;
  }
  body.active = attributes.active;
  if (str(attributes.email) !== undefined) body.emails = emailValue(attributes.email);
  const addresses = addressValue(attributes.address);
  if (addresses) body.addresses = addresses;
  const phones = phoneValue(attributes.phoneNumber);
  if (phones) body.phoneNumbers = phones;

  const ext: ScimJson = {};
  for (const key of ENTERPRISE_STRINGS) {
    const value = str(attributes[key]);
    if (value !== undefined) ext[key] = value;
  }
  if (str(managerScimId) !== undefined) ext.manager = { value: managerScimId };
  if (Object.keys(ext).length > 0) {
    body.schemas = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA];
    body[ENTERPRISE_USER_SCHEMA] = ext;
  }
  return body;
}

/**
 * The PatchOp operations for a change, in USER_ATTRIBUTE_NAMES order: one `replace` per set
 * attribute, one `remove` per cleared one, `replace externalId` when asked. Only changed paths
 * go out, so attributes set in AWS by hand and not managed here survive. An empty optional
 * value is sent as `remove` (AWS rejects empty strings, §5.1). Empty array = nothing to send.
 *
 * Throws (a programming error in the caller) when asked to clear userName or active (AWS has no
 * remove for them, §5.4) or to set a manager without `change.managerScimId`.
 */
export function userPatchOperations(change: UserChange): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const cleared = new Set(change.clear);
  for (const attr of USER_ATTRIBUTE_NAMES) {
    const path = PATCH_PATH[attr];
    const value = change.set[attr];
    if (value !== undefined) {
      const replaced = replaceValue(attr, change);
      ops.push(replaced === undefined ? removeOp(attr, path) : { op: "replace", path, value: replaced });
    } else if (cleared.has(attr)) {
      ops.push(removeOp(attr, path));
    }
  }
  if (str(change.externalId) !== undefined) ops.push({ op: "replace", path: "externalId", value: change.externalId });
  return ops;
}

function removeOp(attr: UserAttributeName, path: string): PatchOperation {
  if (REQUIRED.has(attr)) throw new TypeError(`user attribute ${attr} is required in AWS and cannot be cleared or emptied`);
  return { op: "remove", path };
}

/** The SCIM value of a set attribute; `undefined` when it is empty and must be removed instead. */
function replaceValue(attr: UserAttributeName, change: UserChange): unknown {
  const set = change.set;
  switch (attr) {
    case "active":
      return set.active;
    case "email":
      return str(set.email) === undefined ? undefined : emailValue(set.email as string);
    case "phoneNumber":
      return phoneValue(set.phoneNumber);
    case "address":
      return addressValue(set.address);
    case "managerSourceId":
      if (str(change.managerScimId) === undefined) {
        throw new TypeError("UserChange sets managerSourceId but carries no managerScimId: the adapter writes the manager's SCIM id");
      }
      return { value: change.managerScimId };
    default:
      return str(set[attr as CoreString | EnterpriseString | "userName" | "displayName" | "givenName" | "familyName" | "formattedName"]);
  }
}

/** AWS keeps one email and it must be the primary one (§5.1). */
function emailValue(email: string): ScimJson[] {
  return [{ value: email, type: "work", primary: true }];
}

function phoneValue(phone: PhoneNumber | undefined): ScimJson[] | undefined {
  if (!phone || str(phone.value) === undefined) return undefined;
  const entry: ScimJson = { value: phone.value };
  if (str(phone.type) !== undefined) entry.type = phone.type;
  return [entry];
}

function addressValue(address: Address | undefined): ScimJson[] | undefined {
  if (!address) return undefined;
  const entry: ScimJson = {};
  for (const field of ADDRESS_FIELDS) {
    const value = str(address[field]);
    if (value !== undefined) entry[field] = value;
  }
  return Object.keys(entry).length > 0 ? [entry] : undefined;
}
