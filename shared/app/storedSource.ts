import { isIngestValidationError, isNotFound } from '../errors';
import type { IngestionReceipt } from '../ingest/types';
import { jobIngestOptions } from './backfill/backfillJob';
import type { AppContext } from './context';
import { blobOf, landingPlace, type BlobPlace } from './landing/blobPlace';
import { routeLanding } from './landing/handleLandingEvent';
import { unquoteETag } from './landing/landingBlob';
import { checkDatabaseAllowed } from './routing/routeBlob';
import { TRACKED_ENQUEUE } from './tracking/trackedSources';
import type { TrackingRecord } from './tracking/trackingRecord';

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

/** A blob source's blob and its properties, if it is still the version the source names. */
async function storedVersion(ctx: AppContext, record: TrackingRecord) {
  const place = await placeOf(ctx, record);
  const blob = place && blobOf(place, record);
  if (!blob) return undefined;
  try {
    const properties = await blob.getProperties();
    return unquoteETag(properties.etag ?? '') === record.eTag ? { blob, properties } : undefined;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Whether the stored data is still the version the source names (a blob not overwritten or deleted). */
export async function storedVersionIsThere(ctx: AppContext, record: TrackingRecord): Promise<boolean> {
  if (record.kind === 'http') return record.blobPath !== undefined;
  return (await storedVersion(ctx, record)) !== undefined;
}

/** Where a stored source goes today, or why it may not go anywhere: routed again under today's settings. */
export type RouteToday =
  | { readonly kind: 'same' }
  | { readonly kind: 'refused'; readonly code: string; readonly why: string }
  | { readonly kind: 'changed'; readonly why: string }
  /** The blob is no longer the version the source names. */
  | { readonly kind: 'gone' };

/**
 * Routes a stored source again under today's settings (rules, ALLOWED_DATABASES), before anything queues it
 * again: what routing refused, or what the stored properties send elsewhere than routing would now, is not
 * queued from its stored properties (an operator's retry of a source rejected with DatabaseNotAllowed would
 * otherwise write into the database that was refused).
 */
export async function routeToday(ctx: AppContext, record: TrackingRecord): Promise<RouteToday> {
  const refusedBy = (e: { code: string; message: string }): RouteToday => ({
    kind: 'refused',
    code: e.code,
    why: `Routing refuses it under today's settings: ${e.message}`,
  });
  if (record.kind === 'http' || record.kind === 'blob') {
    try {
      checkDatabaseAllowed(record.database, ctx.config.allowedDatabases, 'It names');
      return { kind: 'same' };
    } catch (e) {
      if (!isIngestValidationError(e)) throw e;
      return refusedBy(e);
    }
  }
  const stored = await storedVersion(ctx, record);
  if (!stored) return { kind: 'gone' };
  const routing =
    record.kind === 'backfill' && record.jobId !== undefined
      ? ((await jobIngestOptions(ctx, record.jobId))?.routing ?? ctx.routing)
      : ctx.routing;
  const route = await routeLanding(
    stored.blob,
    stored.blob.name,
    stored.properties,
    record.sourceId,
    routing,
    ctx,
  );
  if (route.error) return refusedBy(route.error);
  const was = record.props;
  const now = route.props;
  const differs = (['database', 'table', 'format', 'mappingReference'] as const).filter(
    (key) => (was[key] ?? '') !== (now[key] ?? ''),
  );
  if (differs.length > 0)
    return {
      kind: 'changed',
      why: `Routing now sends it to ${now.database}.${now.table} (${now.format}) where it was routed to ${was.database}.${was.table} (${was.format}): it is not retried under its old route. Upload or backfill it again to ingest it where routing sends it now.`,
    };
  return { kind: 'same' };
}
