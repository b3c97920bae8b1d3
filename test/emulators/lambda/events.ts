/**
 * @module Events as AWS delivers them to the function: the EventBridge rule "Scheduled Event"
 * envelope (docs/lambda-runtime.md §7.1). EventBridge Scheduler delivers the schedule's own input instead, so
 * the function must accept any JSON; tests send both.
 */
import { randomUUID } from "node:crypto";

export interface ScheduledEvent {
  version: "0";
  id: string;
  "detail-type": "Scheduled Event";
  source: "aws.events";
  account: string;
  /** ISO-8601 UTC at second precision, e.g. 2024-05-01T06:00:00Z. */
  time: string;
  region: string;
  /** The rule's ARN. */
  resources: string[];
  detail: Record<string, never>;
}

export function scheduledEvent(options: { time?: Date; region?: string; account?: string; ruleName?: string } = {}): ScheduledEvent {
  const region = options.region ?? "us-east-1";
  const account = options.account ?? "123456789012";
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account,
    time: (options.time ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    region,
    resources: [`arn:aws:events:${region}:${account}:rule/${options.ruleName ?? "idpscim-schedule"}`],
    detail: {},
  };
}
