/**
 * @module The active-directory preset: a user object's attributes as AD names them
 * (https://learn.microsoft.com/en-us/windows/win32/adschema/c-user), security and distribution
 * groups (objectClass group) with `member` and the primary group, and AD's defaults.
 */
import { before, firstOf, firstValue, join, name, path, text } from "../table.ts";
import type { LdapPreset } from "./ldap.ts";

const given = name(firstValue("givenName"));
const family = name(firstValue("sn"));

export const ACTIVE_DIRECTORY: LdapPreset = {
  user: {
    subject: firstOf(firstValue("userPrincipalName"), firstValue("mail"), path("dn")),
    read: [],
    nameFallback: firstOf(name(firstValue("sAMAccountName")), name(before("@", firstValue("userPrincipalName")))),
    attributes: {
      userName: firstValue("userPrincipalName"),
      displayName: firstOf(name(firstValue("displayName")), name(firstValue("cn")), join(" ", given, family)),
      givenName: given,
      familyName: family,
      // Many AD accounts have no mail; AWS requires an email, and the UPN is the sign-in address.
      email: firstOf(firstValue("mail"), firstValue("userPrincipalName")),
      formattedName: name(firstValue("displayName")),
      phoneNumber: { fields: { value: firstValue("telephoneNumber"), type: text("work") }, requireOneOf: ["value"] },
      title: firstValue("title"),
      // A DN: the LDAP source resolves it to the manager's source id when the manager is read too.
      managerSourceId: firstValue("manager"),
      employeeNumber: firstValue("employeeID"),
      department: firstValue("department"),
      organization: firstValue("company"),
    },
  },
  // The one AD id that survives renames and moves across OUs and domains of the forest.
  userId: "objectGUID",
  groups: { id: "objectGUID", name: ["cn", "name"], classFilter: "(objectClass=group)", memberDns: ["member"], memberUids: [], primaryGroup: true },
  // objectCategory=person leaves out computer accounts, which are objectClass=user too.
  userFilter: "(&(objectCategory=person)(objectClass=user))",
  // userAccountControl bit 2 is ACCOUNTDISABLE (https://learn.microsoft.com/en-us/troubleshoot/windows-server/active-directory/useraccountcontrol-manipulate-account-properties).
  suspendedFilter: "(userAccountControl:1.2.840.113556.1.4.803:=2)",
};
