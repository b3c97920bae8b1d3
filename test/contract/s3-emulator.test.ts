/** @module Contract test: the S3 emulator answers the production S3Client the way S3 does, conditional writes included. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { seededRandom } from "../emulators/faults.ts";
import { decodeAwsChunked, startS3Emulator, type S3Emulator } from "../emulators/s3/server.ts";

let s3: S3Emulator;
let client: S3Client;

beforeAll(async () => {
  s3 = await startS3Emulator();
  // Exactly the production construction: no checksum or signing options.
  client = new S3Client({
    endpoint: s3.url,
    forcePathStyle: true,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
});

afterAll(async () => {
  client.destroy();
  await s3.close();
});

beforeEach(() => {
  Object.assign(s3.faults, { errorRate: 0, dropRate: 0, latencyMs: 0, slowRate: 0, lostResponseRate: 0 });
  s3.log.clear();
});

async function getText(key: string): Promise<{ text: string; etag: string | undefined }> {
  const answer = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return { text: (await answer.Body?.transformToString()) ?? "", etag: answer.ETag };
}

async function failure(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(S3ServiceException);
    return error as S3ServiceException;
  }
  throw new Error("expected the request to fail");
}

describe("S3 emulator through the real S3Client", () => {
  test("PutObject, GetObject, HeadObject and ListObjectsV2 round-trip with matching ETags", async () => {
    const put = await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/a.json", Body: '{"v":1}', ContentType: "application/json" }));
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    const got = await getText("state/a.json");
    expect(got).toEqual({ text: '{"v":1}', etag: put.ETag });
    const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: "state/a.json" }));
    expect(head.ETag).toBe(put.ETag);
    expect(head.ContentLength).toBe(7);
    expect(head.ContentType).toBe("application/json");
    const list = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "state/" }));
    expect(list.Contents?.map((o) => [o.Key, o.ETag])).toEqual([["state/a.json", put.ETag]]);
  });

  test("streamed uploads (aws-chunked with a CRC32 trailer, the SDK default) are stored decoded", async () => {
    const body = "x".repeat(70_000) + "ü-end";
    const put = await client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: "state/stream.json",
        Body: Readable.from([Buffer.from(body.slice(0, 30_000)), Buffer.from(body.slice(30_000))]),
        ContentLength: Buffer.byteLength(body),
      }),
    );
    const got = await getText("state/stream.json");
    expect(got.text).toBe(body);
    expect(got.etag).toBe(put.ETag);
  });

  test("a wrong checksum is rejected as BadDigest", async () => {
    const error = await failure(
      client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/bad.json", Body: "abc", ChecksumCRC32: "AAAAAA==" })),
    );
    expect(error.name).toBe("BadDigest");
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  test("IfNoneMatch '*' creates once, then fails with 412 PreconditionFailed", async () => {
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/lock.json", Body: "first", IfNoneMatch: "*" }));
    const error = await failure(
      client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/lock.json", Body: "second", IfNoneMatch: "*" })),
    );
    expect(error.$metadata.httpStatusCode).toBe(412);
    expect(error.name).toBe("PreconditionFailed");
    expect((await getText("state/lock.json")).text).toBe("first");
  });

  test("IfMatch succeeds with the current ETag and fails with 412 once another writer changed the object", async () => {
    const first = await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/cas.json", Body: "v1" }));
    const second = await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/cas.json", Body: "v2", IfMatch: first.ETag }));
    expect(second.ETag).not.toBe(first.ETag);

    const theirs = await s3.putObjectAsOtherWriter("state/cas.json", "changed elsewhere");
    expect((await getText("state/cas.json")).etag).toBe(theirs);
    const error = await failure(
      client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/cas.json", Body: "v3", IfMatch: second.ETag })),
    );
    expect(error.$metadata.httpStatusCode).toBe(412);
    expect(error.name).toBe("PreconditionFailed");
    expect((await getText("state/cas.json")).text).toBe("changed elsewhere");
    // The ETag accepted without quotes too, as S3 does.
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/cas.json", Body: "v4", IfMatch: theirs.replace(/"/g, "") }));
    expect((await getText("state/cas.json")).text).toBe("v4");
  });

  test("the 412 body is S3's XML error naming the condition", async () => {
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/raw.json", Body: "x" }));
    const answer = await fetch(`${s3.url}/${s3.bucket}/state/raw.json`, { method: "PUT", headers: { "If-None-Match": "*" }, body: "y" });
    expect(answer.status).toBe(412);
    const xml = await answer.text();
    expect(xml).toContain("<Code>PreconditionFailed</Code>");
    expect(xml).toContain("<Message>At least one of the pre-conditions you specified did not hold</Message>");
    expect(xml).toContain("<Condition>If-None-Match</Condition>");
  });

  test("IfMatch on a missing key answers 404 NoSuchKey", async () => {
    const error = await failure(
      client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/absent.json", Body: "x", IfMatch: '"0123456789abcdef0123456789abcdef"' })),
    );
    expect(error.$metadata.httpStatusCode).toBe(404);
    expect(error.name).toBe("NoSuchKey");
  });

  test("GetObject of a missing key is NoSuchKey; HeadObject is NotFound", async () => {
    const error = await failure(client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "nope.json" })));
    expect(error.name).toBe("NoSuchKey");
    expect(error.$metadata.httpStatusCode).toBe(404);
    const head = await failure(client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: "nope.json" })));
    expect(head.$metadata.httpStatusCode).toBe(404);
  });

  test("GetObject IfMatch with a stale ETag is 412", async () => {
    const put = await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/get.json", Body: "a" }));
    await s3.putObjectAsOtherWriter("state/get.json", "b");
    const error = await failure(client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "state/get.json", IfMatch: put.ETag })));
    expect(error.$metadata.httpStatusCode).toBe(412);
  });

  test("concurrent IfNoneMatch '*' writers: exactly one wins", async () => {
    const attempts = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/race.json", Body: `writer ${i}`, IfNoneMatch: "*" })),
      ),
    );
    expect(attempts.filter((a) => a.status === "fulfilled")).toHaveLength(1);
    for (const a of attempts) {
      if (a.status === "rejected") expect((a.reason as S3ServiceException).$metadata.httpStatusCode).toBe(412);
    }
  });

  test("concurrent IfMatch writers from the same ETag: exactly one wins", async () => {
    const base = await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/race2.json", Body: "base" }));
    const attempts = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/race2.json", Body: `writer ${i}`, IfMatch: base.ETag })),
      ),
    );
    expect(attempts.filter((a) => a.status === "fulfilled")).toHaveLength(1);
  });

  test("deletes by another writer are visible; the request log counts routes", async () => {
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/gone.json", Body: "x" }));
    await s3.deleteObjectAsOtherWriter("state/gone.json");
    expect((await failure(client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "state/gone.json" })))).name).toBe("NoSuchKey");
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: "state/gone.json" }));
    expect(s3.log.counts()).toEqual({ "PUT /{bucket}/{key}": 1, "GET /{bucket}/{key}": 1, "DELETE /{bucket}/{key}": 1 });
    expect(s3.log.writes()).toBe(2);
  });

  test("errorRate answers 500 InternalError; the SDK retries and then surfaces it", async () => {
    s3.faults.errorRate = 1;
    const error = await failure(client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "state/a.json" })));
    expect(error.$metadata.httpStatusCode).toBe(500);
    expect(error.name).toBe("InternalError");
    expect(s3.log.total((e) => e.status === 500)).toBe(3);
  });

  test("dropRate destroys connections; a seeded partial rate still lets retries through", async () => {
    s3.faults.dropRate = 1;
    await expect(client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "state/a.json" }))).rejects.toThrow();
    s3.faults.dropRate = 0.3;
    s3.faults.random = seededRandom(7);
    for (let i = 0; i < 5; i++) {
      expect((await getText("state/a.json")).text).toBe('{"v":1}');
    }
    expect(s3.log.total((e) => e.status === 0)).toBeGreaterThan(0);
    s3.faults.random = Math.random;
  });

  test("lostResponseRate: the write lands although the client saw no answer", async () => {
    s3.faults.lostResponseRate = 1;
    await expect(
      client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/lost.json", Body: "landed", IfNoneMatch: "*" })),
    ).rejects.toThrow();
    s3.faults.lostResponseRate = 0;
    expect((await getText("state/lost.json")).text).toBe("landed");
  });
});

describe("read-after-write", () => {
  test("a GET straight after each PUT reads the whole new object (S3 is read-after-write consistent)", async () => {
    // s3rver alone answers the PUT before the bytes are on disk: ~1 in 10 of these reads saw 0 bytes.
    let torn = 0;
    for (let i = 0; i < 200; i++) {
      const body = JSON.stringify({ i, users: { a: "b".repeat(i * 50) } });
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "state/raw.json", Body: body }));
      const got = await fetch(`${s3.url}/${s3.bucket}/state/raw.json`);
      if ((await got.text()) !== body) torn++;
    }
    expect(torn).toBe(0);
  });
});

describe("decodeAwsChunked", () => {
  test("decodes signed and unsigned framing with trailers", () => {
    const raw = Buffer.from("5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n");
    expect(decodeAwsChunked(raw)).toEqual({ body: Buffer.from("hello world"), trailers: { "x-amz-checksum-crc32": "DUoRhQ==" } });
  });

  test("rejects truncated bodies", () => {
    expect(decodeAwsChunked(Buffer.from("a\r\nshort"))).toBeUndefined();
  });
});
