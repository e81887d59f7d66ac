import { z } from 'zod';
import {
  classify,
  IngestValidationError,
  isIngestAuthError,
  isIngestThrottledError,
  isIngestValidationError,
  type IngestError,
} from '../errors';
import { validateProps } from '../ingest/ingestionProps';
import { ReportLevel, ReportMethod, type IngestionProps } from '../ingest/types';
import { stripQuery, type Logger } from '../log';
import { isDataFormat, type DataFormat } from '../message/dataFormat';
import { TrackingConflictError, type TrackingRecord } from '../status/tracking';
import { uuidV5, newUuid, isUuid } from '../uuid';
import type { AppContext } from './appContext';

/**
 * The request shape the HTTP logic needs (contracts.md §3): `@azure/functions`' HttpRequest (with HTTP
 * streaming on) satisfies it, and so does the local host's request, so the body streams in both.
 */
export interface HttpRequestLike {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  readonly query: { get(name: string): string | null };
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly body: ReadableStream<Uint8Array> | null;
}

export interface HttpResult {
  readonly status: number;
  readonly jsonBody?: unknown;
  readonly headers?: Record<string, string>;
}

const error = (
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): HttpResult => ({
  status,
  jsonBody: { error: { code, message } },
  ...(headers && { headers }),
});

/** Maps an error to the HTTP API's answer: what was wrong and what to do, never a secret. */
export function errorResult(e: unknown, log: Logger): HttpResult {
  const err: IngestError = classify(e);
  if (isIngestValidationError(err)) return error(err.code === 'TooLarge' ? 413 : 400, err.code, err.message);
  if (isIngestThrottledError(err)) {
    const retryAfter = String(Math.ceil((err.retryAfterInMs ?? 10_000) / 1000));
    return error(503, err.code, `Kusto is throttling ingestion: retry after ${retryAfter} s.`, {
      'retry-after': retryAfter,
    });
  }
  if (isIngestAuthError(err)) {
    log.error(JSON.stringify({ event: 'HttpIngestError', code: err.code, message: err.message }));
    return error(
      502,
      err.code,
      "The app's identity was refused by Kusto or storage: check its role assignments.",
    );
  }
  if (err.transient)
    return error(503, err.code, `A dependency is unavailable: retry later (${err.message}).`, {
      'retry-after': '10',
    });
  log.error(JSON.stringify({ event: 'HttpIngestError', code: err.code, message: err.message }));
  return error(
    err.code === 'Unknown' ? 500 : 502,
    err.code === 'Unknown' ? 'InternalError' : err.code,
    err.message,
  );
}

// Content-Type → format, when ?format= is not given.
const CONTENT_TYPES: Readonly<Record<string, DataFormat>> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'text/tab-separated-values': 'tsv',
  'application/x-ndjson': 'json',
  'application/jsonl': 'json',
  'application/json-seq': 'json',
  'application/json': 'multijson',
  'text/plain': 'txt',
  'application/vnd.apache.parquet': 'parquet',
  'application/x-parquet': 'parquet',
  'application/avro': 'avro',
  'application/vnd.apache.avro': 'avro',
};

/** Format from `?format=`, else the Content-Type, else csv. */
function requestFormat(req: HttpRequestLike): DataFormat | HttpResult {
  const query = req.query.get('format');
  if (query !== null) {
    const lower = query.trim().toLowerCase();
    if (!isDataFormat(lower)) {
      return error(
        400,
        'InvalidFormat',
        `Unknown format '${query}': use one of csv, tsv, json, multijson, parquet, avro...`,
      );
    }
    return lower;
  }
  const type = req.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (!type || type === 'application/octet-stream') return 'csv';
  const format = CONTENT_TYPES[type];
  if (!format) {
    return error(
      415,
      'UnsupportedMediaType',
      `Content-Type '${type}' is not a data format: send text/csv, application/x-ndjson, application/json, application/vnd.apache.parquet..., or give ?format=.`,
    );
  }
  return format;
}

function tagsOf(value: string | null): string[] | HttpResult {
  if (value === null || value.trim() === '') return [];
  if (value.trim().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((t) => typeof t === 'string')) return parsed;
    } catch {
      // reported below
    }
    return error(
      400,
      'InvalidProperty',
      `?tags=${value} is not a JSON array of strings: use ?tags=a,b or ?tags=["a","b"].`,
    );
  }
  return value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** The source id of a push: deterministic for an Idempotency-Key (contracts.md §3), random otherwise. */
export function pushSourceId(database: string, table: string, idempotencyKey: string | undefined): string {
  return idempotencyKey === undefined ? newUuid() : uuidV5(`${database}/${table}#${idempotencyKey}`);
}

/** Reads the body's first bytes to check that a Content-Encoding: gzip body really is gzip. */
async function* expectGzip(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let first = true;
  for await (const chunk of body) {
    if (first && chunk.length > 0) {
      first = false;
      if (chunk[0] !== 0x1f || (chunk.length > 1 && chunk[1] !== 0x8b)) {
        throw new IngestValidationError(
          'Content-Encoding says gzip, but the body is not gzip: send it uncompressed, or gzip it.',
          'InvalidProperty',
        );
      }
    }
    yield chunk;
  }
}

function statusUrl(req: HttpRequestLike, sourceId: string): string {
  return `${new URL(req.url).origin}/api/ingest/status/${sourceId}`;
}

const accepted = (req: HttpRequestLike, sourceId: string, replay = false): HttpResult => ({
  status: 202,
  jsonBody: { sourceId, statusUrl: statusUrl(req, sourceId), ...(replay && { replay: true }) },
  headers: { location: statusUrl(req, sourceId) },
});

/** `POST /api/ingest/{database}/{table}`: the body is the data, streamed to Kusto's temp storage. */
export async function handleIngestPush(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  const database = req.params.database ?? '';
  const table = req.params.table ?? '';
  const format = requestFormat(req);
  if (typeof format !== 'string') return format;
  const encoding = req.headers.get('content-encoding')?.trim().toLowerCase();
  if (encoding && encoding !== 'gzip' && encoding !== 'identity') {
    return error(
      415,
      'UnsupportedMediaType',
      `Content-Encoding '${encoding}' is not supported: send gzip or no encoding.`,
    );
  }
  const tags = tagsOf(req.query.get('tags'));
  if (!Array.isArray(tags)) return tags;
  const key = req.headers.get('idempotency-key') ?? undefined;
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    return error(
      400,
      'InvalidProperty',
      'The Idempotency-Key header must be 1-200 visible ASCII characters.',
    );
  }
  const sourceId = pushSourceId(database, table, key);
  const mapping = req.query.get('mapping');
  const creationTime = req.query.get('creationTime');
  let props: IngestionProps;
  try {
    props = {
      database,
      table,
      format,
      ...(mapping !== null && { mappingReference: mapping }),
      ...(creationTime !== null && { creationTime }),
      ...(tags.length > 0 && { tags }),
      sourceId,
      reportLevel: ReportLevel.FailuresAndSuccesses,
      reportMethod: ReportMethod.Table,
    };
    validateProps(props); // every check that needs no data, before anything is recorded
  } catch (e) {
    return errorResult(e, log);
  }
  if (req.body === null)
    return error(400, 'EmptyInput', 'The request has no body: send the data to ingest as the body.');

  try {
    await ctx.ready();
    const begun = await ctx.tracking.begin({
      sourceId,
      kind: 'http',
      state: 'queuing',
      database,
      table,
      props,
    });
    let record: TrackingRecord;
    if (begun.created) record = begun.record;
    else {
      const existing = begun.existing;
      if (existing.state === 'queued' || existing.state === 'closed') return accepted(req, sourceId, true);
      if (ctx.tracking.isLeased(existing)) return inProgress(ctx, existing);
      if (existing.state === 'uploaded') return await queueStaged(req, ctx, existing); // the data is there already
      record = await ctx.tracking.claim(existing); // 'queuing', its holder gone: take it over
    }
    const body = encoding === 'gzip' ? expectGzip(req.body) : req.body;
    const held = record;
    // The data did not get through: with a key a retry may take the row over at once; without one nobody
    // can, so the row is closed here.
    const giveUp = async (e: unknown): Promise<never> => {
      if (key !== undefined && !isIngestValidationError(e))
        await ctx.tracking.release(held).catch(() => undefined);
      else {
        const err = classify(e);
        await ctx.tracking.close(held, {
          finalStatus: 'Rejected',
          errorCode: err.code,
          details: err.message,
        });
      }
      throw e;
    };
    // Stage, record, queue: the tracked two-step path (also the managed flavor's fallback).
    const stageAndQueue = async (source: AsyncIterable<Uint8Array>): Promise<HttpResult> => {
      const uploaded = await ctx.ingest.uploadToTempStorage(source, props).catch(giveUp);
      // Recording the staged blob and claiming the right to queue it are one conditional write.
      const staged = await ctx.tracking.claim(held, {
        state: 'uploaded',
        blobPath: uploaded.blobPath,
        rawDataSize: uploaded.rawDataSize,
      });
      return queueClaimed(req, ctx, staged);
    };
    if (!ctx.managed) return await stageAndQueue(body);

    let queuedAnswer: HttpResult | undefined;
    const receipt = await ctx.managed
      .ingestFromStream(body, props, {
        fallback: async (source) => {
          queuedAnswer = await stageAndQueue(source);
          return { sourceId, database, table, flavor: 'queued', status: 'Queued' };
        },
      })
      .catch((e: unknown) =>
        queuedAnswer ? Promise.reject(e instanceof Error ? e : new Error(String(e))) : giveUp(e),
      );
    if (queuedAnswer) return queuedAnswer;
    await ctx.tracking.close(held, { finalStatus: 'Succeeded', details: 'streamed' });
    return {
      status: 200,
      jsonBody: { sourceId: receipt.sourceId, status: 'Succeeded', statusUrl: statusUrl(req, sourceId) },
    };
  } catch (e) {
    if (e instanceof TrackingConflictError) return accepted(req, sourceId, true); // a retry of this request took it over
    return errorResult(e, log);
  }
}

/** A retry that arrives while the first request still holds the source: try again when its lease ends. */
function inProgress(ctx: AppContext, record: TrackingRecord): HttpResult {
  const seconds = String(Math.max(1, Math.ceil(((record.leaseUntil?.getTime() ?? 0) - ctx.clock()) / 1000)));
  return error(
    409,
    'RequestInProgress',
    `A request with this Idempotency-Key is still being processed: retry after ${seconds} s to get its result.`,
    { 'retry-after': seconds },
  );
}

/** Queues a staged push once: the claim on the row's ETag keeps a retry and the sweep from both queueing it. */
export async function queueStaged(
  req: HttpRequestLike | undefined,
  ctx: AppContext,
  record: TrackingRecord,
): Promise<HttpResult> {
  return queueClaimed(req, ctx, await ctx.tracking.claim(record));
}

/** Queues a staged push whose lease this process just won. */
async function queueClaimed(
  req: HttpRequestLike | undefined,
  ctx: AppContext,
  claimed: TrackingRecord,
): Promise<HttpResult> {
  const receipt = await ctx.ingest.ingestUploaded(
    { sourceId: claimed.sourceId, blobPath: claimed.blobPath ?? '', rawDataSize: claimed.rawDataSize },
    claimed.props,
  );
  await ctx.tracking.update(claimed, {
    state: 'queued',
    statusTableUrl: receipt.statusTable?.tableUrl,
    leaseUntil: undefined,
  });
  return req ? accepted(req, claimed.sourceId) : { status: 202 };
}

const blobsBody = z.object({
  blobs: z
    .array(z.object({ url: z.string().min(1), rawSize: z.number().int().nonnegative().optional() }).strict())
    .min(1, 'give at least one blob')
    .max(1000, 'at most 1000 blobs per request'),
  format: z.string().optional(),
  mapping: z.string().optional(),
});

const MAX_JSON_BODY = 1024 * 1024;

async function readJson(body: ReadableStream<Uint8Array>): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_JSON_BODY)
      throw new IngestValidationError(
        'The JSON body is over 1 MB: send fewer blobs per request.',
        'TooLarge',
      );
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new IngestValidationError(
      'The body is not JSON: send { "blobs": [{ "url": "https://...?<sas>" }] }.',
      'InvalidProperty',
    );
  }
}

/** `POST /api/ingest/{database}/{table}/blobs`: queues existing blobs by URL, with a result per blob. */
export async function handleIngestBlobs(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  const database = req.params.database ?? '';
  const table = req.params.table ?? '';
  if (req.body === null)
    return error(
      400,
      'EmptyInput',
      'Send { "blobs": [{ "url": "https://...?<sas>", "rawSize": 123 }] } as the body.',
    );
  let parsed: z.infer<typeof blobsBody>;
  try {
    const result = blobsBody.safeParse(await readJson(req.body));
    if (!result.success) {
      const issues = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      return error(400, 'InvalidProperty', `The body is not valid: ${issues}.`);
    }
    parsed = result.data;
    validateProps({
      database,
      table,
      format: (parsed.format ?? 'csv') as DataFormat,
      ...(parsed.mapping !== undefined && { mappingReference: parsed.mapping }),
    });
  } catch (e) {
    return errorResult(e, log);
  }
  const format = (parsed.format ?? 'csv').toLowerCase() as DataFormat;
  await ctx.ready();
  const results = [];
  // A few at a time: one bad blob never sinks the others.
  for (let i = 0; i < parsed.blobs.length; i += 8) {
    const slice = parsed.blobs.slice(i, i + 8);
    results.push(
      ...(await Promise.all(
        slice.map(async ({ url, rawSize }) => {
          const source = stripQuery(url);
          const sourceId = newUuid();
          const props: IngestionProps = {
            database,
            table,
            format,
            ...(parsed.mapping !== undefined && { mappingReference: parsed.mapping }),
            ...(rawSize !== undefined && { rawDataSize: rawSize }),
            sourceId,
            reportLevel: ReportLevel.FailuresAndSuccesses,
            reportMethod: ReportMethod.Table,
          };
          let record: TrackingRecord | undefined;
          try {
            const begun = await ctx.tracking.begin({
              sourceId,
              kind: 'blob',
              state: 'queuing',
              database,
              table,
              props,
              sourceUrl: source,
            });
            if (!begun.created) throw new Error('source id collision');
            record = begun.record;
            const receipt = await ctx.ingest.ingestFromBlob(url, props);
            await ctx.tracking.update(record, {
              state: 'queued',
              statusTableUrl: receipt.statusTable?.tableUrl,
            });
            return { url: source, sourceId, statusUrl: statusUrl(req, sourceId) };
          } catch (e) {
            // The caller is told about this blob now; nobody will retry this id, so its row is closed.
            if (record) {
              const err = classify(e);
              await ctx.tracking
                .close(record, { finalStatus: 'Rejected', errorCode: err.code, details: err.message })
                .catch(() => undefined);
            }
            const result = errorResult(e, log);
            return { url: source, ...(result.jsonBody as object) };
          }
        }),
      )),
    );
  }
  const anyAccepted = results.some((r) => 'sourceId' in r);
  return { status: anyAccepted ? 202 : 400, jsonBody: { results } };
}

/** `GET /api/ingest/status/{sourceId}`: the item's status, error code and details. */
export async function handleIngestStatus(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  const sourceId = req.params.sourceId ?? '';
  if (!isUuid(sourceId))
    return error(
      400,
      'InvalidProperty',
      `'${sourceId}' is not a source id: use the sourceId a 202 answer gave.`,
    );
  try {
    await ctx.ready();
    const record = await ctx.tracking.get(sourceId);
    if (!record)
      return error(
        404,
        'NotFound',
        `No ingestion with source id ${sourceId} is known (or it expired after the retention period).`,
      );
    const base = {
      sourceId,
      database: record.database,
      table: record.table,
      state: record.state,
      requeueCount: record.requeueCount,
    };
    if (record.state === 'closed' || !record.statusTableUrl) {
      return {
        status: 200,
        jsonBody: {
          ...base,
          status: record.finalStatus ?? (record.state === 'closed' ? 'Unknown' : 'Queuing'),
          ...(record.errorCode && { errorCode: record.errorCode }),
          ...(record.failureStatus && { failureStatus: record.failureStatus }),
          ...(record.details && { details: record.details }),
          updatedOn: record.updatedOn.toISOString(),
        },
      };
    }
    const status = await ctx.ingest
      .getIngestionStatus({
        sourceId,
        database: record.database,
        table: record.table,
        flavor: 'queued',
        status: 'Pending',
        statusTable: { tableUrl: record.statusTableUrl, partitionKey: sourceId, rowKey: sourceId },
      })
      .catch((e: unknown) => {
        // Queued but its status row is not readable yet: it is pending.
        if (classify(e).code === 'NotFound') return { sourceId, status: 'Pending' as const };
        throw e;
      });
    return { status: 200, jsonBody: { ...base, ...status } };
  } catch (e) {
    return errorResult(e, log);
  }
}
