/**
 * @module Test harness: emulators from a scenario, a config file pointing the product at them,
 * and the real `idpscim` CLI run as a child process (the production code path, unchanged). A world
 * may read its users and groups from a real OpenLDAP slapd (the scenario's `google` part as LDIF)
 * instead of the Google emulator.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { awsEnvironment, startEmulators, type Emulators, type EmulatorsOptions } from "../emulators/index.ts";
import { parseScenario, type Scenario } from "../emulators/scenario.ts";
import { scenarioDirectory, SUSPENDED_FILTER, type LdapDirectory, type LdapDirectoryOptions } from "./ldif.ts";
import { EXAMPLE_SCENARIO, ROOT } from "./paths.ts";
import { startSlapd, type Slapd, type SlapdOptions } from "./slapd.ts";

export { EXAMPLE_SCENARIO, ROOT };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface World {
  emulators: Emulators;
  configPath: string;
  statePath: string;
  /** Runs `idpscim ARGS` with the world's config (unless args carry their own) and environment. */
  run(args: string[], options?: { env?: Record<string, string>; config?: boolean }): Promise<CliResult>;
  /** Rewrites the config file with extra TOML appended (tables and keys). */
  writeConfig(extra?: string, base?: Partial<ConfigParts>): void;
  /** With an LDAP source: the slapd serving the directory, and the directory as loaded (DNs, entryUUIDs). */
  ldap?: { slapd: Slapd; directory: LdapDirectory };
  close(): Promise<void>;
}

interface ConfigParts {
  state: "file" | "s3";
  /** With an LDAP source: [ldap] keys written over the world's own (url, ca_file, bind_password, …); null leaves one out. */
  ldap: Record<string, string | number | boolean | string[] | null>;
}

/** An LDAP source for a world: slapd loaded with the scenario's `google` part (test/support/ldif.ts). */
export interface LdapWorldOptions {
  slapd?: Omit<SlapdOptions, "ldif" | "baseDn">;
  directory?: LdapDirectoryOptions;
}

/** The [ldap] table of a world reading `slapd`: ldaps with the test CA, the openldap preset, suspended users by the LDIF's marker. */
function ldapTable(ldap: NonNullable<World["ldap"]>, overrides: Record<string, string | number | boolean | string[] | null> = {}): string {
  const { slapd, directory } = ldap;
  const keys: Record<string, string | number | boolean | string[] | null> = {
    url: slapd.ldapsUrl ?? slapd.url,
    ca_file: slapd.caFile,
    bind_dn: slapd.bindDn,
    bind_password: slapd.bindPassword,
    base_dn: directory.baseDn,
    user_base_dn: directory.peopleDn,
    group_base_dn: directory.groupsDn,
    preset: "openldap",
    suspended_filter: SUSPENDED_FILTER,
    timeout: "20s",
    ...overrides,
  };
  return `[source]\ntype = "ldap"\n\n[ldap]\n${Object.entries(keys).flatMap(([key, value]) => (value === null ? [] : [`${key} = ${JSON.stringify(value)}\n`])).join("")}\n`;
}

export async function startWorld(options: EmulatorsOptions, parts: Partial<ConfigParts> = {}, ldapSource?: LdapWorldOptions): Promise<World> {
  const emulators = await startEmulators(options);
  let ldap: World["ldap"];
  if (ldapSource !== undefined) {
    const directory = scenarioDirectory(options.scenario.google, ldapSource.directory);
    try {
      ldap = { slapd: await startSlapd({ ...ldapSource.slapd, baseDn: directory.baseDn, ldif: directory.entries() }), directory };
    } catch (error) {
      await emulators.close();
      throw error;
    }
  }
  const configPath = join(emulators.directory, "config.toml");
  const statePath = join(emulators.directory, "state.json");
  const writeConfig = (extra = "", base: Partial<ConfigParts> = parts) => {
    const stateLines =
      (base.state ?? "file") === "s3"
        ? `s3_bucket_name = "${emulators.s3.bucket}"\ns3_bucket_key = "data/state.json"\n`
        : "";
    const stateTable = (base.state ?? "file") === "file" ? `[state]\nfile = "${statePath}"\n` : "";
    const source =
      ldap !== undefined
        ? ldapTable(ldap, base.ldap)
        : `[gws]\nservice_account_file = "${emulators.google.serviceAccountFile}"\nuser_email = "${emulators.google.adminEmail}"\n` +
          `api_url = "${emulators.google.url}"\ntoken_url = "${emulators.google.tokenUrl}"\nrate_limit = 1000\n\n`;
    writeFileSync(
      configPath,
      source +
        `[aws]\nscim_endpoint = "${emulators.scim.url}"\nscim_access_token = "${emulators.scim.token}"\n# Emulators are not throttled unless a test says so; keep tests fast.\nscim_rate_limit = 1000\nscim_read_rate_limit = 1000\n${stateLines}\n${stateTable}\n${extra}\n`,
    );
  };
  writeConfig();
  return {
    emulators,
    configPath,
    statePath,
    writeConfig,
    ...(ldap !== undefined ? { ldap } : {}),
    run: (args, runOptions = {}) =>
      runIdpscim(runOptions.config === false ? args : ["--config-file", configPath, ...args], {
        ...awsEnvironment(emulators),
        ...runOptions.env,
      }),
    close: async () => {
      await Promise.all([emulators.close(), ldap?.slapd.stop()]);
    },
  };
}

/** Runs the CLI from sources under Bun, as a separate process with a clean IDPSCIM_* environment. */
export async function runIdpscim(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("IDPSCIM_") && !key.startsWith("AWS_")) base[key] = value;
  }
  const child = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/** Counts of SCIM requests by "METHOD route" since the last clear, and the total of writes. */
export function scimCounts(world: World): { byRoute: Record<string, number>; total: number; writes: number } {
  const log = world.emulators.scim.log;
  return { byRoute: log.counts(), total: log.total(), writes: log.writes() };
}

/** A request to the SCIM emulator as an administrator would make it by hand in AWS. */
export async function scimRequest(w: World, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${w.emulators.scim.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${w.emulators.scim.token}`, "Content-Type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: response.status === 204 ? undefined : await response.json() };
}

/** The email of user `i` of `spreadOrg`. */
export const orgEmail = (i: number) => `user${String(i).padStart(3, "0")}@example.com`;
/** The Google id of user `i` of `spreadOrg`. */
export const orgUserId = (i: number) => `1${String(i).padStart(20, "0")}`;

/** `users` users spread over `groups` groups (user i in group i % groups); ids sort as the users do. */
export function spreadOrg(users: number, groups: number): Scenario {
  const people = Array.from({ length: users }, (_, i) => ({
    id: orgUserId(i),
    primaryEmail: orgEmail(i),
    name: { givenName: `Given${i}`, familyName: `Family${i}`, fullName: `Given${i} Family${i}` },
  }));
  const teams = Array.from({ length: groups }, (_, k) => ({
    id: `2${String(k).padStart(20, "0")}`,
    email: `team${k}@example.com`,
    name: `Team ${k}`,
    members: people.filter((_, i) => i % groups === k).map((p) => ({ email: p.primaryEmail, type: "USER", role: "MEMBER" })),
  }));
  return parseScenario({ google: { domain: "example.com", customerId: "C1", adminEmail: "admin@example.com", users: people, groups: teams } });
}

/** Starts `idpscim` in the background with the world's config (`run` waits for the end): for overlaps and kills. */
export function spawnIdpscim(w: World, args: string[]): { child: ReturnType<typeof Bun.spawn>; result: Promise<CliResult> } {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("IDPSCIM_") && !key.startsWith("AWS_")) env[key] = value;
  }
  const child = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "--config-file", w.configPath, ...args], {
    cwd: ROOT,
    env: { ...env, ...awsEnvironment(w.emulators) },
    stdout: "pipe",
    stderr: "pipe",
  });
  const result: Promise<CliResult> = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]).then(
    ([stdout, stderr, code]) => ({ code, stdout, stderr }),
  );
  return { child, result };
}
