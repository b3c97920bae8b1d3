/**
 * @module The one place that wires adapters to the core from a resolved configuration. What each
 * command needs was checked by the shell (`requireFor`, src/config/requirements.ts); nothing here
 * checks it again.
 */
import { createGoogleDirectorySource, type GoogleDirectorySource } from "./adapters/google/directory-source.ts";
import { createScimTarget, type AwsScimTarget } from "./adapters/scim/scim-target.ts";
import { createSecretsManagerResolver } from "./adapters/secrets/secrets-manager.ts";
import { createFileStateStore } from "./adapters/state/file-state-store.ts";
import { createS3StateStore } from "./adapters/state/s3-state-store.ts";
import type { ResolvedConfig } from "./config/schema.ts";
import type { Logger, SecretResolver, StateStore } from "./core/ports.ts";
import type { PlanPolicy } from "./core/plan.ts";
import { managedAttributesFor } from "./model/index.ts";

/** A value the shell's `requireFor` guarantees; its absence here is a bug in the shell, not a configuration problem. */
function checked<T>(value: T | undefined, path: string): T {
  if (value === undefined) throw new Error(`${path} reached compose.ts unset: the shell must call requireFor first`);
  return value;
}

export function createSecretResolver(): SecretResolver {
  return createSecretsManagerResolver();
}

export function composeSource(config: ResolvedConfig, serviceAccountKey: string, log: Logger): GoogleDirectorySource {
  return createGoogleDirectorySource({
    serviceAccountKey,
    adminEmail: checked(config.gws.userEmail, "gws.user_email"),
    groupsFilter: config.gws.groupsFilter,
    userFields: new Set(config.sync.userFields),
    apiUrl: config.gws.apiUrl,
    tokenUrl: config.gws.tokenUrl,
    rateLimit: config.gws.rateLimit,
    logger: log,
  });
}

/** A pacer that starts at 80% of its limit and may grow up to it (src/core/rate-control.ts). */
function pacedAt(rps: number): { initialRps: number; maxRps: number } {
  return { initialRps: Math.max(1, Math.floor(rps * 0.8)), maxRps: rps };
}

export function composeTarget(config: ResolvedConfig, log: Logger): AwsScimTarget {
  return createScimTarget({
    endpoint: checked(config.aws.scimEndpoint, "aws.scim_endpoint"),
    token: checked(config.aws.scimAccessToken, "aws.scim_access_token"),
    // AWS limits reads and writes apart (docs/aws-scim.md §9): one pacer each.
    rate: { read: pacedAt(config.aws.scimReadRateLimit), write: pacedAt(config.aws.scimRateLimit) },
    logger: log,
  });
}

export function composeStore(config: ResolvedConfig, environment: Record<string, string | undefined>): StateStore {
  if (config.aws.s3BucketName) {
    const customEndpoint = environment.AWS_ENDPOINT_URL_S3 ?? environment.AWS_ENDPOINT_URL;
    return createS3StateStore({
      bucket: config.aws.s3BucketName,
      key: config.aws.s3BucketKey,
      // A custom endpoint (MinIO, LocalStack, tests) rarely has virtual-host DNS: use path-style there.
      ...(customEndpoint ? { client: { forcePathStyle: true } } : {}),
    });
  }
  return createFileStateStore(checked(config.state.file, "state.file"));
}

export function policyFor(config: ResolvedConfig): Omit<PlanPolicy, "adoptGroupsByName"> {
  return {
    protectedGroups: config.sync.protectedGroups,
    suspendedUsers: config.sync.suspendedUsers,
    removedUsers: config.sync.removedUsers,
    deleteUnmanaged: config.sync.deleteUnmanaged,
    mode: config.sync.mode,
    managedAttributes: managedAttributesFor(config.sync.userFields),
  };
}
