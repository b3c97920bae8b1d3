/**
 * @module Builds the release: one archive per target (.tar.gz, .zip for Windows) holding the
 * `idpscim` binary, README.md, LICENSE and config.example.toml (plus install-systemd.sh and the
 * units on Linux); `lambda/bootstrap.zip` for provided.al2023 on arm64; with it, the Terraform
 * module as `idpscim-terraform-<version>.tar.gz`, whose `release.tf` pins this version and the
 * zip's SHA-256 (also written alone to `terraform/release.tf`, to commit back); and a SHA256SUMS
 * file that `sha256sum -c` checks. Prints a table of sizes.
 *
 * @example
 * ```sh
 * bun run release                                         # every target into dist/
 * bun run release -- --target bun-linux-arm64 --outdir /tmp/rel
 * ```
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { zipSync, type Zippable } from "fflate";
import pkg from "../package.json" with { type: "json" };
import { compileBinary, formatBytes, gitCommit, isWindows, platformOf, ROOT, TARGETS, type Target } from "./build.ts";

export interface ReleaseOptions {
  /** Defaults to every target in TARGETS. */
  targets?: readonly Target[];
  /** Defaults to dist/ in the repository. */
  outdir?: string;
  version?: string;
  commit?: string;
  /** Receives progress lines; defaults to stderr. */
  log?: (line: string) => void;
}

export interface ReleaseArtifact {
  target: Target;
  binaryBytes: number;
  /** Absolute path of the .tar.gz or .zip. */
  archive: string;
  archiveBytes: number;
  buildSeconds: number;
}

export interface ReleaseResult {
  outdir: string;
  artifacts: ReleaseArtifact[];
  /** dist/lambda/bootstrap.zip, present when bun-linux-arm64 was built. */
  lambda?: { file: string; bytes: number; sha256: string };
  /** The Terraform module pinned to that zip (with `lambda`): its archive and its release.tf. */
  terraform?: { archive: string; pin: string };
  sumsFile: string;
}

const LAMBDA_TARGET: Target = "bun-linux-arm64";
/** Lambda's direct-upload limit ("Zipped size must be smaller than 52428800 bytes"). */
const LAMBDA_DIRECT_UPLOAD_LIMIT = 52_428_800;
const EXECUTABLE = 0o755;
const REGULAR = 0o644;

export async function release(options: ReleaseOptions = {}): Promise<ReleaseResult> {
  const targets = options.targets ?? TARGETS;
  const outdir = resolve(options.outdir ?? join(ROOT, "dist"));
  const version = options.version ?? pkg.version;
  const commit = options.commit ?? (await gitCommit());
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const mtime = await sourceDateEpoch();
  const stage = join(outdir, ".stage");
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(outdir, "lambda"), { recursive: true });
  const text = (path: string) => readFileSync(join(ROOT, path));
  const shared = [
    { name: "README.md", mode: REGULAR, data: text("README.md") },
    { name: "LICENSE", mode: REGULAR, data: text("LICENSE") },
    { name: "config.example.toml", mode: REGULAR, data: text("config.example.toml") },
  ];
  // Linux archives carry what a bastion install needs: ./install-systemd.sh finds them beside it.
  const linuxOnly = [
    { name: "install-systemd.sh", mode: EXECUTABLE, data: text("scripts/install-systemd.sh") },
    { name: "systemd/idpscim.service", mode: REGULAR, data: text("scripts/systemd/idpscim.service") },
    { name: "systemd/idpscim.timer", mode: REGULAR, data: text("scripts/systemd/idpscim.timer") },
  ];

  const artifacts: ReleaseArtifact[] = [];
  let lambda: ReleaseResult["lambda"];
  try {
    for (const target of targets) {
      const started = performance.now();
      const platform = platformOf(target);
      log(`building ${target}…`);
      const binary = await compileBinary({ target, outfile: join(stage, platform, "idpscim"), version, commit });
      const buildSeconds = (performance.now() - started) / 1000;
      const bytes = readFileSync(binary.outfile);
      const folder = `idpscim-${version}-${platform}`;
      const files = [
        { name: basename(binary.outfile), mode: EXECUTABLE, data: bytes },
        ...shared,
        ...(target.startsWith("bun-linux-") ? linuxOnly : []),
      ];
      const archive = join(outdir, isWindows(target) ? `${folder}.zip` : `${folder}.tar.gz`);
      writeFileSync(archive, isWindows(target) ? zipFiles(folder, files, mtime) : tarGzFiles(folder, files, mtime));
      artifacts.push({ target, binaryBytes: binary.bytes, archive, archiveBytes: statSync(archive).size, buildSeconds });

      if (target === LAMBDA_TARGET) {
        // provided.al2023 runs /var/task/bootstrap, which must be executable (else
        // Runtime.InvalidEntrypoint): the Unix mode goes in the zip's external attributes.
        const file = join(outdir, "lambda", "bootstrap.zip");
        writeFileSync(file, zipSync({ bootstrap: [bytes, zipAttributes(EXECUTABLE, mtime)] }, { level: 9 }));
        lambda = { file, bytes: statSync(file).size, sha256: sha256(file) };
      }
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }

  let terraform: ReleaseResult["terraform"];
  if (lambda) {
    const releaseTf = renderReleasePin(version, lambda.sha256);
    const pin = join(outdir, "terraform", "release.tf");
    mkdirSync(join(outdir, "terraform"), { recursive: true });
    writeFileSync(pin, releaseTf);
    const archive = join(outdir, `idpscim-terraform-${version}.tar.gz`);
    writeFileSync(archive, tarGzFiles("", terraformModuleFiles(releaseTf), mtime));
    terraform = { archive, pin };
  }

  const sumsFile = join(outdir, "SHA256SUMS");
  const sumsOf = [...artifacts.map((a) => a.archive), ...(lambda ? [lambda.file] : []), ...(terraform ? [terraform.archive] : [])];
  writeFileSync(sumsFile, sumsOf.map((file) => `${sha256(file)}  ${relative(outdir, file)}\n`).join(""));
  return { outdir, artifacts, ...(lambda ? { lambda } : {}), ...(terraform ? { terraform } : {}), sumsFile };
}

/**
 * terraform/release.tf: the released package the module deploys with package_source = "release".
 * With a null sha256 (a git checkout), the module refuses that source until one is given.
 */
export function renderReleasePin(version: string, sha256Hex: string | null): string {
  if (!/^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/.test(version)) throw new Error(`not a release version: ${version}`);
  if (sha256Hex !== null && !/^[0-9a-f]{64}$/.test(sha256Hex)) throw new Error(`not a SHA-256: ${sha256Hex}`);
  return [
    '# The released Lambda package this copy of the module deploys with package_source = "release".',
    "# scripts/release.ts writes this file, with the version and the SHA-256 of that release's",
    "# bootstrap.zip, into the module archive it publishes (idpscim-terraform-<version>.tar.gz). In a",
    "# git checkout sha256 is null: no package is pinned, and package_source = \"release\" then needs",
    "# package_release_version and package_release_sha256 (or use the release's module archive).",
    "",
    "locals {",
    "  release = {",
    `    version = "${version}"`,
    `    sha256  = ${sha256Hex === null ? "null" : `"${sha256Hex}"`}`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The module's files for its archive (at the archive's root, so it is a module source as is), release.tf replaced. */
function terraformModuleFiles(releaseTf: string): ArchiveFile[] {
  const dir = join(ROOT, "terraform");
  const names = (readdirSync(dir, { recursive: true }) as string[])
    .map((name) => name.split("\\").join("/"))
    .filter((name) => /\.(tf|md|sh)$/.test(name) && !name.split("/").some((part) => part.startsWith(".")))
    .sort();
  return names.map((name) => ({
    name,
    mode: name.endsWith(".sh") ? EXECUTABLE : REGULAR,
    data: name === "release.tf" ? Buffer.from(releaseTf) : readFileSync(join(dir, name)),
  }));
}

/** Archive timestamps: SOURCE_DATE_EPOCH, else the commit's time, so rebuilding a commit gives the same archives. */
async function sourceDateEpoch(): Promise<Date> {
  const fromEnv = Number(process.env.SOURCE_DATE_EPOCH);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return new Date(fromEnv * 1000);
  try {
    const child = Bun.spawn(["git", "log", "-1", "--format=%ct"], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
    const seconds = Number((await new Response(child.stdout).text()).trim());
    if ((await child.exited) === 0 && Number.isInteger(seconds) && seconds > 0) return new Date(seconds * 1000);
  } catch {
    // not a git checkout
  }
  return new Date();
}

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

interface ArchiveFile {
  name: string;
  mode: number;
  data: Uint8Array;
}

/** Zip entry options: the Unix mode goes in the high half of the external attributes (made by os 3 = Unix). */
function zipAttributes(mode: number, mtime: Date) {
  return { level: 9 as const, os: 3, attrs: ((0o100000 | mode) << 16) >>> 0, mtime };
}

function zipFiles(folder: string, files: ArchiveFile[], mtime: Date): Uint8Array {
  const entries: Zippable = {};
  for (const file of files) entries[`${folder}/${file.name}`] = [file.data, zipAttributes(file.mode, mtime)];
  return zipSync(entries, { level: 9 });
}

/**
 * A POSIX ustar archive, gzipped. Written here because Bun.Archive (1.4.5) sets every entry to
 * mode 0644 and cannot mark the binary executable.
 */
export function tarGzFiles(folder: string, files: ArchiveFile[], mtime: Date): Uint8Array {
  const seconds = Math.floor(mtime.getTime() / 1000);
  const chunks: Uint8Array[] = [];
  const directories = new Set<string>();
  // An empty folder puts the files at the archive's root.
  const pathOf = (name: string) => (folder === "" ? name : `${folder}/${name}`);
  for (const file of files) {
    // Directory entries (the archive's folder, systemd/) before their files, as tar(1) writes them.
    const parts = pathOf(file.name).split("/").slice(0, -1);
    for (let depth = 1; depth <= parts.length; depth++) {
      const directory = `${parts.slice(0, depth).join("/")}/`;
      if (directories.has(directory)) continue;
      directories.add(directory);
      chunks.push(tarHeader(directory, EXECUTABLE, 0, seconds, "5"));
    }
    chunks.push(tarHeader(pathOf(file.name), file.mode, file.data.length, seconds, "0"), file.data);
    const padding = (512 - (file.data.length % 512)) % 512;
    if (padding > 0) chunks.push(new Uint8Array(padding));
  }
  chunks.push(new Uint8Array(1024)); // two zero blocks end the archive
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

function tarHeader(name: string, mode: number, size: number, mtime: number, type: "0" | "5"): Uint8Array {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name longer than 100 bytes: ${name}`);
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, "utf8");
  const octal = (offset: number, length: number, value: number) => field(offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
  field(0, 100, name);
  octal(100, 8, mode);
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, size);
  octal(136, 12, mtime);
  field(148, 8, "        "); // checksum is computed with its own field as spaces
  field(156, 1, type);
  field(257, 8, "ustar\u000000");
  field(265, 32, "root");
  field(297, 32, "root");
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return header;
}

function parseArgs(argv: string[]): ReleaseOptions {
  const targets: Target[] = [];
  let outdir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    if (flag === "--target") {
      const target = value();
      if (!(TARGETS as readonly string[]).includes(target)) throw new Error(`unknown target ${target}: one of ${TARGETS.join(", ")}`);
      targets.push(target as Target);
    } else if (flag === "--outdir") outdir = value();
    else throw new Error(`unknown argument ${arg}: use --target T (repeatable; default all) and --outdir D (default dist/)`);
  }
  return { ...(targets.length > 0 ? { targets } : {}), ...(outdir !== undefined ? { outdir } : {}) };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ")).join("\n");
}

if (import.meta.main) {
  const started = performance.now();
  const result = await release(parseArgs(process.argv.slice(2)));
  const rows = [["artifact", "binary", "archive", "build"]];
  for (const a of result.artifacts) {
    rows.push([relative(result.outdir, a.archive), formatBytes(a.binaryBytes), formatBytes(a.archiveBytes), `${a.buildSeconds.toFixed(1)}s`]);
  }
  if (result.lambda) rows.push([relative(result.outdir, result.lambda.file), "", formatBytes(result.lambda.bytes), ""]);
  if (result.terraform) rows.push([relative(result.outdir, result.terraform.archive), "", formatBytes(statSync(result.terraform.archive).size), ""]);
  console.log(`release ${result.outdir}:\n${table(rows)}`);
  if (result.lambda) {
    const margin = LAMBDA_DIRECT_UPLOAD_LIMIT - result.lambda.bytes;
    console.log(
      margin > 0
        ? `lambda/bootstrap.zip is ${result.lambda.bytes} bytes, ${margin} under Lambda's direct-upload limit (${LAMBDA_DIRECT_UPLOAD_LIMIT}); deploying through S3 keeps working when it grows`
        : `lambda/bootstrap.zip is ${result.lambda.bytes} bytes, over Lambda's direct-upload limit (${LAMBDA_DIRECT_UPLOAD_LIMIT}): deploy it through S3`,
    );
  }
  if (result.lambda && result.terraform) {
    console.log(`terraform pin: version ${pkg.version}, bootstrap.zip sha256 ${result.lambda.sha256} (${relative(result.outdir, result.terraform.pin)}, and in ${relative(result.outdir, result.terraform.archive)})`);
  }
  console.log(`verify: cd ${result.outdir} && sha256sum -c SHA256SUMS`);
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
}
