/**
 * @module `bun run emulators`: the one JSON start-up line names every emulator with what a client
 * needs to use it, S3 credentials and region included, and the process stops on SIGTERM.
 */
import { expect, test } from "bun:test";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { join } from "node:path";
import { EXAMPLE_SCENARIO, ROOT } from "../support/paths.ts";

test("the start-up line carries each emulator's URL and credentials; an S3 client built from it alone lists the bucket", async () => {
  const child = Bun.spawn([process.execPath, join(ROOT, "test/emulators/main.ts"), "--scenario", EXAMPLE_SCENARIO], { stdout: "pipe", stderr: "pipe" });
  try {
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const line = JSON.parse(text.split("\n")[0]!) as { s3: { url: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string } };
    expect(Object.keys(line).sort()).toEqual(["google", "s3", "scim", "secretsManager"]);
    const { s3 } = line;
    const client = new S3Client({
      endpoint: s3.url,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    expect(listed.$metadata.httpStatusCode).toBe(200);
  } finally {
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  }
});
