import { createHash } from 'node:crypto';
import { classify, IngestValidationError } from '../../errors';
import { validateProps } from '../../ingest/ingestionProps';
import { withRetry } from '../../retry';
import type { UploadedSource } from '../../ingest/queuedIngestClient';
import type { IngestionProps } from '../../ingest/types';
import { statusReporting } from '../tracking/statusReporting';
import type { StatusMode } from '../settings';
import type { DataFormat } from '../../message/dataFormat';
import { newUuid, uuidV5 } from '../../uuid';
import type { PushPorts } from '../ports';
import { policyOf } from '../sources/registry';
import type { TrackingRecord } from '../tracking/trackingRecord';
import { checkDatabaseAllowed } from '../routing/routeBlob';

/** What a push asks for, read from its route, query and headers. */
export interface PushRequest {
  readonly database: string;
  readonly table: string;
  readonly format: DataFormat;
  readonly mapping?: string;
  readonly creationTime?: string;
  readonly tags: readonly string[];
  /** Skip the first record (a header line). */
  readonly ignoreFirstRecord?: boolean;
  readonly idempotencyKey?: string;
  readonly contentEncoding?: 'gzip';
}

/** How a push ended, for the HTTP adapter to answer. */
export type PushOutcome =
  /** Stored and queued (or staged, and queued by the sweep if queueing failed): 202. */
  | { readonly kind: 'accepted'; readonly sourceId: string; readonly replay: boolean }
  /** Ingested by streaming, queryable now: 200. */
  | { readonly kind: 'streamed'; readonly sourceId: string }
  /** A request with this Idempotency-Key is still at work: 409 with Retry-After. */
  | { readonly kind: 'inProgress'; readonly sourceId: string; readonly retryAfterMs: number }
  /** The Idempotency-Key was used for a push with other parameters: 422. */
  | { readonly kind: 'keyReused'; readonly sourceId: string };

/** The source id of a push: deterministic for an Idempotency-Key (docs/contracts.md), random otherwise. */
export function pushSourceId(database: string, table: string, idempotencyKey: string | undefined): string {
  return idempotencyKey === undefined ? newUuid() : uuidV5(`${database}/${table}#${idempotencyKey}`);
}

/** What a keyed push asked for: a reuse of the key must ask for the same, or it is refused. */
export function pushFingerprint(request: PushRequest): string {
  const fields = [
    request.database,
    request.table,
    request.format,
    request.mapping ?? '',
    request.tags.join(','),
    request.creationTime ?? '',
    request.contentEncoding ?? '',
    // Appended only when set, so the fingerprints of keys used before it existed still match.
    ...(request.ignoreFirstRecord ? ['ignoreFirstRecord'] : []),
  ];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 32);
}

/** The ingestion properties of a push, checked before anything is recorded. */
export function pushProps(
  request: PushRequest,
  sourceId: string,
  mode: StatusMode = 'table',
): IngestionProps {
  const props: IngestionProps = {
    database: request.database,
    table: request.table,
    format: request.format,
    ...(request.mapping !== undefined && { mappingReference: request.mapping }),
    ...(request.creationTime !== undefined && { creationTime: request.creationTime }),
    ...(request.tags.length > 0 && { tags: request.tags }),
    ...(request.ignoreFirstRecord && { ignoreFirstRecord: true }),
    sourceId,
    ...statusReporting(mode),
  };
  validateProps(props);
  return props;
}

/** The shortest gzip stream: a 10-byte header, an empty deflate block (2 bytes), an 8-byte trailer. */
const GZIP_MIN_BYTES = 20;

/**
 * A body that says it is gzip must start with gzip's two magic bytes, however it is split into chunks, and
 * be at least as long as the shortest gzip stream (a body cut short after its first byte or two is no gzip).
 */
export async function* expectGzip(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const magic = [0x1f, 0x8b];
  const notGzip = () =>
    new IngestValidationError(
      'Content-Encoding says gzip, but the body is not gzip: send it uncompressed, or gzip it.',
      'InvalidProperty',
    );
  let total = 0;
  for await (const chunk of body) {
    for (let i = 0; i < chunk.length && total + i < magic.length; i++)
      if (chunk[i] !== magic[total + i]) throw notGzip();
    total += chunk.length;
    yield chunk;
  }
  if (total < GZIP_MIN_BYTES) throw notGzip();
}

/**
 * Takes a pushed body on: tracked from the start, stored in Kusto's temp storage, recorded as stored, then
 * queued (or, with the managed-streaming flavor, streamed when small). A request refused anywhere leaves
 * nothing behind; a stored push whose enqueue failed is accepted, and the sweep queues it.
 */
export async function pushData(
  ctx: PushPorts,
  request: PushRequest,
  body: AsyncIterable<Uint8Array> | null,
): Promise<PushOutcome> {
  const sourceId = pushSourceId(request.database, request.table, request.idempotencyKey);
  const props = pushProps(request, sourceId, ctx.config.statusMode);
  checkDatabaseAllowed(request.database, ctx.config.allowedDatabases);
  if (body === null)
    throw new IngestValidationError(
      'The request has no body: send the data to ingest as the body.',
      'EmptyInput',
    );
  await ctx.ready();
  const begun = await ctx.tracking.begin({
    sourceId,
    kind: 'http',
    database: request.database,
    table: request.table,
    props,
    ...(request.idempotencyKey !== undefined && { fingerprint: pushFingerprint(request) }),
  });
  switch (begun.kind) {
    case 'mismatch':
      return { kind: 'keyReused', sourceId };
    case 'busy':
      return { kind: 'inProgress', sourceId, retryAfterMs: begun.retryAfterMs };
    case 'done':
      return { kind: 'accepted', sourceId, replay: true };
    case 'staged':
      return queueStaged(ctx, begun.record); // stored by an earlier attempt: this body is not read
    case 'new':
    case 'resumed':
      return storeAndQueue(ctx, begun.record, request.contentEncoding === 'gzip' ? expectGzip(body) : body);
  }
}

/**
 * Closes a push that was streamed: its data is in the table now, whatever happens to its row. So the row's
 * close is tried a few times, and if it still cannot be written the answer still says what happened (a
 * refusal would make the caller send it again: twice ingested), and an error event names the source, whose
 * row the sweep will later report as abandoned (falsely: StreamedNotRecorded says so).
 */
async function closeStreamed(ctx: PushPorts, record: TrackingRecord): Promise<PushOutcome> {
  try {
    await withRetry(() => ctx.tracking.closeStreamed(record), { maxAttempts: 3, baseDelayInMs: 200 });
  } catch (e) {
    ctx.logger.error(
      JSON.stringify({
        event: 'StreamedNotRecorded',
        sourceId: record.sourceId,
        message: `Ingested by streaming, but its tracking row could not be closed: ${classify(e).message}`,
      }),
    );
  }
  return { kind: 'streamed', sourceId: record.sourceId };
}

/** Stores the body (streaming it instead when the flavor says so and it is small), then queues it. */
async function storeAndQueue(
  ctx: PushPorts,
  record: TrackingRecord,
  body: AsyncIterable<Uint8Array>,
): Promise<PushOutcome> {
  const upload = (source: AsyncIterable<Uint8Array>) =>
    ctx.ingest.uploadToTempStorage(source, record.props, {
      // Staged for the protocol the source will be queued by (trackedSources.queue asks the same).
      reportingOnV1Only: true,
    });
  let uploaded: UploadedSource;
  let staged: TrackingRecord;
  try {
    if (ctx.managed) {
      const outcome = await ctx.managed.tryStream(body, record.props, upload);
      if (outcome.streamed) return await closeStreamed(ctx, record);
      uploaded = outcome.result;
    } else {
      uploaded = await upload(body);
    }
    staged = await ctx.tracking.stage(record, uploaded);
  } catch (e) {
    // Nothing of it was queued: a retry (with its key) starts afresh. Unless its row may say it is stored
    // (the stage write's answer was lost, and it could not be undone): then it is taken on, and the sweep
    // queues what was stored, or reports it.
    if ((await ctx.tracking.discard(record)) === 'discarded') throw e;
    ctx.logger.warn(
      JSON.stringify({
        event: 'PushStoreUncertain',
        sourceId: record.sourceId,
        message: classify(e).message,
      }),
    );
    return { kind: 'accepted', sourceId: record.sourceId, replay: false };
  }
  return queueStaged(ctx, staged);
}

/**
 * Queues a stored push. A transient failure still accepts it: the data is stored and recorded, and the
 * sweep queues it; a permanent one refuses it and forgets it.
 */
async function queueStaged(ctx: PushPorts, staged: TrackingRecord): Promise<PushOutcome> {
  const enqueue = policyOf(staged).enqueueStored(ctx, staged);
  if (!enqueue) throw new Error(`push ${staged.sourceId} is recorded as stored, but with no blob`);
  try {
    await ctx.tracking.queue(staged, enqueue);
  } catch (e) {
    // A permanent refusal forgets it, unless the message may have gone out (then it is taken on, its lease
    // kept); a passing one leaves it to the sweep (release keeps the lease in that case too).
    if (classify(e).transient) await ctx.tracking.release(staged);
    else if ((await ctx.tracking.discard(staged)) === 'discarded') throw e;
    ctx.logger.warn(
      JSON.stringify({ event: 'PushQueueDeferred', sourceId: staged.sourceId, message: classify(e).message }),
    );
  }
  return { kind: 'accepted', sourceId: staged.sourceId, replay: false };
}
