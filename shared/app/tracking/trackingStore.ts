import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { IngestError, isHttpStatus } from '../../errors';
import type { IngestionProps } from '../../ingest/types';

/** Where a source is in its lifecycle (docs/lifecycle.md). */
export type TrackingState = 'queuing' | 'uploaded' | 'queued' | 'closed';
export type SourceKind = 'landing' | 'http' | 'blob';

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
  /** What a request with an Idempotency-Key asked for, so that a reuse of the key for other data is refused. */
  readonly fingerprint?: string | undefined;
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
  /** The table service's ETag: every change is conditional on it. */
  readonly etag: string;
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
    'IngestionFailed' | 'IngestionStuck' | 'IngestionAbandoned' | 'IngestionRequeued' | 'LandingRejected';
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
}

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
  /** One row per failure report, keyed so that writing it twice is harmless. */
  recordFailure(report: FailureReport): Promise<void>;
}

export interface TableTrackingStoreOptions {
  readonly tracking: TableClient;
  readonly open: TableClient;
  readonly failures: TableClient;
  /** How long tracking rows live. @default 30 days */
  readonly retentionDays?: number;
}

export const trackingPartition = (sourceId: string): string => `src-${sourceId.slice(0, 2).toLowerCase()}`;
export const openPartition = (sourceId: string): string => `open-${sourceId.slice(0, 1).toLowerCase()}`;
export const OPEN_PARTITIONS = Array.from({ length: 16 }, (_, i) => `open-${i.toString(16)}`);

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

function toEntity(record: Omit<TrackingRecord, 'etag'>, expiresOn: Date): Entity {
  const entity: Entity = {
    partitionKey: trackingPartition(record.sourceId),
    rowKey: record.sourceId,
    Kind: record.kind,
    State: record.state,
    Database: record.database,
    Table: record.table,
    Props: JSON.stringify(record.props),
    CreatedOn: record.createdOn,
    UpdatedOn: record.updatedOn,
    RequeueCount: record.requeueCount,
    ExpiresOn: expiresOn,
  };
  const optional: Record<string, unknown> = {
    SourceUrl: record.sourceUrl,
    ETag: record.eTag,
    BlobPath: record.blobPath,
    RawDataSize: record.rawDataSize,
    StatusTableUrl: record.statusTableUrl,
    Fingerprint: record.fingerprint,
    FinalStatus: record.finalStatus,
    ErrorCode: record.errorCode,
    FailureStatus: record.failureStatus,
    Details: record.details?.slice(0, 30_000),
    ReportedFailure: record.reportedFailure,
    StuckReported: record.stuckReported,
    Uncertain: record.uncertain,
    LeaseUntil: record.leaseUntil,
    WriteId: record.writeId,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) entity[k] = v;
  return entity;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

function fromEntity(e: TableEntityResult<Record<string, unknown>>): TrackingRecord {
  return {
    sourceId: e.rowKey ?? '',
    kind: (str(e.Kind) ?? 'blob') as SourceKind,
    state: (str(e.State) ?? 'queuing') as TrackingState,
    database: str(e.Database) ?? '',
    table: str(e.Table) ?? '',
    props: JSON.parse(str(e.Props) ?? '{}') as IngestionProps,
    sourceUrl: str(e.SourceUrl),
    eTag: str(e.ETag),
    blobPath: str(e.BlobPath),
    rawDataSize: typeof e.RawDataSize === 'number' ? e.RawDataSize : undefined,
    statusTableUrl: str(e.StatusTableUrl),
    fingerprint: str(e.Fingerprint),
    createdOn: date(e.CreatedOn),
    updatedOn: date(e.UpdatedOn),
    requeueCount: typeof e.RequeueCount === 'number' ? e.RequeueCount : 0,
    finalStatus: str(e.FinalStatus),
    errorCode: str(e.ErrorCode),
    failureStatus: str(e.FailureStatus),
    details: str(e.Details),
    reportedFailure: str(e.ReportedFailure),
    stuckReported: e.StuckReported === true,
    uncertain: e.Uncertain === true,
    leaseUntil: e.LeaseUntil === undefined ? undefined : date(e.LeaseUntil),
    writeId: str(e.WriteId),
    etag: e.etag,
  };
}

/**
 * The tracking tables in Azure Table storage: `IngestionTracking` (one row per source, kept for the
 * retention period), `IngestionOpen` (one row per open source, in 16 partitions, so the sweep's cost
 * follows open items, not history) and `IngestionFailures` (one row per report).
 */
export class TableTrackingStore implements TrackingPersistence {
  constructor(private readonly options: TableTrackingStoreOptions) {}

  async ensureTables(): Promise<void> {
    await Promise.all([
      this.options.tracking.createTable(),
      this.options.open.createTable(),
      this.options.failures.createTable(),
    ]);
  }

  async insert(record: Omit<TrackingRecord, 'etag'>): Promise<TrackingRecord | undefined> {
    try {
      const response = await this.options.tracking.createEntity(
        toEntity(record, this.expiry(record.createdOn)),
      );
      return { ...record, etag: response.etag ?? '' };
    } catch (e) {
      if (isHttpStatus(e, 409)) return undefined;
      throw e;
    }
  }

  async get(sourceId: string): Promise<TrackingRecord | undefined> {
    try {
      return fromEntity(await this.options.tracking.getEntity(trackingPartition(sourceId), sourceId));
    } catch (e) {
      if (isHttpStatus(e, 404)) return undefined;
      throw e;
    }
  }

  async replace(record: TrackingRecord, next: Omit<TrackingRecord, 'etag'>): Promise<TrackingRecord> {
    try {
      const response = await this.options.tracking.updateEntity(
        toEntity(next, this.expiry(next.createdOn)),
        'Replace',
        { etag: record.etag },
      );
      return { ...next, etag: response.etag ?? '' };
    } catch (e) {
      if (isHttpStatus(e, 412) || isHttpStatus(e, 404)) throw new TrackingConflictError(record.sourceId);
      throw e;
    }
  }

  async remove(record: TrackingRecord): Promise<void> {
    try {
      await this.options.tracking.deleteEntity(trackingPartition(record.sourceId), record.sourceId, {
        etag: record.etag,
      });
    } catch (e) {
      if (isHttpStatus(e, 412)) throw new TrackingConflictError(record.sourceId);
      if (!isHttpStatus(e, 404)) throw e;
    }
  }

  async markOpen(sourceId: string, since: Date): Promise<void> {
    await this.options.open.upsertEntity(
      { partitionKey: openPartition(sourceId), rowKey: sourceId, CreatedOn: since },
      'Replace',
    );
  }

  async unmarkOpen(sourceId: string): Promise<void> {
    try {
      await this.options.open.deleteEntity(openPartition(sourceId), sourceId);
    } catch (e) {
      if (!isHttpStatus(e, 404)) throw e;
    }
  }

  async *openEntries(): AsyncGenerator<OpenEntry> {
    for (const partition of OPEN_PARTITIONS) {
      const rows = this.options.open.listEntities<{ CreatedOn?: Date }>({
        queryOptions: { filter: `PartitionKey eq '${partition}'`, select: ['RowKey', 'CreatedOn'] },
      });
      for await (const row of rows)
        if (row.rowKey) yield { sourceId: row.rowKey, since: date(row.CreatedOn ?? 0) };
    }
  }

  async recordFailure(report: FailureReport): Promise<void> {
    await this.options.failures.upsertEntity(
      {
        partitionKey: report.at.toISOString().slice(0, 10),
        rowKey: `${report.sourceId}-${report.key.replace(/[^\w.-]/g, '_')}`,
        Event: report.event,
        SourceId: report.sourceId,
        Database: report.database,
        Table: report.table,
        Source: report.source,
        ErrorCode: report.errorCode ?? '',
        FailureStatus: report.failureStatus ?? '',
        Details: (report.details ?? '').slice(0, 30_000),
        Action: report.action,
        At: report.at,
      },
      'Replace',
    );
  }

  private expiry(from: Date): Date {
    return new Date(from.getTime() + (this.options.retentionDays ?? 30) * 86_400_000);
  }
}
