/**
 * @module Runs every check of `idpscim doctor`: the configured source's (Google or LDAP), the
 * SCIM side's and the state's, side by side and each on its own, so one failure hides nothing
 * else; a check that cannot run without another skips, saying which.
 */
import { composeStore } from "../compose.ts";
import { shorten } from "../config/values.ts";
import { CHECK_TITLES, failedBy, pass, skip, type Check, type CheckId } from "./checks.ts";
import type { DoctorContext } from "./context.ts";
import { googleChecks } from "./google.ts";
import { ldapChecks } from "./ldap.ts";
import { scimChecks } from "./scim.ts";
import { stateCheck } from "./state.ts";

const ORDER = Object.keys(CHECK_TITLES) as CheckId[];

export async function runDoctor(ctx: DoctorContext): Promise<Check[]> {
  const { config } = ctx;
  const file = config.configFile === undefined ? "no config file (flags and IDPSCIM_* only)" : shorten(config.configFile);
  const where = config.aws.s3BucketName !== undefined || config.state.file !== undefined ? `, state ${describeState(ctx)}` : "";
  const loaded = pass("config", `${file}: source ${config.source.type}${where}`);
  const [source, scim, state] = await Promise.all([config.source.type === "ldap" ? ldapChecks(ctx) : googleChecks(ctx), scimChecks(ctx), stateCheck(ctx)]);
  return [loaded, ...source, ...scim, state].sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));
}

function describeState(ctx: DoctorContext): string {
  try {
    return composeStore(ctx.config, ctx.env).describe();
  } catch {
    return "(see state)";
  }
}

/** The report when the configuration does not load: that failure, and every other check skipped for it. */
export function configFailed(error: unknown): Check[] {
  const others = ORDER.filter((id) => id !== "config" && id !== "gws-keyless" && !id.startsWith("ldap-")).map((id) => skip(id, "the configuration does not load (config)"));
  return [failedBy("config", error, "fix the configuration as the message says (idpscim config validate shows every problem)"), ...others];
}

/** 0 when nothing failed (warnings and skips included), else 1. */
export function doctorExitCode(checks: readonly Check[]): number {
  return checks.some((c) => c.verdict === "fail") ? 1 : 0;
}
