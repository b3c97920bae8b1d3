/** @module The SCIM token's expiry: the core's levels at each threshold, the shell's words, and `aws.scim_token_expires_at` parsed from every layer. */
import { describe, expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/load.ts";
import { parseDate } from "../../src/config/values.ts";
import { SyncError } from "../../src/core/errors.ts";
import { scimTokenExpiry } from "../../src/core/token-expiry.ts";
import { scimTokenCheck } from "../../src/shell/token-expiry.ts";

const DAY = 86_400_000;
const EXPIRES = Date.parse("2027-06-30T00:00:00Z");
/** `days` whole days before the expiry, and two hours more so the day is not the boundary itself. */
const before = (days: number) => EXPIRES - days * DAY - 2 * 3_600_000;

describe("scimTokenExpiry", () => {
  test.each([
    [31, 31, "ok", false],
    [30, 30, "warn", false],
    [8, 8, "warn", false],
    [7, 7, "error", false],
    [0, 0, "error", false],
    [-1, -1, "error", true],
  ] as const)("%i days before: %i days left, %s", (days, daysLeft, level, expired) => {
    // -1: two hours after the expiry, within its first day.
    const now = days >= 0 ? before(days) : EXPIRES + 2 * 3_600_000;
    expect(scimTokenExpiry(EXPIRES, now)).toEqual({ daysLeft, level, expired });
  });

  test("the moment it expires it is expired", () => {
    expect(scimTokenExpiry(EXPIRES, EXPIRES)).toMatchObject({ expired: true, level: "error" });
    expect(scimTokenExpiry(EXPIRES, EXPIRES - 1)).toMatchObject({ expired: false, daysLeft: 0, level: "error" });
  });
});

describe("scimTokenCheck: the words", () => {
  const config = { aws: { scimTokenExpiresAt: "2027-06-30" } } as never;
  test("warn and error say when and how to make a new token; expired says AWS refuses it; unset is nothing", () => {
    expect(scimTokenCheck(config, before(40))?.message).toBe("the SCIM access token expires in 40 days (aws.scim_token_expires_at = 2027-06-30)");
    const warn = scimTokenCheck(config, before(20))!;
    expect(warn.level).toBe("warn");
    expect(warn.message).toContain("expires in 20 days");
    expect(warn.message).toContain("Settings > Automatic provisioning > Generate token");
    expect(scimTokenCheck(config, before(1))!.message).toContain("expires in 1 day ");
    expect(scimTokenCheck(config, before(0))!.message).toContain("expires within a day");
    const expired = scimTokenCheck(config, EXPIRES + 3 * DAY + 60_000)!;
    expect(expired.message).toContain("expired 3 days ago");
    expect(expired.message).toContain("401");
    expect(scimTokenCheck(config, EXPIRES + 60_000)!.message).toContain("expired less than a day ago");
    expect(scimTokenCheck({ aws: {} } as never, EXPIRES)).toBeUndefined();
  });
});

describe("aws.scim_token_expires_at", () => {
  test("parseDate: a date (midnight UTC) or a date-time with its offset; nothing else", () => {
    expect(parseDate("2027-06-30")).toBe(EXPIRES);
    expect(parseDate(" 2027-06-30T02:00:00+02:00 ")).toBe(EXPIRES);
    expect(parseDate("2027-06-30T00:00:00.000Z")).toBe(EXPIRES);
    for (const bad of ["2027-02-30", "2027-13-01", "2027-06-30T10:00:00", "June 30 2027", "30/06/2027", "", "2027-6-30"]) expect(parseDate(bad)).toBeUndefined();
  });

  test("from a TOML date, a string, the env var or the flag; a bad value is one line naming it", () => {
    const of = (input: Partial<Parameters<typeof resolveConfig>[0]>) => resolveConfig({ argv: {}, env: {}, ...input }).aws.scimTokenExpiresAt;
    expect(of({ fileText: "[aws]\nscim_token_expires_at = 2027-06-30\n" })).toBe("2027-06-30");
    expect(of({ fileText: "[aws]\nscim_token_expires_at = 2027-06-30T09:00:00Z\n" })).toBe("2027-06-30T09:00:00.000Z");
    expect(of({ fileText: '[aws]\nscim_token_expires_at = "2027-06-30"\n' })).toBe("2027-06-30");
    expect(of({ env: { IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT: "2027-06-30" } })).toBe("2027-06-30");
    expect(of({ argv: { "aws-scim-token-expires-at": "2027-06-30" } })).toBe("2027-06-30");
    expect(of({})).toBeUndefined();
    for (const [input, where] of [
      [{ fileText: "[aws]\nscim_token_expires_at = 2027-06-30T09:00:00\n" }, "scim_token_expires_at in config.toml"],
      [{ env: { IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT: "next june" } }, "IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT"],
    ] as const) {
      let error: unknown;
      try {
        of(input);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SyncError);
      const message = (error as SyncError).message;
      expect(message).toContain(where);
      expect(message).toContain('must be a date like "2027-06-30"');
      expect(message.split("\n")).toHaveLength(1);
    }
  });
});
