/**
 * @module An entry as ldapts returns it, made into the `LdapEntry` the mapping reads (pure): each
 * attribute under the name it was asked for (servers answer in their own case), binary ids
 * formatted (objectGUID, objectSid), values kept as strings or lists of strings.
 */
import type { LdapEntry } from "../../mapping/presets/ldap.ts";
import { formatGuid, formatSid } from "./values.ts";

/** An entry as ldapts gives it: `dn`, and each attribute's value(s) as strings or Buffers. */
export type RawEntry = { dn: string } & Record<string, unknown>;

/** Attributes read as binary (ldapts `explicitBufferAttributes`) and formatted as AD shows them. */
export const BINARY_ATTRIBUTES = ["objectGUID", "objectSid", "mS-DS-ConsistencyGuid"] as const;
const GUIDS = new Set(["objectguid", "ms-ds-consistencyguid"]);
const SIDS = new Set(["objectsid"]);

/**
 * The entry with its attributes named as in `requested` (case-insensitively; options such as
 * `;range=0-1499` kept after the name) and binary values formatted. Empty attributes are left out.
 */
export function normalizeEntry(raw: RawEntry, requested: readonly string[]): LdapEntry {
  const names = new Map(requested.map((name) => [name.toLowerCase(), name]));
  const entry: LdapEntry = { dn: raw.dn };
  for (const key in raw) {
    if (key === "dn") continue;
    const base = key.split(";", 1)[0]!;
    const lower = base.toLowerCase();
    const values = (Array.isArray(raw[key]) ? (raw[key] as unknown[]) : [raw[key]]).map((v) => textOf(v, lower)).filter((v) => v !== undefined);
    if (values.length === 0) continue;
    entry[`${names.get(lower) ?? base}${key.slice(base.length)}`] = values.length === 1 ? values[0]! : values;
  }
  return entry;
}

function textOf(value: unknown, attribute: string): string | undefined {
  const bytes = value instanceof Uint8Array ? value : typeof value === "string" && (GUIDS.has(attribute) || SIDS.has(attribute)) ? new TextEncoder().encode(value) : undefined;
  if (bytes === undefined) return typeof value === "string" ? value : undefined;
  // A binary id that happened to be valid UTF-8 came back as text: its UTF-8 bytes are the id's bytes.
  if (GUIDS.has(attribute)) return formatGuid(bytes) ?? base64(bytes);
  if (SIDS.has(attribute)) return formatSid(bytes) ?? base64(bytes);
  return base64(bytes);
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
