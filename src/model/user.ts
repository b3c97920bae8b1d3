/**
 * @module The user as the sync wants it in AWS: source-neutral, flat, and not shaped like SCIM JSON.
 * Every attribute is optional except the four AWS requires; an absent attribute means "not managed".
 */

/** A single postal address (AWS keeps at most one). */
export interface Address {
  type?: string;
  formatted?: string;
  streetAddress?: string;
  locality?: string;
  region?: string;
  postalCode?: string;
  country?: string;
}

export interface PhoneNumber {
  value: string;
  type?: string;
}

export interface UserAttributes {
  userName: string;
  displayName: string;
  givenName: string;
  familyName: string;
  formattedName?: string;
  email: string;
  active: boolean;
  phoneNumber?: PhoneNumber;
  address?: Address;
  title?: string;
  preferredLanguage?: string;
  nickName?: string;
  profileUrl?: string;
  userType?: string;
  locale?: string;
  timezone?: string;
  employeeNumber?: string;
  costCenter?: string;
  organization?: string;
  division?: string;
  department?: string;
  /** The manager's source id; turned into the manager's SCIM id when both are synced. */
  managerSourceId?: string;
}

export type UserAttributeName = keyof UserAttributes;

/** Every attribute name, in the order PATCH operations and summaries list them. */
export const USER_ATTRIBUTE_NAMES: readonly UserAttributeName[] = [
  "userName", "displayName", "givenName", "familyName", "formattedName", "email", "active",
  "phoneNumber", "address", "title", "preferredLanguage", "nickName", "profileUrl", "userType",
  "locale", "timezone", "employeeNumber", "costCenter", "organization", "division", "department",
  "managerSourceId",
];

/** A user the source wants in AWS. `sourceId` becomes the SCIM `externalId`. */
export interface DesiredUser {
  sourceId: string;
  attributes: UserAttributes;
}

/** The `sync.user_fields` names: optional attribute groups a deployment chooses to sync. */
export const USER_FIELD_NAMES = [
  "phoneNumbers",
  "addresses",
  "title",
  "preferredLanguage",
  "nickName",
  "profileUrl",
  "userType",
  "locale",
  "timezone",
  "enterprise",
] as const;

export type UserFieldName = (typeof USER_FIELD_NAMES)[number];

/** The attributes synced whatever `sync.user_fields` says: the ones AWS requires, the formatted name and active. */
export const ALWAYS_SYNCED_ATTRIBUTES: readonly UserAttributeName[] = [
  "userName", "displayName", "givenName", "familyName", "formattedName", "email", "active",
];

/** The target attributes each `sync.user_fields` group selects (a group is a set of attributes, whatever the source). */
export const USER_FIELD_ATTRIBUTES: Readonly<Record<UserFieldName, readonly UserAttributeName[]>> = {
  phoneNumbers: ["phoneNumber"],
  addresses: ["address"],
  title: ["title"],
  preferredLanguage: ["preferredLanguage"],
  nickName: ["nickName"],
  profileUrl: ["profileUrl"],
  userType: ["userType"],
  locale: ["locale"],
  timezone: ["timezone"],
  enterprise: ["employeeNumber", "costCenter", "organization", "division", "department", "managerSourceId"],
};

/** Attributes managed when `sync.user_fields` selects `fields`: the required ones always. */
export function managedAttributesFor(fields: readonly UserFieldName[]): Set<UserAttributeName> {
  const managed = new Set<UserAttributeName>(ALWAYS_SYNCED_ATTRIBUTES);
  for (const field of fields) for (const name of USER_FIELD_ATTRIBUTES[field]) managed.add(name);
  return managed;
}
