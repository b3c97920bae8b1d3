/**
 * @module The state file as tests read and write it: through the production parser and serialiser
 * (src/core/state.ts), so a test sees the in-memory SyncState whatever the file's format, and a
 * state a test edits by hand is written as a release writes it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { entryJson, parseState, savedChunks } from "../../src/core/state.ts";
import type { ManagedGroup, ManagedUser, SyncState } from "../../src/model/index.ts";

/** The state a file holds, as a run reads it (a file of any version this release reads). */
export function readStateFile(path: string): SyncState {
  return parseState(readFileSync(path, "utf8"), `file ${path}`);
}

/** The text of `state`'s file as this release saves it (ASCII: its bytes are its characters). */
export function stateFileText(state: SyncState): string {
  const decoder = new TextDecoder();
  let text = "";
  for (const chunk of savedChunks(state)) text += decoder.decode(chunk);
  return text;
}

/** Writes `state` as this release saves it. */
export function writeStateFile(path: string, state: SyncState): void {
  writeFileSync(path, stateFileText(state), "latin1");
}

/** Reads the state file, lets `edit` change it, and writes it back as this release saves it. */
export function editStateFile(path: string, edit: (state: SyncState) => void): void {
  const state = readStateFile(path);
  edit(state);
  writeStateFile(path, state);
}

/** A user's or group's entry as canonical JSON text (keys sorted): equal entries have equal text. */
export const entryText = (entry: ManagedUser | ManagedGroup): string => entryJson(entry);

/**
 * `state` as a version-3 file (what releases before version 4 wrote: users and groups as objects
 * keyed by source id), for the tests of reading older files.
 */
export function stateFileV3(state: SyncState): string {
  return `${JSON.stringify({ ...state, schemaVersion: 3 })}\n`;
}
