/**
 * @module Unit tests of the audit trail's events, through the executor against the in-memory tenant
 * model: a write made on the way (an adoption after a 409) is recorded with the operation it
 * served, a rejected write with AWS's answer, and members with the userNames the run knows.
 */
import { describe, expect, test } from "bun:test";
import { apply } from "../../src/core/apply.ts";
import type { Operation, Plan } from "../../src/core/plan.ts";
import type { AuditEvent } from "../../src/core/ports.ts";
import { refusalEvents, rejectedRecordEvent } from "../../src/core/audit.ts";
import type { SyncState, TenantSnapshot, UserAttributes } from "../../src/model/index.ts";
import { managedAttributesFor, STATE_SCHEMA_VERSION } from "../../src/model/index.ts";
import { createLogger } from "../../src/log/logger.ts";
import { auditLine, logStreamAudit } from "../../src/shell/audit-log.ts";
import { TenantModel } from "../support/tenant-model.ts";

const attrs = (name: string): UserAttributes => ({ userName: `${name}@example.com`, displayName: name, givenName: name, familyName: "Test", email: `${name}@example.com`, active: true });
const planOf = (operations: Operation[]): Plan => ({ operations, bookkeeping: { forgetUsers: [], forgetGroups: [] }, warnings: [], rejected: [], managed: { users: 0, groups: 0, memberships: 0 } });
const NOW = Date.parse("2026-12-01T06:00:00Z");

async function audited(tenant: TenantSnapshot, operations: Operation[], state: SyncState = { schemaVersion: STATE_SCHEMA_VERSION, users: {}, groups: {} }) {
  const events: AuditEvent[] = [];
  const result = await apply(planOf(operations), state, {
    target: TenantModel.from(tenant, "t").target(),
    concurrency: 1,
    managedAttributes: managedAttributesFor([]),
    adoptGroupsByName: false,
    protectedGroups: [],
    now: () => NOW,
    audit: { run: "run-1", trail: { record: (event) => events.push(event) } },
  });
  return { events, result };
}

describe("audit events of the executor", () => {
  test("a create that meets 409 and adopts: the rejected POST, then the PATCH that made the user ours, marked as serving the create", async () => {
    const { events, result } = await audited({ users: [{ scimId: "t1", attributes: { ...attrs("ana"), displayName: "Ana Old" } }], groups: [] }, [
      { kind: "createUser", sourceId: "u1", attributes: attrs("ana") },
    ]);
    expect(result.adoptedOnConflict).toBe(1);
    expect(events.map((e) => [e.operation, e.result, e.planned])).toEqual([
      ["createUser", "rejected", undefined],
      ["updateUser", "ok", "createUser"],
    ]);
    expect(events[0]).toMatchObject({ audit: "idpscim", run: "run-1", time: "2026-12-01T06:00:00.000Z", resource: "User", externalId: "u1", name: "ana@example.com", status: 409 });
    expect(events[1]).toMatchObject({ scimId: "t1", changed: { displayName: "ana", externalId: "u1" } });
    // The in-memory target counts no attempts: the events leave them out rather than guess.
    expect(events.every((e) => e.attempts === undefined)).toBe(true);
  });

  test("member changes name each member the state knows; a member known only by SCIM id is named by it alone", async () => {
    const state: SyncState = {
      schemaVersion: STATE_SCHEMA_VERSION,
      users: { u1: { scimId: "t1", attributes: attrs("ana") } },
      groups: { g1: { scimId: "tg", displayName: "AWS Admins", memberSourceIds: ["u1"] } },
    };
    const tenant: TenantSnapshot = {
      users: [
        { scimId: "t1", externalId: "u1", attributes: attrs("ana") },
        { scimId: "t2", attributes: attrs("bob") },
      ],
      groups: [{ scimId: "tg", externalId: "g1", displayName: "AWS Admins", memberScimIds: ["t1", "t2"] }],
    };
    const { events } = await audited(tenant, [{ kind: "removeMembers", group: { scimId: "tg", sourceId: "g1" }, groupSourceId: "g1", members: [{ scimId: "t1", sourceId: "u1" }, { scimId: "t2" }] }], state);
    expect(events).toEqual([
      {
        audit: "idpscim",
        time: "2026-12-01T06:00:00.000Z",
        run: "run-1",
        operation: "removeMembers",
        resource: "Group",
        externalId: "g1",
        name: "AWS Admins",
        scimId: "tg",
        members: [{ scimId: "t1", userName: "ana@example.com" }, { scimId: "t2" }],
        result: "ok",
      },
    ]);
  });

  test("refusals: one event per rule broken (its figures) and per record not acted on", () => {
    const audit = { run: "run-1", trail: { record: () => {} } };
    const [run] = refusalEvents([{ rule: "max_deletes", what: "users", count: 20, managed: 40, limit: 10, names: ["a@example.com"], setting: { percent: 25 } }], "refused", audit, NOW);
    expect(run).toMatchObject({ operation: "refuseRun", resource: "Run", rule: "max_deletes", count: 20, limit: 10, managed: 40, names: ["a@example.com"], result: "refused" });
    expect(rejectedRecordEvent({ kind: "group", sourceId: "g9", subject: '"Bell\\u0007Group"', reason: "a control character" }, audit, NOW)).toMatchObject({
      operation: "refuseRecord",
      resource: "Group",
      externalId: "g9",
      result: "refused",
      reason: "a control character",
    });
  });
});

describe("audit lines", () => {
  const TOKEN = "scim-token-0123456789abcdef";
  const event: AuditEvent = { audit: "idpscim", time: "2026-12-01T06:00:00.000Z", run: "r1", operation: "updateUser", resource: "User", name: `x${TOKEN}\u2028y`, result: "ok", attempts: 1 };

  test("in Lambda: one JSON log line whatever the level, Powertools' keys first, then the context and the event, secrets scrubbed", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "error", format: "json", write: (line) => lines.push(line) });
    log.redact(TOKEN);
    log.setContext({ function_request_id: "req-1" });
    log.info("not at this level");
    logStreamAudit(log).record(event);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith("\n")).toBe(true);
    expect(lines[0]!.slice(0, -1)).not.toMatch(/[\n\u2028]/);
    const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(parsed).slice(0, 6)).toEqual(["level", "message", "timestamp", "service", "function_request_id", "audit"]);
    expect(parsed).toMatchObject({ level: "INFO", message: "audit: updateUser x***\u2028y: ok", audit: "idpscim", run: "r1", name: "x***\u2028y" });
    expect(lines[0]).not.toContain(TOKEN);
  });

  test("in a file: the event alone on one line, scrubbed", () => {
    const line = auditLine(event, (text) => text.split(TOKEN).join("***"));
    expect(line.slice(0, -1)).not.toMatch(/[\n\u2028]/);
    expect(JSON.parse(line)).toEqual({ ...event, name: "x***\u2028y" });
  });
});
