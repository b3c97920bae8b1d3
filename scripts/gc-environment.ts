/**
 * @module How the Terraform module tunes JavaScriptCore's garbage collector on the function,
 * besides sizing it for the function's memory (BUN_JSC_forceRAMSize): terraform/main.tf sets
 * these, the benchmark runs the CLI with the same (scripts/bench.ts), and test/terraform checks
 * that the two agree.
 *
 * Why: by default the collector lets the heap grow to twice what the last collection left while
 * it is under 80% of the RAM it is sized for, so at 200,000 users (a heap of 150-250 MB) the
 * garbage of one plan or one page of reads took the process from about 340 to 490-650 MiB, over
 * the 512 MB of the function. With these, the heap counts as medium from a quarter of the RAM
 * and large from half, and grows by 1.3, 1.2 and 1.1 times before the next collection: measured
 * at 200,000 users with 512 MiB (README: Performance), peaks of 322-477 MiB where the defaults
 * gave 393-648, for more collections (about 1.5 times the wall time of a run bound by CPU, an
 * unthrottled reconcile; 1.04 times that of one paced at AWS's limits).
 */
export const GC_TUNING = {
  BUN_JSC_smallHeapRAMFraction: "0.25",
  BUN_JSC_mediumHeapRAMFraction: "0.5",
  BUN_JSC_smallHeapGrowthFactor: "1.3",
  BUN_JSC_mediumHeapGrowthFactor: "1.2",
  BUN_JSC_largeHeapGrowthFactor: "1.1",
} as const;
