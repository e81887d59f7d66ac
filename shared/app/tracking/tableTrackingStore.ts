import { createHash } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { isAlreadyExists, isChangedSince, isNotFound } from '../../errors';
import type { IngestionProps } from '../../ingest/types';
import type { TrackingPersistence } from './trackingPersistence';
import {
  HISTORY_LIMIT,
  TrackingConflictError,
  categoryOf,
  type AttemptEntry,
  type FailureReport,
  type OpenEntry,
  type SourceKind,
  type SourcePage,
  type SourceQuery,
  type SourceSummary,
  type TrackingRecord,
  type TrackingState,
} from './trackingRecord';

// The tracking store on Azure Tables: rows by source, the open list, the failure reports and the listing's
// index, each in a table of its own (docs/contracts.md, 'Tables').

type WriteEntity = { readonly partitionKey: string; readonly rowKey: string } & Readonly<
  Record<string, unknown>
>;
type ReadEntity = Record<string, unknown> & { readonly rowKey?: string; readonly etag?: string };

/**
 * What the store needs of one table: the SDK's `TableClient` fits, and so does the app's pairing of the
 * lean entity requests (`TableRest`) with the SDK for queries and creation (context.ts).
 */
export interface TrackingTable {
  createTable(): Promise<void>;
  listEntities: TableClient['listEntities'];
  createEntity(entity: WriteEntity): Promise<{ etag?: string }>;
  getEntity(partitionKey: string, rowKey: string): Promise<ReadEntity>;
  /** Get Entity with no row answered as undefined, where the table can do that without an error. */
  findEntity?(partitionKey: string, rowKey: string): Promise<ReadEntity | undefined>;
  updateEntity(entity: WriteEntity, mode: 'Replace', options: { etag: string }): Promise<{ etag?: string }>;
  upsertEntity(entity: WriteEntity, mode: 'Replace'): Promise<{ etag?: string }>;
  deleteEntity(partitionKey: string, rowKey: string, options?: { etag?: string }): Promise<unknown>;
}

export interface TableTrackingStoreOptions {
  readonly tracking: TrackingTable;
  readonly open: TrackingTable;
  readonly failures: TrackingTable;
  /** The listing's index: one partition per table, rows newest first; and a partition naming the tables. */
  readonly index: TrackingTable;
  /** How long tracking rows live. @default 30 days */
  readonly retentionDays?: number;
}

export const trackingPartition = (sourceId: string): string => `src-${sourceId.slice(0, 2).toLowerCase()}`;
export const openPartition = (sourceId: string): string => `open-${sourceId.slice(0, 1).toLowerCase()}`;
export const OPEN_PARTITIONS = Array.from({ length: 16 }, (_, i) => `open-${i.toString(16)}`);

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

/** Names that read well as a partition key: valid Kusto names, short; anything else is hashed. */
const KEYABLE_NAME = /^[\p{L}\p{N}_ .-]{1,100}$/u;

/**
 * The index partition of one table: Kusto names are case-insensitive, so are these. A rejected source can
 * carry a name that is not valid (too long, '/', '#'): its partition is a hash, as a key cannot hold it.
 */
export const indexPartition = (database: string, table: string): string =>
  KEYABLE_NAME.test(database) && KEYABLE_NAME.test(table)
    ? `t|${database.toLowerCase()}|${table.toLowerCase()}`
    : `h|${createHash('sha256').update(`${database.toLowerCase()}\n${table.toLowerCase()}`).digest('hex')}`;
/** The index partition that names every table with sources. */
const TABLES_PARTITION = 'tables';
/** Newest first: row keys sort by the inverted time the source was taken on, then its id. */
const MAX_TIME = 9_999_999_999_999;
const invertedTime = (at: Date): string => String(MAX_TIME - at.getTime()).padStart(13, '0');
export const indexRowKey = (createdOn: Date, sourceId: string): string =>
  `${invertedTime(createdOn)}-${sourceId}`;

const historyOf = (v: unknown): AttemptEntry[] | undefined => {
  if (typeof v !== 'string') return undefined;
  try {
    return JSON.parse(v) as AttemptEntry[];
  } catch {
    return undefined;
  }
};

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
    Operation: record.operation,
    Submission: record.submission,
    Fingerprint: record.fingerprint,
    JobId: record.jobId,
    TraceParent: record.traceParent,
    FinalStatus: record.finalStatus,
    ErrorCode: record.errorCode,
    FailureStatus: record.failureStatus,
    Details: record.details?.slice(0, 30_000),
    ReportedFailure: record.reportedFailure,
    StuckReported: record.stuckReported,
    Uncertain: record.uncertain,
    LeaseUntil: record.leaseUntil,
    WriteId: record.writeId,
    History: record.history && JSON.stringify(record.history.slice(-HISTORY_LIMIT)),
    RetriedAs: record.retriedAs,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) entity[k] = v;
  return entity;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

function fromEntity(e: ReadEntity): TrackingRecord {
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
    operation: str(e.Operation),
    submission: str(e.Submission),
    fingerprint: str(e.Fingerprint),
    jobId: str(e.JobId),
    traceParent: str(e.TraceParent),
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
    history: historyOf(e.History),
    retriedAs: str(e.RetriedAs),
    etag: e.etag ?? '',
  };
}

/**
 * The tracking tables in Azure Table storage: `IngestionTracking` (one row per source, kept for the
 * retention period), `IngestionOpen` (one row per open source, in 16 partitions, so the sweep's cost
 * follows open items, not history) and `IngestionFailures` (one row per report).
 */
export class TableTrackingStore implements TrackingPersistence {
  /** Tables this process has named in the index already: each is written once per process. */
  private readonly knownTables = new Set<string>();

  constructor(private readonly options: TableTrackingStoreOptions) {}

  async ensureTables(): Promise<void> {
    await Promise.all([
      this.options.tracking.createTable(),
      this.options.open.createTable(),
      this.options.failures.createTable(),
      this.options.index.createTable(),
    ]);
  }

  async insert(record: Omit<TrackingRecord, 'etag'>): Promise<TrackingRecord | undefined> {
    try {
      const response = await this.options.tracking.createEntity(
        toEntity(record, this.expiry(record.createdOn)),
      );
      return { ...record, etag: response.etag ?? '' };
    } catch (e) {
      if (isAlreadyExists(e)) return undefined;
      throw e;
    }
  }

  async get(sourceId: string): Promise<TrackingRecord | undefined> {
    const { tracking } = this.options;
    if (tracking.findEntity) {
      const entity = await tracking.findEntity(trackingPartition(sourceId), sourceId);
      return entity && fromEntity(entity);
    }
    try {
      return fromEntity(await this.options.tracking.getEntity(trackingPartition(sourceId), sourceId));
    } catch (e) {
      if (isNotFound(e)) return undefined;
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
      if (isChangedSince(e) || isNotFound(e)) throw new TrackingConflictError(record.sourceId);
      throw e;
    }
  }

  async remove(record: TrackingRecord): Promise<void> {
    try {
      await this.options.tracking.deleteEntity(trackingPartition(record.sourceId), record.sourceId, {
        etag: record.etag,
      });
    } catch (e) {
      if (isChangedSince(e)) throw new TrackingConflictError(record.sourceId);
      if (!isNotFound(e)) throw e;
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
      if (!isNotFound(e)) throw e;
    }
  }

  async noteSweepError(entry: OpenEntry, errors: number, first: Date): Promise<void> {
    await this.options.open.upsertEntity(
      {
        partitionKey: openPartition(entry.sourceId),
        rowKey: entry.sourceId,
        CreatedOn: entry.since,
        SweepErrors: errors,
        FirstSweepError: first,
      },
      'Replace',
    );
  }

  async *openEntries(): AsyncGenerator<OpenEntry> {
    for (const partition of OPEN_PARTITIONS) {
      const rows = this.options.open.listEntities<{
        CreatedOn?: Date;
        SweepErrors?: number;
        FirstSweepError?: Date;
      }>({
        queryOptions: {
          filter: `PartitionKey eq '${partition}'`,
          select: ['RowKey', 'CreatedOn', 'SweepErrors', 'FirstSweepError'],
        },
      });
      for await (const row of rows)
        if (row.rowKey)
          yield {
            sourceId: row.rowKey,
            since: date(row.CreatedOn ?? 0),
            ...(typeof row.SweepErrors === 'number' && {
              sweepErrors: row.SweepErrors,
              firstSweepError: date(row.FirstSweepError ?? row.CreatedOn ?? 0),
            }),
          };
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

  async indexSource(record: Omit<TrackingRecord, 'etag'>): Promise<void> {
    const partition = indexPartition(record.database, record.table);
    if (!this.knownTables.has(partition)) {
      await this.options.index.upsertEntity(
        {
          partitionKey: TABLES_PARTITION,
          rowKey: partition,
          Database: record.database.slice(0, 2_000),
          Table: record.table.slice(0, 2_000),
        },
        'Replace',
      );
      this.knownTables.add(partition);
    }
    const entity: Entity = {
      partitionKey: partition,
      rowKey: indexRowKey(record.createdOn, record.sourceId),
      SourceId: record.sourceId,
      Database: record.database,
      Table: record.table,
      Kind: record.kind,
      State: record.state,
      Category: categoryOf(record),
      CreatedOn: record.createdOn,
      UpdatedOn: record.updatedOn,
      Attempts: record.requeueCount + 1,
      ExpiresOn: this.expiry(record.createdOn),
    };
    const optional = {
      FinalStatus: record.finalStatus,
      ErrorCode: record.errorCode,
      Details: record.details?.slice(0, 2_000),
      RetriedAs: record.retriedAs,
    };
    for (const [k, v] of Object.entries(optional)) if (v !== undefined) entity[k] = v;
    await this.options.index.upsertEntity(entity, 'Replace');
  }

  async unindexSource(
    record: Pick<TrackingRecord, 'sourceId' | 'database' | 'table' | 'createdOn'>,
  ): Promise<void> {
    try {
      await this.options.index.deleteEntity(
        indexPartition(record.database, record.table),
        indexRowKey(record.createdOn, record.sourceId),
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /**
   * Reads the partitions of the tables asked for (one, or every table of the database, or every table),
   * each from where the last page ended, in row-key order (newest first), and merges them: the cost follows
   * the tables and the time range asked for, never all history.
   */
  async listSources(query: SourceQuery): Promise<SourcePage> {
    const partitions =
      query.database !== undefined && query.table !== undefined
        ? [indexPartition(query.database, query.table)]
        : await this.tablePartitions(query.database);
    const conditions: string[] = [];
    if (query.until) conditions.push(odata`RowKey gt ${`${invertedTime(query.until)}.`}`);
    if (query.since) conditions.push(odata`RowKey lt ${`${invertedTime(query.since)}.`}`);
    if (query.category) conditions.push(odata`Category eq ${query.category}`);
    const page = await pageAcrossPartitions(
      partitions,
      query.continuationToken,
      query.pageSize,
      async (partition, afterRowKey, limit) => {
        const rows: Record<string, unknown>[] = [];
        const filter = [
          odata`PartitionKey eq ${partition}`,
          ...(afterRowKey === undefined ? [] : [odata`RowKey gt ${afterRowKey}`]),
          ...conditions,
        ].join(' and ');
        for await (const row of this.options.index.listEntities({ queryOptions: { filter } })) {
          rows.push(row);
          if (rows.length >= limit) break;
        }
        return rows;
      },
    );
    return { items: page.rows.map(toSummary), continuationToken: page.continuationToken };
  }

  private async tablePartitions(database: string | undefined): Promise<string[]> {
    const out: string[] = [];
    for await (const row of this.options.index.listEntities<{ Database?: string }>({
      queryOptions: { filter: odata`PartitionKey eq ${TABLES_PARTITION}` },
    })) {
      if (database === undefined || row.Database?.toLowerCase() === database.toLowerCase())
        out.push(row.rowKey ?? '');
    }
    return out;
  }

  private expiry(from: Date): Date {
    return new Date(from.getTime() + (this.options.retentionDays ?? 30) * 86_400_000);
  }
}

/** The most index partitions (tables) one listing page reads: the rest are read by the pages after it. */
export const MAX_PARTITIONS_PER_PAGE = 50;

/** Where a listing page ended: after which partition its group of partitions starts, and after which row. */
interface ListCursor {
  readonly after?: string | undefined;
  readonly rowKey?: string | undefined;
}

const ROW_KEY = /^\d{13}-[0-9a-f-]{36}$/i;

function encodeCursor(cursor: ListCursor): string {
  const after = cursor.after === undefined ? '' : Buffer.from(cursor.after).toString('base64url');
  return `${cursor.rowKey ?? ''}.${after}`;
}

/** A continuation token this store gave, or undefined for any other text. */
export function decodeListToken(token: string): ListCursor | undefined {
  const m = /^([^.]*)\.([A-Za-z0-9_-]{0,400})$/.exec(token);
  if (!m || (m[1] !== '' && !ROW_KEY.test(m[1] ?? ''))) return undefined;
  return {
    ...(m[1] !== '' && { rowKey: m[1] }),
    ...(m[2] !== '' && { after: Buffer.from(m[2] ?? '', 'base64url').toString() }),
  };
}

/**
 * One page of a listing over index partitions, newest first: at most MAX_PARTITIONS_PER_PAGE partitions are
 * read for a page (in name order, so thousands of tables never make one page thousands of queries), their
 * rows merged by row key. The token continues in the same group while it has rows, then in the next group:
 * newest first holds within each group of tables.
 */
export async function pageAcrossPartitions<Row extends { readonly rowKey?: unknown }>(
  partitions: readonly string[],
  token: string | undefined,
  pageSize: number,
  read: (partition: string, afterRowKey: string | undefined, limit: number) => Promise<Row[]>,
): Promise<{ readonly rows: Row[]; readonly continuationToken: string | undefined }> {
  const cursor = token === undefined ? {} : (decodeListToken(token) ?? {});
  const sorted = [...new Set(partitions)].sort();
  const after = cursor.after;
  const remaining = after === undefined ? sorted : sorted.filter((p) => p > after);
  const group = remaining.slice(0, MAX_PARTITIONS_PER_PAGE);
  const pages = await Promise.all(group.map((p) => read(p, cursor.rowKey, pageSize)));
  const rows = pages
    .flat()
    .sort((a, b) => String(a.rowKey).localeCompare(String(b.rowKey)))
    .slice(0, pageSize);
  if (rows.length === pageSize)
    return {
      rows,
      continuationToken: encodeCursor({ after, rowKey: String(rows[rows.length - 1]?.rowKey) }),
    };
  const last = group[group.length - 1];
  const more = last !== undefined && remaining.length > group.length;
  return { rows, continuationToken: more ? encodeCursor({ after: last }) : undefined };
}

function toSummary(e: Record<string, unknown>): SourceSummary {
  return {
    sourceId: str(e.SourceId) ?? '',
    database: str(e.Database) ?? '',
    table: str(e.Table) ?? '',
    kind: (str(e.Kind) ?? 'blob') as SourceKind,
    state: (str(e.State) ?? 'queuing') as TrackingState,
    finalStatus: str(e.FinalStatus),
    errorCode: str(e.ErrorCode),
    details: str(e.Details),
    createdOn: date(e.CreatedOn),
    updatedOn: date(e.UpdatedOn),
    attempts: typeof e.Attempts === 'number' ? e.Attempts : 1,
    retriedAs: str(e.RetriedAs),
  };
}
