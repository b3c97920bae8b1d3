/** @module Keeps README true: its two first commands, the CI script and the config table stay in step. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { renderMarkdownTable, replaceConfigTable } from "../../src/config/docs.ts";
import { requirementProblems, resolveConfig } from "../../src/config/load.ts";
import { ROOT } from "../support/harness.ts";

const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const firstBlocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].slice(0, 2).map((m) => m[1]!.split("\n").filter((l) => l && !l.startsWith("#")));

describe("README", () => {
  test("the first screen has exactly two commands: the demo and the tests", () => {
    expect(firstBlocks).toHaveLength(2);
    expect(firstBlocks[0]).toHaveLength(1);
    expect(firstBlocks[1]).toHaveLength(1);
    expect(firstBlocks[0]![0]).toContain("bun run demo");
    expect(firstBlocks[1]![0]).toContain("bun run test");
    // "First screen": both within the first 30 lines.
    expect(readme.split("\n").slice(0, 30).join("\n")).toContain(firstBlocks[1]![0]!);
  });

  test(".ci/run runs README's test command verbatim", () => {
    const ci = readFileSync(join(ROOT, ".ci/run"), "utf8").split("\n");
    expect(ci).toContain(firstBlocks[1]![0]!);
  });

  test("the demo and test scripts the commands name exist", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.demo).toBeDefined();
    expect(pkg.scripts.test).toBeDefined();
  });

  test("the configuration table is generated from the option table and current", () => {
    expect(replaceConfigTable(readme, renderMarkdownTable())).toBe(readme);
  });

  test("the complete LDAP configurations (Active Directory, OpenLDAP, coming from AWS's AD sample) are complete: a sync needs only the two secrets more", () => {
    for (const heading of ["Active Directory, complete", "OpenLDAP, complete", "From AWS's Active Directory sample, complete"]) {
      const block = new RegExp(`${heading}[^\\n]*\\n\\n\`\`\`toml\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
      expect(block).toBeDefined();
      const config = resolveConfig({ argv: {}, env: { IDPSCIM_AWS_SCIM_ACCESS_TOKEN: "tok-1", IDPSCIM_LDAP_BIND_PASSWORD: "pw" }, fileText: block!, filePath: "config.toml" });
      expect(config.source.type).toBe("ldap");
      expect(requirementProblems(config, "sync")).toEqual({ missing: [], invalid: [] });
    }
  });
});
