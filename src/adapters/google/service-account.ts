/** @module The service-account key (parsed and checked without ever echoing it) and the JWT client with domain-wide delegation. § cites docs/google-directory.md. */
import { createPrivateKey } from "node:crypto";
import { Gaxios, type GaxiosOptionsPrepared } from "gaxios";
import { JWT } from "google-auth-library";
import { SyncError } from "../../core/errors.ts";
import { describeAnswer } from "../http-answer.ts";

/** docs/google-directory.md §7.5: the read-only scopes the sync needs; all must be authorised for DWD. */
export const DIRECTORY_READONLY_SCOPES = [
  "https://www.googleapis.com/auth/admin.directory.user.readonly",
  "https://www.googleapis.com/auth/admin.directory.group.readonly",
  "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
] as const;

/** §7.6: hard-coded in google-auth-library; no option changes it, hence the interceptor below. */
const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

export interface ServiceAccountKey {
  clientEmail: string;
  privateKey: string;
  /** The numeric OAuth client id an admin authorises for DWD; may be absent in hand-made files. */
  clientId?: string;
}

const KEY_HINT =
  "download a JSON key for the service account (Google Cloud console > IAM & Admin > Service accounts > Keys > Add key > JSON) " +
  "and point gws.service_account_file at it (or store it in the secret named by gws.service_account_file_secret_name)";

/**
 * A credential file's text as a JSON object, or `invalid`'s error saying it is not one: never
 * JSON.parse's own message, which can quote the text around the error (a private key).
 */
export function jsonObject(text: string, invalid: (what: string) => Error): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid("is not valid JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw invalid("is not a JSON object");
  return json as Record<string, unknown>;
}

/**
 * Checks the key file's text. Messages name what is wrong, never a value from the file:
 * even JSON.parse's own message is dropped because it can quote the text around the error.
 */
export function parseServiceAccountKey(text: string): ServiceAccountKey {
  const invalid = (what: string) => new SyncError("CONFIG_INVALID", `the Google service-account key (gws.service_account_file) ${what}`, { hint: KEY_HINT });
  const key = jsonObject(text, invalid);
  if (key.type === "external_account") {
    // idp-scim-sync and Google's own libraries take this file where a key goes; here it is its own route.
    throw new SyncError("CONFIG_INVALID", "the Google service-account key (gws.service_account_file) is a Workload Identity Federation credential configuration, not a key", {
      hint: 'for keyless authentication set gws.auth = "workload-identity", gws.workload_identity_config to this file and gws.service_account_email, and leave gws.service_account_file out',
    });
  }
  if (key.type !== "service_account") {
    throw invalid(`has type ${typeof key.type === "string" ? JSON.stringify(key.type.slice(0, 40)) : "(missing)"}, not "service_account"`);
  }
  const clientEmail = key.client_email;
  if (typeof clientEmail !== "string" || clientEmail.trim() === "") throw invalid("has no client_email");
  const privateKey = key.private_key;
  if (typeof privateKey !== "string" || !privateKey.includes("PRIVATE KEY")) throw invalid("has no PEM private_key");
  // A damaged PEM would otherwise fail at the first token request, as a "network" error retried six times.
  try {
    createPrivateKey(privateKey);
  } catch {
    throw invalid("has a private_key that does not decode (a damaged or truncated PEM)");
  }
  // §7.6: outside googleapis.com google-auth-library refuses domain-wide delegation.
  const universe = key.universe_domain;
  if (universe !== undefined && universe !== "googleapis.com") {
    throw invalid(`has universe_domain ${JSON.stringify(String(universe).slice(0, 60))}; domain-wide delegation only works in googleapis.com`);
  }
  const clientId = typeof key.client_id === "string" && key.client_id !== "" ? key.client_id : undefined;
  return clientId ? { clientEmail, privateKey, clientId } : { clientEmail, privateKey };
}

export interface JwtClientOptions {
  key: ServiceAccountKey;
  /** The DWD subject: the admin the service account acts as. */
  subject: string;
  /** The scopes asked for; default DIRECTORY_READONLY_SCOPES (`doctor` asks for each alone to find one not delegated). */
  scopes?: readonly string[];
  /** Where to send the token request instead of Google's endpoint (emulators). */
  tokenUrl?: string;
  /** Called once per token request, for request counts. */
  onTokenRequest?: () => void;
  /** Called with every access token issued, so the caller can keep it out of messages. */
  onAccessToken?: (token: string) => void;
}

/**
 * The token endpoint answered 2xx without an access token (an HTML page from a proxy, a wrong
 * `gws.token_url`). Without this check google-auth-library would send "Bearer undefined" and the
 * Directory API's 401 would blame the key.
 */
export class TokenAnswerError extends Error {
  override name = "TokenAnswerError";
  constructor(
    readonly status: number,
    /** What came back instead, e.g. `text/html ("Sign in")`; never the body itself. */
    readonly answer: string,
  ) {
    super(`the token endpoint answered ${status} with ${answer}, not an OAuth token`);
  }
}

/**
 * A JWT client (JWT-bearer grant with DWD `subject`, §7.2–7.3) on our own transporter.
 * Its request interceptor touches only the token call (§8.1): it points it at `tokenUrl` and turns
 * off gaxios's retry, which the token request enables for POST (§6.3), so the source's own backoff
 * is the only retry and its counts are exact. Its response interceptor checks the token call's
 * answer. Directory calls go through `rootUrl` instead.
 */
export function createJwtClient(options: JwtClientOptions): JWT {
  const transporter = new Gaxios();
  const target = options.tokenUrl ? new URL(options.tokenUrl) : undefined;
  const tokenCalls = new WeakSet<GaxiosOptionsPrepared>();
  transporter.interceptors.request.add({
    resolved: async (config) => {
      const url = new URL(String(config.url));
      if (url.origin === "https://oauth2.googleapis.com" && url.pathname === "/token") {
        options.onTokenRequest?.();
        config.retry = false;
        delete config.retryConfig;
        if (target) config.url = new URL(target.href);
        tokenCalls.add(config);
      }
      return config;
    },
  });
  transporter.interceptors.response.add({
    resolved: async (response) => {
      if (!tokenCalls.has(response.config)) return response;
      const data: unknown = response.data;
      const token = typeof data === "object" && data !== null ? (data as { access_token?: unknown }).access_token : undefined;
      if (typeof token !== "string" || token === "") {
        throw new TokenAnswerError(response.status, describeAnswer(data, response.headers.get("content-type")));
      }
      options.onAccessToken?.(token);
      return response;
    },
  });
  return new JWT({
    email: options.key.clientEmail,
    key: options.key.privateKey,
    // §7.6: without scopes the library signs its own bearer JWT and the DWD subject is ignored.
    scopes: [...(options.scopes ?? DIRECTORY_READONLY_SCOPES)],
    subject: options.subject,
    transporter,
  });
}
