import { BoundedPool } from '../../boundedPool';
import { classify } from '../../errors';
import type { Logger } from '../../log';
import type { ReceivedStatusMessage } from '../../status/statusQueue';
import type { SourcePorts } from '../ports';
import { isTrackingConflict, type TrackingRecord } from '../tracking/trackingRecord';
import { settle } from './settle';
import type { SweepSummary } from './sweepSummary';

export interface DrainOptions {
  /** Messages read in one sweep at most; the rest wait for the next. @default 100_000 */
  readonly maxMessages?: number;
  /**
   * How long a received message stays invisible. A report for someone else's source is not deleted: its
   * owner sees it again after this long. @default 120
   */
  readonly visibilityTimeoutInSeconds?: number;
  /** Reports acted on at once. @default 16 */
  readonly concurrency?: number;
}

/**
 * Drains the service's success and failure queues (STATUS_MODE queue and failures-only) and acts on every
 * report that names a source we track, deleting it once acted on. What is not ours is left in the queue,
 * counted: the queues are shared by every client of the cluster. A report that cannot be acted on now (its
 * source is being queued this very moment, or an outage) is left too, and comes back in a later sweep.
 */
export async function drainStatusReports(
  ctx: SourcePorts,
  log: Logger,
  summary: SweepSummary,
  options: DrainOptions = {},
): Promise<void> {
  const maxMessages = options.maxMessages ?? 100_000;
  const concurrency = options.concurrency ?? 16;
  // Messages left in the queue come back once their invisibility ends: each is counted once per sweep.
  const seen = new Set<string>();
  // One pool across batches: the next batch is received while the last one's reports are acted on (those
  // stay invisible meanwhile, so they are not received again).
  const pool = new BoundedPool(concurrency);
  while (seen.size < maxMessages) {
    const batch = await ctx.ingest.receiveStatusReports({
      visibilityTimeoutInSeconds: options.visibilityTimeoutInSeconds ?? 120,
    });
    const fresh = batch.filter((m) => !seen.has(m.messageId));
    if (fresh.length === 0) break;
    for (const message of fresh) {
      seen.add(message.messageId);
      await pool.run(() =>
        actOn(ctx, log, message, summary).catch((e: unknown) => {
          if (isTrackingConflict(e)) return; // changed meanwhile: the report comes back next sweep
          summary.errors += 1;
          log.error(
            JSON.stringify({
              event: 'StatusReportError',
              sourceId: message.report?.sourceId,
              message: classify(e).message,
            }),
          );
        }),
      );
    }
  }
  await pool.drain();
}

async function actOn(
  ctx: SourcePorts,
  log: Logger,
  message: ReceivedStatusMessage,
  summary: SweepSummary,
): Promise<void> {
  const report = message.report;
  if (!report) {
    summary.foreignReports += 1; // not a status report: not ours to read, nor to delete
    return;
  }
  summary.reports += 1;
  const record = await ctx.tracking.get(report.sourceId);
  if (!record) {
    summary.foreignReports += 1;
    return;
  }
  if (record.state === 'closed') {
    // failures-only closes a source as ingested when no failure came in time: one that comes later still
    // is reported, never dropped. Any other report for a closed source is a repeat.
    if (
      ctx.config.statusMode === 'failures-only' &&
      report.status === 'Failed' &&
      record.finalStatus === 'Succeeded' &&
      record.details !== 'streamed'
    ) {
      await ctx.tracking.fail(record, {
        event: 'IngestionFailed',
        finalStatus: 'Failed',
        errorCode: report.errorCode,
        failureStatus: report.failureStatus,
        details: `reported after the source was closed as ingested (no failure within its batching window): ${report.details ?? ''}`,
        action: 'reported',
        key: 'late-failure',
      });
      summary.failed += 1;
    }
    await message.delete();
    return;
  }
  // Being queued right now (the report outran the row's update): the next sweep acts on it.
  if (ctx.tracking.isLeased(record)) return;
  if (isEarlierAttempt(record, report)) {
    await message.delete(); // acted on already (a re-queue), then not deleted: never a second re-queue
    return;
  }
  await settle(ctx, log, record, report, summary);
  await message.delete();
}

/**
 * Whether a failure report is of an attempt before the current one: it failed before the current attempt
 * was queued. The service's clock and ours are compared; an attempt is queued at least a batching window
 * before the service can fail it, far more than the skew of two synchronised clocks.
 */
function isEarlierAttempt(
  record: Pick<TrackingRecord, 'history'>,
  report: NonNullable<ReceivedStatusMessage['report']>,
): boolean {
  if (report.status !== 'Failed' || report.at === undefined) return false;
  const started = [...(record.history ?? [])]
    .reverse()
    .find((h) => h.outcome === 'requeued' || h.outcome === 'retried');
  if (!started) return false;
  return Date.parse(report.at) < Date.parse(started.at);
}
