import { isNotFound } from '../errors';
import type { IngestionReceipt } from '../ingest/types';
import type { AppContext } from './context';
import { landingPathOf } from './landing/handleLandingEvent';
import { unquoteETag } from './landing/landingBlob';
import { TRACKED_ENQUEUE } from './tracking/trackedSources';
import type { TrackingRecord } from './tracking/trackingStore';

/**
 * How to queue a source again from what is stored of it: a landing blob (signed anew) or a staged push.
 * A blob reference keeps no SAS, so it cannot be queued again: undefined.
 */
export function enqueueStored(
  ctx: AppContext,
  record: TrackingRecord,
): (() => Promise<IngestionReceipt>) | undefined {
  if (record.kind === 'landing') {
    const blob = ctx.landing.container.getBlobClient(landingPathOf(ctx, record));
    return async () =>
      ctx.ingest.ingestFromBlob(await ctx.landing.kustoUrl(blob), record.props, TRACKED_ENQUEUE);
  }
  if (record.kind === 'http' && record.blobPath !== undefined) {
    const staged = { sourceId: record.sourceId, blobPath: record.blobPath, rawDataSize: record.rawDataSize };
    return () => ctx.ingest.ingestUploaded(staged, record.props, TRACKED_ENQUEUE);
  }
  return undefined;
}

/** Whether the stored data is still the version the source names (a landing blob not overwritten or deleted). */
export async function storedVersionIsThere(ctx: AppContext, record: TrackingRecord): Promise<boolean> {
  if (record.kind !== 'landing') return record.kind === 'http' && record.blobPath !== undefined;
  try {
    const properties = await ctx.landing.container.getBlobClient(landingPathOf(ctx, record)).getProperties();
    return unquoteETag(properties.etag ?? '') === record.eTag;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
