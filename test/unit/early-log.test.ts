/** @module Unit tests of the log options read before the configuration: the flags (with aliases), then IDPSCIM_*. */
import { describe, expect, test } from "bun:test";
import { earlyLogOptions } from "../../src/shell/cli.ts";

describe("earlyLogOptions", () => {
  test("the defaults: text at info", () => {
    expect(earlyLogOptions(["sync"], {})).toEqual({ level: "info", format: "text" });
  });

  test("the flags, in every spelling yargs accepts, win over the environment", () => {
    const env = { IDPSCIM_LOG_FORMAT: "text", IDPSCIM_LOG_LEVEL: "warn" };
    expect(earlyLogOptions(["sync", "--log-format", "json", "--log-level", "error"], env)).toEqual({ level: "error", format: "json" });
    expect(earlyLogOptions(["plan", "-f", "json", "-l", "debug"], env)).toEqual({ level: "debug", format: "json" });
    expect(earlyLogOptions(["plan", "--log-format=JSON"], env)).toEqual({ level: "warn", format: "json" });
    expect(earlyLogOptions(["sync", "-d"], env).level).toBe("debug");
  });

  test("the environment when no flag says it; a value no one accepts is ignored here (the resolver reports it)", () => {
    expect(earlyLogOptions(["sync"], { IDPSCIM_LOG_FORMAT: "json", IDPSCIM_DEBUG: "1" })).toEqual({ level: "debug", format: "json" });
    expect(earlyLogOptions(["sync", "--log-format", "yaml"], { IDPSCIM_LOG_FORMAT: "json" }).format).toBe("json");
    expect(earlyLogOptions(["sync", "--unknown-flag", "x", "--log-format", "json"], {}).format).toBe("json");
  });
});
