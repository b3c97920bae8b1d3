/**
 * @module A real OpenLDAP `slapd` for a test (Debian packages `slapd` and `ldap-utils`): its own
 * cn=config (`slapd -F`) and mdb database in a temporary directory, loaded offline with `slapadd`
 * (3,000 users start in about 0.3 s; 200,000 in about 15 s), serving `ldap://` (StartTLS
 * offered) and `ldaps://` on free loopback ports with a throw-away CA (test/support/test-ca.ts),
 * run as the current user. `stop()` ends it and removes the directory, and so does the death of
 * the test process: slapd runs under a small shell supervisor that holds a pipe from this process
 * and stops slapd and cleans up when that pipe closes, however the process ended.
 *
 * The directory: the base entry, `ou=services` with the account idpscim binds as
 * (`cn=idpscim-reader,ou=services,<base>`, a `simpleSecurityObject`: no person or group filter
 * matches it), and the entries given (e.g. test/support/ldif.ts's `scenarioDirectory(...).entries()`).
 * ACLs: the reader reads everything but `userPassword`; anonymous users may only bind. The reader
 * is an ordinary entry, not the rootdn, so the size limit applies to it: with the default 500, an
 * unpaged search for more entries ends in sizeLimitExceeded (4) after 500, and a search with the
 * simple paged results control (RFC 2696) reads them all (`size.prtotal`, which would otherwise cap
 * all pages together at the same 500, is unlimited unless `pagedResultsTotal` says otherwise).
 * Writes (`modify`) go as the rootdn `cn=admin,<base>`, which no limit or ACL applies to.
 * Schemas: core, cosine, inetorgperson, nis. No overlay: no memberOf, and no refint, so a renamed
 * or deleted user stays in its groups' `member` values under its old DN, as in a directory without
 * referential integrity. Uses Bun.spawn, like test/support/harness.ts: for `bun test`.
 *
 * @example
 * const slapd = await startSlapd({ ldif: scenarioDirectory(scenario.google).entries() });
 * // slapd.url, slapd.ldapsUrl, slapd.caFile, slapd.bindDn, slapd.bindPassword, slapd.baseDn
 * await slapd.modify("dn: uid=ana.lima,ou=people,dc=example,dc=com\nchangetype: delete\n");
 * await slapd.stop();
 *
 * `bun run test/support/slapd.ts [--scenario FILE]` starts one by hand and prints what a client needs.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { ldifLine, ldifRecord, scenarioDirectory } from "./ldif.ts";
import { createTestCa, type TestCa } from "./test-ca.ts";

export interface SlapdOptions {
  /** Default `dc=example,dc=com` (scenarioDirectory's default for example.com). */
  baseDn?: string;
  /** Entries under the base DN (not the base entry itself), as LDIF text or records; loaded with slapadd before start. */
  ldif?: string | Iterable<string>;
  /** `"both"` (default): ldap:// offering StartTLS, and ldaps://. `"none"`: ldap:// only, no StartTLS. */
  tls?: "both" | "none";
  /** Refuse every operation but StartTLS on a connection without TLS (`olcSecurity: tls=1`): a bind in clear fails with confidentialityRequired (13). */
  requireTls?: boolean;
  /** Entries one search may return to the reader (default 500, slapd's own default). */
  sizeLimit?: number | "unlimited";
  /** Entries all pages of a paged search may return together (default "unlimited"; "disabled" refuses paged searches). */
  pagedResultsTotal?: number | "unlimited" | "disabled";
  /** slapd's `-d` level, logged to a file `log()` reads: `"none"` (default: errors only) or e.g. `"stats"` (one line per operation). */
  logLevel?: string;
}

export interface SearchOptions {
  /** Default: the base DN. */
  base?: string;
  scope?: "base" | "one" | "sub";
  /** Default `(objectClass=*)`. */
  filter?: string;
  /** Default: all user attributes; `"+"` adds operational ones such as entryUUID. */
  attributes?: string[];
  /** Use the simple paged results control with this page size (ldapsearch `-E pr=N/noprompt`). */
  pageSize?: number;
  /** Default "reader". */
  as?: "reader" | "admin" | "anonymous";
  /** Default: the server's ldap:// URL (a proxy's URL, or `ldapsUrl`, also work). */
  url?: string;
  /** StartTLS before binding, and fail if it does not succeed (ldapsearch `-ZZ`). Default: only when `requireTls` and the URL is ldap://. */
  startTls?: boolean;
  /** The CA file the client trusts (default: the server's CA). */
  caFile?: string;
}

export interface LdapEntry {
  dn: string;
  /** Attribute names as the server spells them; values decoded from base64 where ldapsearch encoded them. */
  attributes: Record<string, string[]>;
}

export interface SearchResult {
  /** ldapsearch's exit status: the LDAP result code (0, 4 sizeLimitExceeded, 32 noSuchObject…), 255 when it could not connect or TLS failed. */
  resultCode: number;
  entries: LdapEntry[];
  /** ldapsearch's messages ("Size limit exceeded (4)", TLS errors…). */
  stderr: string;
}

export interface Slapd {
  /** `ldap://127.0.0.1:PORT` (StartTLS offered unless `tls: "none"`). */
  url: string;
  /** `ldaps://127.0.0.1:PORT`, unless `tls: "none"`. */
  ldapsUrl?: string;
  port: number;
  ldapsPort?: number;
  /** The CA that signed the server's certificate (made even with `tls: "none"`, for clients that insist on a file). */
  caFile: string;
  /** A CA that did not sign it: a client trusting only this one must refuse the server. */
  otherCaFile: string;
  /** The names the certificate is valid for: localhost, this host's name, 127.0.0.1 and ::1. */
  serverNames: string[];
  baseDn: string;
  /** The account idpscim binds as: read-only, size-limited. */
  bindDn: string;
  bindPassword: string;
  /** The rootdn: writes, no limits. */
  adminDn: string;
  adminPassword: string;
  /** slapd's process id (gone after stop()). */
  pid: number;
  /** The temporary directory (gone after stop()). */
  directory: string;
  search(options?: SearchOptions): Promise<SearchResult>;
  /** Applies LDIF changes as the rootdn with ldapmodify: records with a `changetype` (add, modify, delete, modrdn), or plain entries to add. */
  modify(ldif: string): Promise<void>;
  /** Changes the reader's limits at runtime (cn=config), as `sizeLimit`/`pagedResultsTotal` set them at start. */
  setLimits(limits: Pick<SlapdOptions, "sizeLimit" | "pagedResultsTotal">): Promise<void>;
  /** slapd's log so far (see `logLevel`). */
  log(): string;
  /** Stops slapd (SIGTERM, then SIGKILL after 10 s) and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

const READER_RDN = "cn=idpscim-reader";
// Throw-away secrets for a throw-away server on the loopback interface.
const PASSWORDS = { reader: "reader-secret", admin: "admin-secret", config: "config-secret" };
const CONFIG_ADMIN_DN = "cn=admin,cn=config";
const DATABASE_DN = "olcDatabase={1}mdb,cn=config";
const SCHEMAS = ["core", "cosine", "inetorgperson", "nis"];
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

/** Where distributions put the programs, schemas and modules (Debian first). */
const PROGRAM_DIRS = ["/usr/sbin", "/usr/local/sbin", "/usr/libexec", "/usr/local/libexec", "/usr/bin", "/usr/local/bin"];
const SCHEMA_DIRS = ["/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema"];
const MODULE_DIRS = ["/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap", "/usr/local/libexec/openldap"];

interface Programs {
  slapd: string;
  slapadd: string;
  ldapsearch: string;
  ldapmodify: string;
  openssl: string;
  schemaDir: string;
  /** Undefined when back_mdb is built into slapd. */
  moduleDir?: string;
}

function findPrograms(): Programs | string {
  const which = (name: string) => Bun.which(name) ?? Bun.which(name, { PATH: PROGRAM_DIRS.join(":") }) ?? undefined;
  const programs = { slapd: which("slapd"), slapadd: which("slapadd"), ldapsearch: which("ldapsearch"), ldapmodify: which("ldapmodify"), openssl: which("openssl") };
  const missing = Object.entries(programs).filter(([, path]) => path === undefined).map(([name]) => name);
  if (missing.length > 0) return `${missing.join(", ")} not found (apt-get install slapd ldap-utils openssl)`;
  const schemaDir = SCHEMA_DIRS.find((dir) => SCHEMAS.every((s) => existsSync(join(dir, `${s}.ldif`))));
  if (schemaDir === undefined) return `OpenLDAP's schema files (${SCHEMAS.join(", ")}.ldif) not found in ${SCHEMA_DIRS.join(", ")}`;
  const moduleDir = MODULE_DIRS.find((dir) => existsSync(join(dir, "back_mdb.so")));
  return { ...(programs as Omit<Programs, "schemaDir" | "moduleDir">), schemaDir, ...(moduleDir !== undefined ? { moduleDir } : {}) };
}

/** Why startSlapd cannot run here (for `test.skipIf`), or undefined when it can. */
export function slapdUnavailable(): string | undefined {
  const found = findPrograms();
  return typeof found === "string" ? found : undefined;
}

interface Settings {
  baseDn: string;
  bindDn: string;
  adminDn: string;
  tls: boolean;
  requireTls: boolean;
  sizeLimit: number | "unlimited";
  pagedResultsTotal: number | "unlimited" | "disabled";
  logLevel: string;
}

export async function startSlapd(options: SlapdOptions = {}): Promise<Slapd> {
  const programs = findPrograms();
  if (typeof programs === "string") throw new Error(`cannot start slapd: ${programs}`);
  const baseDn = options.baseDn ?? "dc=example,dc=com";
  const settings: Settings = {
    baseDn,
    bindDn: `${READER_RDN},ou=services,${baseDn}`,
    adminDn: `cn=admin,${baseDn}`,
    tls: (options.tls ?? "both") === "both",
    requireTls: options.requireTls ?? false,
    sizeLimit: options.sizeLimit ?? 500,
    pagedResultsTotal: options.pagedResultsTotal ?? "unlimited",
    logLevel: options.logLevel ?? "none",
  };
  const directory = mkdtempSync(join(tmpdir(), "idpscim-slapd-"));
  try {
    const ca = createTestCa(join(directory, "tls"), programs.openssl);
    // The LDAP tools read ldap.conf and ~/.ldaprc: an empty file and a HOME here keep the machine's out.
    writeFileSync(join(directory, "ldap.conf"), "");
    await loadDatabase(programs, settings, directory, ca, options.ldif ?? "");
    const [port, ldapsPort] = await freePorts(settings.tls ? 2 : 1);
    const urls = [`ldap://127.0.0.1:${port}/`, ...(settings.tls ? [`ldaps://127.0.0.1:${ldapsPort}/`] : [])];
    const supervised = await supervise(programs.slapd, ["-d", settings.logLevel, "-F", join(directory, "slapd.d"), "-h", urls.join(" ")], directory);
    await waitUntilListening(port!, supervised);
    return new RunningSlapd(programs, settings, directory, ca, port!, ldapsPort, supervised);
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

/** slapadd the configuration (database 0) and the entries (the suffix's database), both offline. */
async function loadDatabase(programs: Programs, settings: Settings, directory: string, ca: TestCa, ldif: string | Iterable<string>): Promise<void> {
  const configFile = join(directory, "config.ldif");
  const dataFile = join(directory, "data.ldif");
  writeFileSync(configFile, configLdif(programs, settings, directory, ca));
  writeRecords(dataFile, [baseEntries(settings), ...(typeof ldif === "string" ? [ldif] : ldif)]);
  const slapd = join(directory, "slapd.d");
  mkdirSync(slapd, { mode: 0o700 });
  mkdirSync(join(directory, "db"), { mode: 0o700 });
  await runChecked(programs.slapadd, ["-n", "0", "-F", slapd, "-l", configFile], "slapadd of the configuration (cn=config)");
  // -q: no consistency checks while writing (schema checks stay): the fast path for a fresh database.
  await runChecked(programs.slapadd, ["-q", "-F", slapd, "-b", settings.baseDn, "-l", dataFile], `slapadd of the entries under ${settings.baseDn}`);
  rmSync(configFile);
  rmSync(dataFile); // 200,000 users are some 100 MB of LDIF: not kept while the test runs
}

/** Writes records in ~1 MiB batches: a directory of 200,000 users never sits in memory as one string. */
function writeRecords(path: string, records: Iterable<string>): void {
  const fd = openSync(path, "w", 0o600);
  try {
    let batch: string[] = [];
    let size = 0;
    for (const record of records) {
      if (record === "") continue;
      batch.push(record.endsWith("\n\n") ? record : record.endsWith("\n") ? `${record}\n` : `${record}\n\n`);
      size += record.length;
      if (size >= 1 << 20) {
        writeSync(fd, batch.join(""));
        batch = [];
        size = 0;
      }
    }
    if (batch.length > 0) writeSync(fd, batch.join(""));
  } finally {
    closeSync(fd);
  }
}

function limitsOf(settings: Pick<Settings, "sizeLimit" | "pagedResultsTotal">): string {
  return `size.soft=${settings.sizeLimit} size.hard=${settings.sizeLimit} size.prtotal=${settings.pagedResultsTotal}`;
}

function configLdif(programs: Programs, settings: Settings, directory: string, ca: TestCa): string {
  const global: [string, string | undefined][] = [
    ["objectClass", "olcGlobal"],
    ["cn", "config"],
    ["olcPidFile", join(directory, "slapd.pid")],
    // No olcTLSCACertificateFile: slapd would send the CA along with its certificate, and clients check against their own.
    ...(settings.tls ? ([["olcTLSCertificateFile", ca.certFile], ["olcTLSCertificateKeyFile", ca.keyFile]] as [string, string][]) : []),
    ["olcSecurity", settings.requireTls ? "tls=1" : undefined],
  ];
  const modules = programs.moduleDir === undefined ? "" : ldifRecord("cn=module{0},cn=config", [["objectClass", "olcModuleList"], ["cn", "module{0}"], ["olcModulePath", programs.moduleDir], ["olcModuleLoad", "back_mdb"]]);
  const schemas = ldifRecord("cn=schema,cn=config", [["objectClass", "olcSchemaConfig"], ["cn", "schema"]]) + SCHEMAS.map((s) => `include: file://${join(programs.schemaDir, `${s}.ldif`)}\n\n`).join("");
  const database = ldifRecord(DATABASE_DN, [
    ["objectClass", "olcDatabaseConfig"],
    ["objectClass", "olcMdbConfig"],
    ["olcDatabase", "{1}mdb"],
    ["olcSuffix", settings.baseDn],
    ["olcDbDirectory", join(directory, "db")],
    ["olcRootDN", settings.adminDn],
    ["olcRootPW", PASSWORDS.admin],
    // The map is sparse: 4 GiB of address space holds 200,000 users with room for their groups.
    ["olcDbMaxSize", String(4 * 1024 ** 3)],
    ["olcDbNoSync", "TRUE"],
    ["olcSizeLimit", String(settings.sizeLimit)],
    ["olcLimits", `{0}dn.exact="${settings.bindDn}" ${limitsOf(settings)}`],
    ["olcAccess", "{0}to attrs=userPassword by anonymous auth by * none"],
    ["olcAccess", `{1}to * by dn.exact="${settings.bindDn}" read by * none`],
    ...["objectClass", "entryUUID", "uid", "mail", "cn", "member", "uniqueMember", "memberUid"].map((a): [string, string] => ["olcDbIndex", `${a} eq`]),
  ]);
  return [
    ldifRecord("cn=config", global),
    modules,
    schemas,
    ldifRecord("olcDatabase={-1}frontend,cn=config", [["objectClass", "olcDatabaseConfig"], ["objectClass", "olcFrontendConfig"], ["olcDatabase", "{-1}frontend"]]),
    ldifRecord("olcDatabase={0}config,cn=config", [["objectClass", "olcDatabaseConfig"], ["olcDatabase", "{0}config"], ["olcRootDN", CONFIG_ADMIN_DN], ["olcRootPW", PASSWORDS.config]]),
    database,
  ].join("");
}

/** The suffix entry, ou=services and the reader: what every test directory has before its own entries. */
function baseEntries(settings: Settings): string {
  const [type, value] = settings.baseDn.split(",")[0]!.split("=") as [string, string];
  const suffixClasses: Record<string, [string, string][]> = {
    dc: [["objectClass", "dcObject"], ["objectClass", "organization"], ["dc", value], ["o", value]],
    o: [["objectClass", "organization"], ["o", value]],
    ou: [["objectClass", "organizationalUnit"], ["ou", value]],
  };
  const suffix = suffixClasses[type.trim().toLowerCase()];
  if (!suffix) throw new Error(`baseDn ${settings.baseDn}: its first RDN must be dc=, o= or ou=`);
  return [
    ldifRecord(settings.baseDn, [["objectClass", "top"], ...suffix]),
    ldifRecord(`ou=services,${settings.baseDn}`, [["objectClass", "top"], ["objectClass", "organizationalUnit"], ["ou", "services"]]),
    ldifRecord(settings.bindDn, [
      ["objectClass", "top"],
      ["objectClass", "organizationalRole"],
      ["objectClass", "simpleSecurityObject"],
      ["cn", READER_RDN.slice(3)],
      ["description", "The account idpscim binds as: reads everything but passwords, within the size limits"],
      ["userPassword", PASSWORDS.reader],
    ]),
  ].join("");
}

interface RunOptions {
  stdin?: string;
  env?: Record<string, string>;
  cwd?: string;
}

/** Runs a program to its end and returns what it printed and its exit status. */
async function run(program: string, args: string[], options: RunOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([program, ...args], {
    stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/** Runs a program that must succeed; throws with what it printed when it does not. */
async function runChecked(program: string, args: string[], what: string): Promise<void> {
  const result = await run(program, args);
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}): ${(result.stderr || result.stdout).trim().slice(-2000)}`);
}

// Ports below the ephemeral range: the kernel never hands these out for port-0 binds or outgoing
// connections, so one that is free now stays free for the moment slapd needs to bind it.
async function freePorts(count: number): Promise<number[]> {
  let ephemeralLow = 32_768; // Linux's default
  try {
    ephemeralLow = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // not Linux: keep the default
  }
  const high = ephemeralLow > 20_000 ? Math.min(ephemeralLow, 32_768) : 32_768;
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < 200; attempt++) {
    const port = 15_000 + Math.floor(Math.random() * (high - 15_000));
    if (!ports.includes(port) && (await isFree(port))) ports.push(port);
  }
  if (ports.length < count) throw new Error("no free loopback port found for slapd between 15000 and the ephemeral range");
  return ports;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * The supervisor: starts slapd, prints its pid, and waits. When its standard input (a pipe from
 * the test process) closes, because stop() closed it or the test process died, it stops slapd;
 * when slapd has exited, for whatever reason, it removes the directory and exits with slapd's
 * status (after printing the end of slapd's log if that status is not 0). INT, TERM and HUP are
 * passed on to slapd rather than ending the supervisor first, so a Ctrl-C still cleans up.
 */
const SUPERVISOR = String.raw`
dir=$1; shift
exec 3<&0
"$@" </dev/null >/dev/null 2>>"$dir/slapd.log" 3<&- &
pid=$!
echo "$pid"
trap 'kill -TERM "$pid" 2>/dev/null' INT TERM HUP
( read -r _ <&3; kill -TERM "$pid" 2>/dev/null ) &
watcher=$!
exec 3<&-
status=0
wait "$pid" || status=$?
while kill -0 "$pid" 2>/dev/null; do wait "$pid" || status=$?; done
kill "$watcher" 2>/dev/null
[ "$status" -eq 0 ] || tail -c 3000 "$dir/slapd.log" >&2
rm -rf "$dir"
exit "$status"
`;

interface Supervised {
  child: Bun.Subprocess<"pipe", "pipe", "pipe">;
  pid: number;
  /** The supervisor's stderr, whole, once it has exited. */
  stderr: Promise<string>;
}

async function supervise(slapd: string, args: string[], directory: string): Promise<Supervised> {
  const child = Bun.spawn(["/bin/sh", "-c", SUPERVISOR, "slapd-supervisor", directory, slapd, ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    line += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const pid = Number.parseInt(line, 10);
  if (!Number.isInteger(pid)) throw new Error(`the slapd supervisor did not report slapd's pid: ${await stderr}`);
  return { child, pid, stderr };
}

async function waitUntilListening(port: number, supervised: Supervised): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited: number | undefined;
  void supervised.child.exited.then((code) => (exited = code));
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      const log = (await supervised.stderr).trim();
      const hint = /permission denied|errno=13/i.test(log) ? " (an AppArmor or SELinux profile for slapd may deny it the temporary directory)" : "";
      throw new Error(`slapd exited (status ${exited}) before it listened on 127.0.0.1:${port}: ${log || "no message"}${hint}`);
    }
    if (await connects(port)) return;
    await Bun.sleep(25);
  }
  supervised.child.stdin.end();
  throw new Error(`slapd did not listen on 127.0.0.1:${port} within ${START_TIMEOUT_MS / 1000} s`);
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** Is this process running (and not a zombie waiting for its parent)? */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

class RunningSlapd implements Slapd {
  readonly url: string;
  readonly ldapsUrl?: string;
  readonly caFile: string;
  readonly otherCaFile: string;
  readonly serverNames: string[];
  readonly baseDn: string;
  readonly bindDn: string;
  readonly bindPassword = PASSWORDS.reader;
  readonly adminDn: string;
  readonly adminPassword = PASSWORDS.admin;
  readonly pid: number;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly programs: Programs,
    private readonly settings: Settings,
    readonly directory: string,
    ca: TestCa,
    readonly port: number,
    readonly ldapsPort: number | undefined,
    private readonly supervised: Supervised,
  ) {
    this.url = `ldap://127.0.0.1:${port}`;
    if (ldapsPort !== undefined) this.ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
    this.caFile = ca.caFile;
    this.otherCaFile = ca.otherCaFile;
    this.serverNames = ca.serverNames;
    this.baseDn = settings.baseDn;
    this.bindDn = settings.bindDn;
    this.adminDn = settings.adminDn;
    this.pid = supervised.pid;
  }

  /** The environment of the LDAP tools: this server's CA, none of the machine's ldap.conf or ~/.ldaprc. */
  private toolEnvironment(caFile = this.caFile): Record<string, string> {
    return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: this.directory, LDAPCONF: join(this.directory, "ldap.conf"), LDAPTLS_CACERT: caFile, LDAPTLS_REQCERT: "demand" };
  }

  private bindArguments(as: "reader" | "admin" | "config" | "anonymous"): string[] {
    const credentials = { reader: [this.bindDn, this.bindPassword], admin: [this.adminDn, this.adminPassword], config: [CONFIG_ADMIN_DN, PASSWORDS.config] } as const;
    return as === "anonymous" ? ["-x"] : ["-x", "-D", credentials[as][0], "-w", credentials[as][1]];
  }

  async search(options: SearchOptions = {}): Promise<SearchResult> {
    const args = [
      ...this.bindArguments(options.as ?? "reader"),
      "-H", options.url ?? this.url,
      "-b", options.base ?? this.baseDn,
      "-s", options.scope ?? "sub",
      "-LLL", "-o", "ldif_wrap=no",
      ...((options.startTls ?? (this.settings.requireTls && !(options.url ?? this.url).startsWith("ldaps:"))) ? ["-ZZ"] : []),
      ...(options.pageSize !== undefined ? ["-E", `pr=${options.pageSize}/noprompt`] : []),
      options.filter ?? "(objectClass=*)",
      ...(options.attributes ?? []),
    ];
    const result = await run(this.programs.ldapsearch, args, { env: this.toolEnvironment(options.caFile), cwd: this.directory });
    return { resultCode: result.code, entries: parseLdif(result.stdout), stderr: result.stderr };
  }

  async modify(ldif: string): Promise<void> {
    await this.ldapmodify("admin", ldif);
  }

  async setLimits(limits: Pick<SlapdOptions, "sizeLimit" | "pagedResultsTotal">): Promise<void> {
    const next = { sizeLimit: limits.sizeLimit ?? this.settings.sizeLimit, pagedResultsTotal: limits.pagedResultsTotal ?? this.settings.pagedResultsTotal };
    await this.ldapmodify(
      "config",
      `dn: ${DATABASE_DN}\nchangetype: modify\nreplace: olcSizeLimit\nolcSizeLimit: ${next.sizeLimit}\n-\nreplace: olcLimits\n${ldifLine("olcLimits", `{0}dn.exact="${this.bindDn}" ${limitsOf(next)}`)}-\n`,
    );
    Object.assign(this.settings, next);
  }

  private async ldapmodify(as: "admin" | "config", ldif: string): Promise<void> {
    // entryUUID is slapd's own (NO-USER-MODIFICATION): an entry that brings one (ldif.ts writes them
    // for a stable id) is added with the Relax Rules control, which lets the rootdn set it.
    const relax = /^entryUUID:/im.test(ldif) ? ["-e", "relax"] : [];
    const args = [...this.bindArguments(as), "-H", this.url, "-a", ...relax, ...(this.settings.requireTls ? ["-ZZ"] : [])];
    const result = await run(this.programs.ldapmodify, args, { stdin: ldif, env: this.toolEnvironment(), cwd: this.directory });
    if (result.code !== 0) throw new Error(`ldapmodify as ${as} on ${this.url} failed (exit ${result.code}): ${(result.stderr || result.stdout).trim()}\n--- the LDIF:\n${ldif.slice(0, 2000)}`);
  }

  log(): string {
    try {
      return readFileSync(join(this.directory, "slapd.log"), "utf8");
    } catch {
      return "";
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    const { child } = this.supervised;
    child.stdin.end();
    const timedOut = await Promise.race([child.exited.then(() => false), Bun.sleep(STOP_TIMEOUT_MS).then(() => true)]);
    if (timedOut) {
      for (const pid of [this.pid, child.pid]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await child.exited;
    }
    rmSync(this.directory, { recursive: true, force: true });
  }
}

/** ldapsearch -LLL -o ldif_wrap=no output → entries. */
export function parseLdif(text: string): LdapEntry[] {
  const entries: LdapEntry[] = [];
  let current: LdapEntry | undefined;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([^:]+)(::?)\s?(.*)$/.exec(line);
    if (!match) throw new Error(`ldapsearch printed a line that is not LDIF: ${line}`);
    const [, name, separator, raw] = match as unknown as [string, string, string, string];
    const value = separator === "::" ? Buffer.from(raw, "base64").toString("utf8") : raw;
    if (name === "dn") {
      current = { dn: value, attributes: {} };
      entries.push(current);
    } else if (current) {
      (current.attributes[name] ??= []).push(value);
    }
  }
  return entries;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const scenarioAt = args.indexOf("--scenario");
  const scenario = scenarioAt === -1 ? undefined : loadScenarioFile(args[scenarioAt + 1] ?? "");
  const ldap = scenario ? scenarioDirectory(scenario.google) : undefined;
  const slapd = await startSlapd(ldap ? { baseDn: ldap.baseDn, ldif: ldap.entries() } : {});
  const { url, ldapsUrl, caFile, otherCaFile, baseDn, bindDn, bindPassword, adminDn, adminPassword, pid, directory } = slapd;
  process.stdout.write(`${JSON.stringify({ url, ldapsUrl, caFile, otherCaFile, baseDn, bindDn, bindPassword, adminDn, adminPassword, pid, directory })}\n`);
  const stop = () => void slapd.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
