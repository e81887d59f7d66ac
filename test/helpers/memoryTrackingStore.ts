import {
  indexPartition,
  indexRowKey,
  pageAcrossPartitions,
} from '../../shared/app/tracking/tableTrackingStore';
import type { TrackingPersistence } from '../../shared/app/tracking/trackingPersistence';
import {
  categoryOf,
  TrackingConflictError,
  type FailureReport,
  type OpenEntry,
  type SourcePage,
  type SourceQuery,
  type SourceSummary,
  type TrackingRecord,
} from '../../shared/app/tracking/trackingRecord';

type Method = keyof TrackingPersistence;

/**
 * The tracking persistence in memory, with the same conditional semantics as the tables (an ETag per row
 * version), and a switch that makes the next call of a method fail: the lifecycle under test cannot tell.
 */
export class MemoryTrackingStore implements TrackingPersistence {
  readonly rows = new Map<string, TrackingRecord>();
  readonly open = new Map<string, Date>();
  readonly failures = new Map<string, FailureReport>();
  /** The listing's index, by row key. */
  readonly index = new Map<string, SourceSummary & { category: string }>();
  readonly calls: Method[] = [];
  private version = 0;
  private readonly failNext = new Map<Method, number>();
  private readonly echoNext = new Set<Method>();

  /**
   * The next insert or replace is applied, but its answer is lost and the client's retry meets its own write:
   * 'exists' for an insert, 'changed' for a replace, as a storage SDK retrying after a dropped response does.
   */
  applyThenConflict(method: 'insert' | 'replace'): void {
    this.echoNext.add(method);
  }

  /**
   * The next replace is applied, but its answer is lost and the client's retry does not get through either:
   * the caller sees a broken connection, the row is the new version.
   */
  applyThenLoseAnswer(): void {
    this.loseNext = true;
  }
  private loseNext = false;

  /** The next `times` calls of `method` throw a transient storage error. */
  fail(method: Method, times = 1): void {
    this.failNext.set(method, times);
  }

  private enter(method: Method): void {
    this.calls.push(method);
    const left = this.failNext.get(method) ?? 0;
    if (left > 0) {
      this.failNext.set(method, left - 1);
      throw Object.assign(new Error(`${method} failed (injected)`), { statusCode: 503 });
    }
  }

  private stamp(record: Omit<TrackingRecord, 'etag'>): TrackingRecord {
    const row = { ...record, etag: `v${++this.version}` };
    this.rows.set(record.sourceId, row);
    return row;
  }

  ensureTables(): Promise<void> {
    return Promise.resolve();
  }

  async insert(record: Omit<TrackingRecord, 'etag'>): Promise<TrackingRecord | undefined> {
    this.enter('insert');
    if (this.rows.has(record.sourceId)) return Promise.resolve(undefined);
    const row = this.stamp(record);
    if (this.echoNext.delete('insert')) return Promise.resolve(undefined);
    return Promise.resolve(row);
  }

  async get(sourceId: string): Promise<TrackingRecord | undefined> {
    this.enter('get');
    return Promise.resolve(this.rows.get(sourceId));
  }

  async replace(record: TrackingRecord, next: Omit<TrackingRecord, 'etag'>): Promise<TrackingRecord> {
    this.enter('replace');
    if (this.rows.get(record.sourceId)?.etag !== record.etag)
      throw new TrackingConflictError(record.sourceId);
    const row = this.stamp(next);
    if (this.loseNext) {
      this.loseNext = false;
      throw Object.assign(new Error('socket hang up (injected: applied, answer lost)'), {
        code: 'ECONNRESET',
      });
    }
    return Promise.resolve(row);
  }

  async remove(record: TrackingRecord): Promise<void> {
    this.enter('remove');
    const current = this.rows.get(record.sourceId);
    if (current && current.etag !== record.etag) throw new TrackingConflictError(record.sourceId);
    this.rows.delete(record.sourceId);
    return Promise.resolve();
  }

  /** Sweeps in a row that failed on a source, as its open entry counts them. */
  readonly sweepErrors = new Map<string, { errors: number; first: Date }>();

  async markOpen(sourceId: string, since: Date): Promise<void> {
    this.enter('markOpen');
    this.open.set(sourceId, since);
    this.sweepErrors.delete(sourceId); // the entry is written afresh, as the table's Replace does
    return Promise.resolve();
  }

  async noteSweepError(entry: OpenEntry, errors: number, first: Date): Promise<void> {
    this.enter('noteSweepError');
    this.open.set(entry.sourceId, entry.since);
    this.sweepErrors.set(entry.sourceId, { errors, first });
    return Promise.resolve();
  }

  async unmarkOpen(sourceId: string): Promise<void> {
    this.enter('unmarkOpen');
    this.open.delete(sourceId);
    this.sweepErrors.delete(sourceId);
    return Promise.resolve();
  }

  async *openEntries(): AsyncGenerator<OpenEntry> {
    this.enter('openEntries');
    for (const [sourceId, since] of [...this.open]) {
      const noted = this.sweepErrors.get(sourceId);
      yield await Promise.resolve({
        sourceId,
        since,
        ...(noted && { sweepErrors: noted.errors, firstSweepError: noted.first }),
      });
    }
  }

  async recordFailure(report: FailureReport): Promise<void> {
    this.enter('recordFailure');
    this.failures.set(`${report.sourceId}-${report.key}`, report);
    return Promise.resolve();
  }

  async indexSource(record: Omit<TrackingRecord, 'etag'>): Promise<void> {
    this.enter('indexSource');
    this.index.set(indexRowKey(record.createdOn, record.sourceId), {
      sourceId: record.sourceId,
      database: record.database,
      table: record.table,
      kind: record.kind,
      state: record.state,
      finalStatus: record.finalStatus,
      errorCode: record.errorCode,
      details: record.details,
      createdOn: record.createdOn,
      updatedOn: record.updatedOn,
      attempts: record.requeueCount + 1,
      retriedAs: record.retriedAs,
      category: categoryOf(record),
    });
    return Promise.resolve();
  }

  async unindexSource(record: Pick<TrackingRecord, 'sourceId' | 'createdOn'>): Promise<void> {
    this.enter('unindexSource');
    this.index.delete(indexRowKey(record.createdOn, record.sourceId));
    return Promise.resolve();
  }

  async listSources(query: SourceQuery): Promise<SourcePage> {
    this.enter('listSources');
    const same = (a: string, b: string | undefined) => b === undefined || a.toLowerCase() === b.toLowerCase();
    const rows = [...this.index.entries()]
      .filter(([, s]) => same(s.database, query.database) && same(s.table, query.table))
      .filter(([, s]) => !query.category || s.category === query.category)
      .filter(
        ([, s]) =>
          (!query.since || s.createdOn >= query.since) && (!query.until || s.createdOn < query.until),
      )
      .map(([rowKey, s]) => ({ rowKey, partition: indexPartition(s.database, s.table), s }));
    const page = await pageAcrossPartitions(
      rows.map((r) => r.partition),
      query.continuationToken,
      query.pageSize,
      (partition, after, limit) =>
        Promise.resolve(
          rows
            .filter((r) => r.partition === partition && (after === undefined || r.rowKey > after))
            .sort((a, b) => a.rowKey.localeCompare(b.rowKey))
            .slice(0, limit),
        ),
    );
    return { items: page.rows.map((r) => r.s), continuationToken: page.continuationToken };
  }
}
