/**
 * @module Where the audit trail goes: a file (`audit_log`: appended, mode 0600) or, in Lambda,
 * the function's log stream. Either way one JSON line per event, each carrying
 * `"audit":"idpscim"` for CloudWatch Logs Insights to select, scrubbed like a log line.
 */
import { optionByPath, placesOf, tomlPath } from "../config/schema.ts";
import { SyncError } from "../core/errors.ts";
import type { AuditEvent, AuditTrail } from "../core/ports.ts";
import { safeJson } from "../core/text.ts";
import type { ManagedLogger } from "../log/logger.ts";
import { openAppendFile } from "../platform/runtime.ts";

/** Only the user running the tool reads the trail: it names every user and group synced. */
const AUDIT_FILE_MODE = 0o600;

export interface AuditFile extends AuditTrail {
  close(): void;
}

/** One line: every string scrubbed (registered secrets and credential shapes), no raw control character or line separator. */
export function auditLine(event: AuditEvent, scrub: (text: string) => string): string {
  return `${safeJson(JSON.stringify(event, (_key, value: unknown) => (typeof value === "string" ? scrub(value) : value)))}\n`;
}

/**
 * The trail appended to `path`, opened now (before any request): one that cannot be opened is a
 * configuration error (exit 2), so a run never writes to AWS without its record.
 */
export function openAuditFile(path: string, scrub: (text: string) => string, log: { error(message: string): void }): AuditFile {
  let file;
  try {
    file = openAppendFile(path, AUDIT_FILE_MODE);
  } catch (error) {
    const option = optionByPath("audit_log");
    const code = (error as { code?: unknown }).code;
    throw new SyncError("CONFIG_INVALID", `${tomlPath(option)} ${JSON.stringify(path)} cannot be opened for appending (${typeof code === "string" ? code : (error as Error).message})`, {
      hint: `give a file in an existing directory this user may write to (${placesOf(option)}), or leave it out to keep no audit trail`,
    });
  }
  let lost = 0;
  return {
    record: (event) => {
      try {
        file.append(auditLine(event, scrub));
      } catch (error) {
        // The writes to AWS go on (stopping half-way helps no one); the log says the trail has a gap.
        if (lost++ === 0) log.error(`${tomlPath(optionByPath("audit_log"))}: writing to ${JSON.stringify(path)} failed (${(error as Error).message}): this run's audit lines from here on are lost`);
      }
    },
    close: () => file.close(),
  };
}

/**
 * The trail in the Lambda function's log stream: each event one JSON log line of its own (Powertools'
 * keys, the invocation's function_request_id, then the event's), whatever the log level.
 */
export function logStreamAudit(log: Pick<ManagedLogger, "record">): AuditTrail {
  return { record: (event) => log.record(`audit: ${event.operation} ${event.name ?? event.scimId ?? event.rule ?? ""}: ${event.result}`, { ...event }) };
}
