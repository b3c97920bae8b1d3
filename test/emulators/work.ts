/**
 * @module A work counter for the emulators (issue #11): how many entries a request examined, so
 * tests can pin per-request cost as a count rather than a time.
 */

export class WorkMeter {
  /** Index entries and scenario objects looked at to answer requests (candidates, slices, renders). */
  examined = 0;
  /** Entries compared with the live scenario to notice the in-place edits tests make. */
  checked = 0;
  /** Entries put into an index when one is (re)built. */
  indexed = 0;

  reset(): void {
    this.examined = 0;
    this.checked = 0;
    this.indexed = 0;
  }
}
