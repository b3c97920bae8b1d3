/**
 * @module The one place that wires adapters to the core from a resolved configuration. What each
 * command needs was checked by the shell (`requireFor`, src/config/requirements.ts); nothing here
 * checks it again.
 */
import { createGoogleDirectorySource } from "./adapters/google/directory-source.ts";
import { createLdapDirectorySource } from "./adapters/ldap/directory-source.ts";
import type { LdapRequestCounts } from "./adapters/ldap/connection.ts";
import { ldapSettings } from "./config/ldap-settings.ts";
import { configuredMapping } from "./config/mapping.ts";
import { GOOGLE_USER } from "./mapping/presets/google.ts";
import { withMapping } from "./mapping/targets.ts";
import { createScimTarget, type AwsScimTarget } from "./adapters/scim/scim-target.ts";
import { createSecretsManagerResolver } from "./adapters/secrets/secrets-manager.ts";
import { createFileStateStore } from "./adapters/state/file-state-store.ts";
import { createS3StateStore } from "./adapters/state/s3-state-store.ts";
import type { ResolvedConfig, SourceType } from "./config/schema.ts";
import type { DirectorySource, Logger, SecretResolver, StateStore } from "./core/ports.ts";
import type { PlanPolicy } from "./core/plan.ts";
import { scopedSource } from "./core/scope.ts";
import { managedAttributesFor } from "./model/index.ts";

/** A value the shell's `requireFor` guarantees; its absence here is a bug in the shell, not a configuration problem. */
function checked<T>(value: T | undefined, path: string): T {
  if (value === undefined) throw new Error(`${path} reached compose.ts unset: the shell must call requireFor first`);
  return value;
}

export function createSecretResolver(): SecretResolver {
  return createSecretsManagerResolver();
}

/** What the run summary says of the source's requests: Google's by method (and its pace), or LDAP's searches and pages. */
export interface SourceFigures {
  googleRequests: Record<string, number>;
  /** Google requests per second of the time spent reading Google; absent before any read. */
  googleRps?: number;
  ldapRequests?: LdapRequestCounts;
}

export interface ComposedSource {
  source: DirectorySource;
  figures(): SourceFigures;
}

/** The source `type` names (default source.type): Google Workspace or an LDAP directory. */
export function composeSource(config: ResolvedConfig, serviceAccountKey: string, log: Logger, type: SourceType = config.source.type): ComposedSource {
  // The exclusions end the scope whatever the source (src/core/scope.ts).
  const scope = { method: config.sync.method, excludeUsers: config.sync.excludeUsers, excludeGroups: config.sync.excludeGroups };
  if (type === "ldap") {
    const ldap = createLdapDirectorySource({ settings: ldapSettings(config), userFields: new Set(config.sync.userFields), method: config.sync.method, log });
    const source = scopedSource(ldap, scope, log);
    return {
      source,
      figures: () => {
        const { searches, pages } = source.stats();
        return { googleRequests: {}, ldapRequests: { searches, pages } };
      },
    };
  }
  // The managed logger redacts what it is told; the keyless chain tells it each secret it handles.
  const redact = (log as Partial<{ redact(secret: string): void }>).redact?.bind(log);
  const google = createGoogleDirectorySource({
    serviceAccountKey,
    ...(config.gws.auth === "workload-identity"
      ? {
          workloadIdentity: {
            config: checked(config.gws.workloadIdentityConfig, "gws.workload_identity_config"),
            serviceAccountEmail: checked(config.gws.serviceAccountEmail, "gws.service_account_email"),
            iamCredentialsUrl: config.gws.iamCredentialsUrl,
            ...(redact ? { onSecret: redact } : {}),
          },
        }
      : {}),
    adminEmail: checked(config.gws.userEmail, "gws.user_email"),
    groupsFilter: config.gws.groupsFilter,
    usersFilter: config.gws.usersFilter,
    method: config.sync.method,
    userFields: new Set(config.sync.userFields),
    userTable: withMapping(GOOGLE_USER, configuredMapping(config)),
    apiUrl: config.gws.apiUrl,
    tokenUrl: config.gws.tokenUrl,
    rateLimit: config.gws.rateLimit,
    logger: log,
  });
  const source = scopedSource(google, scope, log);
  return {
    source,
    figures: () => {
      const google = source.stats();
      const googleRps = google.readMs > 0 ? (Object.values(google.requests).reduce((a, b) => a + b, 0) * 1000) / google.readMs : undefined;
      return { googleRequests: google.requests, ...(googleRps === undefined ? {} : { googleRps }) };
    },
  };
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
    onlyGroups: config.sync.onlyGroups,
    managedAttributes: managedAttributesFor(config.sync.userFields),
  };
}
