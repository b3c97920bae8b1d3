/**
 * @module `bun run release` for linux-arm64 only (one cross build, ~110 MB, is enough to check
 * the packaging): the archive, the Lambda zip's executable `bootstrap`, SHA256SUMS, and the
 * arm64 binary itself under qemu.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { parse } from "@cdktf/hcl2json";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { gitCommit } from "../../scripts/build.ts";
import { ROOT } from "../support/harness.ts";

const folder = `idpscim-${pkg.version}-linux-arm64`;
let dir: string;
let outdir: string;
let extracted: string;
let commit: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "idpscim-release-"));
  outdir = join(dir, "dist");
  extracted = join(dir, "extracted");
  commit = await gitCommit();
  const started = performance.now();
  const child = Bun.spawn([process.execPath, "run", "scripts/release.ts", "--target", "bun-linux-arm64", "--outdir", outdir], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`release failed (exit ${code}): ${stderr}${stdout}`);
  console.log(`release for linux-arm64 in ${((performance.now() - started) / 1000).toFixed(1)}s:\n${stdout.trim()}`);
  // tar(1), not our writer's reader, proves the archive is a standard one.
  mkdirSync(extracted);
  const untar = run(["tar", "-xzf", join(outdir, `${folder}.tar.gz`), "-C", extracted], dir);
  if (untar.code !== 0) throw new Error(`tar -xzf failed: ${untar.stderr}`);
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(argv: string[], cwd: string, env?: Record<string, string>) {
  const result = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe", ...(env ? { env } : {}) });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

interface ZipEntry {
  name: string;
  /** The high byte of "version made by": 3 is Unix, whose mode is in the external attributes. */
  madeBy: number;
  mode: number;
  method: number;
  uncompressedSize: number;
}

/** Reads a zip's central directory (no zip64: our entries are under 4 GiB). */
function zipEntries(bytes: Uint8Array): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error("no end of central directory record");
  const count = view.getUint16(end + 10, true);
  let offset = view.getUint32(end + 16, true);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (view.getUint32(offset, true) !== 0x02014b50) throw new Error(`bad central directory header at ${offset}`);
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    entries.push({
      name: new TextDecoder().decode(bytes.subarray(offset + 46, offset + 46 + nameLength)),
      madeBy: view.getUint16(offset + 4, true) >> 8,
      mode: view.getUint32(offset + 38, true) >>> 16,
      method: view.getUint16(offset + 10, true),
      uncompressedSize: view.getUint32(offset + 24, true),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

describe("bun run release --target bun-linux-arm64", () => {
  test("SHA256SUMS lists the archive, the Lambda zip and the Terraform module, and sha256sum -c accepts it", () => {
    const lines = readFileSync(join(outdir, "SHA256SUMS"), "utf8").trimEnd().split("\n");
    expect(lines.map((line) => line.split("  ")[1])).toEqual([`${folder}.tar.gz`, "lambda/bootstrap.zip", `idpscim-terraform-${pkg.version}.tar.gz`]);
    for (const line of lines) {
      const [hash, file] = line.split("  ");
      expect(createHash("sha256").update(readFileSync(join(outdir, file!))).digest("hex")).toBe(hash!);
    }
    const check = run(["sha256sum", "-c", "SHA256SUMS"], outdir);
    expect(check.stdout).toContain(`${folder}.tar.gz: OK`);
    expect(check.code).toBe(0);
  });

  test("the Terraform module archive: the module at its root, release.tf pinning this version and bootstrap.zip's SHA-256", async () => {
    const zipSha = createHash("sha256").update(readFileSync(join(outdir, "lambda", "bootstrap.zip"))).digest("hex");
    const moduleDir = join(dir, "terraform-module");
    mkdirSync(moduleDir);
    const untar = run(["tar", "-xzf", join(outdir, `idpscim-terraform-${pkg.version}.tar.gz`), "-C", moduleDir], dir);
    expect(untar.stderr).toBe("");
    // At the root: `source = "<url>/idpscim-terraform-<version>.tar.gz"` is the module itself.
    for (const file of ["main.tf", "iam.tf", "variables.tf", "outputs.tf", "versions.tf", "release.tf", "README.md", "examples/basic/main.tf", "examples/complete/main.tf", "examples/ldap/main.tf"]) {
      expect(`${file}: ${existsSync(join(moduleDir, file))}`).toBe(`${file}: true`);
    }
    expect(statSync(join(moduleDir, "scripts", "fetch-package.sh")).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(moduleDir, "main.tf"), "utf8")).toBe(readFileSync(join(ROOT, "terraform", "main.tf"), "utf8"));
    const pinned = (await parse("release.tf", readFileSync(join(moduleDir, "release.tf"), "utf8"))) as { locals: { release: { version: string; sha256: string } }[] };
    expect(pinned.locals[0]!.release).toEqual({ version: pkg.version, sha256: zipSha });
    // The same pin, alone, to commit back to terraform/release.tf.
    expect(readFileSync(join(outdir, "terraform", "release.tf"), "utf8")).toBe(readFileSync(join(moduleDir, "release.tf"), "utf8"));
    expect(readdirSync(moduleDir).some((name) => name.startsWith("."))).toBe(false);
  });

  test("lambda/bootstrap.zip holds one executable regular file named bootstrap, deflated", () => {
    const bytes = readFileSync(join(outdir, "lambda", "bootstrap.zip"));
    const entries = zipEntries(bytes);
    expect(entries.map((e) => e.name)).toEqual(["bootstrap"]);
    const [bootstrap] = entries;
    expect(bootstrap!.madeBy).toBe(3);
    expect(bootstrap!.mode).toBe(0o100755);
    expect(bootstrap!.method).toBe(8);
    expect(bootstrap!.uncompressedSize).toBeGreaterThan(50_000_000);
    console.log(`lambda/bootstrap.zip: ${bytes.length} bytes (direct-upload limit 52428800)`);
  });

  test("the .tar.gz extracts with tar(1): an executable idpscim, README, LICENSE, example config and the systemd files", () => {
    const archive = join(outdir, `${folder}.tar.gz`);
    const listing = run(["tar", "-tvzf", archive], dir);
    expect(listing.code).toBe(0);
    expect(listing.stdout).toMatch(new RegExp(`^-rwxr-xr-x .* ${folder}/idpscim$`, "m"));
    expect(listing.stdout).toMatch(new RegExp(`^-rwxr-xr-x .* ${folder}/install-systemd.sh$`, "m"));
    const root = join(extracted, folder);
    for (const [name, source] of [
      ["README.md", "README.md"],
      ["LICENSE", "LICENSE"],
      ["config.example.toml", "config.example.toml"],
      ["systemd/idpscim.service", "scripts/systemd/idpscim.service"],
      ["systemd/idpscim.timer", "scripts/systemd/idpscim.timer"],
    ]) {
      expect(readFileSync(join(root, name!), "utf8")).toBe(readFileSync(join(ROOT, source!), "utf8"));
    }
    expect(statSync(join(root, "idpscim")).size).toBe(zipEntries(readFileSync(join(outdir, "lambda", "bootstrap.zip")))[0]!.uncompressedSize);
  });

  test("the archive's install-systemd.sh stages an install from the archive layout", () => {
    const root = join(extracted, folder);
    const staged = join(dir, "root");
    const result = run([join(root, "install-systemd.sh")], root, { ...(process.env as Record<string, string>), DESTDIR: staged });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(readFileSync(join(staged, "usr/local/bin/idpscim")).equals(readFileSync(join(root, "idpscim")))).toBe(true);
    expect(existsSync(join(staged, "etc/systemd/system/idpscim.timer"))).toBe(true);
  });

  const qemu = Bun.which("qemu-aarch64-static");
  const missing = !qemu ? "qemu-aarch64-static not found (apt-get install qemu-user-static)" : !existsSync("/usr/aarch64-linux-gnu") ? "/usr/aarch64-linux-gnu not found (apt-get install libc6-arm64-cross)" : undefined;
  if (missing) console.log(`skipping the arm64 run: ${missing}`);
  test.skipIf(missing !== undefined)(
    "the linux-arm64 binary runs --version under qemu",
    () => {
      const started = performance.now();
      const result = run([qemu!, "-L", "/usr/aarch64-linux-gnu", join(extracted, folder, "idpscim"), "--version"], dir);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(`${pkg.version} (${commit})`);
      console.log(`arm64 --version under qemu: ${((performance.now() - started) / 1000).toFixed(1)}s`);
    },
    120_000,
  );
});
