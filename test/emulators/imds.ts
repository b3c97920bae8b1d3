/**
 * @module EC2 instance metadata (IMDSv2) serving an instance role's credentials, as an EC2 bastion
 * has them: `PUT /latest/api/token` gives a session token, and every GET must carry it
 * (`X-aws-ec2-metadata-token`), else 401; IMDSv1 (no token) is refused, as on an instance that
 * requires IMDSv2. The paths and the credentials document are AWS's
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-security-credentials.html).
 * The AWS SDK finds it through AWS_EC2_METADATA_SERVICE_ENDPOINT.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { RequestLog } from "./request-log.ts";

export interface InstanceMetadata {
  url: string;
  log: RequestLog;
  close(): Promise<void>;
}

export async function startInstanceMetadata(role: { name: string; accessKeyId: string; secretAccessKey: string; sessionToken: string }): Promise<InstanceMetadata> {
  const log = new RequestLog();
  const sessions = new Set<string>();
  const base = "/latest/meta-data/iam/security-credentials/";
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const answer = (status: number, body: string, type = "text/plain") => {
      log.record({ method: req.method ?? "GET", route: path, url: req.url ?? "/", status });
      res.writeHead(status, { "Content-Type": type });
      res.end(body);
    };
    if (req.method === "PUT" && path === "/latest/api/token") {
      if (!req.headers["x-aws-ec2-metadata-token-ttl-seconds"]) return answer(400, "");
      const token = randomBytes(32).toString("base64");
      sessions.add(token);
      return answer(200, token);
    }
    if (req.method !== "GET") return answer(405, "");
    if (!sessions.has(String(req.headers["x-aws-ec2-metadata-token"] ?? ""))) return answer(401, "");
    if (path === base) return answer(200, role.name);
    if (path === `${base}${role.name}`) {
      const now = new Date();
      return answer(
        200,
        JSON.stringify({
          Code: "Success",
          LastUpdated: now.toISOString(),
          Type: "AWS-HMAC",
          AccessKeyId: role.accessKeyId,
          SecretAccessKey: role.secretAccessKey,
          Token: role.sessionToken,
          Expiration: new Date(now.getTime() + 6 * 3600_000).toISOString(),
        }),
        "application/json",
      );
    }
    return answer(404, "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    log,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
