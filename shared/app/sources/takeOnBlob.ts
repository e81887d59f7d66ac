import type { BlobClient, BlobGetPropertiesResponse } from '@azure/storage-blob';
import { classify, isIngestValidationError, isNotFound, type IngestError } from '../../errors';
import type { IngestionProps } from '../../ingest/types';
import type { Logger } from '../../log';
import { isBinaryFormat } from '../../message/dataFormat';
import type { SourcePorts } from '../ports';
import type { BlobCreated } from '../landing/blobCreated';
import { landingPlace, type BlobPlace } from '../landing/blobPlace';
import type { LandingOutcome } from '../landing/handleLandingEvent';
import {
  blobClientIn,
  canonicalBlobUrl,
  landingSourceId,
  pathInContainer,
  unquoteETag,
  unsafeBlobUrl,
} from '../landing/landingBlob';
import { compressedRawSize } from '../landing/rawSize';
import { RouteError, routeBlob, type LandingRouting, type RouteTarget } from '../routing/routeBlob';
import { statusReporting } from '../tracking/statusReporting';
import { type Failure } from '../tracking/trackedSources';
import type { TrackingRecord } from '../tracking/trackingRecord';
import { policyOf } from './registry';

// Taking a blob source on (a landing blob, a backfilled one): the path the landing event handler, a backfill
// job's item task, the sweep's redrive and an operator's retry of a quarantined blob all take.

/** How a backfill job takes a blob on: its own routing, its id on the source, and where its blobs are. */
export interface LandingIngestOptions {
  /** @default the app's (ROUTES_FILE, ALLOWED_DATABASES) */
  readonly routing?: LandingRouting;
  readonly jobId?: string;
  /** @default the landing container */
  readonly place?: BlobPlace;
}

/**
 * Takes one landing blob version on: routes it, tracks it, queues it by URL with a read SAS, or reports
 * and quarantines it. The sweep calls this too, for a version whose delivery stopped half-way. A backfill
 * of another container takes its blobs on the same way, but reports what cannot be ingested and leaves it
 * where it is.
 */
export async function takeOnBlob(
  ctx: SourcePorts,
  log: Logger,
  event: BlobCreated,
  options: LandingIngestOptions = {},
): Promise<LandingOutcome> {
  const place = options.place ?? landingPlace(ctx);
  const unsafe = unsafeBlobUrl(event.url);
  if (unsafe) return { outcome: 'ignored', reason: `the blob URL holds ${unsafe}` };
  const path = pathInContainer(place.container.url, event.url);
  const blob = path === undefined ? undefined : blobClientIn(place.container, path);
  if (path === undefined || blob === undefined)
    return { outcome: 'ignored', reason: `not in the '${place.container.containerName}' container` };
  const filtered = ctx.landingFilter.skipReason(path);
  if (filtered) return skipped(ctx, log, path, filtered);
  await ctx.ready();

  const properties = await propertiesOf(blob);
  // Gone: deleted by its owner, or quarantined by an earlier delivery.
  if (!properties) return { outcome: 'ignored', reason: `blob ${path} is gone` };
  if (properties.contentLength === 0) return skipped(ctx, log, path, 'is empty (zero length)');
  const eTag = unquoteETag(properties.etag ?? '');
  if (event.eTag && unquoteETag(event.eTag) !== eTag) {
    // The blob was overwritten since: its newer version raised its own event.
    return { outcome: 'ignored', reason: `blob ${path} has changed since this event (superseded)` };
  }
  const sourceUrl = canonicalBlobUrl(blob.url);
  const sourceId = landingSourceId(sourceUrl, eTag);
  const route = await routeBlobSource(blob, path, properties, sourceId, options.routing ?? ctx.routing, ctx);

  const begun = await ctx.tracking.begin({
    sourceId,
    kind: place.kind,
    database: route.props.database,
    table: route.props.table,
    props: route.props,
    sourceUrl,
    eTag,
    ...(options.jobId !== undefined && { jobId: options.jobId }),
  });
  if (begun.kind !== 'new' && begun.kind !== 'resumed') {
    // Queued or closed already, or another delivery is at work on it (the sweep finishes what it leaves).
    log.info(
      JSON.stringify({ event: 'LandingDuplicate', sourceId, source: sourceUrl, state: begun.record.state }),
    );
    return { outcome: 'duplicate', sourceId };
  }
  const record = begun.record;
  try {
    if (route.error) return await reject(ctx, log, record, route.error);
    try {
      await ctx.tracking.queue(record, async (call) =>
        ctx.ingest.ingestFromBlob(await place.kustoUrl(blob), route.props, call),
      );
    } catch (e) {
      if (!isIngestValidationError(e)) throw e;
      return await reject(ctx, log, record, e);
    }
  } catch (e) {
    await ctx.tracking.release(record); // the retried delivery (or the sweep) takes over at once
    throw e;
  }
  log.info(
    JSON.stringify({
      event: 'LandingQueued',
      sourceId,
      source: sourceUrl,
      database: route.props.database,
      table: route.props.table,
    }),
  );
  return { outcome: 'queued', sourceId };
}

async function propertiesOf(blob: BlobClient): Promise<BlobGetPropertiesResponse | undefined> {
  try {
    return await blob.getProperties();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

function skipped(ctx: SourcePorts, log: Logger, path: string, reason: string): LandingOutcome {
  const count = ctx.counters.add('landingSkipped');
  log.debug(JSON.stringify({ event: 'LandingSkipped', path, reason, skippedByThisInstance: count }));
  return { outcome: 'skipped', reason: `${path} ${reason}` };
}

/**
 * The data's uncompressed size, so the service batches by what it holds: the uploader's word
 * (`rawSizeBytes`), else the blob's length when it is not compressed (binary formats count as they are),
 * else what the compressed file's own records say.
 */
async function rawSizeOf(
  blob: BlobClient,
  path: string,
  target: RouteTarget,
  size: number | undefined,
): Promise<number | undefined> {
  if (target.rawSize !== undefined) return target.rawSize;
  if (size === undefined) return undefined;
  if (!/\.(gz|zip)$/i.test(path) || isBinaryFormat(target.format)) return size;
  return compressedRawSize((offset, count) => blob.downloadToBuffer(offset, count), path, size);
}

/** The ingestion properties of a landing blob, or why it cannot be routed (and as much of them as is known). */
export async function routeBlobSource(
  blob: BlobClient,
  path: string,
  properties: BlobGetPropertiesResponse,
  sourceId: string,
  routing: LandingRouting,
  ctx: SourcePorts,
): Promise<{ props: IngestionProps; error?: IngestError }> {
  const reporting = { sourceId, ...statusReporting(ctx.config.statusMode) };
  let target: RouteTarget;
  try {
    target = routeBlob({ path, metadata: properties.metadata ?? {} }, routing.rules, routing);
  } catch (e) {
    if (!(e instanceof RouteError)) throw e;
    return {
      props: { database: e.database ?? '', table: e.table ?? '', format: 'csv', ...reporting },
      error: e,
    };
  }
  const rawDataSize = await rawSizeOf(blob, path, target, properties.contentLength);
  return {
    props: {
      database: target.database,
      table: target.table,
      format: target.format,
      ...(target.mappingReference !== undefined && { mappingReference: target.mappingReference }),
      ...(target.creationTime !== undefined && { creationTime: target.creationTime }),
      ...(target.tags.length > 0 && { tags: target.tags }),
      ...(target.ignoreFirstRecord && { ignoreFirstRecord: true }),
      ...(rawDataSize !== undefined && { rawDataSize }),
      ...reporting,
    },
  };
}

/**
 * Reports the blob (first), does what its kind does with a rejected blob (a landing blob is quarantined),
 * closes its source: a redelivery then finds it done.
 */
async function reject(
  ctx: SourcePorts,
  log: Logger,
  record: TrackingRecord,
  e: unknown,
): Promise<LandingOutcome> {
  const error = classify(e);
  const handling = policyOf(record).whenFailed(ctx, record, {
    code: error.code,
    message: error.message,
    rejected: true,
    permanent: true,
  });
  await ctx.tracking.fail(record, rejectionReport(error, handling.action), handling.act);
  ctx.tracking.telemetry.rejected(record, error.code);
  if (handling.quarantines) {
    ctx.tracking.telemetry.quarantined(record);
    log.warn(JSON.stringify({ event: 'LandingQuarantined', sourceId: record.sourceId }));
  }
  return { outcome: 'rejected', sourceId: record.sourceId, reason: error.message };
}

/** The report of a blob source the app refused (routing, validation): its kind says what became of the blob. */
export function rejectionReport(error: { code: string; message: string }, action: string): Failure {
  return {
    event: 'LandingRejected',
    finalStatus: 'Rejected',
    errorCode: error.code,
    failureStatus: 'Permanent',
    details: error.message,
    action,
    key: 'rejected',
  };
}
