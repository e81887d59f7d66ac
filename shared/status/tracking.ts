import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { IngestError } from '../errors';
import type { IngestionProps } from '../ingest/types';

export type TrackingState = 'queuing' | 'uploaded' | 'queued' | 'closed';
export type SourceKind = 'landing' | 'http' | 'blob';

/** One source the app took on (contracts.md §3 'Tracking'). */
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
  readonly createdOn: Date;
  readonly updatedOn: Date;
  readonly requeueCount: number;
  readonly finalStatus?: string | undefined;
  readonly errorCode?: string | undefined;
  readonly failureStatus?: string | undefined;
  readonly details?: string | undefined;
  /** The failure already reported (so each is reported once). */
  readonly reportedFailure?: string | undefined;
  readonly stuckReported?: boolean | undefined;
  /**
   * Until when the worker that holds the row may store or queue the source; another delivery may take the
   * row over only after that (or once the holder released it after a failure).
   */
  readonly leaseUntil?: Date | undefined;
  /** The table service's ETag: every change is conditional on it. */
  readonly etag: string;
}

export type NewTrackingRecord = Omit<TrackingRecord, 'etag' | 'createdOn' | 'updatedOn' | 'requeueCount'>;
export type TrackingChanges = Partial<Omit<TrackingRecord, 'sourceId' | 'etag' | 'createdOn'>>;

/** How long a worker holds a source it is storing or queueing: longer than any bounded retry of one step. */
export const LEASE_MS = 10 * 60_000;

/** Another writer changed the row first (optimistic concurrency): the caller lost the race. */
export class TrackingConflictError extends IngestError {
  constructor(sourceId: string) {
    super(`The tracking row of ${sourceId} was changed by someone else first.`, 'TrackingConflict', false);
    this.name = 'TrackingConflictError';
  }
}

export interface TrackingStoreOptions {
  readonly tracking: TableClient;
  readonly open: TableClient;
  readonly failures: TableClient;
  readonly clock?: () => number;
  /** How long tracking rows live. @default 30 days */
  readonly retentionDays?: number;
}

export const trackingPartition = (sourceId: string): string => `src-${sourceId.slice(0, 2).toLowerCase()}`;
export const openPartition = (sourceId: string): string => `open-${sourceId.slice(0, 1).toLowerCase()}`;
export const OPEN_PARTITIONS = Array.from({ length: 16 }, (_, i) => `open-${i.toString(16)}`);

const statusOf = (e: unknown): number | undefined => (e as { statusCode?: number }).statusCode;

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
    FinalStatus: record.finalStatus,
    ErrorCode: record.errorCode,
    FailureStatus: record.failureStatus,
    Details: record.details?.slice(0, 30_000),
    ReportedFailure: record.reportedFailure,
    StuckReported: record.stuckReported,
    LeaseUntil: record.leaseUntil,
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
    createdOn: date(e.CreatedOn),
    updatedOn: date(e.UpdatedOn),
    requeueCount: typeof e.RequeueCount === 'number' ? e.RequeueCount : 0,
    finalStatus: str(e.FinalStatus),
    errorCode: str(e.ErrorCode),
    failureStatus: str(e.FailureStatus),
    details: str(e.Details),
    reportedFailure: str(e.ReportedFailure),
    stuckReported: e.StuckReported === true,
    leaseUntil: e.LeaseUntil === undefined ? undefined : date(e.LeaseUntil),
    etag: e.etag,
  };
}

/**
 * The app's record of every source it takes on. A row is inserted conditionally before anything is
 * uploaded or queued (a second delivery of the same source conflicts), then moved along with optimistic
 * concurrency. Open sources are also listed in `IngestionOpen`, so the sweep reads only those.
 */
export class TrackingStore {
  private readonly options: TrackingStoreOptions;
  private readonly clock: () => number;

  constructor(options: TrackingStoreOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
  }

  async ensureTables(): Promise<void> {
    await Promise.all([
      this.options.tracking.createTable(),
      this.options.open.createTable(),
      this.options.failures.createTable(),
    ]);
  }

  /** Inserts the row if the source is new; otherwise returns what is there. */
  async begin(
    input: NewTrackingRecord,
  ): Promise<{ created: true; record: TrackingRecord } | { created: false; existing: TrackingRecord }> {
    const now = new Date(this.clock());
    const record = { ...input, createdOn: now, updatedOn: now, requeueCount: 0 };
    try {
      const response = await this.options.tracking.createEntity(toEntity(record, this.expiry(now)));
      await this.options.open.upsertEntity(
        { partitionKey: openPartition(input.sourceId), rowKey: input.sourceId, CreatedOn: now },
        'Replace',
      );
      return { created: true, record: { ...record, etag: response.etag ?? '' } };
    } catch (e) {
      if (statusOf(e) !== 409) throw e;
      const existing = await this.get(input.sourceId);
      if (!existing) throw e;
      return { created: false, existing };
    }
  }

  async get(sourceId: string): Promise<TrackingRecord | undefined> {
    try {
      return fromEntity(await this.options.tracking.getEntity(trackingPartition(sourceId), sourceId));
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  /** Changes the row if nobody changed it since `record` was read; TrackingConflictError otherwise. */
  async update(record: TrackingRecord, changes: TrackingChanges): Promise<TrackingRecord> {
    const next = { ...record, ...changes, updatedOn: new Date(this.clock()) };
    try {
      const response = await this.options.tracking.updateEntity(
        toEntity(next, this.expiry(next.createdOn)),
        'Replace',
        { etag: record.etag },
      );
      return { ...next, etag: response.etag ?? '' };
    } catch (e) {
      if (statusOf(e) === 412) throw new TrackingConflictError(record.sourceId);
      throw e;
    }
  }

  /** Whether a worker still holds the row (its lease has not run out and was not released). */
  isLeased(record: TrackingRecord): boolean {
    return record.leaseUntil !== undefined && record.leaseUntil.getTime() > this.clock();
  }

  /**
   * Takes (or renews) the lease, conditionally: whoever wins may store or queue the source next. Every
   * enqueue is preceded by a won claim, so two deliveries never both queue one source.
   */
  async claim(record: TrackingRecord, changes: TrackingChanges = {}): Promise<TrackingRecord> {
    return this.update(record, { ...changes, leaseUntil: new Date(this.clock() + LEASE_MS) });
  }

  /** Gives the lease up after a failure in this process, so that a retry may take over at once. */
  async release(record: TrackingRecord): Promise<TrackingRecord> {
    return this.update(record, { leaseUntil: new Date(0) });
  }

  /** Closes a source: final state on its row, off the open list. */
  async close(record: TrackingRecord, changes: TrackingChanges): Promise<TrackingRecord> {
    const closed = await this.update(record, { ...changes, state: 'closed' });
    await this.options.open
      .deleteEntity(openPartition(record.sourceId), record.sourceId)
      .catch((e: unknown) => {
        if (statusOf(e) !== 404) throw e;
      });
    return closed;
  }

  /** Ids of every open source, partition by partition: the sweep's cost follows open items, not history. */
  async *openSourceIds(): AsyncGenerator<string> {
    for (const partition of OPEN_PARTITIONS) {
      const rows = this.options.open.listEntities({
        queryOptions: { filter: `PartitionKey eq '${partition}'`, select: ['RowKey'] },
      });
      for await (const row of rows) if (row.rowKey) yield row.rowKey;
    }
  }

  /** One row per reported failure, keyed so that writing it twice is harmless. */
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
