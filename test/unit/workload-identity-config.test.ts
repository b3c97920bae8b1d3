/** @module Unit tests: the keyless credential configuration is checked before any request, each problem one line that names the fix and quotes nothing secret. */
import { describe, expect, test } from "bun:test";
import { parseServiceAccountKey } from "../../src/adapters/google/service-account.ts";
import { parseWorkloadIdentityConfig } from "../../src/adapters/google/workload-identity.ts";
import { isSyncError } from "../../src/core/errors.ts";

const AUDIENCE = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/idpscim/providers/aws-role";
/** What `gcloud iam workload-identity-pools create-cred-config … --aws` writes (docs/google-directory.md §11.1). */
const GCLOUD_CONFIG = {
  universe_domain: "googleapis.com",
  type: "external_account",
  audience: AUDIENCE,
  subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
  token_url: "https://sts.googleapis.com/v1/token",
  credential_source: {
    environment_id: "aws1",
    region_url: "http://169.254.169.254/latest/meta-data/placement/availability-zone",
    url: "http://169.254.169.254/latest/meta-data/iam/security-credentials",
    regional_cred_verification_url: "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
    imdsv2_session_token_url: "http://169.254.169.254/latest/api/token",
  },
};

function problem(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (!isSyncError(error)) throw error;
    expect(error.code).toBe("CONFIG_INVALID");
    return error.describe();
  }
  throw new Error("accepted");
}

describe("parseWorkloadIdentityConfig", () => {
  test("gcloud's AWS configuration: the audience, its project number and STS", () => {
    expect(parseWorkloadIdentityConfig(JSON.stringify(GCLOUD_CONFIG))).toEqual({ audience: AUDIENCE, projectNumber: "123456789012", stsUrl: "https://sts.googleapis.com/v1/token" });
    // With --service-account gcloud adds generateAccessToken impersonation: ignored (it cannot carry sub).
    const impersonating = { ...GCLOUD_CONFIG, service_account_impersonation_url: "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b.iam.gserviceaccount.com:generateAccessToken" };
    expect(parseWorkloadIdentityConfig(JSON.stringify(impersonating)).audience).toBe(AUDIENCE);
  });

  test("not JSON: said without quoting the text", () => {
    const text = problem(() => parseWorkloadIdentityConfig('{"audience": "secret-looking-text'));
    expect(text).toContain("is not valid JSON");
    expect(text).not.toContain("secret-looking-text");
    expect(text).toContain("create-cred-config");
  });

  test("a service-account key given as the configuration says so", () => {
    expect(problem(() => parseWorkloadIdentityConfig(JSON.stringify({ type: "service_account", private_key: "x" })))).toContain('that is a key file; use it with gws.auth = "key"');
  });

  test("an OIDC or file configuration is not for AWS", () => {
    const oidc = { ...GCLOUD_CONFIG, subject_token_type: "urn:ietf:params:oauth:token-type:jwt", credential_source: { file: "/var/run/token" } };
    expect(problem(() => parseWorkloadIdentityConfig(JSON.stringify(oidc)))).toContain("it is not for an AWS provider (create it with --aws)");
    const other = { ...GCLOUD_CONFIG, credential_source: { environment_id: "azure1" } };
    expect(problem(() => parseWorkloadIdentityConfig(JSON.stringify(other)))).toContain('not "aws1"');
  });

  test("a wrong audience: a project id where the number goes, a workforce pool, a missing provider", () => {
    for (const audience of [
      AUDIENCE.replace("123456789012", "my-project"),
      "//iam.googleapis.com/locations/global/workforcePools/pool/providers/p",
      AUDIENCE.replace("/providers/aws-role", ""),
    ]) {
      expect(problem(() => parseWorkloadIdentityConfig(JSON.stringify({ ...GCLOUD_CONFIG, audience })))).toContain("the project's number, not its id");
    }
  });
});

describe("the key route told about a credential configuration", () => {
  test("gws.service_account_file naming a Workload Identity Federation configuration points at gws.auth", () => {
    const text = problem(() => parseServiceAccountKey(JSON.stringify(GCLOUD_CONFIG)));
    expect(text).toContain("is a Workload Identity Federation credential configuration, not a key");
    expect(text).toContain('gws.auth = "workload-identity"');
  });
});
