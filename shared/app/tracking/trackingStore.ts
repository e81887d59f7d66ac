import { createHash } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { IngestError, isAlreadyExists, isChangedSince, isNotFound } from '../../errors';
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
  };
}
