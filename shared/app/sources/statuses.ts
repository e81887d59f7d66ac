import type { IngestionStatus } from '../../ingest/types';
import type { AppContext } from '../ports';
import { readStatus } from '../tracking/statusLookup';
import type { TrackingRecord } from '../tracking/trackingRecord';

/** Queued ingestion's way: one status row per source, read side by side. */
export function readStatusRows(
  ctx: Pick<AppContext, 'ingest'>,
  records: readonly TrackingRecord[],
): Promise<IngestionStatus[]> {
  return Promise.all(records.map((record) => readStatus(ctx.ingest, record)));
}
