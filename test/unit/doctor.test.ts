/** @module doctor's pure parts: the clock verdict from Date headers, and the report's two renderings. */
import { describe, expect, test } from "bun:test";
import { check, type Check } from "../../src/doctor/checks.ts";
import { clockCheck, skewSeconds, type DateSample } from "../../src/doctor/clock.ts";
import { doctorExitCode } from "../../src/doctor/run.ts";
import { renderDoctorJson, renderDoctorText } from "../../src/shell/doctor.ts";

const AT = Date.parse("2026-12-01T12:00:00Z");
/** An answer whose Date header is `serverAt` (truncated to the second, as HTTP dates are), to a request sent at AT taking `rttMs`. */
const sample = (serverAt: number, rttMs = 100): DateSample => ({ date: new Date(Math.floor(serverAt / 1000) * 1000).toUTCString(), sentAt: AT, receivedAt: AT + rttMs });

describe("clock", () => {
  test("the skew is the server's clock minus ours, the header's second taken at its middle, from the quickest answer", () => {
    expect(skewSeconds([sample(AT + 50)])).toBeCloseTo(0.45, 5);
    expect(skewSeconds([sample(AT + 90_000 + 50, 5_000), sample(AT + 120_050)])).toBeCloseTo(120.45, 5);
    expect(skewSeconds([{ date: null, sentAt: AT, receivedAt: AT }, { date: "not a date", sentAt: AT, receivedAt: AT }])).toBeUndefined();
  });

  test("pass within a minute, warn past 60 s, fail past 300 s, either way; skip without an answer", () => {
    const verdict = (offsetMs: number) => clockCheck("scim-clock", "AWS", [sample(AT + 50 + offsetMs)], "none").verdict;
    expect([0, 59_000, -59_000, 61_000, -61_000, 299_000, 301_000, -301_000].map(verdict)).toEqual(["pass", "pass", "pass", "warn", "warn", "warn", "fail", "fail"]);
    expect(clockCheck("scim-clock", "AWS", [sample(AT + 600_050)], "none").detail).toStartWith("this host's clock is 600 s behind AWS's");
    expect(clockCheck("scim-clock", "AWS", [sample(AT - 600_000 + 50)], "none").detail).toStartWith("this host's clock is 600 s ahead of AWS's");
    expect(clockCheck("gws-clock", "Google", [], "no request was sent to Google")).toEqual(check("gws-clock", "skip", "no request was sent to Google"));
  });
});

describe("the report", () => {
  const checks: Check[] = [
    check("config", "pass", "config.toml: source google"),
    check("scim-token", "fail", "refused (401)", "generate a new token"),
    check("scim-clock", "warn", "this host's clock is 90 s behind AWS's", "synchronise this host's clock"),
    check("scim-token-expiry", "skip", "not configured"),
  ];

  test("text: one line per check, the fix below it, a summary; control characters from the wire escaped", () => {
    const text = renderDoctorText([...checks, check("state", "fail", "bucket \x1b[31mred\x1b[0m", "fix it")]);
    expect(text.split("\n")).toEqual([
      "PASS  config             configuration: config.toml: source google",
      "FAIL  scim-token         SCIM access token: refused (401)",
      "                         fix: generate a new token",
      "WARN  scim-clock         clock against AWS: this host's clock is 90 s behind AWS's",
      "                         fix: synchronise this host's clock",
      "SKIP  scim-token-expiry  SCIM token expiry: not configured",
      "FAIL  state              state read and write: bucket \\x1b[31mred\\x1b[0m",
      "                         fix: fix it",
      "",
      "doctor: 1 passed, 2 failed, 1 warned, 1 skipped; fix the failing checks and run idpscim doctor again",
      "",
    ]);
  });

  test("json: one document; exit 1 on a failure, 0 with only warnings and skips", () => {
    const parsed = JSON.parse(renderDoctorJson(checks));
    expect(parsed).toEqual({ ok: false, exitCode: 1, counts: { pass: 1, fail: 1, warn: 1, skip: 1 }, checks });
    const noFailure = checks.filter((c) => c.verdict !== "fail");
    expect(doctorExitCode(noFailure)).toBe(0);
    expect(JSON.parse(renderDoctorJson(noFailure)).ok).toBe(true);
  });
});
