/**
 * @module The Google preset: how a Directory API user resource maps to SCIM user attributes
 * (https://developers.google.com/admin-sdk/directory/reference/rest/v1/users).
 */
import { before, firstOf, inElement, join, name, path, text, trim, type ListPick, type UserMappingTable } from "../table.ts";

/**
 * The user resource fields the preset reads. Multi-valued fields are typed as free JSON in the
 * Directory API's discovery document, so the table reads every element defensively.
 */
export interface GoogleUser {
  id?: string | null;
  primaryEmail?: string | null;
  name?: { givenName?: string | null; familyName?: string | null; fullName?: string | null } | null;
  suspended?: boolean | null;
  archived?: boolean | null;
  phones?: unknown;
  addresses?: unknown;
  organizations?: unknown;
  languages?: unknown;
  relations?: unknown;
  externalIds?: unknown;
  websites?: unknown;
}

const given = name(path("name.givenName"));
const family = name(path("name.familyName"));
const fullName = name(path("name.fullName"));
/** The organization marked primary, else the first. */
const primaryOrg: ListPick = { list: "organizations", prefer: [{ primary: true }] };
/** Workspace has one language setting, driving both the UI language and date/number formats. */
const language = inElement({ list: "languages", having: "languageCode", prefer: [{ preference: "preferred" }] }, "languageCode");

/**
 * Fields with no direct Google counterpart, chosen as follows:
 * - nickName, timezone: the user resource has no such field; never set.
 * - userType: the primary organization's `description`, which the Admin console shows as
 *   "Type of employee".
 * - locale: the same language code as preferredLanguage (see `language`).
 * - division: the primary organization's `domain` (where an organization keeps "R&D", say).
 * - address country: `countryCode` (ISO 3166-1, what SCIM expects) when present, else `country`.
 * - managerSourceId: the `relations` entry of type manager holds the manager's email, not an id.
 */
export const GOOGLE_USER: UserMappingTable = {
  subject: firstOf(path("primaryEmail"), path("id"), text("(no email)")),
  // id and suspended/archived are the adapter's (the source id and the suspension policy's input).
  read: ["id", "primaryEmail", "name", "suspended", "archived"],
  nameFallback: firstOf(name(before("@", path("primaryEmail"))), name(path("primaryEmail"))),
  attributes: {
    userName: path("primaryEmail"),
    displayName: firstOf(fullName, join(" ", given, family)),
    givenName: given,
    familyName: family,
    email: path("primaryEmail"),
    formattedName: fullName,
    phoneNumber: {
      pick: { list: "phones", having: "value", prefer: [{ type: "work" }, { type: "mobile" }] },
      fields: { value: path("value"), type: path("type") },
      requireOneOf: ["value"],
    },
    address: {
      pick: { list: "addresses", prefer: [{ primary: true }, { type: "work" }] },
      fields: {
        type: path("type"),
        formatted: path("formatted"),
        streetAddress: path("streetAddress"),
        locality: path("locality"),
        region: path("region"),
        postalCode: path("postalCode"),
        country: firstOf(path("countryCode"), path("country")),
      },
      requireOneOf: ["formatted", "streetAddress", "locality", "region", "postalCode", "country"],
    },
    title: firstOf(inElement(primaryOrg, "title"), inElement({ list: "organizations", having: "title" }, "title")),
    preferredLanguage: language,
    locale: language,
    profileUrl: inElement({ list: "websites", having: "value", prefer: [{ type: "profile" }], otherwise: "none" }, "value"),
    userType: inElement(primaryOrg, "description"),
    // Here, not with the other enterprise fields: the Directory `fields` keep their order (relations, externalIds).
    managerSourceId: trim(inElement({ list: "relations", having: "value", prefer: [{ type: "manager" }], otherwise: "none" }, "value")),
    employeeNumber: inElement({ list: "externalIds", having: "value", prefer: [{ type: "organization" }], otherwise: "none" }, "value"),
    costCenter: inElement(primaryOrg, "costCenter"),
    department: inElement(primaryOrg, "department"),
    organization: inElement(primaryOrg, "name"),
    division: inElement(primaryOrg, "domain"),
  },
};
