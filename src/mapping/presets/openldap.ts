/**
 * @module The openldap preset: inetOrgPerson users (https://www.rfc-editor.org/rfc/rfc2798) with
 * their entryUUID (https://www.rfc-editor.org/rfc/rfc4530), and groupOfNames, groupOfUniqueNames
 * and posixGroup groups (https://www.rfc-editor.org/rfc/rfc4519, RFC 2307).
 */
import { before, firstOf, firstValue, join, name, path, text } from "../table.ts";
import type { LdapPreset } from "./ldap.ts";

const given = name(firstValue("givenName"));
const family = name(firstValue("sn"));

export const OPENLDAP: LdapPreset = {
  user: {
    subject: firstOf(firstValue("mail"), firstValue("uid"), path("dn")),
    read: [],
    nameFallback: firstOf(name(firstValue("uid")), name(before("@", firstValue("mail")))),
    attributes: {
      // ldap.user_attributes = ["userName=uid"] signs users in by uid instead.
      userName: firstValue("mail"),
      displayName: firstOf(name(firstValue("cn")), name(firstValue("displayName")), join(" ", given, family)),
      givenName: given,
      familyName: family,
      email: firstValue("mail"),
      formattedName: name(firstValue("cn")),
      phoneNumber: { fields: { value: firstValue("telephoneNumber"), type: text("work") }, requireOneOf: ["value"] },
      title: firstValue("title"),
      preferredLanguage: firstValue("preferredLanguage"),
      managerSourceId: firstValue("manager"),
      employeeNumber: firstValue("employeeNumber"),
      department: firstValue("ou"),
      organization: firstValue("o"),
    },
  },
  // entryUUID is operational: asked for by name, never returned by "*".
  userId: "entryUUID",
  uid: "uid",
  groups: {
    id: "entryUUID",
    name: ["cn"],
    classFilter: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))",
    memberDns: ["member", "uniqueMember"],
    memberUids: ["memberUid"],
    primaryGroup: false,
  },
  userFilter: "(objectClass=inetOrgPerson)",
};
