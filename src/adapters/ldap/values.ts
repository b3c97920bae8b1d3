/**
 * @module What an LDAP entry's raw values mean (pure, no I/O, no ldapts): Active Directory's binary
 * ids (objectGUID, objectSid) as AD writes them, DNs compared as the server compares them, range
 * retrieval of large multi-valued attributes, bit-mask filters, and filter escaping. Each is
 * unit-tested on entries shaped as ldapts returns them, since slapd cannot show AD's behaviour.
 */

/**
 * objectGUID (16 bytes) as AD shows it (`Get-ADUser` ObjectGUID, "b7d1c9f2-3a4e-4b5c-8d6e-0f1a2b3c4d5e"):
 * the first three fields are little-endian on the wire (the GUID structure's Data1, Data2, Data3),
 * the last two are bytes in order. https://learn.microsoft.com/en-us/windows/win32/adschema/a-objectguid
 * Read in wire order, the string would be another GUID: one that no AD tool shows.
 */
export function formatGuid(bytes: Uint8Array): string | undefined {
  if (bytes.length !== 16) return undefined;
  const hex = (indexes: number[]) => indexes.map((i) => bytes[i]!.toString(16).padStart(2, "0")).join("");
  return `${hex([3, 2, 1, 0])}-${hex([5, 4])}-${hex([7, 6])}-${hex([8, 9])}-${hex([10, 11, 12, 13, 14, 15])}`;
}

/**
 * objectSid as its string form ("S-1-5-21-…-1104"): revision, a 48-bit big-endian identifier
 * authority, then little-endian 32-bit sub-authorities.
 * https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dtyp/f992ad60-0fe4-4b87-9fed-beb478836861
 */
export function formatSid(bytes: Uint8Array): string | undefined {
  if (bytes.length < 8) return undefined;
  const count = bytes[1]!;
  if (bytes.length !== 8 + 4 * count) return undefined;
  let authority = 0;
  for (let i = 2; i < 8; i++) authority = authority * 256 + bytes[i]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const subs = Array.from({ length: count }, (_, i) => view.getUint32(8 + 4 * i, true));
  return ["S", bytes[0], authority, ...subs].join("-");
}

/** The RID of a SID: its last sub-authority, what a user's primaryGroupID holds for its primary group. */
export function ridOf(sid: string | undefined): string | undefined {
  const match = sid === undefined ? null : /^S-\d+-\d+(?:-\d+)*-(\d+)$/.exec(sid);
  return match?.[1];
}

/**
 * A DN as the server compares it: RDNs split on unescaped commas, spaces around `,` `=` and `+`
 * dropped, attribute types and values lower-cased (the naming attributes of users and groups are
 * case-insensitive in AD and in the OpenLDAP schemas). `member` values and a user's own DN then
 * meet whatever spacing or case each was written with.
 */
export function dnKey(dn: string): string {
  return splitUnescaped(dn.trim(), ",")
    .map((rdn) => splitUnescaped(rdn, "+").map((ava) => {
      const at = ava.indexOf("=");
      return at < 0 ? ava.trim().toLowerCase() : `${ava.slice(0, at).trim().toLowerCase()}=${ava.slice(at + 1).trim().toLowerCase()}`;
    }).join("+"))
    .join(",");
}

function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Whether the entry at `key` is `base` or below it (both `dnKey`s). */
export function isUnder(key: string, base: string): boolean {
  return key === base || key.endsWith(`,${base}`);
}

/**
 * A groupOfUniqueNames `uniqueMember` value is a DN with an optional `#'0101'B` (RFC 4517
 * nameAndOptionalUID): the DN alone is what names the member.
 */
export function memberDn(value: string): string {
  return value.replace(/#'[01]*'B$/, "");
}

/** `member;range=0-1499`: the attribute, and the slice of its values this entry carries (`high` undefined for `*`, the last). */
export interface RangeSlice {
  attribute: string;
  low: number;
  high?: number;
}

export function parseRange(key: string): RangeSlice | undefined {
  const match = /^([^;]+);range=(\d+)-(\d+|\*)$/i.exec(key);
  if (!match) return undefined;
  return { attribute: match[1]!, low: Number(match[2]), ...(match[3] === "*" ? {} : { high: Number(match[3]) }) };
}

/**
 * The values of `attribute` an entry carries, and when AD cut them (more than MaxValRange, 1500 by
 * default), the attribute to ask for next: `member;range=1500-*`, and so on until a slice ends in
 * `*`. https://learn.microsoft.com/en-us/windows/win32/adsi/attribute-range-retrieval
 *
 * @example valuesOf({ dn, "member;range=0-1499": [...1500 DNs] }, "member") // { values, next: "member;range=1500-*" }
 */
export function valuesOf(entry: Readonly<Record<string, unknown>>, attribute: string): { values: string[]; next?: string } {
  const wanted = attribute.toLowerCase();
  for (const key in entry) {
    const slice = parseRange(key);
    if (slice === undefined || slice.attribute.toLowerCase() !== wanted) continue;
    const values = listOf(entry[key]);
    return slice.high === undefined ? { values } : { values, next: `${attribute};range=${slice.high + 1}-*` };
  }
  for (const key in entry) if (key.toLowerCase() === wanted) return { values: listOf(entry[key]) };
  return { values: [] };
}

/** A value as a list of strings (LDAP attributes are multi-valued; ldapts gives one value unwrapped). */
export function listOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return typeof value === "string" ? [value] : [];
}

/**
 * `(attribute:1.2.840.113556.1.4.803:=mask)`, AD's LDAP_MATCHING_RULE_BIT_AND, as the attribute and
 * mask: the source tests the bits itself on the value it reads with each user (the
 * active-directory preset's suspended filter is one), instead of a second search.
 * https://learn.microsoft.com/en-us/windows/win32/adsi/search-filter-syntax
 */
export function bitAndFilter(filter: string): { attribute: string; mask: number } | undefined {
  const match = /^\(\s*([A-Za-z][A-Za-z0-9-]*):1\.2\.840\.113556\.1\.4\.803:=(\d+)\s*\)$/.exec(filter.trim());
  return match ? { attribute: match[1]!, mask: Number(match[2]) } : undefined;
}

/** Whether an integer attribute's value has every bit of `mask` (userAccountControl 514 has ACCOUNTDISABLE, 2). */
export function hasBits(value: string | undefined, mask: number): boolean {
  if (value === undefined || !/^-?\d+$/.test(value.trim())) return false;
  // userAccountControl is a 32-bit flag set; BigInt keeps masks above 2^31 exact.
  const bits = BigInt.asUintN(32, BigInt(value.trim()));
  return (bits & BigInt(mask)) === BigInt(mask);
}

/** A value as an LDAP filter may hold it (RFC 4515 §3): `*`, `(`, `)`, `\` and NUL escaped. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * Active Directory answers a subtree search of the domain with references to its application
 * partitions (DNS zones, the configuration); they hold no users or groups, so they are skipped.
 * Any other reference is returned: what it points at would be missing, so the read stops.
 */
const AD_PARTITION = /^ldaps?:\/\/[^/]*\/(?:DC=DomainDnsZones|DC=ForestDnsZones|CN=Configuration),/i;

/** The first search reference that is not one of AD's application partitions, if any. */
export function foreignReferral(references: readonly string[]): string | undefined {
  return references.find((uri) => !AD_PARTITION.test(uri));
}
