/** What one sweep did; logged as one `SweepCompleted` line. */
export interface SweepSummary {
  open: number;
  succeeded: number;
  failed: number;
  requeued: number;
  reenqueued: number;
  abandoned: number;
  stuck: number;
  pending: number;
  quarantined: number;
  poisonMessages: number;
  /** Reports read from the status queues (STATUS_MODE queue and failures-only). */
  reports: number;
  /** Reports naming a source this app does not track (another client of the cluster): left for it. */
  foreignReports: number;
  /** Failures found by `.show ingestion failures` whose queue report never came (failures-only). */
  missedFailures: number;
  errors: number;
  /** Sources the sweep gave up on (its steps kept failing on them): reported once and closed unresolved. */
  unresolved: number;
}

export function emptySummary(): SweepSummary {
  return {
    open: 0,
    succeeded: 0,
    failed: 0,
    requeued: 0,
    reenqueued: 0,
    abandoned: 0,
    stuck: 0,
    pending: 0,
    quarantined: 0,
    poisonMessages: 0,
    reports: 0,
    foreignReports: 0,
    missedFailures: 0,
    errors: 0,
    unresolved: 0,
  };
}
