/**
 * @module Contract of the Lambda Runtime API emulator, checked with raw fetch playing the runtime:
 * what a custom runtime sees (docs/lambda-runtime.md §3, and §12 for what the emulator does).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { scheduledEvent } from "../emulators/lambda/events.ts";
import { MAX_PAYLOAD_BYTES, startRuntimeApi, type RuntimeApi, type RuntimeApiOptions } from "../emulators/lambda/server.ts";

let api: RuntimeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function start(options: RuntimeApiOptions = {}): Promise<RuntimeApi> {
  api = await startRuntimeApi(options);
  return api;
}

const base = (a: RuntimeApi) => `${a.url}/2018-06-01/runtime`;
/** The runtime's long poll: no client timeout, as AWS asks. */
const next = (a: RuntimeApi, signal?: AbortSignal) => fetch(`${base(a)}/invocation/next`, { timeout: false, ...(signal ? { signal } : {}) } as RequestInit);
const post = (a: RuntimeApi, path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${base(a)}${path}`, { method: "POST", body, headers });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pending = Symbol("pending");
const settledWithin = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, sleep(ms).then(() => pending)]);

describe("GET /runtime/invocation/next", () => {
  test("blocks until an invoke is queued, then answers 200 with the event and the Lambda-Runtime-* headers (empty ones omitted)", async () => {
    const a = await start({ timeoutMs: 30_000, functionName: "sync", region: "eu-west-1" });
    const poll = next(a);
    expect(await settledWithin(poll, 1_500)).toBe(pending);
    expect(a.waitingPolls()).toBe(1);

    const event = scheduledEvent({ region: "eu-west-1" });
    const before = Date.now();
    const outcome = a.invoke(event, { requestId: "req-1" });
    const response = await poll;
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual(event);
    expect(response.headers.get("lambda-runtime-aws-request-id")).toBe("req-1");
    const deadline = Number(response.headers.get("lambda-runtime-deadline-ms"));
    expect(deadline).toBeGreaterThanOrEqual(before + 30_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 30_000);
    expect(response.headers.get("lambda-runtime-invoked-function-arn")).toBe("arn:aws:lambda:eu-west-1:123456789012:function:sync");
    expect(response.headers.get("lambda-runtime-trace-id")).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/);
    expect(response.headers.has("lambda-runtime-client-context")).toBe(false);
    expect(response.headers.has("lambda-runtime-cognito-identity")).toBe(false);

    expect((await post(a, "/invocation/req-1/response", "{}")).status).toBe(202);
    expect((await outcome).status).toBe("success");
  });

  test("an invoke queued before the poll is handed out at once; an empty trace id is not sent", async () => {
    const a = await start();
    const outcome = a.invoke({ any: "json" }, { traceId: "" });
    const response = await next(a);
    expect(response.headers.has("lambda-runtime-trace-id")).toBe(false);
    expect(await response.json()).toEqual({ any: "json" });
    await post(a, `/invocation/${response.headers.get("lambda-runtime-aws-request-id")}/response`, "null");
    expect((await outcome).response).toBe("null");
  });

  test("a poll the client gave up on is counted and never receives an event", async () => {
    const a = await start();
    const abort = new AbortController();
    const lost = next(a, abort.signal).catch((error: unknown) => error);
    await sleep(100);
    abort.abort();
    await lost;
    await sleep(100);
    expect(a.abandonedPolls()).toBe(1);
    expect(a.waitingPolls()).toBe(0);
    const outcome = a.invoke({ n: 1 });
    const response = await next(a);
    expect(await response.json()).toEqual({ n: 1 });
    await post(a, `/invocation/${response.headers.get("lambda-runtime-aws-request-id")}/response`, "{}");
    expect((await outcome).status).toBe("success");
  });

  test("fault modes: a reset connection (the runtime must poll again) and 500 (the runtime must exit)", async () => {
    const a = await start();
    // Reset first, on a fresh connection: Bun's fetch silently retries a GET whose reused keep-alive connection drops.
    a.faults.nextPolls.push("reset", "500");
    expect(await next(a).then(() => "answered", () => "reset")).toBe("reset");
    const failed = await next(a);
    expect(failed.status).toBe(500);
    expect((await failed.json()).errorType).toBe("ServiceException");
    expect(a.log.entries.map((e) => e.status)).toEqual([0, 500]);
  });
});

describe("POST /runtime/invocation/{id}/response and /error", () => {
  async function running(a: RuntimeApi, options: { timeoutMs?: number } = {}) {
    const outcome = a.invoke(scheduledEvent(), options);
    const response = await next(a);
    await response.arrayBuffer();
    return { id: response.headers.get("lambda-runtime-aws-request-id")!, outcome };
  }

  test("response: 202 {status: OK}; a second answer is 403 InvalidStateTransition; an unknown id is 400 InvalidRequestID", async () => {
    const a = await start();
    const { id, outcome } = await running(a);
    const ok = await post(a, `/invocation/${id}/response`, JSON.stringify({ done: true }), { "Content-Type": "application/json" });
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ status: "OK" });
    const result = await outcome;
    expect(result).toMatchObject({ requestId: id, status: "success", response: '{"done":true}', contentType: "application/json", attempt: 1 });

    for (const kind of ["response", "error"]) {
      const again = await post(a, `/invocation/${id}/${kind}`, "{}");
      expect(again.status).toBe(403);
      expect((await again.json()).errorType).toBe("InvalidStateTransition");
    }
    const unknown = await post(a, "/invocation/no-such-id/response", "{}");
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ errorMessage: "Invalid request ID", errorType: "InvalidRequestID" });
  });

  test("a response over 6 MiB (+100 bytes) is 413 RequestEntityTooLarge and leaves the invocation open", async () => {
    const a = await start();
    const { id, outcome } = await running(a);
    const big = await post(a, `/invocation/${id}/response`, "x".repeat(MAX_PAYLOAD_BYTES + 1));
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ errorMessage: `Exceeded maximum allowed payload size (${MAX_PAYLOAD_BYTES} bytes).`, errorType: "RequestEntityTooLarge" });
    expect((await post(a, `/invocation/${id}/response`, "x".repeat(MAX_PAYLOAD_BYTES))).status).toBe(202);
    expect((await outcome).response?.length).toBe(MAX_PAYLOAD_BYTES);
  });

  test("error: 202; records the error type (invalid or absent → Runtime.Unknown), the body and its content type", async () => {
    const a = await start();
    const body = { errorMessage: "3 records failed", errorType: "RECORDS_FAILED", stackTrace: [] };
    const cases: [Record<string, string>, string][] = [
      [{ "Lambda-Runtime-Function-Error-Type": "Function.SyncFailed" }, "Function.SyncFailed"],
      [{ "Lambda-Runtime-Function-Error-Type": "Runtime.ConfigInvalid" }, "Runtime.ConfigInvalid"],
      [{ "Lambda-Runtime-Function-Error-Type": "SyncFailed" }, "Runtime.Unknown"],
      [{ "Lambda-Runtime-Function-Error-Type": "Function.sync-failed" }, "Runtime.Unknown"],
      [{}, "Runtime.Unknown"],
    ];
    for (const [headers, recorded] of cases) {
      const { id, outcome } = await running(a);
      const answer = await post(a, `/invocation/${id}/error`, JSON.stringify(body), { "Content-Type": "application/vnd.aws.lambda.error+json", ...headers });
      expect(answer.status).toBe(202);
      expect(await answer.json()).toEqual({ status: "OK" });
      expect(await outcome).toMatchObject({ status: "error", errorType: recorded, error: body, contentType: "application/vnd.aws.lambda.error+json" });
    }
  });

  test("deadline: no answer by Lambda-Runtime-Deadline-Ms → timeout reported to the host; a late answer is 403", async () => {
    const deadlines: string[] = [];
    const a = await start({ timeoutMs: 300, onDeadline: (r) => deadlines.push(r.requestId) });
    const { id, outcome } = await running(a);
    const result = await outcome;
    expect(result.status).toBe("timeout");
    expect(result.errorType).toBe("Sandbox.Timedout");
    expect(result.endedAt - result.startedAt!).toBeGreaterThanOrEqual(290);
    expect(deadlines).toEqual([id]);
    expect((await post(a, `/invocation/${id}/response`, "{}")).status).toBe(403);
  });
});

describe("POST /runtime/init/error", () => {
  test("202; the invocation waiting for the cold start fails with the runtime's error type and body", async () => {
    const a = await start();
    const outcome = a.invoke(scheduledEvent());
    const body = { errorMessage: "aws.scim_endpoint is not set", errorType: "CONFIG_MISSING", stackTrace: [] };
    const answer = await post(a, "/init/error", JSON.stringify(body), {
      "Content-Type": "application/vnd.aws.lambda.error+json",
      "Lambda-Runtime-Function-Error-Type": "Runtime.ConfigInvalid",
    });
    expect(answer.status).toBe(202);
    expect(await outcome).toMatchObject({ status: "init-error", errorType: "Runtime.ConfigInvalid", error: body });
    expect(a.initErrors).toHaveLength(1);
    expect(a.initErrors[0]).toMatchObject({ errorType: "Runtime.ConfigInvalid", contentType: "application/vnd.aws.lambda.error+json" });
  });
});

describe("asynchronous invocation (EventBridge)", () => {
  /** A runtime loop in the test: answers each delivery with the next of `answers`. */
  async function serve(a: RuntimeApi, answers: ("ok" | "error")[]): Promise<string[]> {
    const seen: string[] = [];
    for (const answer of answers) {
      const response = await next(a);
      await response.arrayBuffer();
      const id = response.headers.get("lambda-runtime-aws-request-id")!;
      seen.push(id);
      if (answer === "ok") await post(a, `/invocation/${id}/response`, "{}");
      else await post(a, `/invocation/${id}/error`, "{}", { "Lambda-Runtime-Function-Error-Type": "Function.SyncFailed" });
    }
    return seen;
  }

  test("an error is delivered again up to 2 more times, with the same request id", async () => {
    const a = await start({ retryDelaysMs: [50, 50] });
    const attempts = a.invokeAsync(scheduledEvent());
    const ids = await serve(a, ["error", "error", "error"]);
    const results = await attempts;
    expect(results.map((r) => [r.attempt, r.status])).toEqual([
      [1, "error"],
      [2, "error"],
      [3, "error"],
    ]);
    expect(new Set(ids).size).toBe(1);
    expect(results[1]!.startedAt! - results[0]!.endedAt).toBeGreaterThanOrEqual(45);
  });

  test("a retry that succeeds ends the sequence", async () => {
    const a = await start({ retryDelaysMs: [20, 20] });
    const attempts = a.invokeAsync(scheduledEvent());
    await serve(a, ["error", "ok"]);
    expect((await attempts).map((r) => r.status)).toEqual(["error", "success"]);
  });

  test("reserved concurrency 1: a second invoke while one runs is throttled; an async one is re-queued and runs after", async () => {
    const a = await start({ reservedConcurrency: 1, throttleRetryMs: 50 });
    const first = a.invokeAsync({ run: 1 });
    const firstPoll = await next(a);
    expect(await firstPoll.json()).toEqual({ run: 1 });

    expect((await a.invoke({ run: "sync" })).status).toBe("throttled");
    const second = a.invokeAsync({ run: 2 });
    await sleep(120);
    await post(a, `/invocation/${firstPoll.headers.get("lambda-runtime-aws-request-id")}/response`, "{}");
    const secondPoll = await next(a);
    expect(await secondPoll.json()).toEqual({ run: 2 });
    await post(a, `/invocation/${secondPoll.headers.get("lambda-runtime-aws-request-id")}/response`, "{}");

    expect((await first).map((r) => r.status)).toEqual(["success"]);
    const secondAttempts = await second;
    expect(secondAttempts.at(-1)!.status).toBe("success");
    expect(secondAttempts.filter((r) => r.status === "throttled").length).toBeGreaterThanOrEqual(1);
  });
});

describe("scheduled-event generator", () => {
  test("the EventBridge rule envelope: second-precision UTC time, rule ARN, empty detail", () => {
    const event = scheduledEvent({ time: new Date("2024-05-01T06:00:00.123Z"), region: "eu-west-1", ruleName: "every-15-min" });
    expect(event).toMatchObject({
      version: "0",
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: "123456789012",
      time: "2024-05-01T06:00:00Z",
      region: "eu-west-1",
      resources: ["arn:aws:events:eu-west-1:123456789012:rule/every-15-min"],
      detail: {},
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
