/** @module Secrets Manager emulator: GetSecretValue over the AWS JSON 1.1 protocol, with AWS-shaped errors and fault injection. */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createFaults, sleep, type FaultOptions } from "../faults.ts";
import { RequestLog } from "../request-log.ts";

export interface SecretsEmulator {
  /** Endpoint for `SecretsManagerClient` (`endpoint` option or AWS_ENDPOINT_URL_SECRETS_MANAGER). */
  url: string;
  /** Routes are the operation names: counts look like `{"POST GetSecretValue": 2}`. */
  log: RequestLog;
  /** name -> SecretString; mutable, a change is a new version (new VersionId). */
  secrets: Map<string, string>;
  faults: FaultOptions;
  /** The ARN this emulator gives a secret name (for tests that look secrets up by ARN). */
  arnOf(name: string): string;
  close(): Promise<void>;
}

const ACCOUNT_ID = "123456789012";

export async function startSecretsEmulator(
  options: { secrets?: Record<string, string>; region?: string; faults?: Partial<FaultOptions> } = {},
): Promise<SecretsEmulator> {
  const region = options.region ?? "us-east-1";
  const secrets = new Map(Object.entries(options.secrets ?? {}));
  const log = new RequestLog();
  const faults = createFaults(options.faults);
  // Creation dates are fixed the first time a secret is seen, so repeated reads agree.
  const createdAt = new Map<string, number>();

  const arnOf = (name: string) => `arn:aws:secretsmanager:${region}:${ACCOUNT_ID}:secret:${name}-${arnSuffix(name)}`;

  /** AWS accepts a name, a full ARN, or a partial ARN (without the random six-character suffix). */
  function resolve(secretId: string): string | undefined {
    if (secrets.has(secretId)) return secretId;
    if (!secretId.startsWith("arn:")) return undefined;
    for (const name of secrets.keys()) {
      const arn = arnOf(name);
      if (secretId === arn || secretId === arn.slice(0, -7)) return name;
    }
    return undefined;
  }

  function getSecretValue(input: Record<string, unknown>): Reply {
    const secretId = input.SecretId;
    if (typeof secretId !== "string" || secretId.length === 0) {
      return error(400, "ValidationException", "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null");
    }
    const name = resolve(secretId);
    const value = name === undefined ? undefined : secrets.get(name);
    if (name === undefined || value === undefined) {
      return error(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    }
    const versionId = versionIdOf(name, value);
    const stage = input.VersionStage;
    if ((stage !== undefined && stage !== "AWSCURRENT") || (input.VersionId !== undefined && input.VersionId !== versionId)) {
      const label = stage !== undefined ? `staging label: ${String(stage)}` : `VersionId: ${String(input.VersionId)}`;
      return error(400, "ResourceNotFoundException", `Secrets Manager can't find the specified secret value for ${label}`);
    }
    let created = createdAt.get(name);
    if (created === undefined) {
      created = Date.now() / 1000;
      createdAt.set(name, created);
    }
    return {
      status: 200,
      body: { ARN: arnOf(name), Name: name, SecretString: value, VersionId: versionId, VersionStages: ["AWSCURRENT"], CreatedDate: created },
    };
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((failure: unknown) => {
      if (res.headersSent) res.destroy();
      else send(res, error(500, "InternalServiceError", `An error occurred on the server side. (${(failure as Error).message})`));
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const targetHeader = header(req, "x-amz-target") ?? "";
    const operation = targetHeader.startsWith("secretsmanager.") ? targetHeader.slice("secretsmanager.".length) : targetHeader || "(none)";
    const raw = await readBody(req);
    const reply = (answer: Reply) => {
      log.record({ method, route: operation, url, status: answer.status });
      send(res, answer);
    };

    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (faults.slowRate > 0 && faults.random() < faults.slowRate) await sleep(faults.slowMs);
    if (faults.dropRate > 0 && faults.random() < faults.dropRate) {
      log.record({ method, route: operation, url, status: 0 });
      req.socket.destroy();
      return;
    }
    if (faults.errorRate > 0 && faults.random() < faults.errorRate) {
      return reply(error(500, "InternalServiceError", "An error occurred on the server side."));
    }

    const authorization = header(req, "authorization");
    if (authorization === undefined || !authorization.startsWith("AWS4-HMAC-SHA256 Credential=")) {
      return reply(error(400, "MissingAuthenticationTokenException", "Missing Authentication Token"));
    }
    // Signatures are not verified (no shared secret to check against), only their SigV4 shape.
    if (!/^AWS4-HMAC-SHA256 Credential=[^/\s]+\/\d{8}\/[^/]+\/secretsmanager\/aws4_request, ?SignedHeaders=[^,]+, ?Signature=[0-9a-f]{64}$/.test(authorization)) {
      return reply(error(400, "IncompleteSignatureException", `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' for the secretsmanager service.`));
    }
    if (method !== "POST" || !targetHeader.startsWith("secretsmanager.")) return reply(error(400, "UnknownOperationException", ""));

    let input: unknown;
    try {
      input = raw.length === 0 ? {} : JSON.parse(raw.toString("utf8"));
    } catch {
      return reply(error(400, "SerializationException", "Start of structure or map found where not expected."));
    }
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      return reply(error(400, "SerializationException", "Start of structure or map found where not expected."));
    }
    switch (operation) {
      case "GetSecretValue":
        return reply(getSecretValue(input as Record<string, unknown>));
      default:
        return reply(error(400, "UnknownOperationException", ""));
    }
  }

  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    log,
    secrets,
    faults,
    arnOf,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
  errorType?: string;
}

/** AWS JSON 1.1 error: the type both in `x-amzn-ErrorType` and in `__type`; UnknownOperationException carries no message. */
function error(status: number, type: string, message: string): Reply {
  return { status, errorType: type, body: message ? { __type: type, Message: message } : { __type: type } };
}

function send(res: http.ServerResponse, reply: Reply): void {
  const text = JSON.stringify(reply.body);
  const headers: Record<string, string> = {
    "content-type": "application/x-amz-json-1.1",
    "content-length": String(Buffer.byteLength(text)),
    "x-amzn-requestid": crypto.randomUUID(),
  };
  if (reply.errorType) headers["x-amzn-errortype"] = reply.errorType;
  res.writeHead(reply.status, headers);
  res.end(text);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((done, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => done(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** AWS appends six random characters to secret ARNs; a hash of the name keeps ours stable across runs. */
function arnSuffix(name: string): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const digest = createHash("sha256").update(name).digest();
  return Array.from(digest.subarray(0, 6), (byte) => alphabet[byte % alphabet.length]).join("");
}

/** A UUID-shaped id derived from the value, so changing a secret in the map yields a new version. */
function versionIdOf(name: string, value: string): string {
  const hex = createHash("sha256").update(`${name}\0${value}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
