/**
 * @module The shells' words for the core's structured stops (src/core/refusals.ts): guardrail
 * refusals and deadline stops, naming the settings' keys, flags and env variables from the option
 * table, and the sync command's one-run flags from RUN_FLAGS.
 */
import { optionByPath, placesOf, tomlPath } from "../config/schema.ts";
import type { SyncError } from "../core/errors.ts";
import { formatDeleteLimit, type Refusal, type RemovalRefusal } from "../core/guardrails.ts";
import { shown } from "../core/text.ts";

/** The sync command's one-run flags: CLI only, never a config key, so nothing leaves them on. */
export const RUN_FLAGS = {
  force: "force",
  allowEmptySource: "allow-empty-source",
  maxDuration: "max-duration",
} as const;

/** A refusal in words; also the shape of `guardrails.refusals` in `plan --output json`. */
export interface RenderedRefusal {
  rule: Refusal["rule"];
  /** One line: what the run would do and why it is refused. */
  message: string;
  /** The knob to turn. */
  hint: string;
}

const REMOVALS: Record<RemovalRefusal["what"], { verb: string; noun: string }> = {
  users: { verb: "delete or deactivate", noun: "users" },
  groups: { verb: "delete", noun: "groups" },
  memberships: { verb: "remove", noun: "group memberships" },
};

function renderRemoval(r: RemovalRefusal): RenderedRefusal {
  const option = optionByPath(`sync.${r.rule}`);
  const path = tomlPath(option);
  const setting = formatDeleteLimit(r.setting);
  const { verb, noun } = REMOVALS[r.what];
  const more = r.count - r.names.length;
  return {
    rule: r.rule,
    message:
      `this run would ${verb} ${r.count} ${noun} of the ${r.managed} it manages, more than ${path} = "${setting}" allows (${r.limit}): ` +
      `${r.names.map((name) => shown(name)).join(", ")}${more > 0 ? ` and ${more} more` : ""}`,
    hint: `if this is intended, raise ${path} (${placesOf(option)}; now "${setting}") or pass --${RUN_FLAGS.force} to allow it for this run only`,
  };
}

/**
 * @example
 * renderRefusal({ rule: "empty_source", what: "groups", managed: 5 }).hint;
 * // "check gws.groups_filter (with an LDAP source: ldap.group_base_dn and ldap.group_filter) and the reader's rights; if the source is meant to be empty, pass --allow-empty-source"
 */
export function renderRefusal(r: Refusal): RenderedRefusal {
  if (r.rule !== "empty_source") return renderRemoval(r);
  // The rule is the core's and knows no source: the words name the scope settings of both.
  const [filter, base, ldapFilter] = (["gws.groups_filter", "ldap.group_base_dn", "ldap.group_filter"] as const).map((path) => tomlPath(optionByPath(path)));
  const scope = `${filter} (with an LDAP source: ${base} and ${ldapFilter})`;
  return {
    rule: r.rule,
    message: `the source returned no ${r.what} while the state manages ${r.managed}: a wrong ${scope} or a directory problem looks like everyone left`,
    hint: `check ${scope} and the reader's rights; if the source is meant to be empty, pass --${RUN_FLAGS.allowEmptySource}`,
  };
}

/**
 * What a SyncError says to the user, on one line or, for a refusal, one line per rule: its
 * structured stop in words when it has one, else its own `describe()`.
 */
export function describeError(error: SyncError): string {
  const { detail } = error;
  if (detail?.kind === "refused") {
    const rendered = detail.refusals.map(renderRefusal);
    const hints = [...new Set(rendered.map((r) => r.hint))];
    return [`refused for safety, nothing was written`, ...rendered.map((r) => `  ${r.message}`), `  to go on: ${hints.join("; ")}`].join("\n");
  }
  if (detail?.kind === "deadline") {
    return `${error.message}: give the run more time (--${RUN_FLAGS.maxDuration}, or the Lambda timeout): the reads alone take longer than the budget's working part`;
  }
  return error.describe();
}
