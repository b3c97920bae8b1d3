/** @module One bounded worker pool for every "at most N in flight" loop: the executor's waves, the tenant and ownership reads, the Google reads. */

export interface PoolOptions {
  /** Asked before each item starts (only while items remain): true starts no more, and those in flight finish. */
  stop?: () => boolean;
}

/**
 * Runs `work` on `items` with at most `limit` in flight (at least one), starting them in order.
 * After the first failure no new item starts, those in flight finish, and the first error is
 * thrown: a caller that wants to go on past a failed item catches inside `work`.
 *
 * @example
 * await forEachLimit(groups, 8, async (g) => { members.set(g.scimId, await target.listGroupMembers(g.scimId)); });
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>, options: PoolOptions = {}): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length && !options.stop?.()) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
}

/** `forEachLimit` that keeps what `work` returns, in the order of `items` (not the order they finish in). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  await forEachLimit(items, limit, async (item, index) => {
    results[index] = await work(item, index);
  });
  return results;
}
