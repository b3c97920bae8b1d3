/**
 * @module Request log shared by the emulators: every request with its method, route and status,
 * and counts per "METHOD route" so tests and benchmarks can assert request counts.
 */
export interface LoggedRequest {
  method: string;
  /** The route template, e.g. `/Users/{id}` or `/admin/directory/v1/groups/{groupKey}/members`. */
  route: string;
  /** The full path with query, for debugging. */
  url: string;
  status: number;
  at: number;
}

export class RequestLog {
  readonly entries: LoggedRequest[] = [];

  record(entry: Omit<LoggedRequest, "at">): void {
    this.entries.push({ ...entry, at: Date.now() });
  }

  /** Counts keyed by `METHOD route`, e.g. `{"GET /Users": 3, "POST /Users": 12}`. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const e of this.entries) {
      const key = `${e.method} ${e.route}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  total(filter?: (e: LoggedRequest) => boolean): number {
    return filter ? this.entries.filter(filter).length : this.entries.length;
  }

  /** Requests that change state (anything but GET/HEAD). */
  writes(): number {
    return this.total((e) => e.method !== "GET" && e.method !== "HEAD");
  }

  clear(): void {
    this.entries.length = 0;
  }
}
