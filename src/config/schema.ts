/**
 * @module The one option table. Each setting is one entry: its name (TOML key, flag, IDPSCIM_* env
 * var and ResolvedConfig property all derive from it), type, default, choices, docs, whether it is
 * secret, which commands require it, and any check beyond its type. The resolver, the yargs
 * options, config.example.toml, the README table, the requirement checks and the TypeScript type
 * of the resolved configuration are all derived from it.
 */

import type { Options as YargsOptions } from "yargs";
import { PROTECTED_GROUPS_DEFAULT, USER_FIELD_NAMES } from "../model/index.ts";
import { parseFallbacks } from "../mapping/expression.ts";
import { attributeNameProblem, LDAP_PRESETS, mappingEntriesProblem } from "../mapping/presets/ldap.ts";
import { MAPPING_TARGET_NAMES, MAPPING_TARGETS, type MappingTarget } from "../mapping/targets.ts";
import { bindNameProblem, dnProblem, emailProblem, groupsFilterProblem, ldapFilterProblem, ldapUrlProblem, pemProblem, RECONCILE_EVERY_MAX_MS, tokenProblem, usersFilterProblem, type MaxDeletes } from "./values.ts";

export type OptionType =
  | "string"
  | "boolean"
  | "integer"
  | "string[]"
  | "duration"
  | "date"
  | "enum"
  | "url"
  | "path"
  | "percent-or-count"
  /** A mapping expression (src/mapping/expression.ts), or in the file an array of them: a fallback list. */
  | "expression";

/** The commands that read the configuration, as `requiredFor` names them. */
export const COMMANDS = ["sync", "plan", "inspect gws", "inspect ldap", "inspect scim", "state show", "config validate", "doctor"] as const;
export type Command = (typeof COMMANDS)[number];

/** Where a value came from: `sources` in ResolvedConfig, keyed by TOML path. */
export type Source = "default" | "file" | "env" | "flag" | "secret";

export interface OptionSpec {
  /** TOML table; absent for top-level keys. */
  table?: string;
  /** snake_case key inside the table. */
  key: string;
  type: OptionType;
  /** In the option's native form (TOML-shaped), applied by the resolver so sources are tracked. */
  default?: unknown;
  /** Allowed values for "enum", and for each element of a "string[]". */
  choices?: readonly string[];
  /** One-letter flag kept from idp-scim-sync so its users can switch. */
  alias?: string;
  doc: string;
  /** Never echoed in messages or logs. */
  secret?: boolean;
  /** Not secret, but never quoted in a message either: it may come from Secrets Manager (the admin's email). */
  unquoted?: boolean;
  /** Shown (commented out) in config.example.toml when there is no default or the default says little. */
  example?: unknown;
  /** Flag and env only: cannot be set from the config file itself. */
  cliOnly?: boolean;
  /** ResolvedConfig property when it is not the camelCase key (e.g. reconcileEveryMs, in ms). */
  field?: string;
  /** On the root of ResolvedConfig as table + key (log.level → logLevel), not under its table. */
  flat?: boolean;
  /** Parsed and recorded in `sources`, but no property of its own: it steers another setting (debug → log.level). */
  noField?: boolean;
  /** Commands that stop with CONFIG_MISSING when it is not set (see requirements.ts). */
  requiredFor?: readonly Command[];
  /** Not required when this boolean setting is true: the value then comes from Secrets Manager. */
  notRequiredWith?: string;
  /** Required only when this enum setting has this value (gws.service_account_file only with gws.auth = "key"). */
  onlyWhen?: readonly [string, string];
  /**
   * The source this setting belongs to: `requiredFor` sync and plan only when source.type names
   * it (an `inspect` of that source always needs it).
   */
  source?: SourceType;
  /** The setting naming a file that holds this one's value (read before the run): set there, this one counts as set. */
  fromFile?: string;
  /** A check beyond the type, on the parsed value; `shown` is the value as a message may quote it. A problem phrase, or `undefined`. */
  check?: (value: never, shown: string) => string | undefined;
}

/** `gws.auth`: a service-account key, or keyless through Workload Identity Federation. */
export const GWS_AUTH_MODES = ["key", "workload-identity"] as const;

/** `source.type`: where users and groups come from. */
export const SOURCE_TYPES = ["google", "ldap"] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** The names `sync.user_fields` accepts: one list, kept with the model. */
export const USER_FIELDS = USER_FIELD_NAMES;

/** The SCIM read and write limits share their bounds. */
const rateLimitProblem = (rps: number, shown: string) => (rps >= 1 && rps <= 10_000 ? undefined : `must be from 1 to 10000 requests per second (got ${shown})`);

/** What each [mapping] key's example shows (Google field paths; an LDAP attribute is a path too). */
const MAPPING_EXAMPLES: Record<MappingTarget, string | string[]> = {
  userName: ["customSchemas.HR.login", "primaryEmail"],
  displayName: ["{name.givenName} {name.familyName}", "name.fullName"],
  givenName: ["customSchemas.HR.preferredName", "name.givenName"],
  familyName: "name.familyName",
  formattedName: "name.fullName",
  nickName: "customSchemas.HR.nickname",
  title: "organizations[primary].title",
  userType: ["organizations[primary].description", "'Employee'"],
  preferredLanguage: "languages[preference=preferred].languageCode",
  locale: "languages[preference=preferred].languageCode",
  timezone: "customSchemas.HR.timezone",
  profileUrl: "websites[type=profile].value",
  email: "primaryEmail",
  phoneNumber: ["phones[type=work].value", "phones.value"],
  address: "addresses[primary].formatted",
  employeeNumber: ["externalIds[type=organization].value", "customSchemas.HR.employeeId"],
  costCenter: "organizations[primary].costCenter",
  organization: "organizations[primary].name",
  division: "organizations[primary].domain",
  department: ["organizations[primary].department", "orgUnitPath"],
  manager: "relations[type=manager].value",
};

/** One [mapping] entry per target (src/mapping/targets.ts): a source expression in place of the preset's rule. */
const MAPPING_OPTIONS = MAPPING_TARGET_NAMES.map((target) => ({
  table: "mapping" as const,
  key: target,
  type: "expression" as const,
  doc: `SCIM ${MAPPING_TARGETS[target].scim} from a source expression (see Mapping): a field path, a 'literal' or a {template}, or an array of them, the first with a value winning; unset: the source's preset.`,
  example: MAPPING_EXAMPLES[target],
  check: (sources: readonly string[]) => {
    const parsed = parseFallbacks(sources);
    return "problem" in parsed ? parsed.problem : undefined;
  },
}));

const TABLE = [
  {
    key: "config_file",
    type: "path",
    alias: "c",
    cliOnly: true,
    doc: "Path of the TOML config file; without it ./config.toml is read when it exists.",
    example: "config.toml",
  },
  { key: "debug", type: "boolean", alias: "d", default: false, noField: true, doc: 'Log at debug level; same as log.level = "debug" and wins over it.' },
  {
    key: "use_secrets_manager",
    type: "boolean",
    alias: "g",
    default: false,
    doc: "Read the service-account key (or, keyless, the credential configuration), user email, SCIM endpoint and token (and the LDAP bind password) from AWS Secrets Manager by the *_secret_name values; values given explicitly win.",
  },
  {
    key: "audit_log",
    type: "path",
    doc: "File the audit trail is appended to: one JSON line per SCIM write (what changed, AWS's answer) and per refusal, never a secret; created with mode 0600 when missing. A sync that cannot open it stops before any request (exit 2). In AWS Lambda the lines go to the log stream instead (README: Audit trail).",
    example: "/var/log/idpscim/audit.jsonl",
  },

  {
    table: "source",
    key: "type",
    type: "enum",
    choices: SOURCE_TYPES,
    default: "google",
    doc: "Where users and groups come from: google (Google Workspace, the [gws] settings) or ldap (an LDAP directory or Active Directory, the [ldap] settings).",
  },

  { table: "log", key: "level", flat: true, type: "enum", alias: "l", choices: ["debug", "info", "warn", "error"], default: "info", doc: "Lowest level of log lines (written to stderr)." },
  { table: "log", key: "format", flat: true, type: "enum", alias: "f", choices: ["text", "json"], default: "text", doc: "Log line format; json suits Lambda and log shippers." },

  {
    table: "gws",
    key: "auth",
    type: "enum",
    choices: GWS_AUTH_MODES,
    default: "key",
    doc: 'How idpscim authenticates to Google: key (a service-account key, gws.service_account_file) or workload-identity (keyless: the AWS role it runs as, through Workload Identity Federation; gws.workload_identity_config and gws.service_account_email, no key anywhere).',
  },
  {
    table: "gws",
    key: "service_account_file",
    type: "path",
    alias: "s",
    requiredFor: ["sync", "plan", "inspect gws", "doctor"],
    source: "google",
    notRequiredWith: "use_secrets_manager",
    onlyWhen: ["gws.auth", "key"],
    doc: "Path of the Google service-account key (JSON) with domain-wide delegation. Under systemd, without it, the gws-service-account.json credential is read when it exists (idpscim.service loads /etc/idpscim/credentials/gws-service-account.json).",
    example: "credentials.json",
  },
  {
    table: "gws",
    key: "service_account_file_secret_name",
    type: "string",
    alias: "o",
    default: "IDPSCIM_GWSServiceAccountFile",
    doc: "Secrets Manager secret holding the service-account key JSON (with use_secrets_manager).",
  },
  {
    table: "gws",
    key: "user_email",
    type: "string",
    alias: "u",
    unquoted: true,
    requiredFor: ["sync", "plan", "inspect gws", "doctor"],
    source: "google",
    check: (email: string, shown: string) => {
      const problem = emailProblem(email);
      return problem === undefined ? undefined : `${problem} (got ${shown})`;
    },
    doc: "Google Workspace super admin the service account impersonates.",
    example: "admin@example.com",
  },
  {
    table: "gws",
    key: "user_email_secret_name",
    type: "string",
    alias: "p",
    default: "IDPSCIM_GWSUserEmail",
    doc: "Secrets Manager secret holding the super admin's email (with use_secrets_manager).",
  },
  {
    table: "gws",
    key: "groups_filter",
    type: "string[]",
    alias: "q",
    default: [],
    doc: "Directory group queries; groups matching any are synced, none (leave it out, or []) = all groups; a blank entry is refused. Clauses (space-separated): name=X, name:Prefix*, email=x, email:prefix*, memberKey=x.",
    example: ["name:AWS*", "email:aws-*"],
    check: (queries: readonly string[]) => queries.map(groupsFilterProblem).find((problem) => problem !== undefined),
  },
  {
    table: "gws",
    key: "users_filter",
    type: "string[]",
    default: [],
    doc: 'Directory user queries, ORed; each query\'s clauses (space-separated) are ANDed, e.g. orgUnitPath=\'/Engineering\', isSuspended=false, Custom.awsAccess=true, email:dev*. With sync.method = "groups" the members of the synced groups must also match one; with "users" every matching user is synced. None = no user filter.',
    example: ["orgUnitPath='/Engineering' isSuspended=false"],
    check: (queries: readonly string[]) => queries.map(usersFilterProblem).find((problem) => problem !== undefined),
  },
  {
    table: "gws",
    key: "rate_limit",
    type: "integer",
    default: 35,
    check: (rps: number, shown: string) => (rps >= 1 && rps <= 1000 ? undefined : `must be from 1 to 1000 requests per second (got ${shown})`),
    doc: "Most Directory API requests per second. Google allows 2,400 a minute (40/s) per user, and every request is made as gws.user_email; 35 leaves room for others acting as that admin. On a quota error the tool halves its rate by itself.",
  },
  {
    table: "gws",
    key: "workload_identity_config",
    type: "string",
    requiredFor: ["sync", "plan", "inspect gws"],
    source: "google",
    notRequiredWith: "use_secrets_manager",
    onlyWhen: ["gws.auth", "workload-identity"],
    doc: "With gws.auth = workload-identity: the credential configuration that gcloud iam workload-identity-pools create-cred-config --aws writes (it names the pool's provider and Google STS; it holds no secret), as the path of that file or as its JSON itself.",
    example: "wif.json",
  },
  {
    table: "gws",
    key: "workload_identity_config_secret_name",
    type: "string",
    default: "IDPSCIM_GWSWorkloadIdentityConfig",
    doc: "Secrets Manager secret holding the credential configuration JSON (with use_secrets_manager and gws.auth = workload-identity).",
  },
  {
    table: "gws",
    key: "service_account_email",
    type: "string",
    requiredFor: ["sync", "plan", "inspect gws"],
    source: "google",
    onlyWhen: ["gws.auth", "workload-identity"],
    check: (email: string, shown: string) => {
      const problem = emailProblem(email);
      return problem === undefined ? undefined : `${problem} (got ${shown})`;
    },
    doc: "With gws.auth = workload-identity: the service account whose domain-wide delegation is used; the AWS role's federated identity holds roles/iam.serviceAccountTokenCreator on it.",
    example: "idpscim-sync@my-project.iam.gserviceaccount.com",
  },
  {
    table: "gws",
    key: "iam_credentials_url",
    type: "url",
    default: "https://iamcredentials.googleapis.com",
    doc: "Base URL of the IAM Service Account Credentials API, which signs the delegation assertion with gws.auth = workload-identity (change only for testing or a Private Service Connect endpoint).",
  },
  { table: "gws", key: "api_url", type: "url", default: "https://admin.googleapis.com", doc: "Base URL of the Admin SDK Directory API (change only for testing)." },
  { table: "gws", key: "token_url", type: "url", default: "https://oauth2.googleapis.com/token", doc: "Google OAuth2 token endpoint (change only for testing)." },

  {
    table: "ldap",
    key: "url",
    type: "string",
    requiredFor: ["sync", "plan", "inspect ldap", "doctor"],
    source: "ldap",
    check: (url: string) => ldapUrlProblem(url),
    doc: "The directory server: ldaps://host:636 (TLS), or ldap://host:389 with ldap.start_tls = true. Plain ldap:// without StartTLS is refused unless the host is loopback or ldap.allow_insecure = true.",
    example: "ldaps://dc1.example.com:636",
  },
  { table: "ldap", key: "start_tls", type: "boolean", default: false, doc: "Upgrade an ldap:// connection with StartTLS before binding." },
  {
    table: "ldap",
    key: "ca_file",
    type: "path",
    doc: "PEM file of the CA certificate(s) that signed the server's certificate (an internal CA); without it the system's trusted CAs are used.",
    example: "/etc/idpscim/ldap-ca.pem",
  },
  {
    table: "ldap",
    key: "ca_pem",
    type: "string",
    check: (pem: string) => pemProblem(pem),
    example: "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIQ...\n-----END CERTIFICATE-----\n",
    doc: "The same CA certificate(s) as PEM text, instead of ldap.ca_file, where no file can be placed: in AWS Lambda, IDPSCIM_LDAP_CA_PEM (the Terraform module's ldap.ca_pem). Lambda's environment holds 4 KB in all: the root CA alone is enough when the server sends its intermediate certificates.",
  },
  {
    table: "ldap",
    key: "allow_insecure",
    type: "boolean",
    default: false,
    doc: "Allow plain ldap:// without StartTLS to a host that is not loopback: the bind password and every entry cross the network in clear text.",
  },
  {
    table: "ldap",
    key: "bind_dn",
    type: "string",
    requiredFor: ["sync", "plan", "inspect ldap", "doctor"],
    source: "ldap",
    check: (name: string) => bindNameProblem(name),
    doc: "DN of the read-only service account the tool binds as (simple bind); Active Directory also takes its userPrincipalName (svc-idpscim@example.com) or EXAMPLE\\svc-idpscim.",
    example: "CN=svc-idpscim,OU=Service Accounts,DC=example,DC=com",
  },
  {
    table: "ldap",
    key: "bind_password",
    type: "string",
    secret: true,
    requiredFor: ["sync", "plan", "inspect ldap", "doctor"],
    source: "ldap",
    notRequiredWith: "use_secrets_manager",
    fromFile: "ldap.bind_password_file",
    doc: "Password of ldap.bind_dn; prefer the env var, ldap.bind_password_file or Secrets Manager to this file.",
    example: "<password>",
  },
  {
    table: "ldap",
    key: "bind_password_file",
    type: "path",
    doc: "Path of a file holding the bind password (instead of ldap.bind_password; a trailing newline is ignored). Under systemd, without either, the ldap-bind-password credential is read when it exists (idpscim.service loads /etc/idpscim/credentials/ldap-bind-password).",
    example: "/run/secrets/ldap-bind-password",
  },
  {
    table: "ldap",
    key: "bind_password_secret_name",
    type: "string",
    default: "IDPSCIM_LDAPBindPassword",
    doc: "Secrets Manager secret holding the bind password (with use_secrets_manager).",
  },
  {
    table: "ldap",
    key: "base_dn",
    type: "string",
    requiredFor: ["sync", "plan", "inspect ldap", "doctor"],
    source: "ldap",
    check: (dn: string) => dnProblem(dn),
    doc: "Base DN of the directory (the domain's naming context, e.g. DC=example,DC=com).",
    example: "DC=example,DC=com",
  },
  { table: "ldap", key: "user_base_dn", type: "string", check: (dn: string) => dnProblem(dn), doc: "Where users are searched (subtree); default ldap.base_dn. A member outside it is not synced.", example: "OU=People,DC=example,DC=com" },
  {
    table: "ldap",
    key: "group_base_dn",
    type: "string",
    check: (dn: string) => dnProblem(dn),
    doc: "Where the groups to sync are searched (subtree); default ldap.base_dn. Groups nested in them are followed wherever they are.",
    example: "OU=AWS,OU=Groups,DC=example,DC=com",
  },
  {
    table: "ldap",
    key: "user_filter",
    type: "string",
    check: (filter: string) => ldapFilterProblem(filter),
    doc: "LDAP filter of the users in scope; default by preset: (&(objectCategory=person)(objectClass=user)) for active-directory, (objectClass=inetOrgPerson) for openldap.",
    example: "(&(objectCategory=person)(objectClass=user))",
  },
  {
    table: "ldap",
    key: "group_filter",
    type: "string",
    check: (filter: string) => ldapFilterProblem(filter),
    doc: "LDAP filter of the groups to sync, ANDed with the preset's group classes; default all groups under ldap.group_base_dn.",
    example: "(cn=AWS-*)",
  },
  {
    table: "ldap",
    key: "suspended_filter",
    type: "string",
    check: (filter: string) => ldapFilterProblem(filter),
    doc: "LDAP filter marking a user suspended (handled by sync.suspended_users); default by preset: disabled accounts for active-directory, (userAccountControl:1.2.840.113556.1.4.803:=2); none for openldap.",
    example: "(pwdAccountLockedTime=*)",
  },
  {
    table: "ldap",
    key: "page_size",
    type: "integer",
    default: 500,
    check: (size: number, shown: string) => (size >= 1 && size <= 100_000 ? undefined : `must be from 1 to 100000 entries (got ${shown})`),
    doc: "Entries per page of every search (simple paged results, RFC 2696); keep it at or below the server's size limit (Active Directory's MaxPageSize is 1000).",
  },
  { table: "ldap", key: "timeout", field: "timeoutMs", type: "duration", default: "30s", doc: "How long to wait for the connection and for each LDAP response before the read fails." },
  {
    table: "ldap",
    key: "preset",
    type: "enum",
    choices: LDAP_PRESETS,
    requiredFor: ["sync", "plan", "inspect ldap", "doctor"],
    source: "ldap",
    doc: "Attribute mapping and default filters: active-directory, openldap (inetOrgPerson, groupOfNames, groupOfUniqueNames, posixGroup), or custom (every attribute from ldap.user_attributes and ldap.group_attributes).",
    example: "active-directory",
  },
  {
    table: "ldap",
    key: "nested",
    type: "enum",
    choices: ["client", "server"],
    default: "client",
    doc: "How nested groups are flattened: client (followed by the tool, any server) or server (Active Directory's LDAP_MATCHING_RULE_IN_CHAIN, 1.2.840.113556.1.4.1941, one search per group; other servers refuse it).",
  },
  {
    table: "ldap",
    key: "user_attributes",
    type: "string[]",
    default: [],
    check: (entries: readonly string[]) => mappingEntriesProblem(entries, "user"),
    doc: "User mapping entries \"target=ldapAttribute\" that replace the preset's (e.g. userName=uid); with preset custom, the whole mapping (externalId, userName and email at least). Targets: externalId, userName, email, givenName, familyName, displayName, formattedName, phoneNumber, title, preferredLanguage, nickName, profileUrl, userType, locale, timezone, employeeNumber, costCenter, organization, division, department, manager.",
    example: ["userName=uid"],
  },
  {
    table: "ldap",
    key: "group_attributes",
    type: "string[]",
    default: [],
    check: (entries: readonly string[]) => mappingEntriesProblem(entries, "group"),
    doc: "Group mapping entries \"target=ldapAttribute\" that replace the preset's; with preset custom, all three: externalId, displayName and members (attribute holding member DNs).",
    example: ["displayName=name"],
  },
  {
    table: "ldap",
    key: "rekey_users_from",
    type: "string",
    check: (attribute: string) => attributeNameProblem(attribute),
    doc: "Take over the AWS users another tool keyed by this attribute: objectSid for AWS's Active Directory sample, which sets each user's externalId to its SID. An AWS user whose externalId is a synced user's value of it is adopted in place and given the user's id (objectGUID) as its externalId. Unset: a user carrying another tool's externalId is never taken over.",
    example: "objectSid",
  },

  {
    table: "aws",
    key: "scim_endpoint",
    type: "url",
    alias: "e",
    requiredFor: ["sync", "plan", "inspect scim", "doctor"],
    doc: "SCIM endpoint of IAM Identity Center (Settings > Automatic provisioning); https, or http on loopback for testing.",
    example: "https://scim.us-east-1.amazonaws.com/abcd1234-ef56-7890/scim/v2",
  },
  {
    table: "aws",
    key: "scim_access_token",
    type: "string",
    alias: "t",
    secret: true,
    requiredFor: ["sync", "plan", "inspect scim", "doctor"],
    check: (token: string) => tokenProblem(token),
    fromFile: "aws.scim_access_token_file",
    doc: "SCIM access token of IAM Identity Center; prefer the env var, aws.scim_access_token_file or Secrets Manager to this file.",
    example: "<token>",
  },
  {
    table: "aws",
    key: "scim_access_token_file",
    type: "path",
    // The path is not secret (so no flag warning, and it may be shown); the content is, and is never echoed.
    doc: "Path of a file holding the SCIM access token (instead of aws.scim_access_token; a trailing newline is ignored). Under systemd, without either, the scim-token credential is read when it exists (idpscim.service loads /etc/idpscim/credentials/scim-token).",
    example: "/run/secrets/scim-token",
  },
  {
    table: "aws",
    key: "scim_token_expires_at",
    type: "date",
    doc: 'When the SCIM access token expires (one year after it was generated; the console shows the date): a date like "2027-06-30" (midnight UTC) or a time with its offset. Every sync and plan then warns from 30 days before and logs an error from 7 days before; in AWS Lambda each run also emits the ScimTokenDaysLeft metric, which the Terraform module alarms on. Set it again with each new token.',
    example: "2027-06-30",
  },
  {
    table: "aws",
    key: "scim_endpoint_secret_name",
    type: "string",
    alias: "n",
    default: "IDPSCIM_SCIMEndpoint",
    doc: "Secrets Manager secret holding the SCIM endpoint (with use_secrets_manager).",
  },
  {
    table: "aws",
    key: "scim_access_token_secret_name",
    type: "string",
    alias: "j",
    default: "IDPSCIM_SCIMAccessToken",
    doc: "Secrets Manager secret holding the SCIM access token (with use_secrets_manager).",
  },
  { table: "aws", key: "s3_bucket_name", type: "string", alias: "b", doc: "S3 bucket for the state; use this or state.file, not both.", example: "my-idpscim-state" },
  {
    table: "aws",
    key: "scim_rate_limit",
    type: "integer",
    default: 25,
    check: rateLimitProblem,
    doc: "Most SCIM writes per second (creates, updates, deletes, membership changes). AWS publishes 25 writes/s per tenant; raise it only once AWS raised yours. On a 429 on a write the tool halves its write rate by itself.",
  },
  {
    table: "aws",
    key: "scim_read_rate_limit",
    type: "integer",
    default: 40,
    check: rateLimitProblem,
    doc: "Most SCIM reads (GETs) per second, paced apart from writes. AWS publishes 40 reads/s per tenant; raise it only once AWS raised yours. On a 429 on a read the tool halves its read rate by itself.",
  },
  { table: "aws", key: "s3_bucket_key", type: "string", alias: "k", default: "data/state.json", doc: "Object key of the state in the S3 bucket." },

  { table: "state", key: "file", type: "path", doc: "Path of a local state file; use this or aws.s3_bucket_name, not both.", example: "state.json" },

  {
    table: "sync",
    key: "method",
    type: "enum",
    alias: "m",
    choices: ["groups", "users"],
    default: "groups",
    doc: 'Which users are in scope: groups (the members of the synced groups, and with gws.users_filter only those matching it) or users (every user gws.users_filter matches, or with an LDAP source every user ldap.user_filter matches, in a synced group or not). Either way the synced groups carry the memberships among the users in scope.',
  },
  {
    table: "sync",
    key: "user_fields",
    type: "string[]",
    choices: USER_FIELDS,
    default: [...USER_FIELDS],
    doc: "Optional user attributes to send to SCIM; name, emails and active are always sent.",
  },
  {
    table: "sync",
    key: "suspended_users",
    type: "enum",
    choices: ["deactivate", "delete", "ignore"],
    default: "deactivate",
    doc: "What to do in AWS with users suspended in the source (Google, or ldap.suspended_filter).",
  },
  { table: "sync", key: "removed_users", type: "enum", choices: ["delete", "deactivate"], default: "delete", doc: "What to do in AWS with users no longer in any synced group." },
  { table: "sync", key: "delete_unmanaged", type: "boolean", default: false, doc: 'Also delete AWS users and groups this tool did not create; refused with sync.mode = "upsert".' },
  {
    table: "sync",
    key: "reconcile_every",
    field: "reconcileEveryMs",
    type: "duration",
    default: "24h",
    check: (ms: number) =>
      ms <= RECONCILE_EVERY_MAX_MS
        ? undefined
        : 'is longer than 30 days; the full reconcile is what finds and undoes changes made by hand in AWS, so write at most "30d" (the default is "24h")',
    doc: 'How often a full reconcile replaces the incremental sync, e.g. "30m", "24h", "7d"; at most "30d".',
  },
  {
    table: "sync",
    key: "max_deletes",
    type: "percent-or-count",
    default: "25%",
    doc: 'Refuse a run that would delete more than this, as "25%" of the managed objects or a count like "50".',
  },
  { table: "sync", key: "mode", type: "enum", choices: ["sync", "upsert"], default: "sync", doc: "sync creates, updates and deletes; upsert never deletes (so not with delete_unmanaged = true)." },
  {
    table: "sync",
    key: "max_membership_removals",
    type: "percent-or-count",
    default: "25%",
    doc: 'Refuse a run that would remove more group memberships than this, as "25%" of the memberships it manages or a count like "50".',
  },
  {
    table: "sync",
    key: "adopt_groups",
    type: "enum",
    choices: ["first-run", "always", "never"],
    default: "first-run",
    doc: "When an AWS group this tool does not manage may be taken over because a Google group has its name: first-run (until the first run that read the whole tenant has finished, however many runs a large one takes: the migration case), always, or never.",
  },
  {
    table: "sync",
    key: "exclude_users",
    type: "string[]",
    default: [],
    doc: "Users never synced, whatever else selects them: emails or glob patterns (* and ?, case-insensitive) matched against the user's email and userName; applied after every other scope setting. An AWS user idpscim made for one is removed as one that left the scope.",
    example: ["*@contractors.example.com", "test-*@example.com"],
  },
  {
    table: "sync",
    key: "exclude_groups",
    type: "string[]",
    default: [],
    doc: 'Groups never synced: names, emails or glob patterns (* and ?, case-insensitive) matched against the group\'s name and (Google) email; applied after every other scope setting. With sync.method = "groups" their members are in scope only through another synced group.',
    example: ["all-staff@example.com", "Test *"],
  },
  {
    table: "sync",
    key: "only_groups",
    type: "boolean",
    default: false,
    doc: "Manage groups and their memberships only: never create, change or delete an AWS user. A group's members are the users in scope that AWS already holds (by externalId, else by userName); the others are left out of it. For tenants whose users another tool provisions.",
  },
  {
    table: "sync",
    key: "protected_groups",
    type: "string[]",
    default: [...PROTECTED_GROUPS_DEFAULT],
    doc: "AWS group names (glob patterns, * and ?, case-insensitive) never adopted, changed or deleted, even with delete_unmanaged; a Google group with such a name is skipped. Default: the groups AWS Control Tower creates.",
  },

  ...MAPPING_OPTIONS,
] as const satisfies readonly OptionSpec[];

/** Every setting; the table above, widened for code that walks it. */
export const OPTIONS: readonly OptionSpec[] = TABLE;

// ---------------------------------------------------------------------------------------------
// The resolved configuration's type, derived from the table.

type Entry = (typeof TABLE)[number];
type Camel<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;
type Choice<O> = O extends { choices: readonly (infer C)[] } ? C : string;
type ValueOf<O> = O extends { type: "boolean" }
  ? boolean
  : O extends { type: "integer" | "duration" }
    ? number
    : O extends { type: "percent-or-count" }
      ? MaxDeletes
      : O extends { type: "string[]" | "expression" }
        ? Choice<O>[]
        : O extends { type: "enum" }
          ? Choice<O>
          : string;
type PathOf<O> = O extends { table: infer T extends string; key: infer K extends string } ? `${T}.${K}` : O extends { key: infer K extends string } ? K : never;
type FieldOf<O> = O extends { field: infer F extends string }
  ? F
  : O extends { flat: true; table: infer T extends string; key: infer K extends string }
    ? Camel<`${T}_${K}`>
    : O extends { key: infer K extends string }
      ? Camel<K>
      : never;
/** "" for the root of ResolvedConfig. */
type GroupOf<O> = O extends { flat: true } ? "" : O extends { table: infer T extends string } ? T : "";
type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** A group's properties: those with a default always set, the others optional (left out when unset, never `undefined`). */
type Fields<G extends string> = Simplify<
  { [O in Entry as O extends { noField: true } ? never : GroupOf<O> extends G ? (O extends { default: unknown } ? FieldOf<O> : never) : never]: ValueOf<O> } & {
    [O in Entry as O extends { noField: true } ? never : GroupOf<O> extends G ? (O extends { default: unknown } ? never : FieldOf<O>) : never]?: ValueOf<O>;
  }
>;

/** Every setting's TOML path, e.g. "aws.scim_endpoint": what `optionByPath` and messages name. */
export type OptionPath = PathOf<Entry>;
type EntryAt<P, O = Entry> = O extends unknown ? (PathOf<O> extends P ? O : never) : never;
/** The parsed type of one setting, e.g. `ValueAt<"sync.mode">` is "sync" | "upsert". */
export type ValueAt<P extends OptionPath> = ValueOf<EntryAt<P>>;

/**
 * Frozen at runtime (deeply); `sources` is keyed by TOML path, e.g. "aws.scim_endpoint". Tables
 * become nested objects (config.aws.scimEndpoint), log.* and top-level keys sit on the root
 * (config.logLevel, config.useSecretsManager).
 */
export type ResolvedConfig = Simplify<Fields<""> & { [T in Exclude<GroupOf<Entry>, "">]: Fields<T> } & { sources: Record<string, Source> }>;

export type LogLevel = ValueAt<"log.level">;
export type LogFormat = ValueAt<"log.format">;
export type SuspendedUsers = ValueAt<"sync.suspended_users">;
export type RemovedUsers = ValueAt<"sync.removed_users">;
export type SyncMode = ValueAt<"sync.mode">;
export type AdoptGroups = ValueAt<"sync.adopt_groups">;
export type { MaxDeletes };

// ---------------------------------------------------------------------------------------------
// Names derived from an entry.

/** Kebab-case flag name without the leading dashes (the yargs key), e.g. "aws-scim-endpoint". */
export function flagName(o: OptionSpec): string {
  return [o.table, o.key].filter((part) => part !== undefined).join("-").replaceAll("_", "-");
}

/** e.g. "IDPSCIM_AWS_SCIM_ENDPOINT". */
export function envName(o: OptionSpec): string {
  return `IDPSCIM_${[o.table, o.key].filter((part) => part !== undefined).join("_").toUpperCase()}`;
}

/** Dotted path used in messages and as the key of `sources`, e.g. "aws.scim_endpoint". */
export function tomlPath(o: OptionSpec): string {
  return o.table === undefined ? o.key : `${o.table}.${o.key}`;
}

/** The ResolvedConfig property name, e.g. "scimEndpoint", "reconcileEveryMs", "logLevel". */
export function fieldName(o: OptionSpec): string {
  const name = o.field ?? (o.flat ? `${o.table}_${o.key}` : o.key);
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function optionByPath(path: OptionPath): OptionSpec {
  const option = OPTIONS.find((o) => tomlPath(o) === path);
  if (!option) throw new Error(`no option ${path} in the option table`);
  return option;
}

/** "sync.max_deletes (--sync-max-deletes)" style phrases name the key as the user set it. */
export function where(o: OptionSpec, source: Source, fileLabel: string): string {
  switch (source) {
    case "flag":
      return `--${flagName(o)}`;
    case "env":
      return envName(o);
    case "file":
      return `${o.table === undefined ? "" : `[${o.table}] `}${o.key} in ${fileLabel}`;
    default:
      return tomlPath(o);
  }
}

/** "pass --aws-scim-endpoint, set IDPSCIM_AWS_SCIM_ENDPOINT, or add scim_endpoint under [aws]" */
export function howToSet(o: OptionSpec): string {
  const file = o.cliOnly ? "" : o.table === undefined ? `, or add ${o.key} at the top of config.toml` : `, or add ${o.key} under [${o.table}]`;
  return `pass --${flagName(o)}, set ${envName(o)}${file}`;
}

/** The three places of a setting as a list: "--sync-max-deletes, IDPSCIM_SYNC_MAX_DELETES, or max_deletes under [sync]". */
export function placesOf(o: OptionSpec): string {
  const file = o.cliOnly ? "" : o.table === undefined ? `, or ${o.key} at the top of config.toml` : `, or ${o.key} under [${o.table}]`;
  return `--${flagName(o)}, ${envName(o)}${file}`;
}

/**
 * Flag name → yargs option for every entry, so the CLI registers them all from the table.
 * No defaults here: the resolver applies them, which is how it knows a value's source.
 * Arrays take one value per occurrence (`nargs: 1`) so `-q a sync` does not swallow the command.
 * No `choices` for string[]: yargs would reject comma lists like "title,locale" before we split them.
 */
export function yargsOptions(): Record<string, YargsOptions> {
  const result: Record<string, YargsOptions> = {};
  for (const o of OPTIONS) {
    const option: YargsOptions = { describe: o.doc, type: o.type === "boolean" ? "boolean" : "string" };
    if (o.alias !== undefined) option.alias = o.alias;
    if (o.type === "string[]" || o.type === "expression") {
      option.array = true;
      option.nargs = 1;
    }
    if (o.type === "enum" && o.choices) option.choices = [...o.choices];
    result[flagName(o)] = option;
  }
  return result;
}

/** The object of a ResolvedConfig (or a plain copy of one) that holds `o`'s property: the root, or its table's object. */
export function holderOf(config: object, o: OptionSpec): Record<string, unknown> {
  const root = config as Record<string, unknown>;
  return (o.table === undefined || o.flat ? root : (root[o.table] ?? {})) as Record<string, unknown>;
}

/** The `*_secret_name` setting that names the Secrets Manager secret holding `o`, if any. */
export function secretNameOf(o: OptionSpec): OptionSpec | undefined {
  return OPTIONS.find((candidate) => candidate.table === o.table && candidate.key === `${o.key}_secret_name`);
}
