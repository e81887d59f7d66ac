import { classify, type IngestError } from '../../errors';
import { validateProps } from '../../ingest/ingestionProps';
import type { IngestionProps } from '../../ingest/types';
import { statusReporting } from '../tracking/statusReporting';
import { stripQuery } from '../../log';
import type { DataFormat } from '../../message/dataFormat';
import { newUuid } from '../../uuid';
import type { SourcePorts } from '../ports';
import { TrackingConflictError } from '../tracking/trackingRecord';
import { checkBlobUrl } from './blobUrlPolicy';
import { checkDatabaseAllowed } from '../routing/routeBlob';

export interface BlobRef {
  readonly url: string;
  readonly rawSize?: number | undefined;
}

export interface BlobRefsRequest {
  readonly database: string;
  readonly table: string;
  readonly format: DataFormat;
  readonly mapping?: string | undefined;
  readonly blobs: readonly BlobRef[];
}

/** One blob's result: its source id, or why it was not taken. The URL is always without its SAS. */
export type BlobRefResult =
  { readonly url: string; readonly sourceId: string } | { readonly url: string; readonly error: IngestError };

/** Blobs queued at once: one bad blob never sinks the others, and the service is not flooded. */
const CONCURRENCY = 8;

/**
 * Queues existing blobs by URL, each its own tracked source. Every URL is checked before anything is
 * written, so a request of bad URLs writes nothing; a blob that then fails to queue leaves nothing behind.
 */
export async function queueBlobRefs(ctx: SourcePorts, request: BlobRefsRequest): Promise<BlobRefResult[]> {
  const base: IngestionProps = {
    database: request.database,
    table: request.table,
    format: request.format,
    ...(request.mapping !== undefined && { mappingReference: request.mapping }),
    ...statusReporting(ctx.config.statusMode),
  };
  validateProps(base);
  checkDatabaseAllowed(request.database, ctx.config.allowedDatabases);
  const policy = { allowedHosts: ctx.config.allowedBlobHosts, localOrigin: ctx.config.localBlobOrigin };
  // Each blob with the URL as checked (parsed and serialised again), or why it is refused.
  const checked = request.blobs.map((blob): BlobRef | BlobRefResult => {
    try {
      return { ...blob, url: checkBlobUrl(blob.url, policy) };
    } catch (e) {
      return { url: stripQuery(blob.url), error: classify(e) };
    }
  });
  const refused = (c: BlobRef | BlobRefResult): c is BlobRefResult => 'error' in c;
  if (checked.every(refused)) return checked;
  await ctx.ready();
  const results: BlobRefResult[] = [];
  for (let i = 0; i < checked.length; i += CONCURRENCY) {
    const slice = checked.slice(i, i + CONCURRENCY);
    results.push(
      ...(await Promise.all(
        slice.map(async (blob) => (refused(blob) ? blob : queueOne(ctx, blob, { ...base, ...sized(blob) }))),
      )),
    );
  }
  return results;
}

const sized = (blob: BlobRef) => (blob.rawSize !== undefined ? { rawDataSize: blob.rawSize } : {});

async function queueOne(ctx: SourcePorts, blob: BlobRef, base: IngestionProps): Promise<BlobRefResult> {
  const url = stripQuery(blob.url);
  const sourceId = newUuid();
  const props = { ...base, sourceId };
  try {
    const begun = await ctx.tracking.begin({
      sourceId,
      kind: 'blob',
      database: props.database,
      table: props.table,
      props,
      sourceUrl: url,
    });
    if (begun.kind !== 'new') throw new TrackingConflictError(sourceId); // a random UUID: never in practice
    try {
      await ctx.tracking.queue(begun.record, (call) => ctx.ingest.ingestFromBlob(blob.url, props, call));
    } catch (e) {
      // Refused, the caller is told, and nobody will retry this id: unless the message may have gone out
      // and the row could not say so. Then it is taken on, and owed an outcome (the sweep asks the service).
      if ((await ctx.tracking.discard(begun.record)) === 'kept') return { url, sourceId };
      throw e;
    }
    return { url, sourceId };
  } catch (e) {
    return { url, error: classify(e) };
  }
}
