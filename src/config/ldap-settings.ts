/**
 * @module The LDAP source's settings as the adapter takes them: the preset applied (its filters,
 * mapping and the ldap.*_attributes entries), base DNs defaulted to ldap.base_dn, and the checks
 * that span several [ldap] settings (clear-text binds, a custom preset left incomplete), so a bad
 * combination stops before any request (pure, web APIs only).
 */
import { ldapPreset, missingCustomTargets, parseMappingEntries, type LdapPreset, type LdapPresetName } from "../mapping/presets/ldap.ts";
import { withMapping } from "../mapping/targets.ts";
import { configuredMapping } from "./mapping.ts";
import { howToSet, optionByPath, type ResolvedConfig } from "./schema.ts";
import { isLoopback, quote } from "./values.ts";

export interface LdapSettings {
  url: string;
  startTls: boolean;
  /** The CA bundle: a file (ldap.ca_file) or its text (ldap.ca_pem), at most one; neither: the system's CAs. */
  caFile?: string;
  caPem?: string;
  bindDn: string;
  bindPassword: string;
  baseDn: string;
  userBaseDn: string;
  groupBaseDn: string;
  userFilter: string;
  /** ANDed with the preset's group classes; absent: every group under groupBaseDn. */
  groupFilter?: string;
  suspendedFilter?: string;
  pageSize: number;
  timeoutMs: number;
  nested: "client" | "server";
  /** The attribute another tool keyed users by in AWS (SourceUser.formerId). */
  rekeyUsersFrom?: string;
  presetName: LdapPresetName;
  preset: LdapPreset;
}

/** A value the shell's `requireFor` guarantees (see compose.ts `checked`). */
function given<T>(value: T | undefined, path: string): T {
  if (value === undefined) throw new Error(`${path} reached ldapSettings unset: the shell must call requireFor first`);
  return value;
}

/** The settings of a checked configuration (`requireFor` passed for an LDAP command). */
export function ldapSettings(config: ResolvedConfig): LdapSettings {
  const ldap = config.ldap;
  const presetName = given(ldap.preset, "ldap.preset");
  const fromEntries = ldapPreset(presetName, ldap.userAttributes, ldap.groupAttributes);
  const preset = { ...fromEntries, user: withMapping(fromEntries.user, configuredMapping(config)) };
  const baseDn = given(ldap.baseDn, "ldap.base_dn");
  const suspendedFilter = ldap.suspendedFilter ?? preset.suspendedFilter;
  return {
    url: given(ldap.url, "ldap.url"),
    startTls: ldap.startTls,
    ...(ldap.caFile !== undefined ? { caFile: ldap.caFile } : {}),
    ...(ldap.caPem !== undefined ? { caPem: ldap.caPem } : {}),
    bindDn: given(ldap.bindDn, "ldap.bind_dn"),
    bindPassword: given(ldap.bindPassword, "ldap.bind_password"),
    baseDn,
    userBaseDn: ldap.userBaseDn ?? baseDn,
    groupBaseDn: ldap.groupBaseDn ?? baseDn,
    userFilter: given(ldap.userFilter ?? preset.userFilter, "ldap.user_filter"),
    ...(ldap.groupFilter !== undefined ? { groupFilter: ldap.groupFilter } : {}),
    ...(suspendedFilter !== undefined ? { suspendedFilter } : {}),
    pageSize: ldap.pageSize,
    timeoutMs: ldap.timeoutMs,
    nested: ldap.nested,
    ...(ldap.rekeyUsersFrom !== undefined ? { rekeyUsersFrom: ldap.rekeyUsersFrom } : {}),
    presetName,
    preset,
  };
}

/**
 * What keeps an LDAP command from running beyond single settings: `missing` (CONFIG_MISSING) for
 * what a custom preset leaves undefined, `invalid` (CONFIG_INVALID) for combinations refused.
 */
export function ldapProblems(config: ResolvedConfig): { missing: string[]; invalid: string[] } {
  const ldap = config.ldap;
  const missing: string[] = [];
  const invalid: string[] = [];
  const url = ldap.url === undefined ? undefined : new URL(ldap.url);
  if (url?.protocol === "ldap:" && !ldap.startTls && !isLoopback(url.hostname) && !ldap.allowInsecure) {
    invalid.push(
      `ldap.url ${quote(ldap.url!)} would send the bind password and every entry in clear text: use ldaps://${url.hostname}:636, ` +
        "or set ldap.start_tls = true, or (on a network you trust) ldap.allow_insecure = true",
    );
  }
  if (url?.protocol === "ldaps:" && ldap.startTls) invalid.push(`ldap.start_tls is true but ldap.url ${quote(ldap.url!)} is already TLS (ldaps://): remove start_tls, or use ldap:// with it`);
  const ca = ldap.caFile !== undefined ? "ldap.ca_file" : ldap.caPem !== undefined ? "ldap.ca_pem" : undefined;
  if (url?.protocol === "ldap:" && !ldap.startTls && ca !== undefined) {
    invalid.push(`${ca} is set but ldap.url ${quote(ldap.url!)} is plain ldap:// without StartTLS, so no certificate is checked: use ldaps:// or set ldap.start_tls = true`);
  }
  if (ldap.caFile !== undefined && ldap.caPem !== undefined) invalid.push("ldap.ca_file and ldap.ca_pem are both set: give the CA bundle once, as a file (ca_file) or as its text (ca_pem)");
  if (ldap.nested === "server" && ldap.preset === "openldap") {
    invalid.push('ldap.nested = "server" uses Active Directory\'s LDAP_MATCHING_RULE_IN_CHAIN, which OpenLDAP does not implement: set ldap.nested = "client"');
  }
  const userId = ldap.preset === undefined ? undefined : ldapPreset(ldap.preset, ldap.userAttributes, []).userId;
  if (userId !== undefined && ldap.rekeyUsersFrom?.toLowerCase() === userId.toLowerCase()) {
    invalid.push(`ldap.rekey_users_from names ${userId}, the users' id itself: name the attribute the other tool keyed users by (objectSid for AWS's Active Directory sample), or remove it`);
  }
  const mapped = Object.keys(configuredMapping(config));
  const twice = [...parseMappingEntries(ldap.userAttributes).keys()].filter((target) => mapped.includes(target));
  if (twice.length > 0) {
    invalid.push(`${twice.map((target) => `mapping.${target}`).join(", ")} and ldap.user_attributes both map ${twice.join(", ")}: keep one (a [mapping] expression can be any LDAP attribute)`);
  }
  if (ldap.preset === "custom") {
    for (const path of ["ldap.user_filter", "ldap.group_filter"] as const) {
      const value = path === "ldap.user_filter" ? ldap.userFilter : ldap.groupFilter;
      if (value === undefined) missing.push(`${path} is not set, and preset custom has no default: ${howToSet(optionByPath(path))}`);
    }
    for (const kind of ["user", "group"] as const) {
      const lacking = missingCustomTargets("custom", kind === "user" ? ldap.userAttributes : ldap.groupAttributes, kind, kind === "user" ? mapped : []);
      if (lacking.length > 0) {
        const example = kind === "user" ? '"externalId=entryUUID", "userName=mail", "email=mail"' : '"externalId=entryUUID", "displayName=cn", "members=member"';
        const mapping = kind === "user" && lacking.some((target) => target !== "externalId") ? " (userName and email may come from [mapping] instead)" : "";
        missing.push(`ldap.${kind}_attributes does not map ${lacking.join(", ")}, and preset custom maps only what it names: add entries like ${example}${mapping}`);
      }
    }
  }
  return { missing, invalid };
}
