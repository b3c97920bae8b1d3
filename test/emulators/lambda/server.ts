/**
 * @module Lambda Runtime API emulator (version 2018-06-01, the custom-runtime side of Lambda): the
 * invocation queue, GET /next long polls that wait indefinitely, /response, /error and
 * /init/error with the status codes and bodies of aws-lambda-runtime-interface-emulator,
 * deadlines, async retries and reserved-concurrency throttling.
 * Protocol notes: docs/lambda-runtime.md §3, §7.2, §8, §12.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { RequestLog } from "../request-log.ts";

const PREFIX = "/2018-06-01/runtime";
/** The RIE's limit for a response body: 6 MiB + 100 bytes. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 + 100;
/** Error types the Runtime API records as given; anything else is recorded as Runtime.Unknown. */
const ERROR_TYPE = /^(Runtime|Function)\.[A-Z][a-zA-Z]+$/;

export interface RuntimeApiOptions {
  functionName?: string;
  region?: string;
  accountId?: string;
  /** The function timeout: Lambda-Runtime-Deadline-Ms = dispatch time + this. Default 60 s. */
  timeoutMs?: number;
  /** Delays before each async retry; its length is MaximumRetryAttempts. AWS: [60 s, 120 s]. */
  retryDelaysMs?: number[];
  /** 1 = at most one invocation queued or running; another is throttled (an async one re-queued). */
  reservedConcurrency?: number;
  /** Delay before a throttled async invocation is tried again. Default 1 s (AWS starts at 1 s). */
  throttleRetryMs?: number;
  /** Called when an invocation is queued (the function host starts a sandbox if none runs). */
  onQueued?: () => void;
  /** Called when an invocation's deadline passed without an answer (the host kills the process). */
  onDeadline?: (result: InvocationResult) => void;
}

export type InvocationStatus = "success" | "error" | "timeout" | "init-error" | "exited" | "throttled";

export interface InvocationResult {
  requestId: string;
  /** 1 for the first delivery, 2 and 3 for async retries (same request id, as in AWS). */
  attempt: number;
  status: InvocationStatus;
  /** The raw /response body. */
  response?: string;
  /** Lambda-Runtime-Function-Error-Type as recorded (invalid or absent → Runtime.Unknown). */
  errorType?: string;
  /** The /error or /init/error body, parsed when it is JSON. */
  error?: unknown;
  /** Content-Type of the /response or /error request. */
  contentType?: string;
  /** Epoch ms: queued, handed to the runtime by /next, answered (or timed out). */
  queuedAt: number;
  startedAt?: number;
  endedAt: number;
  deadlineMs?: number;
}

export interface InvokeOptions {
  requestId?: string;
  /** Lambda-Runtime-Trace-Id; default a fresh X-Ray header; "" = none (the header is omitted). */
  traceId?: string;
  clientContext?: string;
  cognitoIdentity?: string;
  timeoutMs?: number;
}

export interface AsyncInvokeOptions extends InvokeOptions {
  /** Called after each attempt, before the wait for the next (a test can change the world in between). */
  onAttempt?: (result: InvocationResult) => void;
}

export interface RuntimeApi {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  /** host:port, the value of AWS_LAMBDA_RUNTIME_API. */
  address: string;
  functionArn: string;
  /** Routes: "GET /runtime/invocation/next", "POST /runtime/invocation/{id}/response", … */
  log: RequestLog;
  /** Answers for the coming GET /next requests, consumed in order: 500 or a reset connection. */
  faults: { nextPolls: ("500" | "reset")[] };
  /** Synchronous invoke: resolves with the outcome (a throttle answers at once). */
  invoke(event: unknown, options?: InvokeOptions): Promise<InvocationResult>;
  /** Asynchronous invoke (EventBridge): every attempt, retried on error/timeout with `retryDelaysMs`. */
  invokeAsync(event: unknown, options?: AsyncInvokeOptions): Promise<InvocationResult[]>;
  /** Every /runtime/init/error received. */
  initErrors: { errorType: string; error: unknown; contentType?: string; at: number }[];
  /** GET /next requests waiting now. */
  waitingPolls(): number;
  /** GET /next requests whose client went away before an event came (client timeouts). */
  abandonedPolls(): number;
  /** Invocations queued or running. */
  pending(): number;
  /** Tells the API the runtime process exited: a running invocation (or one waiting for init) fails. */
  processExited(detail: string): void;
  close(): Promise<void>;
}

interface Invocation {
  requestId: string;
  attempt: number;
  event: string;
  traceId: string;
  clientContext?: string;
  cognitoIdentity?: string;
  timeoutMs: number;
  state: "queued" | "running" | "done";
  queuedAt: number;
  startedAt?: number;
  deadlineMs?: number;
  timer?: ReturnType<typeof setTimeout>;
  resolve: (result: InvocationResult) => void;
}

export async function startRuntimeApi(options: RuntimeApiOptions = {}): Promise<RuntimeApi> {
  const region = options.region ?? "us-east-1";
  const functionArn = `arn:aws:lambda:${region}:${options.accountId ?? "123456789012"}:function:${options.functionName ?? "idpscim"}`;
  const log = new RequestLog();
  const faults: RuntimeApi["faults"] = { nextPolls: [] };
  const queue: Invocation[] = [];
  const waiters: { res: ServerResponse; url: string }[] = [];
  /** Every request id ever handed out, with its latest delivery (async retries reuse the id). */
  const byId = new Map<string, Invocation>();
  const initErrors: RuntimeApi["initErrors"] = [];
  let abandoned = 0;

  const running = () => [...byId.values()].filter((i) => i.state === "running");

  function finish(invocation: Invocation, result: Omit<InvocationResult, "requestId" | "attempt" | "queuedAt" | "endedAt">): InvocationResult {
    invocation.state = "done";
    if (invocation.timer) clearTimeout(invocation.timer);
    const at = queue.indexOf(invocation);
    if (at >= 0) queue.splice(at, 1);
    const full: InvocationResult = {
      requestId: invocation.requestId,
      attempt: invocation.attempt,
      queuedAt: invocation.queuedAt,
      endedAt: Date.now(),
      ...(invocation.startedAt === undefined ? {} : { startedAt: invocation.startedAt }),
      ...(invocation.deadlineMs === undefined ? {} : { deadlineMs: invocation.deadlineMs }),
      ...result,
    };
    invocation.resolve(full);
    return full;
  }

  function dispatch(): void {
    while (queue.length > 0 && waiters.length > 0) {
      const waiter = waiters.shift()!;
      if (waiter.res.destroyed) continue;
      const invocation = queue.shift()!;
      invocation.state = "running";
      invocation.startedAt = Date.now();
      invocation.deadlineMs = invocation.startedAt + invocation.timeoutMs;
      invocation.timer = setTimeout(() => {
        if (invocation.state !== "running") return;
        const result = finish(invocation, {
          status: "timeout",
          errorType: "Sandbox.Timedout",
          error: { errorMessage: `RequestId: ${invocation.requestId} Error: Task timed out after ${(invocation.timeoutMs / 1000).toFixed(2)} seconds`, errorType: "Sandbox.Timedout" },
        });
        options.onDeadline?.(result);
      }, invocation.timeoutMs);
      const headers: Record<string, string> = {
        "Content-Type": "application/json",
        "Lambda-Runtime-Aws-Request-Id": invocation.requestId,
        "Lambda-Runtime-Deadline-Ms": String(invocation.deadlineMs),
        "Lambda-Runtime-Invoked-Function-Arn": functionArn,
        "Lambda-Runtime-Trace-Id": invocation.traceId,
        "Lambda-Runtime-Client-Context": invocation.clientContext ?? "",
        "Lambda-Runtime-Cognito-Identity": invocation.cognitoIdentity ?? "",
      };
      // The RIE sends only the headers that have a value.
      for (const [name, value] of Object.entries(headers)) if (value === "") delete headers[name];
      log.record({ method: "GET", route: "/runtime/invocation/next", url: waiter.url, status: 200 });
      waiter.res.writeHead(200, headers);
      waiter.res.end(invocation.event);
    }
  }

  function enqueue(event: unknown, invokeOptions: InvokeOptions, attempt: number): Promise<InvocationResult> {
    const requestId = invokeOptions.requestId ?? randomUUID();
    return new Promise((resolve) => {
      const invocation: Invocation = {
        requestId,
        attempt,
        event: typeof event === "string" ? event : JSON.stringify(event),
        traceId: invokeOptions.traceId ?? xrayTraceHeader(),
        ...(invokeOptions.clientContext ? { clientContext: invokeOptions.clientContext } : {}),
        ...(invokeOptions.cognitoIdentity ? { cognitoIdentity: invokeOptions.cognitoIdentity } : {}),
        timeoutMs: invokeOptions.timeoutMs ?? options.timeoutMs ?? 60_000,
        state: "queued",
        queuedAt: Date.now(),
        resolve,
      };
      if (options.reservedConcurrency === 1 && (queue.length > 0 || running().length > 0)) {
        resolve({ requestId, attempt, status: "throttled", errorType: "TooManyRequestsException", queuedAt: invocation.queuedAt, endedAt: Date.now() });
        return;
      }
      byId.set(requestId, invocation);
      queue.push(invocation);
      options.onQueued?.();
      dispatch();
    });
  }

  async function invokeAsync(event: unknown, asyncOptions: AsyncInvokeOptions = {}): Promise<InvocationResult[]> {
    const { onAttempt, ...invokeOptions } = asyncOptions;
    const requestId = invokeOptions.requestId ?? randomUUID();
    const delays = options.retryDelaysMs ?? [60_000, 120_000];
    const attempts: InvocationResult[] = [];
    for (let attempt = 1; ; ) {
      const result = await enqueue(event, { ...invokeOptions, requestId }, attempt);
      attempts.push(result);
      onAttempt?.(result);
      if (result.status === "throttled") {
        // Throttles go back to the queue and do not use up a retry.
        await sleep(options.throttleRetryMs ?? 1_000);
        continue;
      }
      if (result.status === "success" || attempt > delays.length) return attempts;
      await sleep(delays[attempt - 1]!);
      attempt++;
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((failure: unknown) => {
      if (res.headersSent) res.destroy();
      else reply(res, req, "?", 500, { errorMessage: (failure as Error).message, errorType: "ServiceException" });
    });
  });
  // Long polls wait as long as it takes: no request, header or idle timeout on this side.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.timeout = 0;
  server.keepAliveTimeout = 0;

  function reply(res: ServerResponse, req: IncomingMessage, route: string, status: number, body: unknown): void {
    log.record({ method: req.method ?? "GET", route, url: req.url ?? "/", status });
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    const method = req.method ?? "GET";

    if (method === "GET" && path === `${PREFIX}/invocation/next`) {
      const fault = faults.nextPolls.shift();
      if (fault === "reset") {
        log.record({ method, route: "/runtime/invocation/next", url: req.url ?? "/", status: 0 });
        req.socket.destroy();
        return;
      }
      if (fault === "500") {
        return reply(res, req, "/runtime/invocation/next", 500, { errorMessage: "Container error: non-recoverable state", errorType: "ServiceException" });
      }
      const waiter = { res, url: req.url ?? "/" };
      waiters.push(waiter);
      res.on("close", () => {
        if (res.writableFinished) return;
        const at = waiters.indexOf(waiter);
        if (at >= 0) waiters.splice(at, 1);
        abandoned++;
        log.record({ method, route: "/runtime/invocation/next", url: waiter.url, status: 0 });
      });
      dispatch();
      return;
    }

    if (method === "POST" && path === `${PREFIX}/init/error`) {
      const body = await readBody(req);
      const entry = { errorType: errorTypeOf(req), error: parseMaybeJson(body), at: Date.now(), ...contentTypeOf(req) };
      initErrors.push(entry);
      // Init failed: the invocation that caused this cold start fails with the runtime's error.
      const waiting = queue[0];
      if (waiting) finish(waiting, { status: "init-error", errorType: entry.errorType, error: entry.error, ...contentTypeOf(req) });
      return reply(res, req, "/runtime/init/error", 202, { status: "OK" });
    }

    const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
    if (method === "POST" && match) {
      const requestId = decodeURIComponent(match[1]!);
      const kind = match[2] as "response" | "error";
      const route = `/runtime/invocation/{id}/${kind}`;
      const body = await readBody(req);
      const invocation = byId.get(requestId);
      if (!invocation || invocation.state === "queued") {
        return reply(res, req, route, 400, { errorMessage: "Invalid request ID", errorType: "InvalidRequestID" });
      }
      if (invocation.state === "done") {
        return reply(res, req, route, 403, { errorMessage: `State transition from ${kind === "response" ? "InvocationResponse" : "InvocationErrorResponse"} to ${kind === "response" ? "InvocationResponse" : "InvocationErrorResponse"} failed`, errorType: "InvalidStateTransition" });
      }
      if (kind === "response") {
        if (body.length > MAX_PAYLOAD_BYTES) {
          return reply(res, req, route, 413, { errorMessage: `Exceeded maximum allowed payload size (${MAX_PAYLOAD_BYTES} bytes).`, errorType: "RequestEntityTooLarge" });
        }
        finish(invocation, { status: "success", response: body.toString("utf8"), ...contentTypeOf(req) });
      } else {
        finish(invocation, { status: "error", errorType: errorTypeOf(req), error: parseMaybeJson(body), ...contentTypeOf(req) });
      }
      return reply(res, req, route, 202, { status: "OK" });
    }

    return reply(res, req, `${method} ${path}`, 404, { errorMessage: "Not Found", errorType: "NotFound" });
  }

  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as AddressInfo).port;
  const address = `127.0.0.1:${port}`;

  return {
    url: `http://${address}`,
    address,
    functionArn,
    log,
    faults,
    invoke: (event, invokeOptions = {}) => enqueue(event, invokeOptions, 1),
    invokeAsync,
    initErrors,
    waitingPolls: () => waiters.filter((w) => !w.res.destroyed).length,
    abandonedPolls: () => abandoned,
    pending: () => queue.length + running().length,
    processExited(detail) {
      const current = running();
      // A process that dies during an invocation, or before taking the queued one (during init).
      const victims = current.length > 0 ? current : queue.slice(0, 1);
      for (const invocation of victims) finish(invocation, { status: "exited", errorType: "Runtime.ExitError", error: { errorMessage: detail, errorType: "Runtime.ExitError" } });
    },
    async close() {
      for (const invocation of [...byId.values()]) {
        if (invocation.state !== "done") finish(invocation, { status: "exited", errorType: "Runtime.ExitError", error: { errorMessage: "emulator closed" } });
      }
      for (const waiter of waiters.splice(0)) waiter.res.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** A fresh X-Ray trace header like Lambda's: Root=1-<epoch hex>-<96-bit hex>;Parent=<64-bit hex>;Sampled=0. */
export function xrayTraceHeader(now = Date.now()): string {
  const epoch = Math.floor(now / 1000).toString(16).padStart(8, "0");
  return `Root=1-${epoch}-${randomBytes(12).toString("hex")};Parent=${randomBytes(8).toString("hex")};Sampled=0`;
}

function errorTypeOf(req: IncomingMessage): string {
  const value = req.headers["lambda-runtime-function-error-type"];
  const text = Array.isArray(value) ? value[0] : value;
  return text !== undefined && ERROR_TYPE.test(text) ? text : "Runtime.Unknown";
}

function contentTypeOf(req: IncomingMessage): { contentType?: string } {
  const value = req.headers["content-type"];
  return value === undefined ? {} : { contentType: value };
}

function parseMaybeJson(body: Buffer): unknown {
  const text = body.toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
