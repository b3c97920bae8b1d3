/**
 * @module The one search the LDAP reads are written against: a request (base, scope, filter,
 * attributes, and the setting that named its base, for messages) answered page by page. The
 * connection implements it with ldapts' paged searches; unit tests answer it from recorded entries.
 */
import type { RawEntry } from "./entries.ts";

export interface SearchRequest {
  base: string;
  /** Default "sub" (the whole subtree). */
  scope?: "sub" | "base";
  filter: string;
  attributes: readonly string[];
  /** The setting whose value `base` is (or that chose the search), named when it fails: "ldap.group_base_dn". */
  setting: string;
  /** A base that does not exist yields nothing instead of failing (a member DN that names no entry). */
  missingOk?: boolean;
}

/** Pages of entries. Throws a SyncError on any failure, part-way included: a partial answer is never returned. */
export type Searcher = (request: SearchRequest) => AsyncIterable<RawEntry[]>;

/** Every entry of the search, one call each, page by page. */
export async function eachEntry(search: Searcher, request: SearchRequest, onEntry: (entry: RawEntry) => void): Promise<void> {
  for await (const page of search(request)) for (const entry of page) onEntry(entry);
}
