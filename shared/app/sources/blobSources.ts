import { isNotFound } from '../../errors';
import type { IngestCallOptions } from '../../ingest/queuedTypes';
import type { Logger } from '../../log';
import type { SourcePorts } from '../ports';
import { blobOf, landingPlace, type BlobPlace } from '../landing/blobPlace';
import { unquoteETag } from '../landing/landingBlob';
import type { SourceKind, TrackingRecord } from '../tracking/trackingRecord';
import type { FailureCause, FailureHandling, RetryOutcome, RouteToday, SourceKindPolicy } from './sourceKind';
import { readStatusRows } from './statuses';
import { routeBlobSource, takeOnBlob, type LandingIngestOptions } from './takeOnBlob';

/** What a blob source kind (landing, backfill) says for itself; the rest is shared (`blobSourcePolicy`). */
export interface BlobSourceHooks {
  readonly kind: Extract<SourceKind, 'landing' | 'backfill'>;
  /** How it is taken on (its routing, job and place); undefined when that cannot be known (its job is gone). */
  takeOnOptions(ctx: SourcePorts, record: TrackingRecord): Promise<LandingIngestOptions | undefined>;
  whenFailed(ctx: SourcePorts, record: TrackingRecord, failure: FailureCause): FailureHandling;
  whenIngested(ctx: SourcePorts, record: TrackingRecord): (() => Promise<string>) | undefined;
  /** An operator's retry once the version that failed is no longer where it was read (moved, changed). */
  retryMoved(ctx: SourcePorts, log: Logger, record: TrackingRecord): Promise<RetryOutcome>;
}

/** A blob source's blob and its properties, if it is still the version the source names. */
async function storedVersion(record: TrackingRecord, place: BlobPlace | undefined) {
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

/**
 * A kind whose data is a blob that stays where it is while the source is taken on: queued again by its URL
 * (signed anew), still there while its version is, routed again by the rules that took it on, taken on
 * again by the sweep when its holder stopped.
 */
export function blobSourcePolicy(hooks: BlobSourceHooks): SourceKindPolicy {
  const placeOf = async (ctx: SourcePorts, record: TrackingRecord) => {
    const options = await hooks.takeOnOptions(ctx, record);
    return options && (options.place ?? landingPlace(ctx));
  };

  const routeToday = async (ctx: SourcePorts, record: TrackingRecord): Promise<RouteToday> => {
    const options = await hooks.takeOnOptions(ctx, record);
    const stored = await storedVersion(record, options && (options.place ?? landingPlace(ctx)));
    if (!stored) return { kind: 'gone' };
    const route = await routeBlobSource(
      stored.blob,
      stored.blob.name,
      stored.properties,
      record.sourceId,
      options?.routing ?? ctx.routing,
      ctx,
    );
    if (route.error)
      return {
        kind: 'refused',
        code: route.error.code,
        why: `Routing refuses it under today's settings: ${route.error.message}`,
      };
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
  };

  // Always possible: the blob is read where it is, by a URL signed now.
  const enqueueStored = (ctx: SourcePorts, record: TrackingRecord) => async (call: IngestCallOptions) => {
    const place = await placeOf(ctx, record);
    const blob = place && blobOf(place, record);
    if (!place || !blob) throw new Error(`The blob of ${record.sourceId} can no longer be located.`);
    return ctx.ingest.ingestFromBlob(await place.kustoUrl(blob), record.props, call);
  };

  return {
    kind: hooks.kind,
    enqueueStored,

    stillStored: async (ctx, record) =>
      (await storedVersion(record, await placeOf(ctx, record))) !== undefined,

    routeToday,
    whenFailed: (ctx, record, failure) => hooks.whenFailed(ctx, record, failure),
    whenIngested: (ctx, record) => hooks.whenIngested(ctx, record),

    // The same version, routed again under today's settings first; else (moved, changed) the kind's way.
    async retry(ctx, log, record) {
      const route = await routeToday(ctx, record);
      if (route.kind === 'refused') return route;
      if (route.kind === 'changed') return { kind: 'conflict', code: 'RouteChanged', why: route.why };
      if (route.kind === 'same') {
        await ctx.tracking.retry(record, enqueueStored(ctx, record));
        log.info(JSON.stringify({ event: 'IngestionRetried', sourceId: record.sourceId, kind: record.kind }));
        return { kind: 'retried', sourceId: record.sourceId };
      }
      return hooks.retryMoved(ctx, log, record);
    },

    // Taken on again as a delivery would be: it finds its row, asks the service if the holder may have
    // queued it, and queues it (or rejects it) otherwise.
    async redrive(ctx, log, record) {
      const options = await hooks.takeOnOptions(ctx, record);
      const blob = options && blobOf(options.place ?? landingPlace(ctx), record);
      const outcome = blob
        ? await takeOnBlob(ctx, log, { url: blob.url, eTag: record.eTag }, options)
        : ({ outcome: 'ignored', reason: 'its job is gone' } as const);
      if (outcome.outcome === 'queued') return { outcome: 'queued' };
      if (outcome.outcome === 'rejected') return { outcome: 'rejected' };
      if (outcome.outcome !== 'ignored') return { outcome: 'unchanged' };
      return {
        outcome: 'not stored',
        details: 'The source was never queued, and its data is no longer there (deleted or overwritten).',
      };
    },

    readStatuses: readStatusRows,
  };
}
