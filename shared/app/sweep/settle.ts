import type { IngestionStatus } from '../../ingest/types';
import type { Logger } from '../../log';
import type { SourcePorts } from '../ports';
import { policyOf } from '../sources/registry';
import type { TrackingRecord } from '../tracking/trackingRecord';
import { statusStep } from './sweepDecision';
import type { SweepSummary } from './sweepSummary';

/**
 * Acts on what the service said of a queued source (a status row, a queue report, or the absence of a
 * failure): closes it as ingested, queues it again, closes it as failed, or reports it stuck.
 */
export async function settle(
  ctx: SourcePorts,
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
  const policy = policyOf(record);
  const enqueue = policy.enqueueStored(ctx, record);
  if (step === 'requeue' && (!enqueue || !(await policy.stillStored(ctx, record)))) step = 'fail';
  switch (step) {
    case 'succeed':
      await ctx.tracking.succeed(record, status, policy.whenIngested(ctx, record));
      summary.succeeded += 1;
      return;
    case 'requeue':
      if (enqueue) await ctx.tracking.requeue(record, status, ctx.config.maxRequeueAttempts, enqueue);
      summary.requeued += 1;
      return;
    case 'fail': {
      // What becomes of its data is its kind's: a landing blob that failed for good is quarantined.
      const handling = policy.whenFailed(ctx, record, {
        code: status.errorCode ?? 'Failed',
        message: `${status.errorCode ?? 'Failed'}: ${status.details ?? ''}`,
        rejected: false,
        permanent: status.status === 'Failed' && status.failureStatus === 'Permanent',
      });
      await ctx.tracking.fail(
        record,
        {
          event: 'IngestionFailed',
          finalStatus: status.status,
          errorCode: status.errorCode,
          failureStatus: status.failureStatus,
          details: status.details,
          action: handling.action,
          key: `final-${record.requeueCount}`,
        },
        handling.act,
      );
      if (handling.quarantines) {
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
