import { isNotFound } from '../../errors';
import type { QueuedIngestClient } from '../../ingest/queuedIngestClient';
import type { IngestionReceipt, IngestionStatus } from '../../ingest/types';
import type { TrackingRecord } from './trackingStore';

/** What a status lookup of a tracked source asks the ingest client for: its status row, or its id alone. */
export function statusLookup(record: TrackingRecord): IngestionReceipt | string {
  if (!record.statusTableUrl) return record.sourceId;
  return {
    sourceId: record.sourceId,
    database: record.database,
    table: record.table,
    flavor: 'queued',
    status: 'Pending',
    statusTable: { tableUrl: record.statusTableUrl, partitionKey: record.sourceId, rowKey: record.sourceId },
  };
}

/** The service's status of a queued source; Pending while its status row is not there yet. */
export async function readStatus(
  ingest: Pick<QueuedIngestClient, 'getIngestionStatus'>,
  record: TrackingRecord,
): Promise<IngestionStatus> {
  try {
    return await ingest.getIngestionStatus(statusLookup(record));
  } catch (e) {
    if (isNotFound(e)) return { sourceId: record.sourceId, status: 'Pending' };
    throw e;
  }
}

/** Whether the service knows the source at all (its status row exists). */
export async function isKnownToService(
  ingest: Pick<QueuedIngestClient, 'getIngestionStatus'>,
  sourceId: string,
): Promise<boolean> {
  try {
    await ingest.getIngestionStatus(sourceId);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
