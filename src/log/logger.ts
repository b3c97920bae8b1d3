/**
 * @module Logging: every line to stderr (stdout carries only results), as text or as one-line
 * JSON with Powertools' key names, through consola. Known secret values are redacted in the
 * reporter itself, so no code path can log them by mistake. Text read from Google or AWS cannot
 * forge a line nor drive the terminal: control characters are escaped, and the lines after a
 * message's first are indented. Under journald, text lines carry a syslog priority prefix
 * instead of a timestamp (sd-daemon(3)), so `journalctl -p warning` finds the warnings.
 */
import { createConsola, type LogObject } from "consola";
import { redactSecretShapes } from "../core/errors.ts";
import type { Logger } from "../core/ports.ts";
import { escapeControls, safeJson } from "../core/text.ts";
import { stderrIsJournal, writeStderr } from "../platform/runtime.ts";

export type LogLevelName = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";

export interface LoggerOptions {
  level: LogLevelName;
  format: LogFormat;
  service?: string;
  /** Extra keys on every JSON line (e.g. function_request_id in Lambda). */
  context?: Record<string, unknown>;
  write?: (line: string) => void;
  /**
   * Text lines for the journal: each line (continuations too) starts with its syslog priority
   * (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug) and has no timestamp, which journald
   * adds. Default: when the lines go to stderr and stderr is the journal ($JOURNAL_STREAM).
   */
  journald?: boolean;
}

export interface ManagedLogger extends Logger {
  /** Registers a secret value: from now on it is replaced by *** in every line. */
  redact(secret: string | undefined): void;
  /** `text` as a line would show it: registered secrets and known credential shapes replaced (for results on stdout). */
  scrub(text: string): string;
  setContext(context: Record<string, unknown>): void;
  /**
   * One line whatever the level (the audit trail in Lambda): in JSON, an INFO line with `fields`
   * after the usual keys and the context, every string scrubbed; in text, `message` as an INFO line.
   */
  record(message: string, fields: Record<string, unknown>): void;
}

const LEVELS: Record<LogLevelName, number> = { error: 0, warn: 1, info: 3, debug: 4 };
/** Syslog priorities by our level word, as sd-daemon(3)'s SD_ERR, SD_WARNING, SD_INFO and SD_DEBUG. */
const PRIORITIES = { ERROR: 3, WARN: 4, INFO: 6, DEBUG: 7 } as const;

/**
 * The longest message logged whole. Values are shortened where they are put into a message
 * (`shown()`); this is the backstop for one that was not, so a 10 KB name cannot fill the log.
 */
export const LOG_MESSAGE_MAX = 4096;
/** What starts every line of a text message after its first: never a timestamp. */
export const CONTINUATION_INDENT = "    ";

/**
 * A message as one text log entry: control characters escaped (`\x1b`, `\r`) except the
 * newlines of our own multi-line messages, and every line after the first indented, so that
 * a "\n2026-01-01T00:00:00.000Z ERROR ..." inside a name can never pass for a line of its own.
 */
export function textMessage(message: string): string {
  return escapeControls(message.replace(/\n+$/, ""), "\n").split("\n").join(`\n${CONTINUATION_INDENT}`);
}

function capped(message: string): string {
  return message.length > LOG_MESSAGE_MAX ? `${message.slice(0, LOG_MESSAGE_MAX)}…(message cut: ${message.length} characters)` : message;
}

export function createLogger(options: LoggerOptions): ManagedLogger {
  const secrets = new Set<string>();
  const write = options.write ?? writeStderr;
  const journald = options.journald ?? (options.write === undefined && options.format === "text" && stderrIsJournal());
  let context = { ...options.context };
  // Known values first (longest first, so a key file goes before the PEM lines inside it), then
  // the shapes no one registered: Google access tokens, PEM keys, JWTs, bearer headers.
  let ordered: string[] = [];
  const scrub = (text: string): string => {
    let out = text;
    for (const secret of ordered) out = out.split(secret).join("***");
    return redactSecretShapes(out);
  };
  const reporter = {
    log(entry: LogObject) {
      // Redacted before it is cut, so a cut can never leave the start of a secret.
      const message = capped(scrub(entry.args.map((a) => (typeof a === "string" ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(" ")));
      const level = entry.type === "warn" ? "WARN" : entry.type === "error" || entry.type === "fatal" ? "ERROR" : entry.type === "debug" ? "DEBUG" : "INFO";
      if (options.format === "json") {
        // One line: JSON.stringify escapes C0 controls and newlines; safeJson the rest (C1, U+2028).
        write(`${safeJson(JSON.stringify({ level, message, timestamp: new Date(entry.date).toISOString(), service: options.service ?? "idpscim", ...context }))}\n`);
      } else if (journald) {
        // journald splits on newlines: every line needs the prefix, or a continuation would be "info".
        const prefix = `<${PRIORITIES[level]}>`;
        write(`${prefix}${level.padEnd(5)} ${textMessage(message).split("\n").join(`\n${prefix}`)}\n`);
      } else {
        write(`${new Date(entry.date).toISOString()} ${level.padEnd(5)} ${textMessage(message)}\n`);
      }
    },
  };
  const consola = createConsola({ level: LEVELS[options.level], reporters: [reporter] });
  return {
    debug: (m) => consola.debug(m),
    info: (m) => consola.info(m),
    warn: (m) => consola.warn(m),
    error: (m) => consola.error(m),
    redact(secret) {
      // Short values would blank out ordinary words; tokens and keys are long.
      if (!secret || secret.length < 8 || secrets.has(secret)) return;
      secrets.add(secret);
      // A value logged inside JSON (a config dump, a body) appears with its escapes.
      const escaped = JSON.stringify(secret).slice(1, -1);
      if (escaped !== secret) secrets.add(escaped);
      ordered = [...secrets].sort((a, b) => b.length - a.length);
    },
    scrub,
    setContext(next) {
      context = { ...context, ...next };
    },
    record(message, fields) {
      if (options.format !== "json") return write(`${new Date().toISOString()} INFO  ${textMessage(capped(scrub(message)))}\n`);
      const line = { level: "INFO", message: capped(scrub(message)), timestamp: new Date().toISOString(), service: options.service ?? "idpscim", ...context, ...fields };
      write(`${safeJson(JSON.stringify(line, (_key, value: unknown) => (typeof value === "string" ? scrub(value) : value)))}\n`);
    },
  };
}
