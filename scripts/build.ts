/**
 * @module Compiles `src/main.ts` into one self-contained `idpscim` executable per Bun target
 * (`bun build --compile`), with the version and commit baked in.
 *
 * @example
 * ```sh
 * bun run build                                   # host binary → dist/idpscim
 * bun run build:all                               # every target → dist/idpscim-<os>-<arch>[.exe]
 * bun run scripts/build.ts --target bun-linux-arm64 --outfile dist/lambda/bootstrap
 * ```
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };

export const ROOT = resolve(import.meta.dir, "..");

/** The cross-compile targets we ship; Bun 1.4.5 has all six (windows-arm64 included). */
export const TARGETS = [
  "bun-linux-x64",
  "bun-linux-arm64",
  "bun-darwin-x64",
  "bun-darwin-arm64",
  "bun-windows-x64",
  "bun-windows-arm64",
] as const;

export type Target = (typeof TARGETS)[number];

export interface CompileOptions {
  /** A Bun cross-compile target, or "host" for the machine running the build. */
  target: Target | "host";
  outfile: string;
  /** Defaults to package.json's version. */
  version?: string;
  /** Defaults to `git rev-parse --short HEAD` ("unknown" outside a git checkout). */
  commit?: string;
}

export interface CompiledBinary {
  outfile: string;
  bytes: number;
}

/** "bun-linux-arm64" → "linux-arm64", the suffix used in file and archive names. */
export function platformOf(target: Target): string {
  return target.replace(/^bun-/, "");
}

export function isWindows(target: Target | "host"): boolean {
  return target === "host" ? process.platform === "win32" : target.startsWith("bun-windows-");
}

export async function gitCommit(): Promise<string> {
  try {
    const child = Bun.spawn(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
    const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    return code === 0 && out.trim() !== "" ? out.trim() : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Runs `bun build --compile` for one target. Cross-compiling downloads that target's Bun runtime
 * from the npm registry (`@oven/bun-<os>-<arch>`) into Bun's install cache on first use.
 */
export async function compileBinary(options: CompileOptions): Promise<CompiledBinary> {
  const version = options.version ?? pkg.version;
  const commit = options.commit ?? (await gitCommit());
  // Bun appends ".exe" for Windows targets by itself; add it here so the returned path is exact.
  const outfile = resolve(isWindows(options.target) && !options.outfile.endsWith(".exe") ? `${options.outfile}.exe` : options.outfile);
  mkdirSync(dirname(outfile), { recursive: true });
  const args = [
    process.execPath,
    "build",
    "--compile",
    "--minify",
    // A compiled binary would otherwise read .env and bunfig.toml from whatever directory it is
    // started in (/var/task in Lambda, a user's cwd on a bastion): configuration must come only
    // from the config file, IDPSCIM_* variables and flags.
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    join(ROOT, "src/main.ts"),
    ...(options.target === "host" ? [] : [`--target=${options.target}`]),
    `--outfile=${outfile}`,
    "--define",
    `IDPSCIM_BUILD_VERSION=${JSON.stringify(version)}`,
    "--define",
    `IDPSCIM_BUILD_COMMIT=${JSON.stringify(commit)}`,
  ];
  const child = Bun.spawn(args, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) {
    const output = (stderr || stdout).trim();
    const download =
      options.target !== "host" && /download|extract|tarball|registry|404/i.test(output)
        ? "\nCross-compiling downloads @oven/bun-<os>-<arch> from the npm registry: check access to it, or point BUN_COMPILE_TARGET_TARBALL_URL at a mirror."
        : "";
    throw new Error(`bun build --compile for ${options.target} failed (exit ${code}): ${output}${download}`);
  }
  return { outfile, bytes: statSync(outfile).size };
}

function parseArgs(argv: string[]): { targets: (Target | "host")[]; outfile?: string; outdir: string } {
  const targets: (Target | "host")[] = [];
  let outfile: string | undefined;
  let outdir = join(ROOT, "dist");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === "--all") targets.push(...TARGETS);
    else if (arg === "--target") targets.push(checkTarget(value()));
    else if (arg.startsWith("--target=")) targets.push(checkTarget(arg.slice("--target=".length)));
    else if (arg === "--outfile") outfile = value();
    else if (arg === "--outdir") outdir = resolve(value());
    else throw new Error(`unknown argument ${arg}: use --target T (repeatable), --all, --outfile F, --outdir D`);
  }
  if (targets.length === 0) targets.push("host");
  if (outfile !== undefined && targets.length > 1) throw new Error("--outfile works with one target only; use --outdir");
  return { targets, outfile, outdir };
}

function checkTarget(value: string): Target | "host" {
  if (value === "host" || (TARGETS as readonly string[]).includes(value)) return value as Target | "host";
  throw new Error(`unknown target ${value}: one of host, ${TARGETS.join(", ")}`);
}

export function formatBytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

if (import.meta.main) {
  const { targets, outfile, outdir } = parseArgs(process.argv.slice(2));
  const commit = await gitCommit();
  for (const target of targets) {
    const started = performance.now();
    const file = outfile ?? join(outdir, target === "host" ? "idpscim" : `idpscim-${platformOf(target)}`);
    const built = await compileBinary({ target, outfile: file, commit });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`${target.padEnd(18)} ${relative(process.cwd(), built.outfile).padEnd(34)} ${formatBytes(built.bytes).padStart(9)}  ${seconds}s`);
  }
}
