/**
 * @module terraform/scripts/fetch-package.sh for real: run with /bin/sh (dash here, so POSIX) against
 * an HTTP server on 127.0.0.1, as the module's data "external" runs it (JSON on stdin, the result
 * as JSON on stdout). A good checksum hands over the file; a bad one fails with the expected and
 * actual sums and leaves nothing at the destination, so nothing can be uploaded from it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const SCRIPT = resolve(import.meta.dir, "../../terraform/scripts/fetch-package.sh");
const PACKAGE = randomBytes(256 * 1024);
const SHA256 = createHash("sha256").update(PACKAGE).digest("hex");
const WRONG = createHash("sha256").update("not the package").digest("hex");

let server: ReturnType<typeof Bun.serve>;
let base: string;
let dir: string;
const requests: string[] = [];

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      requests.push(path);
      if (path === "/v0.1.0/bootstrap.zip") return new Response(PACKAGE, { headers: { "content-type": "application/zip" } });
      // GitHub answers a release download with a redirect to its storage.
      if (path === "/redirect/bootstrap.zip") return Response.redirect(`${base}/v0.1.0/bootstrap.zip`, 302);
      return new Response("Not Found", { status: 404 });
    },
  });
  base = `http://127.0.0.1:${server.port}`;
  dir = mkdtempSync(join(tmpdir(), "idpscim-fetch-"));
});

afterAll(() => {
  server.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the script with sh, stdin as data "external" gives it; async, since the server runs in this process. */
async function fetchPackage(args: string[], env: Record<string, string | undefined> = process.env) {
  const child = Bun.spawn(["sh", SCRIPT, ...args], {
    stdin: new TextEncoder().encode(JSON.stringify({ query: "ignored" })),
    stdout: "pipe",
    stderr: "pipe",
    env,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/** Files left in a directory (a partial download would show here). */
function leftovers(path: string): string[] {
  return existsSync(path) ? readdirSync(path) : [];
}

/** A PATH holding only the given tools (symlinks), to run the script without curl or sha256sum. */
function pathWith(tools: string[]): string {
  const bin = mkdtempSync(join(dir, "bin-"));
  for (const tool of tools) {
    const found = Bun.which(tool);
    if (found) symlinkSync(found, join(bin, tool));
  }
  return bin;
}

describe("fetch-package.sh", () => {
  test("a good checksum: the file at DEST, byte for byte, and the result JSON data \"external\" reads", async () => {
    const dest = join(dir, "good", ".terraform", "idpscim", "bootstrap-0.1.0.zip");
    const result = await fetchPackage([`${base}/v0.1.0/bootstrap.zip`, SHA256, dest]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ path: dest, sha256: SHA256 });
    expect(Buffer.compare(readFileSync(dest), PACKAGE)).toBe(0);
    expect(leftovers(join(dir, "good", ".terraform", "idpscim"))).toEqual(["bootstrap-0.1.0.zip"]);
  });

  test("a file already at DEST with the checksum is used without downloading (every plan runs the script)", async () => {
    const dest = join(dir, "cached", "bootstrap.zip");
    mkdirSync(join(dir, "cached"));
    writeFileSync(dest, PACKAGE);
    const before = requests.length;
    const result = await fetchPackage([`${base}/v0.1.0/bootstrap.zip`, SHA256, dest]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).path).toBe(dest);
    expect(requests.length).toBe(before);
  });

  test("a bad checksum fails, says which sums differ, and leaves nothing at DEST or beside it", async () => {
    const dest = join(dir, "bad", "bootstrap.zip");
    const before = requests.length;
    const result = await fetchPackage([`${base}/v0.1.0/bootstrap.zip`, WRONG, dest]);
    expect(requests.length).toBe(before + 1); // it did download, then refused
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`checksum mismatch for ${base}/v0.1.0/bootstrap.zip: expected sha256 ${WRONG}, got ${SHA256}`);
    expect(result.stderr).toContain("nothing was written to");
    expect(existsSync(dest)).toBe(false);
    expect(leftovers(join(dir, "bad"))).toEqual([]);
  });

  test("a cached file that no longer matches is dropped, and a failed download leaves nothing", async () => {
    const dest = join(dir, "stale", "bootstrap.zip");
    mkdirSync(join(dir, "stale"));
    writeFileSync(dest, "a truncated download");
    const result = await fetchPackage([`${base}/v0.1.0/bootstrap.zip`, WRONG, dest]);
    expect(result.code).toBe(1);
    expect(existsSync(dest)).toBe(false);
    expect(leftovers(join(dir, "stale"))).toEqual([]);
  });

  test("a missing release (404) fails clearly, nothing written", async () => {
    const dest = join(dir, "missing", "bootstrap.zip");
    const result = await fetchPackage([`${base}/v9.9.9/bootstrap.zip`, SHA256, dest]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`could not download ${base}/v9.9.9/bootstrap.zip`);
    expect(existsSync(dest)).toBe(false);
    expect(leftovers(join(dir, "missing"))).toEqual([]);
  });

  test("a redirect is followed (GitHub release downloads redirect)", async () => {
    const dest = join(dir, "redirect", "bootstrap.zip");
    const result = await fetchPackage([`${base}/redirect/bootstrap.zip`, SHA256, dest]);
    expect(result.code).toBe(0);
    expect(Buffer.compare(readFileSync(dest), PACKAGE)).toBe(0);
  });

  test("bad arguments are refused before any download", async () => {
    const before = requests.length;
    for (const [args, message] of [
      [[`${base}/v0.1.0/bootstrap.zip`, "none", join(dir, "x.zip")], "64 lowercase hexadecimal"],
      [[`${base}/v0.1.0/bootstrap.zip`, SHA256.toUpperCase(), join(dir, "x.zip")], "64 lowercase hexadecimal"],
      [[`file:///etc/passwd`, SHA256, join(dir, "x.zip")], "must start with https:// or http://"],
      [[`${base}/v0.1.0/bootstrap.zip`, SHA256, join(dir, 'x".zip')], "without quotes"],
      [[`${base}/v0.1.0/bootstrap.zip`, SHA256], "usage"],
    ] as const) {
      const result = await fetchPackage([...args]);
      expect(`${result.code} ${result.stderr}`).toContain(`1 fetch-package.sh: `);
      expect(result.stderr).toContain(message);
    }
    expect(requests.length).toBe(before);
    expect(existsSync(join(dir, "x.zip"))).toBe(false);
  });

  const wgetAndShasum = Bun.which("wget") !== null && Bun.which("shasum") !== null;
  test.skipIf(!wgetAndShasum)("without curl and sha256sum: wget and shasum (as on macOS or Alpine)", async () => {
    const bin = pathWith(["sh", "cat", "cut", "mkdir", "dirname", "mv", "rm", "wget", "shasum", "perl"]);
    expect(existsSync(join(bin, "curl"))).toBe(false);
    expect(existsSync(join(bin, "sha256sum"))).toBe(false);
    const env = { PATH: bin, HOME: dir };
    const good = join(dir, "wget", "bootstrap.zip");
    const ok = await fetchPackage([`${base}/v0.1.0/bootstrap.zip`, SHA256, good], env);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(Buffer.compare(readFileSync(good), PACKAGE)).toBe(0);
    const bad = join(dir, "wget", "bad.zip");
    const refused = await fetchPackage([`${base}/v0.1.0/bootstrap.zip`, WRONG, bad], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`expected sha256 ${WRONG}, got ${SHA256}`);
    expect(leftovers(join(dir, "wget"))).toEqual(["bootstrap.zip"]);
  });

  test("with no downloader at all, it says so", async () => {
    const bin = pathWith(["sh", "cat", "cut", "mkdir", "dirname", "mv", "rm", "sha256sum"]);
    const result = await fetchPackage([`${base}/v0.1.0/bootstrap.zip`, SHA256, join(dir, "none", "bootstrap.zip")], { PATH: bin });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("neither curl nor wget is installed");
  });
});
