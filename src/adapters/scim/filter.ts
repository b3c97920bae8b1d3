/** @module Builds AWS SCIM filters: only `attribute eq "value"` exists in AWS's dialect (docs/aws-scim.md §3). */

/**
 * `attribute eq "value"` with `\` and `"` escaped inside the value, as RFC 7644 §3.4.2.2 (JSON
 * string syntax) prescribes, so a name like `Ops "night" team` cannot end the string early.
 *
 * @example eqFilter("displayName", 'Ops "night"') // 'displayName eq "Ops \"night\""'
 */
export function eqFilter(attribute: string, value: string): string {
  return `${attribute} eq "${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
