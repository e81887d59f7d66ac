import { odata, type TableClient } from '@azure/data-tables';
import { isAlreadyExists, isNotFound } from '../../errors';
import type { BackfillOptions } from './backfillOptions';

export type JobState = 'running' | 'cancelled' | 'failed';

/** Why a job failed: its listing could not go on (the page that could not be listed, and the error). */
export interface JobError {
  readonly code: string;
  readonly message: string;
}

/** A backfill job as its record keeps it (docs/contracts.md, 'Backfill'). */
export interface JobRecord {
  readonly jobId: string;
  readonly state: JobState;
  readonly options: BackfillOptions;
  readonly createdOn: Date;
  /** Listing reached the end (or the limit): no page after the last one. */
  readonly listingDone: boolean;
  /** Set with the state `failed`. */
  readonly error?: JobError | undefined;
}

/** One page of the listing: where it starts, and once it is done, what it found. */
export interface PageRecord {
  readonly index: number;
  /** The continuation token the page starts from ('' for the first). */
  readonly token: string;
  /** Blobs matched by the pages before it (for the job's limit). */
  readonly matchedBefore: number;
  /** Its task was sent (a retried page task that finds it unsent sends it). */
  readonly taskSent: boolean;
  readonly done: boolean;
  readonly matched: number;
  /** Matched, but tracked already by the landing path or another job. */
  readonly skipped: number;
  readonly queued: number;
  readonly bytes: number;
}

export type JobOutcome = 'succeeded' | 'failed' | 'skipped';

/** What a dry run would ingest: one matched blob and where it would go (or why it could not). */
export interface DryRunEntry {
  readonly path: string;
  readonly size: number;
  readonly database?: string | undefined;
  readonly table?: string | undefined;
  readonly format?: string | undefined;
  readonly creationTime?: string | undefined;
  readonly error?: string | undefined;
}

const JOBS = 'jobs';
const pages = (jobId: string) => `p|${jobId}`;
const outcomes = (jobId: string) => `o|${jobId}`;
const dryRun = (jobId: string) => `d|${jobId}`;
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * The backfill table (`IngestionBackfill`): one row per job, one per page of its listing (the chain of
 * continuation tokens, each written once, so a retried page task never forks it), one per source of the job
 * that ended (its outcome), and a dry run's listing.
 */
export class BackfillStore {
  constructor(private readonly table: TableClient) {}

  async ensureTable(): Promise<void> {
    await this.table.createTable();
  }

  async createJob(job: JobRecord): Promise<void> {
    await this.table.createEntity({
      partitionKey: JOBS,
      rowKey: job.jobId,
      State: job.state,
      Options: JSON.stringify(job.options),
      CreatedOn: job.createdOn,
      ListingDone: job.listingDone,
    });
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    try {
      return toJob(jobId, await this.table.getEntity(JOBS, jobId));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Every job's id, state and options (a handful: one row each). */
  async listJobs(): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for await (const e of this.table.listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${JOBS}` },
    }))
      out.push(toJob(e.rowKey ?? '', e));
    return out;
  }

  async updateJob(
    jobId: string,
    changes: { state?: JobState; listingDone?: boolean; error?: JobError },
  ): Promise<void> {
    await this.table.updateEntity(
      {
        partitionKey: JOBS,
        rowKey: jobId,
        ...(changes.state !== undefined && { State: changes.state }),
        ...(changes.listingDone !== undefined && { ListingDone: changes.listingDone }),
        ...(changes.error !== undefined && { Error: JSON.stringify(changes.error) }),
      },
      'Merge',
    );
  }

  /** Writes a page's start once: false when it was written already (the chain is never forked). */
  async createPage(jobId: string, index: number, token: string, matchedBefore: number): Promise<boolean> {
    try {
      await this.table.createEntity({
        partitionKey: pages(jobId),
        rowKey: pad(index, 8),
        Token: token,
        MatchedBefore: matchedBefore,
        TaskSent: false,
        Done: false,
      });
      return true;
    } catch (e) {
      if (isAlreadyExists(e)) return false;
      throw e;
    }
  }

  async getPage(jobId: string, index: number): Promise<PageRecord | undefined> {
    try {
      return toPage(await this.table.getEntity(pages(jobId), pad(index, 8)));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async updatePage(
    jobId: string,
    index: number,
    changes: Partial<Pick<PageRecord, 'taskSent' | 'done' | 'matched' | 'skipped' | 'queued' | 'bytes'>>,
  ): Promise<void> {
    const names: Record<string, string> = {
      taskSent: 'TaskSent',
      done: 'Done',
      matched: 'Matched',
      skipped: 'Skipped',
      queued: 'Queued',
      bytes: 'Bytes',
    };
    const entity: Record<string, unknown> = { partitionKey: pages(jobId), rowKey: pad(index, 8) };
    for (const [k, v] of Object.entries(changes)) entity[names[k] as string] = v;
    await this.table.updateEntity(entity as { partitionKey: string; rowKey: string }, 'Merge');
  }

  async listPages(jobId: string): Promise<PageRecord[]> {
    const out: PageRecord[] = [];
    for await (const e of this.table.listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${pages(jobId)}` },
    }))
      out.push(toPage(e));
    return out;
  }

  /** A source of the job ended: its outcome replaces any earlier one (a retried failure that succeeded). */
  async recordOutcome(jobId: string, sourceId: string, outcome: JobOutcome): Promise<void> {
    await this.table.upsertEntity(
      { partitionKey: outcomes(jobId), rowKey: sourceId, Outcome: outcome },
      'Replace',
    );
  }

  /** Records 'skipped' unless the source has an outcome already (a real end is never overwritten by it). */
  async recordSkippedOnce(jobId: string, sourceId: string): Promise<void> {
    try {
      await this.table.createEntity({ partitionKey: outcomes(jobId), rowKey: sourceId, Outcome: 'skipped' });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }

  async countOutcomes(jobId: string): Promise<Record<JobOutcome, number>> {
    const counts: Record<JobOutcome, number> = { succeeded: 0, failed: 0, skipped: 0 };
    for await (const e of this.table.listEntities<{ Outcome?: string }>({
      queryOptions: { filter: odata`PartitionKey eq ${outcomes(jobId)}`, select: ['Outcome'] },
    })) {
      const o = e.Outcome as JobOutcome | undefined;
      if (o && o in counts) counts[o] += 1;
    }
    return counts;
  }

  /** The job's sources that ended with this outcome: their ids, paged. */
  async listOutcomes(
    jobId: string,
    outcome: JobOutcome,
    pageSize: number,
    after: string | undefined,
  ): Promise<{ sourceIds: string[]; continuationToken: string | undefined }> {
    const base = odata`PartitionKey eq ${outcomes(jobId)} and Outcome eq ${outcome}`;
    const filter = after ? `${base} and ${odata`RowKey gt ${after}`}` : base;
    const sourceIds: string[] = [];
    for await (const e of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) {
      sourceIds.push(e.rowKey ?? '');
      if (sourceIds.length >= pageSize) break;
    }
    return {
      sourceIds,
      continuationToken: sourceIds.length >= pageSize ? sourceIds[sourceIds.length - 1] : undefined,
    };
  }

  async addDryRunEntries(jobId: string, page: number, entries: readonly DryRunEntry[]): Promise<void> {
    // One transaction per 100 rows of one partition: a page of 1,000 blobs is 10 requests.
    for (let i = 0; i < entries.length; i += 100) {
      const batch = entries.slice(i, i + 100).map((entry, j) => {
        const row: Record<string, unknown> = {
          partitionKey: dryRun(jobId),
          rowKey: `${pad(page, 8)}-${pad(i + j, 5)}`,
          Path: entry.path,
          Size: entry.size,
        };
        const optional = {
          Database: entry.database,
          Table: entry.table,
          Format: entry.format,
          CreationTime: entry.creationTime,
          Error: entry.error?.slice(0, 2_000),
        };
        for (const [k, v] of Object.entries(optional)) if (v !== undefined) row[k] = v;
        return ['upsert', row, 'Replace'] as const;
      });
      await this.table.submitTransaction(
        batch.map(([kind, row, mode]) => [kind, row as { partitionKey: string; rowKey: string }, mode]),
      );
    }
  }

  async listDryRun(
    jobId: string,
    pageSize: number,
    after: string | undefined,
  ): Promise<{ entries: DryRunEntry[]; continuationToken: string | undefined }> {
    const filter = after
      ? odata`PartitionKey eq ${dryRun(jobId)} and RowKey gt ${after}`
      : odata`PartitionKey eq ${dryRun(jobId)}`;
    const entries: DryRunEntry[] = [];
    let last: string | undefined;
    for await (const e of this.table.listEntities({ queryOptions: { filter } })) {
      const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
      entries.push({
        path: str(e.Path) ?? '',
        size: typeof e.Size === 'number' ? e.Size : 0,
        database: str(e.Database),
        table: str(e.Table),
        format: str(e.Format),
        creationTime: str(e.CreationTime),
        error: str(e.Error),
      });
      last = e.rowKey;
      if (entries.length >= pageSize) break;
    }
    return { entries, continuationToken: entries.length >= pageSize ? last : undefined };
  }
}

function toJob(jobId: string, e: Record<string, unknown>): JobRecord {
  return {
    jobId,
    state: e.State === 'cancelled' || e.State === 'failed' ? e.State : 'running',
    options: JSON.parse(String(e.Options)) as BackfillOptions,
    createdOn: e.CreatedOn instanceof Date ? e.CreatedOn : new Date(String(e.CreatedOn)),
    listingDone: e.ListingDone === true,
    ...(typeof e.Error === 'string' && { error: JSON.parse(e.Error) as JobError }),
  };
}

function toPage(e: Record<string, unknown> & { rowKey?: string }): PageRecord {
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  return {
    index: Number(e.rowKey ?? 0),
    token: typeof e.Token === 'string' ? e.Token : '',
    matchedBefore: n(e.MatchedBefore),
    taskSent: e.TaskSent === true,
    done: e.Done === true,
    matched: n(e.Matched),
    skipped: n(e.Skipped),
    queued: n(e.Queued),
    bytes: n(e.Bytes),
  };
}
