import type { TableClient } from '@azure/data-tables';
import { isNotFound } from '../errors';
import type { FailureStatus, IngestionStatus, IngestionStatusValue } from '../ingest/types';
import { redactOptional } from '../log';

/** The row we write before enqueueing, which the service later updates (docs/protocol.md, 'Status reporting'). */
export interface PendingRowInput {
  readonly sourceId: string;
  /** Without SAS. */
  readonly sourcePath: string;
  readonly database: string;
  readonly table: string;
  readonly now: Date;
}

export function pendingEntity(input: PendingRowInput) {
  return {
    partitionKey: input.sourceId,
    rowKey: input.sourceId,
    Status: 'Pending',
    IngestionSourceId: input.sourceId,
    IngestionSourcePath: input.sourcePath,
    Database: input.database,
    Table: input.table,
    UpdatedOn: input.now,
    Details: '',
  };
}

const STATUSES: readonly IngestionStatusValue[] = [
  'Pending',
  'Succeeded',
  'Failed',
  'PartiallySucceeded',
  'Skipped',
  'Queued',
];
const FAILURE_STATUSES: readonly FailureStatus[] = ['Unknown', 'Permanent', 'Transient', 'Exhausted'];

function text(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Reads the service's row back into our status shape; unknown values are kept as 'Pending'/'Unknown'. */
export function statusFromEntity(sourceId: string, entity: Record<string, unknown>): IngestionStatus {
  const rawStatus = text(entity.Status);
  const status = STATUSES.find((s) => s === rawStatus) ?? 'Pending';
  const rawFailure = text(entity.FailureStatus);
  const failureStatus = FAILURE_STATUSES.find((s) => s === rawFailure);
  const errorCode = text(entity.ErrorCode);
  const details = redactOptional(text(entity.Details));
  const operationId = text(entity.OperationId);
  const updatedOn = text(entity.UpdatedOn);
  // The Table service's own stamp, as @azure/data-tables names it on a read.
  const rowWrittenOn = text(entity.timestamp);
  return {
    sourceId,
    status,
    ...(errorCode !== undefined && { errorCode }),
    ...(failureStatus !== undefined && { failureStatus }),
    ...(details !== undefined && { details }),
    ...(operationId !== undefined && { operationId }),
    ...(updatedOn !== undefined && { updatedOn }),
    ...(rowWrittenOn !== undefined && { rowWrittenOn }),
  };
}

/** Point read of one source's row; undefined when this table has none. */
export async function readStatusRow(
  client: TableClient,
  sourceId: string,
  signal?: AbortSignal,
): Promise<IngestionStatus | undefined> {
  try {
    const entity = await client.getEntity(sourceId, sourceId, signal ? { abortSignal: signal } : {});
    return statusFromEntity(sourceId, entity);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
