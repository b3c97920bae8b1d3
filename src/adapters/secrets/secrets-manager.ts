/** @module SecretResolver on AWS Secrets Manager (GetSecretValue); the endpoint follows AWS_ENDPOINT_URL_SECRETS_MANAGER. */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SyncError } from "../../core/errors.ts";
import type { SecretResolver } from "../../core/ports.ts";

export function createSecretsManagerResolver(client = new SecretsManagerClient({})): SecretResolver {
  return {
    async get(name: string): Promise<string> {
      try {
        const answer = await client.send(new GetSecretValueCommand({ SecretId: name }));
        if (answer.SecretString === undefined) {
          throw new SyncError("SECRET_UNAVAILABLE", `secret "${name}" has no string value`, { hint: "store the value as a plaintext secret string" });
        }
        return answer.SecretString;
      } catch (error) {
        if (error instanceof SyncError) throw error;
        const kind = (error as { name?: string }).name ?? "error";
        throw new SyncError("SECRET_UNAVAILABLE", `cannot read secret "${name}" from Secrets Manager (${kind})`, {
          hint: "check the *_secret_name setting, the region (AWS_REGION) and the secretsmanager:GetSecretValue permission",
        });
      }
    },
  };
}
