/**
 * @module Starts every emulator the product talks to (AWS SCIM, Google Directory + OAuth, S3,
 * Secrets Manager) from one scenario, and stops them together. Used by tests, the demo and benchmarks.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FaultOptions } from "./faults.ts";
import { startGoogleEmulator, type GoogleEmulator, type GoogleEmulatorOptions } from "./google/server.ts";
import { startS3Emulator, type S3Emulator } from "./s3/server.ts";
import type { Scenario } from "./scenario.ts";
import { startScimEmulator, type ScimEmulator, type ScimEmulatorOptions } from "./scim/server.ts";
import { startSecretsEmulator, type SecretsEmulator } from "./secrets/server.ts";

export interface EmulatorsOptions {
  scenario: Scenario;
  scim?: Omit<ScimEmulatorOptions, "scenario">;
  google?: Omit<GoogleEmulatorOptions, "scenario" | "directory">;
  s3?: { faults?: Partial<FaultOptions> };
  secrets?: Record<string, string>;
}

export interface Emulators {
  scim: ScimEmulator;
  google: GoogleEmulator;
  s3: S3Emulator;
  secrets: SecretsEmulator;
  /** A private temporary directory (service-account key, state files, configs); removed on close. */
  directory: string;
  /** The one-line description `bun run emulators` prints. */
  describe(): EmulatorsDescription;
  close(): Promise<void>;
}

export interface EmulatorsDescription {
  scim: { url: string; token: string };
  google: { url: string; tokenUrl: string; serviceAccountFile: string; adminEmail: string };
  /** What an S3 client needs: the emulator takes any credentials, but the SDK signs with some. */
  s3: { url: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
  secretsManager: { url: string };
}

export async function startEmulators(options: EmulatorsOptions): Promise<Emulators> {
  const directory = mkdtempSync(join(tmpdir(), "idpscim-emulators-"));
  const [scim, google, s3, secrets] = await Promise.all([
    startScimEmulator({ scenario: options.scenario, ...options.scim }),
    startGoogleEmulator({ scenario: options.scenario, directory, ...options.google }),
    startS3Emulator(options.s3 ?? {}),
    startSecretsEmulator({ secrets: options.secrets ?? {} }),
  ]);
  return {
    scim,
    google,
    s3,
    secrets,
    directory,
    describe: () => ({
      scim: { url: scim.url, token: scim.token },
      google: { url: google.url, tokenUrl: google.tokenUrl, serviceAccountFile: google.serviceAccountFile, adminEmail: google.adminEmail },
      s3: { url: s3.url, bucket: s3.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      secretsManager: { url: secrets.url },
    }),
    async close() {
      await Promise.all([scim.close(), google.close(), s3.close(), secrets.close()]);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Environment for a product process that talks to these emulators through the AWS SDK's
 * standard variables (no code path of the product knows it is under test).
 */
export function awsEnvironment(emulators: Emulators): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: emulators.s3.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: emulators.secrets.url,
    AWS_ACCESS_KEY_ID: emulators.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emulators.s3.secretAccessKey,
    AWS_REGION: emulators.s3.region,
    // Keep the SDK from looking for profiles or instance metadata on the developer's machine.
    AWS_EC2_METADATA_DISABLED: "true",
  };
}
