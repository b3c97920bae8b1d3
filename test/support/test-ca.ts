/**
 * @module Throw-away TLS material for a test server: a CA, a server certificate it signed for
 * `localhost`, `127.0.0.1`, `::1` and this host's name, and a second, unrelated CA that trusts
 * nothing the server presents (for "the CA file does not trust the server" tests). Made with the
 * `openssl` CLI (3.0 or later, for `req -x509 -CA`): Node has no API that issues certificates, and
 * the CLI is on every machine that has slapd, so no npm package is needed for it.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export interface TestCa {
  /** PEM: the CA that signed `certFile`; what a client's `ca`/`tls_ca_file` must name. */
  caFile: string;
  /** PEM: the server's certificate (leaf only; the CA signs it directly). */
  certFile: string;
  /** PEM (PKCS#8, unencrypted): the server's private key. */
  keyFile: string;
  /** PEM: a CA unrelated to the server's certificate: verifying the server against it must fail. */
  otherCaFile: string;
  /** The names the server certificate is valid for (its subjectAltName). */
  serverNames: string[];
}

/** Short-lived on purpose: nothing outlives the test that made it. */
const VALID_DAYS = "2";
// P-256 keys take milliseconds to make, RSA ones up to a second; every TLS stack in play takes them.
const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
const CA_EXTENSIONS = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"];

/** Writes a fresh CA, server certificate and unrelated CA into `directory` (created if needed). */
export function createTestCa(directory: string, openssl = "openssl"): TestCa {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const path = (name: string) => join(directory, name);
  // libldap checks a `localhost` URL against the machine's own name (it canonicalises it), so that
  // name is in the certificate too; `ldaps://localhost` then verifies with ldapsearch as with Node.
  const serverNames = [...new Set(["localhost", hostname()].filter((n) => n !== ""))];
  const subjectAltName = [...serverNames.map((n) => `DNS:${n}`), "IP:127.0.0.1", "IP:::1"].join(",");
  const run = (args: string[]) => {
    const result = spawnSync(openssl, args, { encoding: "utf8" });
    if (result.error || result.status !== 0) {
      throw new Error(`${openssl} ${args[0]} failed while making test TLS material in ${directory}: ${result.error?.message ?? result.stderr.trim()}`);
    }
  };
  const selfSignedCa = (name: string, subject: string) =>
    run(["req", "-x509", "-new", ...KEY, "-keyout", path(`${name}.key`), "-out", path(`${name}.pem`), "-days", VALID_DAYS, "-subj", subject, ...CA_EXTENSIONS]);

  selfSignedCa("ca", "/O=idpscim tests/CN=idpscim test CA");
  run([
    "req", "-x509", "-new", ...KEY, "-keyout", path("server.key"), "-out", path("server.pem"), "-days", VALID_DAYS,
    "-subj", "/O=idpscim tests/CN=localhost", "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
    "-addext", `subjectAltName=${subjectAltName}`, "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=serverAuth",
  ]);
  selfSignedCa("other-ca", "/O=somebody else/CN=an unrelated CA");
  return { caFile: path("ca.pem"), certFile: path("server.pem"), keyFile: path("server.key"), otherCaFile: path("other-ca.pem"), serverNames };
}
