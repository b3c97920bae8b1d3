/** @module Contract test: the Secrets Manager emulator answers the real SecretsManagerClient as AWS does. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { startSecretsEmulator, type SecretsEmulator } from "../emulators/secrets/server.ts";

const credentials = { accessKeyId: "AKIAEMULATOR", secretAccessKey: "emulator-secret" };
let secrets: SecretsEmulator;

beforeAll(async () => {
  secrets = await startSecretsEmulator({
    region: "eu-west-1",
    secrets: { "idpscim/google-sa": '{"type":"service_account"}', "idpscim/scim-token": "t0ken" },
  });
});

afterAll(() => secrets.close());

afterEach(() => {
  Object.assign(secrets.faults, { errorRate: 0, dropRate: 0 });
  secrets.log.clear();
});

function explicitClient(): SecretsManagerClient {
  return new SecretsManagerClient({ endpoint: secrets.url, region: "eu-west-1", credentials, maxAttempts: 2 });
}

async function failure(promise: Promise<unknown>): Promise<SecretsManagerServiceException> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SecretsManagerServiceException);
    return error as SecretsManagerServiceException;
  }
  throw new Error("expected the request to fail");
}

describe("Secrets Manager emulator", () => {
  test("endpoint from AWS_ENDPOINT_URL_SECRETS_MANAGER, no endpoint option", async () => {
    const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
    try {
      const client = new SecretsManagerClient({ region: "eu-west-1", credentials });
      const answer = await client.send(new GetSecretValueCommand({ SecretId: "idpscim/scim-token" }));
      expect(answer.SecretString).toBe("t0ken");
      client.destroy();
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
      else process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
    }
    expect(secrets.log.counts()).toEqual({ "POST GetSecretValue": 1 });
  });

  test("by name: the full GetSecretValue answer shape", async () => {
    const client = explicitClient();
    const answer = await client.send(new GetSecretValueCommand({ SecretId: "idpscim/google-sa" }));
    expect(answer.Name).toBe("idpscim/google-sa");
    expect(answer.SecretString).toBe('{"type":"service_account"}');
    expect(answer.ARN).toMatch(/^arn:aws:secretsmanager:eu-west-1:\d{12}:secret:idpscim\/google-sa-[A-Za-z0-9]{6}$/);
    expect(answer.VersionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(answer.VersionStages).toEqual(["AWSCURRENT"]);
    expect(answer.CreatedDate).toBeInstanceOf(Date);
    expect(Math.abs(answer.CreatedDate!.getTime() - Date.now())).toBeLessThan(60_000);
    client.destroy();
  });

  test("by full ARN and by partial ARN", async () => {
    const client = explicitClient();
    const arn = secrets.arnOf("idpscim/scim-token");
    expect((await client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString).toBe("t0ken");
    expect((await client.send(new GetSecretValueCommand({ SecretId: arn.slice(0, -7) }))).Name).toBe("idpscim/scim-token");
    client.destroy();
  });

  test("unknown secret is ResourceNotFoundException with AWS's message", async () => {
    const client = explicitClient();
    const error = await failure(client.send(new GetSecretValueCommand({ SecretId: "idpscim/missing" })));
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error.name).toBe("ResourceNotFoundException");
    expect(error.message).toBe("Secrets Manager can't find the specified secret.");
    expect(error.$metadata.httpStatusCode).toBe(400);
    client.destroy();
  });

  test("changing the map is a new version; other stages are not found", async () => {
    const client = explicitClient();
    const before = await client.send(new GetSecretValueCommand({ SecretId: "idpscim/scim-token" }));
    secrets.secrets.set("idpscim/scim-token", "rotated");
    const after = await client.send(new GetSecretValueCommand({ SecretId: "idpscim/scim-token" }));
    expect(after.SecretString).toBe("rotated");
    expect(after.VersionId).not.toBe(before.VersionId);
    expect(after.CreatedDate).toEqual(before.CreatedDate!);
    const error = await failure(client.send(new GetSecretValueCommand({ SecretId: "idpscim/scim-token", VersionStage: "AWSPREVIOUS" })));
    expect(error.name).toBe("ResourceNotFoundException");
    secrets.secrets.set("idpscim/scim-token", "t0ken");
    client.destroy();
  });

  test("raw protocol: unsigned requests, unknown operations", async () => {
    const post = (headers: Record<string, string>) =>
      fetch(secrets.url, { method: "POST", headers: { "content-type": "application/x-amz-json-1.1", ...headers }, body: "{}" });
    const unsigned = await post({ "x-amz-target": "secretsmanager.GetSecretValue" });
    expect(unsigned.status).toBe(400);
    expect(unsigned.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");
    expect(await unsigned.json()).toEqual({ __type: "MissingAuthenticationTokenException", Message: "Missing Authentication Token" });

    const auth = `AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"a".repeat(64)}`;
    const unknown = await post({ "x-amz-target": "secretsmanager.DeleteEverything", authorization: auth });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get("x-amzn-errortype")).toBe("UnknownOperationException");
    expect(await unknown.json()).toEqual({ __type: "UnknownOperationException" });

    const notFound = await post({ "x-amz-target": "secretsmanager.GetSecretValue", authorization: auth });
    expect(await notFound.json()).toMatchObject({ __type: "ValidationException" });
  });

  test("faults: errorRate surfaces InternalServiceError after the SDK's retries", async () => {
    secrets.faults.errorRate = 1;
    const client = explicitClient();
    const error = await failure(client.send(new GetSecretValueCommand({ SecretId: "idpscim/scim-token" })));
    expect(error.name).toBe("InternalServiceError");
    expect(error.$metadata.httpStatusCode).toBe(500);
    expect(secrets.log.total()).toBe(2);
    secrets.faults.errorRate = 0;
    secrets.faults.dropRate = 1;
    await expect(client.send(new GetSecretValueCommand({ SecretId: "idpscim/scim-token" }))).rejects.toThrow();
    client.destroy();
  });
});
