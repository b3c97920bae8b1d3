/**
 * @module An LDAP / Active Directory preset, as a typed example of a second table: an entry with
 * the inetOrgPerson attributes (https://www.rfc-editor.org/rfc/rfc2798) and AD's `department`.
 * Values may be strings or lists of strings (LDAP attributes are multi-valued), so each is read
 * with `firstValue`. No LDAP source uses it yet.
 */
import { before, firstOf, firstValue, join, name, path, text, type UserMappingTable } from "../table.ts";

/** An entry as an LDAP client returns it: its DN and each requested attribute's value(s). */
export interface LdapEntry {
  dn: string;
  [attribute: string]: string | string[] | undefined;
}

const given = name(firstValue("givenName"));
const family = name(firstValue("sn"));

export const LDAP_USER: UserMappingTable = {
  subject: firstOf(firstValue("mail"), path("dn"), text("(no mail)")),
  read: [],
  nameFallback: firstOf(name(firstValue("uid")), name(before("@", firstValue("mail")))),
  attributes: {
    userName: firstValue("mail"),
    displayName: firstOf(name(firstValue("displayName")), name(firstValue("cn")), join(" ", given, family)),
    givenName: given,
    familyName: family,
    email: firstValue("mail"),
    formattedName: name(firstValue("cn")),
    phoneNumber: { fields: { value: firstValue("telephoneNumber"), type: text("work") }, requireOneOf: ["value"] },
    title: firstValue("title"),
    preferredLanguage: firstValue("preferredLanguage"),
    // The manager's DN: the LDAP source resolves it against the entries it read, as Google's email is.
    managerSourceId: firstValue("manager"),
    employeeNumber: firstValue("employeeNumber"),
    department: firstValue("department"),
    organization: firstValue("o"),
  },
};
