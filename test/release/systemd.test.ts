/**
 * @module The systemd units and install-systemd.sh: `systemd-analyze verify` and `security`
 * on the shipped units, the service's ExecStart line run as systemd would run it (credentials
 * directory, `$$`) against the emulators, and staged installs into a temporary root.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { awsEnvironment } from "../emulators/index.ts";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, ROOT, startWorld, type World } from "../support/harness.ts";

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

describe("units", () => {
  test("the service is a hardened oneshot with the state in its StateDirectory, and no MemoryDenyWriteExecute", () => {
    expect(directive(service, "Type")).toEqual(["oneshot"]);
    expect(directive(service, "DynamicUser")).toEqual(["yes"]);
    expect(directive(service, "StateDirectory")).toEqual(["idpscim"]);
    expect(directive(service, "ProtectSystem")).toEqual(["strict"]);
    expect(directive(service, "SystemCallFilter")).toEqual(["@system-service"]);
    expect(directive(service, "CapabilityBoundingSet")).toEqual([""]);
    expect(directive(service, "RestrictAddressFamilies")).toEqual(["AF_INET AF_INET6 AF_UNIX"]);
    // Bun's JIT needs writable+executable memory; denied it, JSC falls back to its interpreter.
    expect(directive(service, "MemoryDenyWriteExecute")).toEqual([]);
    expect(directive(service, "LoadCredential").map((c) => c.split(":")[0])).toEqual(["config.toml", "scim-token", "gws-service-account.json"]);
    expect(directive(timer, "OnCalendar")).toEqual(["*:0/15"]);
    expect(directive(timer, "Persistent")).toEqual(["true"]);
    expect(directive(timer, "RandomizedDelaySec")).toEqual(["60"]);
  });

  const analyze = Bun.which("systemd-analyze");
  if (!analyze) console.log("skipping systemd-analyze checks: systemd-analyze not found (apt-get install systemd)");

  test.skipIf(!analyze)("systemd-analyze verify accepts both units without a warning, and does warn on a broken one", () => {
    const units = join(dir, "verify");
    mkdirSync(units, { recursive: true });
    for (const name of ["idpscim.service", "idpscim.timer"]) copyFileSync(join(UNITS, name), join(units, name));
    // ExecStart's program is /bin/sh (it reads the token credential), which verify checks exists;
    // the idpscim path inside the sh -c string is run by the ExecStart test below instead.
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

describe("the service's ExecStart, run as systemd runs it", () => {
  test("reads config, SCIM token and service-account key from the credentials directory and syncs", async () => {
    world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) });
    // The secrets come only from credentials: drop them from the config the unit loads.
    const credentials = join(dir, "credentials");
    mkdirSync(credentials, { recursive: true });
    const config = readFileSync(world.configPath, "utf8")
      .split("\n")
      .filter((line) => !line.startsWith("scim_access_token") && !line.startsWith("service_account_file"))
      .join("\n");
    writeFileSync(join(credentials, "config.toml"), config);
    writeFileSync(join(credentials, "scim-token"), `${world.emulators.scim.token}\n`);
    copyFileSync(world.emulators.google.serviceAccountFile, join(credentials, "gws-service-account.json"));
    // /usr/local/bin/idpscim is the sources under this Bun (the binary is tested in binary.test.ts).
    const shim = join(dir, "idpscim");
    writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, "src/main.ts")}" "$@"\n`);
    chmodSync(shim, 0o755);

    const [execStart] = directive(service, "ExecStart");
    const match = /^\/bin\/sh -c '([^']*)'$/.exec(execStart ?? "");
    expect(match).not.toBeNull();
    // systemd's own expansions: %d is $CREDENTIALS_DIRECTORY, $$ is a literal $.
    const script = match![1]!.replaceAll("%d", credentials).replaceAll("$$", "$").replaceAll("/usr/local/bin/idpscim", shim);
    const child = Bun.spawn(["/bin/sh", "-c", script], {
      cwd: dir,
      env: { ...cleanEnvironment(), ...awsEnvironment(world.emulators), CREDENTIALS_DIRECTORY: credentials },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
    expect(stderr).toContain("summary:");
    expect(stderr).not.toContain(world.emulators.scim.token);
    expect(code).toBe(0);
    expect(world.emulators.scim.snapshot().users.length).toBe(13);
    expect(existsSync(world.statePath)).toBe(true);
  });
});

describe("install-systemd.sh", () => {
  const fakeBinary = () => {
    const file = join(dir, "fake-idpscim");
    writeFileSync(file, "#!/bin/sh\necho fake\n");
    return file;
  };

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
    expect(first.stdout).toContain("missing now: scim-token gws-service-account.json");

    const configPath = join(root, "etc/idpscim/config.toml");
    writeFileSync(configPath, `${readFileSync(configPath, "utf8")}\n# edited by the operator\n`);
    writeFileSync(join(root, "etc/idpscim/credentials/scim-token"), "token\n");
    writeFileSync(join(root, "etc/idpscim/credentials/gws-service-account.json"), "{}\n");
    const second = run([INSTALL, "--binary", fakeBinary()], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("exists; kept");
    expect(second.stdout).not.toContain("missing now");
    expect(readFileSync(configPath, "utf8")).toContain("# edited by the operator");
  });

  test("refuses a missing binary with a hint, exit 2", () => {
    const result = run([INSTALL, "--binary", join(dir, "nope")], { ...process.env, DESTDIR: join(dir, "nowhere") });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("does not exist");
  });
});
