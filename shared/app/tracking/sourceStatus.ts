import type { AppContext } from '../ports';
import { readStatus } from './statusLookup';
import type { AttemptEntry, SourceKind } from './trackingRecord';

/** What the status API says of one source: our record, and the service's word while it is queued. */
export interface SourceStatus {
  readonly sourceId: string;
  readonly database: string;
  readonly table: string;
  readonly kind: SourceKind;
  readonly state: string;
  readonly requeueCount: number;
  /** Each attempt's outcome, oldest first: re-queues, failures, an operator's retries, the success. */
  readonly history: readonly AttemptEntry[];
  /** An operator's retry of this (quarantined) blob made it this new source. */
  readonly retriedAs?: string;
  readonly status: string;
  readonly errorCode?: string;
  readonly failureStatus?: string;
  readonly details?: string;
  readonly updatedOn?: string;
}

/** The status of a tracked source; undefined when it is unknown (or expired). */
export async function sourceStatus(ctx: AppContext, sourceId: string): Promise<SourceStatus | undefined> {
  await ctx.ready();
  const record = await ctx.tracking.get(sourceId);
  if (!record) return undefined;
  const base = {
    sourceId,
    database: record.database,
    table: record.table,
    kind: record.kind,
    state: record.state,
    requeueCount: record.requeueCount,
    history: record.history ?? [],
    ...(record.retriedAs && { retriedAs: record.retriedAs }),
  };
  if (record.state !== 'queued') {
    return {
      ...base,
      status: record.finalStatus ?? (record.state === 'closed' ? 'Unknown' : 'Queuing'),
      ...(record.errorCode && { errorCode: record.errorCode }),
      ...(record.failureStatus && { failureStatus: record.failureStatus }),
      ...(record.details && { details: record.details }),
      updatedOn: record.updatedOn.toISOString(),
    };
  }
  const status = await readStatus(ctx.ingest, record);
  return { ...base, ...status, sourceId };
}
