/**
 * @module .github/workflows/release.yml, parsed with Bun's own YAML parser (Bun.YAML: no package
 * needed): a v* tag builds with `bun run release` and publishes the archives, bootstrap.zip (under
 * the name the Terraform module downloads), the module archive and SHA256SUMS, with a build
 * provenance attestation. GitHub Actions itself is not run here.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { parseTerraformDir } from "../../scripts/tf-docs.ts";
import { ROOT } from "../support/harness.ts";

const WORKFLOW = join(ROOT, ".github/workflows/release.yml");

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, unknown>; "working-directory"?: string };
type Workflow = { on?: { push?: { tags?: string[]; branches?: string[] } }; permissions?: Record<string, string>; jobs?: Record<string, { permissions?: Record<string, string>; steps?: Step[] }> };

/** What `bun run release` writes into dist/, as paths relative to dist (scripts/release.ts). */
const RELEASED = [
  ...["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"].map((platform) => `idpscim-${pkg.version}-${platform}.tar.gz`),
  ...["windows-x64", "windows-arm64"].map((platform) => `idpscim-${pkg.version}-${platform}.zip`),
  "lambda/bootstrap.zip",
  `idpscim-terraform-${pkg.version}.tar.gz`,
  "SHA256SUMS",
];

function workflowProblems(workflow: Workflow, packageUrlFile: string): string[] {
  const problems: string[] = [];
  if (JSON.stringify(workflow.on?.push?.tags) !== JSON.stringify(["v*"]) || workflow.on?.push?.branches) problems.push(`runs on ${JSON.stringify(workflow.on)}, not on v* tags only`);
  if (JSON.stringify(workflow.permissions) !== "{}") problems.push("the workflow's default permissions are not empty");
  const jobs = Object.values(workflow.jobs ?? {});
  if (jobs.length !== 1) return [...problems, `${jobs.length} jobs, not one`];
  const job = jobs[0]!;
  for (const [scope, level] of [
    ["contents", "write"],
    ["id-token", "write"],
    ["attestations", "write"],
  ]) {
    if (job.permissions?.[scope!] !== level) problems.push(`the job lacks ${scope}: ${level}`);
  }
  const steps = job.steps ?? [];
  const index = (match: (step: Step) => boolean, what: string) => {
    const at = steps.findIndex(match);
    if (at < 0) problems.push(`no step that ${what}`);
    return at;
  };
  const checkout = index((s) => /^actions\/checkout@v\d+$/.test(s.uses ?? ""), "checks out");
  const setup = index((s) => /^oven-sh\/setup-bun@v\d+$/.test(s.uses ?? ""), "sets up Bun");
  const bunVersion = pkg.devDependencies.bun.replace(/^\^/, "");
  if (setup >= 0 && String(steps[setup]!.with?.["bun-version"]) !== bunVersion) problems.push(`setup-bun installs ${steps[setup]!.with?.["bun-version"]}, not the project's Bun ${bunVersion}`);
  const install = index((s) => s.run?.trim() === "bun install --frozen-lockfile", "runs bun install --frozen-lockfile");
  const tagCheck = index((s) => /GITHUB_REF_NAME/.test(s.run ?? "") && /package\.json/.test(s.run ?? "") && /exit 1/.test(s.run ?? ""), "checks the tag against package.json's version");
  const build = index((s) => s.run?.trim() === "bun run release", "runs bun run release");
  const verify = index((s) => s.run?.trim() === "sha256sum -c SHA256SUMS" && s["working-directory"] === "dist", "checks SHA256SUMS in dist");
  const attest = index((s) => /^actions\/attest-build-provenance@v\d+$/.test(s.uses ?? ""), "attests build provenance");
  if (attest >= 0 && steps[attest]!.with?.["subject-checksums"] !== "dist/SHA256SUMS") problems.push("the attestation does not cover every file of dist/SHA256SUMS");
  const publish = index((s) => /gh release (create|upload)/.test(s.run ?? ""), "publishes the release");
  const order = [checkout, setup, install, tagCheck, build, verify, attest, publish];
  if (order.every((at) => at >= 0) && order.some((at, i) => i > 0 && at < order[i - 1]!)) problems.push(`steps out of order: ${order.join(", ")}`);
  if (publish >= 0) {
    const run = steps[publish]!.run ?? "";
    if (!/GH_TOKEN/.test(JSON.stringify(steps[publish]!.env ?? {}))) problems.push("the publish step has no GH_TOKEN");
    // Every file the release writes is uploaded, by the globs (dist/ relative) the step names.
    const globs = [...run.matchAll(/dist\/(\S+)/g)].map((m) => new Bun.Glob(m[1]!));
    for (const file of RELEASED) if (!globs.some((glob) => glob.match(file))) problems.push(`${file} is not uploaded`);
    // gh uploads a file under its base name: the module downloads <base>/bootstrap.zip.
    const lambdaAsset = globs.filter((glob) => glob.match("lambda/bootstrap.zip")).length > 0 ? basename("lambda/bootstrap.zip") : undefined;
    if (lambdaAsset !== packageUrlFile) problems.push(`the module downloads ${packageUrlFile}, the release's asset is ${lambdaAsset}`);
  }
  return problems;
}

const text = readFileSync(WORKFLOW, "utf8");
const moduleRoot = await parseTerraformDir(join(ROOT, "terraform"));
/** The file name the module appends to package_release_base_url. */
const packageUrlFile = /\/([^/}]+)"?\}?$/.exec(String(moduleRoot.locals.release_url))?.[1] ?? "";

describe(".github/workflows/release.yml", () => {
  test("is YAML with a v* trigger, one job with contents/id-token/attestations write, install → release → SHA256SUMS → provenance → publish", () => {
    expect(packageUrlFile).toBe("bootstrap.zip");
    expect(pkg.scripts.release).toBe("bun run scripts/release.ts");
    expect(workflowProblems(Bun.YAML.parse(text) as Workflow, packageUrlFile)).toEqual([]);
  });

  const mutations: { what: string; from: string; to: string; expected: string }[] = [
    { what: "no attestation", from: "uses: actions/attest-build-provenance@v2", to: "uses: actions/upload-artifact@v4", expected: "no step that attests build provenance" },
    { what: "a branch trigger", from: 'tags: ["v*"]', to: 'branches: ["main"]', expected: "not on v* tags only" },
    { what: "no id-token permission", from: "id-token: write", to: "id-token: none", expected: "id-token: write" },
    { what: "bootstrap.zip not uploaded", from: " dist/lambda/bootstrap.zip", to: "", expected: "lambda/bootstrap.zip is not uploaded" },
    { what: "the module archive not uploaded", from: " dist/idpscim-*.tar.gz", to: " dist/idpscim-0*.tar.gz", expected: `idpscim-terraform-${pkg.version}.tar.gz is not uploaded` },
    { what: "an unfrozen install", from: "run: bun install --frozen-lockfile", to: "run: bun install", expected: "bun install --frozen-lockfile" },
    { what: "no build step", from: "      - name: Build the release\n        run: bun run release\n", to: "", expected: "no step that runs bun run release" },
  ];
  for (const { what, from, to, expected } of mutations) {
    test(`the check fails with ${what}`, () => {
      expect(text).toContain(from);
      const mutated = Bun.YAML.parse(text.replace(from, to)) as Workflow;
      expect(workflowProblems(mutated, packageUrlFile).join("\n")).toContain(expected);
    });
  }
});
