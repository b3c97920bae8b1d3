/**
 * @module Human and machine renderings of plans, run summaries and listings (pure: returns
 * strings). Every name and table cell comes from Google or AWS, so each goes through `shown()`:
 * escaped (no terminal sequence, no line break) and shortened.
 */
import type { GuardrailVerdict } from "../core/guardrails.ts";
import type { SyncReport } from "../core/sync.ts";
import type { Operation, Plan } from "../core/plan.ts";
import { summarisePlan } from "../core/plan.ts";
import { escapeControls, safeJson, shown } from "../core/text.ts";
import { subjectOf } from "../core/apply.ts";
import { renderRefusal } from "./messages.ts";

const SIGN: Record<Operation["kind"], string> = {
  createUser: "+ user ",
  createGroup: "+ group",
  updateUser: "~ user ",
  updateGroup: "~ group",
  addMembers: "+ members",
  removeMembers: "- members",
  deleteGroup: "- group",
  deleteUser: "- user ",
};

/** The operation's user or group as the plan shows it: apply's names, escaped and shortened; a member change names its group alone (the count is in the line). */
function subject(op: Operation): string {
  return op.kind === "addMembers" || op.kind === "removeMembers" ? `group ${shown(op.groupSourceId)}` : subjectOf(op);
}

export function describeOperation(op: Operation): string {
  const sign = SIGN[op.kind];
  switch (op.kind) {
    case "updateUser": {
      const label = (name: string) => (name === "managerSourceId" ? "manager" : name);
      const fields = [...Object.keys(op.set).map(label), ...op.clear.map((c) => `-${label(c)}`), ...(op.externalId ? ["externalId"] : [])];
      return `${sign} ${subject(op)} (${op.why}${fields.length ? `: ${fields.join(", ")}` : ""})`;
    }
    case "updateGroup":
      return `${sign} ${subject(op)} (${op.why}${op.displayName ? `: rename` : ""}${op.externalId ? ", externalId" : ""})`;
    case "createGroup":
      return `${sign} ${subject(op)} (${op.members.length} initial members)`;
    case "addMembers":
    case "removeMembers":
      return `${sign} ${op.members.length} in ${subject(op)}`;
    case "deleteUser":
    case "deleteGroup":
      return `${sign} ${subject(op)} (${op.why}${op.early ? ", before the creates: one takes its name" : ""})`;
    default:
      return `${sign} ${subject(op)}`;
  }
}

export function renderPlanText(plan: Plan, limit = 200): string {
  const s = summarisePlan(plan);
  const lines = [
    `Plan: ${s.createUser} users to create, ${s.updateUser} to update, ${s.deleteUser} to delete; ` +
      `${s.createGroup} groups to create, ${s.updateGroup} to update, ${s.deleteGroup} to delete; ` +
      `${s.addMembers} memberships to add, ${s.removeMembers} to remove; ${s.requests} SCIM write requests.`,
  ];
  if (plan.operations.length === 0 && plan.rejected.length === 0) lines.push("Nothing to do: AWS matches the source.");
  for (const op of plan.operations.slice(0, limit)) lines.push(`  ${describeOperation(op)}`);
  if (plan.operations.length > limit) lines.push(`  … and ${plan.operations.length - limit} more (use --output json for all)`);
  // Records the run will not act on: each is a failed record of a sync (exit 1).
  for (const r of plan.rejected.slice(0, limit)) lines.push(`  ! ${r.kind}  ${shown(r.subject)}: not synced: ${escapeControls(r.reason)}`);
  if (plan.rejected.length > limit) lines.push(`  … and ${plan.rejected.length - limit} more not synced (use --output json for all)`);
  return `${lines.join("\n")}\n`;
}

/** The safety rails' verdict on a plan, for `plan` and `sync --dry-run`: what a sync would do with it. */
export function renderGuardrails(verdict: GuardrailVerdict): string {
  const counts =
    `users removed ${verdict.users.count} (limit ${verdict.users.limit} of ${verdict.users.managed} managed), ` +
    `groups deleted ${verdict.groups.count} (limit ${verdict.groups.limit} of ${verdict.groups.managed} managed), ` +
    `memberships removed ${verdict.memberships.count} (limit ${verdict.memberships.limit} of ${verdict.memberships.managed} managed)`;
  const refusals = verdict.refusals.map(renderRefusal);
  const lines =
    refusals.length > 0
      ? [`Guardrails: REFUSED: a sync would stop before any write (exit 3); ${counts}`, ...refusals.flatMap((r) => [`  ${escapeControls(r.message)}`, `    to go on: ${escapeControls(r.hint)}`])]
      : [`Guardrails: pass; ${counts}`];
  // The messages list names (the first ten): escaped here whatever they hold.
  for (const allowed of verdict.overridden) lines.push(`  allowed for this run only: ${escapeControls(renderRefusal(allowed).message)}`);
  return `${lines.join("\n")}\n`;
}

/** The rails' verdict as `plan --output json` and `sync --output json` give it. */
function guardrailsJson(guardrails: GuardrailVerdict) {
  return {
    refused: guardrails.refusals.length > 0,
    users: guardrails.users,
    groups: guardrails.groups,
    memberships: guardrails.memberships,
    refusals: guardrails.refusals.map(renderRefusal),
    overridden: guardrails.overridden.map(renderRefusal),
  };
}

export function renderPlanJson(report: SyncReport): string {
  return `${safeJson(JSON.stringify(
    {
      summary: report.planSummary,
      tenantRead: report.tenantRead,
      guardrails: guardrailsJson(report.guardrails),
      operations: report.plan.operations,
      bookkeeping: report.plan.bookkeeping,
      warnings: report.plan.warnings,
      rejected: report.plan.rejected,
    },
    null,
    2,
  ))}\n`;
}

export interface RunFigures {
  durationMs: number;
  scimRequests: Record<string, number>;
  /** SCIM requests under each pacer (reads are GETs, writes the rest), when the target was built. */
  scimByKind?: { read: number; write: number };
  googleRequests: Record<string, number>;
  /** Google requests per second of the time spent reading Google (paced by gws.rate_limit); absent before any read. */
  googleRps?: number;
  /** With source.type = "ldap": the searches sent and the pages they took (each page is one request on the wire). */
  ldapRequests?: { searches: number; pages: number };
}

/** What `sync --output json` is made of: the run's report when it finished, else the error that stopped it. */
export interface SyncOutcome {
  exitCode: number;
  /** The finished run (exit 0 or 1 for failed records); absent when an error stopped it. */
  report?: SyncReport;
  /** The stop: its stable code and its message in words (no secret: scrubbed again below). */
  error?: { code: string; message: string };
  /** The rails' verdict of a stopped run, when it got that far (a refusal carries it). */
  guardrails?: GuardrailVerdict;
  /** Requests and duration; requests are empty when the run stopped before any adapter existed. */
  figures: RunFigures;
}

/**
 * `sync --output json`: one document of what the run did (the README's "sync --output json" lists
 * the fields). `scrub` replaces the secrets the logger knows in every string, as in the log lines.
 */
export function renderSyncJson(outcome: SyncOutcome, scrub: (text: string) => string): string {
  const { report, figures } = outcome;
  const applied = report?.applied;
  const verdict = report?.guardrails ?? outcome.guardrails;
  const document = {
    command: "sync",
    exitCode: outcome.exitCode,
    error: outcome.error ?? null,
    plan: report?.planSummary ?? null,
    done: applied?.done ?? null,
    failed: applied?.failed.map((f) => ({ kind: f.kind, subject: f.subject, reason: f.reason })) ?? null,
    notStarted: applied?.notStarted ?? null,
    tenantRead: report?.tenantRead ?? null,
    stateSaved: report?.stateSaved ?? null,
    guardrails: verdict ? guardrailsJson(verdict) : null,
    requests: requestsJson(figures),
    durationMs: figures.durationMs,
  };
  return `${safeJson(JSON.stringify(document, (_key, value: unknown) => (typeof value === "string" ? scrub(value) : value), 2))}\n`;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** The requests of a run as `sync --output json` and the Lambda's summary give them. */
export function requestsJson(figures: RunFigures) {
  return {
    scim: total(figures.scimRequests),
    google: total(figures.googleRequests),
    scimByRoute: figures.scimRequests,
    googleByMethod: figures.googleRequests,
    ...(figures.ldapRequests ? { ldap: figures.ldapRequests } : {}),
  };
}

/** The run's one summary line; `runId` (its audit lines' `run`) last, when given. */
export function summaryLine(report: SyncReport, figures: RunFigures, runId?: string): string {
  const done = report.applied?.done;
  const parts = done
    ? [
        `users created ${done.createUser}, updated ${done.updateUser}, deleted ${done.deleteUser}`,
        `groups created ${done.createGroup}, updated ${done.updateGroup}, deleted ${done.deleteGroup}`,
        `membership requests ${done.addMembers + done.removeMembers}`,
        `failed ${report.applied?.failed.length ?? 0}`,
        ...(report.applied?.notStarted ? [`not started ${report.applied.notStarted} (continues next run)`] : []),
      ]
    : [`dry run: ${report.plan.operations.length} operations planned`];
  const googleRate = figures.googleRps === undefined ? "" : ` (${figures.googleRps.toFixed(1)}/s)`;
  const kinds = figures.scimByKind ? ` (${figures.scimByKind.read} reads, ${figures.scimByKind.write} writes)` : "";
  const source = figures.ldapRequests
    ? `ldap ${figures.ldapRequests.searches} searches (${figures.ldapRequests.pages} pages)`
    : `google ${total(figures.googleRequests)}${googleRate}`;
  const requests = `requests: scim ${total(figures.scimRequests)}${kinds} ${JSON.stringify(figures.scimRequests)}, ${source}`;
  return `summary: ${parts.join("; ")}; ${requests}; tenant read ${report.tenantRead}; ${(figures.durationMs / 1000).toFixed(2)}s${runId === undefined ? "" : `; run ${runId}`}`;
}

/** A plain aligned table for `inspect` and `state show`; every cell is `shown()`: one line, 80 characters at most. */
export function renderTable(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (v: unknown) => shown(v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd();
  return `${[line(columns), line(widths.map((w) => "-".repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join("\n")}\n`;
}
