#!/usr/bin/env bun
/**
 * @module Entry point of the `idpscim` binary: the Lambda Runtime API loop when Lambda starts
 * it (AWS_LAMBDA_RUNTIME_API is set), the command line otherwise.
 */
import { runCli } from "./shell/cli.ts";
import { commandLineArguments, setExitCode } from "./platform/runtime.ts";

setExitCode(await runCli(commandLineArguments()));
