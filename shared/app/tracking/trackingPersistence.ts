import type { FailureReport, OpenEntry, SourcePage, SourceQuery, TrackingRecord } from './trackingRecord';

/**
 * The persistence the lifecycle needs, and nothing more: a test replaces it with a map. Every change of a
 * record is conditional on the ETag it was read with.
 */
export interface TrackingPersistence {
  ensureTables(): Promise<void>;
  /** Inserts the row; `undefined` if a row with that id exists already. */
  insert(record: Omit<TrackingRecord, 'etag'>): Promise<TrackingRecord | undefined>;
  get(sourceId: string): Promise<TrackingRecord | undefined>;
  /** Replaces `record` with `next` if nobody changed it since it was read; TrackingConflictError otherwise. */
  replace(record: TrackingRecord, next: Omit<TrackingRecord, 'etag'>): Promise<TrackingRecord>;
  /** Deletes the row if nobody changed it since it was read (gone already counts as done). */
  remove(record: TrackingRecord): Promise<void>;
  /** Lists the source as open (idempotent). */
  markOpen(sourceId: string, since: Date): Promise<void>;
  /** Takes the source off the open list (gone already counts as done). */
  unmarkOpen(sourceId: string): Promise<void>;
  openEntries(): AsyncIterable<OpenEntry>;
  /** Counts, on the source's open entry, the sweeps in a row that failed on it. */
  noteSweepError(entry: OpenEntry, errors: number, first: Date): Promise<void>;
  /** One row per failure report, keyed so that writing it twice is harmless. */
  recordFailure(report: FailureReport): Promise<void>;
  /** Writes the listing's row of the source (idempotent: the row's current state). */
  indexSource(record: Omit<TrackingRecord, 'etag'>): Promise<void>;
  /** Removes the listing's row (a refused source leaves nothing behind). */
  unindexSource(record: Pick<TrackingRecord, 'sourceId' | 'database' | 'table' | 'createdOn'>): Promise<void>;
  /** A page of sources by database, table, category and time, newest first. */
  listSources(query: SourceQuery): Promise<SourcePage>;
}
