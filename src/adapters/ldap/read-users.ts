/**
 * @module The users in scope (ldap.user_base_dn and ldap.user_filter), mapped through the preset's
 * table as each page arrives, with what group membership needs of them (DN, uid, primary group)
 * and whether they are suspended.
 */
import type { SourceUser } from "../../core/ports.ts";
import { shown } from "../../core/text.ts";
import type { UserFieldName } from "../../model/index.ts";
import { sourceFields, userMapper } from "../../mapping/map-user.ts";
import type { LdapSettings } from "../../config/ldap-settings.ts";
import type { LdapEntry } from "../../mapping/presets/ldap.ts";
import { normalizeEntry } from "./entries.ts";
import { bitAndFilter, dnKey, hasBits, listOf } from "./values.ts";
import { eachEntry, type Searcher } from "./search.ts";

/** A user as read, before anyone knows whether a group in scope holds it. */
export interface ReadUser {
  user: SourceUser;
  dnKey: string;
  uid?: string;
  primaryGroupId?: string;
  /** The manager's DN, as the entry holds it. */
  manager?: string;
  warnings?: string[];
}

export interface UserIndex {
  byDn: Map<string, ReadUser>;
  byUid: Map<string, ReadUser>;
  /** Users whose primaryGroupID is this RID (Active Directory). */
  byPrimaryGroup: Map<string, ReadUser[]>;
  warnings: string[];
}

/**
 * Every user entry in scope, by DN. An entry without the preset's id attribute cannot be matched
 * from one run to the next and is left out with a warning; so is a second entry with the same id.
 */
export async function readUsers(search: Searcher, settings: LdapSettings, fields: ReadonlySet<UserFieldName>): Promise<UserIndex> {
  const { preset } = settings;
  const bits = settings.suspendedFilter === undefined ? undefined : bitAndFilter(settings.suspendedFilter);
  const attributes = [
    ...new Set([
      preset.userId,
      ...sourceFields(preset.user, fields).filter((name) => name !== "dn"),
      ...(preset.uid !== undefined ? [preset.uid] : []),
      ...(preset.groups.primaryGroup ? ["primaryGroupID"] : []),
      ...(bits !== undefined ? [bits.attribute] : []),
      ...(settings.rekeyUsersFrom !== undefined ? [settings.rekeyUsersFrom] : []),
    ]),
  ];
  const suspendedIds = settings.suspendedFilter !== undefined && bits === undefined ? await readSuspended(search, settings) : undefined;
  const map = userMapper(preset.user, { fields });
  const index: UserIndex = { byDn: new Map(), byUid: new Map(), byPrimaryGroup: new Map(), warnings: [] };
  const ids = new Set<string>();
  await eachEntry(search, { base: settings.userBaseDn, setting: "ldap.user_base_dn", filter: settings.userFilter, attributes }, (raw) => {
    const entry = normalizeEntry(raw, attributes);
    const sourceId = listOf(entry[preset.userId])[0];
    if (sourceId === undefined || ids.has(sourceId)) {
      index.warnings.push(
        sourceId === undefined
          ? `user ${shown(entry.dn)} has no ${preset.userId}; not synced (check ldap.preset, or name the id attribute with externalId= in ldap.user_attributes)`
          : `user ${shown(entry.dn)} has the ${preset.userId} of another user (${shown(sourceId)}); not synced`,
      );
      return;
    }
    ids.add(sourceId);
    const mapped = map(entry);
    const suspended = bits !== undefined ? hasBits(listOf(entry[bits.attribute])[0], bits.mask) : suspendedIds?.has(sourceId) === true;
    const read: ReadUser = { user: { sourceId, attributes: mapped.attributes, suspended, ...formerIdOf(entry, settings, sourceId) }, dnKey: dnKey(entry.dn) };
    if (mapped.manager !== undefined) read.manager = mapped.manager;
    if (mapped.warnings.length > 0) read.warnings = mapped.warnings;
    const uid = preset.uid === undefined ? undefined : listOf(entry[preset.uid])[0];
    if (uid !== undefined) {
      read.uid = uid;
      index.byUid.set(uid, read);
    }
    const primary = listOf(entry.primaryGroupID)[0];
    if (preset.groups.primaryGroup && primary !== undefined) {
      read.primaryGroupId = primary;
      const list = index.byPrimaryGroup.get(primary) ?? [];
      list.push(read);
      index.byPrimaryGroup.set(primary, list);
    }
    index.byDn.set(read.dnKey, read);
  });
  return index;
}

/** `{ formerId }`: the entry's value of ldap.rekey_users_from (objectSid as its S-1-5-21-… string), when set and not the id itself. */
function formerIdOf(entry: LdapEntry, settings: LdapSettings, sourceId: string): { formerId?: string } {
  const formerId = settings.rekeyUsersFrom === undefined ? undefined : listOf(entry[settings.rekeyUsersFrom])[0];
  return formerId === undefined || formerId === sourceId ? {} : { formerId };
}

/** The ids of the users ldap.suspended_filter selects, when the source cannot test it itself (see bitAndFilter). */
async function readSuspended(search: Searcher, settings: LdapSettings): Promise<Set<string>> {
  const id = settings.preset.userId;
  const ids = new Set<string>();
  const filter = `(&${settings.userFilter}${settings.suspendedFilter!})`;
  await eachEntry(search, { base: settings.userBaseDn, setting: "ldap.user_base_dn", filter, attributes: [id] }, (raw) => {
    const value = listOf(normalizeEntry(raw, [id])[id])[0];
    if (value !== undefined) ids.add(value);
  });
  return ids;
}
