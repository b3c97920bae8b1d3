/**
 * @module The mapping table: which SCIM user attribute comes from where in a source record, as
 * plain data (no functions), so that a preset, a configured mapping or an LDAP table is just
 * another value of `UserMappingTable`.
 */
import type { Address, PhoneNumber, UserAttributeName, UserAttributes } from "../model/index.ts";

/**
 * A record as a source adapter returns it: a Google Directory user resource, an LDAP entry. Read
 * only through the table's paths, defensively: nothing in it is trusted to have the documented type.
 */
export type SourceRecord = object;

/**
 * A string read from a record. Every expression yields a non-blank string or nothing (`undefined`),
 * so "missing" has one meaning: a `firstOf` moves on, an attribute is left out.
 */
export type ValueExpr =
  /** The string at a dotted path (`name.givenName`), as the source holds it (not trimmed). */
  | { readonly kind: "path"; readonly path: string }
  /** The first string of a multi-valued attribute (LDAP `mail: ["a@x", "b@x"]`), or the string itself. */
  | { readonly kind: "firstValue"; readonly path: string }
  | { readonly kind: "text"; readonly text: string }
  /** The fallback chain: the first expression that yields a value. */
  | { readonly kind: "firstOf"; readonly of: readonly ValueExpr[] }
  /** The values that are there, joined (`given family`); nothing when none is. */
  | { readonly kind: "join"; readonly of: readonly ValueExpr[]; readonly separator: string }
  | { readonly kind: "trim"; readonly of: ValueExpr }
  /**
   * Trimmed, and only when it has a character AWS keeps in a name: a name of control or format
   * characters only counts as missing, so that the next name in a `firstOf` fills in.
   */
  | { readonly kind: "name"; readonly of: ValueExpr }
  /** The part before the first `separator` (an email's local part), the whole value when there is none. */
  | { readonly kind: "before"; readonly of: ValueExpr; readonly separator: string }
  /**
   * The first `max` characters (code points): a choice of the mapping (a short code, say), not
   * AWS's limit, which `fitForAws` (core/aws-limits.ts) alone enforces.
   */
  | { readonly kind: "truncate"; readonly of: ValueExpr; readonly max: number }
  /** `value` read inside one element of a list (the primary organization's title). */
  | { readonly kind: "in"; readonly pick: ListPick; readonly value: ValueExpr }
  /** A field path as a configured mapping writes it (`organizations[primary].department`): see `FieldStep`. */
  | { readonly kind: "field"; readonly steps: readonly FieldStep[] }
  /** Text with values in it (`{name.givenName} {name.familyName}`): nothing unless every value is there. */
  | { readonly kind: "template"; readonly parts: readonly (string | ValueExpr)[] };

/**
 * One step of a `field` path: the value under `key`, and where that value is a list, one element
 * of it: the `select`ed one (the first object matching a `Match`, or the one at an index), else
 * the first (the first object when more steps follow, the first non-blank string at the end, as
 * an LDAP attribute's first value). A `select` on a value that is not a list finds nothing.
 */
export interface FieldStep {
  readonly key: string;
  readonly select?: Match | number;
}

/** Every key of the element equals the given value (`{ type: "work" }`, `{ primary: true }`). */
export type Match = Readonly<Record<string, string | boolean>>;

/**
 * One element of a list of objects (Google's `phones`, `organizations`): among the elements that
 * have a non-blank string at `having` (all when unset), the first matching `prefer[0]`, else the
 * first matching `prefer[1]`, …, else the first element, or none when `otherwise` is "none".
 * A field that is not an array reads as empty, and elements that are not objects are skipped.
 */
export interface ListPick {
  readonly list: string;
  readonly having?: string;
  readonly prefer?: readonly Match[];
  readonly otherwise?: "first" | "none";
}

/**
 * An attribute made of sub-attributes (phoneNumber, address), read from one picked element (or
 * from the record itself when there is no `pick`); kept only when one of `requireOneOf` has a value.
 */
export interface ObjectRule<T> {
  readonly pick?: ListPick;
  readonly fields: { readonly [K in keyof T]?: ValueExpr };
  readonly requireOneOf: readonly (keyof T)[];
}

/** The names AWS requires (https://docs.aws.amazon.com/singlesignon/latest/developerguide/createuser.html). */
export type RequiredAttributeName = "userName" | "email" | "givenName" | "familyName" | "displayName";

/** The string attributes a table can fill (`active` is not the source's to set: suspension travels apart). */
export type StringAttributeName = {
  [K in UserAttributeName]-?: NonNullable<UserAttributes[K]> extends string ? K : never;
}[UserAttributeName];

/**
 * Target attribute ← source. The key order is the order attributes are written and source fields
 * requested in. `managerSourceId` is read as the source refers to the manager (an email, a DN):
 * only the source adapter, which sees every user, can turn that into a source id.
 */
export type AttributeRules =
  & { readonly [K in RequiredAttributeName]: ValueExpr }
  & { readonly [K in Exclude<StringAttributeName, RequiredAttributeName>]?: ValueExpr }
  & { readonly phoneNumber?: ObjectRule<PhoneNumber>; readonly address?: ObjectRule<Address> };

export interface UserMappingTable {
  /** What a warning calls the record (its email, else its id). */
  readonly subject: ValueExpr;
  /** Source fields requested whatever the selection, first and in this order (the id, suspension). */
  readonly read: readonly string[];
  readonly attributes: AttributeRules;
  /**
   * AWS requires a given and a family name, so each fills in for the other; when both are missing
   * they take this (else "-"), with a warning: a user is never dropped for a missing name.
   */
  readonly nameFallback: ValueExpr;
}

// Builders, so that a table reads as a table.

export const path = (at: string): ValueExpr => ({ kind: "path", path: at });
export const firstValue = (at: string): ValueExpr => ({ kind: "firstValue", path: at });
export const text = (value: string): ValueExpr => ({ kind: "text", text: value });
export const firstOf = (...of: ValueExpr[]): ValueExpr => ({ kind: "firstOf", of });
export const join = (separator: string, ...of: ValueExpr[]): ValueExpr => ({ kind: "join", of, separator });
export const trim = (of: ValueExpr): ValueExpr => ({ kind: "trim", of });
export const name = (of: ValueExpr): ValueExpr => ({ kind: "name", of });
export const before = (separator: string, of: ValueExpr): ValueExpr => ({ kind: "before", of, separator });
export const truncate = (max: number, of: ValueExpr): ValueExpr => ({ kind: "truncate", of, max });
export const field = (...steps: FieldStep[]): ValueExpr => ({ kind: "field", steps });
export const template = (...parts: (string | ValueExpr)[]): ValueExpr => ({ kind: "template", parts });
/** `at` (a path, or any expression) inside the element `pick` chooses. */
export const inElement = (pick: ListPick, at: string | ValueExpr): ValueExpr => ({ kind: "in", pick, value: typeof at === "string" ? path(at) : at });
