/**
 * @module The LDAP source's checks: the settings hold together, the connection (TLS) and the
 * simple bind as ldap.bind_dn succeed, and a base-scope search finds ldap.base_dn and the user
 * and group base DNs under it. Read-only, like the source.
 */
import { openLdapConnection, type LdapConnection } from "../adapters/ldap/connection.ts";
import { ldapProblems, ldapSettings, type LdapSettings } from "../config/ldap-settings.ts";
import { missingLine, missingOptions } from "../config/requirements.ts";
import { quote } from "../config/values.ts";
import { isSyncError } from "../core/errors.ts";
import { fail, failedBy, pass, skip, type Check } from "./checks.ts";
import { ONLY, type DoctorContext } from "./context.ts";

const BIND_FIX = "check ldap.url, ldap.bind_dn and its password (ldap.bind_password, ldap.bind_password_file or the secret ldap.bind_password_secret_name)";
const BASE_FIX = "set ldap.base_dn to the directory's naming context (e.g. DC=example,DC=com), and ldap.user_base_dn and ldap.group_base_dn to entries under it";

export async function ldapChecks(ctx: DoctorContext): Promise<Check[]> {
  const cannotBind = skip("ldap-base-dn", "needs a bind (ldap-bind)");
  let settings: LdapSettings;
  try {
    const { config } = await ctx.resolve(ONLY.ldap);
    const missing = missingOptions(config, "doctor").filter((o) => o.table === "ldap").map(missingLine);
    const { missing: incomplete, invalid } = ldapProblems(config);
    const problems = [...missing, ...incomplete, ...invalid];
    if (problems.length > 0) return [fail("ldap-bind", problems.join("; "), "set the [ldap] settings named above"), cannotBind];
    settings = ldapSettings(config);
  } catch (error) {
    return [failedBy("ldap-bind", error, BIND_FIX), cannotBind];
  }
  let connection: LdapConnection;
  try {
    connection = await openLdapConnection({ ...settings, log: ctx.log }, { searches: 0, pages: 0 });
  } catch (error) {
    return [failedBy("ldap-bind", error, BIND_FIX), cannotBind];
  }
  try {
    return [pass("ldap-bind", `bound to ${settings.url} as ${quote(settings.bindDn)}`), await baseDnCheck(connection, settings)];
  } finally {
    await connection.close();
  }
}

/** One base-scope search of each base DN: noSuchObject (32) names the setting. */
async function baseDnCheck(connection: LdapConnection, settings: LdapSettings): Promise<Check> {
  const bases = [
    { setting: "ldap.base_dn", base: settings.baseDn },
    { setting: "ldap.user_base_dn", base: settings.userBaseDn },
    { setting: "ldap.group_base_dn", base: settings.groupBaseDn },
  ].filter((b, i, all) => all.findIndex((other) => other.base === b.base) === i);
  try {
    for (const { setting, base } of bases) {
      let found = 0;
      for await (const page of connection.search({ base, scope: "base", filter: "(objectClass=*)", attributes: ["1.1"], setting })) found += page.length;
      if (found === 0) return fail("ldap-base-dn", `${setting} ${quote(base)} cannot be read as ldap.bind_dn (no entry came back)`, "grant ldap.bind_dn read access to it, or fix the DN");
    }
    return pass("ldap-base-dn", `found ${bases.map((b) => `${b.setting} ${quote(b.base)}`).join(", ")}`);
  } catch (error) {
    if (isSyncError(error) && /noSuchObject/.test(error.message)) return fail("ldap-base-dn", error.message.replace(/: check .*$/, ""), BASE_FIX);
    return failedBy("ldap-base-dn", error, BASE_FIX);
  }
}
