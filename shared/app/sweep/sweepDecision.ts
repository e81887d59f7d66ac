import { factsOf } from '../sources/kindFacts';
import type { IngestionStatus } from '../../ingest/types';
import type { TrackingRecord } from '../tracking/trackingRecord';

export interface SweepTimings {
  /** A push still 'queuing' (nothing stored) this long after its last change was abandoned by a crash. */
  readonly abandonAfterMs: number;
  /** A stored source not queued this long after its last change is queued by the sweep. */
  readonly redriveAfterMs: number;
}

/** What the sweep does with an open source nobody holds, before asking the service anything. */
export type OpenStep =
  | 'wait'
  /** A rejection was reported but not finished (quarantine, close): finish it, reporting nothing new. */
  | 'finish-rejection'
  /** Stored (a landing blob, a staged push) but not queued: queue it. */
  | 'redrive'
  /** Nothing was stored and nobody will: report it and close it. */
  | 'abandon'
  /** Queued: ask the service how it went. */
  | 'read-status';

export function openStep(record: TrackingRecord, now: number, timings: SweepTimings): OpenStep {
  const age = now - record.updatedOn.getTime();
  switch (record.state) {
    case 'queuing':
      if (record.reportedFailure !== undefined) return 'finish-rejection';
      if (factsOf(record).dataStaysInPlace) return age >= timings.redriveAfterMs ? 'redrive' : 'wait';
      return age >= timings.abandonAfterMs ? 'abandon' : 'wait';
    case 'uploaded':
      return age >= timings.redriveAfterMs ? 'redrive' : 'wait';
    case 'queued':
      return 'read-status';
    default:
      return 'wait';
  }
}

/** The service's statuses after which it stopped retrying by itself: worth one more attempt from us. */
const REQUEUEABLE: ReadonlySet<string> = new Set(['Transient', 'Exhausted']);

export type StatusStep = 'succeed' | 'requeue' | 'fail' | 'stuck' | 'pending';

/**
 * What the sweep does with a queued source once the service said how it went. 'requeue' still depends on
 * the stored data being there (the caller checks); 'stuck' is reported once per attempt. A source recovered
 * after its holder stopped, whose status stayed Pending past the stale limit, is queued again: its message
 * was most likely never sent.
 */
export function statusStep(
  record: TrackingRecord,
  status: IngestionStatus,
  now: number,
  limits: { readonly maxRequeueAttempts: number; readonly staleAfterMs: number },
): StatusStep {
  switch (status.status) {
    case 'Succeeded':
    case 'Skipped':
      return 'succeed';
    case 'Failed':
      return REQUEUEABLE.has(status.failureStatus ?? '') &&
        record.requeueCount < limits.maxRequeueAttempts &&
        factsOf(record).requeueable
        ? 'requeue'
        : 'fail';
    case 'PartiallySucceeded':
      return 'fail';
    default: {
      const stale = now - record.updatedOn.getTime() > limits.staleAfterMs;
      // Recovered on a Pending status whose message may never have been sent: queue it (again), once.
      if (stale && record.uncertain === true && record.requeueCount < limits.maxRequeueAttempts)
        return 'requeue';
      return stale && !record.stuckReported ? 'stuck' : 'pending';
    }
  }
}

/** When the sweep gives up on a source whose step keeps failing (SweepOptions.giveUp). */
export interface GiveUpLimits {
  /** Sweeps that failed on it for good (a 4xx). @default 3 */
  readonly permanentSweeps: number;
  /** Sweeps that failed on it for a passing reason (a 5xx, a timeout)... @default 20 */
  readonly transientSweeps: number;
  /** ...over at least this long since the first of them. @default twice STALE_AFTER_MINUTES */
  readonly transientMs: number;
}

/**
 * What the sweep does after its step failed on a source: count it, or give the source up (report it once
 * and close it unresolved). A permanent failure gets a few sweeps (a role assignment that is being fixed), a
 * transient one many, over hours: an outage of the app's storage must not close every open source.
 */
export function sweepErrorStep(
  failures: { readonly count: number; readonly firstAt: number },
  transient: boolean,
  now: number,
  limits: GiveUpLimits,
): 'count' | 'give-up' {
  if (!transient) return failures.count >= limits.permanentSweeps ? 'give-up' : 'count';
  return failures.count >= limits.transientSweeps && now - failures.firstAt >= limits.transientMs
    ? 'give-up'
    : 'count';
}
