/**
 * @module The systemd units and install-systemd.sh: `systemd-analyze verify` and `security`
 * on the shipped units, the service's ExecStart line run as systemd would run it (its words, `%d`
 * the credentials directory filled as its LoadCredential= lines say) against the emulators, with
 * a Google and with an LDAP source, also stopped with SIGTERM and SIGINT mid-run, and staged
 * installs into a temporary root for each source.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, closeSync, copyFileSync, existsSync, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { parse } from "smol-toml";
import { UNIT_CREDENTIALS_ID } from "../../src/config/resolve-secrets.ts";
import { readState } from "../fault/converge.ts";
import { awsEnvironment } from "../emulators/index.ts";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, ROOT, spreadOrg, startWorld, type World } from "../support/harness.ts";
import { slapdUnavailable } from "../support/slapd.ts";

const UNITS = join(ROOT, "scripts/systemd");
const INSTALL = join(ROOT, "scripts/install-systemd.sh");
const service = readFileSync(join(UNITS, "idpscim.service"), "utf8");
const timer = readFileSync(join(UNITS, "idpscim.timer"), "utf8");

let dir: string;
let world: World | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "idpscim-systemd-"));
});
afterEach(async () => {
  await world?.close();
  world = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(argv: string[], env: Record<string, string | undefined> = process.env, cwd = dir) {
  const result = Bun.spawnSync(argv, { cwd, env, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** The values of KEY= lines of a unit (comments ignored). */
function directive(unit: string, key: string): string[] {
  return unit
    .split("\n")
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

/** This process's environment without IDPSCIM_* and AWS_*, as a clean service would start. */
function cleanEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("IDPSCIM_") && !key.startsWith("AWS_")) env[key] = value;
  }
  return env;
}

/** A stand-in for the binary: the install script only copies it. */
function fakeBinary(): string {
  const file = join(dir, "fake-idpscim");
  writeFileSync(file, "#!/bin/sh\necho fake\n");
  return file;
}

/** install-systemd.sh staged into `root` (DESTDIR), with `args` more. */
function install(root: string, ...args: string[]) {
  return run([INSTALL, ...args, "--binary", fakeBinary()], { ...process.env, DESTDIR: root });
}

const READY = "= config and credentials in place; DESTDIR is set: not running systemctl enable --now idpscim.timer";
const NOT_READY = "! idpscim.timer is not enabled: the config or the credentials are not in place yet";

const analyze = Bun.which("systemd-analyze");
if (!analyze) console.log("skipping systemd-analyze checks: systemd-analyze not found (apt-get install systemd)");

describe("units", () => {
  test("the service is a hardened oneshot with the state in its StateDirectory, and no MemoryDenyWriteExecute", () => {
    expect(directive(service, "Type")).toEqual(["oneshot"]);
    expect(directive(service, "DynamicUser")).toEqual(["yes"]);
    expect(directive(service, "StateDirectory")).toEqual(["idpscim"]);
    // The one other writable place: the audit trail's directory (README: Audit trail).
    expect(directive(service, "LogsDirectory")).toEqual(["idpscim"]);
    expect(directive(service, "ProtectSystem")).toEqual(["strict"]);
    expect(directive(service, "SystemCallFilter")).toEqual(["@system-service"]);
    expect(directive(service, "CapabilityBoundingSet")).toEqual([""]);
    expect(directive(service, "RestrictAddressFamilies")).toEqual(["AF_INET AF_INET6 AF_UNIX"]);
    // Bun's JIT needs writable+executable memory; denied it, JSC falls back to its interpreter.
    expect(directive(service, "MemoryDenyWriteExecute")).toEqual([]);
    // The config, and credentials/ as a directory: whichever of its files the source needs (see below).
    expect(directive(service, "LoadCredential")).toEqual(["config.toml:/etc/idpscim/config.toml", `${UNIT_CREDENTIALS_ID}:/etc/idpscim/credentials`]);
    // The run ends by itself before TimeoutStartSec, and a stop (10 s for requests in flight, 20 s
    // at most: src/shell/run-sync.ts) before TimeoutStopSec's SIGKILL; 143 is that clean stop.
    expect(directive(service, "ExecStart")[0]).toContain("--max-duration 55m");
    expect(directive(service, "TimeoutStartSec")).toEqual(["1h"]);
    expect(directive(service, "TimeoutStopSec")).toEqual(["30s"]);
    expect(directive(service, "SuccessExitStatus")).toEqual(["143"]);
    expect(directive(timer, "OnCalendar")).toEqual(["*:0/15"]);
    expect(directive(timer, "Persistent")).toEqual(["true"]);
    expect(directive(timer, "RandomizedDelaySec")).toEqual(["60"]);
  });


  test.skipIf(!analyze)("systemd-analyze verify accepts both units without a warning, and does warn on a broken one", () => {
    const units = join(dir, "verify");
    mkdirSync(units, { recursive: true });
    copyFileSync(join(UNITS, "idpscim.timer"), join(units, "idpscim.timer"));
    // verify checks that ExecStart's program exists: point it at an executable where the binary would be.
    const binary = join(units, "idpscim");
    writeFileSync(binary, "#!/bin/sh\n");
    chmodSync(binary, 0o755);
    writeFileSync(join(units, "idpscim.service"), service.replaceAll("/usr/local/bin/idpscim", binary));
    const verified = run([analyze!, "verify", join(units, "idpscim.service"), join(units, "idpscim.timer")], process.env, units);
    expect(verified.stderr.split("\n").filter((line) => line.includes("idpscim"))).toEqual([]);
    expect(verified.code).toBe(0);

    // verify only warns (exit 0) on a bad value: the empty-warnings check above is what guards.
    writeFileSync(join(units, "broken.service"), service.replace("Type=oneshot", "Type=oneshoot"));
    const broken = run([analyze!, "verify", join(units, "broken.service")], process.env, units);
    expect(broken.stderr).toContain("oneshoot");
  });

  test.skipIf(!analyze)("systemd-analyze security rates the service's exposure at 2.0 or below", () => {
    const result = run([analyze!, "security", "--offline=yes", "--threshold=20", join(UNITS, "idpscim.service")]);
    const overall = result.stdout.split("\n").find((line) => line.includes("Overall exposure level"));
    console.log(overall?.trim());
    expect(result.code).toBe(0);
  });
});

/**
 * The unit's LoadCredential= values with the drop-ins under `root` applied, as systemd reads them:
 * each drop-in's in turn, an empty value resetting the list.
 */
function loadCredentialLines(root: string): string[] {
  let values = directive(service, "LoadCredential");
  const dropIns = join(root, "etc/systemd/system/idpscim.service.d");
  if (!existsSync(dropIns)) return values;
  for (const file of readdirSync(dropIns).filter((name) => name.endsWith(".conf")).sort()) {
    for (const value of directive(readFileSync(join(dropIns, file), "utf8"), "LoadCredential")) values = value === "" ? [] : [...values, value];
  }
  return values;
}

/**
 * What systemd puts in $CREDENTIALS_DIRECTORY (`into`, emptied first) from those ID:PATH values,
 * `root` standing for /. A file is copied as ID, and a missing one throws (it fails the unit's
 * start); a directory's regular files are copied as ID_<path under it, / as _>, its symbolic links
 * skipped (systemd.exec(5), LoadCredential=; systemd 252's load_cred_recurse_dir_cb in
 * src/core/execute.c).
 */
function loadCredentials(root: string, into: string): string[] {
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  for (const line of loadCredentialLines(root)) {
    const [id, path] = [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)];
    const source = join(root, path);
    if (!existsSync(source)) throw new Error(`LoadCredential=${line}: ${source} does not exist: systemd fails the unit`);
    if (!statSync(source).isDirectory()) {
      copyFileSync(source, join(into, id));
      continue;
    }
    for (const file of readdirSync(source, { recursive: true, encoding: "utf8" })) {
      const at = join(source, file);
      if (lstatSync(at).isFile()) copyFileSync(at, join(into, `${id}_${relative(source, at).replaceAll("/", "_")}`));
    }
  }
  return readdirSync(into).sort();
}

/** The root (standing for /) whose /etc/idpscim credentialsFor(w, name) fills. */
const rootFor = (name: string) => join(dir, `${name}-root`);

/**
 * /etc/idpscim as an operator leaves it for the world's source, under a root of its own: the
 * world's config without its secrets, the SCIM token (with the newline an editor leaves) and the
 * service-account key, or the bind password for an LDAP source. Then the credentials directory
 * systemd fills from it.
 */
function credentialsFor(w: World, name: string): string {
  const root = rootFor(name);
  const etc = join(root, "etc/idpscim");
  mkdirSync(join(etc, "credentials"), { recursive: true });
  const secretLine = /^(scim_access_token|service_account_file|bind_password)\s*=/;
  const config = readFileSync(w.configPath, "utf8")
    .split("\n")
    .filter((line) => !secretLine.test(line))
    .join("\n");
  expect(config).not.toContain(w.emulators.scim.token);
  writeFileSync(join(etc, "config.toml"), config);
  writeFileSync(join(etc, "credentials/scim-token"), `${w.emulators.scim.token}\n`);
  if (w.ldap) writeFileSync(join(etc, "credentials/ldap-bind-password"), `${w.ldap.slapd.bindPassword}\n`);
  else copyFileSync(w.emulators.google.serviceAccountFile, join(etc, "credentials/gws-service-account.json"));
  const credentials = join(dir, name);
  loadCredentials(root, credentials);
  return credentials;
}

/**
 * The service's ExecStart as systemd runs it: no shell, the line split into words (it has no
 * quotes, `$` or `;` that would make systemd read it otherwise), `%d` the credentials directory,
 * and /usr/local/bin/idpscim the sources under this Bun (the binary is tested in binary.test.ts).
 */
function spawnExecStart(w: World, credentials: string) {
  const [execStart] = directive(service, "ExecStart");
  expect(execStart).toMatch(/^[^'"$;\\]+$/);
  const [program, ...args] = execStart!.split(/\s+/);
  expect(program).toBe("/usr/local/bin/idpscim");
  const child = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), ...args.map((word) => word.replaceAll("%d", credentials))], {
    cwd: dir,
    env: { ...cleanEnvironment(), ...awsEnvironment(w.emulators), CREDENTIALS_DIRECTORY: credentials },
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderr = new Response(child.stderr).text();
  return { child, result: Promise.all([stderr, child.exited]).then(([text, code]) => ({ stderr: text, code })) };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

/** The S3 run lock's body, or undefined when there is none. */
async function s3Lock(w: World): Promise<string | undefined> {
  const s3 = w.emulators.s3;
  const client = new S3Client({ endpoint: s3.url, forcePathStyle: true, region: s3.region, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  try {
    return await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "data/state.json.lock" }))).Body!.transformToString();
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}

const slapdMissing = slapdUnavailable();
if (slapdMissing) console.log(`skipping the LDAP ExecStart test: ${slapdMissing}`);

describe("the service's ExecStart, run as systemd runs it", () => {
  test("Google: reads config, SCIM token and service-account key from the credentials directory and syncs", async () => {
    world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) });
    const credentials = credentialsFor(world, "credentials");
    expect(readdirSync(credentials).sort()).toEqual(["config.toml", `${UNIT_CREDENTIALS_ID}_gws-service-account.json`, `${UNIT_CREDENTIALS_ID}_scim-token`]);
    const { result } = spawnExecStart(world, credentials);
    const { stderr, code } = await result;
    expect(stderr).toContain("summary:");
    expect(stderr).not.toContain(world.emulators.scim.token);
    expect(code).toBe(0);
    expect(world.emulators.scim.snapshot().users.length).toBe(13);
    expect(existsSync(world.statePath)).toBe(true);
  });

  test.skipIf(slapdMissing !== undefined)("LDAP: the same unit, no drop-in: config, SCIM token and bind password from the credentials directory, no Google key anywhere", async () => {
    world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) }, {}, {});
    const credentials = credentialsFor(world, "credentials-ldap");
    expect(readdirSync(credentials).sort()).toEqual(["config.toml", `${UNIT_CREDENTIALS_ID}_ldap-bind-password`, `${UNIT_CREDENTIALS_ID}_scim-token`]);
    expect(readFileSync(join(credentials, "config.toml"), "utf8")).not.toContain(world.ldap!.slapd.bindPassword);
    // The install script, run over that /etc/idpscim, finds it ready: what it accepts is what runs.
    const installed = install(rootFor("credentials-ldap"));
    expect(installed.stdout).toContain('= source.type is "ldap"');
    expect(installed.stdout).toContain(READY);
    const { stderr, code } = await spawnExecStart(world, credentials).result;
    expect(stderr).toMatch(/summary: users created 12, .*ldap \d+ searches \(\d+ pages\)/);
    expect(stderr).not.toContain(world.ldap!.slapd.bindPassword);
    expect(stderr).not.toContain(world.emulators.scim.token);
    expect(code).toBe(0);
    expect(world.emulators.scim.snapshot().users.length).toBe(13);
    expect(world.emulators.google.log.total()).toBe(0);
  });

  test.skipIf(slapdMissing !== undefined)("LDAP on systemd before 251: the install script's drop-in loads each credential by name, and the run is the same", async () => {
    world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) }, {}, {});
    const credentials = credentialsFor(world, "credentials-249");
    const root = rootFor("credentials-249");
    // systemctl as Ubuntu 22.04's and Debian 12's say it: only the version is asked.
    const installOn = (version: string) => {
      const stubs = join(dir, `systemd-${version.split(" ")[0]}`);
      mkdirSync(stubs, { recursive: true });
      writeFileSync(join(stubs, "systemctl"), `#!/bin/sh\necho "systemd ${version}"\n`);
      chmodSync(join(stubs, "systemctl"), 0o755);
      return run([INSTALL, "--binary", fakeBinary()], { ...process.env, DESTDIR: root, PATH: `${stubs}:${process.env.PATH}` });
    };
    const old = installOn("249 (249.11-0ubuntu3.12)");
    const dropIn = join(root, "etc/systemd/system/idpscim.service.d/credentials-per-file.conf");
    expect(old.stdout).toContain(`= systemd 249 loads no credentials directory (251 does): each credential is loaded by name in ${dropIn}`);
    expect(old.stdout).toContain(READY);
    expect(directive(readFileSync(dropIn, "utf8"), "LoadCredential")).toEqual([
      "",
      "config.toml:/etc/idpscim/config.toml",
      "scim-token:/etc/idpscim/credentials/scim-token",
      "ldap-bind-password:/etc/idpscim/credentials/ldap-bind-password",
    ]);
    if (analyze) {
      // The unit with the drop-in beside it, as systemd-analyze finds drop-ins: no warning.
      const units = join(dir, "verify-249");
      mkdirSync(join(units, "idpscim.service.d"), { recursive: true });
      writeFileSync(join(units, "idpscim.service"), service.replaceAll("/usr/local/bin/idpscim", join(dir, "fake-idpscim")));
      chmodSync(fakeBinary(), 0o755);
      copyFileSync(dropIn, join(units, "idpscim.service.d/credentials-per-file.conf"));
      const verified = run([analyze, "verify", join(units, "idpscim.service")], process.env, units);
      expect(verified.stderr.split("\n").filter((line) => line.includes("idpscim"))).toEqual([]);
    }
    expect(loadCredentials(root, credentials)).toEqual(["config.toml", "ldap-bind-password", "scim-token"]);
    const { stderr, code } = await spawnExecStart(world, credentials).result;
    expect(stderr).toContain("summary: users created 12");
    expect(code).toBe(0);

    // On systemd 251 or later the drop-in goes again.
    const current = installOn("252 (252.38-1~deb12u1)");
    expect(current.stdout).toContain(`+ rm ${dropIn}`);
    expect(existsSync(dropIn)).toBe(false);
    expect(loadCredentials(root, credentials)).toEqual(["config.toml", `${UNIT_CREDENTIALS_ID}_ldap-bind-password`, `${UNIT_CREDENTIALS_ID}_scim-token`]);
  });

  // 160 users and 4 groups at 150 ms a SCIM request, 8 in flight: the creates take ~3 s, and the
  // signal comes once 40 of them are done, mid-way.
  const USERS = 160;
  const GROUPS = 4;
  for (const { signal, code, backend } of [
    { signal: "SIGTERM", code: 143, backend: "file" },
    { signal: "SIGINT", code: 130, backend: "s3" },
  ] as const) {
    test(`${signal} mid-sync (${backend} state): exits ${code} with every completed create in the state, no lock left; the next run creates exactly the rest`, async () => {
      world = await startWorld({ scenario: spreadOrg(USERS, GROUPS), scim: { faults: { latencyMs: 150 } } }, { state: backend });
      const w = world;
      const log = w.emulators.scim.log;
      const createsDone = () => log.total((e) => e.method === "POST" && e.status === 201);
      const run = spawnExecStart(w, credentialsFor(w, `credentials-${signal}`));
      await waitFor("40 creates", () => createsDone() >= 40);
      run.child.kill(signal);
      const signalledAt = Date.now();
      const { stderr, code: exited } = await run.result;
      const stopMs = Date.now() - signalledAt;
      await Bun.sleep(300); // a request the run had left in flight would land now
      const created = createsDone();
      const state = await readState(w, backend);
      const recorded = Object.keys(state!.state.users).length + Object.keys(state!.state.groups).length;
      console.log(`${signal} on ExecStart (${backend} state) after 40 creates: ${created} creates made, ${recorded} in the state, exit ${exited} ${stopMs} ms after the signal`);
      expect(exited).toBe(code);
      expect(stderr).toContain(`${signal}: stopping: no new operation starts`);
      expect(stderr).toMatch(new RegExp(`stopped by ${signal}: \\d+ operation\\(s\\) not started; the state holds what was done; they continue next run`));
      expect(stderr).not.toContain(w.emulators.scim.token);
      expect(created).toBeLessThan(USERS + GROUPS);
      expect(recorded).toBe(created);
      expect(stopMs).toBeLessThan(5_000);
      if (backend === "file") expect(existsSync(`${w.statePath}.run.lock`)).toBe(false);
      else expect(await s3Lock(w)).toBeUndefined();

      w.emulators.scim.faults.latencyMs = 0;
      log.clear();
      const next = await spawnExecStart(w, credentialsFor(w, `credentials-${signal}`)).result;
      expect(next.code).toBe(0);
      const counts = log.counts();
      expect((counts["POST /Users"] ?? 0) + (counts["POST /Groups"] ?? 0)).toBe(USERS + GROUPS - created);
      expect(log.total((e) => e.status === 409)).toBe(0);
      const users = w.emulators.scim.snapshot().users.map((u) => String(u.userName));
      expect(new Set(users).size).toBe(USERS);
      expect(users).toHaveLength(USERS);
    }, 60_000);
  }

  test("a second SIGTERM during the stop exits at once (143), the lock released", async () => {
    world = await startWorld({ scenario: spreadOrg(60, 2), scim: { faults: { latencyMs: 4_000 } } });
    const w = world;
    const run = spawnExecStart(w, credentialsFor(w, "credentials-twice"));
    // The first creates are in flight for 4 s: a graceful stop would wait for them.
    await waitFor("the first creates in flight", () => existsSync(`${w.statePath}.run.lock`) && w.emulators.scim.log.total() > 0 && w.emulators.scim.log.total((e) => e.method === "GET") === w.emulators.scim.log.total());
    await Bun.sleep(300);
    run.child.kill("SIGTERM");
    await Bun.sleep(200);
    run.child.kill("SIGTERM");
    const secondAt = Date.now();
    const { stderr, code } = await run.result;
    expect(code).toBe(143);
    expect(Date.now() - secondAt).toBeLessThan(1_500);
    expect(stderr).toContain("SIGTERM again: exiting at once (exit 143)");
    expect(existsSync(`${w.statePath}.run.lock`)).toBe(false);
  }, 30_000);

  test("SIGTERM during the reads ends the run at once with STOPPED (143): no write, no state", async () => {
    world = await startWorld({ scenario: spreadOrg(20, 2), google: { faults: { latencyMs: 3_000 } } });
    const w = world;
    const run = spawnExecStart(w, credentialsFor(w, "credentials-reads"));
    await waitFor("the run lock", () => existsSync(`${w.statePath}.run.lock`));
    await Bun.sleep(500);
    run.child.kill("SIGTERM");
    const signalledAt = Date.now();
    const { stderr, code } = await run.result;
    expect(code).toBe(143);
    expect(Date.now() - signalledAt).toBeLessThan(2_500);
    expect(stderr).toContain("STOPPED: stopped by SIGTERM during the reads, before any write; nothing was written and the state is as it was");
    expect(w.emulators.scim.log.writes()).toBe(0);
    expect(existsSync(w.statePath)).toBe(false);
    expect(existsSync(`${w.statePath}.run.lock`)).toBe(false);
  }, 30_000);
});

describe("logs under journald", () => {
  /** `idpscim config validate` with a token flag (which warns), stderr into a file; JOURNAL_STREAM as given, or that file's own "dev:ino". */
  function validateWithStderrFile(journalStream: "the file" | string): string {
    const path = join(dir, `stderr-${Math.random().toString(36).slice(2)}`);
    const fd = openSync(path, "w");
    const { dev, ino } = fstatSync(fd, { bigint: true });
    const stream = journalStream === "the file" ? `${dev}:${ino}` : journalStream;
    const result = Bun.spawnSync([process.execPath, join(ROOT, "src/main.ts"), "config", "validate", "--aws-scim-access-token", "tok-4b1d-not-a-real-one",
      // What `config validate` (for sync) requires; it reads no file and sends no request.
      "--aws-scim-endpoint", "https://scim.example.com/scim/v2", "--gws-user-email", "admin@example.com", "--gws-service-account-file", "key.json", "--state-file", "state.json"], {
      cwd: dir,
      env: { ...cleanEnvironment(), JOURNAL_STREAM: stream },
      stdout: "pipe",
      stderr: fd,
    });
    closeSync(fd);
    expect(result.exitCode).toBe(0);
    return readFileSync(path, "utf8");
  }

  test("when stderr is the stream JOURNAL_STREAM names, text lines carry <N> priorities and no timestamp", () => {
    const lines = validateWithStderrFile("the file").trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toStartWith("<4>WARN  --aws-scim-access-token (-t) was given on the command line");
    expect(lines.every((line) => /^<[3467]>/.test(line))).toBe(true);
    expect(lines.join("\n")).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/);
  });

  test("a JOURNAL_STREAM that is not stderr (a wrapper redirected it) changes nothing: timestamps, no prefix", () => {
    const text = validateWithStderrFile("1:1");
    expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z WARN  --aws-scim-access-token/);
    expect(text).not.toContain("<4>");
  });
});

describe("install-systemd.sh", () => {

  test("parses with bash -n", () => {
    const result = run(["bash", "-n", INSTALL]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  test("--dry-run prints every step and changes nothing", () => {
    const root = join(dir, "dry-root");
    mkdirSync(root, { recursive: true });
    const result = run([INSTALL, "--dry-run", "--binary", fakeBinary()], { ...process.env, DESTDIR: root });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`+ install -D -m 0755 ${join(dir, "fake-idpscim")} ${root}/usr/local/bin/idpscim`);
    expect(result.stdout).toContain(`+ install -d -m 0700 ${root}/etc/idpscim/credentials`);
    expect(result.stdout).toContain(`${root}/etc/idpscim/config.toml`);
    expect(result.stdout).toContain(`${root}/etc/systemd/system/idpscim.timer`);
    expect(result.stdout).toContain("not running systemctl");
    expect(readdirSync(root)).toEqual([]);
  });

  test("DESTDIR install: modes, state file in the config, units; a second run keeps the edited config", () => {
    const root = join(dir, "root");
    const env = { ...process.env, DESTDIR: root };
    const first = run([INSTALL, "--binary", fakeBinary()], env);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const mode = (path: string) => statSync(join(root, path)).mode & 0o7777;
    expect(mode("usr/local/bin/idpscim")).toBe(0o755);
    expect(mode("etc/idpscim")).toBe(0o755);
    expect(mode("etc/idpscim/credentials")).toBe(0o700);
    expect(mode("etc/idpscim/config.toml")).toBe(0o640);
    expect(mode("etc/systemd/system/idpscim.service")).toBe(0o644);
    expect(readFileSync(join(root, "etc/systemd/system/idpscim.service"), "utf8")).toBe(service);
    expect(readFileSync(join(root, "etc/systemd/system/idpscim.timer"), "utf8")).toBe(timer);
    const config = parse(readFileSync(join(root, "etc/idpscim/config.toml"), "utf8")) as { state?: { file?: string } };
    expect(config.state?.file).toBe("/var/lib/idpscim/state.json");
    expect(first.stdout).toContain("! idpscim.timer is not enabled");

    const configPath = join(root, "etc/idpscim/config.toml");
    writeFileSync(configPath, `${readFileSync(configPath, "utf8")}\n# edited by the operator\n`);
    const second = run([INSTALL, "--binary", fakeBinary()], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("exists; kept");
    expect(readFileSync(configPath, "utf8")).toContain("# edited by the operator");
  });

  test("the timer is enabled only once the config and both credentials are in place; until then it says what is missing and the commands that finish", () => {
    const root = join(dir, "ready-root");
    const env = { ...process.env, DESTDIR: root };
    const install = () => run([INSTALL, "--binary", fakeBinary()], env);
    const etc = join(root, "etc/idpscim");
    const notEnabled = "! idpscim.timer is not enabled: the config or the credentials are not in place yet";
    const enabling = "= config and credentials in place; DESTDIR is set: not running systemctl enable --now idpscim.timer";

    const fresh = install();
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toContain(notEnabled);
    expect(fresh.stdout).not.toContain(enabling);
    expect(fresh.stdout).toContain(`  not set in ${etc}/config.toml: aws.scim_endpoint, gws.user_email`);
    expect(fresh.stdout).toContain(`  missing or empty in ${etc}/credentials/: scim-token, gws-service-account.json`);
    expect(fresh.stdout).toContain(`  sudoedit ${etc}/config.toml   # set aws.scim_endpoint, gws.user_email (and gws.groups_filter)`);
    expect(fresh.stdout).toContain(`  sudo sh -c 'umask 077; cat > ${etc}/credentials/scim-token'`);
    expect(fresh.stdout).toContain(`  sudo install -m 0600 service-account-key.json ${etc}/credentials/gws-service-account.json`);
    expect(fresh.stdout).toContain(`  sudo DESTDIR=${root} ${INSTALL} --binary ${join(dir, "fake-idpscim")}   # checks again, then enables idpscim.timer`);
    // source.type is not set: Google, the default; and how to choose LDAP instead.
    expect(fresh.stdout).toContain('= source.type is "google": checking aws.scim_endpoint, gws.user_email, credentials/scim-token, credentials/gws-service-account.json\n');
    expect(fresh.stdout).toContain('(For an LDAP directory or Active Directory: type = "ldap" under [source]; see README.md, "LDAP / Active Directory".)');
    expect(fresh.stdout).not.toContain("ldap-bind-password");

    // The example's placeholders uncommented are not a configuration.
    const configPath = join(etc, "config.toml");
    const example = readFileSync(configPath, "utf8");
    writeFileSync(configPath, example.replace(/^# (scim_endpoint|user_email) = /gm, "$1 = "));
    expect(install().stdout).toContain("not set in");

    writeFileSync(
      configPath,
      example
        .replace(/^# scim_endpoint = .*$/m, 'scim_endpoint = "https://scim.eu-west-1.amazonaws.com/t-1/scim/v2"  # ours')
        .replace(/^# user_email = .*$/m, "user_email = 'root@corp.example'"),
    );
    writeFileSync(join(etc, "credentials/scim-token"), "");
    writeFileSync(join(etc, "credentials/gws-service-account.json"), "{}\n");
    const empty = install();
    expect(empty.stdout).not.toContain("not set in");
    expect(empty.stdout).toContain(`  missing or empty in ${etc}/credentials/: scim-token\n`);
    expect(empty.stdout).not.toContain("service-account-key.json");

    writeFileSync(join(etc, "credentials/scim-token"), "token\n");
    const ready = install();
    expect(ready.code).toBe(0);
    expect(ready.stdout).toContain(enabling);
    expect(ready.stdout).not.toContain(notEnabled);
    // --dry-run says the same and changes nothing.
    const dry = run([INSTALL, "--dry-run", "--binary", fakeBinary()], env);
    expect(dry.stdout).toContain(enabling);
    expect(readFileSync(join(etc, "credentials/scim-token"), "utf8")).toBe("token\n");
  });

  test('source.type = "ldap": the LDAP settings and the bind password instead of the Google ones; the README\'s complete configuration and the two credentials enable', () => {
    const root = join(dir, "ldap-root");
    const etc = join(root, "etc/idpscim");
    const configPath = join(etc, "config.toml");
    expect(install(root).code).toBe(0);
    const example = readFileSync(configPath, "utf8");

    // The example with type = "ldap" and its placeholders uncommented is not a configuration.
    writeFileSync(configPath, example.replace(/^# type = .*$/m, 'type = "ldap"').replace(/^# (url|base_dn|bind_dn|scim_endpoint) = /gm, "$1 = "));
    const placeholders = install(root);
    expect(placeholders.code).toBe(0);
    expect(placeholders.stdout).toContain('= source.type is "ldap": checking aws.scim_endpoint, ldap.url, ldap.base_dn, ldap.bind_dn, ldap.preset, credentials/scim-token, credentials/ldap-bind-password\n');
    expect(placeholders.stdout).toContain(NOT_READY);
    expect(placeholders.stdout).toContain(`  not set in ${configPath}: aws.scim_endpoint, ldap.url, ldap.base_dn, ldap.bind_dn, ldap.preset\n`);
    expect(placeholders.stdout).toContain(`  missing or empty in ${etc}/credentials/: scim-token, ldap-bind-password\n`);
    expect(placeholders.stdout).toContain(`  sudoedit ${configPath}   # set aws.scim_endpoint, ldap.url, ldap.base_dn, ldap.bind_dn, ldap.preset (and ldap.group_base_dn, ldap.group_filter; README.md, "LDAP / Active Directory", has complete ones)`);
    expect(placeholders.stdout).toContain("      (leave scim_access_token and bind_password out: they come from credentials/)");
    expect(placeholders.stdout).toContain(`  sudo sh -c 'umask 077; cat > ${etc}/credentials/ldap-bind-password'   # paste the password of ldap.bind_dn, then Ctrl-D`);
    for (const google of ["gws.user_email", "gws-service-account.json", "service_account_file", "For an LDAP directory"]) expect(placeholders.stdout).not.toContain(google);

    // README's Active Directory configuration, complete but for a preset that is not one.
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const activeDirectory = /Active Directory, complete[^\n]*\n\n```toml\n([\s\S]*?)```/.exec(readme)![1]!;
    writeFileSync(configPath, activeDirectory.replace('preset = "active-directory"', 'preset = "ad"'));
    expect(install(root).stdout).toContain(`  not set in ${configPath}: ldap.preset\n`);

    // The configuration complete; the password a symbolic link (systemd skips those), and one more file under another name.
    writeFileSync(configPath, activeDirectory);
    writeFileSync(join(etc, "credentials/scim-token"), "token\n");
    const elsewhere = join(dir, "bind-password-elsewhere");
    writeFileSync(elsewhere, "pw\n");
    symlinkSync(elsewhere, join(etc, "credentials/ldap-bind-password"));
    writeFileSync(join(etc, "credentials/bind-password"), "pw\n");
    const linked = install(root);
    expect(linked.stdout).not.toContain("not set in");
    expect(linked.stdout).not.toContain("missing or empty");
    expect(linked.stdout).toContain(`  symbolic links in ${etc}/credentials/, which systemd does not load: ldap-bind-password\n`);
    expect(linked.stdout).toContain(`  sudo cp --remove-destination ${realpathSync(elsewhere)} ${etc}/credentials/ldap-bind-password   # a copy: systemd skips symbolic links`);
    expect(linked.stdout).toContain(`! in ${etc}/credentials/ but not read by idpscim (it reads scim-token, gws-service-account.json, ldap-bind-password; systemd loads every file there): bind-password\n`);
    expect(linked.stdout).not.toContain(READY);

    rmSync(join(etc, "credentials/ldap-bind-password"));
    renameSync(join(etc, "credentials/bind-password"), join(etc, "credentials/ldap-bind-password"));
    const ready = install(root);
    expect(ready.code).toBe(0);
    expect(ready.stdout).toContain(READY);
    expect(ready.stdout).not.toContain("! ");
    expect(install(root, "--dry-run").stdout).toContain(READY);
    expect(existsSync(join(etc, "credentials/gws-service-account.json"))).toBe(false);
  });

  test("use_secrets_manager = true: only what no secret holds is checked (nothing for Google; the LDAP server and names); an unknown source.type is named", () => {
    const root = join(dir, "secrets-root");
    const configPath = join(root, "etc/idpscim/config.toml");
    expect(install(root).code).toBe(0);
    const example = readFileSync(configPath, "utf8").replace(/^# use_secrets_manager = .*$/m, "use_secrets_manager = true");
    writeFileSync(configPath, example);
    const google = install(root);
    expect(google.stdout).toContain('= source.type is "google" with use_secrets_manager = true: checking nothing here (Secrets Manager holds the rest)\n');
    expect(google.stdout).toContain(READY);

    writeFileSync(configPath, example.replace(/^# type = .*$/m, 'type = "ldap"'));
    const ldap = install(root);
    expect(ldap.stdout).toContain(`  not set in ${configPath}: ldap.url, ldap.base_dn, ldap.bind_dn, ldap.preset\n`);
    expect(ldap.stdout).not.toContain("missing or empty");
    expect(ldap.stdout).not.toContain("leave scim_access_token");

    writeFileSync(configPath, '[source]\ntype = "okta"\n');
    const unknown = install(root);
    expect(unknown.code).toBe(0);
    expect(unknown.stdout).toContain(`  not set in ${configPath}: aws.scim_endpoint, source.type\n`);
    expect(unknown.stdout).toContain(`  sudoedit ${configPath}   # set type = "google" or "ldap" under [source], not "okta"`);
  });

  test('keyless (gws.auth = "workload-identity" on an EC2 bastion): the credential configuration and the account instead of the key credential', () => {
    const root = join(dir, "keyless-root");
    const etc = join(root, "etc/idpscim");
    const configPath = join(etc, "config.toml");
    expect(install(root).code).toBe(0);
    const example = readFileSync(configPath, "utf8")
      .replace(/^# scim_endpoint = .*$/m, 'scim_endpoint = "https://scim.eu-west-1.amazonaws.com/t-1/scim/v2"')
      .replace(/^# user_email = .*$/m, 'user_email = "root@corp.example"')
      .replace(/^# auth = .*$/m, 'auth = "workload-identity"');
    writeFileSync(configPath, example);
    writeFileSync(join(etc, "credentials/scim-token"), "token\n");
    const partial = install(root);
    expect(partial.stdout).toContain('checking aws.scim_endpoint, gws.user_email, gws.service_account_email, gws.workload_identity_config, credentials/scim-token\n');
    expect(partial.stdout).toContain(`  not set in ${configPath}: gws.service_account_email, gws.workload_identity_config\n`);
    expect(partial.stdout).not.toContain("gws-service-account.json");

    writeFileSync(
      configPath,
      example
        .replace(/^# workload_identity_config = .*$/m, 'workload_identity_config = "/etc/idpscim/wif.json"')
        .replace(/^# service_account_email = .*$/m, 'service_account_email = "idpscim@corp-idp.iam.gserviceaccount.com"'),
    );
    const ready = install(root);
    expect(ready.stdout).toContain(READY);
    expect(ready.stdout).not.toContain("missing or empty");
  });

  test("refuses a missing binary with a hint, exit 2", () => {
    const result = run([INSTALL, "--binary", join(dir, "nope")], { ...process.env, DESTDIR: join(dir, "nowhere") });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("does not exist");
  });
});
