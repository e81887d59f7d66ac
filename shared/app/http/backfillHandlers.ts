import type { Logger } from '../../log';
import { isUuid } from '../../uuid';
import { backfillOptions, backfillRequestSchema } from '../backfill/backfillOptions';
import { BackfillRefused, cancelJob, jobStatus, startBackfill } from '../backfill/backfillJob';
import type { JobRecord } from '../backfill/backfillStore';
import { listsTheSameBlobs } from '../backfill/overlap';
import type { AppContext } from '../ports';
import { errorResult } from './errorResult';
import { errorBody, HttpProblem, type HttpRequestLike, type HttpResult } from './httpTypes';
import { checkedBody, readJsonBody } from './jsonBody';

const EXAMPLE =
  '{ "prefix": "2024/", "database": "D", "table": "T", "creationTimePattern": "yyyy\'/\'MM\'/\'dd" }';

const jobUrl = (req: HttpRequestLike, jobId: string) => `${new URL(req.url).origin}/api/backfill/${jobId}`;

function jobIdOf(req: HttpRequestLike): string {
  const jobId = req.params.jobId ?? '';
  if (!isUuid(jobId))
    throw new HttpProblem(400, 'InvalidProperty', `'${jobId.slice(0, 80)}' is not a job id.`);
  return jobId;
}

const NO_JOB = () => new HttpProblem(404, 'NotFound', 'No backfill job has this id.');

/** The job the request names: 400 for a malformed id, 404 for an unknown one. */
async function requestedJob(req: HttpRequestLike, ctx: AppContext): Promise<JobRecord> {
  const jobId = jobIdOf(req);
  await ctx.ready();
  const job = await ctx.backfill.store.getJob(jobId);
  if (!job) throw NO_JOB();
  return job;
}

/** `POST /api/backfill`: checks the request and the container at once, then starts the job (202). */
export async function handleStartBackfill(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  try {
    if (req.body === null) throw new HttpProblem(400, 'EmptyInput', `Send the job as JSON, e.g. ${EXAMPLE}.`);
    const body = checkedBody(backfillRequestSchema, await readJsonBody(req.body, EXAMPLE), 'The job');
    const options = backfillOptions(ctx, body);
    await ctx.ready();
    const others = (await ctx.backfill.store.listJobs()).filter((j) => listsTheSameBlobs(j, options));
    const job = await startBackfill(ctx, options);
    const statusUrl = jobUrl(req, job.jobId);
    log.info(
      JSON.stringify({
        event: 'BackfillStarted',
        jobId: job.jobId,
        container: options.container,
        prefix: options.prefix,
        dryRun: options.dryRun,
      }),
    );
    return {
      status: 202,
      headers: { location: statusUrl },
      jsonBody: {
        jobId: job.jobId,
        statusUrl,
        dryRun: options.dryRun,
        ...(others.length > 0 && {
          note: `Job ${others.map((j) => j.jobId).join(', ')} is listing the same blobs: each blob version is ingested once, so whatever one job takes on, the other counts as skipped.`,
        }),
      },
    };
  } catch (e) {
    if (e instanceof BackfillRefused) return errorBody(e.status, e.code, e.message);
    return errorResult(e, log);
  }
}

/** `GET /api/backfill/{jobId}`: the job's state and counts. */
export async function handleBackfillStatus(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  try {
    const status = await jobStatus(ctx, jobIdOf(req));
    if (!status) throw NO_JOB();
    return { status: 200, jsonBody: status };
  } catch (e) {
    return errorResult(e, log);
  }
}

/** `DELETE /api/backfill/{jobId}`: cancels the job (what is queued to Kusto already still lands). */
export async function handleCancelBackfill(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  try {
    const jobId = jobIdOf(req);
    if (!(await cancelJob(ctx, jobId))) throw NO_JOB();
    return { status: 202, jsonBody: { jobId, state: 'cancelled' } };
  } catch (e) {
    return errorResult(e, log);
  }
}

/** `GET /api/backfill/{jobId}/blobs`: what a dry run would ingest, paged (path → database, table, format, creation time). */
export async function handleBackfillBlobs(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  try {
    const job = await requestedJob(req, ctx);
    const jobId = job.jobId;
    if (!job.options.dryRun)
      return errorBody(409, 'NotADryRun', 'Only a dry run lists its blobs: its status has the counts.');
    const sizeText = req.query.get('pageSize');
    const pageSize = sizeText ? Number(sizeText) : 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 5000)
      throw new HttpProblem(400, 'InvalidProperty', 'pageSize must be a whole number from 1 to 5000.');
    const token = req.query.get('continuationToken') ?? undefined;
    if (token !== undefined && !/^\d{8}-\d{5}$/.test(token))
      throw new HttpProblem(400, 'InvalidProperty', 'continuationToken is not one this API gave.');
    const page = await ctx.backfill.store.listDryRun(jobId, pageSize, token);
    return {
      status: 200,
      jsonBody: { blobs: page.entries, continuationToken: page.continuationToken ?? null },
    };
  } catch (e) {
    return errorResult(e, log);
  }
}

/**
 * `GET /api/backfill/{jobId}/failures?continuationToken=`: the job's blobs that failed, with the error code
 * and reason of each (for the CLI's failures report), 200 per page.
 */
export async function handleBackfillFailures(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  try {
    const { jobId } = await requestedJob(req, ctx);
    const token = req.query.get('continuationToken') ?? undefined;
    if (token !== undefined && !isUuid(token))
      throw new HttpProblem(400, 'InvalidProperty', 'continuationToken is not one this API gave.');
    const page = await ctx.backfill.store.listOutcomes(jobId, 'failed', 200, token);
    const failures = await Promise.all(
      page.sourceIds.map(async (sourceId) => {
        const record = await ctx.tracking.get(sourceId);
        return {
          sourceId,
          source: record?.sourceUrl ?? null,
          finalStatus: record?.finalStatus ?? null,
          errorCode: record?.errorCode ?? null,
          details: record?.details ?? null,
          statusUrl: `${new URL(req.url).origin}/api/ingest/status/${sourceId}`,
        };
      }),
    );
    return { status: 200, jsonBody: { failures, continuationToken: page.continuationToken ?? null } };
  } catch (e) {
    return errorResult(e, log);
  }
}
