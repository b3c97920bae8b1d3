/**
 * @module The [mapping] settings as the sources take them (parsed expressions by target), and the
 * one rule they share with `sync.user_fields`: a mapping for an attribute the selection leaves out
 * is refused, since that attribute is never written (pure).
 */
import { parseFallbacks } from "../mapping/expression.ts";
import { MAPPING_TARGET_NAMES, userFieldOf, type MappingTarget } from "../mapping/targets.ts";
import type { ValueExpr } from "../mapping/table.ts";
import type { UserFieldName } from "../model/index.ts";
import type { ResolvedConfig } from "./schema.ts";

export type ConfiguredMapping = Partial<Record<MappingTarget, ValueExpr>>;

/** The expression of each target [mapping] sets; the resolver has checked each one parses. */
export function configuredMapping(config: Pick<ResolvedConfig, "mapping">): ConfiguredMapping {
  const mapping: ConfiguredMapping = {};
  for (const target of MAPPING_TARGET_NAMES) {
    const sources = config.mapping[target];
    if (sources === undefined) continue;
    const parsed = parseFallbacks(sources);
    if ("problem" in parsed) throw new Error(`mapping.${target} reached configuredMapping unparsed: ${parsed.problem}`);
    mapping[target] = parsed.expr;
  }
  return mapping;
}

/** The mapped targets `userFields` does not select, each with the name that would select it. */
export function unselectedTargets(mapped: readonly MappingTarget[], userFields: readonly UserFieldName[]): { target: MappingTarget; field: UserFieldName }[] {
  return mapped.flatMap((target) => {
    const field = userFieldOf(target);
    return field === undefined || userFields.includes(field) ? [] : [{ target, field }];
  });
}
