/**
 * @module The state check: the state backend is set once, the state reads (and parses, when there
 * is one), and a probe written beside it the way the first save writes the state is removed again.
 * Nothing else is written: the state itself is never touched.
 */
import { composeStore } from "../compose.ts";
import { stateBackendProblem } from "../config/requirements.ts";
import { fail, failedBy, pass, type Check } from "./checks.ts";
import type { DoctorContext } from "./context.ts";

const FIX = "set aws.s3_bucket_name (with aws.s3_bucket_key) or state.file, exactly one, to a place this host may read and write";

export async function stateCheck(ctx: DoctorContext): Promise<Check> {
  const problem = stateBackendProblem(ctx.config, "doctor");
  if (problem !== undefined) return fail("state", problem, FIX);
  try {
    const store = composeStore(ctx.config, ctx.env);
    const loaded = await store.load();
    const read = loaded === undefined ? `no state at ${store.describe()} yet (the first sync creates it)` : `read ${store.describe()} (${Object.keys(loaded.state.users).length} users)`;
    const probed = await store.probeWrite?.();
    return pass("state", probed === undefined ? read : `${read}; ${probed}`);
  } catch (error) {
    return failedBy("state", error, FIX);
  }
}
