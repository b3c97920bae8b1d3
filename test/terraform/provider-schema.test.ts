/**
 * @module Every argument and nested block of every resource and data block, in the module and its
 * examples, is one the provider's schema has: checked against test/terraform/provider-facts.json,
 * which scripts/tf-provider-facts.ts extracts from the provider bindings generated from that
 * schema (@cdktf/provider-aws 21.x = hashicorp/aws 6.x). Names and nesting only: not types,
 * required arguments, conflicts, or arguments another provider version lacks.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseTerraformFiles, type TerraformRoot } from "../../scripts/tf-docs.ts";
import { FACTS_FILE, PACKAGES, type BlockSchema, type ProviderFacts } from "../../scripts/tf-provider-facts.ts";

const MODULE_DIR = resolve(import.meta.dir, "../../terraform");
const ROOTS = ["", "examples/basic", "examples/complete", "examples/ldap"].map((dir) => join(MODULE_DIR, dir));
const facts = JSON.parse(readFileSync(FACTS_FILE, "utf8")) as ProviderFacts;

type Body = Record<string, unknown>;
type Files = { name: string; text: string }[];

/** Meta-arguments Terraform itself handles, in any resource or data block. */
const META = new Set(["count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"]);

function readFiles(dir: string): Files {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".tf"))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), "utf8") }));
}

/** hcl2json writes a block as a list of bodies; an argument is any other value. */
function isBlockList(value: unknown): value is Body[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => item !== null && typeof item === "object" && !Array.isArray(item));
}

function bodyProblems(where: string, body: Body, schema: BlockSchema, top: boolean): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (top && META.has(key)) continue;
    if (key === "dynamic") {
      // dynamic "label" { for_each, iterator, content { ... } }: label must be a block of the schema.
      for (const [label, dynamics] of Object.entries(value as Record<string, Body[]>)) {
        const inner = schema.blocks[label];
        if (!inner) {
          problems.push(`${where}: dynamic "${label}" is not a block of the provider's schema`);
          continue;
        }
        for (const dynamic of dynamics) for (const content of (dynamic.content as Body[] | undefined) ?? []) problems.push(...bodyProblems(`${where}.${label}`, content, inner, false));
      }
    } else if (key in schema.blocks) {
      if (!isBlockList(value)) problems.push(`${where}: ${key} is a block, written as an argument`);
      else for (const block of value) problems.push(...bodyProblems(`${where}.${key}`, block, schema.blocks[key]!, false));
    } else if (!schema.arguments.includes(key)) {
      problems.push(`${where}: ${key} is neither an argument nor a block of the provider's schema`);
    }
  }
  return problems;
}

/** Problems of one root against the facts: unknown types, arguments and blocks. */
function providerSchemaProblems(root: TerraformRoot, known: ProviderFacts = facts): string[] {
  const problems: string[] = [];
  for (const kind of ["resource", "data"] as const) {
    for (const [type, byName] of Object.entries(root[kind])) {
      const schema = known[kind][type];
      for (const [name, bodies] of Object.entries(byName)) {
        const where = `${kind === "data" ? "data." : ""}${type}.${name}`;
        if (!schema) {
          problems.push(`${where}: ${type} is not in provider-facts.json (run bun run scripts/tf-provider-facts.ts)`);
          continue;
        }
        for (const body of bodies) problems.push(...bodyProblems(where, body, schema, true));
      }
    }
  }
  return problems;
}

const roots = await Promise.all(ROOTS.map(async (dir) => ({ dir, files: readFiles(dir), root: await parseTerraformFiles(readFiles(dir)) })));

function mutate(files: Files, name: string, from: string, to: string): Files {
  return files.map((file) => {
    if (file.name !== name) return file;
    if (!file.text.includes(from)) throw new Error(`mutation of ${name}: "${from}" not found, update the test`);
    return { name, text: file.text.replace(from, to) };
  });
}

describe("provider schema (names and nesting of arguments and blocks)", () => {
  test("the fact file names its provider versions and the packages it was extracted from", () => {
    expect(facts.providers.aws?.source).toBe("registry.terraform.io/hashicorp/aws");
    expect(facts.providers.aws?.version).toMatch(/^6\.\d+\.\d+$/);
    expect(facts.providers.aws?.package).toBe(PACKAGES.aws!);
    expect(facts.providers.external?.source).toBe("registry.terraform.io/hashicorp/external");
    // A sample of what the schema says, so an extraction that lost nesting shows here.
    expect(facts.resource.aws_s3_bucket_lifecycle_configuration?.blocks.rule?.blocks.noncurrent_version_expiration?.arguments).toContain("noncurrent_days");
    expect(facts.resource.aws_lambda_function?.blocks.vpc_config?.arguments).toEqual(expect.arrayContaining(["subnet_ids", "security_group_ids"]));
    expect(facts.resource.aws_lambda_function?.arguments).not.toContain("arn"); // computed only: not settable
  });

  for (const { dir, root } of roots) {
    test(`${dir === MODULE_DIR ? "the module" : dir.slice(MODULE_DIR.length + 1)}: every resource and data block uses only the provider's arguments and blocks`, () => {
      expect(providerSchemaProblems(root)).toEqual([]);
    });
  }

  test("the fact file covers exactly the types used (regenerated when one is added)", () => {
    const used = { resource: new Set<string>(), data: new Set<string>() };
    for (const { root } of roots) for (const kind of ["resource", "data"] as const) for (const type of Object.keys(root[kind])) used[kind].add(type);
    expect(Object.keys(facts.resource).sort()).toEqual([...used.resource].sort());
    expect(Object.keys(facts.data).sort()).toEqual([...used.data].sort());
  });
});

describe("the provider-schema check bites", () => {
  const moduleFiles = roots[0]!.files;
  const cases: { what: string; file: string; from: string; to: string; expected: string }[] = [
    { what: "a misspelt argument", file: "main.tf", from: "retention_in_days = var.log_retention_in_days", to: "retention_days    = var.log_retention_in_days", expected: "aws_cloudwatch_log_group.this: retention_days is neither" },
    { what: "a misspelt nested block", file: "main.tf", from: "noncurrent_version_expiration {", to: "noncurrent_versions_expiration {", expected: "aws_s3_bucket_lifecycle_configuration.state.rule: noncurrent_versions_expiration is neither" },
    { what: "a misspelt argument in a nested block", file: "main.tf", from: "noncurrent_days = var.state_noncurrent_version_expiration_days", to: "noncurrent_day = var.state_noncurrent_version_expiration_days", expected: "rule.noncurrent_version_expiration: noncurrent_day is neither" },
    { what: "a misspelt argument in a dynamic block", file: "main.tf", from: "subnet_ids         = vpc_config.value.subnet_ids", to: "subnets            = vpc_config.value.subnet_ids", expected: "aws_lambda_function.this.vpc_config: subnets is neither" },
    { what: "a dynamic block the resource lacks", file: "main.tf", from: 'dynamic "destination_config" {', to: 'dynamic "destinations" {', expected: 'dynamic "destinations" is not a block' },
    { what: "a block written as an argument", file: "main.tf", from: "environment {\n    variables = local.environment\n  }", to: "environment = {\n    variables = local.environment\n  }", expected: "environment is a block, written as an argument" },
    { what: "a computed-only attribute set", file: "main.tf", from: "function_name = var.name\n", to: "function_name = var.name\n  arn           = null\n", expected: "aws_lambda_function.this: arn is neither" },
    { what: "a data-source argument misspelt", file: "main.tf", from: "program = [", to: "programs = [", expected: "data.external.package: programs is neither" },
  ];
  for (const { what, file, from, to, expected } of cases) {
    test(what, async () => {
      const mutated = await parseTerraformFiles(mutate(moduleFiles, file, from, to));
      expect(providerSchemaProblems(mutated).join("\n")).toContain(expected);
    });
  }

  test("a resource type the fact file lacks", async () => {
    const files = [...moduleFiles, { name: "extra.tf", text: 'resource "aws_sqs_queue_policy" "x" {\n  queue_url = "u"\n  policy    = "{}"\n}\n' }];
    expect(providerSchemaProblems(await parseTerraformFiles(files)).join("\n")).toContain("aws_sqs_queue_policy is not in provider-facts.json");
  });
});
