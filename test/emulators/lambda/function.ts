/**
 * @module A local Lambda function: the Runtime API emulator plus the sandbox process it drives
 * (the built `bootstrap`, or `bun src/main.ts`, or the arm64 binary under qemu). Starts the
 * process on the first invoke (cold start), kills it with SIGKILL when an invocation's deadline
 * passes, starts a new one for the next invoke, and keeps everything each process wrote.
 * The process gets Lambda's environment and a task root holding a decoy `.env` and `bunfig.toml`,
 * which a correctly built binary must ignore.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { startRuntimeApi, type AsyncInvokeOptions, type InvocationResult, type InvokeOptions, type RuntimeApi, type RuntimeApiOptions } from "./server.ts";

/** The decoy `.env`: if a binary loaded it, SCIM would get this token (and fail with 401). */
export const DECOY_DOTENV = "IDPSCIM_AWS_SCIM_ACCESS_TOKEN=wrong\n";
/** The decoy `bunfig.toml`: if loaded, its preload prints DECOY_BUNFIG_MARKER to stderr. */
export const DECOY_BUNFIG = 'preload = ["./decoy-preload.js"]\n';
export const DECOY_BUNFIG_MARKER = "DECOY BUNFIG LOADED";

export interface LambdaFunctionOptions extends Omit<RuntimeApiOptions, "onQueued" | "onDeadline"> {
  /** The sandbox's command: [bootstrap] or [qemu-aarch64-static, -L, …, bootstrap] or [bun, src/main.ts]. */
  command: string[];
  /** The function's configured environment variables (IDPSCIM_*, AWS endpoints for tests, …). */
  env?: Record<string, string>;
  /** Working directory of the process (LAMBDA_TASK_ROOT); default a fresh directory with the decoys. */
  taskRoot?: string;
}

export interface Sandbox {
  pid: number;
  startedAt: number;
  exitedAt?: number;
  exitCode?: number | null;
  signal?: string | null;
  /** Killed by the emulator because an invocation ran past its deadline. */
  killedForTimeout: boolean;
  stdout: string;
  stderr: string;
}

export interface LambdaFunction {
  api: RuntimeApi;
  taskRoot: string;
  /** One per process started, in order: sandboxes.length is the number of cold starts. */
  sandboxes: Sandbox[];
  invoke(event: unknown, options?: InvokeOptions): Promise<InvocationResult>;
  invokeAsync(event: unknown, options?: AsyncInvokeOptions): Promise<InvocationResult[]>;
  /** Starts the sandbox now (it inits, then long-polls /next) instead of on the first invoke. */
  start(): Sandbox;
  /** Lines written to stdout / stderr by every sandbox so far. */
  stdoutLines(): string[];
  stderrLines(): string[];
  /** Resolves when the current sandbox has exited (init failure, fatal Runtime API error). */
  exited(): Promise<Sandbox | undefined>;
  close(): Promise<void>;
}

/** Environment Lambda gives a provided.al2023 process (docs/lambda-runtime.md §2), plus the function's own variables. */
export function lambdaEnvironment(
  runtimeApi: string,
  options: { taskRoot: string; functionName?: string; region?: string; timeoutMs?: number; env?: Record<string, string> },
): Record<string, string> {
  const name = options.functionName ?? "idpscim";
  const region = options.region ?? "us-east-1";
  return {
    PATH: "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    LANG: "en_US.UTF-8",
    TZ: ":UTC",
    LD_LIBRARY_PATH: "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    _HANDLER: "bootstrap",
    LAMBDA_TASK_ROOT: options.taskRoot,
    LAMBDA_RUNTIME_DIR: "/var/runtime",
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512",
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${new Date().toISOString().slice(0, 10).replaceAll("-", "/")}/[$LATEST]${crypto.randomUUID().replaceAll("-", "")}`,
    ...options.env,
  };
}

/** A task root like /var/task: the decoys only (the binary itself may live anywhere). */
export function createTaskRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), "idpscim-lambda-task-"));
  writeFileSync(join(dir, ".env"), DECOY_DOTENV);
  writeFileSync(join(dir, "bunfig.toml"), DECOY_BUNFIG);
  writeFileSync(join(dir, "decoy-preload.js"), `process.stderr.write(${JSON.stringify(`${DECOY_BUNFIG_MARKER}\n`)});\n`);
  return dir;
}

export async function startLambdaFunction(options: LambdaFunctionOptions): Promise<LambdaFunction> {
  const ownTaskRoot = options.taskRoot === undefined;
  const taskRoot = options.taskRoot ?? createTaskRoot();
  const sandboxes: Sandbox[] = [];
  let current: { sandbox: Sandbox; process: Subprocess<"ignore", "pipe", "pipe">; done: Promise<void> } | undefined;
  let closing = false;

  const api = await startRuntimeApi({
    ...options,
    onQueued: () => {
      if (!current) start();
    },
    onDeadline: () => {
      if (!current) return;
      current.sandbox.killedForTimeout = true;
      current.process.kill("SIGKILL");
    },
  });

  const env = lambdaEnvironment(api.address, {
    taskRoot,
    ...(options.functionName ? { functionName: options.functionName } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.env ? { env: options.env } : {}),
  });

  function start(): Sandbox {
    if (current) return current.sandbox;
    const child = Bun.spawn(options.command, { cwd: taskRoot, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const sandbox: Sandbox = { pid: child.pid, startedAt: Date.now(), killedForTimeout: false, stdout: "", stderr: "" };
    const initErrorsBefore = api.initErrors.length;
    sandboxes.push(sandbox);
    const pump = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) sandbox[key] += decoder.decode(chunk, { stream: true });
    };
    const done = Promise.all([pump(child.stdout, "stdout"), pump(child.stderr, "stderr"), child.exited]).then(() => {
      sandbox.exitedAt = Date.now();
      sandbox.exitCode = child.exitCode;
      sandbox.signal = child.signalCode === null ? null : String(child.signalCode);
      if (current?.process === child) current = undefined;
      if (closing) return;
      // After a timeout or an init error the invocation is settled already; any other exit fails the one it held.
      const settled = sandbox.killedForTimeout || api.initErrors.length > initErrorsBefore;
      if (!settled) api.processExited(`process exited with ${child.signalCode ?? `code ${child.exitCode}`}`);
      if (api.pending() > 0) start();
    });
    current = { sandbox, process: child, done };
    return sandbox;
  }

  const lines = (key: "stdout" | "stderr") => sandboxes.flatMap((s) => s[key].split("\n")).filter((line) => line.length > 0);

  return {
    api,
    taskRoot,
    sandboxes,
    invoke: (event, invokeOptions) => api.invoke(event, invokeOptions),
    invokeAsync: (event, invokeOptions) => api.invokeAsync(event, invokeOptions),
    start,
    stdoutLines: () => lines("stdout"),
    stderrLines: () => lines("stderr"),
    async exited() {
      const running = current;
      if (!running) return sandboxes.at(-1);
      await running.done;
      return running.sandbox;
    },
    async close() {
      closing = true;
      const running = current;
      if (running) {
        running.process.kill("SIGKILL");
        await running.done;
      }
      await api.close();
      if (ownTaskRoot) rmSync(taskRoot, { recursive: true, force: true });
    },
  };
}
