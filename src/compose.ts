/**
 * @module The one place that wires adapters to the core from a resolved configuration.
 */
import { createGoogleDirectorySource } from "./adapters/google/directory-source.ts";
import { createScimTarget, type AwsScimTarget } from "./adapters/scim/scim-target.ts";
import { createSecretsManagerResolver } from "./adapters/secrets/secrets-manager.ts";
import { createFileStateStore } from "./adapters/state/file-state-store.ts";
import { createS3StateStore } from "./adapters/state/s3-state-store.ts";
import type { ResolvedConfig } from "./config/validate.ts";
import { SyncError } from "./core/errors.ts";
import type { DirectorySource, Logger, SecretResolver, StateStore } from "./core/ports.ts";
import type { PlanPolicy } from "./core/plan.ts";
import { managedAttributesFor } from "./core/sync.ts";
import type { UserFieldName } from "./model/index.ts";

export function createSecretResolver(): SecretResolver {
  return createSecretsManagerResolver();
}

export function composeSource(config: ResolvedConfig, serviceAccountKey: string, log: Logger): DirectorySource & { stats(): { requests: Record<string, number>; retries: number } } {
  if (!config.gws.userEmail) {
    throw new SyncError("CONFIG_MISSING", "gws.user_email is not set", {
      hint: "pass --gws-user-email, set IDPSCIM_GWS_USER_EMAIL, or add user_email under [gws]",
    });
  }
  return createGoogleDirectorySource({
    serviceAccountKey,
    adminEmail: config.gws.userEmail,
    groupsFilter: config.gws.groupsFilter,
    userFields: new Set(config.sync.userFields as UserFieldName[]),
    apiUrl: config.gws.apiUrl,
    tokenUrl: config.gws.tokenUrl,
    logger: log,
  });
}

export function composeTarget(config: ResolvedConfig, log: Logger): AwsScimTarget {
  if (!config.aws.scimEndpoint || !config.aws.scimAccessToken) {
    throw new SyncError("CONFIG_MISSING", "aws.scim_endpoint and aws.scim_access_token are required", {
      hint: "pass --aws-scim-endpoint and --aws-scim-access-token (or their IDPSCIM_AWS_* variables)",
    });
  }
  const rps = config.aws.scimRateLimit;
  return createScimTarget({
    endpoint: config.aws.scimEndpoint,
    token: config.aws.scimAccessToken,
    rate: { initialRps: Math.max(1, Math.floor(rps * 0.8)), maxRps: rps },
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
  if (config.state.file) return createFileStateStore(config.state.file);
  throw new SyncError("CONFIG_MISSING", "no state backend is configured", {
    hint: "set aws.s3_bucket_name (--aws-s3-bucket-name) or state.file (--state-file)",
  });
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
