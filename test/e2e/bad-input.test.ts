/**
 * @module End-to-end: each kind of bad input (configuration, key file, state file, an endpoint
 * that does not answer like SCIM or like Google) stops the run with ONE error line that names
 * the setting (or file, or endpoint) and how to fix it, exit 2 for configuration and 1 for a
 * remote system, no stack trace, no SCIM write and no state file created or changed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { loadScenarioFile } from "../emulators/scenario.ts";
import { EXAMPLE_SCENARIO, startWorld, type CliResult, type World } from "../support/harness.ts";

/**
 * A tiny HTTP server standing in for a misconfigured endpoint or a proxy in front of one: it
 * answers every request with `answer` and records the methods it was sent.
 */
interface Impostor {
  url: string;
  answer: { status: number; type: string; body: string };
  methods: string[];
  close(): Promise<void>;
}

async function startImpostor(): Promise<Impostor> {
  const impostor: Impostor = { url: "", answer: { status: 200, type: "application/json", body: "{}" }, methods: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    impostor.methods.push(req.method ?? "GET");
    req.resume();
    res.writeHead(impostor.answer.status, { "Content-Type": impostor.answer.type });
    res.end(impostor.answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  impostor.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  impostor.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return impostor;
}

/** Words that tell the reader what to do; each error line must hold one. */
const FIX = /\b(pass|set|write|fix|remove|use|check|download|point|save|give|upgrade|restore|move|quote|copy|authorise|did you mean|must be)\b/i;
/** A line of a JavaScript stack trace. */
const STACK = /^\s+at\s.+(:\d+|\))$/m;

interface Case {
  name: string;
  /** Arguments after `idpscim`; the world's config file is passed too. */
  args: string[];
  env?: Record<string, string>;
  /** Runs first: writes the config, a key file, the state, or sets the impostor's answer. */
  prepare?: () => void;
  code: 1 | 2;
  /** What the error line must name: the setting, file or endpoint, and the fix. */
  mentions: (string | RegExp)[];
  /** Configuration and state problems are found before any request; remote ones after reads. */
  noRequests: boolean;
  /** false: run without the world's --config-file (the case passes its own). */
  config?: false;
}

let world: World;
let impostor: Impostor;
const firstLines: string[] = [];

beforeAll(async () => {
  world = await startWorld({ scenario: loadScenarioFile(EXAMPLE_SCENARIO) });
  impostor = await startImpostor();
});

afterAll(async () => {
  if (firstLines.length > 0) console.log(`bad-input error lines:\n${firstLines.join("\n")}`);
  await impostor?.close();
  await world?.close();
});

const dir = () => world.emulators.directory;
const keyWith = (patch: (key: Record<string, string>) => unknown) => JSON.stringify(patch({ ...world.emulators.google.serviceAccountKey }));
const listResponse = (resources: unknown) => JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 1, itemsPerPage: 1, Resources: resources });
const scimAt = () => ["--aws-scim-endpoint", `${impostor.url}/tenant/scim/v2`];
const answer = (status: number, type: string, body: string) => () => {
  impostor.answer = { status, type, body };
};

const cases: Case[] = [
  // Configuration: exit 2 before any request.
  {
    name: "malformed TOML",
    args: ["sync"],
    prepare: () => world.writeConfig(`[sync]\nmode = "sync"\nmax_deletes = [1`),
    code: 2,
    mentions: ["config.toml:", "invalid TOML", "fix the syntax"],
    noRequests: true,
  },
  {
    name: "unknown key in the file: the nearest valid one is suggested",
    args: ["sync"],
    prepare: () => world.writeConfig(`[sync]\nsuspended_user = "delete"`),
    code: 2,
    mentions: ["[sync] suspended_user", "did you mean suspended_users?"],
    noRequests: true,
  },
  {
    name: "unknown environment variable: the nearest valid one is suggested",
    args: ["sync"],
    env: { IDPSCIM_AWS_SCIM_ENDPIONT: "https://scim.us-east-1.amazonaws.com/x/scim/v2" },
    code: 2,
    mentions: ["IDPSCIM_AWS_SCIM_ENDPIONT", "did you mean IDPSCIM_AWS_SCIM_ENDPOINT?"],
    noRequests: true,
  },
  {
    name: "wrong type: a string for a boolean",
    args: ["sync"],
    prepare: () => world.writeConfig(`[sync]\ndelete_unmanaged = "yes"`),
    code: 2,
    mentions: ["[sync] delete_unmanaged", "true or false", '(got "yes")'],
    noRequests: true,
  },
  {
    name: "wrong type: a string for a list",
    args: ["sync"],
    prepare: () => world.writeConfig(`[sync]\nuser_fields = "title"`),
    code: 2,
    mentions: ["[sync] user_fields", "array of strings"],
    noRequests: true,
  },
  {
    name: "--config-file given twice",
    args: ["sync", "--config-file", "KEY:other.toml"],
    prepare: () => writeFileSync(join(dir(), "other.toml"), `[sync]\nmode = "upsert"\n`),
    code: 2,
    mentions: ["--config-file: was given 2 times; pass it once"],
    noRequests: true,
  },
  {
    name: "config path that is a directory",
    args: ["sync", "--config-file", "KEY:"],
    config: false,
    code: 2,
    mentions: ["--config-file:", "is a directory, not a file", "/config.toml"],
    noRequests: true,
  },
  {
    name: "blank groups filter flag (it would mean all groups)",
    args: ["sync", "--gws-groups-filter", ""],
    code: 2,
    mentions: ["--gws-groups-filter: entry 1 is blank", "only an empty list (leave it out, or write []) means all groups"],
    noRequests: true,
  },
  {
    name: "groups filter env var of commas only",
    args: ["sync"],
    env: { IDPSCIM_GWS_GROUPS_FILTER: "," },
    code: 2,
    mentions: ["IDPSCIM_GWS_GROUPS_FILTER: entries 1 and 2 are blank", "remove them"],
    noRequests: true,
  },
  {
    name: "blank entry in a list in the file",
    args: ["sync"],
    prepare: () => world.writeConfig(`[sync]\nprotected_groups = ["AWSControlTower*", "  "]`),
    code: 2,
    mentions: ["[sync] protected_groups in ", "config.toml: entry 2 is blank; remove it from the array"],
    noRequests: true,
  },
  {
    name: "contradiction: upsert mode with delete_unmanaged",
    args: ["sync", "--sync-delete-unmanaged"],
    env: { IDPSCIM_SYNC_MODE: "upsert" },
    code: 2,
    mentions: ['sync.mode (IDPSCIM_SYNC_MODE) is "upsert"', "sync.delete_unmanaged (--sync-delete-unmanaged) is true", "upsert never deletes", 'set sync.mode = "sync"'],
    noRequests: true,
  },
  {
    name: "reconcile_every of more than 30 days",
    args: ["sync"],
    prepare: () => world.writeConfig(`[sync]\nreconcile_every = "999999d"`),
    code: 2,
    mentions: ["[sync] reconcile_every in ", "is longer than 30 days", 'write at most "30d"'],
    noRequests: true,
  },
  {
    name: "SCIM token with a line break inside (not retried as a network failure)",
    args: ["sync"],
    env: { IDPSCIM_AWS_SCIM_ACCESS_TOKEN: "tok-7f3a\nsecond-half-of-the-token" },
    code: 2,
    mentions: ["IDPSCIM_AWS_SCIM_ACCESS_TOKEN: contains a line break (the token is not shown); copy the token again without it"],
    noRequests: true,
  },
  {
    name: "SCIM token from Secrets Manager with a space inside",
    args: ["sync", "--config-file", "KEY:from-secrets.toml"],
    config: false,
    prepare: () => {
      const g = world.emulators.google;
      world.emulators.secrets.secrets.set("IDPSCIM_SCIMAccessToken", "tok-7f3a second-half-of-the-token\n");
      writeFileSync(
        join(dir(), "from-secrets.toml"),
        `use_secrets_manager = true\n[gws]\nservice_account_file = "${g.serviceAccountFile}"\nuser_email = "${g.adminEmail}"\napi_url = "${g.url}"\ntoken_url = "${g.tokenUrl}"\n` +
          `[aws]\nscim_endpoint = "${world.emulators.scim.url}"\n[state]\nfile = "${world.statePath}"\n`,
      );
    },
    code: 2,
    mentions: ["aws.scim_access_token from secret IDPSCIM_SCIMAccessToken: contains whitespace (the token is not shown); copy the token again without it"],
    noRequests: true,
  },
  {
    name: "admin email that is not one: the value is not echoed",
    args: ["sync", "--gws-user-email", "admin-7f3a.example.com"],
    code: 2,
    mentions: ["--gws-user-email: must be an email address like admin@example.com (got ***)"],
    noRequests: true,
  },
  {
    name: "invalid groups filter syntax",
    args: ["sync", "--gws-groups-filter", "name~aws"],
    code: 2,
    mentions: ["--gws-groups-filter", '"name~aws"', "name=X"],
    noRequests: true,
  },
  {
    name: "service-account file missing",
    args: ["sync", "--gws-service-account-file", "/nonexistent/idpscim-key.json"],
    code: 2,
    mentions: ["gws.service_account_file", "/nonexistent/idpscim-key.json", "pass --gws-service-account-file"],
    noRequests: true,
  },
  {
    name: "service-account file that is not JSON",
    args: ["sync", "--gws-service-account-file", "KEY:not-json.txt"],
    prepare: () => writeFileSync(join(dir(), "not-json.txt"), "client_email: x@example.com\n"),
    code: 2,
    mentions: ["gws.service_account_file", "not-json.txt", "is not JSON", "download a JSON key"],
    noRequests: true,
  },
  {
    name: "service-account file that is another kind of Google credential",
    args: ["sync", "--gws-service-account-file", "KEY:authorized-user.json"],
    prepare: () =>
      writeFileSync(join(dir(), "authorized-user.json"), JSON.stringify({ type: "authorized_user", client_id: "1", client_secret: "s", refresh_token: "r" })),
    code: 2,
    mentions: ["gws.service_account_file", '"authorized_user"', "download a JSON key"],
    noRequests: true,
  },
  {
    name: "service-account file whose private key is damaged",
    args: ["sync", "--gws-service-account-file", "KEY:damaged.json"],
    prepare: () =>
      writeFileSync(join(dir(), "damaged.json"), keyWith((k) => ({ ...k, private_key: k.private_key!.replace(/\n[A-Za-z0-9+/]{12}/, "\n!!!!!!!!!!!!") }))),
    code: 2,
    mentions: ["gws.service_account_file", "private_key", "download a JSON key"],
    noRequests: true,
  },
  {
    name: "SCIM endpoint that is not a URL",
    args: ["sync", "--aws-scim-endpoint", "scim.us-east-1.amazonaws.com/tenant/scim/v2"],
    code: 2,
    mentions: ["--aws-scim-endpoint", "is not a URL", "https://scim.us-east-1.amazonaws.com/"],
    noRequests: true,
  },
  // State: exit 2 before any request, the file left as it was.
  {
    name: "state file that is not JSON",
    args: ["sync"],
    prepare: () => writeFileSync(world.statePath, '{"schemaVersion": 1, "users": {'),
    code: 2,
    mentions: ["state.json", "is not valid JSON", "restore"],
    noRequests: true,
  },
  {
    name: "state file of a newer schema version",
    args: ["sync"],
    prepare: () => writeFileSync(world.statePath, JSON.stringify({ schemaVersion: 99, users: {}, groups: {} })),
    code: 2,
    mentions: ["state.json", "schemaVersion 99", "upgrade idpscim"],
    noRequests: true,
  },
  {
    name: "state file of the wrong shape",
    args: ["sync"],
    prepare: () => writeFileSync(world.statePath, JSON.stringify({ schemaVersion: 1, users: [], groups: {} })),
    code: 2,
    mentions: ["state.json", "`users` is not an object", "restore"],
    noRequests: true,
  },
  // SCIM answers that are not SCIM: exit 1, before any write.
  {
    name: "SCIM ListResponse whose Resources is a string",
    args: ["sync", "SCIM"],
    prepare: answer(200, "application/scim+json", listResponse("oops")),
    code: 1,
    mentions: ["/tenant/scim/v2", '"Resources" is a string', "check aws.scim_endpoint"],
    noRequests: false,
  },
  {
    name: "SCIM endpoint answering an HTML page (a proxy's login page)",
    args: ["sync", "SCIM"],
    prepare: answer(200, "text/html; charset=utf-8", "<!doctype html><html><head><title>Sign in to Example Proxy</title></head><body><form></form></body></html>"),
    code: 1,
    mentions: ["/tenant/scim/v2", "text/html", "Sign in to Example Proxy", "check aws.scim_endpoint"],
    noRequests: false,
  },
  {
    name: "SCIM endpoint answering 200 with a body that is not JSON",
    args: ["inspect", "scim", "users", "SCIM"],
    prepare: answer(200, "application/json", "OK"),
    code: 1,
    mentions: ["/tenant/scim/v2", "does not parse as JSON", "check aws.scim_endpoint"],
    noRequests: false,
  },
  // Google answers that are not Google's: exit 1, before any SCIM request.
  {
    name: "gws.api_url answering HTML",
    args: ["sync", "--gws-api-url", "IMPOSTOR"],
    prepare: answer(200, "text/html", "<html><body><h1>Welcome to nginx!</h1></body></html>"),
    code: 1,
    mentions: ["groups.list", "text/html", "Welcome to nginx!", "check gws.api_url"],
    noRequests: false,
  },
  {
    name: "gws.api_url answering JSON of another shape",
    args: ["sync", "--gws-api-url", "IMPOSTOR"],
    prepare: answer(200, "application/json", JSON.stringify({ groups: "none" })),
    code: 1,
    mentions: ["groups.list", '"groups" as a string', "check gws.api_url"],
    noRequests: false,
  },
  {
    name: "gws.token_url answering HTML",
    args: ["sync", "--gws-token-url", "IMPOSTOR/token"],
    prepare: answer(200, "text/html", "<html><head><title>Captive portal</title></head></html>"),
    code: 1,
    mentions: ["token endpoint", "/token", "Captive portal", "check gws.token_url"],
    noRequests: false,
  },
];

/** Expands the placeholders: KEY:<file> (a file in the world's directory), IMPOSTOR, SCIM (point SCIM at the impostor). */
function argsOf(c: Case): string[] {
  return c.args.flatMap((arg) => {
    if (arg === "SCIM") return scimAt();
    if (arg.startsWith("KEY:")) return [join(dir(), arg.slice(4))];
    return [arg.replace("IMPOSTOR", impostor.url)];
  });
}

function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => /^\S+\s+ERROR\s/.test(line));
}

describe("bad input: one clear line, the right exit code, nothing written", () => {
  for (const c of cases) {
    test(c.name, async () => {
      world.writeConfig();
      rmSync(world.statePath, { force: true });
      impostor.methods.length = 0;
      world.emulators.scim.log.clear();
      world.emulators.google.log.clear();
      c.prepare?.();
      const stateBefore = existsSync(world.statePath) ? readFileSync(world.statePath, "utf8") : undefined;

      const result: CliResult = await world.run(argsOf(c), { ...(c.env ? { env: c.env } : {}), ...(c.config === false ? { config: false } : {}) });

      const lines = errorLines(result.stderr);
      firstLines.push(`${c.name} → exit ${result.code}: ${lines[0] ?? "(no error line)"}`);
      expect(result.code).toBe(c.code);
      expect(lines).toHaveLength(1);
      const line = lines[0]!;
      for (const mention of c.mentions) {
        if (typeof mention === "string") expect(line).toContain(mention);
        else expect(line).toMatch(mention);
      }
      expect(line).toMatch(FIX);
      // Values marked 7f3a stand for secrets: never echoed, whole or in part.
      expect(result.stderr).not.toContain("7f3a");
      expect(result.stderr).not.toMatch(STACK);
      expect(result.stdout).toBe("");
      // Nothing written: no SCIM write anywhere, the state as it was (absent stays absent).
      expect(world.emulators.scim.log.writes()).toBe(0);
      if (c.args.includes("SCIM")) expect(impostor.methods.filter((m) => m !== "GET")).toEqual([]);
      expect(existsSync(world.statePath) ? readFileSync(world.statePath, "utf8") : undefined).toBe(stateBefore);
      if (c.noRequests) {
        expect(world.emulators.scim.log.total()).toBe(0);
        expect(world.emulators.google.log.total()).toBe(0);
        expect(impostor.methods).toEqual([]);
      }
      if (c.args.includes("--gws-api-url") || c.args.includes("--gws-token-url")) expect(world.emulators.scim.log.total()).toBe(0);
    });
  }
});

/** A word pasted where a command goes: looks like a token, so it must never be echoed. */
const TOKEN_LIKE = "AQoDYXdzEJr-idpscim-e2e-9c41f07b2d6a";

interface WordCase {
  name: string;
  args: string[];
  /** What the single `idpscim: …` line must say. */
  says: string[];
  /** What it must not say. */
  hides?: string[];
}

const wordCases: WordCase[] = [
  { name: "a mistyped command is not run as a sync", args: ["paln"], says: ['unknown command "paln" (did you mean plan?)', "the commands are sync, plan, inspect, state, config, doctor"] },
  { name: "a mistyped command with a word after it", args: ["syncc", "x"], says: ['unknown command "syncc" (did you mean sync?)'] },
  { name: "a word after sync", args: ["sync", "extra"], says: ['sync takes no further arguments, got "extra"', "remove it"] },
  { name: "a word after plan", args: ["plan", "x"], says: ['plan takes no further arguments, got "x"', "remove it"] },
  { name: "a word after inspect's two", args: ["inspect", "scim", "users", "x"], says: ['inspect takes no further arguments, got "x"'] },
  {
    name: "a token-like word in the command's place is not echoed",
    args: [TOKEN_LIKE],
    says: [`unknown command (a ${TOKEN_LIKE.length}-character word, not shown as it may be a value meant for an option)`],
    hides: [TOKEN_LIKE, "AQoD"],
  },
  {
    name: "a token-like word after sync is not echoed",
    args: ["sync", "--dry-run", TOKEN_LIKE],
    says: [`sync takes no further arguments, got (a ${TOKEN_LIKE.length}-character word`],
    hides: [TOKEN_LIKE, "AQoD"],
  },
  {
    // yargs would read "-AQoD…" as one-letter flags and name them: the token's letters, echoed.
    name: "a token that starts with a dash, after its flag, is not read as flags nor echoed",
    args: ["sync", "--aws-scim-access-token", `-${TOKEN_LIKE}`],
    says: ["--aws-scim-access-token has no value", "write --aws-scim-access-token=VALUE for a value that starts with a dash"],
    hides: [TOKEN_LIKE, "AQoD", "Unknown argument"],
  },
  { name: "a flag that takes a value, followed by another flag", args: ["plan", "--user", "--reconcile"], says: ["--user has no value: the next word starts with a dash"] },
];

describe("unknown words on the command line: one usage line, exit 2, no request", () => {
  for (const c of wordCases) {
    test(c.name, async () => {
      world.writeConfig();
      rmSync(world.statePath, { force: true });
      world.emulators.scim.log.clear();
      world.emulators.google.log.clear();

      const result = await world.run(c.args);

      firstLines.push(`${c.name} → exit ${result.code}: ${result.stderr.trim()}`);
      expect(result.code).toBe(2);
      const lines = result.stderr.split("\n").filter((line) => line !== "");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith("idpscim: ");
      for (const text of c.says) expect(lines[0]).toContain(text);
      for (const text of c.hides ?? []) expect(result.stderr).not.toContain(text);
      expect(result.stdout).toBe("");
      expect(world.emulators.scim.log.total()).toBe(0);
      expect(world.emulators.google.log.total()).toBe(0);
      expect(existsSync(world.statePath)).toBe(false);
    });
  }

  test("a bare idpscim still runs a sync (idp-scim-sync's default)", async () => {
    world.writeConfig();
    rmSync(world.statePath, { force: true });
    world.emulators.scim.log.clear();

    const result = await world.run([]);

    expect(result.code).toBe(0);
    expect(world.emulators.scim.log.writes()).toBeGreaterThan(0);
    expect(existsSync(world.statePath)).toBe(true);
  });
});

describe("a secret given as a flag", () => {
  test("works, with one warning naming the safer ways, and the token is shown nowhere", async () => {
    world.writeConfig();
    rmSync(world.statePath, { force: true });
    world.emulators.scim.log.clear();
    const token = world.emulators.scim.token;

    const result = await world.run(["plan", "-t", token]);

    expect(result.code).toBe(0);
    const warnings = result.stderr.split("\n").filter((line) => /^\S+\s+WARN\s/.test(line) && line.includes("process list"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("--aws-scim-access-token (-t) was given on the command line");
    expect(warnings[0]).toContain("set IDPSCIM_AWS_SCIM_ACCESS_TOKEN instead");
    expect(warnings[0]).toContain("Secrets Manager");
    expect(`${result.stdout}${result.stderr}`).not.toContain(token);
    // The run went ahead (a plan reads AWS) and wrote nothing.
    expect(world.emulators.scim.log.total()).toBeGreaterThan(0);
    expect(world.emulators.scim.log.writes()).toBe(0);
  });

  test("from the file or the environment there is no warning", async () => {
    world.writeConfig();
    const result = await world.run(["config", "validate"], { env: { IDPSCIM_AWS_SCIM_ACCESS_TOKEN: world.emulators.scim.token } });
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain("process list");
  });
});
