import { classify, type IngestError } from '../../errors';
import type { IngestionStatus } from '../../ingest/types';
import type { Logger } from '../../log';
import type { SweepPorts } from '../ports';
import { poisonCount } from '../landing/poisonQueue';
import { policyOf } from '../sources/registry';
import { readingOperationsOnce } from '../sources/statuses';
import { rejectionReport } from '../sources/takeOnBlob';
import { sourceOf } from '../tracking/trackedSources';
import { isTrackingConflict, type OpenEntry, type TrackingRecord } from '../tracking/trackingRecord';
import { FailureLog, type LoggedFailure } from './failureLog';
import { settle } from './settle';
import { drainStatusReports, type DrainOptions } from './statusReports';
import { openStep, sweepErrorStep, type GiveUpLimits, type SweepTimings } from './sweepDecision';
import { emptySummary, type SweepSummary } from './sweepSummary';

export type { SweepSummary } from './sweepSummary';

export interface SweepOptions {
  /** A push still 'queuing' after this long was abandoned by a crash. @default the lease (LEASE_SECONDS) */
  readonly abandonAfterMs?: number;
  /** A stored source not queued after this long is queued by the sweep. @default half the lease */
  readonly reenqueueAfterMs?: number;
  /** Items examined at once. @default 16 */
  readonly concurrency?: number;
  /** How the status queues are drained (STATUS_MODE queue and failures-only). */
  readonly drain?: DrainOptions;
  /** When to give up on a source whose step keeps failing. @default 3 permanent, or 20 transient over 2 x the stale limit */
  readonly giveUp?: Partial<GiveUpLimits>;
}

/**
 * One pass over the open sources (only the open list is read, so the cost follows open items, not history).
 * Every transition goes through the lifecycle, whose reports have stable keys: a pass that stops half-way
 * and runs again reports nothing twice.
 */
export async function runSweep(
  given: SweepPorts,
  log: Logger,
  options: SweepOptions = {},
): Promise<SweepSummary> {
  // One read per REST operation for the whole sweep, however many of its sources are open.
  const ctx = readingOperationsOnce(given);
  await ctx.ready();
  const summary = emptySummary();
  const timings: SweepTimings = {
    abandonAfterMs: options.abandonAfterMs ?? ctx.tracking.leaseMs,
    redriveAfterMs: options.reenqueueAfterMs ?? ctx.tracking.leaseMs / 2,
  };
  const concurrency = options.concurrency ?? 16;
  const giveUp: GiveUpLimits = {
    permanentSweeps: options.giveUp?.permanentSweeps ?? 3,
    transientSweeps: options.giveUp?.transientSweeps ?? 20,
    transientMs: options.giveUp?.transientMs ?? 2 * ctx.config.staleAfterMinutes * 60_000,
  };
  const mode = ctx.config.statusMode;
  // With queue reports, the reports close what is done: the open list is read only for what has waited
  // long enough to need something (a redrive, an abandon, a stuck report, a close by silence), so a source
  // ingested in time costs no read here.
  if (mode !== 'table') await drainStatusReports(ctx, log, summary, options.drain);
  // Asked in failures-only mode, and for a v2 submission whose answer was lost.
  const failureLog = ctx.engine ? new FailureLog(ctx.engine, log) : undefined;
  const quietMs =
    mode === 'table'
      ? 0
      : Math.min(
          timings.abandonAfterMs,
          timings.redriveAfterMs,
          ctx.config.staleAfterMinutes * 60_000,
          ...(mode === 'failures-only' ? [ctx.config.settleMarginMinutes * 60_000] : []),
        );
  const inFlight = new Set<Promise<void>>();
  let oldestListed = ctx.clock();
  for await (const entry of ctx.tracking.openEntries()) {
    summary.open += 1;
    oldestListed = Math.min(oldestListed, entry.since.getTime());
    // Listed no earlier than its row last changed: younger than every limit, nothing is due.
    if (ctx.clock() - entry.since.getTime() < quietMs) {
      summary.pending += 1;
      continue;
    }
    const work: Promise<void> = sweepOne(ctx, log, entry, summary, timings, failureLog).catch(
      (e: unknown) => {
        if (isTrackingConflict(e)) return; // changed meanwhile (a retry, another sweep): next pass
        return afterSweepError(ctx, log, entry, classify(e), summary, giveUp);
      },
    );
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
  ctx.tracking.telemetry.swept(summary.open, (ctx.clock() - oldestListed) / 1000, summary.poisonMessages);
  log.info(JSON.stringify({ event: 'SweepCompleted', ...summary }));
  return summary;
}

/**
 * A sweep step failed on a source: said (with its code, never an empty message), counted on its open entry,
 * and once that is past the limits, the source is given up: reported once and closed unresolved, so no
 * source stays open for ever on an error no sweep gets past.
 */
async function afterSweepError(
  ctx: SweepPorts,
  log: Logger,
  entry: OpenEntry,
  error: IngestError,
  summary: SweepSummary,
  limits: GiveUpLimits,
): Promise<void> {
  summary.errors += 1;
  const now = ctx.clock();
  const failures = { count: (entry.sweepErrors ?? 0) + 1, firstAt: entry.firstSweepError?.getTime() ?? now };
  log.error(
    JSON.stringify({
      event: 'SweepItemError',
      sourceId: entry.sourceId,
      code: error.code,
      transient: error.transient,
      sweeps: failures.count,
      message: error.message || error.code,
    }),
  );
  if (sweepErrorStep(failures, error.transient, now, limits) === 'count') {
    await ctx.tracking.noteSweepError(entry, failures.count, new Date(failures.firstAt));
    return;
  }
  try {
    // The row's own reads may be what fails: then it is given up by its id alone.
    const record = await ctx.tracking.get(entry.sourceId).catch(() => undefined);
    await ctx.tracking.giveUp(entry.sourceId, record, error, failures.count);
    summary.unresolved += 1;
  } catch (e) {
    log.error(
      JSON.stringify({
        event: 'SweepItemError',
        sourceId: entry.sourceId,
        code: classify(e).code,
        message: `giving the source up failed: ${classify(e).message || classify(e).code}`,
      }),
    );
  }
}

async function sweepOne(
  ctx: SweepPorts,
  log: Logger,
  entry: OpenEntry,
  summary: SweepSummary,
  timings: SweepTimings,
  failureLog: FailureLog | undefined,
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
      const handling = policyOf(record).whenFailed(ctx, record, {
        ...reason,
        rejected: true,
        permanent: true,
      });
      await ctx.tracking.fail(record, rejectionReport(reason, handling.action), handling.act);
      if (handling.quarantines) summary.quarantined += 1;
      return;
    }
    case 'abandon': {
      // Nothing of it was stored, but a blob reference is queued straight from here (the data is the
      // caller's blob): its holder may have queued it and stopped before the row said so. Asked first, as
      // any taker asks; what the service knows is settled by its status, not abandoned.
      const taken = await ctx.tracking.takeOver(record);
      if (taken === 'queued') return;
      await ctx.tracking.fail(taken, {
        event: 'IngestionAbandoned',
        finalStatus: 'Abandoned',
        details:
          'The source was taken on but nothing was stored or queued (the process stopped): send it again.',
        action: 'closed',
        key: 'abandoned',
      });
      summary.abandoned += 1;
      return;
    }
    case 'redrive':
      await redrive(ctx, log, record, summary);
      return;
    case 'read-status':
      if (record.submission !== undefined && !record.operation) {
        // Submitted over REST, its answer never recorded: the submission's extents tell.
        await settleBySubmission(ctx, log, record, summary, failureLog);
        return;
      }
      if (record.operation) {
        // Queued over REST: its operation says, whatever STATUS_MODE is (the mode is v1's reporting).
        const [status] = await policyOf(record).readStatuses(ctx, [record]);
        const said = status ?? { sourceId: record.sourceId, status: 'Pending' as const };
        if (said.status === 'Pending' && record.submission !== undefined && failureLog) {
          // Still Pending past the stale limit, or an operation the service no longer knows (its record
          // expired, a restarted stand-in): the submission's extents and failures say before it is stuck.
          await settleBySubmission(ctx, log, record, summary, failureLog);
          return;
        }
        await settle(ctx, log, record, said, summary);
        return;
      }
      switch (ctx.config.statusMode) {
        case 'table':
          await settle(
            ctx,
            log,
            record,
            (await policyOf(record).readStatuses(ctx, [record]))[0] ?? {
              sourceId: record.sourceId,
              status: 'Pending',
            },
            summary,
          );
          return;
        case 'queue':
          // No report yet (the drain closed every source that has one): stuck once past the stale limit.
          await settle(ctx, log, record, { sourceId: record.sourceId, status: 'Pending' }, summary);
          return;
        case 'failures-only':
          if (!failureLog) throw new Error("STATUS_MODE 'failures-only' needs KUSTO_ENGINE_URI");
          await settleBySilence(ctx, log, record, summary, failureLog);
      }
  }
}

/**
 * failures-only: a queued source with no failure report is taken as ingested once its table's batching
 * window and SETTLE_MARGIN_MINUTES have passed, unless `.show ingestion failures` knows a failure of it the
 * queue never brought. A source whose message may never have been sent (uncertain) is never taken as
 * ingested by silence: past the stale limit it is queued again.
 */
async function settleBySilence(
  ctx: SweepPorts,
  log: Logger,
  record: TrackingRecord,
  summary: SweepSummary,
  failureLog: FailureLog,
): Promise<void> {
  const pending = { sourceId: record.sourceId, status: 'Pending' } as const;
  if (record.uncertain === true) {
    await settle(ctx, log, record, pending, summary);
    return;
  }
  const windowMs = await failureLog.batchingWindowMs(record.database, record.table);
  const marginMs = ctx.config.settleMarginMinutes * 60_000;
  if (ctx.clock() - record.updatedOn.getTime() < windowMs + marginMs) {
    summary.pending += 1;
    return;
  }
  const failure = await failureOfAttempt(failureLog, record);
  if (failure) {
    summary.missedFailures += 1;
    log.warn(
      JSON.stringify({
        event: 'MissedFailureReport',
        sourceId: record.sourceId,
        errorCode: failure.errorCode,
        operationId: failure.operationId,
      }),
    );
    await settle(ctx, log, record, failedStatus(record, failure), summary);
    return;
  }
  const minutes = (ms: number) => Math.round(ms / 6_000) / 10;
  await settle(
    ctx,
    log,
    record,
    {
      sourceId: record.sourceId,
      status: 'Succeeded',
      details: `no failure reported within the batching window (${minutes(windowMs)} min) and ${minutes(marginMs)} min more`,
    },
    summary,
  );
}

/**
 * Ingest v2: a source whose REST submission was recorded but whose answer never was (lost, or its holder
 * stopped first), so it has no operation to read (docs/lifecycle.md, 'The app on v2'). Until the stale
 * limit it waits: the service may still hold it. Past it, the engine is asked: a failure it recorded of
 * the source's blob since this attempt began fails the source; otherwise extents tagged with the submission
 * mean the submission was accepted and, its blob not failed, ingested; no extents mean nothing of it was
 * ingested, so it is queued again (it is uncertain).
 */
async function settleBySubmission(
  ctx: SweepPorts,
  log: Logger,
  record: TrackingRecord,
  summary: SweepSummary,
  failureLog: FailureLog | undefined,
): Promise<void> {
  const pending = { sourceId: record.sourceId, status: 'Pending' } as const;
  const tag = record.submission ?? '';
  if (ctx.clock() - record.updatedOn.getTime() <= ctx.config.staleAfterMinutes * 60_000) {
    await settle(ctx, log, record, pending, summary);
    return;
  }
  if (!failureLog)
    throw new Error(
      `Source ${record.sourceId} was submitted over REST and its answer was lost: settling it asks the engine, so set KUSTO_ENGINE_URI.`,
    );
  // A failure of the blob settles it whether or not other blobs of the submission made extents (a
  // submission whose every blob failed has none); only without one do the extents decide.
  const failure = await failureOfAttempt(failureLog, record);
  if (!failure && (await failureLog.taggedExtents(record.database, record.table, tag)) === 0) {
    await settle(ctx, log, record, pending, summary);
    return;
  }
  log.warn(
    JSON.stringify({
      event: 'SubmissionSettledByEvidence',
      sourceId: record.sourceId,
      submission: tag,
      outcome: failure ? 'failed' : 'ingested',
    }),
  );
  await settle(
    ctx,
    log,
    record,
    failure
      ? failedStatus(record, failure)
      : {
          sourceId: record.sourceId,
          status: 'Succeeded',
          details: `its submission's answer was lost; the submission was accepted (extents tagged ${tag}) and no failure of it is recorded`,
        },
    summary,
  );
}

/** A failure the engine recorded of the source's blob since its current attempt began. */
function failureOfAttempt(
  failureLog: FailureLog,
  record: TrackingRecord,
): Promise<LoggedFailure | undefined> {
  return failureLog.failureOf(
    { database: record.database, table: record.table, path: sourceOf(record) },
    attemptStart(record),
  );
}

/** The engine's record of a failure, as the status the service would have reported. */
function failedStatus(record: TrackingRecord, failure: LoggedFailure): IngestionStatus {
  return {
    sourceId: record.sourceId,
    status: 'Failed',
    failureStatus: failure.failureKind === 'Transient' ? 'Transient' : 'Permanent',
    ...(failure.errorCode !== undefined && { errorCode: failure.errorCode }),
    ...(failure.details !== undefined && { details: failure.details }),
    ...(failure.operationId !== undefined && { operationId: failure.operationId }),
  };
}

/** When the current attempt began: the last re-queue or retry, else the source's creation. */
function attemptStart(record: TrackingRecord): number {
  const started = [...(record.history ?? [])]
    .reverse()
    .find((h) => h.outcome === 'requeued' || h.outcome === 'retried');
  return started ? Date.parse(started.at) : record.createdOn.getTime();
}

/** A source stored (or taken on) but not queued, whose holder is gone: its kind takes it on again. */
async function redrive(
  ctx: SweepPorts,
  log: Logger,
  record: TrackingRecord,
  summary: SweepSummary,
): Promise<void> {
  const redriven = await policyOf(record).redrive(ctx, log, record);
  switch (redriven.outcome) {
    case 'queued':
      summary.reenqueued += 1;
      return;
    case 'rejected':
      summary.quarantined += 1;
      return;
    case 'unchanged':
      return;
    case 'not stored':
      await ctx.tracking.fail(record, {
        event: 'IngestionAbandoned',
        finalStatus: 'Abandoned',
        details: redriven.details,
        action: 'closed',
        key: 'abandoned',
      });
      summary.abandoned += 1;
  }
}
