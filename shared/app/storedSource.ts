import { isNotFound } from '../errors';
import type { IngestionReceipt } from '../ingest/types';
import { jobIngestOptions } from './backfill/backfillJob';
import type { AppContext } from './context';
import { blobOf, landingPlace, type BlobPlace } from './landing/blobPlace';
import { unquoteETag } from './landing/landingBlob';
import { TRACKED_ENQUEUE } from './tracking/trackedSources';
import type { TrackingRecord } from './tracking/trackingStore';

/** Where a blob source's blob is: the landing container, or its backfill job's; undefined if its job is gone. */
async function placeOf(ctx: AppContext, record: TrackingRecord): Promise<BlobPlace | undefined> {
  if (record.kind === 'landing') return landingPlace(ctx);
  if (record.kind !== 'backfill' || record.jobId === undefined) return undefined;
  return (await jobIngestOptions(ctx, record.jobId))?.place;
}

/**
 * How to queue a source again from what is stored of it: a blob the app reads (signed anew) or a staged
 * push. A blob reference keeps no SAS, so it cannot be queued again: undefined.
 */
export function enqueueStored(
  ctx: AppContext,
  record: TrackingRecord,
): (() => Promise<IngestionReceipt>) | undefined {
  if (record.kind === 'landing' || record.kind === 'backfill') {
    return async () => {
      const place = await placeOf(ctx, record);
      const blob = place && blobOf(place, record);
      if (!place || !blob) throw new Error(`The blob of ${record.sourceId} can no longer be located.`);
      return ctx.ingest.ingestFromBlob(await place.kustoUrl(blob), record.props, TRACKED_ENQUEUE);
    };
  }
  if (record.kind === 'http' && record.blobPath !== undefined) {
    const staged = { sourceId: record.sourceId, blobPath: record.blobPath, rawDataSize: record.rawDataSize };
    return () => ctx.ingest.ingestUploaded(staged, record.props, TRACKED_ENQUEUE);
  }
  return undefined;
}

/** Whether the stored data is still the version the source names (a blob not overwritten or deleted). */
export async function storedVersionIsThere(ctx: AppContext, record: TrackingRecord): Promise<boolean> {
  if (record.kind === 'http') return record.blobPath !== undefined;
  const place = await placeOf(ctx, record);
  const blob = place && blobOf(place, record);
  if (!blob) return false;
  try {
    const properties = await blob.getProperties();
    return unquoteETag(properties.etag ?? '') === record.eTag;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
