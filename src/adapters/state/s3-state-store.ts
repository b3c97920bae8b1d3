/**
 * @module StateStore on S3: GetObject/PutObject with S3 conditional writes (If-Match on the ETag
 * read at start, If-None-Match: * for the first write) so a concurrent run never overwrites newer
 * state, and a run lock object `<key>.lock` so a second run stops before it reads or writes anything.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { SyncError } from "../../core/errors.ts";
import type { LoadedState, Logger, RunLock, RunLockOptions, StateStore } from "../../core/ports.ts";
import { parseState, savedChunks } from "../../core/state.ts";
import type { SyncState } from "../../model/index.ts";
import { describeHolder, heldError, holderProcessGone, minutes, newHolder, pastItsEnd, readHolder, RUN_LOCK_REFRESH_MS, RUN_LOCK_STALE_MS, type LockHolder } from "./run-lock.ts";

export interface S3StateStoreOptions {
  bucket: string;
  key: string;
  /** Extra client configuration (path-style, region); the SDK takes the endpoint from AWS_ENDPOINT_URL_S3 by itself. */
  client?: S3ClientConfig;
  /** The run lock's timings; the defaults (10 min, 30 s) are the file store's. Tests shorten them. */
  runLock?: { staleAfterMs?: number; refreshEveryMs?: number };
}

/** What the lock's owner knows of it while it holds it. */
interface HeldLock {
  holder: LockHolder;
  etag: string;
  /** Set when a refresh found the lock taken over (or deleted): the run must not write the state any more. */
  lostTo?: string;
}

const status = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const name = (error: unknown) => (error as { name?: string }).name;
/** 412 PreconditionFailed; S3 answers 409 ConditionalRequestConflict to a conditional write racing another. */
const conditionFailed = (error: unknown) => status(error) === 412 || name(error) === "PreconditionFailed" || status(error) === 409;
const missing = (error: unknown) => name(error) === "NoSuchKey" || status(error) === 404;

/** What the store's functions share; `held` is the run lock this store holds, if any. */
interface Store {
  client: S3Client;
  bucket: string;
  where: string;
  lockKey: string;
  lockWhere: string;
  staleAfterMs: number;
  refreshEveryMs: number;
  held?: HeldLock;
}

export function createS3StateStore(options: S3StateStoreOptions): StateStore {
  const store: Store = {
    client: new S3Client({ ...options.client }),
    bucket: options.bucket,
    where: `s3://${options.bucket}/${options.key}`,
    lockKey: `${options.key}.lock`,
    lockWhere: `s3://${options.bucket}/${options.key}.lock`,
    staleAfterMs: options.runLock?.staleAfterMs ?? RUN_LOCK_STALE_MS,
    refreshEveryMs: options.runLock?.refreshEveryMs ?? RUN_LOCK_REFRESH_MS,
  };
  const { client, where, lockWhere } = store;
  // The last body's length (saved or loaded): the next one is about as long, so it is written into one buffer of that size.
  let lastLength = 0;
  const readBack = async (): Promise<{ text: string; version: string } | undefined> => getText(store, options.key).catch(() => undefined);

  return {
    describe: () => where,
    lockForRun: (log, lockOptions) => acquire(store, log, lockOptions),
    async load(): Promise<LoadedState | undefined> {
      try {
        const answer = await getText(store, options.key);
        if (answer === undefined) return undefined;
        // ASCII, as written: its length is the next body's, about.
        lastLength = answer.text.length;
        return { state: parseState(answer.text, where), version: answer.version };
      } catch (error) {
        if (error instanceof SyncError) throw error;
        throw new SyncError("STATE_READ", `cannot read state ${where}: ${name(error) ?? "error"} ${(error as Error).message}`, {
          hint: "check aws.s3_bucket_name, aws.s3_bucket_key and the role's s3:GetObject permission",
        });
      }
    },
    probeWrite: () => probeWrite(store, `${options.key}.doctor-probe-${randomUUID().slice(0, 8)}`),
    async save(state: SyncState, expectedVersion: string | undefined): Promise<string> {
      if (store.held?.lostTo !== undefined) {
        throw new SyncError("STATE_CONFLICT", `state ${where}: this run's lock ${lockWhere} was taken over by ${store.held.lostTo}`, {
          hint: "this run stops without writing the state, and the run holding the lock goes on; this run's refreshes had not reached S3 for a long time (check its network or credentials)",
        });
      }
      // One body, not a stream: the SDK resends it on a retry.
      const body = bodyOf(state, lastLength);
      lastLength = body.length;
      try {
        const answer = await client.send(
          new PutObjectCommand({
            Bucket: options.bucket,
            Key: options.key,
            Body: body,
            ContentType: "application/json",
            ...(expectedVersion === undefined ? { IfNoneMatch: "*" } : { IfMatch: expectedVersion }),
          }),
        );
        return answer.ETag ?? "";
      } catch (error) {
        if (conditionFailed(error)) {
          // The SDK retries a PUT whose answer was lost; if the first try landed, the retry fails its
          // own condition. The object then holds exactly our bytes: that is success, not a conflict.
          const landed = await readBack();
          if (landed !== undefined && Buffer.from(landed.text, "utf8").equals(body)) return landed.version;
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

/**
 * The state's bytes (savedChunks) copied into one buffer of about the last body's length, grown
 * when short. Not a buffer per chunk and their concatenation: that holds the state's bytes twice
 * (68 MB each at 200,000 users).
 */
function bodyOf(state: SyncState, lengthHint: number): Buffer {
  let body = Buffer.allocUnsafeSlow(Math.max(1 << 20, Math.ceil(lengthHint * 1.05)));
  let length = 0;
  for (const chunk of savedChunks(state)) {
    if (length + chunk.length > body.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(body.length * 2, length + chunk.length));
      body.copy(grown, 0, 0, length);
      body = grown;
    }
    body.set(chunk, length);
    length += chunk.length;
  }
  return body.subarray(0, length);
}

/** PutObject with If-None-Match: * of `key` (as the first save of the state), then DeleteObject of it. */
async function probeWrite(store: Store, key: string): Promise<string> {
  const where = `s3://${store.bucket}/${key}`;
  const failure = (what: string, permission: string, error: unknown) =>
    new SyncError("STATE_WRITE", `cannot ${what} ${where}: ${name(error) ?? "error"} ${(error as Error).message}`, {
      hint:
        name(error) === "NoSuchBucket"
          ? `create the bucket, or set aws.s3_bucket_name to an existing one`
          : `check aws.s3_bucket_name and the role's ${permission} permission on ${store.bucket}`,
    });
  try {
    await store.client.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: "idpscim doctor: a probe of write access, removed at once\n", ContentType: "text/plain", IfNoneMatch: "*" }));
  } catch (error) {
    throw failure("write the probe object", "s3:PutObject", error);
  }
  try {
    await store.client.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: key }));
  } catch (error) {
    throw failure("delete the probe object (delete it by hand)", "s3:DeleteObject", error);
  }
  return `wrote and removed ${where}`;
}

async function getText(store: Store, key: string): Promise<{ text: string; version: string; lastModified?: Date } | undefined> {
  try {
    const answer = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }));
    const text = (await answer.Body?.transformToString("utf8")) ?? "";
    return { text, version: answer.ETag ?? "", ...(answer.LastModified ? { lastModified: answer.LastModified } : {}) };
  } catch (error) {
    if (missing(error)) return undefined;
    throw error;
  }
}

function lockFailure(store: Store, what: string, error: unknown): SyncError {
  return new SyncError("STATE_WRITE", `cannot ${what} the run lock ${store.lockWhere}: ${name(error) ?? "error"} ${(error as Error).message}`, {
    hint: `check the role's s3:GetObject, s3:PutObject and s3:DeleteObject permissions on ${store.lockKey}`,
  });
}

/** Writes the lock's body, created (`If-None-Match: *`) or replacing the version we know (`If-Match`); undefined when the condition failed. */
async function putLock(store: Store, holder: LockHolder, condition: { ifMatch: string } | "create"): Promise<string | undefined> {
  const body = `${JSON.stringify(holder)}\n`;
  try {
    const answer = await store.client.send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: store.lockKey,
        Body: body,
        ContentType: "application/json",
        ...(condition === "create" ? { IfNoneMatch: "*" } : { IfMatch: condition.ifMatch }),
      }),
    );
    return answer.ETag ?? "";
  } catch (error) {
    if (!conditionFailed(error) && !missing(error)) throw error;
    // The SDK retries a PUT whose answer was lost; the retry then fails its own condition. The
    // object holding exactly our bytes means the first try landed.
    const landed = await getText(store, store.lockKey).catch(() => undefined);
    return landed?.text === body ? landed.version : undefined;
  }
}

async function acquire(store: Store, log: Logger, lockOptions: RunLockOptions = {}): Promise<RunLock> {
  const { where, lockKey, lockWhere, staleAfterMs, refreshEveryMs } = store;
  const holder = newHolder(lockOptions.endsBy);
  let etag: string | undefined;
  // Three tries: a lock released, or taken over by a third run, between our requests.
  for (let attempt = 0; attempt < 3 && etag === undefined; attempt++) {
    try {
      etag = await putLock(store, holder, "create");
      if (etag !== undefined) break;
      const current = await getText(store, lockKey);
      if (current === undefined) continue; // released meanwhile
      const theirs = readHolder(current.text);
      // The holder's own clock says when it last refreshed (hosts' clocks differ by seconds, the
      // threshold is minutes); a body without a readable time (written by hand) ages from its upload.
      const stamped = Date.parse(theirs.refreshed ?? "");
      const refreshed = Number.isNaN(stamped) ? (current.lastModified?.getTime() ?? Date.now()) : stamped;
      const age = Date.now() - refreshed;
      const ended = pastItsEnd(theirs);
      const gone = holderProcessGone(theirs);
      if (!ended && !gone && age <= staleAfterMs) throw heldError(where, `${describeHolder(theirs)}, last refreshed ${Math.max(0, Math.round(age / 1000))} s ago`, lockWhere, staleAfterMs);
      // Replacing exactly the stale version: of two runs taking it over at once, one wins.
      etag = await putLock(store, holder, { ifMatch: current.version });
      if (etag !== undefined) {
        log.warn(
          gone
            ? `taking over the run lock ${lockWhere} of ${describeHolder(theirs)}: that process is gone`
            : ended
            ? `taking over the run lock ${lockWhere} of ${describeHolder(theirs)}: its runtime ended it at ${theirs.endsBy} (a Lambda invocation's deadline)`
            : `taking over the stale run lock ${lockWhere} of ${describeHolder(theirs)} (not refreshed for ${minutes(age)})`,
        );
      }
    } catch (error) {
      if (error instanceof SyncError) throw error;
      throw lockFailure(store, "take", error);
    }
  }
  if (etag === undefined) {
    throw new SyncError("STATE_CONFLICT", `state ${where} is in use by another run (its lock ${lockWhere} changed while this run tried to take it)`, {
      hint: "this run stopped before reading or writing anything; the next run tries again",
    });
  }
  const lock: HeldLock = { holder, etag };
  store.held = lock;

  // One refresh at a time, and release waits for it: a refresh landing after the delete's
  // condition was read would leave the lock behind.
  let inFlight: Promise<void> = Promise.resolve();
  const refresh = async () => {
    if (lock.lostTo !== undefined) return;
    const next = { ...lock.holder, refreshed: new Date().toISOString() };
    try {
      const newEtag = await putLock(store, next, { ifMatch: lock.etag });
      if (newEtag !== undefined) {
        lock.holder = next;
        lock.etag = newEtag;
        return;
      }
      const current = await getText(store, lockKey).catch(() => undefined);
      lock.lostTo = current === undefined ? "nobody (it was deleted)" : describeHolder(readHolder(current.text));
      log.warn(`the run lock ${lockWhere} was taken over by ${lock.lostTo}: this run stops at its next save, without writing the state`);
    } catch (error) {
      // S3 unreachable for a moment: the next refresh tries again (ten minutes of them before the lock is stale).
      log.warn(`cannot refresh the run lock ${lockWhere} (${name(error) ?? "error"}); trying again in ${Math.round(refreshEveryMs / 1000)} s`);
    }
  };
  const timer = setInterval(() => {
    inFlight = inFlight.then(refresh);
  }, refreshEveryMs);
  return {
    async release() {
      clearInterval(timer);
      await inFlight;
      if (store.held === lock) store.held = undefined;
      if (lock.lostTo !== undefined) return; // not ours any more: never delete another run's lock
      try {
        await store.client.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: lockKey, IfMatch: lock.etag }));
      } catch (error) {
        // 404: gone already (a retried delete whose first try landed). 412: another run's now.
        if (!missing(error) && !conditionFailed(error)) log.warn(`cannot delete the run lock ${lockWhere} (${name(error) ?? "error"}): the next run takes it over, at once on this machine, elsewhere once it is ${minutes(staleAfterMs)} old`);
      }
    },
  };
}
