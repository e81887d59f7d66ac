import type { Logger } from '../../log';
import type { AppContext } from '../context';
import { ingestLandingBlob, landingPathOf } from '../landing/handleLandingEvent';
import { landingSourceId } from '../landing/landingBlob';
import { restoreQuarantined } from '../landing/quarantine';
import { enqueueStored, routeToday } from '../storedSource';
import type { TrackingRecord } from '../tracking/trackingRecord';

/** Final states an operator may retry: the service failed it, or the app rejected it after taking it on. */
export const RETRYABLE_STATUSES: ReadonlySet<string> = new Set(['Failed', 'PartiallySucceeded', 'Rejected']);

/** What an operator's retry did, for the HTTP adapter to answer. */
export type RetryOutcome =
  /** Queued again: under the same source id, or (a quarantined landing blob) as a new blob version. */
  | { readonly kind: 'retried'; readonly sourceId: string; readonly replaces?: string }
  | { readonly kind: 'notFound' }
  /** Not in a final failed state (open, succeeded, abandoned, or retried already). */
  | {
      readonly kind: 'notFailed';
      readonly state: string;
      readonly finalStatus: string | undefined;
      readonly why: string;
    }
  /** Its data is gone: `StagedBlobGone` (a push's temp blob), `SourceGone` (a landing blob). */
  | { readonly kind: 'gone'; readonly code: 'StagedBlobGone' | 'SourceGone'; readonly why: string }
  /** It cannot be queued again from what the app keeps (a blob reference keeps no SAS). */
  | { readonly kind: 'notRetryable'; readonly code: string; readonly why: string }
  /** Moving it back would overwrite a blob uploaded at its path since; or routing now sends it elsewhere. */
  | { readonly kind: 'conflict'; readonly code: 'LandingBlobExists' | 'RouteChanged'; readonly why: string }
  /** Today's settings refuse where it goes (ALLOWED_DATABASES, the rules): nothing was queued. */
  | { readonly kind: 'refused'; readonly code: string; readonly why: string };

/**
 * Retries one source that ended in failure once its cause is fixed (docs/contracts.md, 'Operator API'): a
 * push is queued again from its temp blob under the same source id, as its next attempt; a landing blob
 * still in landing likewise; a quarantined landing blob is moved back into landing, which makes a new blob
 * version and so a new source, linked from the old one (`retriedAs`); a backfilled blob of another container
 * (never moved) is queued again from its URL, if it is still the same version. Tracked and reported like
 * any other.
 */
export async function retrySource(ctx: AppContext, log: Logger, sourceId: string): Promise<RetryOutcome> {
  await ctx.ready();
  const record = await ctx.tracking.get(sourceId);
  if (!record) return { kind: 'notFound' };
  const refused = notRetryable(record);
  if (refused) return refused;

  if (record.kind === 'blob')
    return {
      kind: 'notRetryable',
      code: 'NotRetryable',
      why: 'A blob reference keeps no SAS, so the app cannot read it again: send it to /blobs again.',
    };
  if (record.kind === 'http') {
    const route = await routeToday(ctx, record);
    if (route.kind === 'refused') return route;
    const enqueue = enqueueStored(ctx, record);
    const staged = record.blobPath && {
      sourceId: record.sourceId,
      blobPath: record.blobPath,
      rawDataSize: record.rawDataSize,
    };
    if (!enqueue || !staged || !(await ctx.ingest.uploadedExists(staged)))
      return {
        kind: 'gone',
        code: 'StagedBlobGone',
        why: 'The pushed data is no longer in Kusto’s temp storage (it is cleaned up): push it again.',
      };
    await ctx.tracking.retry(record, enqueue);
    log.info(JSON.stringify({ event: 'IngestionRetried', sourceId, kind: record.kind }));
    return { kind: 'retried', sourceId };
  }
  return retryLanding(ctx, log, record);
}

function notRetryable(record: TrackingRecord): RetryOutcome | undefined {
  const finalStatus = record.finalStatus;
  if (record.state !== 'closed' || finalStatus === undefined)
    return {
      kind: 'notFailed',
      state: record.state,
      finalStatus,
      why: 'It is still open: the sweep settles it.',
    };
  if (record.retriedAs)
    return {
      kind: 'notFailed',
      state: record.state,
      finalStatus,
      why: `It was retried already, as ${record.retriedAs}.`,
    };
  if (!RETRYABLE_STATUSES.has(finalStatus))
    return {
      kind: 'notFailed',
      state: record.state,
      finalStatus,
      why:
        finalStatus === 'Abandoned'
          ? 'Nothing of it was stored: send the data again.'
          : `It ended ${finalStatus}: only failed sources are retried.`,
    };
  return undefined;
}

async function retryLanding(ctx: AppContext, log: Logger, record: TrackingRecord): Promise<RetryOutcome> {
  const enqueue = enqueueStored(ctx, record);
  // Not quarantined (it failed after the service's own retries, and stays in landing), or a backfilled blob
  // elsewhere (never moved): the same version, routed again under today's settings first.
  const route = enqueue ? await routeToday(ctx, record) : ({ kind: 'gone' } as const);
  if (route.kind === 'refused') return route;
  if (route.kind === 'changed') return { kind: 'conflict', code: 'RouteChanged', why: route.why };
  if (enqueue && route.kind === 'same') {
    await ctx.tracking.retry(record, enqueue);
    log.info(JSON.stringify({ event: 'IngestionRetried', sourceId: record.sourceId, kind: record.kind }));
    return { kind: 'retried', sourceId: record.sourceId };
  }
  if (record.kind === 'backfill')
    return {
      kind: 'gone',
      code: 'SourceGone',
      why: `The blob ${record.sourceUrl ?? ''} was changed or deleted since: backfill it again (its new version is a new source).`,
    };
  const path = landingPathOf(ctx, record);
  const back = path ? await restoreQuarantined(ctx, path, record.sourceId) : ({ restored: 'gone' } as const);
  if (back.restored === 'exists')
    return {
      kind: 'conflict',
      code: 'LandingBlobExists',
      why: `A blob was uploaded at ${path} since: it is ingested on its own; delete it first to retry the old one.`,
    };
  if (back.restored === 'gone')
    return {
      kind: 'gone',
      code: 'SourceGone',
      why: `The blob is neither in ${ctx.config.landingContainer} nor in ${ctx.config.landingFailedContainer} any more: upload it again.`,
    };
  const url = ctx.landing.container.getBlobClient(path).url;
  const newSourceId = landingSourceId(record.sourceUrl ?? url, back.eTag);
  await ctx.tracking.retriedAs(record, newSourceId);
  // Taken on now, not when its event arrives (which then finds it a duplicate): the answer names it.
  await ingestLandingBlob(ctx, log, { url, eTag: back.eTag });
  log.info(
    JSON.stringify({
      event: 'IngestionRetried',
      sourceId: newSourceId,
      replaces: record.sourceId,
      kind: record.kind,
    }),
  );
  return { kind: 'retried', sourceId: newSourceId, replaces: record.sourceId };
}
