import type { SourceKind, TrackingRecord } from '../tracking/trackingRecord';

/**
 * What the lifecycle's pure decisions need to know of a kind, as data: `TrackedSources` and the sweep's
 * decision table read it without loading the kinds' behaviour (storage, routing) along with it.
 */
export interface KindFacts {
  /**
   * Its data is a blob that stays where it is while the source is taken on (a landing or backfilled blob):
   * a 'queuing' row nobody holds is taken on again by the sweep. Otherwise nothing was stored yet, and such a
   * row is abandoned (after asking the service, as a blob reference may have been queued).
   */
  readonly dataStaysInPlace: boolean;
  /** A failure the service gave up on (transient) is queued once more by the sweep, from what is stored. */
  readonly requeueable: boolean;
  /** The state an operator's retry reopens it in: where the sweep picks it up if the retry stops. */
  readonly reopenAs: 'queuing' | 'uploaded';
}

const KIND_FACTS: Readonly<Record<SourceKind, KindFacts>> = {
  http: { dataStaysInPlace: false, requeueable: true, reopenAs: 'uploaded' },
  // A blob reference keeps no SAS: nothing the app keeps can queue it again.
  blob: { dataStaysInPlace: false, requeueable: false, reopenAs: 'uploaded' },
  landing: { dataStaysInPlace: true, requeueable: true, reopenAs: 'queuing' },
  backfill: { dataStaysInPlace: true, requeueable: true, reopenAs: 'queuing' },
};

export const factsOf = (record: Pick<TrackingRecord, 'kind'>): KindFacts => KIND_FACTS[record.kind];
