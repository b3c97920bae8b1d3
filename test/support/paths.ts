/** @module Where the repository's own test data lives: every scenario and capture a test reads is inside the repository. */
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");
/** The small example organisation (format: test/scenarios/FORMAT.md); tests assert exact names and counts on it. */
export const EXAMPLE_SCENARIO = resolve(ROOT, "test/scenarios/example-small.json");
/** Response bodies AWS's SCIM endpoint sent (test/fixtures/aws-captures/README.md). */
export const AWS_CAPTURES = resolve(ROOT, "test/fixtures/aws-captures");
