import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { BoundedPool } from '../../boundedPool';
import { classify, isAccessDenied, isNotFound } from '../../errors';
import type { Logger } from '../../log';
import type { BlobItem } from '@azure/storage-blob';
import type { SourcePorts } from '../ports';
import { putBack } from '../landing/landingRetry';
import { takeOnBlob, type LandingIngestOptions } from '../sources/takeOnBlob';
import { canonicalBlobUrl, landingSourceId, unquoteETag } from '../landing/landingBlob';
import { routeBlob, type LandingRouting } from '../routing/routeBlob';
import { jobPlace, jobRouting, type BackfillOptions } from './backfillOptions';
import type { DryRunEntry, JobError, JobRecord } from './backfillStore';
import { globList } from '../routing/glob';

/** Blobs listed per page task: one listing call, then one table read and one message per new blob. */
export const PAGE_SIZE = 1_000;

/** A page task's table reads and message sends in flight at once. */
export const PAGE_CONCURRENCY = 16;

/** A page task's message: which page of which job. */
export interface PageTask {
  readonly jobId: string;
  readonly page: number;
  /** When the task was due (sent, plus its pacing delay): bounds how long it is put back for. */
  readonly at?: string | undefined;
}

/** An item task's message: one blob version of a job. */
export interface ItemTask {
  readonly jobId: string;
  readonly url: string;
  readonly eTag: string;
  /** When the task was due (queued, plus its spreading delay): bounds how long it is put back for. */
  readonly at?: string | undefined;
}

/** Why a request cannot start a job: its container is missing or cannot be listed. */
export class BackfillRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BackfillRefused';
  }
}

const encode = (task: object): string => Buffer.from(JSON.stringify(task)).toString('base64');

const pageTaskSchema = z.object({
  jobId: z.uuid(),
  page: z.number().int().nonnegative(),
  at: z.iso.datetime().optional(),
});
const itemTaskSchema = z.object({
  jobId: z.uuid(),
  url: z.url(),
  eTag: z.string().min(1),
  at: z.iso.datetime().optional(),
});

/** A task message as the queue trigger gives it (an object, or text): undefined when it is none of ours. */
function parseTask<T>(schema: z.ZodType<T>, message: unknown): T | undefined {
  let value = message;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Starts a job: checks that its container can be listed, records the job and its first page, and sends
 * the first page task. The listing, the skip checks and the ingestions run in the page and item tasks,
 * spread over the instances the queues wake.
 */
export async function startBackfill(ctx: SourcePorts, options: BackfillOptions): Promise<JobRecord> {
  await ctx.ready();
  const { container } = jobPlace(ctx, options);
  const where = options.accountUrl ? ` on ${options.accountUrl}` : '';
  try {
    await container.listBlobsFlat({ prefix: options.prefix }).byPage({ maxPageSize: 1 }).next();
  } catch (e) {
    if (isNotFound(e))
      throw new BackfillRefused(
        400,
        'ContainerNotFound',
        `The container '${options.container}'${where} does not exist.`,
      );
    if (isAccessDenied(e))
      throw new BackfillRefused(
        403,
        'ContainerNotReadable',
        `The app's identity may not list '${options.container}'${where}: give it Storage Blob Data Reader there.`,
      );
    const refused = accountProblem(e, options);
    if (refused) throw refused;
    throw e;
  }
  const job: JobRecord = {
    jobId: randomUUID(),
    state: 'running',
    options,
    createdOn: new Date(ctx.clock()),
    listingDone: false,
  };
  await ctx.backfill.store.createJob(job);
  await ctx.backfill.store.createPage(job.jobId, 0, '', 0);
  await sendPageTask(ctx, { jobId: job.jobId, page: 0 }, 0);
  return job;
}

/**
 * Why another account cannot be read at all: no such host, or no identity to read it with. Undefined for
 * anything else (a transient failure is answered as one).
 */
function accountProblem(e: unknown, options: BackfillOptions): BackfillRefused | undefined {
  if (options.accountUrl === undefined) return undefined;
  const error = e as { code?: unknown; name?: unknown; message?: unknown };
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN')
    return new BackfillRefused(
      400,
      'AccountNotFound',
      `The storage account ${options.accountUrl} does not resolve: check accountUrl.`,
    );
  if (error.name === 'CredentialUnavailableError' || error.name === 'AuthenticationError')
    return new BackfillRefused(
      403,
      'AccountNotReadable',
      `The app has no identity to read ${options.accountUrl} with (${String(error.message).slice(0, 200)}): other accounts are read with the app's managed identity.`,
    );
  return undefined;
}

async function sendPageTask(ctx: SourcePorts, task: PageTask, delaySeconds: number): Promise<void> {
  const visibilityTimeout = Math.min(Math.ceil(delaySeconds), 6 * 86_400);
  const at = new Date(ctx.clock() + visibilityTimeout * 1000).toISOString();
  await ctx.backfill.send.pages.sendMessage(encode({ ...task, at }), { visibilityTimeout });
  await ctx.backfill.store.updatePage(task.jobId, task.page, { taskSent: true });
}

/**
 * Waits until the page before this one is through its sends, or PREDECESSOR_WAIT_MS have passed (its task
 * may have failed, and waits for its retry: the order of pages only bounds a job's memory and load, and
 * nothing depends on it for correctness). Polls the predecessor's record, quickly at first.
 */
async function predecessorDone(ctx: SourcePorts, task: PageTask): Promise<void> {
  const deadline = Date.now() + PREDECESSOR_WAIT_MS;
  let wait = 20;
  while (Date.now() < deadline) {
    const before = await ctx.backfill.store.getPage(task.jobId, task.page - 1);
    if (!before || before.done) return;
    await sleep(wait);
    wait = Math.min(wait * 2, 200);
  }
}

/** How long a page waits for its predecessor to be through before it goes ahead anyway. */
export const PREDECESSOR_WAIT_MS = 60_000;

/** The job's filters over a listed blob: prefix aside (the listing applies it), globs, times, the landing filter. */
function matcher(ctx: SourcePorts, options: BackfillOptions) {
  const include = options.include.length > 0 ? globList(options.include) : undefined;
  const exclude = options.exclude.length > 0 ? globList(options.exclude) : undefined;
  return (name: string, size: number, modified: Date | undefined): boolean => {
    if (size === 0) return false; // the landing path skips empty blobs too
    if (include && !include(name)) return false;
    if (exclude?.(name)) return false;
    if (ctx.landingFilter.skipReason(name)) return false;
    const at = modified?.toISOString();
    if (options.modifiedSince && (!at || at < options.modifiedSince)) return false;
    if (options.modifiedUntil && (!at || at >= options.modifiedUntil)) return false;
    return true;
  };
}

/**
 * Runs one page task: lists the page, skips blob versions that are tracked already (by the landing path or
 * another job), sends one item task per new one (spread over time by maxBlobsPerSecond), writes the next
 * page's start once and sends its task, then marks the page done with its counts. Repeating it (a retried
 * message) repeats no count and forks no chain; items it sends twice are one source each (the source id is
 * the blob version's).
 */
export async function runPage(
  ctx: SourcePorts,
  log: Logger,
  message: unknown,
  attempt: TaskAttempt = {},
): Promise<void> {
  const task = parseTask(pageTaskSchema, message);
  if (!task) {
    log.error(JSON.stringify({ event: 'BackfillTaskInvalid', queue: 'pages' }));
    return; // nobody can act on it: dropped, and said so
  }
  await ctx.ready();
  try {
    await listPage(ctx, log, task);
  } catch (e) {
    const error = classify(e);
    // A permanent failure (the container deleted, the identity's role taken away) ends the job at once;
    // a transient one only once the host is about to give the message up, and no put-back (the landing
    // rule, landing/landingRetry.ts) can wait for it any longer.
    const last = !error.transient || (attempt.dequeueCount ?? 0) >= ctx.config.maxDequeueCount;
    if (!last) throw e;
    if (error.transient) {
      const delaySeconds = await putBack(
        ctx,
        log,
        {
          dequeueCount: attempt.dequeueCount,
          raisedAt: task.at === undefined ? undefined : new Date(task.at),
        },
        e,
        (visibilityTimeout) => ctx.backfill.send.pages.sendMessage(encode(task), { visibilityTimeout }),
        { event: 'BackfillPagePutBack', source: `backfill ${task.jobId} page ${task.page}` },
      );
      if (delaySeconds !== undefined) return;
    }
    // The service's own code says more than the class of error (ContainerNotFound, not NotFound).
    const serviceCode = (e as { code?: unknown }).code;
    const failure = {
      code: typeof serviceCode === 'string' && /^[A-Za-z]+$/.test(serviceCode) ? serviceCode : error.code,
      message: `Page ${task.page} could not be listed: ${error.message}`,
    };
    await ctx.backfill.store.updateJob(task.jobId, { state: 'failed', error: failure });
    log.error(JSON.stringify({ event: 'BackfillFailed', jobId: task.jobId, page: task.page, ...failure }));
    if (error.transient) throw e;
  }
}

/** Which try of its message a task is, as the queue trigger counts them. */
export interface TaskAttempt {
  /** 1 on the first try. @default unknown: the failure is not taken as the last try's */
  readonly dequeueCount?: number;
}

async function listPage(ctx: SourcePorts, log: Logger, task: PageTask): Promise<void> {
  const { store } = ctx.backfill;
  const job = await store.getJob(task.jobId);
  if (!job || job.state !== 'running') return;
  const page = await store.getPage(task.jobId, task.page);
  if (!page || page.done) return;
  const { options } = job;
  // Checked again at every page: an operator who takes a source off BACKFILL_SOURCES stops its jobs.
  ctx.backfill.sources.check(options.accountUrl, options.container);
  const { container } = jobPlace(ctx, options);
  const listing = container
    .listBlobsFlat({ prefix: options.prefix, includeMetadata: options.dryRun })
    .byPage({ maxPageSize: PAGE_SIZE, ...(page.token && { continuationToken: page.token }) });
  const first = await listing.next();
  const response = first.done === true ? undefined : first.value;
  const blobs = response?.segment.blobItems ?? [];
  const next = response?.continuationToken;
  const matches = matcher(ctx, options);
  const routing = jobRouting(ctx, options);
  const room = options.limit === undefined ? Infinity : options.limit - page.matchedBefore;
  const chosen: BlobItem[] = [];
  let limitReached = false;
  let bytes = 0;
  for (const item of blobs) {
    const size = item.properties.contentLength ?? 0;
    if (!matches(item.name, size, item.properties.lastModified)) continue;
    if (chosen.length >= room) {
      limitReached = true;
      break;
    }
    chosen.push(item);
    bytes += size;
  }
  const matched = chosen.length;
  const more = next !== undefined && next !== '' && !limitReached && matched < room;
  const rate = options.maxBlobsPerSecond;
  // One page ahead: this page was listed while its predecessor was still sending; it waits for it to be
  // through, then sends its own successor's task before its sends, so the successor's pick-up by the host
  // (whose polls back off while the queue is empty) and its listing overlap this page's sends instead of
  // following them. A job holds at most two pages at a time, whatever the number of its blobs.
  if (task.page > 0) await predecessorDone(ctx, task);
  if (more) {
    await store.createPage(task.jobId, task.page + 1, next, page.matchedBefore + matched);
    const following = await store.getPage(task.jobId, task.page + 1);
    // A page task sent ahead of the items it follows would outrun maxBlobsPerSecond.
    if (following && !following.taskSent)
      await sendPageTask(ctx, { jobId: task.jobId, page: task.page + 1 }, rate ? matched / rate : 0);
  }
  let skipped = 0;
  let queued = 0;
  const dry: DryRunEntry[] = [];
  // One table read and one message per new blob, PAGE_CONCURRENCY at once: one after another, a page of
  // 1,000 blobs would take as long as 2,000 round trips. A failed one fails the page task, which is retried
  // (what it sent already is recognised by its tracking row or its source id).
  const pool = new BoundedPool(PAGE_CONCURRENCY);
  for (const [index, item] of chosen.entries()) {
    if (options.dryRun) {
      dry.push(dryRunEntry(routing, item.name, item.properties.contentLength ?? 0, item.metadata ?? {}));
      continue;
    }
    const blob = container.getBlobClient(item.name);
    // Spread over time by its place in the job's order, not by when its send happens to run.
    const delay = rate === undefined ? undefined : Math.min(Math.floor(index / rate), 86_400);
    await pool.run(async () => {
      const eTag = unquoteETag(item.properties.etag);
      const sourceId = landingSourceId(canonicalBlobUrl(blob.url), eTag);
      const tracked = await ctx.tracking.get(sourceId);
      if (tracked && tracked.jobId !== task.jobId) {
        skipped += 1;
        return;
      }
      if (tracked) return; // this job's, from an earlier run of this page: under way or done
      const due = new Date(ctx.clock() + (delay ?? 0) * 1000).toISOString();
      const item_: ItemTask = { jobId: task.jobId, url: blob.url, eTag, at: due };
      await ctx.backfill.send.items.sendMessage(encode(item_), {
        ...(delay !== undefined && { visibilityTimeout: delay }),
      });
      queued += 1;
    });
  }
  await pool.drain();
  if (options.dryRun && dry.length > 0) await store.addDryRunEntries(task.jobId, task.page, dry);
  if (!more) await store.updateJob(task.jobId, { listingDone: true });
  await store.updatePage(task.jobId, task.page, { done: true, matched, skipped, queued, bytes });
  log.info(
    JSON.stringify({
      event: 'BackfillPage',
      jobId: task.jobId,
      page: task.page,
      matched,
      skipped,
      queued,
      more,
    }),
  );
}

function dryRunEntry(
  routing: LandingRouting,
  path: string,
  size: number,
  metadata: Record<string, string>,
): DryRunEntry {
  try {
    const target = routeBlob({ path, metadata }, routing.rules, routing);
    return {
      path,
      size,
      database: target.database,
      table: target.table,
      format: target.format,
      creationTime: target.creationTime,
    };
  } catch (e) {
    return { path, size, error: classify(e).message };
  }
}

/** The ingest options a job's blobs are taken on with (its routing and id), for item tasks and the sweep. */
export async function jobIngestOptions(
  ctx: SourcePorts,
  jobId: string,
): Promise<LandingIngestOptions | undefined> {
  const job = await ctx.backfill.store.getJob(jobId);
  return job && ingestOptionsOf(ctx, job);
}

function ingestOptionsOf(ctx: SourcePorts, job: JobRecord): LandingIngestOptions {
  return { routing: jobRouting(ctx, job.options), jobId: job.jobId, place: jobPlace(ctx, job.options) };
}

/**
 * Runs one item task: the blob version goes through the landing path (from its job's container), tracked
 * under the job, so the live landing path and any other job can never ingest it twice. What does not become
 * this job's source (tracked by others meanwhile, gone, changed, empty) is counted as skipped.
 */
export async function runItem(
  ctx: SourcePorts,
  log: Logger,
  message: unknown,
  attempt: TaskAttempt = {},
): Promise<void> {
  const task = parseTask(itemTaskSchema, message);
  if (!task) {
    log.error(JSON.stringify({ event: 'BackfillTaskInvalid', queue: 'items' }));
    return;
  }
  await ctx.ready();
  const job = await ctx.backfill.store.getJob(task.jobId);
  // A failed job's listing stopped, but what it queued before is still taken on and reported; unless its
  // source is no longer allowed (BACKFILL_SOURCES changed since): then nothing more of it is read.
  if (!job || job.state === 'cancelled') return;
  if (ctx.backfill.sources.refusal(job.options.accountUrl, job.options.container) !== undefined) return;
  let outcome;
  try {
    outcome = await takeOnBlob(ctx, log, { url: task.url, eTag: task.eTag }, ingestOptionsOf(ctx, job));
  } catch (e) {
    // As a landing event: on its last try, a transient failure puts the task back for later
    // (landing/landingRetry.ts), rather than leaving it to the poison queue.
    const delaySeconds = await putBack(
      ctx,
      log,
      { dequeueCount: attempt.dequeueCount, raisedAt: task.at === undefined ? undefined : new Date(task.at) },
      e,
      (visibilityTimeout) => ctx.backfill.send.items.sendMessage(encode(task), { visibilityTimeout }),
      { event: 'BackfillItemPutBack', source: task.url },
    );
    if (delaySeconds === undefined) throw e;
    return;
  }
  if (outcome.outcome === 'queued' || outcome.outcome === 'rejected') return; // its close records it
  if (outcome.outcome === 'duplicate') {
    const record = await ctx.tracking.get(outcome.sourceId);
    if (record?.jobId === task.jobId) return; // this job's own, sent twice
  }
  const sourceId = landingSourceId(canonicalBlobUrl(task.url), task.eTag);
  await ctx.backfill.store.recordSkippedOnce(task.jobId, sourceId);
}

/** What `GET /api/backfill/{jobId}` answers. */
export interface JobStatus {
  readonly jobId: string;
  readonly state: 'running' | 'completed' | 'cancelled' | 'failed';
  /** Why the job failed (state `failed`): its listing could not go on. */
  readonly error?: JobError | undefined;
  readonly dryRun: boolean;
  /** The listing reached its end: `matched` is final. */
  readonly listingDone: boolean;
  readonly counts: {
    readonly pages: number;
    readonly matched: number;
    readonly skipped: number;
    readonly queued: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly bytes: number;
  };
  readonly createdOn: string;
}

/** The job's counts: its pages' (listing), and its sources' ends (written as each closes). */
export async function jobStatus(ctx: SourcePorts, jobId: string): Promise<JobStatus | undefined> {
  await ctx.ready();
  const job = await ctx.backfill.store.getJob(jobId);
  if (!job) return undefined;
  const all = await ctx.backfill.store.listPages(jobId);
  const pages = all.filter((p) => p.done);
  // Pages overlap (a page hands over before it is through): the last one listed may finish first.
  const listingDone = job.listingDone && pages.length === all.length;
  const sum = (k: 'matched' | 'skipped' | 'queued' | 'bytes') => pages.reduce((n, p) => n + p[k], 0);
  const ends = job.options.dryRun
    ? { succeeded: 0, failed: 0, skipped: 0 }
    : await ctx.backfill.store.countOutcomes(jobId);
  const matched = sum('matched');
  const skipped = sum('skipped') + ends.skipped;
  const finished = job.options.dryRun || skipped + ends.succeeded + ends.failed >= matched;
  return {
    jobId,
    state: job.state !== 'running' ? job.state : listingDone && finished ? 'completed' : 'running',
    ...(job.error && { error: job.error }),
    dryRun: job.options.dryRun,
    listingDone,
    counts: {
      pages: pages.length,
      matched,
      skipped,
      queued: sum('queued'),
      succeeded: ends.succeeded,
      failed: ends.failed,
      bytes: sum('bytes'),
    },
    createdOn: job.createdOn.toISOString(),
  };
}

/** Stops a job: no page or item task of it does anything more; what is queued to Kusto already lands. */
export async function cancelJob(ctx: SourcePorts, jobId: string): Promise<boolean> {
  await ctx.ready();
  if (!(await ctx.backfill.store.getJob(jobId))) return false;
  await ctx.backfill.store.updateJob(jobId, { state: 'cancelled' });
  return true;
}
