// A tracked source's record, and the shapes around it (what a listing and a report carry).
import { IngestError } from '../../errors';
import type { IngestionProps } from '../../ingest/types';

/** Where a source is in its lifecycle (docs/lifecycle.md). */
export type TrackingState = 'queuing' | 'uploaded' | 'queued' | 'closed';
/**
 * What a source is: a blob of the landing container (`landing`), an HTTP push staged by the app (`http`), a
 * caller's blob reference with its SAS (`blob`), or a blob of another container a backfill job read with the
 * app's identity (`backfill`: never moved, deleted or tagged; queued again from its URL).
 */
export type SourceKind = 'landing' | 'http' | 'blob' | 'backfill';

/** One attempt's outcome in a source's history (the status API shows them, oldest first). */
export interface AttemptEntry {
  readonly at: string;
  /** 1 for the first attempt; a re-queue or an operator's retry starts the next. */
  readonly attempt: number;
  /** 'Succeeded', 'Failed', 'Rejected', 'Abandoned', 'requeued', 'retried', ... */
  readonly outcome: string;
  readonly errorCode?: string | undefined;
  readonly details?: string | undefined;
}

/** How the listing groups final states: `open`, or the kind of end a source came to. */
export type SourceCategory = 'open' | 'succeeded' | 'failed' | 'rejected';

/** One source the app took on (docs/contracts.md, 'IngestionTracking'). */
export interface TrackingRecord {
  readonly sourceId: string;
  readonly kind: SourceKind;
  readonly state: TrackingState;
  readonly database: string;
  readonly table: string;
  /** The ingestion properties to (re)queue with. */
  readonly props: IngestionProps;
  /** The landing or caller's blob, without SAS. */
  readonly sourceUrl?: string | undefined;
  readonly eTag?: string | undefined;
  /** The temp blob an HTTP push was staged in, without SAS. */
  readonly blobPath?: string | undefined;
  readonly rawDataSize?: number | undefined;
  /** The DM status table that reports this source, without SAS. */
  readonly statusTableUrl?: string | undefined;
  /** Queued over REST (ingest v2): the handle of its operation, read with the others of the operation. */
  readonly operation?: string | undefined;
  /**
   * Ingest v2: the tag of the last REST submission that carried it, written before that submission was sent.
   * With no operation beside it, the submission's answer never came: its extents tell whether it went.
   */
  readonly submission?: string | undefined;
  /** What a request with an Idempotency-Key asked for, so that a reuse of the key for other data is refused. */
  readonly fingerprint?: string | undefined;
  /** The backfill job that took this source on, if one did (its counts follow the source's end). */
  readonly jobId?: string | undefined;
  /** The W3C traceparent of the trigger's `source accepted` span: the sweep's final span links to it. */
  readonly traceParent?: string | undefined;
  readonly createdOn: Date;
  readonly updatedOn: Date;
  readonly requeueCount: number;
  readonly finalStatus?: string | undefined;
  readonly errorCode?: string | undefined;
  readonly failureStatus?: string | undefined;
  readonly details?: string | undefined;
  /** The key of the failure report already made (so each is reported once, before acting on it). */
  readonly reportedFailure?: string | undefined;
  readonly stuckReported?: boolean | undefined;
  /**
   * Marked queued on the service's word after its holder stopped, while its status was still Pending: the
   * message may never have been sent. If it stays Pending past the stale limit, it is queued again.
   */
  readonly uncertain?: boolean | undefined;
  /**
   * Until when the worker that holds the row may store or queue the source; another delivery may take the
   * row over only after that. `new Date(0)` means released after a failure: take over at once.
   */
  readonly leaseUntil?: Date | undefined;
  /**
   * Names the write that made this version of the row. A write whose answer was lost (the service applied it,
   * the client retried and got 'exists' or 'changed') recognises itself by it.
   */
  readonly writeId?: string | undefined;
  /** Each attempt's outcome, oldest first (the last HISTORY_LIMIT). */
  readonly history?: readonly AttemptEntry[] | undefined;
  /** A quarantined landing blob an operator retried became a new blob version: its source id. */
  readonly retriedAs?: string | undefined;
  /** The table service's ETag: every change is conditional on it. */
  readonly etag: string;
}

/** How many attempts a row remembers. */
export const HISTORY_LIMIT = 20;

/** The category a record is listed under. */
export function categoryOf(record: Pick<TrackingRecord, 'state' | 'finalStatus'>): SourceCategory {
  if (record.state !== 'closed') return 'open';
  switch (record.finalStatus) {
    case 'Succeeded':
    case 'Skipped':
      return 'succeeded';
    case 'Rejected':
    case 'Abandoned':
      return 'rejected';
    default:
      return 'failed'; // Failed, PartiallySucceeded, and anything the service may add
  }
}

/** One row of the listing: what the index keeps of a source. */
export interface SourceSummary {
  readonly sourceId: string;
  readonly database: string;
  readonly table: string;
  readonly kind: SourceKind;
  readonly state: TrackingState;
  readonly finalStatus?: string | undefined;
  readonly errorCode?: string | undefined;
  readonly details?: string | undefined;
  readonly createdOn: Date;
  readonly updatedOn: Date;
  readonly attempts: number;
  /** A quarantined landing blob an operator retried became a new source: its id. */
  readonly retriedAs?: string | undefined;
}

/** A page of the listing: newest first (by when the source was taken on). */
export interface SourceQuery {
  readonly database?: string | undefined;
  readonly table?: string | undefined;
  readonly category?: SourceCategory | undefined;
  /** Taken on at or after. */
  readonly since?: Date | undefined;
  /** Taken on before. */
  readonly until?: Date | undefined;
  readonly pageSize: number;
  /** Where the previous page ended. */
  readonly continuationToken?: string | undefined;
}

export interface SourcePage {
  readonly items: readonly SourceSummary[];
  readonly continuationToken: string | undefined;
}

export type NewTrackingRecord = Omit<TrackingRecord, 'etag' | 'createdOn' | 'updatedOn' | 'requeueCount'>;
export type TrackingChanges = Partial<Omit<TrackingRecord, 'sourceId' | 'etag' | 'createdOn'>>;

/** Another writer changed the row first (optimistic concurrency): reading it again tells what happened. */
export class TrackingConflictError extends IngestError {
  constructor(sourceId: string) {
    super(`The tracking row of ${sourceId} was changed by someone else first.`, 'TrackingConflict', true);
    this.name = 'TrackingConflictError';
  }
}

export const isTrackingConflict = (e: unknown): e is TrackingConflictError =>
  e instanceof Error && e.name === 'TrackingConflictError';

/** What a failure report says (a log line, a row in IngestionFailures, a webhook body). */
export interface FailureReport {
  readonly event:
    | 'IngestionFailed'
    | 'IngestionStuck'
    | 'IngestionAbandoned'
    | 'IngestionRequeued'
    | 'LandingRejected'
    /** The sweep could not process the source (its storage calls kept failing): closed without an outcome. */
    | 'IngestionUnresolved';
  readonly sourceId: string;
  readonly database: string;
  readonly table: string;
  /** The blob or push, without SAS. */
  readonly source: string;
  readonly errorCode?: string | undefined;
  readonly failureStatus?: string | undefined;
  readonly details?: string | undefined;
  /** What the app did about it: 'quarantined', 'requeued', 'reported', ... */
  readonly action: string;
  /** Distinguishes reports of one source (the attempt, the event): the same key is one report. */
  readonly key: string;
  readonly at: Date;
}

/** An open-list entry: a source that is not closed yet, and since when it is listed. */
export interface OpenEntry {
  readonly sourceId: string;
  readonly since: Date;
  /** Sweeps in a row that failed on this source, and when the first of them did. */
  readonly sweepErrors?: number | undefined;
  readonly firstSweepError?: Date | undefined;
}
