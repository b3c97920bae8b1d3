/**
 * @module The clock checks: how far this host's clock is from a service's, read off the HTTP
 * `Date` header of the answers the other checks got (RFC 9110 §6.6.1: whole seconds, the time
 * the answer was made), and the verdict on it.
 */
import { check, skip, type Check, type CheckId } from "./checks.ts";

/**
 * Up to a minute passes: an NTP-synchronised host is within a second, so a minute off means no
 * time synchronisation at all, and the clock keeps drifting. Over five minutes fails: AWS refuses
 * a SigV4-signed request more than 5 minutes off its clock (Secrets Manager; S3, where the state
 * lives, at 15), Google's token endpoint refuses an assertion whose `iat` is "not in a reasonable
 * timeframe" (its tolerance is not published; a few minutes), and the run lock's staleness (10
 * minutes) is judged across hosts' clocks. The SCIM bearer token itself does not depend on time.
 */
export const CLOCK_WARN_SECONDS = 60;
export const CLOCK_FAIL_SECONDS = 300;

/** One answer's `Date` header and when its request was sent and answered, by this host's clock (epoch ms). */
export interface DateSample {
  date: string | null;
  sentAt: number;
  receivedAt: number;
}

/** The samples of one service, noted as its answers arrive. */
export interface DateSamples {
  samples: DateSample[];
  /** The `Date` of an answer to a request sent at `sentAt`, arriving now. */
  note(date: string | null | undefined, sentAt: number): void;
}

export function dateSamples(now: () => number = Date.now): DateSamples {
  const samples: DateSample[] = [];
  return {
    samples,
    note: (date, sentAt) => {
      samples.push({ date: date ?? null, sentAt, receivedAt: now() });
    },
  };
}

/**
 * The service's clock minus this host's, in seconds, from the best sample (the quickest answer):
 * the header is truncated to the second, so its middle (+0.5 s) is compared with the middle of
 * the request. `undefined` when no answer carried a readable `Date`.
 */
export function skewSeconds(samples: readonly DateSample[]): number | undefined {
  const usable = samples
    .map((s) => ({ at: s.date === null ? Number.NaN : Date.parse(s.date), s }))
    .filter(({ at }) => !Number.isNaN(at))
    .sort((a, b) => a.s.receivedAt - a.s.sentAt - (b.s.receivedAt - b.s.sentAt));
  const best = usable[0];
  if (best === undefined) return undefined;
  return (best.at + 500 - (best.s.sentAt + best.s.receivedAt) / 2) / 1000;
}

const FIX = "synchronise this host's clock (NTP: systemd-timesyncd or chrony; in a container or VM, the host's clock)";

/** The verdict on this host's clock against `service`, from the answers `samples` hold. */
export function clockCheck(id: CheckId, service: string, samples: readonly DateSample[], noAnswer: string): Check {
  const skew = skewSeconds(samples);
  if (skew === undefined) return skip(id, samples.length === 0 ? noAnswer : `no answer from ${service} carried a Date header`);
  const off = Math.abs(skew);
  const words = off < 1 ? `within a second of ${service}'s` : `${Math.round(off)} s ${skew > 0 ? "behind" : "ahead of"} ${service}'s`;
  if (off > CLOCK_FAIL_SECONDS) return check(id, "fail", `this host's clock is ${words} (over ${CLOCK_FAIL_SECONDS} s: signed requests and token assertions are refused)`, FIX);
  if (off > CLOCK_WARN_SECONDS) return check(id, "warn", `this host's clock is ${words} (over ${CLOCK_WARN_SECONDS} s: it is not synchronised, and past ${CLOCK_FAIL_SECONDS} s requests fail)`, FIX);
  return check(id, "pass", `this host's clock is ${words}`);
}
