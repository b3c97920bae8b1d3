/** @module S3 emulator: s3rver (a real S3 REST server) behind a proxy of ours that adds conditional writes, aws-chunked decoding and fault injection. */
import { randomBytes, createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import zlib from "node:zlib";
import { createFaults, sleep, type FaultOptions } from "../faults.ts";
import { RequestLog } from "../request-log.ts";

export interface S3Emulator {
  /** Endpoint for `new S3Client({ endpoint: url, forcePathStyle: true, ... })`. */
  url: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  log: RequestLog;
  faults: FaultOptions;
  /**
   * What the credentials may do, mutable at run time. `write: false` answers every object write
   * (PUT, DELETE, POST) 403 AccessDenied, as S3 does for a role whose policy lacks s3:PutObject
   * and s3:DeleteObject; reads go on.
   */
  access: { write: boolean };
  /**
   * Writes `key` as "another writer" would (a second idpscim, a human with the console): through
   * s3rver's S3 API, bypassing the request log and faults but honouring the per-key write lock.
   * Returns the new ETag (quoted, as S3 sends it).
   */
  putObjectAsOtherWriter(key: string, body: string | Uint8Array): Promise<string>;
  /** Deletes `key` as another writer would (see putObjectAsOtherWriter). */
  deleteObjectAsOtherWriter(key: string): Promise<void>;
  close(): Promise<void>;
}

/** The slice of s3rver's API we use; s3rver ships no type declarations. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

// s3rver is CommonJS without types; createRequire keeps the typing local to this file.
const S3rver = createRequire(import.meta.url)("s3rver") as S3rverConstructor;

// s3rver registers this single key pair; it does not verify SigV4 signatures, only the key id.
const ACCESS_KEY_ID = "S3RVER";
const SECRET_ACCESS_KEY = "S3RVER";

export async function startS3Emulator(
  options: { bucket?: string; faults?: Partial<FaultOptions> } = {},
): Promise<S3Emulator> {
  const bucket = options.bucket ?? "idpscim-state";
  const region = "us-east-1";
  const directory = await mkdtemp(join(tmpdir(), "idpscim-s3-"));
  const backend = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    // The proxy rewrites aws-chunked bodies and headers, which would break a V2 signature check.
    allowMismatchedSignatures: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const backendAddress = await backend.run();
  const upstream = { host: "127.0.0.1", port: backendAddress.port };
  const agent = new http.Agent({ keepAlive: true });

  const log = new RequestLog();
  const faults = createFaults(options.faults);
  const locks = new KeyLocks();
  const access = { write: true };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        sendError(res, 500, "InternalError", `We encountered an internal error. Please try again. (${(error as Error).message})`);
      } else {
        res.destroy();
      }
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const rawUrl = req.url ?? "/";
    const target = parseTarget(rawUrl);
    const record = (status: number) => log.record({ method, route: target.route, url: rawUrl, status });
    let body = await readBody(req);

    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (faults.slowRate > 0 && faults.random() < faults.slowRate) await sleep(faults.slowMs);
    if (faults.dropRate > 0 && faults.random() < faults.dropRate) {
      record(0);
      req.socket.destroy();
      return;
    }
    if (faults.errorRate > 0 && faults.random() < faults.errorRate) {
      record(500);
      sendError(res, 500, "InternalError", "We encountered an internal error. Please try again.");
      return;
    }

    const headers = forwardableHeaders(req.headers);
    if (isAwsChunked(req.headers)) {
      const decoded = decodeAwsChunked(body);
      if (!decoded) {
        record(400);
        sendError(res, 400, "IncompleteBody", "The request body terminated unexpectedly");
        return;
      }
      body = decoded.body;
      Object.assign(headers, decoded.trailers);
      normalizeDecodedHeaders(headers);
    }
    const digestError = checkChecksums(headers, body);
    if (digestError) {
      record(400);
      sendError(res, 400, "BadDigest", digestError);
      return;
    }
    headers["content-length"] = String(body.length);

    const isObjectWrite = target.key !== undefined && (method === "PUT" || method === "DELETE" || method === "POST");
    if (isObjectWrite && !access.write) {
      record(403);
      sendError(res, 403, "AccessDenied", "Access Denied");
      return;
    }
    const run = async () => {
      const failure = await evaluatePreconditions(method, target, req.headers);
      if (failure) {
        record(failure.status);
        sendError(res, failure.status, failure.code, failure.message, failure.extra, method === "HEAD");
        return;
      }
      const answer = await forward(method, rawUrl, headers, body);
      const lose = isObjectWrite && faults.lostResponseRate > 0 && faults.random() < faults.lostResponseRate;
      if (lose) {
        // The write happened; only the answer is lost, as when a client's connection drops late.
        answer.resume();
        await new Promise((resolve) => answer.on("end", resolve));
        record(0);
        req.socket.destroy();
        return;
      }
      if (method === "PUT" && answer.statusCode === 200 && target.key !== undefined) await settled(rawUrl, body.length);
      record(answer.statusCode ?? 502);
      await relay(answer, res);
    };
    // Reads of an object take its lock too: S3 serves the old or the new object, never half of one.
    if (target.key !== undefined) {
      await locks.run(`${target.bucket}/${target.key}`, run);
    } else {
      await run();
    }
  }

  /**
   * s3rver answers a PUT before the object is fully on disk: a GET straight after could read 0
   * bytes. S3 has read-after-write consistency, so the PUT is answered only once it reads back.
   */
  async function settled(rawUrl: string, length: number): Promise<void> {
    const path = rawUrl.split("?")[0]!;
    for (let attempt = 0; attempt < 200; attempt++) {
      const answer = await forward("GET", path, {}, Buffer.alloc(0));
      const chunks: Buffer[] = [];
      for await (const chunk of answer) chunks.push(chunk as Buffer);
      if (answer.statusCode === 200 && Buffer.concat(chunks).length === length) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** S3's If-Match / If-None-Match rules for PutObject and DeleteObject, and If-Match for GetObject/HeadObject (s3rver lacks both). */
  async function evaluatePreconditions(
    method: string,
    target: Target,
    headers: http.IncomingHttpHeaders,
  ): Promise<PreconditionFailure | undefined> {
    if (target.key === undefined || target.hasQuery) return undefined;
    const ifMatch = headerValue(headers["if-match"]);
    const ifNoneMatch = method === "PUT" ? headerValue(headers["if-none-match"]) : undefined;
    if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
    if (method !== "PUT" && method !== "DELETE" && method !== "GET" && method !== "HEAD") return undefined;
    if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== "*") {
      return {
        status: 501,
        code: "NotImplemented",
        message: "A header you provided implies functionality that is not implemented",
        extra: { Header: "If-None-Match" },
      };
    }
    const current = await currentEtag(target.rawPath);
    if (ifMatch !== undefined) {
      if (current === undefined) {
        return { status: 404, code: "NoSuchKey", message: "The specified key does not exist.", extra: { Key: target.key } };
      }
      if (!etagListMatches(ifMatch, current)) return preconditionFailed("If-Match");
    }
    if (ifNoneMatch !== undefined && current !== undefined) return preconditionFailed("If-None-Match");
    return undefined;
  }

  async function currentEtag(rawPath: string): Promise<string | undefined> {
    const answer = await forward("HEAD", rawPath, {}, Buffer.alloc(0));
    answer.resume();
    if (answer.statusCode === 404) return undefined;
    if (answer.statusCode !== 200) throw new Error(`s3rver HEAD ${rawPath} answered ${answer.statusCode}`);
    return headerValue(answer.headers.etag);
  }

  function forward(method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const request = http.request({ ...upstream, agent, method, path, headers: { ...headers, "content-length": String(body.length) } }, resolve);
      request.on("error", reject);
      request.end(body);
    });
  }

  function objectPath(key: string): string {
    return `/${encodeURIComponent(bucket)}/${key.split("/").map(encodeURIComponent).join("/")}`;
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    bucket,
    region,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    log,
    faults,
    access,
    async putObjectAsOtherWriter(key, content) {
      const body = Buffer.from(content);
      return locks.run(`${bucket}/${key}`, async () => {
        const answer = await forward("PUT", objectPath(key), { "content-type": "application/octet-stream" }, body);
        answer.resume();
        if (answer.statusCode !== 200) throw new Error(`other writer PUT ${key}: s3rver answered ${answer.statusCode}`);
        await settled(objectPath(key), body.length);
        return headerValue(answer.headers.etag) ?? `"${createHash("md5").update(body).digest("hex")}"`;
      });
    },
    async deleteObjectAsOtherWriter(key) {
      await locks.run(`${bucket}/${key}`, async () => {
        const answer = await forward("DELETE", objectPath(key), {}, Buffer.alloc(0));
        answer.resume();
        if (answer.statusCode !== 204 && answer.statusCode !== 200) {
          throw new Error(`other writer DELETE ${key}: s3rver answered ${answer.statusCode}`);
        }
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
      await backend.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

interface Target {
  bucket?: string;
  key?: string;
  /** The path as received, still URL-encoded, without the query. */
  rawPath: string;
  hasQuery: boolean;
  route: string;
}

function parseTarget(rawUrl: string): Target {
  const queryAt = rawUrl.indexOf("?");
  const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const query = queryAt === -1 ? "" : rawUrl.slice(queryAt + 1);
  const [, rawBucket = "", ...rawKey] = rawPath.split("/");
  const bucket = rawBucket ? decodeURIComponent(rawBucket) : undefined;
  const keyText = rawKey.join("/");
  const key = keyText ? decodeURIComponent(keyText) : undefined;
  // Sub-resources (?uploads, ?tagging, ?list-type=2 …) are part of the route so counts tell operations apart.
  const subresources = query
    .split("&")
    .map((part) => part.split("=")[0] ?? "")
    .filter((name) => name && !["prefix", "delimiter", "max-keys", "continuation-token", "start-after", "marker", "encoding-type", "x-id", "fetch-owner", "partNumber", "uploadId"].includes(name));
  const base = key !== undefined ? "/{bucket}/{key}" : bucket !== undefined ? "/{bucket}" : "/";
  const route = subresources.length > 0 ? `${base}?${subresources.sort().join("&")}` : base;
  return { bucket, key, rawPath, hasQuery: query.split("&").some((p) => p && !p.startsWith("x-id=")), route };
}

interface PreconditionFailure {
  status: number;
  code: string;
  message: string;
  extra: Record<string, string>;
}

function preconditionFailed(condition: string): PreconditionFailure {
  return {
    status: 412,
    code: "PreconditionFailed",
    message: "At least one of the pre-conditions you specified did not hold",
    extra: { Condition: condition },
  };
}

/** `If-Match` may carry one ETag, a comma-separated list, or `*`; S3 ignores the quotes and weak markers. */
function etagListMatches(header: string, current: string): boolean {
  const bare = (tag: string) => tag.trim().replace(/^W\//, "").replace(/"/g, "");
  return header.split(",").some((tag) => tag.trim() === "*" || bare(tag) === bare(current));
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "host", "expect", "upgrade", "proxy-connection", "te", "trailer"]);

function forwardableHeaders(incoming: http.IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  return headers;
}

function isAwsChunked(headers: http.IncomingHttpHeaders): boolean {
  const sha = headerValue(headers["x-amz-content-sha256"]) ?? "";
  const encoding = headerValue(headers["content-encoding"]) ?? "";
  return sha.startsWith("STREAMING-") || encoding.split(",").some((e) => e.trim() === "aws-chunked");
}

/**
 * Decodes an aws-chunked body (`<hex size>[;chunk-signature=…]\r\n<data>\r\n … 0\r\n<trailers>\r\n`).
 * Recent SDKs send PutObject this way (with a CRC32 trailer); s3rver would store the framing verbatim.
 */
export function decodeAwsChunked(raw: Buffer): { body: Buffer; trailers: Record<string, string> } | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    if (lineEnd === -1) return undefined;
    const sizeText = raw.subarray(at, lineEnd).toString("latin1").split(";")[0]?.trim() ?? "";
    const size = Number.parseInt(sizeText, 16);
    if (!/^[0-9a-fA-F]+$/.test(sizeText) || Number.isNaN(size)) return undefined;
    at = lineEnd + 2;
    if (size === 0) break;
    if (at + size > raw.length) return undefined;
    parts.push(raw.subarray(at, at + size));
    at += size;
    if (raw.toString("latin1", at, at + 2) !== "\r\n") return undefined;
    at += 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of raw.subarray(at).toString("latin1").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === "x-amz-trailer-signature") continue;
    trailers[name] = line.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(parts), trailers };
}

/** After decoding, the request must look like a plain PutObject to s3rver. */
function normalizeDecodedHeaders(headers: Record<string, string>): void {
  const encodings = (headers["content-encoding"] ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e && e !== "aws-chunked");
  if (encodings.length > 0) headers["content-encoding"] = encodings.join(",");
  else delete headers["content-encoding"];
  delete headers["x-amz-decoded-content-length"];
  delete headers["x-amz-trailer"];
  headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
}

/** Checks x-amz-checksum-* (header or decoded trailer) like S3 does, so a corrupting proxy bug shows up as BadDigest. */
function checkChecksums(headers: Record<string, string>, body: Buffer): string | undefined {
  const expectations: [string, string, () => string][] = [
    ["x-amz-checksum-crc32", "CRC32", () => crc32Base64(body)],
    ["x-amz-checksum-sha1", "SHA1", () => createHash("sha1").update(body).digest("base64")],
    ["x-amz-checksum-sha256", "SHA256", () => createHash("sha256").update(body).digest("base64")],
  ];
  for (const [header, name, compute] of expectations) {
    const expected = headers[header];
    if (expected !== undefined && expected !== compute()) {
      return `The ${name} you specified did not match the calculated checksum.`;
    }
  }
  const md5 = headers["content-md5"];
  if (md5 !== undefined && md5 !== createHash("md5").update(body).digest("base64")) {
    return "The Content-MD5 you specified did not match what we received.";
  }
  return undefined;
}

function crc32Base64(body: Buffer): string {
  const value = zlib.crc32(body);
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes.toString("base64");
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function relay(answer: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  // A client that died meanwhile (a killed run) closed `res` already: its "close" will not fire
  // again, and waiting for it would hold the key lock forever. Drain s3rver's answer and go on.
  if (res.destroyed || res.writableEnded) {
    answer.resume();
    return;
  }
  res.writeHead(answer.statusCode ?? 502, headers);
  await new Promise<void>((resolve, reject) => {
    answer.pipe(res);
    answer.on("error", reject);
    res.on("finish", resolve);
    res.on("close", resolve);
  });
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Writes an S3-shaped XML error (`<Error><Code>…</Code><Message>…</Message>…<RequestId>…</RequestId></Error>`). */
function sendError(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
  headOnly = false,
): void {
  const requestId = randomBytes(8).toString("hex").toUpperCase();
  const fields = Object.entries(extra)
    .map(([name, value]) => `<${name}>${xmlEscape(value)}</${name}>`)
    .join("");
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>` +
    `${fields}<RequestId>${requestId}</RequestId><HostId>${randomBytes(24).toString("base64")}</HostId></Error>`;
  res.writeHead(status, {
    "content-type": "application/xml",
    "x-amz-request-id": requestId,
    "content-length": headOnly ? "0" : String(Buffer.byteLength(xml)),
  });
  res.end(headOnly ? undefined : xml);
}

/** Serializes work per key so a conditional check and the write it guards cannot interleave with another write. */
class KeyLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
