import { classify } from '../errors';
import type { IngestionStatus } from '../ingest/types';
import type { Logger } from '../log';
import { TrackingConflictError, type FailureReport, type TrackingRecord } from '../status/tracking';
import type { AppContext } from './appContext';
import { queueStaged } from './httpApi';
import { quarantine } from './quarantine';

/** What one sweep did; logged as one `SweepCompleted` line. */
export interface SweepSummary {
  open: number;
  succeeded: number;
  failed: number;
  requeued: number;
  reenqueued: number;
  abandoned: number;
  stuck: number;
  pending: number;
  quarantined: number;
  poisonMessages: number;
  errors: number;
}

export interface SweepOptions {
  /** A row still 'queuing' after this long was abandoned by a crash. @default 10 minutes */
  readonly abandonAfterMs?: number;
  /** A staged push still 'uploaded' after this long is queued by the sweep. @default 5 minutes */
  readonly reenqueueAfterMs?: number;
  /** Items examined at once. @default 16 */
  readonly concurrency?: number;
}

// The service stopped retrying these; anything else it retries itself, or will never succeed.
const REQUEUEABLE = new Set(['Transient', 'Exhausted']);

function sourceOf(record: TrackingRecord): string {
  return record.sourceUrl ?? record.blobPath ?? `push ${record.sourceId}`;
}

/**
 * One pass over the open items (only the 16 open partitions are read, so the cost follows open items, not
 * history). Every report has a stable key, so a pass that stops half-way and runs again reports nothing twice.
 */
export async function runSweep(
  ctx: AppContext,
  log: Logger,
  options: SweepOptions = {},
): Promise<SweepSummary> {
  await ctx.ready();
  const summary: SweepSummary = {
    open: 0,
    succeeded: 0,
    failed: 0,
    requeued: 0,
    reenqueued: 0,
    abandoned: 0,
    stuck: 0,
    pending: 0,
    quarantined: 0,
    poisonMessages: 0,
    errors: 0,
  };
  const concurrency = options.concurrency ?? 16;
  const inFlight = new Set<Promise<void>>();
  for await (const sourceId of ctx.tracking.openSourceIds()) {
    summary.open += 1;
    const work: Promise<void> = sweepOne(ctx, log, sourceId, summary, options).catch((e: unknown) => {
      if (e instanceof TrackingConflictError) return; // changed meanwhile (a retry, another sweep): next pass
      summary.errors += 1;
      log.error(JSON.stringify({ event: 'SweepItemError', sourceId, message: classify(e).message }));
    });
    const tracked = work.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  summary.poisonMessages = await poisonCount(ctx);
  if (summary.poisonMessages > 0) {
    log.warn(
      JSON.stringify({
        event: 'LandingPoisonMessages',
        queue: `${ctx.config.landingEventsQueue}-poison`,
        count: summary.poisonMessages,
      }),
    );
  }
  log.info(JSON.stringify({ event: 'SweepCompleted', ...summary }));
  return summary;
}

async function poisonCount(ctx: AppContext): Promise<number> {
  try {
    return (await ctx.landing.poison.getProperties()).approximateMessagesCount ?? 0;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return 0;
    throw e;
  }
}

async function sweepOne(
  ctx: AppContext,
  log: Logger,
  sourceId: string,
  summary: SweepSummary,
  options: SweepOptions,
): Promise<void> {
  const now = ctx.clock();
  const record = await ctx.tracking.get(sourceId);
  if (!record || record.state === 'closed') {
    // Closed but still listed (a crash between the two writes): finish the close.
    if (record) await ctx.tracking.close(record, {});
    return;
  }
  const at = new Date(now);
  const report = (r: Omit<FailureReport, 'sourceId' | 'database' | 'table' | 'source' | 'at'>) =>
    ctx.reporter.report({
      ...r,
      sourceId,
      database: record.database,
      table: record.table,
      source: sourceOf(record),
      at,
    });

  // A worker may still be storing or queueing it: leave it alone while it holds the lease.
  if ((record.state === 'queuing' || record.state === 'uploaded') && ctx.tracking.isLeased(record)) return;
  if (record.state === 'queuing') {
    if (now - record.updatedOn.getTime() < (options.abandonAfterMs ?? 10 * 60_000)) return;
    await report({
      event: 'IngestionAbandoned',
      details:
        'The source was taken on but nothing was stored or queued (the process stopped): send it again.',
      action: 'closed',
      key: 'abandoned',
    });
    await ctx.tracking.close(record, { finalStatus: 'Abandoned' });
    summary.abandoned += 1;
    return;
  }
  if (record.state === 'uploaded') {
    if (now - record.updatedOn.getTime() < (options.reenqueueAfterMs ?? 5 * 60_000)) return;
    await queueStaged(undefined, ctx, record);
    log.info(JSON.stringify({ event: 'IngestionReenqueued', sourceId, source: sourceOf(record) }));
    summary.reenqueued += 1;
    return;
  }

  const status = await readStatus(ctx, record);
  switch (status.status) {
    case 'Succeeded':
    case 'Skipped':
      await ctx.tracking.close(record, { finalStatus: status.status, details: status.details });
      summary.succeeded += 1;
      return;
    case 'Failed':
    case 'PartiallySucceeded':
      await settleFailure(ctx, log, record, status, report, summary);
      return;
    default: {
      summary.pending += 1;
      const staleAfterMs = ctx.config.staleAfterMinutes * 60_000;
      if (now - record.updatedOn.getTime() > staleAfterMs && !record.stuckReported) {
        await report({
          event: 'IngestionStuck',
          details: `Still ${status.status} after ${ctx.config.staleAfterMinutes} minutes.`,
          action: 'reported',
          key: `stuck-${record.requeueCount}`,
        });
        await ctx.tracking.update(record, { stuckReported: true });
        summary.stuck += 1;
      }
    }
  }
}

async function readStatus(ctx: AppContext, record: TrackingRecord): Promise<IngestionStatus> {
  try {
    return await ctx.ingest.getIngestionStatus(
      record.statusTableUrl
        ? {
            sourceId: record.sourceId,
            database: record.database,
            table: record.table,
            flavor: 'queued',
            status: 'Pending',
            statusTable: {
              tableUrl: record.statusTableUrl,
              partitionKey: record.sourceId,
              rowKey: record.sourceId,
            },
          }
        : record.sourceId,
    );
  } catch (e) {
    if (classify(e).code === 'NotFound') return { sourceId: record.sourceId, status: 'Pending' };
    throw e;
  }
}

async function settleFailure(
  ctx: AppContext,
  log: Logger,
  record: TrackingRecord,
  status: IngestionStatus,
  report: (r: Omit<FailureReport, 'sourceId' | 'database' | 'table' | 'source' | 'at'>) => Promise<void>,
  summary: SweepSummary,
): Promise<void> {
  const failure = {
    errorCode: status.errorCode,
    failureStatus: status.failureStatus,
    details: status.details,
  };
  const canRequeue =
    status.status === 'Failed' &&
    REQUEUEABLE.has(status.failureStatus ?? '') &&
    record.requeueCount < ctx.config.maxRequeueAttempts &&
    ((record.kind === 'landing' && (await landingVersionIsThere(ctx, record))) ||
      (record.kind === 'http' && record.blobPath !== undefined));
  if (canRequeue) {
    const attempt = record.requeueCount + 1;
    await report({
      event: 'IngestionRequeued',
      ...failure,
      action: `requeued (attempt ${attempt} of ${ctx.config.maxRequeueAttempts})`,
      key: `requeue-${attempt}`,
    });
    const receipt =
      record.kind === 'landing'
        ? await ctx.ingest.ingestFromBlob(
            await ctx.landing.sas.readUrl(ctx.landing.container.getBlobClient(landingPath(ctx, record))),
            record.props,
          )
        : await ctx.ingest.ingestUploaded(
            { sourceId: record.sourceId, blobPath: record.blobPath ?? '', rawDataSize: record.rawDataSize },
            record.props,
          );
    await ctx.tracking.update(record, {
      requeueCount: attempt,
      statusTableUrl: receipt.statusTable?.tableUrl,
      stuckReported: false,
      ...failure,
    });
    summary.requeued += 1;
    return;
  }
  let action = 'reported';
  if (
    record.kind === 'landing' &&
    status.status === 'Failed' &&
    status.failureStatus === 'Permanent' &&
    record.eTag
  ) {
    const moved = await quarantine(ctx, {
      path: landingPath(ctx, record),
      eTag: record.eTag,
      reason: `${status.errorCode ?? 'Failed'}: ${status.details ?? ''}`,
      errorCode: status.errorCode ?? 'Failed',
      sourceId: record.sourceId,
    });
    if (moved === 'quarantined') {
      action = `quarantined to ${ctx.config.landingFailedContainer}`;
      summary.quarantined += 1;
    }
  }
  await report({ event: 'IngestionFailed', ...failure, action, key: `final-${record.requeueCount}` });
  await ctx.tracking.close(record, { finalStatus: status.status, ...failure });
  summary.failed += 1;
  log.debug(`Closed ${record.sourceId} as ${status.status}`);
}

/** Whether the landing blob is still the version that failed (not overwritten, not deleted). */
async function landingVersionIsThere(ctx: AppContext, record: TrackingRecord): Promise<boolean> {
  try {
    const properties = await ctx.landing.container.getBlobClient(landingPath(ctx, record)).getProperties();
    return (properties.etag ?? '').replace(/"/g, '') === record.eTag;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

/** The landing blob's path inside its container, from the canonical URL kept on the row. */
function landingPath(ctx: AppContext, record: TrackingRecord): string {
  const container = `/${ctx.config.landingContainer}/`;
  const url = record.sourceUrl ?? '';
  const at = url.indexOf(container);
  return at === -1 ? url : url.slice(at + container.length);
}
