/** @module What every system's checks are given: the configuration as loaded, a way to resolve one side's secrets, and the environment. */
import type { SecretsNeeded } from "../config/resolve-secrets.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../core/ports.ts";

export interface DoctorContext {
  /** As loaded: secrets not read yet. */
  config: ResolvedConfig;
  /**
   * The configuration with the secrets of the sides `needed` filled in (files, systemd's
   * credentials, Secrets Manager) and registered with the logger's redaction; the key's text
   * when Google is needed. Throws the SyncError a run would stop with.
   */
  resolve(needed: Required<SecretsNeeded>): Promise<{ config: ResolvedConfig; serviceAccountKey: string }>;
  env: Record<string, string | undefined>;
  log: Logger;
  /** Keeps a secret met on the way (an access token Google issued) out of every line printed. */
  redact(secret: string): void;
}

/** Each side alone: a check resolves only what it talks to, so one side's broken secret does not hide the others' checks. */
export const ONLY = {
  google: { google: true, scim: false, ldap: false },
  scim: { google: false, scim: true, ldap: false },
  ldap: { google: false, scim: false, ldap: true },
} as const satisfies Record<string, Required<SecretsNeeded>>;
