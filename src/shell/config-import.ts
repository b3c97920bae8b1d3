/**
 * @module `idpscim config import --from idp-scim-sync FILE | --from ssosync [FILE]`: reads the
 * other tool's configuration, writes the equivalent config.toml to stdout (or --out), and says on
 * stderr, one line each, what has no equivalent, which secrets to move and what changed on purpose.
 * The mapping itself is pure (src/config/import/); this is its I/O.
 */
import type { Options as YargsOptions } from "yargs";
import { importIdpScimSync } from "../config/import/idp-scim-sync.ts";
import { renderImportedToml, type Imported } from "../config/import/imported.ts";
import { importSsosync, parseSsosyncFile, ssosyncFromEnvironment } from "../config/import/ssosync.ts";
import { shorten } from "../config/values.ts";
import { EXIT, SyncError } from "../core/errors.ts";
import { environment, parseYaml, readTextFile, writeStderr, writeStdout, writeTextFile, YamlError } from "../platform/runtime.ts";

export const IMPORT_SOURCES = ["idp-scim-sync", "ssosync"] as const;
export type ImportSource = (typeof IMPORT_SOURCES)[number];

/** The options `config import` adds (registered on `config <action>`; refused with `validate`). */
export const CONFIG_IMPORT_OPTIONS: Record<string, YargsOptions> = {
  from: { type: "string", choices: [...IMPORT_SOURCES], describe: "config import: the tool whose configuration FILE holds (ssosync without FILE: this environment's SSOSYNC_* variables)." },
  out: { type: "string", describe: "config import: write the config.toml to this file instead of stdout (never over an existing one without --force)." },
  force: { type: "boolean", describe: "config import: let --out replace an existing file." },
};

export interface ConfigImportRequest {
  from: ImportSource;
  file?: string;
  out?: string;
  force: boolean;
}

/**
 * The request from `config <action> [file]`'s argv, or the usage problem: `import` needs --from
 * (and a FILE for idp-scim-sync); `validate` takes none of import's options.
 */
export function configImportRequest(argv: Record<string, unknown>): { request?: ConfigImportRequest; problem?: string } {
  const file = argv.file === undefined ? undefined : String(argv.file);
  const out = argv.out === undefined ? undefined : String(argv.out);
  if (argv.action !== "import") {
    const extra = [file !== undefined && "FILE", argv.from !== undefined && "--from", out !== undefined && "--out", argv.force !== undefined && "--force"].filter(Boolean);
    return extra.length === 0 ? {} : { problem: `config validate takes no ${extra.join(", ")}; those are for config import` };
  }
  const from = argv.from as ImportSource | undefined;
  if (from === undefined) return { problem: "config import needs --from idp-scim-sync FILE or --from ssosync [FILE]" };
  if (from === "idp-scim-sync" && file === undefined) return { problem: "config import --from idp-scim-sync needs the FILE it reads (its .idpscim.yaml)" };
  return { request: { from, force: argv.force === true, ...(file !== undefined ? { file } : {}), ...(out !== undefined ? { out } : {}) } };
}

async function readSource(path: string): Promise<string> {
  try {
    return await readTextFile(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new SyncError("CONFIG_INVALID", `cannot read ${shorten(path)}: ${typeof code === "string" ? code : "unreadable"}`, { hint: "check the path and its permissions" });
  }
}

function yamlOf(text: string, path: string): unknown {
  try {
    return parseYaml(text);
  } catch (error) {
    if (!(error instanceof YamlError)) throw error;
    if (error.unsupported) {
      throw new SyncError("CONFIG_INVALID", "reading idp-scim-sync's YAML needs the Bun runtime", { hint: "run the idpscim release binary, or `bun src/main.ts config import ...`" });
    }
    const at = error.line === undefined ? "" : ` (at line ${error.line}${error.column === undefined ? "" : `, column ${error.column}`})`;
    // Not the parser's message: it may quote the line, and the line may hold the token.
    throw new SyncError("CONFIG_INVALID", `${shorten(path)} is not valid YAML${at}`, { hint: "fix the file, or copy the keys that matter into a new one" });
  }
}

async function imported(request: ConfigImportRequest): Promise<{ result: Imported; source: string }> {
  if (request.from === "idp-scim-sync") {
    const path = request.file!;
    return { result: importIdpScimSync(yamlOf(await readSource(path), path)), source: `idp-scim-sync's ${path}` };
  }
  if (request.file !== undefined) {
    return { result: importSsosync(parseSsosyncFile(await readSource(request.file), shorten(request.file))), source: `ssosync's settings in ${request.file}` };
  }
  return { result: importSsosync(ssosyncFromEnvironment(environment())), source: "ssosync's SSOSYNC_* variables of this environment" };
}

export async function runConfigImport(request: ConfigImportRequest): Promise<number> {
  try {
    const { result, source } = await imported(request);
    const toml = renderImportedToml(result, [
      `idpscim configuration imported from ${source} by \`idpscim config import\`.`,
      "Secrets were not copied: a commented line says where each one goes. Check the result with",
      "`idpscim config validate --config-file <this file>`, then `idpscim plan` before the first sync.",
    ]);
    if (request.out !== undefined) {
      if ((await writeTextFile(request.out, toml, request.force)) === "exists") {
        throw new SyncError("CONFIG_INVALID", `${shorten(request.out)} exists; not replaced`, { hint: "pass --force to replace it, or give another --out" });
      }
    } else writeStdout(toml);
    for (const note of result.notes) writeStderr(`idpscim config import: ${note}\n`);
    if (request.out !== undefined) writeStderr(`idpscim config import: wrote ${request.out}; check it with \`idpscim config validate --config-file ${request.out}\`\n`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof SyncError) {
      writeStderr(`idpscim: ${error.code}: ${error.describe()}\n`);
      return error.exitCode;
    }
    throw error;
  }
}
