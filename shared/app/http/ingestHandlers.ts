import { z } from 'zod';
import { isTransient } from '../../errors';
import type { Logger } from '../../log';
import { parseDataFormat } from '../../message/dataFormat';
import { isUuid } from '../../uuid';
import type { AppContext } from '../ports';
import { pushData } from '../push/pushData';
import { queueBlobRefs } from '../push/queueBlobRefs';
import { sourceStatus } from '../tracking/sourceStatus';
import { errorResult, refusal } from './errorResult';
import { checkedBody, readJsonBody } from './jsonBody';
import { HttpProblem, statusUrl, type HttpRequestLike, type HttpResult } from './httpTypes';
import { parsePushRequest } from './pushRequest';

const retryAfter = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));

/** `POST /api/ingest/{database}/{table}`: the body is the data, streamed to Kusto's temp storage. */
export async function handleIngestPush(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  try {
    const outcome = await pushData(ctx, parsePushRequest(req), req.body);
    const location = statusUrl(req, outcome.sourceId);
    switch (outcome.kind) {
      case 'accepted':
        return {
          status: 202,
          jsonBody: {
            sourceId: outcome.sourceId,
            statusUrl: location,
            ...(outcome.replay && { replay: true }),
          },
          headers: { location },
        };
      case 'streamed':
        return {
          status: 200,
          jsonBody: { sourceId: outcome.sourceId, status: 'Succeeded', statusUrl: location },
        };
      case 'inProgress': {
        const seconds = retryAfter(outcome.retryAfterMs);
        return refusal(log, {
          status: 409,
          code: 'RequestInProgress',
          message: `A request with this Idempotency-Key is still being processed: retry after ${seconds} s to get its result.`,
          headers: { 'retry-after': seconds },
          sourceId: outcome.sourceId,
        });
      }
      case 'keyReused':
        return refusal(log, {
          status: 422,
          code: 'IdempotencyKeyReused',
          message:
            'This Idempotency-Key was used for a push with other parameters (table, format, mapping, tags, creationTime or Content-Encoding): use a new key for new data.',
          sourceId: outcome.sourceId,
        });
    }
  } catch (e) {
    return errorResult(e, log);
  }
}

const blobsBody = z
  .object({
    blobs: z
      .array(
        z.object({ url: z.string().min(1), rawSize: z.number().int().nonnegative().optional() }).strict(),
      )
      .min(1, 'give at least one blob')
      .max(1000, 'at most 1000 blobs per request'),
    format: z.string().optional(),
    mapping: z.string().optional(),
  })
  .strict();

/** `POST /api/ingest/{database}/{table}/blobs`: queues existing blobs by URL, with a result per blob. */
export async function handleIngestBlobs(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  try {
    if (req.body === null)
      throw new HttpProblem(
        400,
        'EmptyInput',
        'Send { "blobs": [{ "url": "https://...?<sas>", "rawSize": 123 }] } as the body.',
      );
    const body = checkedBody(
      blobsBody,
      await readJsonBody(req.body, '{ "blobs": [{ "url": "https://...?<sas>" }] }'),
    );
    const results = await queueBlobRefs(ctx, {
      database: req.params.database ?? '',
      table: req.params.table ?? '',
      format: parseDataFormat(body.format ?? 'csv'),
      mapping: body.mapping,
      blobs: body.blobs,
    });
    const answered = results.map((r) =>
      'error' in r
        ? { url: r.url, ...(errorResult(r.error, log).jsonBody as object) }
        : { ...r, statusUrl: statusUrl(req, r.sourceId) },
    );
    if (results.some((r) => 'sourceId' in r)) return { status: 202, jsonBody: { results: answered } };
    // Nothing taken: if an outage stopped any of them it is a 503 to retry, else the caller's to fix.
    if (results.some((r) => 'error' in r && isTransient(r.error)))
      return { status: 503, jsonBody: { results: answered }, headers: { 'retry-after': '10' } };
    return { status: 400, jsonBody: { results: answered } };
  } catch (e) {
    return errorResult(e, log);
  }
}

/** `GET /api/ingest/status/{sourceId}`: the item's status, error code and details. */
export async function handleIngestStatus(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  const sourceId = req.params.sourceId ?? '';
  try {
    if (!isUuid(sourceId))
      throw new HttpProblem(
        400,
        'InvalidProperty',
        `'${sourceId.slice(0, 80)}' is not a source id: use the sourceId a 202 answer gave.`,
      );
    const status = await sourceStatus(ctx, sourceId);
    if (!status)
      throw new HttpProblem(
        404,
        'NotFound',
        `No ingestion with source id ${sourceId} is known (or it expired after the retention period).`,
      );
    return { status: 200, jsonBody: status };
  } catch (e) {
    return errorResult(e, log);
  }
}
