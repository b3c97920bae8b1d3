/**
 * @module StateStore on S3: GetObject/PutObject with S3 conditional writes (If-Match on the ETag
 * read at start, If-None-Match: * for the first write) so a concurrent run never overwrites newer state.
 */
import { GetObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { SyncError } from "../../core/errors.ts";
import type { LoadedState, StateStore } from "../../core/ports.ts";
import { parseState, serialiseState } from "../../core/state.ts";
import type { SyncState } from "../../model/index.ts";

export interface S3StateStoreOptions {
  bucket: string;
  key: string;
  /** Extra client configuration (path-style, region); the SDK takes the endpoint from AWS_ENDPOINT_URL_S3 by itself. */
  client?: S3ClientConfig;
}

export function createS3StateStore(options: S3StateStoreOptions): StateStore {
  const client = new S3Client({ ...options.client });
  const where = `s3://${options.bucket}/${options.key}`;
  const status = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = (error: unknown) => (error as { name?: string }).name;
  const readBack = async (): Promise<{ text: string; version: string } | undefined> => {
    try {
      const answer = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: options.key }));
      return { text: (await answer.Body?.transformToString("utf8")) ?? "", version: answer.ETag ?? "" };
    } catch {
      return undefined;
    }
  };
  return {
    describe: () => where,
    async load(): Promise<LoadedState | undefined> {
      try {
        const answer = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: options.key }));
        const text = (await answer.Body?.transformToString("utf8")) ?? "";
        return { state: parseState(text, where), version: answer.ETag ?? "" };
      } catch (error) {
        if (error instanceof SyncError) throw error;
        if (name(error) === "NoSuchKey" || status(error) === 404) return undefined;
        throw new SyncError("STATE_READ", `cannot read state ${where}: ${name(error) ?? "error"} ${(error as Error).message}`, {
          hint: "check aws.s3_bucket_name, aws.s3_bucket_key and the role's s3:GetObject permission",
        });
      }
    },
    async save(state: SyncState, expectedVersion: string | undefined): Promise<string> {
      const text = serialiseState(state);
      try {
        const answer = await client.send(
          new PutObjectCommand({
            Bucket: options.bucket,
            Key: options.key,
            Body: text,
            ContentType: "application/json",
            ...(expectedVersion === undefined ? { IfNoneMatch: "*" } : { IfMatch: expectedVersion }),
          }),
        );
        return answer.ETag ?? "";
      } catch (error) {
        if (status(error) === 412 || name(error) === "PreconditionFailed" || status(error) === 409) {
          // The SDK retries a PUT whose answer was lost; if the first try landed, the retry fails its
          // own condition. The object then holds exactly our bytes: that is success, not a conflict.
          const landed = await readBack();
          if (landed?.text === text) return landed.version;
          throw new SyncError("STATE_CONFLICT", `state ${where} changed since this run read it`, {
            hint: "another run wrote it; this run stops without overwriting newer state (the next run continues)",
          });
        }
        throw new SyncError("STATE_WRITE", `cannot write state ${where}: ${name(error) ?? "error"} ${(error as Error).message}`, {
          hint: "check the role's s3:PutObject permission on the state key",
        });
      }
    },
  };
}
