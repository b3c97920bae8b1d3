/** @module Unit tests of the one bounded worker pool. */
import { describe, expect, test } from "bun:test";
import { forEachLimit, mapLimit } from "../../src/core/pool.ts";

const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Work that records how many run at once and in which order they start. */
function tracked(delayOf: (item: number) => number = () => 1) {
  const seen = { inFlight: 0, most: 0, started: [] as number[], finished: [] as number[] };
  const work = async (item: number) => {
    seen.started.push(item);
    seen.most = Math.max(seen.most, ++seen.inFlight);
    await tick(delayOf(item));
    seen.inFlight--;
    seen.finished.push(item);
  };
  return { seen, work };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("forEachLimit", () => {
  test("at most `limit` in flight, and as many as it allows", async () => {
    const { seen, work } = tracked();
    await forEachLimit(range(20), 3, work);
    expect(seen.most).toBe(3);
    expect(seen.finished.length).toBe(20);
  });

  test("items start in order, whatever order they finish in", async () => {
    const { seen, work } = tracked((item) => (item % 2 === 0 ? 8 : 1));
    await forEachLimit(range(10), 4, work);
    expect(seen.started).toEqual(range(10));
    expect(seen.finished).not.toEqual(range(10));
  });

  test("at least one worker, and none needed for no items", async () => {
    const { seen, work } = tracked();
    await forEachLimit(range(3), 0, work);
    expect(seen.most).toBe(1);
    expect(seen.started).toEqual([0, 1, 2]);
    await forEachLimit([], 8, work);
    expect(seen.started.length).toBe(3);
  });

  test("after the first failure nothing new starts, those in flight finish, the first error is thrown", async () => {
    const { seen, work } = tracked((item) => (item === 1 ? 1 : 10));
    const failing = async (item: number) => {
      await work(item);
      if (item === 1) throw new Error("first");
      if (item === 0) throw new Error("second");
    };
    await expect(forEachLimit(range(10), 3, failing)).rejects.toThrow("first");
    expect(seen.started).toEqual([0, 1, 2]);
    expect(seen.inFlight).toBe(0);
    expect(seen.finished.sort()).toEqual([0, 1, 2]);
  });

  test("`stop` is asked before each start while items remain; true starts no more", async () => {
    const { seen, work } = tracked();
    let asked = 0;
    await forEachLimit(range(10), 2, work, { stop: () => ++asked > 4 });
    expect(seen.started).toEqual([0, 1, 2, 3]);
    // Each of the two workers asks once more and stops; none asks once the items are used up.
    expect(asked).toBe(6);
    let askedAfterEnd = 0;
    await forEachLimit(range(2), 2, work, { stop: () => (askedAfterEnd++, false) });
    expect(askedAfterEnd).toBe(2);
  });
});

describe("mapLimit", () => {
  test("results in the order of the items, not the order they finish in", async () => {
    const out = await mapLimit(range(8), 3, async (item) => {
      await tick(item % 3 === 0 ? 6 : 1);
      return item * 10;
    });
    expect(out).toEqual(range(8).map((i) => i * 10));
  });

  test("bounded too, and a failure is thrown", async () => {
    const { seen, work } = tracked();
    await mapLimit(range(9), 2, work);
    expect(seen.most).toBe(2);
    await expect(mapLimit([1, 2], 2, async (i) => (i === 2 ? Promise.reject(new Error("no")) : i))).rejects.toThrow("no");
  });
});
