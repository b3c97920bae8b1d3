/**
 * @module Static checks of the Terraform module (terraform/) and its examples: every .tf file is
 * parsed with HashiCorp's HCL parser compiled to WebAssembly (@cdktf/hcl2json) and the parsed
 * configuration is checked; no Terraform binary, no AWS. Each check is a function returning its
 * problems, so the "bites" tests can run it on a mutated copy and see it fail.
 */
import { describe, expect, test } from "bun:test";
import { getReferencesInExpression } from "@cdktf/hcl2json";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { OPTIONS, SOURCE_TYPES, envName, optionByPath, type OptionPath } from "../../src/config/schema.ts";
import { dnProblem, ldapFilterProblem, ldapUrlProblem, pemProblem } from "../../src/config/values.ts";
import { GC_TUNING } from "../../scripts/gc-environment.ts";
import { renderReleasePin } from "../../scripts/release.ts";
import { parseTerraformFiles, renderTfDocs, replaceTfDocs, runTfDocs, unwrapExpression, type TerraformRoot } from "../../scripts/tf-docs.ts";
import pkg from "../../package.json" with { type: "json" };

const ROOT = resolve(import.meta.dir, "../..");
const MODULE_DIR = join(ROOT, "terraform");
const EXAMPLE_DIRS = ["basic", "complete", "ldap"].map((name) => join(MODULE_DIR, "examples", name));

// hcl2json's output is untyped JSON: attributes are values or "${expr}" strings, blocks are arrays.
type Body = Record<string, any>;

type Files = { name: string; text: string }[];

function readFiles(dir: string): Files {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".tf"))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), "utf8") }));
}

/** A copy of `files` with `edit` applied to `name`; throws when the edit changes nothing (a stale mutation). */
function mutate(files: Files, name: string, edit: (text: string) => string): Files {
  return files.map((file) => {
    if (file.name !== name) return file;
    const text = edit(file.text);
    if (text === file.text) throw new Error(`mutation of ${name} changed nothing: the source moved on, update the test`);
    return { name, text };
  });
}

/** Replaces inside the block that starts at `anchor` (up to the next top-level block) only. */
function within(anchor: string, from: string | RegExp, to: string): (text: string) => string {
  return (text) => {
    const start = text.indexOf(anchor);
    if (start < 0) return text;
    const next = text.slice(start + anchor.length).search(/\n(variable|resource|data|output|locals|module) /);
    const end = next < 0 ? text.length : start + anchor.length + next;
    return text.slice(0, start) + text.slice(start, end).replace(from, to) + text.slice(end);
  };
}

function first(labelled: Record<string, Body[]> | undefined, name: string): Body | undefined {
  return labelled?.[name]?.[0];
}

function blocks(body: Body | undefined, key: string): Body[] {
  const value = body?.[key];
  return Array.isArray(value) ? value : [];
}

/** Every string in a parsed value, depth first. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

/** Statements of an aws_iam_policy_document, `dynamic "statement"` contents included. */
function statements(doc: Body | undefined): Body[] {
  // hcl2json gives `dynamic` as an object keyed by block name, not as a list of blocks.
  const dynamic = blocks(doc?.dynamic, "statement").flatMap((d) => blocks(d, "content"));
  return [...blocks(doc, "statement"), ...dynamic];
}

function list(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];
}

/** The pattern of `regex("PATTERN", var.NAME)` in a condition, HCL string escapes undone. */
function regexOf(condition: string, name: string): RegExp | undefined {
  const match = new RegExp(`regex\\("((?:[^"\\\\]|\\\\.)*)",\\s*var\\.${name}\\)`).exec(condition);
  return match ? new RegExp(match[1]!.replace(/\\(.)/g, "$1")) : undefined;
}

/** The list of `contains([...], var.NAME)` in a condition. */
function containsListOf(condition: string, name: string): unknown[] | undefined {
  const match = new RegExp(`contains\\((\\[[^\\]]*\\]),\\s*var\\.${name}\\)`).exec(condition);
  return match ? (JSON.parse(match[1]!) as unknown[]) : undefined;
}

function conditions(root: TerraformRoot, name: string): string {
  return blocks(first(root.variable, name), "validation")
    .map((v) => String(v.condition))
    .join("\n");
}

// --- Checks: each returns its problems, [] when the configuration has the feature. -----------------

const BUILTIN_ROOTS = new Set(["each", "count", "path", "self", "terraform"]);

/**
 * Every reference resolves in its own root: var.X, local.X, data.T.N, T.N, module.M (and, given
 * the module's root, module.M.OUTPUT). Found twice: by the HCL parser's own traversal search, and
 * by a plain regex over the JSON for var.X, in case an expression escaped the first.
 */
async function referenceProblems(root: TerraformRoot, moduleRoot?: TerraformRoot): Promise<string[]> {
  const problems: string[] = [];
  for (const file of root.files) {
    // `dynamic "statement"` makes `statement` (or its `iterator`) a name inside the block.
    const iterators = new Set<string>();
    const collectIterators = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collectIterators);
      else if (value !== null && typeof value === "object") {
        for (const [key, inner] of Object.entries(value)) {
          if (key === "dynamic") {
            for (const [label, bodies] of Object.entries(inner as Record<string, Body[]>)) {
              iterators.add(label);
              for (const body of bodies) if (typeof body.iterator === "string") iterators.add(unwrapExpression(body.iterator));
            }
          }
          collectIterators(inner);
        }
      }
    };
    collectIterators(file.json);

    // A variable's `type` is a type constraint ("${list(string)}"), not an expression with references.
    const expressions = Object.entries(file.json).flatMap(([kind, value]) =>
      kind === "variable" ? Object.values(value as Record<string, Body[]>).flatMap((bodies) => bodies.map(({ type: _type, ...rest }) => rest)) : [value],
    );
    for (const text of strings(expressions).filter((s) => s.includes("${"))) {
      for (const { value } of await getReferencesInExpression(file.name, text)) {
        const [head, second, third] = value.split(".");
        const where = `${file.name}: ${value}`;
        if (head === "var") {
          if (!root.variable[second!]) problems.push(`${where}: no variable "${second}"`);
        } else if (head === "local") {
          if (!(second! in root.locals)) problems.push(`${where}: no local "${second}"`);
        } else if (head === "data") {
          if (!root.data[second!]?.[third!]) problems.push(`${where}: no data "${second}" "${third}"`);
        } else if (head === "module") {
          if (!root.module[second!]) problems.push(`${where}: no module "${second}"`);
          else if (moduleRoot && third !== undefined && !moduleRoot.output[third]) problems.push(`${where}: the module has no output "${third}"`);
        } else if (iterators.has(head!)) {
          // `<label>.value` / `<label>.key` of a dynamic block (vpc_config looks like a resource type)
        } else if (/^[a-z][a-z0-9]*_[a-z0-9_]+$/.test(head!)) {
          if (!root.resource[head!]?.[second!]) problems.push(`${where}: no resource "${head}" "${second}"`);
        } else if (!BUILTIN_ROOTS.has(head!)) {
          problems.push(`${where}: unknown reference`);
        }
      }
    }
    for (const [, name] of JSON.stringify(file.json).matchAll(/\bvar\.([A-Za-z_][A-Za-z0-9_-]*)/g)) {
      if (!root.variable[name!]) problems.push(`${file.name}: var.${name} is not declared in this root's variables`);
    }
  }
  return [...new Set(problems)];
}

function variableProblems(root: TerraformRoot): string[] {
  const problems: string[] = [];
  for (const [name, [body = {}]] of Object.entries(root.variable)) {
    if (typeof body.type !== "string" || body.type === "") problems.push(`variable ${name}: no type`);
    if (typeof body.description !== "string" || body.description.trim() === "") problems.push(`variable ${name}: no description`);
    // ARNs, enums and the schedule must be validated, in every root.
    const mustValidate =
      /_arn$|^region$|^schedule_expression$|^log_level$|^log_retention_in_days$|^maximum_retry_attempts$|^maximum_event_age_in_seconds$|^timeout$|^memory_size$|^package_|^reserved_concurrent_executions$|^vpc_config$|^role_path$|bucket_name$|^source_type$|^ldap$/.test(
        name,
      );
    if (mustValidate && blocks(body, "validation").length === 0) problems.push(`variable ${name}: no validation block`);
    for (const validation of blocks(body, "validation")) {
      if (!String(validation.condition).includes(`var.${name}`)) problems.push(`variable ${name}: a validation does not test var.${name}`);
      if (typeof validation.error_message !== "string" || validation.error_message === "") problems.push(`variable ${name}: a validation has no error_message`);
    }
  }
  return problems;
}

function lambdaProblems(m: TerraformRoot): string[] {
  const fn = first(m.resource.aws_lambda_function, "this");
  if (!fn) return ["no aws_lambda_function.this"];
  const problems: string[] = [];
  if (fn.runtime !== "provided.al2023") problems.push(`runtime is ${fn.runtime}, not provided.al2023`);
  if (JSON.stringify(fn.architectures) !== JSON.stringify(["arm64"])) problems.push(`architectures is ${JSON.stringify(fn.architectures)}, not ["arm64"]`);
  if (fn.handler !== "bootstrap") problems.push(`handler is ${fn.handler}, not bootstrap`);
  const reserved = first(m.variable, "reserved_concurrent_executions");
  if (fn.reserved_concurrent_executions !== "${var.reserved_concurrent_executions}" || reserved?.default !== 1 || reserved?.nullable === false) {
    problems.push(`reserved_concurrent_executions is ${fn.reserved_concurrent_executions} (default ${reserved?.default}), not the nullable variable defaulting to 1`);
  }
  const vpc = blocks(fn.dynamic, "vpc_config")[0];
  const vpcContent = blocks(vpc, "content")[0];
  if (vpc?.for_each !== "${var.vpc_config == null ? [] : [var.vpc_config]}" || vpcContent?.subnet_ids !== "${vpc_config.value.subnet_ids}" || vpcContent?.security_group_ids !== "${vpc_config.value.security_group_ids}") {
    problems.push("no vpc_config block from var.vpc_config (subnets and security groups)");
  }
  if (fn.timeout !== "${var.timeout}" || fn.memory_size !== "${var.memory_size}") problems.push("timeout and memory_size are not the variables");
  const env = blocks(fn, "environment")[0]?.variables;
  if (env !== "${local.environment}") problems.push(`environment variables are ${env}, not local.environment`);
  if (!/IDPSCIM_LOG_FORMAT\s*=\s*"json"/.test(String(m.locals.environment))) problems.push("IDPSCIM_LOG_FORMAT is not json");
  if (!/IDPSCIM_USE_SECRETS_MANAGER\s*=\s*"true"/.test(String(m.locals.environment))) problems.push("IDPSCIM_USE_SECRETS_MANAGER is not true");
  if (!/IDPSCIM_LOG_LEVEL\s*=\s*var\.log_level/.test(String(m.locals.environment))) problems.push("IDPSCIM_LOG_LEVEL is not var.log_level");
  // The garbage collector sized for the function's memory, not the host's (README: Performance).
  if (!/BUN_JSC_forceRAMSize\s*=\s*tostring\(var\.memory_size \* 1048576\)/.test(String(m.locals.environment))) problems.push("BUN_JSC_forceRAMSize is not var.memory_size in bytes");
  // Tuned as the benchmark measured it: the same values (scripts/gc-environment.ts).
  for (const [name, value] of Object.entries(GC_TUNING)) {
    if (!new RegExp(`${name}\\s*=\\s*"${value.replace(".", "\\.")}"`).test(String(m.locals.environment))) problems.push(`${name} is not "${value}" (scripts/gc-environment.ts)`);
  }
  const group = first(m.resource.aws_cloudwatch_log_group, "this");
  if (group?.name !== "/aws/lambda/${var.name}" || fn.function_name !== "${var.name}") problems.push("the log group is not /aws/lambda/<function name>");
  if (group?.retention_in_days !== "${var.log_retention_in_days}") problems.push("the log group's retention is not var.log_retention_in_days");
  return problems;
}

function packageProblems(m: TerraformRoot): string[] {
  const fn = first(m.resource.aws_lambda_function, "this") ?? {};
  const object = first(m.resource.aws_s3_object, "package");
  const fetch = first(m.data.external, "package");
  const problems: string[] = [];
  for (const direct of ["filename", "image_uri"]) if (direct in fn) problems.push(`the function has ${direct}: the ~50 MB package must go through S3`);
  if (fn.s3_bucket !== "${local.package_bucket}" || fn.s3_key !== "${local.package_key_deployed}" || fn.s3_object_version !== "${local.package_object_version}") {
    problems.push("the function's s3_bucket/s3_key/s3_object_version are not the package locals");
  }
  // Per source: s3 deploys the given object, the others the uploaded one.
  const expect = (local: string, value: string) => {
    if (m.locals[local] !== value) problems.push(`local.${local} is ${m.locals[local]}, not ${value}`);
  };
  expect("package_bucket", '${var.package_source == "s3" ? var.package_s3_object.bucket : aws_s3_object.package[0].bucket}');
  expect("package_key_deployed", '${var.package_source == "s3" ? var.package_s3_object.key : aws_s3_object.package[0].key}');
  expect("package_object_version", '${var.package_source == "s3" ? var.package_s3_object.version_id : aws_s3_object.package[0].version_id}');
  // The uploaded file is the verified download (release) or the local zip: the upload depends on the check.
  expect("package_file", '${var.package_source == "release" ? data.external.package[0].result.path : var.package_source == "local" ? var.lambda_package_path : null}');
  if (fn.source_code_hash !== "${local.package_code_hash}" || m.locals.package_code_hash !== '${var.package_source == "s3" ? null : filebase64sha256(local.package_file)}') {
    problems.push("source_code_hash is not the uploaded file's filebase64sha256");
  }
  if (object?.source !== "${local.package_file}" || object?.source_hash !== "${filemd5(local.package_file)}") problems.push("aws_s3_object.package does not upload local.package_file");
  if (object?.count !== '${var.package_source == "s3" ? 0 : 1}') problems.push("aws_s3_object.package is not skipped for package_source = s3");
  if (object?.bucket !== "${local.state_bucket_id}") problems.push("the package is not uploaded to the state bucket");
  if (object?.tags !== "${var.package_object_tags}") problems.push(`the package object's tags are ${object?.tags}, not var.package_object_tags (S3 allows 10)`);
  if (!/length\(var\.package_object_tags\) <= 10/.test(conditions(m, "package_object_tags"))) problems.push("package_object_tags is not limited to 10 tags");
  // release: fetch-package.sh with the pinned (or given) checksum, at plan time.
  if (fetch?.count !== '${var.package_source == "release" ? 1 : 0}') problems.push("data.external.package does not run exactly for package_source = release");
  if (JSON.stringify(fetch?.program) !== JSON.stringify(["sh", "${path.module}/scripts/fetch-package.sh", "${local.release_url}", '${coalesce(local.release_sha256, "none")}', "${local.release_file}"])) {
    problems.push(`data.external.package runs ${JSON.stringify(fetch?.program)}, not fetch-package.sh URL SHA256 DEST`);
  }
  if (!String(m.locals.release_sha256).includes("local.release.sha256")) problems.push("the release checksum is not the pin of release.tf");
  const preconditions = blocks(blocks(fetch, "lifecycle")[0], "precondition").map((p) => String(p.condition));
  if (!preconditions.includes("${local.release_sha256 != null}")) problems.push("no precondition refusing a release without a checksum");
  if (first(m.variable, "package_source")?.default !== "release") problems.push("package_source does not default to release");
  return problems;
}

function scheduleProblems(m: TerraformRoot): string[] {
  const problems: string[] = [];
  const schedule = first(m.variable, "schedule_expression");
  if (schedule?.default !== "rate(15 minutes)") problems.push(`schedule_expression defaults to ${schedule?.default}, not rate(15 minutes)`);
  const rule = first(m.resource.aws_cloudwatch_event_rule, "schedule");
  if (rule?.schedule_expression !== "${var.schedule_expression}") problems.push("the rule does not use var.schedule_expression");
  if (first(m.resource.aws_cloudwatch_event_target, "schedule")?.arn !== "${aws_lambda_function.this.arn}") problems.push("the rule's target is not the function");
  const permission = first(m.resource.aws_lambda_permission, "schedule");
  if (permission?.principal !== "events.amazonaws.com" || permission?.source_arn !== "${aws_cloudwatch_event_rule.schedule.arn}") problems.push("no lambda permission for exactly this rule");
  const invoke = first(m.resource.aws_lambda_function_event_invoke_config, "this");
  if (invoke?.maximum_retry_attempts !== "${var.maximum_retry_attempts}") problems.push("maximum_retry_attempts is not the variable");
  if (invoke?.maximum_event_age_in_seconds === undefined) problems.push("no maximum_event_age_in_seconds");
  const retries = containsListOf(conditions(m, "maximum_retry_attempts"), "maximum_retry_attempts");
  if (JSON.stringify(retries) !== "[0,1,2]") problems.push(`maximum_retry_attempts is validated to ${JSON.stringify(retries)}, not 0..2`);
  const agePreconditions = blocks(blocks(invoke, "lifecycle")[0], "precondition").map((p) => String(p.condition));
  if (!agePreconditions.some((c) => c.includes("local.schedule_seconds"))) problems.push("no precondition keeping the event age below the rate() interval");
  return problems;
}

/** The EC2 actions of the AWS managed policy AWSLambdaVPCAccessExecutionRole (besides its logs actions). */
const VPC_ACCESS_ACTIONS = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"];

const ALLOWED_ACTIONS = new Set([
  "ec2:CreateNetworkInterface",
  "ec2:DeleteNetworkInterface",
  "ec2:AssignPrivateIpAddresses",
  "ec2:UnassignPrivateIpAddresses",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
  "${local.on_failure_actions[split(\":\", statement.value)[2]]}",
  "secretsmanager:GetSecretValue",
  "s3:GetObject",
  "s3:PutObject",
  "s3:DeleteObject",
  "s3:ListBucket",
  "logs:CreateLogStream",
  "logs:PutLogEvents",
  "kms:Decrypt",
  "kms:GenerateDataKey",
]);

function iamProblems(m: TerraformRoot): string[] {
  const problems: string[] = [];
  const assume = statements(first(m.data.aws_iam_policy_document, "assume"));
  const trusted = assume.flatMap((s) => blocks(s, "principals").flatMap((p) => list(p.identifiers)));
  if (JSON.stringify(trusted) !== JSON.stringify(["lambda.amazonaws.com"])) problems.push(`the role trusts ${JSON.stringify(trusted)}, not only lambda.amazonaws.com`);
  if (first(m.resource.aws_iam_role_policy, "this")?.policy !== "${data.aws_iam_policy_document.permissions.json}") problems.push("the role's policy is not data.aws_iam_policy_document.permissions");
  for (const broad of ["aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_policy"]) if (m.resource[broad]) problems.push(`${broad} attaches more policy to the role`);
  if ("managed_policy_arns" in (first(m.resource.aws_iam_role, "this") ?? {})) problems.push("the role has managed_policy_arns");

  const all = statements(first(m.data.aws_iam_policy_document, "permissions"));
  for (const statement of all) {
    const label = statement.sid ?? JSON.stringify(statement.actions);
    for (const key of ["not_actions", "not_resources", "principals"]) if (key in statement) problems.push(`${label}: uses ${key}`);
    if ((statement.effect ?? "Allow") !== "Allow") continue;
    const actions = list(statement.actions);
    const resources = list(statement.resources);
    for (const action of actions) {
      if (action.includes("*")) problems.push(`${label}: wildcard action ${action}`);
      else if (!ALLOWED_ACTIONS.has(action)) problems.push(`${label}: action ${action} is not one the tool needs`);
    }
    const isLogStatement = actions.length > 0 && actions.every((a) => a.startsWith("logs:"));
    // The ENI actions Lambda needs in a VPC: the two Describe take only "*", the others stay in this account and region.
    const isDescribe = JSON.stringify(actions) === JSON.stringify(["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]);
    const isEni = actions.length > 0 && actions.every((a) => a.startsWith("ec2:") && !a.startsWith("ec2:Describe"));
    for (const resource of resources) {
      if (isLogStatement) {
        if (!resource.startsWith("${aws_cloudwatch_log_group.this.arn}")) problems.push(`${label}: log resource ${resource} is outside the function's log group`);
      } else if (isDescribe && resource === "*") continue;
      else if (isEni && resource === "arn:${local.partition}:ec2:${local.region}:${local.account_id}:*") continue;
      else if (resource.includes("*")) problems.push(`${label}: wildcard resource ${resource}`);
    }
    if (actions.some((a) => a.startsWith("ec2:"))) {
      const gate = (doc: Body | undefined) => blocks(doc?.dynamic, "statement").find((d) => blocks(d, "content").includes(statement));
      if (gate(first(m.data.aws_iam_policy_document, "permissions"))?.for_each !== "${var.vpc_config == null ? [] : [var.vpc_config]}") problems.push(`${label}: EC2 actions not limited to var.vpc_config`);
    }
  }
  const by = (action: string) => all.filter((s) => list(s.actions).includes(action));
  // In a VPC, Lambda manages the function's network interfaces with this role: every action of
  // AWSLambdaVPCAccessExecutionRole is needed (a missing one fails CreateFunction or leaks ENIs).
  for (const action of VPC_ACCESS_ACTIONS) if (by(action).length !== 1) problems.push(`${action} is not granted (once) with vpc_config: AWSLambdaVPCAccessExecutionRole's actions are all needed`);
  const secrets = by("secretsmanager:GetSecretValue");
  if (secrets.length !== 1 || JSON.stringify(list(secrets[0]!.resources)) !== JSON.stringify(["${values(local.secret_arns)}"])) problems.push("GetSecretValue is not granted on exactly local.secret_arns");
  // Get and Put on the state key and its run lock; Delete on the lock only, never on the state.
  const stateKey = "${local.state_bucket_arn}/${var.state_key}";
  const lockKey = "${local.state_bucket_arn}/${var.state_key}.lock";
  const grantedOn = (action: string) => by(action).flatMap((s) => list(s.resources)).sort();
  for (const action of ["s3:GetObject", "s3:PutObject"]) {
    if (JSON.stringify(grantedOn(action)) !== JSON.stringify([stateKey, lockKey].sort())) problems.push(`${action} is not granted on exactly the state key and its run lock`);
  }
  if (JSON.stringify(grantedOn("s3:DeleteObject")) !== JSON.stringify([lockKey])) problems.push("s3:DeleteObject is not granted on exactly the run lock (never the state)");
  const listing = by("s3:ListBucket");
  const prefix = blocks(listing[0], "condition").find((c) => c.variable === "s3:prefix");
  if (listing.length !== 1 || JSON.stringify(list(listing[0]!.resources)) !== JSON.stringify(["${local.state_bucket_arn}"]) || JSON.stringify(prefix?.values) !== JSON.stringify(["${var.state_key}", "${var.state_key}.lock"])) {
    problems.push("s3:ListBucket is not granted on the bucket with s3:prefix = the state key and its run lock");
  }
  const kms = by("kms:Decrypt");
  if (kms.length !== 1 || !blocks(kms[0], "condition").some((c) => c.variable === "kms:ViaService")) problems.push("kms:Decrypt is not limited by kms:ViaService");
  // The on-failure destination: one action, on exactly that ARN, chosen by its service.
  const destination = all.find((s) => s.sid === "SendFailedRunsToDestination");
  if (!destination || JSON.stringify(list(destination.resources)) !== JSON.stringify(["${statement.value}"])) problems.push("no statement sending to exactly var.on_failure_destination_arn");
  const destinationActions = { sqs: "sqs:SendMessage", sns: "sns:Publish", lambda: "lambda:InvokeFunction", events: "events:PutEvents" };
  const sorted = (o: unknown) => JSON.stringify(Object.entries((o ?? {}) as object).sort());
  if (sorted(m.locals.on_failure_actions) !== sorted(destinationActions)) problems.push(`on_failure_actions is ${JSON.stringify(m.locals.on_failure_actions)}, not one send action per destination service`);
  const role = first(m.resource.aws_iam_role, "this");
  if (role?.permissions_boundary !== "${var.role_permissions_boundary_arn}" || role?.path !== "${var.role_path}") problems.push("the role's permissions_boundary and path are not the variables");
  // The secrets the function reads (env) are the ones it may read (IAM).
  const secretEnvs = String(m.locals.environment);
  if (!secretEnvs.includes("{ for k, arn in local.secret_arns : local.secret_env[k] => arn }")) problems.push("the *_SECRET_NAME env vars are not local.secret_arns");
  return problems;
}

function bucketProblems(m: TerraformRoot): string[] {
  const problems: string[] = [];
  const bucketRef = "${aws_s3_bucket.state[0].id}";
  const on = (type: string) => {
    const body = first(m.resource[type], "state");
    if (!body) problems.push(`no ${type}.state`);
    else if (body.bucket !== bucketRef) problems.push(`${type}.state is not on the state bucket`);
    else if (body.count !== "${local.create_state_bucket ? 1 : 0}") problems.push(`${type}.state is not created with the bucket`);
    return body;
  };
  if (first(m.resource.aws_s3_bucket, "state")?.count !== "${local.create_state_bucket ? 1 : 0}") problems.push("the bucket is not skipped for existing_state_bucket_name");
  if (m.locals.create_state_bucket !== "${var.existing_state_bucket_name == null}") problems.push("create_state_bucket is not existing_state_bucket_name == null");
  const versioning = on("aws_s3_bucket_versioning");
  if (blocks(versioning, "versioning_configuration")[0]?.status !== "Enabled") problems.push("versioning is not Enabled");

  const sse = blocks(blocks(on("aws_s3_bucket_server_side_encryption_configuration"), "rule")[0], "apply_server_side_encryption_by_default")[0];
  if (sse?.sse_algorithm !== '${var.kms_key_arn == null ? "AES256" : "aws:kms"}' || sse?.kms_master_key_id !== "${var.kms_key_arn}") problems.push("SSE is not aws:kms with kms_key_arn, else AES256");

  const block = on("aws_s3_bucket_public_access_block");
  for (const flag of ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]) if (block?.[flag] !== true) problems.push(`public access block: ${flag} is not true`);

  const policy = on("aws_s3_bucket_policy");
  if (policy?.policy !== "${data.aws_iam_policy_document.state_bucket[0].json}") problems.push("the bucket policy is not data.aws_iam_policy_document.state_bucket");
  const tlsDeny = statements(first(m.data.aws_iam_policy_document, "state_bucket")).find(
    (s) =>
      s.effect === "Deny" &&
      list(s.actions).includes("s3:*") &&
      blocks(s, "condition").some((c) => c.test === "Bool" && c.variable === "aws:SecureTransport" && JSON.stringify(c.values) === '["false"]'),
  );
  if (!tlsDeny) problems.push("no statement denying s3:* when aws:SecureTransport is false");
  else if (JSON.stringify(list(tlsDeny.resources)) !== JSON.stringify(["${aws_s3_bucket.state[0].arn}", "${aws_s3_bucket.state[0].arn}/*"])) problems.push("the TLS deny does not cover the bucket and its objects");

  const rule = blocks(on("aws_s3_bucket_lifecycle_configuration"), "rule")[0];
  if (rule?.status !== "Enabled" || blocks(rule, "noncurrent_version_expiration")[0]?.noncurrent_days !== "${var.state_noncurrent_version_expiration_days}") {
    problems.push("no enabled lifecycle rule expiring noncurrent versions after var.state_noncurrent_version_expiration_days");
  }
  return problems;
}

/** The IDPSCIM_* names the module sets (and refuses in `settings`) are the tool's own. */
function environmentProblems(m: TerraformRoot): string[] {
  const known = new Set(OPTIONS.map(envName));
  const problems: string[] = [];
  const set = new Set(JSON.stringify([m.locals.environment, m.locals.secret_env, m.locals.ldap_settings]).match(/IDPSCIM_[A-Z0-9_]+/g) ?? []);
  for (const name of set) if (!known.has(name)) problems.push(`the module sets ${name}, which idpscim does not read`);
  // Refused by name, or by a prefix (startswith(k, "IDPSCIM_LDAP_")).
  const refusing = conditions(m, "settings");
  const prefixes = [...refusing.matchAll(/startswith\(k, "(IDPSCIM_[A-Z0-9_]+)"\)/g)].map((match) => match[1]!);
  const named = new Set(refusing.replace(/startswith\(k, "IDPSCIM_[A-Z0-9_]+"\)/g, "").match(/IDPSCIM_[A-Z0-9_]+/g) ?? []);
  for (const name of named) if (!known.has(name)) problems.push(`settings refuses ${name}, which idpscim does not read`);
  for (const prefix of prefixes) if (![...known].some((name) => name.startsWith(prefix))) problems.push(`settings refuses ${prefix}*, which no idpscim variable starts with`);
  const refused = new Set([...known].filter((name) => named.has(name) || prefixes.some((prefix) => name.startsWith(prefix))));
  for (const name of set) if (!refused.has(name)) problems.push(`settings could override ${name}, which the module sets`);
  // A secret reaches the function only through the module's secrets: not as a value, not from a
  // file (the function has none but its package and /tmp), not from a secret the role may not read.
  const byPath = new Map(OPTIONS.map((o) => [`${o.table ? `${o.table}.` : ""}${o.key}`, o]));
  for (const secret of OPTIONS.filter((o) => o.secret)) {
    if (!refused.has(envName(secret))) problems.push(`settings accepts the secret ${envName(secret)}`);
    const file = secret.fromFile === undefined ? undefined : byPath.get(secret.fromFile);
    if (file && !refused.has(envName(file))) problems.push(`settings accepts ${envName(file)}, the file holding the secret ${envName(secret)}`);
  }
  for (const name of OPTIONS.filter((o) => o.key.endsWith("_secret_name"))) if (!refused.has(envName(name))) problems.push(`settings accepts ${envName(name)}, another secret than the module's`);
  const levels = containsListOf(conditions(m, "log_level"), "log_level");
  const toolLevels = OPTIONS.find((o) => o.table === "log" && o.key === "level")?.choices;
  if (JSON.stringify(levels) !== JSON.stringify(toolLevels)) problems.push(`log_level allows ${JSON.stringify(levels)}, the tool ${JSON.stringify(toolLevels)}`);
  return problems;
}

/** Module secret → its value and existing-ARN variables, and the tool setting whose env var carries its ARN. */
const SECRETS: Record<string, { value: string; arn: string; setting: OptionPath }> = {
  gws_service_account: { value: "gws_service_account_json", arn: "gws_service_account_secret_arn", setting: "gws.service_account_file_secret_name" },
  gws_user_email: { value: "gws_user_email", arn: "gws_user_email_secret_arn", setting: "gws.user_email_secret_name" },
  scim_endpoint: { value: "scim_endpoint", arn: "scim_endpoint_secret_arn", setting: "aws.scim_endpoint_secret_name" },
  scim_access_token: { value: "scim_access_token", arn: "scim_access_token_secret_arn", setting: "aws.scim_access_token_secret_name" },
  ldap_bind_password: { value: "ldap_bind_password", arn: "ldap_bind_password_secret_arn", setting: "ldap.bind_password_secret_name" },
};

/** What a source's function reads: the SCIM pair and the source's own secrets, nothing else. */
const SECRETS_BY_SOURCE: Record<(typeof SOURCE_TYPES)[number], string[]> = {
  google: ["scim_endpoint", "scim_access_token", "gws_service_account", "gws_user_email"],
  ldap: ["scim_endpoint", "scim_access_token", "ldap_bind_password"],
};

const squash = (value: unknown) => String(value).replace(/\s+/g, " ");

/**
 * Per source_type, the secrets created, passed to the function and readable by the role are its
 * own: local.secrets_by_source[var.source_type] feeds existing_secret_arns, from which
 * created_secrets and secret_arns derive (and the env and GetSecretValue from secret_arns, checked
 * by iamProblems). Each secret needs exactly one of a value and an ARN where its source reads it,
 * and neither elsewhere.
 */
function secretProblems(m: TerraformRoot): string[] {
  const problems: string[] = [];
  const types = containsListOf(conditions(m, "source_type"), "source_type");
  if (JSON.stringify(types) !== JSON.stringify(SOURCE_TYPES)) problems.push(`source_type allows ${JSON.stringify(types)}, the tool ${JSON.stringify(SOURCE_TYPES)}`);
  if (first(m.variable, "source_type")?.default !== "google") problems.push("source_type does not default to google (the tool's default)");
  const bySource = (m.locals.secrets_by_source ?? {}) as Record<string, string[]>;
  for (const [source, expected] of Object.entries(SECRETS_BY_SOURCE)) {
    const got = [...(bySource[source] ?? [])].sort();
    if (JSON.stringify(got) !== JSON.stringify([...expected].sort())) problems.push(`source_type ${source} reads ${JSON.stringify(got)}, not ${JSON.stringify([...expected].sort())}`);
  }
  const chain: Record<string, string> = {
    keyless: '${var.source_type == "google" && var.gws_auth == "workload-identity"}',
    secrets_read: '${[for k in local.secrets_by_source[var.source_type] : k if !(local.keyless && k == "gws_service_account")]}',
    existing_secret_arns: "${{ for k in local.secrets_read : k => local.given_secret_arns[k] }}",
    created_secrets: "${toset([for k, arn in local.existing_secret_arns : k if arn == null])}",
    secret_arns: "${merge( { for k, arn in local.existing_secret_arns : k => arn if arn != null }, { for k in local.created_secrets : k => aws_secretsmanager_secret.this[k].arn }, )}",
  };
  for (const [local, expected] of Object.entries(chain)) if (squash(m.locals[local]) !== expected) problems.push(`local.${local} is ${squash(m.locals[local])}, not ${expected}`);
  for (const type of ["aws_secretsmanager_secret", "aws_secretsmanager_secret_version"]) {
    if (first(m.resource[type], "this")?.for_each !== "${local.created_secrets}") problems.push(`${type}.this is not for_each local.created_secrets`);
  }
  const fn = first(m.resource.aws_lambda_function, "this");
  const preconditions = blocks(blocks(fn, "lifecycle")[0], "precondition").map((p) => String(p.condition));
  const at = (local: string, key: string) => (m.locals[local] as Record<string, unknown> | undefined)?.[key];
  for (const [key, { value, arn, setting }] of Object.entries(SECRETS)) {
    if (at("given_secret_arns", key) !== `\${var.${arn}}`) problems.push(`local.given_secret_arns.${key} is not var.${arn}`);
    if (at("secret_values", key) !== `\${var.${value}}`) problems.push(`local.secret_values.${key} is not var.${value}`);
    if (at("secret_env", key) !== envName(optionByPath(setting))) problems.push(`local.secret_env.${key} is ${at("secret_env", key)}, not ${envName(optionByPath(setting))} (${setting})`);
    if (first(m.variable, value)?.sensitive !== true) problems.push(`variable ${value} is not sensitive`);
    if (first(m.variable, arn)?.sensitive !== undefined) problems.push(`variable ${arn} is sensitive (for_each needs it plain)`);
    const readers = SOURCE_TYPES.filter((source) => SECRETS_BY_SOURCE[source].includes(key));
    const exactlyOne = `(var.${value} == null) != (var.${arn} == null)`;
    // Keyless reads no key: the key's secret is read by Google only with gws_auth = "key".
    const when = key === "gws_service_account" ? `var.source_type == "${readers[0]}" && !local.keyless` : `var.source_type == "${readers[0]}"`;
    const expected = readers.length === SOURCE_TYPES.length ? `\${${exactlyOne}}` : `\${${when} ? ${exactlyOne} : var.${value} == null && var.${arn} == null}`;
    if (!preconditions.includes(expected)) problems.push(`no precondition ${expected}: ${key} needs exactly one of ${value} and ${arn} with ${readers.join(" or ")}, and neither otherwise`);
  }
  const keyless = "${local.keyless ? var.gws_workload_identity_config != null && var.gws_service_account_email != null : var.gws_workload_identity_config == null && var.gws_service_account_email == null}";
  if (!preconditions.includes(keyless)) problems.push("no precondition giving gws_workload_identity_config and gws_service_account_email exactly when keyless");
  if (!preconditions.includes('${(var.source_type == "ldap") == (var.ldap != null)}')) problems.push("no precondition giving ldap exactly with source_type = ldap");
  if (!preconditions.includes('${var.source_type == "google" || length(var.groups_filter) == 0}')) problems.push("no precondition keeping groups_filter (a Google query) to source_type = google");
  return problems;
}

/** [ldap] settings var.ldap does not take: the bind password (its own secret variables) and files (the function has none). */
const LDAP_NOT_IN_OBJECT = new Set(["ca_file", "bind_password", "bind_password_file", "bind_password_secret_name"]);
const TF_TYPES: Record<string, string> = { string: "string", enum: "string", duration: "string", url: "string", path: "string", boolean: "bool", integer: "number", "string[]": "list(string)" };

/**
 * var.ldap is the tool's [ldap] table: one attribute per setting (but the password and files), of
 * the setting's type, required exactly when a sync requires it, each passed by local.ldap_settings
 * as the setting's own env var (lists comma-joined, bools and numbers as strings), and the enums
 * validated against the tool's choices.
 */
function ldapObjectProblems(m: TerraformRoot): string[] {
  const problems: string[] = [];
  const type = String(first(m.variable, "ldap")?.type ?? "");
  const attributes = new Map(
    [...type.matchAll(/^\s*([a-z_]+)\s*=\s*(optional\()?([a-z]+(?:\([a-z]+\))?)\)?\s*$/gm)].map(([, name, optional, t]) => [name!, { optional: optional !== undefined, type: t! }]),
  );
  const settings = (m.locals.ldap_settings ?? {}) as Record<string, unknown>;
  const options = OPTIONS.filter((o) => o.table === "ldap" && !LDAP_NOT_IN_OBJECT.has(o.key));
  const ldapConditions = conditions(m, "ldap");
  for (const o of options) {
    const path = `ldap.${o.key}`;
    const attribute = attributes.get(o.key);
    if (!attribute) {
      problems.push(`var.ldap has no attribute ${o.key}: ${path} cannot be set`);
      continue;
    }
    if (attribute.type !== TF_TYPES[o.type]) problems.push(`var.ldap.${o.key} is ${attribute.type}, but ${path} is ${o.type}`);
    const required = o.requiredFor?.includes("sync") ?? false;
    if (attribute.optional === required) problems.push(`var.ldap.${o.key} is ${attribute.optional ? "optional" : "required"}, but a sync ${required ? "requires" : "does not require"} ${path}`);
    const reference = `var.ldap.${o.key}`;
    const expected = o.type === "string[]" ? `\${try(join(",", ${reference}), null)}` : o.type === "boolean" || o.type === "integer" ? `\${try(tostring(${reference}), null)}` : `\${try(${reference}, null)}`;
    if (settings[envName(o)] !== expected) problems.push(`local.ldap_settings.${envName(o)} is ${settings[envName(o)]}, not ${expected}`);
    if (o.type === "enum" && JSON.stringify(containsListOf(ldapConditions, `ldap\\.${o.key}`)) !== JSON.stringify(o.choices)) problems.push(`var.ldap.${o.key} is not validated against ${JSON.stringify(o.choices)}`);
  }
  for (const name of attributes.keys()) if (!options.some((o) => o.key === name)) problems.push(`var.ldap.${name} is no [ldap] setting of the tool`);
  for (const name of Object.keys(settings)) if (!options.some((o) => envName(o) === name)) problems.push(`local.ldap_settings sets ${name}, which is no attribute of var.ldap`);
  if (!squash(m.locals.environment).includes("{ for name, value in local.ldap_settings : name => value if value != null }")) problems.push("local.ldap_settings (without its nulls) is not in the function's environment");
  if (!ldapConditions.includes('!startswith(lower(var.ldap.url), "ldap://") || coalesce(var.ldap.start_tls, false) || coalesce(var.ldap.allow_insecure, false)')) problems.push("plain ldap:// without start_tls or allow_insecure is not refused");
  return problems;
}

function outputProblems(m: TerraformRoot): string[] {
  return Object.entries(m.output)
    .filter(([, [body = {}]]) => !String(body.value).startsWith("${try("))
    .map(([name]) => `output ${name} is not null-safe (try(...))`);
}

/**
 * ARNs and endpoints come from data.aws_partition (aws, aws-cn, aws-us-gov): no "arn:aws:" and no
 * "amazonaws.com" spelt by hand outside variables (whose validations accept every partition), save
 * the two service principals, which are the same in every partition.
 */
function partitionProblems(m: TerraformRoot): string[] {
  const principals = new Set(["lambda.amazonaws.com", "events.amazonaws.com"]);
  const problems: string[] = [];
  if (!first(m.data.aws_partition, "current")) problems.push("no data.aws_partition.current");
  if (m.locals.partition !== "${data.aws_partition.current.partition}" || m.locals.dns_suffix !== "${data.aws_partition.current.dns_suffix}") problems.push("local.partition / local.dns_suffix are not data.aws_partition's");
  for (const file of m.files) {
    const { variable: _variables, ...rest } = file.json;
    for (const text of strings(rest)) {
      if (/arn:aws[:-]/.test(text)) problems.push(`${file.name}: hand-built ARN ${text}`);
      if (text.includes("amazonaws.com") && !principals.has(text)) problems.push(`${file.name}: hand-built endpoint ${text}`);
    }
  }
  return problems;
}

/** Resources that existed without count before: each has a `moved` block, so upgrading re-creates nothing. */
const COUNTED_SINCE = [
  "aws_s3_bucket.state",
  "aws_s3_bucket_ownership_controls.state",
  "aws_s3_bucket_public_access_block.state",
  "aws_s3_bucket_versioning.state",
  "aws_s3_bucket_server_side_encryption_configuration.state",
  "aws_s3_bucket_lifecycle_configuration.state",
  "aws_s3_bucket_policy.state",
  "aws_s3_object.package",
  "aws_cloudwatch_metric_alarm.errors",
  "aws_cloudwatch_metric_alarm.failed_records",
];

function movedProblems(m: TerraformRoot): string[] {
  const moves = new Set(m.moved.map((b) => `${unwrapExpression(b.from)} -> ${unwrapExpression(b.to)}`));
  const problems: string[] = [];
  for (const address of COUNTED_SINCE) {
    const [type, name] = address.split(".");
    if (first(m.resource[type!], name!)?.count === undefined) problems.push(`${address} has no count`);
    if (!moves.has(`${address} -> ${address}[0]`)) problems.push(`no moved block from ${address} to ${address}[0]`);
  }
  return problems;
}

/** Examples call the module as source "../..", with declared inputs only and every required one. */
function moduleCallProblems(example: TerraformRoot, m: TerraformRoot): string[] {
  const problems: string[] = [];
  const calls = Object.entries(example.module);
  if (calls.length === 0) problems.push("the example does not call the module");
  const meta = new Set(["source", "version", "providers", "depends_on", "count", "for_each"]);
  for (const [name, [body = {}]] of calls) {
    if (body.source !== "../..") problems.push(`module ${name}: source is ${body.source}, not "../.."`);
    for (const argument of Object.keys(body).filter((k) => !meta.has(k))) if (!m.variable[argument]) problems.push(`module ${name}: ${argument} is not an input of the module`);
    for (const [input, [spec = {}]] of Object.entries(m.variable)) if (!("default" in spec) && !(input in body)) problems.push(`module ${name}: required input ${input} is missing`);
  }
  return problems;
}

// --- Tests ------------------------------------------------------------------------------------------

const moduleFiles = readFiles(MODULE_DIR);
const moduleRoot = await parseTerraformFiles(moduleFiles);
const examples = await Promise.all(EXAMPLE_DIRS.map(async (dir) => ({ dir, files: readFiles(dir), root: await parseTerraformFiles(readFiles(dir)) })));

describe("terraform module: files", () => {
  test("the module has the five files of the house layout, each example a root of its own", () => {
    // The five of the house layout, and release.tf: the released package's pin, which the release rewrites.
    expect(moduleFiles.map((f) => f.name)).toEqual(["iam.tf", "main.tf", "outputs.tf", "release.tf", "variables.tf", "versions.tf"]);
    for (const { files } of examples) expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(["main.tf", "variables.tf", "outputs.tf", "versions.tf"]));
  });

  test("versions: terraform >= 1.5, the aws provider >= 5.0, and the external provider (fetch-package.sh) in the module", () => {
    for (const root of [moduleRoot, ...examples.map((e) => e.root)]) {
      const block = root.terraform[0]!;
      expect(block.required_version).toBe(">= 1.5");
      expect((block.required_providers as Body[])[0]!.aws).toEqual({ source: "hashicorp/aws", version: ">= 5.0" });
    }
    expect((moduleRoot.terraform[0]!.required_providers as Body[])[0]!.external).toEqual({ source: "hashicorp/external", version: ">= 2.2" });
  });

  test("release.tf is the release script's pin: this version, no checksum in a checkout; a release's parses as the locals main.tf reads", async () => {
    expect(readFileSync(join(MODULE_DIR, "release.tf"), "utf8")).toBe(renderReleasePin(pkg.version, null));
    expect(moduleRoot.locals.release).toEqual({ version: pkg.version, sha256: null });
    const sha = "0123456789abcdef".repeat(4);
    const released = await parseTerraformFiles([{ name: "release.tf", text: renderReleasePin("1.2.3", sha) }]);
    expect(released.locals.release).toEqual({ version: "1.2.3", sha256: sha });
    expect(() => renderReleasePin("v1.2.3", sha)).toThrow("not a release version");
    expect(() => renderReleasePin("1.2.3", "abc")).toThrow("not a SHA-256");
  });

  test("ARNs and endpoints are partition-aware (data.aws_partition), none hand-built", () => {
    expect(partitionProblems(moduleRoot)).toEqual([]);
  });

  test("resources given a count keep their state: a moved block per address", () => {
    expect(movedProblems(moduleRoot)).toEqual([]);
  });

  test("every variable, in the module and the examples, has a type, a description and the validations it needs", () => {
    expect(variableProblems(moduleRoot)).toEqual([]);
    for (const { root } of examples) expect(variableProblems(root)).toEqual([]);
  });

  test("every reference resolves in its own root (variables, locals, resources, data, module outputs)", async () => {
    expect(await referenceProblems(moduleRoot)).toEqual([]);
    for (const { root } of examples) expect(await referenceProblems(root, moduleRoot)).toEqual([]);
  });

  test("outputs are null-safe", () => {
    expect(outputProblems(moduleRoot)).toEqual([]);
  });
});

describe("terraform module: resources", () => {
  test("the function: provided.al2023, arm64, handler bootstrap, reserved concurrency (default 1, nullable), optional VPC, JSON logs, its log group", () => {
    expect(lambdaProblems(moduleRoot)).toEqual([]);
  });

  test("the collector settings the module gives the function are ones this Bun accepts: the CLI starts with them (an unknown BUN_JSC_ name or value stops the runtime before any code runs)", async () => {
    const child = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "--version"], {
      env: { PATH: process.env.PATH ?? "", BUN_JSC_forceRAMSize: String(512 * 1048576), ...GC_TUNING },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout.trim()).toContain(pkg.version);
  });

  test("the package goes through S3 (no filename): a verified release download, an existing object or a local zip, its hash from the file", () => {
    expect(packageProblems(moduleRoot)).toEqual([]);
  });

  test("the schedule: rate(15 minutes) by default, async retries 0..2, event age kept below the interval", () => {
    expect(scheduleProblems(moduleRoot)).toEqual([]);
  });

  test("IAM: only the actions the tool needs, no wildcard outside the log statement, exact secrets and state key", () => {
    expect(iamProblems(moduleRoot)).toEqual([]);
  });

  test("the state bucket: versioning, SSE, the four public-access blocks, TLS-only policy, noncurrent-version expiry", () => {
    expect(bucketProblems(moduleRoot)).toEqual([]);
  });

  test("the IDPSCIM_* names the module sets or refuses are the tool's option table's, log_level's values the tool's", () => {
    expect(environmentProblems(moduleRoot)).toEqual([]);
  });

  test("per secret: created from a value or taken by ARN, exactly one of the two where its source reads it, neither elsewhere", () => {
    expect(secretProblems(moduleRoot)).toEqual([]);
    expect(first(moduleRoot.resource.aws_secretsmanager_secret, "this")?.kms_key_id).toBe("${var.kms_key_arn}");
  });

  test("source_type = ldap: the SCIM pair and the bind password are created, passed and readable, no Google secret; the bind password's env var is the tool's", () => {
    // secretProblems proves the chain secrets_by_source[source_type] → secret_arns → env and GetSecretValue.
    expect(secretProblems(moduleRoot)).toEqual([]);
    expect(iamProblems(moduleRoot)).toEqual([]);
    const ldap = (moduleRoot.locals.secrets_by_source as Record<string, string[]>).ldap!;
    expect(ldap.filter((k) => k.startsWith("gws_"))).toEqual([]);
    expect(ldap).toContain("ldap_bind_password");
    expect((moduleRoot.locals.secret_env as Record<string, string>).ldap_bind_password).toBe(envName(optionByPath("ldap.bind_password_secret_name")));
    expect(envName(optionByPath("ldap.bind_password_secret_name"))).toBe("IDPSCIM_LDAP_BIND_PASSWORD_SECRET_NAME");
    // The tool reads it from Secrets Manager because the module turns use_secrets_manager on.
    expect(String(moduleRoot.locals.environment)).toMatch(/IDPSCIM_SOURCE_TYPE\s*=\s*var\.source_type/);
  });

  test("var.ldap is the tool's [ldap] table (but the password and files), each attribute passed as its IDPSCIM_LDAP_* variable", () => {
    expect(ldapObjectProblems(moduleRoot)).toEqual([]);
  });

  test("alarms on Lambda Errors and on the FailedRecords EMF metric, notifying the optional SNS topic", () => {
    const errors = first(moduleRoot.resource.aws_cloudwatch_metric_alarm, "errors")!;
    const failed = first(moduleRoot.resource.aws_cloudwatch_metric_alarm, "failed_records")!;
    expect([errors.namespace, errors.metric_name, errors.threshold, errors.comparison_operator]).toEqual(["AWS/Lambda", "Errors", 0, "GreaterThanThreshold"]);
    expect(errors.dimensions).toEqual({ FunctionName: "${aws_lambda_function.this.function_name}" });
    expect([failed.namespace, failed.metric_name, failed.threshold, failed.comparison_operator]).toEqual(["${local.metrics_namespace}", "FailedRecords", 0, "GreaterThanThreshold"]);
    expect(failed.dimensions).toEqual({ Service: "${local.metrics_service}" });
    expect(moduleRoot.locals.metrics_namespace).toBe("idpscim");
    // The Service dimension is the value the function gets as POWERTOOLS_SERVICE_NAME.
    expect(String(moduleRoot.locals.environment)).toMatch(/POWERTOOLS_SERVICE_NAME\s*=\s*local\.metrics_service/);
    for (const alarm of [errors, failed]) {
      expect(alarm.alarm_actions).toBe("${var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]}");
      expect(alarm.count).toBe("${var.create_alarms ? 1 : 0}");
    }
    expect(first(moduleRoot.variable, "create_alarms")?.default).toBe(true);
  });

  test("an alarm on ScimTokenDaysLeft <= 7, only with scim_token_expires_at, which the function gets as IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT", () => {
    const expiry = first(moduleRoot.resource.aws_cloudwatch_metric_alarm, "scim_token_expiry")!;
    expect([expiry.namespace, expiry.metric_name, expiry.threshold, expiry.comparison_operator, expiry.statistic]).toEqual([
      "${local.metrics_namespace}",
      "ScimTokenDaysLeft",
      7,
      "LessThanOrEqualToThreshold",
      "Minimum",
    ]);
    expect(expiry.dimensions).toEqual({ Service: "${local.metrics_service}" });
    expect(expiry.count).toBe("${var.create_alarms && var.scim_token_expires_at != null ? 1 : 0}");
    expect(expiry.alarm_actions).toBe("${var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]}");
    expect(first(moduleRoot.variable, "scim_token_expires_at")?.default).toBeNull();
    expect(String(moduleRoot.locals.environment)).toContain("IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT = var.scim_token_expires_at");
    // The tool emits the metric the alarm watches, and reads the variable the module sets.
    const emf = join(ROOT, "src/log/emf.ts");
    if (existsSync(emf)) expect(readFileSync(emf, "utf8")).toContain("ScimTokenDaysLeft");
    const schema = join(ROOT, "src/config/schema.ts");
    if (existsSync(schema)) expect(readFileSync(schema, "utf8")).toMatch(/key: "scim_token_expires_at"/);
  });

  test("the tool emits what the alarm watches: namespace idpscim, Service from POWERTOOLS_SERVICE_NAME (when the Lambda shell is present)", () => {
    const emf = join(ROOT, "src/log/emf.ts");
    const shell = join(ROOT, "src/shell/lambda.ts");
    if (existsSync(emf)) expect(readFileSync(emf, "utf8")).toMatch(/EMF_NAMESPACE = "idpscim"/);
    if (existsSync(shell)) expect(readFileSync(shell, "utf8")).toContain("POWERTOOLS_SERVICE_NAME");
  });
});

describe("terraform module: validations accept good values and refuse bad ones", () => {
  const secretArn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:idpscim/scim-token-AbCdEf";
  const cases: { variable: string; good: string[]; bad: string[] }[] = [
    {
      variable: "schedule_expression",
      good: ["rate(15 minutes)", "rate(1 hour)", "rate(2 days)", "cron(0/30 6-20 ? * MON-FRI *)", "cron(0 12 * * ? *)"],
      bad: ["rate(15 minute)", "rate(1 hours)", "rate(0 minutes)", "every 15 minutes", "cron(0 12 * * ?)", "rate(15 minutes) "],
    },
    {
      variable: "kms_key_arn",
      good: ["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"],
      bad: ["arn:aws:kms:eu-west-1:111122223333:alias/idpscim", "1234abcd-12ab-34cd-56ef-1234567890ab"],
    },
    {
      variable: "alarm_sns_topic_arn",
      good: ["arn:aws:sns:us-east-1:111122223333:idpscim-alarms", "arn:aws-us-gov:sns:us-gov-west-1:111122223333:alarms.fifo"],
      bad: ["arn:aws:sqs:us-east-1:111122223333:idpscim", "idpscim-alarms"],
    },
    {
      variable: "scim_token_expires_at",
      // What the tool's aws.scim_token_expires_at takes (src/config/values.ts parseDate), so a value the module passes never fails the init.
      good: ["2027-06-30", "2027-06-30T09:00:00Z", "2027-06-30T09:00:00.000Z", "2027-06-30T09:00+02:00"],
      bad: ["2027-06-30T09:00:00", "30/06/2027", "2027-6-30", "next june", "2027-06-30 "],
    },
    ...["gws_service_account_secret_arn", "gws_user_email_secret_arn", "scim_endpoint_secret_arn", "scim_access_token_secret_arn", "ldap_bind_password_secret_arn"].map((variable) => ({
      variable,
      good: [secretArn],
      bad: ["arn:aws:secretsmanager:us-east-1:111122223333:secret:idpscim/scim-token", "idpscim/scim-token", "arn:aws:s3:::bucket"],
    })),
    { variable: "name", good: ["idpscim", "idpscim-prod", "a"], bad: ["IdpScim", "-idpscim", "idpscim-", "a".repeat(33)] },
    { variable: "state_bucket_name", good: ["my-idpscim-state", "abc"], bad: ["My_Bucket", "ab", "-bucket"] },
    { variable: "lambda_package_path", good: ["../dist/lambda/bootstrap.zip"], bad: ["../dist/lambda/bootstrap"] },
    { variable: "existing_state_bucket_name", good: ["my-idpscim-state", "abc"], bad: ["My_Bucket", "ab", "-bucket"] },
    { variable: "package_release_version", good: ["0.1.0", "1.20.3", "1.2.0-rc.1"], bad: ["v0.1.0", "0.1", "latest"] },
    { variable: "package_release_sha256", good: ["a".repeat(64), "0123456789abcdef".repeat(4)], bad: ["A".repeat(64), "a".repeat(63), "sha256:" + "a".repeat(64)] },
    {
      variable: "package_release_base_url",
      good: ["https://github.com/idpscim/idpscim/releases/download/v{version}", "http://127.0.0.1:8080", "https://mirror.example.com/idpscim/{version}/"],
      bad: ["github.com/idpscim", "ftp://mirror.example.com/x", "https://"],
    },
    {
      variable: "log_group_kms_key_arn",
      good: ["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"],
      bad: ["arn:aws:kms:eu-west-1:111122223333:alias/logs", "alias/logs"],
    },
    {
      variable: "role_permissions_boundary_arn",
      good: ["arn:aws:iam::111122223333:policy/boundaries/idpscim", "arn:aws-us-gov:iam::aws:policy/PowerUserAccess"],
      bad: ["arn:aws:iam::111122223333:role/idpscim", "PowerUserAccess"],
    },
    {
      variable: "on_failure_destination_arn",
      good: [
        "arn:aws:sqs:us-east-1:111122223333:idpscim-failures",
        "arn:aws:sns:us-east-1:111122223333:idpscim-failures.fifo",
        "arn:aws:lambda:us-east-1:111122223333:function:on-failure:live",
        "arn:aws-cn:events:cn-north-1:111122223333:event-bus/default",
      ],
      bad: ["arn:aws:s3:::bucket", "arn:aws:sqs:us-east-1:111122223333", "arn:aws:lambda:us-east-1:111122223333:layer:x"],
    },
    { variable: "role_path", good: ["/", "/service/", "/a/b-c/"], bad: ["", "service/", "/service", "//"] },
  ];
  for (const { variable, good, bad } of cases) {
    test(variable, () => {
      const pattern = regexOf(conditions(moduleRoot, variable), variable);
      expect(pattern).toBeDefined();
      for (const value of good) expect(`${value}: ${pattern!.test(value)}`).toBe(`${value}: true`);
      for (const value of bad) expect(`${value}: ${pattern!.test(value)}`).toBe(`${value}: false`);
    });
  }

  test("ldap: url and ca_pem as the tool takes them, clear text refused, page size and timeout in range", () => {
    const ldap = conditions(moduleRoot, "ldap");
    const url = regexOf(ldap, "ldap\\.url")!;
    const goodUrls = ["ldaps://dc1.corp.example.com:636", "ldaps://dc1.corp.example.com", "ldap://ldap.example.org:389", "ldaps://10.0.12.5:636", "ldaps://[fd00::5]:636"];
    const badUrls = ["https://dc1.example.com", "dc1.example.com:636", "ldaps://dc1.example.com/DC=example,DC=com", "ldaps://svc:pw@dc1.example.com", "ldaps://dc1.example.com:636?x"];
    for (const value of goodUrls) expect(`${value}: ${url.test(value)} ${ldapUrlProblem(value) ?? "tool ok"}`).toBe(`${value}: true tool ok`);
    for (const value of badUrls) expect(`${value}: ${url.test(value)}`).toBe(`${value}: false`);
    // The tool refuses them too: the module refuses nothing the tool takes and takes nothing it refuses (save loopback, which a Lambda never reaches).
    for (const value of badUrls) expect(ldapUrlProblem(value)).toBeDefined();
    const pem = regexOf(ldap, "ldap\\.ca_pem")!;
    const good = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
    for (const value of [good, `${good}${good}`]) expect([pem.test(value), pemProblem(value)]).toEqual([true, undefined]);
    for (const value of ["corp-ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB", "-----END CERTIFICATE----- -----BEGIN CERTIFICATE-----"]) {
      expect([pem.test(value), pemProblem(value) !== undefined]).toEqual([false, true]);
    }
    expect(ldap).toContain("var.ldap.page_size >= 1 && var.ldap.page_size <= 100000");
    expect(regexOf(ldap, "ldap\\.timeout")!.test("1m30s")).toBe(true);
    expect(regexOf(ldap, "ldap\\.timeout")!.test("30 seconds")).toBe(false);
    expect(first(moduleRoot.variable, "ldap")?.default).toBeNull();
  });

  test("enums and ranges", () => {
    expect(containsListOf(conditions(moduleRoot, "log_retention_in_days"), "log_retention_in_days")).toEqual([
      0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
    ]);
    expect(conditions(moduleRoot, "timeout")).toContain("var.timeout >= 1 && var.timeout <= 900");
    expect(conditions(moduleRoot, "memory_size")).toContain("var.memory_size >= 128 && var.memory_size <= 10240");
    expect(conditions(moduleRoot, "maximum_event_age_in_seconds")).toContain("var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 21600");
    // Defaults pass their own rules.
    expect(first(moduleRoot.variable, "timeout")?.default).toBe(900);
    expect(first(moduleRoot.variable, "memory_size")?.default).toBe(512);
    expect(first(moduleRoot.variable, "maximum_retry_attempts")?.default).toBe(0);
    expect(first(moduleRoot.variable, "log_retention_in_days")?.default).toBe(30);
    expect(containsListOf(conditions(moduleRoot, "package_source"), "package_source")).toEqual(["release", "s3", "local"]);
    expect(conditions(moduleRoot, "package_object_tags")).toContain("length(var.package_object_tags) <= 10");
    expect(conditions(moduleRoot, "reserved_concurrent_executions")).toContain("var.reserved_concurrent_executions >= 1");
    expect(first(moduleRoot.variable, "reserved_concurrent_executions")?.default).toBe(1);
    expect(first(moduleRoot.variable, "role_path")?.default).toBe("/");
    const vpc = conditions(moduleRoot, "vpc_config");
    expect(vpc).toContain('regex("^subnet-[0-9a-f]{8,17}$", id)');
    expect(vpc).toContain('regex("^sg-[0-9a-f]{8,17}$", id)');
  });
});

describe("terraform examples", () => {
  for (const { dir, root } of examples) {
    test(`${dir.split("/").pop()}: calls the module as ../.. with declared inputs and every required one`, () => {
      expect(moduleCallProblems(root, moduleRoot)).toEqual([]);
    });
  }

  test("basic gives the secrets as values; complete gives existing ARNs, a KMS key, an SNS topic and its own schedule", () => {
    const basic = first(examples[0]!.root.module, "idpscim")!;
    const complete = first(examples[1]!.root.module, "idpscim")!;
    for (const value of ["gws_service_account_json", "gws_user_email", "scim_endpoint", "scim_access_token"]) {
      expect(basic[value]).toBe(`\${var.${value}}`);
      expect(first(examples[0]!.root.variable, value)?.sensitive).toBe(true);
      expect(complete[`${value.replace(/_json$/, "")}_secret_arn`]).toBeDefined();
    }
    expect(complete.kms_key_arn).toBe("${var.kms_key_arn}");
    // basic: a released version, nothing built; complete: the other inputs.
    expect(basic.package_source ?? first(moduleRoot.variable, "package_source")?.default).toBe("release");
    expect(basic.lambda_package_path).toBeUndefined();
    expect(complete.package_source).toBe("s3");
    expect(Object.keys(complete.package_s3_object)).toEqual(["bucket", "key", "version_id"]);
    for (const input of ["existing_state_bucket_name", "reserved_concurrent_executions", "vpc_config", "role_path", "role_permissions_boundary_arn", "log_group_kms_key_arn", "on_failure_destination_arn", "package_object_tags", "create_alarms"]) {
      expect(`${input}: ${input in complete}`).toBe(`${input}: true`);
    }
    expect(complete.reserved_concurrent_executions).toBeNull();
    expect(complete.alarm_sns_topic_arn).toBe("${aws_sns_topic.alarms.arn}");
    expect(complete.schedule_expression).not.toBe(first(moduleRoot.variable, "schedule_expression")?.default);
    const schedule = regexOf(conditions(moduleRoot, "schedule_expression"), "schedule_expression")!;
    expect(schedule.test(complete.schedule_expression)).toBe(true);
  });
});

describe("terraform example ldap", () => {
  test("source_type ldap, the ldap object, the bind password and SCIM pair as sensitive values, no Google input, in the given subnets", () => {
    const { root } = examples[2]!;
    const call = first(root.module, "idpscim")!;
    expect(call.source_type).toBe("ldap");
    expect(Object.keys(call).filter((k) => k.startsWith("gws_") || k === "groups_filter")).toEqual([]);
    for (const value of ["ldap_bind_password", "scim_endpoint", "scim_access_token"]) {
      expect(call[value]).toBe(`\${var.${value}}`);
      expect(first(root.variable, value)?.sensitive).toBe(true);
    }
    // Every required attribute of var.ldap is given, and the CA is the file's text, not its path.
    const ldap = call.ldap as Record<string, unknown>;
    for (const key of ["url", "bind_dn", "base_dn", "preset"]) expect(ldap[key]).toBeDefined();
    expect(ldap.ca_pem).toBe("${var.ldap_ca_file == null ? null : file(var.ldap_ca_file)}");
    expect(call.vpc_config).toEqual({ subnet_ids: "${var.subnet_ids}", security_group_ids: "${var.security_group_ids}" });
    // The values the example writes pass the module's validations.
    const conditionsOfLdap = conditions(moduleRoot, "ldap");
    expect(regexOf(conditionsOfLdap, "ldap\\.url")!.test(String(first(root.variable, "ldap_url")?.default))).toBe(true);
    expect(containsListOf(conditionsOfLdap, "ldap\\.preset")).toContain(ldap.preset);
    for (const key of ["bind_dn", "base_dn", "user_base_dn", "group_base_dn"]) expect(`${key}: ${dnProblem(String(ldap[key])) ?? "ok"}`).toBe(`${key}: ok`);
    expect(ldapFilterProblem(String(ldap.group_filter))).toBeUndefined();
    expect(Object.keys(call.settings as object).filter((k) => k.startsWith("IDPSCIM_LDAP_"))).toEqual([]);
  });
});

describe("terraform README", () => {
  test("the generated tables are current (bun run tf:docs --check)", async () => {
    const readme = readFileSync(join(MODULE_DIR, "README.md"), "utf8");
    expect(replaceTfDocs(readme, await renderTfDocs(MODULE_DIR))).toBe(readme);
    const cli = Bun.spawnSync([process.execPath, join(ROOT, "scripts/tf-docs.ts"), "--check"], { cwd: ROOT, stderr: "pipe" });
    expect(cli.stderr.toString()).toBe("");
    expect(cli.exitCode).toBe(0);
  });

  test("the check fails on a copy whose variables changed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idpscim-tf-docs-"));
    try {
      cpSync(MODULE_DIR, dir, { recursive: true });
      const variables = join(dir, "variables.tf");
      writeFileSync(variables, readFileSync(variables, "utf8").replace("Function memory in MB", "Memory of the function in MB"));
      const said: string[] = [];
      const log = (line: string) => said.push(line);
      expect(await runTfDocs(["--check", "--dir", dir], log)).toBe(1);
      expect(said.join("\n")).toContain("is stale: run `bun run tf:docs`");
      expect(await runTfDocs(["--dir", dir], log)).toBe(0);
      expect(await runTfDocs(["--check", "--dir", dir], log)).toBe(0);
      expect(readFileSync(join(dir, "README.md"), "utf8")).toContain("Memory of the function in MB");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("it has the section on what the tests prove", () => {
    expect(readFileSync(join(MODULE_DIR, "README.md"), "utf8")).toContain("## What the tests prove and what they do not");
  });
});

describe("the checks bite: each fails on a copy with its feature removed", () => {
  const mutations: { what: string; file: string; edit: (text: string) => string; check: (m: TerraformRoot) => string[] | Promise<string[]>; expected: string }[] = [
    { what: "another runtime", file: "main.tf", edit: (t) => t.replace('runtime       = "provided.al2023"', 'runtime       = "provided.al2"'), check: lambdaProblems, expected: "runtime is provided.al2" },
    { what: "x86_64", file: "main.tf", edit: (t) => t.replace('architectures = ["arm64"]', 'architectures = ["x86_64"]'), check: lambdaProblems, expected: "architectures" },
    { what: "no reserved concurrency", file: "main.tf", edit: (t) => t.replace("reserved_concurrent_executions = var.reserved_concurrent_executions", "reserved_concurrent_executions = -1"), check: lambdaProblems, expected: "reserved_concurrent_executions" },
    { what: "reserved concurrency defaulting to none", file: "variables.tf", edit: within('variable "reserved_concurrent_executions"', "default     = 1", "default     = null"), check: lambdaProblems, expected: "reserved_concurrent_executions" },
    { what: "no VPC block", file: "main.tf", edit: (t) => t.replace('dynamic "vpc_config" {', 'dynamic "vpc_settings" {'), check: lambdaProblems, expected: "no vpc_config block" },
    { what: "the GC sized for the host", file: "main.tf", edit: (t) => t.replace(/\s*BUN_JSC_forceRAMSize = [^\n]*/, ""), check: lambdaProblems, expected: "BUN_JSC_forceRAMSize" },
    { what: "the heap let grow as by default", file: "main.tf", edit: (t) => t.replace(/"1\.2"/, "\"1.5\""), check: lambdaProblems, expected: "BUN_JSC_mediumHeapGrowthFactor" },
    { what: "text logs", file: "main.tf", edit: (t) => t.replace('IDPSCIM_LOG_FORMAT          = "json"', 'IDPSCIM_LOG_FORMAT          = "text"'), check: lambdaProblems, expected: "IDPSCIM_LOG_FORMAT" },
    {
      what: "a direct upload",
      file: "main.tf",
      edit: (t) => t.replace("s3_key            = local.package_key_deployed", "filename          = var.lambda_package_path"),
      check: packageProblems,
      expected: "the function has filename",
    },
    { what: "another schedule default", file: "variables.tf", edit: (t) => t.replace('default     = "rate(15 minutes)"', 'default     = "rate(5 minutes)"'), check: scheduleProblems, expected: "not rate(15 minutes)" },
    { what: "retries up to 3", file: "variables.tf", edit: (t) => t.replace("contains([0, 1, 2], var.maximum_retry_attempts)", "contains([0, 1, 2, 3], var.maximum_retry_attempts)"), check: scheduleProblems, expected: "not 0..2" },
    { what: "an unverified release", file: "main.tf", edit: (t) => t.replace('program = ["sh", "${path.module}/scripts/fetch-package.sh", local.release_url, coalesce(local.release_sha256, "none"), local.release_file]', 'program = ["sh", "-c", "curl -fsSL -o \\"$1\\" \\"$2\\"", local.release_file, local.release_url]'), check: packageProblems, expected: "not fetch-package.sh URL SHA256 DEST" },
    { what: "uploading the download, not the checked file", file: "main.tf", edit: (t) => t.replace("data.external.package[0].result.path", "local.release_file"), check: packageProblems, expected: "local.package_file" },
    { what: "a release without a checksum", file: "main.tf", edit: (t) => t.replace("condition     = local.release_sha256 != null", "condition     = true"), check: packageProblems, expected: "no precondition refusing a release without a checksum" },
    { what: "every module tag on the package", file: "main.tf", edit: (t) => t.replace("tags = var.package_object_tags", "tags = var.tags"), check: packageProblems, expected: "var.package_object_tags" },
    { what: "more than 10 package tags", file: "variables.tf", edit: (t) => t.replace("length(var.package_object_tags) <= 10", "length(var.package_object_tags) <= 50"), check: packageProblems, expected: "limited to 10" },
    { what: "an existing object uploaded anyway", file: "main.tf", edit: (t) => t.replace('count = var.package_source == "s3" ? 0 : 1', "count = 1"), check: packageProblems, expected: "skipped for package_source = s3" },
    { what: "a hand-built ARN", file: "main.tf", edit: (t) => t.replace('"arn:${data.aws_partition.current.partition}:s3:::${var.existing_state_bucket_name}"', '"arn:aws:s3:::${var.existing_state_bucket_name}"'), check: partitionProblems, expected: '"arn:aws:s3:::${var.existing_state_bucket_name}"' },
    { what: "a hand-built endpoint", file: "iam.tf", edit: (t) => t.replace('"s3.${local.region}.${local.dns_suffix}"', '"s3.${local.region}.amazonaws.com"'), check: partitionProblems, expected: "hand-built endpoint s3." },
    { what: "a missing moved block", file: "main.tf", edit: within("moved {\n  from = aws_s3_object.package", "to   = aws_s3_object.package[0]", "to   = aws_s3_object.package[1]"), check: movedProblems, expected: "no moved block from aws_s3_object.package" },
    { what: "EC2 on every resource", file: "iam.tf", edit: (t) => t.replace('resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:*"]', 'resources = ["*"]'), check: iamProblems, expected: "ManageVpcNetworkInterfaces: wildcard resource *" },
    {
      what: "EC2 without a VPC",
      file: "iam.tf",
      edit: (t) => t.replace('for_each = var.vpc_config == null ? [] : [var.vpc_config]\n\n    content {\n      sid       = "DescribeVpcNetworkInterfaces"', 'for_each = [1]\n\n    content {\n      sid       = "DescribeVpcNetworkInterfaces"'),
      check: iamProblems,
      expected: "EC2 actions not limited to var.vpc_config",
    },
    { what: "no network-interface deletion in a VPC", file: "iam.tf", edit: (t) => t.replace('"ec2:DeleteNetworkInterface", ', ""), check: iamProblems, expected: "ec2:DeleteNetworkInterface is not granted (once) with vpc_config" },
    { what: "no Describe in a VPC", file: "iam.tf", edit: (t) => t.replace('actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]', 'actions   = ["ec2:DescribeNetworkInterfaces"]'), check: iamProblems, expected: "ec2:DescribeSubnets is not granted (once) with vpc_config" },
    { what: "a wider send action", file: "main.tf", edit: (t) => t.replace('sqs = "sqs:SendMessage"', 'sqs = "sqs:*"'), check: iamProblems, expected: "on_failure_actions is" },
    { what: "no permissions boundary", file: "iam.tf", edit: (t) => t.replace("permissions_boundary = var.role_permissions_boundary_arn", "permissions_boundary = null"), check: iamProblems, expected: "permissions_boundary" },
    { what: "a bucket created next to the existing one", file: "main.tf", edit: within('resource "aws_s3_bucket" "state"', "count = local.create_state_bucket ? 1 : 0", "count = 1"), check: bucketProblems, expected: "skipped for existing_state_bucket_name" },
    { what: "s3:* on the state", file: "iam.tf", edit: (t) => t.replace('actions   = ["s3:GetObject", "s3:PutObject"]', 'actions   = ["s3:*"]'), check: iamProblems, expected: "wildcard action s3:*" },
    { what: "the whole bucket", file: "iam.tf", edit: (t) => t.replace('resources = ["${local.state_bucket_arn}/${var.state_key}"]', 'resources = ["${local.state_bucket_arn}/*"]'), check: iamProblems, expected: "wildcard resource" },
    { what: "an extra action", file: "iam.tf", edit: (t) => t.replace('actions   = ["s3:GetObject", "s3:PutObject"]', 'actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteBucket"]'), check: iamProblems, expected: "s3:DeleteBucket is not one" },
    { what: "deleting the state", file: "iam.tf", edit: (t) => t.replace('actions   = ["s3:GetObject", "s3:PutObject"]', 'actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]'), check: iamProblems, expected: "s3:DeleteObject is not granted on exactly the run lock" },
    { what: "no run lock grant", file: "iam.tf", edit: (t) => t.replace('resources = ["${local.state_bucket_arn}/${var.state_key}.lock"]', 'resources = ["${local.state_bucket_arn}/${var.state_key}.lck"]'), check: iamProblems, expected: "s3:PutObject is not granted on exactly the state key and its run lock" },
    { what: "listing without the lock's prefix", file: "iam.tf", edit: (t) => t.replace('values   = [var.state_key, "${var.state_key}.lock"]', "values   = [var.state_key]"), check: iamProblems, expected: "s3:ListBucket" },
    { what: "logs anywhere", file: "iam.tf", edit: (t) => t.replace('resources = ["${aws_cloudwatch_log_group.this.arn}:*"]', 'resources = ["*"]'), check: iamProblems, expected: "outside the function's log group" },
    { what: "KMS on any key", file: "iam.tf", edit: (t) => t.replace("resources = [statement.value]", 'resources = ["*"]'), check: iamProblems, expected: "DecryptThroughS3AndSecretsManager: wildcard resource *" },
    { what: "KMS through any service", file: "iam.tf", edit: (t) => t.replace('variable = "kms:ViaService"', 'variable = "kms:CallerAccount"'), check: iamProblems, expected: "kms:ViaService" },
    { what: "listing without a prefix", file: "iam.tf", edit: (t) => t.replace('variable = "s3:prefix"', 'variable = "s3:delimiter"'), check: iamProblems, expected: "s3:ListBucket" },
    { what: "an unversioned bucket", file: "main.tf", edit: within('resource "aws_s3_bucket_versioning"', 'status = "Enabled"', 'status = "Suspended"'), check: bucketProblems, expected: "versioning" },
    { what: "a public bucket", file: "main.tf", edit: (t) => t.replace("restrict_public_buckets = true", "restrict_public_buckets = false"), check: bucketProblems, expected: "restrict_public_buckets" },
    { what: "no TLS-only policy", file: "main.tf", edit: (t) => t.replace('values   = ["false"]', 'values   = ["true"]'), check: bucketProblems, expected: "aws:SecureTransport" },
    { what: "no SSE-KMS", file: "main.tf", edit: (t) => t.replace('sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"', 'sse_algorithm     = "AES256"'), check: bucketProblems, expected: "SSE" },
    { what: "no noncurrent expiry", file: "main.tf", edit: (t) => t.replace("noncurrent_version_expiration {", "noncurrent_version_transition {"), check: bucketProblems, expected: "lifecycle" },
    { what: "an undeclared variable", file: "main.tf", edit: (t) => t.replace("retention_in_days = var.log_retention_in_days", "retention_in_days = var.log_retention"), check: referenceProblems, expected: "var.log_retention" },
    { what: "an undefined resource", file: "main.tf", edit: (t) => t.replace("aws_s3_object.package[0].bucket", "aws_s3_object.pkg[0].bucket"), check: referenceProblems, expected: 'no resource "aws_s3_object" "pkg"' },
    { what: "an undefined local", file: "iam.tf", edit: (t) => t.replace("values(local.secret_arns)", "values(local.secrets)"), check: referenceProblems, expected: 'no local "secrets"' },
    { what: "a variable without description", file: "variables.tf", edit: (t) => t.replace(/  description = "Function memory in MB[^\n]*\n/, ""), check: variableProblems, expected: "variable memory_size: no description" },
    { what: "an unvalidated schedule", file: "variables.tf", edit: within('variable "schedule_expression"', "validation {", "unchecked {"), check: variableProblems, expected: "variable schedule_expression: no validation block" },
    { what: "an unvalidated ARN", file: "variables.tf", edit: within('variable "kms_key_arn"', "validation {", "unchecked {"), check: variableProblems, expected: "variable kms_key_arn: no validation block" },
    { what: "a bare output", file: "outputs.tf", edit: (t) => t.replace("value       = try(aws_iam_role.this.arn, null)", "value       = aws_iam_role.this.arn"), check: outputProblems, expected: "output role_arn" },
    ...[
      "settings accepts the secret IDPSCIM_LDAP_BIND_PASSWORD",
      "settings accepts IDPSCIM_LDAP_BIND_PASSWORD_FILE, the file holding",
      "settings accepts IDPSCIM_LDAP_BIND_PASSWORD_SECRET_NAME, another secret",
      "settings could override IDPSCIM_LDAP_URL",
    ].map((expected) => ({ what: `IDPSCIM_LDAP_* through settings: ${/IDPSCIM_\w+/.exec(expected)![0]}`, file: "variables.tf", edit: (t: string) => t.replace('!startswith(k, "IDPSCIM_LDAP_")', 'k != ""'), check: environmentProblems, expected })),
    { what: "the SCIM token's file through settings", file: "variables.tf", edit: (t) => t.replace('      "IDPSCIM_AWS_SCIM_ACCESS_TOKEN_FILE",\n', ""), check: environmentProblems, expected: "settings accepts IDPSCIM_AWS_SCIM_ACCESS_TOKEN_FILE, the file holding the secret IDPSCIM_AWS_SCIM_ACCESS_TOKEN" },
    { what: "the token's expiry through settings", file: "variables.tf", edit: (t) => t.replace('      "IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT",\n', ""), check: environmentProblems, expected: "settings could override IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT" },
    { what: "the source type through settings", file: "variables.tf", edit: (t) => t.replace(' "IDPSCIM_SOURCE_TYPE",', ""), check: environmentProblems, expected: "settings could override IDPSCIM_SOURCE_TYPE" },
    { what: "a source the tool lacks", file: "variables.tf", edit: (t) => t.replace('contains(["google", "ldap"], var.source_type)', 'contains(["google", "ldap", "okta"], var.source_type)'), check: secretProblems, expected: "source_type allows" },
    { what: "LDAP reading a Google secret", file: "main.tf", edit: (t) => t.replace('ldap   = ["scim_endpoint", "scim_access_token", "ldap_bind_password"]', 'ldap   = ["scim_endpoint", "scim_access_token", "ldap_bind_password", "gws_user_email"]'), check: secretProblems, expected: "source_type ldap reads" },
    { what: "LDAP without its bind password", file: "main.tf", edit: (t) => t.replace('ldap   = ["scim_endpoint", "scim_access_token", "ldap_bind_password"]', 'ldap   = ["scim_endpoint", "scim_access_token"]'), check: secretProblems, expected: "source_type ldap reads" },
    { what: "Google reading the bind password", file: "main.tf", edit: (t) => t.replace('"gws_service_account", "gws_user_email"]', '"gws_service_account", "gws_user_email", "ldap_bind_password"]'), check: secretProblems, expected: "source_type google reads" },
    { what: "every secret whatever the source", file: "main.tf", edit: (t) => t.replace("existing_secret_arns = { for k in local.secrets_read : k => local.given_secret_arns[k] }", "existing_secret_arns = local.given_secret_arns"), check: secretProblems, expected: "local.existing_secret_arns is" },
    { what: "the key's secret read when keyless", file: "main.tf", edit: (t) => t.replace('k if !(local.keyless && k == "gws_service_account")', "k"), check: secretProblems, expected: "local.secrets_read is" },
    { what: "the Google key required when keyless", file: "main.tf", edit: (t) => t.replace('var.source_type == "google" && !local.keyless ? (var.gws_service_account_json', 'var.source_type == "google" ? (var.gws_service_account_json'), check: secretProblems, expected: "gws_service_account needs exactly one" },
    { what: "keyless without its configuration", file: "main.tf", edit: (t) => t.replace("local.keyless ? var.gws_workload_identity_config != null && var.gws_service_account_email != null", "local.keyless ? true"), check: secretProblems, expected: "no precondition giving gws_workload_identity_config" },
    { what: "the bind password's ARN variable read for another secret", file: "main.tf", edit: (t) => t.replace("ldap_bind_password  = var.ldap_bind_password_secret_arn", "ldap_bind_password  = var.scim_access_token_secret_arn"), check: secretProblems, expected: "local.given_secret_arns.ldap_bind_password is not var.ldap_bind_password_secret_arn" },
    { what: "the bind password under a name the tool ignores", file: "main.tf", edit: (t) => t.replace('ldap_bind_password  = "IDPSCIM_LDAP_BIND_PASSWORD_SECRET_NAME"', 'ldap_bind_password  = "IDPSCIM_LDAP_PASSWORD_SECRET_NAME"'), check: secretProblems, expected: "local.secret_env.ldap_bind_password is IDPSCIM_LDAP_PASSWORD_SECRET_NAME" },
    {
      what: "the Google key required with LDAP",
      file: "main.tf",
      edit: (t) => t.replace('condition     = var.source_type == "google" && !local.keyless ? (var.gws_service_account_json == null) != (var.gws_service_account_secret_arn == null) : var.gws_service_account_json == null && var.gws_service_account_secret_arn == null', "condition     = (var.gws_service_account_json == null) != (var.gws_service_account_secret_arn == null)"),
      check: secretProblems,
      expected: "gws_service_account needs exactly one of gws_service_account_json and gws_service_account_secret_arn with google, and neither otherwise",
    },
    {
      what: "LDAP without a bind password",
      file: "main.tf",
      edit: (t) => t.replace('condition     = var.source_type == "ldap" ? (var.ldap_bind_password == null) != (var.ldap_bind_password_secret_arn == null) : var.ldap_bind_password == null && var.ldap_bind_password_secret_arn == null', 'condition     = var.source_type == "ldap" ? true : var.ldap_bind_password == null && var.ldap_bind_password_secret_arn == null'),
      check: secretProblems,
      expected: "ldap_bind_password needs exactly one of ldap_bind_password and ldap_bind_password_secret_arn with ldap",
    },
    { what: "a plain bind password variable", file: "variables.tf", edit: within('variable "ldap_bind_password" {', "  sensitive   = true\n", ""), check: secretProblems, expected: "variable ldap_bind_password is not sensitive" },
    { what: "LDAP settings with Google", file: "main.tf", edit: (t) => t.replace('condition     = (var.source_type == "ldap") == (var.ldap != null)', 'condition     = var.source_type != "ldap" || var.ldap != null'), check: secretProblems, expected: "no precondition giving ldap exactly with source_type = ldap" },
    { what: "a Google groups filter with LDAP", file: "main.tf", edit: (t) => t.replace('condition     = var.source_type == "google" || length(var.groups_filter) == 0', "condition     = true"), check: secretProblems, expected: "groups_filter" },
    { what: "an [ldap] setting dropped", file: "main.tf", edit: (t) => t.replace("    IDPSCIM_LDAP_GROUP_FILTER     = try(var.ldap.group_filter, null)\n", ""), check: ldapObjectProblems, expected: "local.ldap_settings.IDPSCIM_LDAP_GROUP_FILTER is undefined" },
    { what: "an [ldap] setting under another's name", file: "main.tf", edit: (t) => t.replace("IDPSCIM_LDAP_USER_FILTER      = try(var.ldap.user_filter, null)", "IDPSCIM_LDAP_USER_FILTER      = try(var.ldap.group_filter, null)"), check: ldapObjectProblems, expected: "local.ldap_settings.IDPSCIM_LDAP_USER_FILTER is ${try(var.ldap.group_filter, null)}" },
    { what: "a list passed as a list", file: "main.tf", edit: (t) => t.replace('try(join(",", var.ldap.user_attributes), null)', "try(var.ldap.user_attributes, null)"), check: ldapObjectProblems, expected: "IDPSCIM_LDAP_USER_ATTRIBUTES is ${try(var.ldap.user_attributes, null)}" },
    { what: "the LDAP settings left out of the environment", file: "main.tf", edit: (t) => t.replace("    { for name, value in local.ldap_settings : name => value if value != null },\n", ""), check: ldapObjectProblems, expected: "not in the function's environment" },
    { what: "the URL optional", file: "variables.tf", edit: (t) => t.replace("    url              = string\n", "    url              = optional(string)\n"), check: ldapObjectProblems, expected: "var.ldap.url is optional, but a sync requires ldap.url" },
    { what: "the page size a string", file: "variables.tf", edit: (t) => t.replace("page_size        = optional(number)", "page_size        = optional(string)"), check: ldapObjectProblems, expected: "var.ldap.page_size is string, but ldap.page_size is integer" },
    { what: "an [ldap] setting missing from the object", file: "variables.tf", edit: (t) => t.replace("    suspended_filter = optional(string)\n", ""), check: ldapObjectProblems, expected: "var.ldap has no attribute suspended_filter" },
    { what: "an attribute the tool lacks", file: "variables.tf", edit: (t) => t.replace("    nested           = optional(string)\n", "    nested           = optional(string)\n    referrals        = optional(bool)\n"), check: ldapObjectProblems, expected: "var.ldap.referrals is no [ldap] setting" },
    { what: "a preset the tool lacks", file: "variables.tf", edit: (t) => t.replace('contains(["active-directory", "openldap", "custom"], var.ldap.preset)', 'contains(["active-directory", "openldap", "custom", "freeipa"], var.ldap.preset)'), check: ldapObjectProblems, expected: "var.ldap.preset is not validated" },
    { what: "clear text accepted", file: "variables.tf", edit: (t) => t.replace('!startswith(lower(var.ldap.url), "ldap://") || coalesce(var.ldap.start_tls, false)', "true || coalesce(var.ldap.start_tls, false)"), check: ldapObjectProblems, expected: "plain ldap:// without start_tls or allow_insecure is not refused" },
    { what: "an env var the tool ignores", file: "main.tf", edit: (t) => t.replace("IDPSCIM_AWS_S3_BUCKET_KEY   = var.state_key", "IDPSCIM_AWS_S3_KEY          = var.state_key"), check: environmentProblems, expected: "IDPSCIM_AWS_S3_KEY" },
  ];
  for (const { what, file, edit, check, expected } of mutations) {
    test(what, async () => {
      const mutated = await parseTerraformFiles(mutate(moduleFiles, file, edit));
      expect((await check(mutated)).join("\n")).toContain(expected);
    });
  }

  test("an example with another source, or an argument the module does not declare", async () => {
    const { files } = examples[0]!;
    const moved = await parseTerraformFiles(mutate(files, "main.tf", (t) => t.replace('source = "../.."', 'source = "../"')));
    expect(moduleCallProblems(moved, moduleRoot).join("\n")).toContain('not "../.."');
    const typo = await parseTerraformFiles(mutate(files, "main.tf", (t) => t.replace("gws_user_email           = var.gws_user_email", "gws_user_mail            = var.gws_user_email")));
    // The module has no required input now: make one required on a copy of the module.
    const strict = await parseTerraformFiles(mutate(moduleFiles, "variables.tf", within('variable "gws_user_email" {', "default     = null\n", "")));
    expect(moduleCallProblems(examples[1]!.root, strict).join("\n")).toContain("required input gws_user_email is missing");
    expect(moduleCallProblems(typo, moduleRoot).join("\n")).toContain("gws_user_mail is not an input");
  });

  test("an example output naming an output the module lacks", async () => {
    const { files } = examples[0]!;
    const mutated = await parseTerraformFiles(mutate(files, "outputs.tf", (t) => t.replace("module.idpscim.log_group_name", "module.idpscim.log_group")));
    expect((await referenceProblems(mutated, moduleRoot)).join("\n")).toContain('the module has no output "log_group"');
  });

  test("a file that is not valid HCL", async () => {
    await expect(parseTerraformFiles(mutate(moduleFiles, "main.tf", (t) => t.replace("locals {", "locals {{")))).rejects.toThrow();
  });
});
