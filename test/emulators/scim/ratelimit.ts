/** @module Token buckets for the SCIM emulator's throttling knob (docs/aws-scim.md §9: per-API read/write TPS plus membership operations). */

/**
 * A bucket holding at most `rate` tokens (one second of burst), refilled continuously. A request
 * costing more than the capacity passes when the bucket is full and leaves it in debt, so a
 * 100-member PatchGroup against a 50/s limit is slowed down rather than refused forever.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = rate;
    this.last = now();
  }

  tryTake(cost = 1): boolean {
    const t = this.now();
    this.tokens = Math.min(this.rate, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (cost <= 0) return true;
    if (this.rate <= 0) return false;
    if (this.tokens < Math.min(cost, this.rate)) return false;
    this.tokens -= cost;
    return true;
  }
}

/** Keeps one bucket per kind, rebuilt whenever the (mutable) configured rate changes. */
export class Buckets {
  private readonly buckets = new Map<string, TokenBucket>();

  /** True when allowed; `rate` undefined means unlimited. */
  take(kind: string, rate: number | undefined, cost = 1): boolean {
    if (rate === undefined) return true;
    let bucket = this.buckets.get(kind);
    if (!bucket || bucket.rate !== rate) {
      bucket = new TokenBucket(rate);
      this.buckets.set(kind, bucket);
    }
    return bucket.tryTake(cost);
  }
}
