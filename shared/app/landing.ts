import type { BlobClient } from '@azure/storage-blob';
import { z } from 'zod';
import { IngestValidationError, isIngestValidationError } from '../errors';
import { ReportLevel, ReportMethod, type IngestionProps } from '../ingest/types';
import type { Logger } from '../log';
import { isBinaryFormat } from '../message/dataFormat';
import { routeBlob } from '../routing/routeBlob';
import { TrackingConflictError, type TrackingRecord } from '../status/tracking';
import { uuidV5 } from '../uuid';
import type { AppContext } from './appContext';
import { quarantine } from './quarantine';

const eventGridEvent = z.object({
  eventType: z.string(),
  subject: z.string().optional(),
  id: z.string().optional(),
  data: z
    .object({ url: z.string(), eTag: z.string().optional(), contentLength: z.number().optional() })
    .loose(),
});
const cloudEvent = z.object({
  type: z.string(),
  source: z.string().optional(),
  id: z.string().optional(),
  data: z
    .object({ url: z.string(), eTag: z.string().optional(), contentLength: z.number().optional() })
    .loose(),
});

export interface BlobCreated {
  readonly url: string;
  readonly eTag: string | undefined;
}

/** The event a landing message carries; `undefined` for an event of another type (to be ignored). */
export function parseBlobCreated(message: unknown): BlobCreated | undefined {
  let value = message;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      value = JSON.parse(value.toString());
    } catch {
      throw new IngestValidationError(
        'The landing message is not JSON: expected an Event Grid BlobCreated event.',
        'InvalidProperty',
      );
    }
  }
  if (Array.isArray(value) && value.length === 1) value = value[0];
  const grid = eventGridEvent.safeParse(value);
  const cloud = grid.success ? undefined : cloudEvent.safeParse(value);
  const type = grid.success ? grid.data.eventType : cloud?.success ? cloud.data.type : undefined;
  const data = grid.success ? grid.data.data : cloud?.success ? cloud.data.data : undefined;
  if (!type || !data) {
    throw new IngestValidationError(
      'The landing message is not an Event Grid event with data.url: expected a Microsoft.Storage.BlobCreated event (Event Grid or CloudEvents schema).',
      'InvalidProperty',
    );
  }
  if (type !== 'Microsoft.Storage.BlobCreated') return undefined;
  return { url: data.url, eTag: data.eTag };
}

/**
 * The URL that names a blob version's source id: no query, lower-case scheme and host, the path
 * percent-decoded, so Event Grid's `data.url` and the storage SDK's URL agree (contracts.md §3).
 */
export function canonicalBlobUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol.toLowerCase()}//${u.host.toLowerCase()}${decodeURIComponent(u.pathname)}`;
}

export const unquoteETag = (eTag: string): string => eTag.replace(/^W\//, '').replace(/^"|"$/g, '');

export function landingSourceId(canonicalUrl: string, eTag: string): string {
  return uuidV5(`${canonicalUrl}#${unquoteETag(eTag)}`);
}

export type LandingOutcome =
  | { readonly outcome: 'queued'; readonly sourceId: string }
  | { readonly outcome: 'duplicate'; readonly sourceId: string }
  | { readonly outcome: 'rejected'; readonly sourceId: string; readonly reason: string }
  | { readonly outcome: 'ignored'; readonly reason: string };

/** The blob's path inside the landing container, or undefined if the URL is elsewhere. */
function pathInContainer(ctx: AppContext, url: string): string | undefined {
  const container = canonicalBlobUrl(ctx.landing.container.url);
  const canonical = canonicalBlobUrl(url);
  return canonical.startsWith(`${container}/`) ? canonical.slice(container.length + 1) : undefined;
}

/**
 * Handles one BlobCreated event from the landing queue. Throws only when a retry can help (storage or
 * service trouble); anything that cannot be ingested is reported and quarantined, never retried forever.
 */
export async function handleLandingEvent(
  message: unknown,
  ctx: AppContext,
  log: Logger,
): Promise<LandingOutcome> {
  const event = parseBlobCreated(message);
  if (!event) return { outcome: 'ignored', reason: 'not a BlobCreated event' };
  const path = pathInContainer(ctx, event.url);
  if (path === undefined)
    return { outcome: 'ignored', reason: `not in the '${ctx.config.landingContainer}' container` };
  await ctx.ready();

  const blob = ctx.landing.container.getBlobClient(path);
  let properties: Awaited<ReturnType<BlobClient['getProperties']>>;
  try {
    properties = await blob.getProperties();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404)
      return { outcome: 'ignored', reason: `blob ${path} is gone` };
    throw e;
  }
  const currentETag = unquoteETag(properties.etag ?? '');
  if (event.eTag && unquoteETag(event.eTag) !== currentETag) {
    // The blob was overwritten since: its newer version raised its own event.
    return { outcome: 'ignored', reason: `blob ${path} has changed since this event (superseded)` };
  }
  const sourceUrl = canonicalBlobUrl(blob.url);
  const sourceId = landingSourceId(sourceUrl, currentETag);

  let props: IngestionProps;
  try {
    const target = routeBlob({ path, metadata: properties.metadata ?? {} }, ctx.routes);
    const compressed = /\.(gz|zip)$/i.test(path);
    const size = properties.contentLength;
    props = {
      database: target.database,
      table: target.table,
      format: target.format,
      ...(target.mappingReference !== undefined && { mappingReference: target.mappingReference }),
      ...(target.creationTime !== undefined && { creationTime: target.creationTime }),
      ...(target.tags.length > 0 && { tags: target.tags }),
      // The blob's size is its raw size unless it is compressed (then unknown); binary formats count as they are.
      ...(size !== undefined && (!compressed || isBinaryFormat(target.format)) && { rawDataSize: size }),
      sourceId,
      reportLevel: ReportLevel.FailuresAndSuccesses,
      reportMethod: ReportMethod.Table,
    };
  } catch (e) {
    if (!isIngestValidationError(e)) throw e;
    await reject(ctx, log, { sourceId, sourceUrl, path, eTag: currentETag, error: e });
    return { outcome: 'rejected', sourceId, reason: e.message };
  }

  const begun = await ctx.tracking.begin({
    sourceId,
    kind: 'landing',
    state: 'queuing',
    database: props.database,
    table: props.table,
    props,
    sourceUrl,
    eTag: currentETag,
  });
  let record: TrackingRecord;
  if (begun.created) record = begun.record;
  else if (begun.existing.state === 'queuing' && !ctx.tracking.isLeased(begun.existing)) {
    // An earlier delivery stopped before queueing (a crash, or a failure it released): take the row over.
    try {
      record = await ctx.tracking.claim(begun.existing);
    } catch (e) {
      if (e instanceof TrackingConflictError) return { outcome: 'duplicate', sourceId };
      throw e;
    }
  } else {
    // Queued or closed already, or another delivery is at work on it right now.
    log.info(
      JSON.stringify({ event: 'LandingDuplicate', sourceId, source: sourceUrl, state: begun.existing.state }),
    );
    return { outcome: 'duplicate', sourceId };
  }

  let receipt;
  try {
    const sasUrl = await ctx.landing.sas.readUrl(blob);
    // The last conditional write before queueing: if another delivery took the row over, stop here.
    record = await ctx.tracking.claim(record);
    receipt = await ctx.ingest.ingestFromBlob(sasUrl, props);
  } catch (e) {
    if (e instanceof TrackingConflictError) return { outcome: 'duplicate', sourceId };
    if (!isIngestValidationError(e)) {
      await ctx.tracking.release(record).catch(() => undefined); // the retried delivery takes over at once
      throw e;
    }
    await reject(ctx, log, { sourceId, sourceUrl, path, eTag: currentETag, error: e, record });
    return { outcome: 'rejected', sourceId, reason: e.message };
  }
  await ctx.tracking.update(record, {
    state: 'queued',
    statusTableUrl: receipt.statusTable?.tableUrl,
    leaseUntil: undefined,
  });
  log.info(
    JSON.stringify({
      event: 'LandingQueued',
      sourceId,
      source: sourceUrl,
      database: props.database,
      table: props.table,
    }),
  );
  return { outcome: 'queued', sourceId };
}

async function reject(
  ctx: AppContext,
  log: Logger,
  item: {
    sourceId: string;
    sourceUrl: string;
    path: string;
    eTag: string;
    error: IngestValidationError;
    record?: TrackingRecord;
  },
): Promise<void> {
  const at = new Date(ctx.clock());
  await quarantine(ctx, {
    path: item.path,
    eTag: item.eTag,
    reason: item.error.message,
    errorCode: item.error.code,
    sourceId: item.sourceId,
  });
  await ctx.reporter.report({
    event: 'LandingRejected',
    sourceId: item.sourceId,
    database: item.record?.database ?? '',
    table: item.record?.table ?? '',
    source: item.sourceUrl,
    errorCode: item.error.code,
    failureStatus: 'Permanent',
    details: item.error.message,
    action: `quarantined to ${ctx.config.landingFailedContainer}`,
    key: 'rejected',
    at,
  });
  if (item.record)
    await ctx.tracking.close(item.record, {
      finalStatus: 'Rejected',
      errorCode: item.error.code,
      details: item.error.message,
    });
  log.warn(JSON.stringify({ event: 'LandingQuarantined', sourceId: item.sourceId, path: item.path }));
}
