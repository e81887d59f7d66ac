import type { Logger } from '../../log';
import type { SourcePorts } from '../ports';
import { factsOf } from '../sources/kindFacts';
import { policyOf } from '../sources/registry';
import type { RetryOutcome } from '../sources/sourceKind';
import type { TrackingRecord } from '../tracking/trackingRecord';

export type { RetryOutcome } from '../sources/sourceKind';

/** Final states an operator may retry: the service failed it, or the app rejected it after taking it on. */
export const RETRYABLE_STATUSES: ReadonlySet<string> = new Set(['Failed', 'PartiallySucceeded', 'Rejected']);

/**
 * Whether a listed source is one an operator may retry, as far as its listing says (the console offers Retry
 * on these only): it ended in failure, was not retried as a new source already, and the app keeps what it
 * takes to queue it again (a blob reference keeps no SAS).
 */
export function isRetryable(
  source: Pick<TrackingRecord, 'state' | 'finalStatus' | 'kind' | 'retriedAs'>,
): boolean {
  return (
    source.state === 'closed' &&
    source.retriedAs === undefined &&
    RETRYABLE_STATUSES.has(source.finalStatus ?? '') &&
    factsOf(source).requeueable
  );
}

/**
 * Retries one source that ended in failure once its cause is fixed (docs/contracts.md, 'Operator API'): a
 * push is queued again from its temp blob under the same source id, as its next attempt; a landing blob
 * still in landing likewise; a quarantined landing blob is moved back into landing, which makes a new blob
 * version and so a new source, linked from the old one (`retriedAs`); a backfilled blob of another container
 * (never moved) is queued again from its URL, if it is still the same version. Tracked and reported like
 * any other.
 */
export async function retrySource(ctx: SourcePorts, log: Logger, sourceId: string): Promise<RetryOutcome> {
  await ctx.ready();
  const record = await ctx.tracking.get(sourceId);
  if (!record) return { kind: 'notFound' };
  return notRetryable(record) ?? policyOf(record).retry(ctx, log, record);
}

function notRetryable(record: TrackingRecord): RetryOutcome | undefined {
  const finalStatus = record.finalStatus;
  if (record.state !== 'closed' || finalStatus === undefined)
    return {
      kind: 'notFailed',
      state: record.state,
      finalStatus,
      why: 'It is still open: the sweep settles it.',
    };
  if (record.retriedAs)
    return {
      kind: 'notFailed',
      state: record.state,
      finalStatus,
      why: `It was retried already, as ${record.retriedAs}.`,
    };
  if (!RETRYABLE_STATUSES.has(finalStatus))
    return {
      kind: 'notFailed',
      state: record.state,
      finalStatus,
      why:
        finalStatus === 'Abandoned'
          ? 'Nothing of it was stored: send the data again.'
          : `It ended ${finalStatus}: only failed sources are retried.`,
    };
  return undefined;
}
