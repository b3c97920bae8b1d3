/**
 * @module CloudWatch Embedded Metric Format: one JSON line per Lambda invocation on stdout, which
 * CloudWatch Logs turns into metrics (namespace "idpscim", dimension Service) with no API call.
 * Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 *
 * @example
 * writeEmf(buildEmf({ service: "idpscim", timestamp: Date.now(), metrics: metricsFromRun(report, figures), properties: { function_request_id: id } }));
 */
import { subjectOf } from "../core/apply.ts";
import type { SyncReport } from "../core/sync.ts";
import { writeStdout } from "../platform/runtime.ts";

const EMF_NAMESPACE = "idpscim";

/** Every metric this tool emits, in output order, with its CloudWatch unit. */
const METRIC_UNITS = {
  UsersCreated: "Count",
  UsersUpdated: "Count",
  UsersDeleted: "Count",
  GroupsCreated: "Count",
  GroupsUpdated: "Count",
  GroupsDeleted: "Count",
  MembershipChanges: "Count",
  FailedRecords: "Count",
  DurationMs: "Milliseconds",
  ScimRequests: "Count",
  // Requests to the source, whichever it is, so one alarm or graph serves both; the source's own
  // figures follow, each emitted only for its source (an LDAP run has no Google requests to count).
  SourceRequests: "Count",
  GoogleRequests: "Count",
  // A gauge of the run, not a count to sum: CloudWatch's Average and Maximum over runs mean something.
  GoogleRequestRate: "Count/Second",
  LdapSearches: "Count",
  LdapPages: "Count",
  // Whole days until the SCIM token expires (aws.scim_token_expires_at; negative once expired): a gauge the module alarms on at 7.
  ScimTokenDaysLeft: "None",
} as const;

export type MetricName = keyof typeof METRIC_UNITS;
export type MetricValues = Partial<Record<MetricName, number>>;

export interface EmfInput {
  /** Value of the one dimension, `Service` (Powertools' name for it). */
  service: string;
  /** Epoch ms the metrics belong to. */
  timestamp: number;
  /** Metrics left out are not declared either: an aborted run reports only what it knows. */
  metrics: MetricValues;
  /** Searchable keys that are not metrics, e.g. `function_request_id`. */
  properties?: Record<string, unknown>;
}

export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: MetricName; Unit: string }[] }[];
  };
  Service: string;
  [key: string]: unknown;
}

export function buildEmf(input: EmfInput): EmfDocument {
  const names = (Object.keys(METRIC_UNITS) as MetricName[]).filter((name) => Number.isFinite(input.metrics[name]));
  const document: EmfDocument = {
    _aws: {
      Timestamp: input.timestamp,
      CloudWatchMetrics: [{ Namespace: EMF_NAMESPACE, Dimensions: [["Service"]], Metrics: names.map((name) => ({ Name: name, Unit: METRIC_UNITS[name] })) }],
    },
    // Properties first, so a property can never overwrite a metric or the dimension.
    ...input.properties,
    Service: input.service,
  };
  for (const name of names) document[name] = input.metrics[name];
  return document;
}

/** Writes the document as one line on stdout, where Lambda's log capture picks it up. */
export function writeEmf(document: EmfDocument, write: (line: string) => void = writeStdout): void {
  write(`${JSON.stringify(document)}\n`);
}

/** A run's request figures, as in its summary line (src/shell/render.ts RunFigures). */
export interface RunRequestFigures {
  durationMs: number;
  scimRequests: Record<string, number>;
  googleRequests: Record<string, number>;
  googleRps?: number;
  /** Present when the source is LDAP. */
  ldapRequests?: { searches: number; pages: number };
}

/** What a finished run reports; `figures` as in the run's summary line. */
export function metricsFromRun(report: SyncReport, figures: RunRequestFigures): MetricValues {
  const done = report.applied?.done;
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    UsersCreated: done?.createUser ?? 0,
    UsersUpdated: done?.updateUser ?? 0,
    UsersDeleted: done?.deleteUser ?? 0,
    GroupsCreated: done?.createGroup ?? 0,
    GroupsUpdated: done?.updateGroup ?? 0,
    GroupsDeleted: done?.deleteGroup ?? 0,
    MembershipChanges: membershipChanges(report),
    FailedRecords: report.applied?.failed.length ?? 0,
    DurationMs: figures.durationMs,
    ScimRequests: sum(figures.scimRequests),
    ...sourceMetrics(figures),
  };
}

/**
 * SourceRequests and the source's own figures. An LDAP page is one request and one answer on the
 * wire (a paged search sends one per page, RFC 2696), so it is what SourceRequests counts there.
 */
function sourceMetrics(figures: RunRequestFigures): MetricValues {
  if (figures.ldapRequests) {
    const { searches, pages } = figures.ldapRequests;
    return { SourceRequests: pages, LdapSearches: searches, LdapPages: pages };
  }
  const google = Object.values(figures.googleRequests).reduce((a, b) => a + b, 0);
  return {
    SourceRequests: google,
    GoogleRequests: google,
    // Google requests per second of reading (gws.rate_limit paces it); left out when nothing was read.
    ...(figures.googleRps === undefined ? {} : { GoogleRequestRate: Math.round(figures.googleRps * 10) / 10 }),
  };
}

/**
 * Members added plus removed (not PATCH requests: one carries up to 100 members). Exact because
 * each membership phase holds one kind and starts its operations in plan order: the first
 * done + failed operations of a kind were started (the rest were left for the next run), and a
 * failure names its operation by `subjectOf`.
 */
export function membershipChanges(report: SyncReport): number {
  const applied = report.applied;
  if (!applied) return 0;
  let members = 0;
  for (const kind of ["addMembers", "removeMembers"] as const) {
    const ops = report.plan.operations.filter((op) => op.kind === kind);
    const failed = applied.failed.filter((f) => f.kind === kind).map((f) => f.subject);
    const started = ops.slice(0, applied.done[kind] + failed.length);
    for (const op of started) {
      const at = failed.indexOf(subjectOf(op));
      if (at >= 0) failed.splice(at, 1);
      else if (op.kind === "addMembers" || op.kind === "removeMembers") members += op.members.length;
    }
  }
  return members;
}
