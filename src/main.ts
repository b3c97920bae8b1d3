#!/usr/bin/env bun
/**
 * @module Entry point of the `idpscim` binary: the Lambda Runtime API loop when Lambda starts
 * it (AWS_LAMBDA_RUNTIME_API is set), the command line otherwise.
 */
import { runCli } from "./shell/cli.ts";
import { runLambda } from "./shell/lambda.ts";
import { commandLineArguments, environment, exit, isLambda, setExitCode } from "./platform/runtime.ts";

// The loop only returns when the sandbox is unusable; exit at once rather than wait for open handles.
if (isLambda()) exit(await runLambda(environment()));
else setExitCode(await runCli(commandLineArguments()));
