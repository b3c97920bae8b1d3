/**
 * @module The only runtime-aware code: environment, arguments, standard streams, exit, files.
 * Works the same under Bun (and its compiled binaries), Node (tsx) and Deno (node: built-ins).
 */
import { closeSync, fchmodSync, fstatSync, openSync, writeSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";

export function environment(): Record<string, string | undefined> {
  return process.env;
}

export function commandLineArguments(): string[] {
  return process.argv.slice(2);
}

export function writeStdout(text: string): void {
  process.stdout.write(text);
}

export function writeStderr(text: string): void {
  process.stderr.write(text);
}

export function stderrIsTerminal(): boolean {
  return process.stderr.isTTY === true;
}

/**
 * stderr goes to the systemd journal: $JOURNAL_STREAM ("device:inode", systemd.exec(5)) names
 * the stream systemd connected, and stderr is still that stream (not redirected by a wrapper).
 */
export function stderrIsJournal(): boolean {
  const named = /^(\d+):(\d+)$/.exec(process.env.JOURNAL_STREAM ?? "");
  if (!named) return false;
  try {
    const stat = fstatSync(2, { bigint: true });
    return String(stat.dev) === named[1] && String(stat.ino) === named[2];
  } catch {
    return false;
  }
}

export function exit(code: number): never {
  process.exit(code);
}

/**
 * Exits with the exit code set so far once `ms` have passed, unless the process ends by itself
 * first (the timer does not keep it alive): for work a stopped run dropped, still in flight.
 */
export function exitSoon(ms: number): void {
  const timer: unknown = setTimeout(() => process.exit(), ms);
  // Deno's timers are numbers: there the process waits the `ms` (then exits all the same).
  (timer as { unref?: () => void }).unref?.();
}

export function setExitCode(code: number): void {
  process.exitCode = code;
}

export async function readTextFile(path: string): Promise<string> {
  return readFile(path, "utf8");
}

/**
 * A full, synchronous garbage collection under Bun (its compiled binary included); nothing under
 * Node or Deno, which expose none without a flag. JavaScriptCore sizes its heap for the machine's
 * RAM, not the Lambda's memory, and lets dropped data pile up well past what a run holds.
 */
export function collectGarbage(): void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  bun?.gc(true);
}

/** The process's resident set and JavaScript heap in MiB, for the debug log's memory lines; undefined where the runtime has no process.memoryUsage. */
export function memoryInUse(): { rssMiB: number; heapMiB: number } | undefined {
  const usage = (globalThis as { process?: { memoryUsage?: () => { rss: number; heapUsed: number } } }).process?.memoryUsage?.();
  return usage === undefined ? undefined : { rssMiB: Math.round(usage.rss / 2 ** 20), heapMiB: Math.round(usage.heapUsed / 2 ** 20) };
}

export function isLambda(): boolean {
  return Boolean(process.env.AWS_LAMBDA_RUNTIME_API);
}

/** Calls `handler` on every `signal` (the default action, exit, is off meanwhile); returns the function that removes it again. */
export function onSignal(signal: "SIGINT" | "SIGTERM", handler: () => void): () => void {
  process.on(signal, handler);
  return () => {
    process.off(signal, handler);
  };
}

/**
 * `fetch` with no client-side timeout, for the Lambda Runtime API's long poll: AWS says not to
 * time out `GET /next`, and Bun's fetch otherwise drops a request after 300 s without data
 * (`timeout: false` is Bun's per-request switch, oven-sh/bun#6217; other runtimes ignore it).
 */
export function fetchWithoutTimeout(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, timeout: false } as RequestInit);
}

/** Sets (or, with `undefined`, removes) an environment variable of this process, e.g. `_X_AMZN_TRACE_ID`. */
export function setEnvironmentVariable(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** A YAML parse failure, with where it happened when the runtime says (never the text around it: it may hold a secret). */
export class YamlError extends Error {
  override name = "YamlError";
  constructor(
    readonly line: number | undefined,
    readonly column: number | undefined,
    readonly unsupported = false,
  ) {
    super(unsupported ? "YAML needs the Bun runtime" : "not valid YAML");
  }
}

/** YAML text as data, with Bun's built-in parser (YAML 1.2: `yes` stays a string). Node and Deno have none: a YamlError saying so. */
export function parseYaml(text: string): unknown {
  const yaml = (globalThis as { Bun?: { YAML?: { parse(text: string): unknown } } }).Bun?.YAML;
  if (yaml === undefined) throw new YamlError(undefined, undefined, true);
  try {
    return yaml.parse(text);
  } catch (error) {
    const { line, column } = error as { line?: unknown; column?: unknown };
    throw new YamlError(typeof line === "number" ? line : undefined, typeof column === "number" ? column : undefined);
  }
}

/** Writes `text` to `path`; without `overwrite`, only if no file is there yet (`"exists"` otherwise, checked atomically). */
export async function writeTextFile(path: string, text: string, overwrite: boolean): Promise<"written" | "exists"> {
  try {
    await writeFile(path, text, { encoding: "utf8", flag: overwrite ? "w" : "wx", mode: 0o600 });
    return "written";
  } catch (error) {
    if ((error as { code?: unknown }).code === "EEXIST") return "exists";
    throw error;
  }
}

/** A file open for appending: `append` writes at its end at once (synchronously, so a line is never half-written by a crash between two). */
export interface AppendFile {
  append(text: string): void;
  close(): void;
}

/**
 * Opens `path` for appending, created with `mode` when missing; an existing file wider than `mode`
 * is narrowed to it (when this user owns it). Throws the system's error (ENOENT, EACCES, EISDIR).
 */
export function openAppendFile(path: string, mode: number): AppendFile {
  const fd = openSync(path, "a", mode);
  try {
    if ((fstatSync(fd).mode & 0o777 & ~mode) !== 0) fchmodSync(fd, mode);
  } catch {
    // Not ours to change (another user's file we may append to): written as it is.
  }
  let open = true;
  return {
    append: (text) => {
      if (!open) return;
      const bytes = new TextEncoder().encode(text);
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
    },
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
