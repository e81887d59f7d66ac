import type { Logger } from '../../log';
import { listSources } from './sourceQueries';
import type { AppContext } from '../ports';
import type { SourceCategory } from '../tracking/trackingRecord';
import { retrySource } from './retrySource';

export interface RetryManyRequest {
  readonly database: string;
  readonly table?: string | undefined;
  /** Only sources that failed with this error code (any casing). */
  readonly errorCode?: string | undefined;
  /** At most this many per call: a bigger backlog takes several calls. @default 500 */
  readonly limit?: number;
}

export interface RetryManyResult {
  readonly retried: number;
  /** Matched but not retried, by why (`StagedBlobGone`, `NotRetryable`, `LandingBlobExists`, ...). */
  readonly notRetried: Readonly<Record<string, number>>;
  /** More matched than `limit`: call again. */
  readonly more: boolean;
}

/** The categories a bulk retry reads: failed by the service, or rejected after acceptance. */
const FAILED_CATEGORIES: readonly SourceCategory[] = ['failed', 'rejected'];

/**
 * Retries every failed source of a database (and table, and error code) once their cause is fixed, one by
 * one through `retrySource`, so each is tracked and reported like a single retry.
 */
export async function retryMany(
  ctx: AppContext,
  log: Logger,
  request: RetryManyRequest,
): Promise<RetryManyResult> {
  await ctx.ready();
  const limit = request.limit ?? 500;
  const wanted = request.errorCode?.toLowerCase();
  let retried = 0;
  let seen = 0;
  const notRetried: Record<string, number> = {};
  for (const category of FAILED_CATEGORIES) {
    let continuationToken: string | undefined;
    do {
      const page = await listSources(ctx, {
        database: request.database,
        table: request.table,
        category,
        pageSize: 100,
        continuationToken,
      });
      continuationToken = page.continuationToken;
      for (const item of page.items) {
        if (wanted !== undefined && item.errorCode?.toLowerCase() !== wanted) continue;
        if (seen >= limit) return { retried, notRetried, more: true };
        seen += 1;
        const outcome = await retrySource(ctx, log, item.sourceId);
        if (outcome.kind === 'retried') retried += 1;
        else {
          const why =
            'code' in outcome ? outcome.code : outcome.kind === 'notFailed' ? 'NotFailed' : 'NotFound';
          notRetried[why] = (notRetried[why] ?? 0) + 1;
        }
      }
    } while (continuationToken);
  }
  return { retried, notRetried, more: false };
}
