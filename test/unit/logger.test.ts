/** @module Unit tests of the log reporter: text read from Google or AWS can neither forge a line nor drive the terminal. */
import { describe, expect, test } from "bun:test";
import { CONTINUATION_INDENT, createLogger, LOG_MESSAGE_MAX, type LogFormat } from "../../src/log/logger.ts";

const ESC = "\x1b";
const FORGED = "\n2026-01-01T00:00:00.000Z ERROR forged";
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (DEBUG|INFO |WARN |ERROR) /;

function capture(format: LogFormat) {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", format, write: (line) => lines.push(line) });
  return { log, output: () => lines.join("") };
}

describe("text logger", () => {
  test("an ESC sequence in a message is written as a visible \\x1b, never as the byte", () => {
    const { log, output } = capture("text");
    log.warn(`group "Ops${ESC}[2J${ESC}]0;pwned\x07": renamed`);
    expect(output()).not.toContain(ESC);
    expect(output()).not.toContain("\x07");
    expect(output()).toContain('group "Ops\\x1b[2J\\x1b]0;pwned\\x07": renamed');
  });

  test("a forged newline + timestamp never starts a line: every line after the first is indented", () => {
    const { log, output } = capture("text");
    log.info(`adopting group "Team${FORGED}"`);
    const lines = output().trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(TIMESTAMP);
    expect(lines[1]).toBe(`${CONTINUATION_INDENT}2026-01-01T00:00:00.000Z ERROR forged"`);
    expect(lines.filter((l) => l.startsWith("2026-01-01"))).toEqual([]);
  });

  test("our own multi-line messages keep their line breaks, indented; a carriage return cannot rewrite the line", () => {
    const { log, output } = capture("text");
    log.error("SCIM_AUTH: AWS refused the token\nhint: rotate it\n");
    log.error("ok\rERROR forged over the line");
    const text = output();
    expect(text).toContain(`AWS refused the token\n${CONTINUATION_INDENT}hint: rotate it\n`);
    expect(text).not.toContain("\r");
    expect(text).toContain("ok\\rERROR forged");
    expect(text.split("\n").filter((l) => l !== "").every((l) => TIMESTAMP.test(l) || l.startsWith(CONTINUATION_INDENT))).toBe(true);
  });

  test("C1 controls (0x9b, a one-byte CSI) and U+2028 are escaped too", () => {
    const { log, output } = capture("text");
    log.info("a\u009b2Jb\u2028c");
    expect(output()).toContain("a\\x9b2Jb\\u2028c");
  });

  test(`a message over ${LOG_MESSAGE_MAX} characters is cut, with its length; secrets are redacted before the cut`, () => {
    const { log, output } = capture("text");
    const secret = "s3cr3t-token-value-0123456789";
    log.redact(secret);
    log.info(`${"n".repeat(LOG_MESSAGE_MAX - 10)}${secret}${"x".repeat(10_000)}`);
    const text = output();
    expect(text.length).toBeLessThan(LOG_MESSAGE_MAX + 200);
    expect(text).toContain(`…(message cut: ${LOG_MESSAGE_MAX - 10 + 3 + 10_000} characters)`);
    expect(text).not.toContain(secret.slice(0, 8));
  });
});

describe("JSON logger", () => {
  test("each entry is one line whatever the message holds, and parses back to the same message", () => {
    const { log, output } = capture("json");
    const message = `group "Ops${ESC}[2J${FORGED}\u009b\u2028"`;
    log.warn(message);
    const text = output();
    expect(text.endsWith("\n")).toBe(true);
    expect(text.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u);
    expect(JSON.parse(text).message).toBe(message);
    expect(JSON.parse(text).level).toBe("WARN");
  });
});

describe("text logger under journald", () => {
  const journal = () => {
    const lines: string[] = [];
    const log = createLogger({ level: "debug", format: "text", journald: true, write: (line) => lines.push(line) });
    return { log, lines: () => lines.join("").trimEnd().split("\n") };
  };

  test("each line starts with its syslog priority (sd-daemon(3)) and carries no timestamp of its own", () => {
    const { log, lines } = journal();
    log.error("SCIM_AUTH: refused");
    log.warn("time budget reached");
    log.info("source: 2 groups, 5 users");
    log.debug("configuration: {}");
    expect(lines()).toEqual(["<3>ERROR SCIM_AUTH: refused", "<4>WARN  time budget reached", "<6>INFO  source: 2 groups, 5 users", "<7>DEBUG configuration: {}"]);
  });

  test("every continuation line carries the entry's priority, so journald does not file it as info; a forged prefix stays text", () => {
    const { log, lines } = journal();
    log.error(`refused for safety\n  this run would delete 9 users\n<6>forged${FORGED}`);
    expect(lines()).toEqual([
      "<3>ERROR refused for safety",
      `<3>${CONTINUATION_INDENT}  this run would delete 9 users`,
      `<3>${CONTINUATION_INDENT}<6>forged`,
      `<3>${CONTINUATION_INDENT}2026-01-01T00:00:00.000Z ERROR forged`,
    ]);
  });

  test("JSON lines are the same with or without it; text lines without it keep their timestamp", () => {
    const plain: string[] = [];
    const journaled: string[] = [];
    createLogger({ level: "info", format: "json", write: (l) => plain.push(l) }).warn("w");
    createLogger({ level: "info", format: "json", journald: true, write: (l) => journaled.push(l) }).warn("w");
    const strip = (l: string) => l.replace(/"timestamp":"[^"]*"/, "");
    expect(journaled.map(strip)).toEqual(plain.map(strip));
    expect(journaled[0]).toStartWith("{");
    const { log, output } = capture("text");
    log.warn("w");
    expect(output()).toMatch(TIMESTAMP);
  });
});

describe("keyless token shapes (gws.auth = workload-identity) are redacted without being known", () => {
  test("the STS subject token, its decoded SigV4 request, the session token, a federated token and a signJwt assertion", async () => {
    const { AwsClient } = await import("google-auth-library");
    const secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const sessionToken = `IQoJb3JpZ2luX2VjEJr${"Ab9+/".repeat(60)}`;
    const audience = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/pool/providers/aws";
    const client = new AwsClient({
      audience,
      subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
      aws_security_credentials_supplier: {
        getAwsRegion: async () => "eu-west-1",
        getAwsSecurityCredentials: async () => ({ accessKeyId: "ASIAEXAMPLEKEYID0001", secretAccessKey, token: sessionToken }),
      },
    });
    const subjectToken = await client.retrieveSubjectToken();
    const decoded = decodeURIComponent(subjectToken);
    const signature = /Signature=([0-9a-f]{64})/.exec(decoded)![1]!;
    const { log, output } = capture("json");
    log.error(`STS refused subject_token=${subjectToken}`);
    log.error(`the signed request: ${decoded}`);
    log.error(`session ${sessionToken} federated ya29.d.c0ASRK0GaZ2lW-example_token`);
    log.error("assertion eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYyIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzYUBwLmlhbS5nc2VydmljZWFjY291bnQuY29tIn0.c2lnbmF0dXJl");
    log.error(`[default]\naws_secret_access_key = ${secretAccessKey}`);
    const text = output();
    for (const secret of [signature, sessionToken.slice(0, 40), secretAccessKey, "ya29.d.", "eyJhbGciOiJSUzI1NiIsImtpZCI6", subjectToken.slice(0, 60)]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain("[aws subject token]");
    expect(text).toContain("[aws session token]");
  });
});
