/**
 * @module Fills the secret-backed settings: the SCIM token and the LDAP bind password from their
 * *_file settings, the files systemd hands over in $CREDENTIALS_DIRECTORY, then Secrets Manager
 * (explicit values win), and loads the service-account key.
 */

import { SyncError, isSyncError } from "../core/errors.ts";
import type { SecretResolver } from "../core/ports.ts";
import { fieldName, flagName, holderOf, howToSet, optionByPath, where, type OptionPath, type ResolvedConfig, type Source } from "./schema.ts";
import { patchConfig } from "./validate.ts";
import { emailProblem, shorten, tokenProblem, urlProblem } from "./values.ts";

/**
 * The files read from systemd's credentials directory ($CREDENTIALS_DIRECTORY, filled by
 * LoadCredential=) when the setting they stand for is not given, and only when they exist. They
 * count as given, so they win over Secrets Manager. The config file is not looked up there: the
 * unit names it (--config-file %d/config.toml), which says where it comes from.
 */
export const CREDENTIAL_FILES = {
  "scim-token": "aws.scim_access_token_file",
  "gws-service-account.json": "gws.service_account_file",
  "ldap-bind-password": "ldap.bind_password_file",
} as const;

/**
 * The ID of idpscim.service's `LoadCredential=idpscim:/etc/idpscim/credentials`. Given a directory,
 * systemd loads each regular file in it as the credential `<ID>_<file name>` (systemd.exec(5),
 * LoadCredential=, since systemd 251; Debian bookworm has 252): the token the operator puts in
 * /etc/idpscim/credentials/scim-token arrives as $CREDENTIALS_DIRECTORY/idpscim_scim-token.
 * Loading the directory, not each file, is what lets one unit serve both sources: a file that is
 * not there is simply not loaded, where a LoadCredential= of a missing file fails the unit.
 */
export const UNIT_CREDENTIALS_ID = "idpscim";

export interface ResolveSecretsOptions {
  /** The sides whose settings are read (default both). */
  needed?: SecretsNeeded;
  /** $CREDENTIALS_DIRECTORY, when systemd runs the process with credentials. */
  credentialsDirectory?: string;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
}

/** The sides a command talks to: `inspect scim` needs no Google key, `inspect gws` no SCIM token. */
export interface SecretsNeeded {
  google: boolean;
  scim: boolean;
  /** The LDAP bind password; default: when source.type is ldap. */
  ldap?: boolean;
}

/** What a run needs: the SCIM side and the configured source. */
export function secretsForRun(config: ResolvedConfig): Required<SecretsNeeded> {
  return { google: config.source.type === "google", scim: true, ldap: config.source.type === "ldap" };
}

/**
 * Only the settings of the sides in `needed` are read (the key is "" when Google is not needed).
 * With use_secrets_manager, each of the service-account key, user email, SCIM endpoint and token
 * that was not given explicitly (flag, env or file) is read from the secret named by its
 * *_secret_name setting, and its source becomes "secret". Explicit values win so a single value can
 * be overridden locally without touching the shared secret. Without it, the key is read from
 * gws.service_account_file. The endpoint is validated again because a secret bypassed the resolver.
 *
 * @example
 * const { config: ready, serviceAccountKey } = await resolveSecrets(config, secretsManager, (p) => Bun.file(p).text());
 * requireFor(ready, "sync");
 */
export async function resolveSecrets(
  given: ResolvedConfig,
  secrets: SecretResolver,
  readFile: (path: string) => Promise<string>,
  options: ResolveSecretsOptions = {},
): Promise<{ config: ResolvedConfig; serviceAccountKey: string }> {
  const needed = { ldap: false, ...(options.needed ?? secretsForRun(given)) };
  const prepared = await withSecretFiles(await withCredentials(given, options.credentialsDirectory, readFile), readFile);
  // Keyless reads no key: the credential configuration (which holds no secret) takes its place.
  const keyNeeded = needed.google && given.gws.auth === "key";
  const config = needed.google && !keyNeeded ? await withWorkloadIdentityConfig(prepared, secrets, readFile) : prepared;
  if (!config.useSecretsManager) {
    if (!keyNeeded) return { config, serviceAccountKey: "" };
    const path = config.gws.serviceAccountFile;
    if (path === undefined) {
      throw new SyncError(
        "CONFIG_MISSING",
        `gws.service_account_file is not set: ${howToSet(optionByPath("gws.service_account_file"))} (or use --use-secrets-manager)`,
      );
    }
    return { config, serviceAccountKey: checkKey(await readKeyFile(path, readFile), `gws.service_account_file ${shorten(path)}`, false) };
  }
  const found = await readFromSecrets(config, secrets, readFile, { ...needed, key: keyNeeded });
  checkFromSecrets(config, found);
  const sources: Record<string, Source> = {};
  if (found.userEmail !== undefined && config.gws.userEmail === undefined) sources["gws.user_email"] = "secret";
  if (found.scimEndpoint !== undefined && config.aws.scimEndpoint === undefined) sources["aws.scim_endpoint"] = "secret";
  if (found.scimAccessToken !== undefined && config.aws.scimAccessToken === undefined) sources["aws.scim_access_token"] = "secret";
  if (found.bindPassword !== undefined && config.ldap.bindPassword === undefined) sources["ldap.bind_password"] = "secret";
  const keySource = config.gws.serviceAccountFile !== undefined ? `gws.service_account_file ${shorten(config.gws.serviceAccountFile)}` : `secret ${config.gws.serviceAccountFileSecretName}`;
  return {
    config: patchConfig(config, {
      gws: found.userEmail === undefined ? {} : { userEmail: found.userEmail },
      aws: {
        ...(found.scimEndpoint === undefined ? {} : { scimEndpoint: found.scimEndpoint }),
        ...(found.scimAccessToken === undefined ? {} : { scimAccessToken: found.scimAccessToken }),
      },
      ldap: found.bindPassword === undefined ? {} : { bindPassword: found.bindPassword },
      sources,
    }),
    serviceAccountKey: keyNeeded ? checkKey(found.serviceAccountKey ?? "", keySource, config.gws.serviceAccountFile === undefined) : "",
  };
}

/**
 * `config` with gws.workload_identity_config holding the credential configuration's JSON: given
 * inline (it starts with "{"), read from the file it names, or, with use_secrets_manager and not
 * given, read from gws.workload_identity_config_secret_name.
 */
async function withWorkloadIdentityConfig(config: ResolvedConfig, secrets: SecretResolver, readFile: (path: string) => Promise<string>): Promise<ResolvedConfig> {
  const option = optionByPath("gws.workload_identity_config");
  const given = config.gws.workloadIdentityConfig?.trim();
  let text: string;
  let fromSecret = false;
  if (given === undefined || given === "") {
    if (!config.useSecretsManager) throw new SyncError("CONFIG_MISSING", `gws.workload_identity_config is not set: ${howToSet(option)} (or use --use-secrets-manager)`);
    const name = config.gws.workloadIdentityConfigSecretName;
    try {
      text = (await secrets.get(name)).trim();
      fromSecret = true;
    } catch (error) {
      if (isSyncError(error)) throw error;
      throw new SyncError("SECRET_UNAVAILABLE", `secret ${name} (gws.workload_identity_config_secret_name) cannot be read: ${errorCode(error)}; check the name and the IAM permission, or ${howToSet(option)}`, { cause: error });
    }
  } else if (given.startsWith("{")) {
    text = given;
  } else {
    try {
      text = await readFile(given);
    } catch (error) {
      throw new SyncError("CONFIG_INVALID", `gws.workload_identity_config: cannot read ${shorten(given)}: ${errorCode(error)}; give the path of the credential configuration JSON, or the JSON itself`, { cause: error });
    }
  }
  return patchConfig(config, { gws: { workloadIdentityConfig: text }, ...(fromSecret ? { sources: { "gws.workload_identity_config": "secret" } } : {}) });
}

async function readKeyFile(path: string, readFile: (path: string) => Promise<string>): Promise<string> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new SyncError(
      "CONFIG_INVALID",
      `gws.service_account_file: cannot read ${shorten(path)}: ${errorCode(error)}: pass --${flagName(optionByPath("gws.service_account_file"))} with the path of the service-account key JSON`,
      { cause: error },
    );
  }
}

interface FromSecrets {
  serviceAccountKey: string | undefined;
  userEmail: string | undefined;
  scimEndpoint: string | undefined;
  scimAccessToken: string | undefined;
  bindPassword: string | undefined;
}

/**
 * With use_secrets_manager: each value of the sides `needed` not given explicitly, read from its
 * secret (all at once); every failure is reported together.
 */
async function readFromSecrets(
  config: ResolvedConfig,
  secrets: SecretResolver,
  readFile: (path: string) => Promise<string>,
  needed: Required<SecretsNeeded> & { key: boolean },
): Promise<FromSecrets> {
  const failures: SyncError[] = [];
  const fromSecret = async (path: OptionPath, explicit: string | undefined, secretName: string): Promise<string | undefined> => {
    if (explicit !== undefined) return explicit;
    try {
      // Secrets pasted in the console often keep a trailing newline; a password may begin or end with a space.
      const value = await secrets.get(secretName);
      return path === "ldap.bind_password" ? value.replace(/[\r\n]+$/, "") : value.trim();
    } catch (error) {
      const setting = `${path}_secret_name`;
      failures.push(
        isSyncError(error)
          ? error
          : new SyncError("SECRET_UNAVAILABLE", `secret ${secretName} (${setting}) for ${path} cannot be read: ${errorCode(error)}; check the name and the IAM permission, or ${howToSet(optionByPath(path))}`, {
              cause: error,
            }),
      );
      return undefined;
    }
  };
  const skip = async (): Promise<undefined> => undefined;
  const readKey = (): Promise<string | undefined> =>
    config.gws.serviceAccountFile !== undefined
      ? readKeyFile(config.gws.serviceAccountFile, readFile).catch((error: unknown) => {
          failures.push(error as SyncError);
          return undefined;
        })
      : fromSecret("gws.service_account_file", undefined, config.gws.serviceAccountFileSecretName);
  const [serviceAccountKey, userEmail, scimEndpoint, scimAccessToken, bindPassword] = await Promise.all([
    needed.key ? readKey() : skip(),
    needed.google ? fromSecret("gws.user_email", config.gws.userEmail, config.gws.userEmailSecretName) : skip(),
    needed.scim ? fromSecret("aws.scim_endpoint", config.aws.scimEndpoint, config.aws.scimEndpointSecretName) : skip(),
    needed.scim ? fromSecret("aws.scim_access_token", config.aws.scimAccessToken, config.aws.scimAccessTokenSecretName) : skip(),
    needed.ldap ? fromSecret("ldap.bind_password", config.ldap.bindPassword, config.ldap.bindPasswordSecretName) : skip(),
  ]);
  if (failures.length > 0) {
    const first = failures[0] as SyncError;
    throw failures.length === 1 ? first : new SyncError(first.code, failures.map((f) => f.describe()).join("\n"), { cause: failures });
  }
  return { serviceAccountKey, userEmail, scimEndpoint, scimAccessToken, bindPassword };
}

/** Values from a secret bypassed the resolver: checked again here, and never quoted (they are secrets). */
function checkFromSecrets(config: ResolvedConfig, found: FromSecrets): void {
  if (found.scimEndpoint !== undefined && config.aws.scimEndpoint === undefined) {
    const problem = urlProblem(found.scimEndpoint, { hidden: true });
    if (problem !== undefined) {
      throw new SyncError("CONFIG_INVALID", `aws.scim_endpoint from secret ${config.aws.scimEndpointSecretName}: ${problem}; fix the secret or pass --aws-scim-endpoint`);
    }
  }
  if (found.scimAccessToken !== undefined && config.aws.scimAccessToken === undefined) {
    const problem = tokenProblem(found.scimAccessToken);
    if (problem !== undefined) {
      throw new SyncError("CONFIG_INVALID", `aws.scim_access_token from secret ${config.aws.scimAccessTokenSecretName}: ${problem}, and store it in the secret again`);
    }
  }
  const emailProblemText = found.userEmail !== undefined && config.gws.userEmail === undefined ? emailProblem(found.userEmail) : undefined;
  if (emailProblemText !== undefined) {
    throw new SyncError("CONFIG_INVALID", `gws.user_email from secret ${config.gws.userEmailSecretName}: ${emailProblemText}; fix the secret or pass --gws-user-email`);
  }
}

/** `config` with the settings CREDENTIAL_FILES names, not given, pointed at the files of `directory` that exist. */
async function withCredentials(config: ResolvedConfig, directory: string | undefined, readFile: (path: string) => Promise<string>): Promise<ResolvedConfig> {
  if (directory === undefined || directory === "") return config;
  const exists = async (path: string): Promise<boolean> => {
    try {
      await readFile(path);
      return true;
    } catch (error) {
      // Any other failure (no permission) is reported when the file is read for real.
      return errorCode(error) !== "ENOENT";
    }
  };
  // The bare name first: a LoadCredential=scim-token:PATH of its own (a drop-in) is the more specific.
  const found = async (name: keyof typeof CREDENTIAL_FILES): Promise<string | undefined> => {
    for (const id of [name, `${UNIT_CREDENTIALS_ID}_${name}`]) {
      const path = `${directory.replace(/\/+$/, "")}/${id}`;
      if (await exists(path)) return path;
    }
    return undefined;
  };
  const token = config.aws.scimAccessToken === undefined && config.aws.scimAccessTokenFile === undefined ? await found("scim-token") : undefined;
  // Keyless reads no key, so a key file left among the credentials is not picked up.
  const key = config.gws.serviceAccountFile === undefined && config.gws.auth === "key" ? await found("gws-service-account.json") : undefined;
  const password = config.ldap.bindPassword === undefined && config.ldap.bindPasswordFile === undefined ? await found("ldap-bind-password") : undefined;
  if (token === undefined && key === undefined && password === undefined) return config;
  return patchConfig(config, {
    aws: token === undefined ? {} : { scimAccessTokenFile: token },
    gws: key === undefined ? {} : { serviceAccountFile: key },
    ldap: password === undefined ? {} : { bindPasswordFile: password },
  });
}

/** A secret setting read from the file another setting names: the SCIM token, the LDAP bind password. */
interface SecretFile {
  value: "aws.scim_access_token" | "ldap.bind_password";
  file: "aws.scim_access_token_file" | "ldap.bind_password_file";
  /** Its name among systemd's credentials (CREDENTIAL_FILES). */
  credential: string;
  what: string;
  check?: (value: string) => string | undefined;
}

const SECRET_FILES: readonly SecretFile[] = [
  { value: "aws.scim_access_token", file: "aws.scim_access_token_file", credential: "scim-token", what: "the SCIM access token of IAM Identity Center", check: tokenProblem },
  { value: "ldap.bind_password", file: "ldap.bind_password_file", credential: "ldap-bind-password", what: "the password of ldap.bind_dn" },
];

/** `config` with each secret of SECRET_FILES read from its file, when that is set. */
async function withSecretFiles(config: ResolvedConfig, readFile: (path: string) => Promise<string>): Promise<ResolvedConfig> {
  let out = config;
  for (const secret of SECRET_FILES) out = await withSecretFromFile(out, secret, readFile);
  return out;
}

/**
 * `config` with `secret.value` read from `secret.file`, when that is set: one line (trailing line
 * breaks are dropped, as `echo` and editors leave them), checked like the value itself. The path
 * may be shown; the content never is.
 */
async function withSecretFromFile(config: ResolvedConfig, secret: SecretFile, readFile: (path: string) => Promise<string>): Promise<ResolvedConfig> {
  const [valueOption, fileOption] = [optionByPath(secret.value), optionByPath(secret.file)];
  const path = holderOf(config, fileOption)[fieldName(fileOption)] as string | undefined;
  if (path === undefined) return config;
  if (holderOf(config, valueOption)[fieldName(valueOption)] !== undefined) {
    const named = (p: OptionPath) => `${p} (${where(optionByPath(p), config.sources[p] ?? "default", config.configFile ?? "config.toml")})`;
    throw new SyncError("CONFIG_INVALID", `both ${named(secret.value)} and ${named(secret.file)} are set: keep one (the file keeps the ${secret.value === "aws.scim_access_token" ? "token" : "password"} out of the environment)`);
  }
  const setting = `${secret.file} ${shorten(path)}`;
  let text: string;
  try {
    text = await readFile(path);
  } catch (error) {
    throw new SyncError(
      "CONFIG_INVALID",
      `${setting}: cannot read it: ${errorCode(error)}; check the path and that the user running idpscim may read it (under systemd: leave ${secret.file} out and put the file in /etc/idpscim/credentials/${secret.credential}, which idpscim.service hands over as a credential)`,
      { cause: error },
    );
  }
  const value = text.replace(/[\r\n]+$/, "");
  if (value === "") throw new SyncError("CONFIG_INVALID", `${setting} is empty; put ${secret.what} in it`);
  const problem = secret.check?.(value);
  if (problem !== undefined) throw new SyncError("CONFIG_INVALID", `${setting}: ${problem}`);
  return patchConfig(config, { [valueOption.table!]: { [fieldName(valueOption)]: value } });
}

/** Fails early on a key that is not a JSON object; never echoes the parser's message, which can quote the key. */
function checkKey(text: string, from: string, inSecret: boolean): string {
  let what = "is not JSON";
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return text;
    what = "is JSON but not an object";
  } catch {
    // `what` says it
  }
  const fix = inSecret ? "store its whole content in the secret" : "point gws.service_account_file at it";
  throw new SyncError(
    "CONFIG_INVALID",
    `${from} ${what}, so it is not a service-account key; download a JSON key (Google Cloud console > IAM & Admin > Service accounts > Keys > Add key > JSON) and ${fix}`,
  );
}
