/** @module Unit tests of the renderings: names from Google or AWS are escaped and shortened in the plan text, tables and JSON. */
import { describe, expect, test } from "bun:test";
import type { GuardrailVerdict } from "../../src/core/guardrails.ts";
import type { Operation, Plan } from "../../src/core/plan.ts";
import type { SyncReport } from "../../src/core/sync.ts";
import { renderGuardrails, renderPlanJson, renderPlanText, renderTable, summaryLine } from "../../src/shell/render.ts";

const ESC = "\x1b";
const FORGED = `Ops${ESC}[2J\n2026-01-01T00:00:00.000Z ERROR forged`;
const ESCAPED = "Ops\\x1b[2J\\n2026-01-01T00:00:00.000Z ERROR forged";
const attributes = { userName: `ana${ESC}]0;x\x07@example.com`, email: "ana@example.com", displayName: "A", givenName: "A", familyName: "L", active: true };

const operations: Operation[] = [
  { kind: "createUser", sourceId: "1", attributes },
  { kind: "createGroup", sourceId: "g1", displayName: FORGED, members: [] },
  { kind: "updateGroup", sourceId: "g2", scimId: "s2", displayName: FORGED, desiredDisplayName: FORGED, currentMemberSourceIds: [], why: "rename" },
  { kind: "addMembers", group: { sourceId: "g3" }, groupSourceId: `g3${ESC}[K`, members: [{ sourceId: "1" }] },
  { kind: "deleteGroup", scimId: "s4", displayName: "x".repeat(10_000), why: "unmanaged" },
  { kind: "deleteUser", scimId: "s5", userName: `bo\r2026-01-01T00:00:00.000Z ERROR forged`, why: "unmanaged" },
];
const plan: Plan = {
  operations,
  bookkeeping: { forgetUsers: [], forgetGroups: [] },
  warnings: [],
  rejected: [{ kind: "group", sourceId: "g9", subject: FORGED, reason: `AWS group "${FORGED}" is not ours` }],
  managed: { users: 0, groups: 0, memberships: 0 },
};

/** No raw control character at all, and no line of the output that starts like a log line. */
function expectSafe(text: string): void {
  expect(text.replace(/\n/g, "")).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/u);
  expect(text.split("\n").filter((l) => l.startsWith("2026-01-01"))).toEqual([]);
}

describe("renderPlanText", () => {
  test("every name goes through shown(): escaped, on its own line, and shortened", () => {
    const text = renderPlanText(plan);
    expectSafe(text);
    expect(text.split("\n")).toHaveLength(1 + operations.length + plan.rejected.length + 1);
    expect(text).toContain(`! group  ${ESCAPED}: not synced: AWS group "${ESCAPED}" is not ours`);
    expect(text).toContain("+ user  ana\\x1b]0;x\\x07@example.com");
    expect(text).toContain(`+ group "${ESCAPED}" (0 initial members)`);
    expect(text).toContain(`~ group "${ESCAPED}" (rename: rename)`);
    expect(text).toContain("+ members 1 in group g3\\x1b[K");
    expect(text).toContain(`- group "${"x".repeat(80)}…(10000 chars)" (unmanaged)`);
    expect(text).toContain("- user  bo\\r2026-01-01T00:00:00.000Z ERROR forged (unmanaged)");
  });
});

describe("renderGuardrails", () => {
  test("refusal and override messages, which list names, are escaped", () => {
    const verdict: GuardrailVerdict = {
      users: { count: 40, limit: 25, managed: 100, names: [FORGED] },
      groups: { count: 0, limit: 10, managed: 4, names: [] },
      memberships: { count: 0, limit: 10, managed: 40, names: [] },
      refusals: [{ rule: "max_deletes", what: "users", setting: { percent: 25 }, count: 40, limit: 25, managed: 100, names: [FORGED, "ana@example.com"] }],
      overridden: [{ rule: "max_membership_removals", what: "memberships", setting: { count: 0 }, count: 1, limit: 0, managed: 40, names: [`${FORGED} from group g1`] }],
    };
    const text = renderGuardrails(verdict);
    expectSafe(text);
    expect(text).toContain(`allows (25): ${ESCAPED}, ana@example.com and 38 more`);
    expect(text).toContain(`allows (0): ${ESCAPED} from group g1`);
  });
});

describe("renderPlanJson", () => {
  test("parses back to the same names, and holds no raw C1 control or line separator", () => {
    const withC1: Plan = { ...plan, operations: [{ kind: "createGroup", sourceId: "g1", displayName: "a\u009b2Jb\u2028c", members: [] }] };
    const report = {
      plan: withC1,
      planSummary: {},
      tenantRead: "first-run",
      guardrails: { users: {}, groups: {}, refusals: [], overridden: [] },
    } as unknown as SyncReport;
    const json = renderPlanJson(report);
    expect(json).not.toMatch(/[\u0080-\u009f\u2028\u2029]/u);
    expect(JSON.parse(json).operations[0].displayName).toBe("a\u009b2Jb\u2028c");
  });
});

describe("renderTable", () => {
  test("cells are escaped and shortened, so each row stays one line and columns stay aligned", () => {
    const rows = [
      { id: "1", displayName: FORGED, userName: "ana@example.com" },
      { id: "2", displayName: "y".repeat(500), userName: { nested: `v${ESC}` } },
    ];
    const text = renderTable(rows, ["id", "displayName", "userName"]);
    expectSafe(text);
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain(ESCAPED);
    expect(lines[3]).toContain(`${"y".repeat(80)}…(500 chars)`);
    expect(lines[3]).toContain('{"nested":"v\\u001b"}');
    expect(lines[1]!.length).toBeLessThan(200);
  });
});

describe("summaryLine", () => {
  const report = {
    plan: { ...plan, operations: [] },
    applied: { done: { createUser: 1, updateUser: 0, deleteUser: 0, createGroup: 0, updateGroup: 0, deleteGroup: 0, addMembers: 0, removeMembers: 0 }, failed: [], notStarted: 0 },
    tenantRead: "full",
  } as unknown as SyncReport;

  test("Google's requests come with the rate they were read at", () => {
    const line = summaryLine(report, { durationMs: 6_000, scimRequests: { "POST /Users": 1 }, googleRequests: { token: 1, "groups.list": 228 }, googleRps: 38.24 });
    expect(line).toBe(
      "summary: users created 1, updated 0, deleted 0; groups created 0, updated 0, deleted 0; membership requests 0; failed 0; " +
        'requests: scim 1 {"POST /Users":1}, google 229 (38.2/s); tenant read full; 6.00s',
    );
  });

  test("no rate when Google was not read", () => {
    expect(summaryLine(report, { durationMs: 10, scimRequests: {}, googleRequests: {} })).toContain("requests: scim 0 {}, google 0; ");
  });

  test("the run's id last, when given: its audit lines' `run`", () => {
    expect(summaryLine(report, { durationMs: 10, scimRequests: {}, googleRequests: {} }, "0b6f0c0e-6f5c-4d7e-9f6a-2d1f3c4b5a69")).toMatch(/; 0\.01s; run 0b6f0c0e-6f5c-4d7e-9f6a-2d1f3c4b5a69$/);
  });
});
