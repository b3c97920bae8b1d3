/** @module Service-account key generation, RS256 JWT-bearer assertion checks and the access-token store (docs/google-directory.md §7). */
import { createHash, generateKeyPairSync, randomBytes, verify, type KeyObject, createPublicKey } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BAD_TIMES_DESCRIPTION,
  INVALID_SIGNATURE_DESCRIPTION,
  OAuthError,
  UNAUTHORIZED_CLIENT_DESCRIPTION,
  UNKNOWN_SUBJECT_DESCRIPTION,
} from "./errors.ts";

/** The hard-coded audience the Node client signs (§7.2, §7.6). */
export const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";
export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** Clock skew tolerated on `iat` (Google allows a few minutes; exact value NOT KNOWN). */
const MAX_SKEW_SECONDS = 300;

export interface ServiceAccount {
  key: Record<string, string>;
  file: string;
  publicKey: KeyObject;
}

/**
 * Generates an RSA-2048 key pair and writes a `type: service_account` key file (§7.1).
 * `universe_domain` stays "googleapis.com": anything else makes google-auth-library refuse DWD (§7.6).
 * `token_uri` points at the emulator; the Node client ignores it (§7.1) but other clients honour it.
 */
export function createServiceAccount(directory: string, tokenUrl: string, port: number): ServiceAccount {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const projectId = "idpscim-emulator";
  const clientEmail = `idpscim-sync@${projectId}.iam.gserviceaccount.com`;
  const key: Record<string, string> = {
    type: "service_account",
    project_id: projectId,
    private_key_id: randomBytes(20).toString("hex"),
    private_key: privateKey,
    client_email: clientEmail,
    client_id: numericId(`client:${publicKey}`),
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: tokenUrl,
    auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
    universe_domain: "googleapis.com",
  };
  const file = join(directory, `google-service-account-${port}.json`);
  writeFileSync(file, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  return { key, file, publicKey: createPublicKey(publicKey) };
}

/** A stable 21-digit numeric string (the shape of Google ids) derived from `seed`. */
export function numericId(seed: string): string {
  const digest = createHash("sha256").update(seed).digest();
  const n = digest.readBigUInt64BE(0) * 10000n + BigInt(digest.readUInt16BE(8) % 10000);
  return `1${n.toString().padStart(20, "0").slice(-20)}`;
}

export interface IssuedToken {
  scopes: Set<string>;
  subject: string | undefined;
  expiresAt: number;
}

export interface TokenCheckContext {
  clientEmail: string;
  publicKey: KeyObject;
  privateKeyId: string;
  ownTokenUrl: string;
  grantedScopes: readonly string[];
  /** Whether `email` names an account of the Workspace (the admin or a user): any other `sub` is refused (§7.4). */
  isAccount: (email: string) => boolean;
}

interface JwtClaims {
  iss?: unknown;
  aud?: unknown;
  iat?: unknown;
  exp?: unknown;
  scope?: unknown;
  sub?: unknown;
}

/** Validates the form body of `POST /token` and returns the claims to issue a token for (§7.2–7.4). */
export function checkTokenRequest(form: URLSearchParams, ctx: TokenCheckContext, nowSeconds: number): { scopes: string[]; subject: string | undefined } {
  const grantType = form.get("grant_type");
  if (grantType === null) throw new OAuthError(400, "invalid_request", "Missing required parameter: grant_type");
  if (grantType !== JWT_BEARER_GRANT) throw new OAuthError(400, "unsupported_grant_type", `Invalid grant_type: ${grantType}`);
  const assertion = form.get("assertion");
  if (assertion === null || assertion === "") throw new OAuthError(400, "invalid_request", "Missing required parameter: assertion");

  const claims = verifyAssertion(assertion, ctx);
  if (claims.iss !== ctx.clientEmail) throw new OAuthError(400, "invalid_grant", "Invalid grant: account not found");
  if (claims.aud !== GOOGLE_TOKEN_URL && claims.aud !== ctx.ownTokenUrl) {
    throw new OAuthError(400, "invalid_grant", `Invalid JWT: Failed audience check. The expected audience is ${GOOGLE_TOKEN_URL}.`);
  }
  const { iat, exp } = claims;
  if (typeof iat !== "number" || typeof exp !== "number") throw new OAuthError(400, "invalid_grant", BAD_TIMES_DESCRIPTION);
  // §7.2: at most one hour of validity, not issued in the future, not already expired.
  if (exp - iat > 3600 || exp <= iat || iat > nowSeconds + MAX_SKEW_SECONDS || exp < nowSeconds - MAX_SKEW_SECONDS) {
    throw new OAuthError(400, "invalid_grant", BAD_TIMES_DESCRIPTION);
  }
  const scopes = typeof claims.scope === "string" ? claims.scope.split(" ").filter((s) => s !== "") : [];
  if (scopes.length === 0) throw new OAuthError(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.");
  // §7.4: any scope outside the DWD allow-list fails the whole request with HTTP 401.
  if (scopes.some((s) => !ctx.grantedScopes.includes(s))) {
    throw new OAuthError(401, "unauthorized_client", UNAUTHORIZED_CLIENT_DESCRIPTION);
  }
  const subject = typeof claims.sub === "string" ? claims.sub : undefined;
  // §7.4: a `sub` that is no account of the Workspace gets no token at all.
  if (subject !== undefined && !ctx.isAccount(subject)) throw new OAuthError(400, "invalid_grant", UNKNOWN_SUBJECT_DESCRIPTION);
  return { scopes, subject };
}

function verifyAssertion(assertion: string, ctx: TokenCheckContext): JwtClaims {
  const parts = assertion.split(".");
  const bad = () => new OAuthError(400, "invalid_grant", INVALID_SIGNATURE_DESCRIPTION);
  if (parts.length !== 3) throw bad();
  const [h, p, s] = parts as [string, string, string];
  let header: Record<string, unknown>;
  let claims: JwtClaims;
  try {
    header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
    claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  // §7.2: the Node client sends exactly {"alg":"RS256"}; a `kid`, if present, must name our key.
  if (header.alg !== "RS256") throw bad();
  if (header.kid !== undefined && header.kid !== ctx.privateKeyId) throw bad();
  const ok = verify("RSA-SHA256", Buffer.from(`${h}.${p}`), ctx.publicKey, Buffer.from(s, "base64url"));
  if (!ok) throw bad();
  if (typeof claims !== "object" || claims === null) throw bad();
  return claims;
}

/** Issued access tokens and the scopes/subject each carries. */
export class TokenStore {
  private readonly tokens = new Map<string, IssuedToken>();

  issue(scopes: string[], subject: string | undefined, lifetimeSeconds: number, now = Date.now()): string {
    const token = `ya29.c.${randomBytes(48).toString("base64url")}`;
    this.tokens.set(token, { scopes: new Set(scopes), subject, expiresAt: now + lifetimeSeconds * 1000 });
    return token;
  }

  /** The token's grant, or undefined when unknown or expired. */
  lookup(token: string, now = Date.now()): IssuedToken | undefined {
    const t = this.tokens.get(token);
    if (!t) return undefined;
    if (t.expiresAt <= now) {
      this.tokens.delete(token);
      return undefined;
    }
    return t;
  }
}
