import { classify } from '../../errors';
import type { IngestionStatus } from '../../ingest/types';
import type { Logger } from '../../log';
import { jobIngestOptions } from '../backfill/backfillJob';
import type { AppContext } from '../context';
import { poisonCount } from '../landing/poisonQueue';
import { afterLandingSuccess } from '../landing/afterSuccess';
import {
  ingestLandingBlob,
  landingPathOf,
  landingRejection,
  quarantineSource,
} from '../landing/handleLandingEvent';
import { enqueueStored, storedVersionIsThere } from '../storedSource';
import { readStatus } from '../tracking/statusLookup';
import { sourceOf } from '../tracking/trackedSources';
import { isTrackingConflict, type OpenEntry, type TrackingRecord } from '../tracking/trackingStore';
import { openStep, statusStep, type SweepTimings } from './sweepDecision';

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
  /** A push still 'queuing' after this long was abandoned by a crash. @default the lease (LEASE_SECONDS) */
  readonly abandonAfterMs?: number;
  /** A stored source not queued after this long is queued by the sweep. @default half the lease */
  readonly reenqueueAfterMs?: number;
  /** Items examined at once. @default 16 */
  readonly concurrency?: number;
}

/**
 * One pass over the open sources (only the open list is read, so the cost follows open items, not history).
 * Every transition goes through the lifecycle, whose reports have stable keys: a pass that stops half-way
 * and runs again reports nothing twice.
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
  const timings: SweepTimings = {
    abandonAfterMs: options.abandonAfterMs ?? ctx.tracking.leaseMs,
    redriveAfterMs: options.reenqueueAfterMs ?? ctx.tracking.leaseMs / 2,
  };
  const concurrency = options.concurrency ?? 16;
  const inFlight = new Set<Promise<void>>();
  for await (const entry of ctx.tracking.openEntries()) {
    summary.open += 1;
    const work: Promise<void> = sweepOne(ctx, log, entry, summary, timings).catch((e: unknown) => {
      if (isTrackingConflict(e)) return; // changed meanwhile (a retry, another sweep): next pass
      summary.errors += 1;
      log.error(
        JSON.stringify({ event: 'SweepItemError', sourceId: entry.sourceId, message: classify(e).message }),
      );
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

async function sweepOne(
  ctx: AppContext,
  log: Logger,
  entry: OpenEntry,
  summary: SweepSummary,
  timings: SweepTimings,
): Promise<void> {
  const now = ctx.clock();
  const record = await ctx.tracking.get(entry.sourceId);
  if (!record) {
    // Listed, but its row was never written (the insert failed) or was discarded: unlist it once nobody can
    // be about to write it.
    if (now - entry.since.getTime() >= timings.abandonAfterMs) await ctx.tracking.finishClose(entry.sourceId);
    return;
  }
  if (record.state === 'closed') {
    await ctx.tracking.finishClose(record.sourceId, record); // a stop between the writes of a close
    return;
  }
  if (ctx.tracking.isLeased(record)) return; // a worker is storing or queueing it right now

  switch (openStep(record, now, timings)) {
    case 'wait':
      return;
    case 'finish-rejection': {
      const reason = { code: record.errorCode ?? 'Rejected', message: record.details ?? '' };
      await ctx.tracking.fail(record, landingRejection(ctx, reason), () =>
        quarantineSource(ctx, record, reason),
      );
      summary.quarantined += 1;
      return;
    }
    case 'abandon':
      await ctx.tracking.fail(record, {
        event: 'IngestionAbandoned',
        finalStatus: 'Abandoned',
        details:
          'The source was taken on but nothing was stored or queued (the process stopped): send it again.',
        action: 'closed',
        key: 'abandoned',
      });
      summary.abandoned += 1;
      return;
    case 'redrive':
      await redrive(ctx, log, record, summary);
      return;
    case 'read-status':
      await settle(ctx, log, record, await readStatus(ctx.ingest, record), summary);
  }
}

/**
 * Finishes a source its holder stopped before queueing: a landing blob goes through the landing path again
 * (routed, queued or rejected), a staged push is queued; one whose data is gone is abandoned.
 */
async function redrive(
  ctx: AppContext,
  log: Logger,
  record: TrackingRecord,
  summary: SweepSummary,
): Promise<void> {
  if (record.kind === 'landing') {
    const url = ctx.landing.container.getBlobClient(landingPathOf(ctx, record)).url;
    // A backfill job's blob is routed as its job routes it.
    const options = record.jobId ? await jobIngestOptions(ctx, record.jobId) : undefined;
    const outcome = await ingestLandingBlob(ctx, log, { url, eTag: record.eTag }, options);
    if (outcome.outcome !== 'ignored') {
      summary.reenqueued += outcome.outcome === 'queued' ? 1 : 0;
      summary.quarantined += outcome.outcome === 'rejected' ? 1 : 0;
      return;
    }
  } else {
    const enqueue = enqueueStored(ctx, record);
    if (enqueue) {
      const taken = await ctx.tracking.takeOver(record);
      if (taken !== 'queued') await ctx.tracking.queue(taken, enqueue);
      log.info(
        JSON.stringify({ event: 'IngestionReenqueued', sourceId: record.sourceId, source: sourceOf(record) }),
      );
      summary.reenqueued += 1;
      return;
    }
  }
  await ctx.tracking.fail(record, {
    event: 'IngestionAbandoned',
    finalStatus: 'Abandoned',
    details: 'The source was never queued, and its data is no longer there (deleted or overwritten).',
    action: 'closed',
    key: 'abandoned',
  });
  summary.abandoned += 1;
}

async function settle(
  ctx: AppContext,
  log: Logger,
  record: TrackingRecord,
  status: IngestionStatus,
  summary: SweepSummary,
): Promise<void> {
  const now = ctx.clock();
  let step = statusStep(record, status, now, {
    maxRequeueAttempts: ctx.config.maxRequeueAttempts,
    staleAfterMs: ctx.config.staleAfterMinutes * 60_000,
  });
  const enqueue = enqueueStored(ctx, record);
  if (step === 'requeue' && (!enqueue || !(await storedVersionIsThere(ctx, record)))) step = 'fail';
  switch (step) {
    case 'succeed':
      await ctx.tracking.succeed(
        record,
        status,
        record.kind === 'landing' ? () => afterLandingSuccess(ctx, record) : undefined,
      );
      summary.succeeded += 1;
      return;
    case 'requeue':
      if (enqueue) await ctx.tracking.requeue(record, status, ctx.config.maxRequeueAttempts, enqueue);
      summary.requeued += 1;
      return;
    case 'fail': {
      // A landing blob that failed for good leaves the landing container, with the reason on it.
      const quarantined =
        record.kind === 'landing' && status.status === 'Failed' && status.failureStatus === 'Permanent';
      const reason = {
        code: status.errorCode ?? 'Failed',
        message: `${status.errorCode ?? 'Failed'}: ${status.details ?? ''}`,
      };
      await ctx.tracking.fail(
        record,
        {
          event: 'IngestionFailed',
          finalStatus: status.status,
          errorCode: status.errorCode,
          failureStatus: status.failureStatus,
          details: status.details,
          action: quarantined ? `quarantined to ${ctx.config.landingFailedContainer}` : 'reported',
          key: `final-${record.requeueCount}`,
        },
        quarantined ? () => quarantineSource(ctx, record, reason) : undefined,
      );
      if (quarantined) summary.quarantined += 1;
      summary.failed += 1;
      log.debug(`Closed ${record.sourceId} as ${status.status}`);
      return;
    }
    case 'stuck':
      await ctx.tracking.reportStuck(
        record,
        `Still ${status.status} after ${ctx.config.staleAfterMinutes} minutes.`,
      );
      summary.stuck += 1;
      summary.pending += 1;
      return;
    case 'pending':
      summary.pending += 1;
  }
}
