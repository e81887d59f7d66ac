import type { IngestionStatus } from '../../ingest/types';
import type { Logger } from '../../log';
import type { AppContext } from '../context';
import { afterLandingSuccess } from '../landing/afterSuccess';
import { quarantineSource } from '../landing/handleLandingEvent';
import { enqueueStored, storedVersionIsThere } from '../storedSource';
import type { TrackingRecord } from '../tracking/trackingRecord';
import { statusStep } from './sweepDecision';
import type { SweepSummary } from './sweepSummary';

/**
 * Acts on what the service said of a queued source (a status row, a queue report, or the absence of a
 * failure): closes it as ingested, queues it again, closes it as failed, or reports it stuck.
 */
export async function settle(
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
      if (quarantined) {
        summary.quarantined += 1;
        ctx.tracking.telemetry.quarantined(record);
      }
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
