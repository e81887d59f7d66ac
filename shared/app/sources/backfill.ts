import { jobIngestOptions } from '../backfill/backfillJob';
import { blobSourcePolicy } from './blobSources';

/** What becomes of a blob outside the landing container that failed: nothing; it is retried by its URL. */
const LEFT_IN_PLACE = 'reported; the blob is left where it is (not the landing container)';

/**
 * A blob a backfill job found in another container (the user's): read, never moved, deleted or tagged;
 * routed and placed as its job says. A failure is reported and the blob left; a retry queues the same
 * version again by its URL, if it is still there.
 */
export const backfillPolicy = blobSourcePolicy({
  kind: 'backfill',

  takeOnOptions: (ctx, record) =>
    record.jobId === undefined ? Promise.resolve(undefined) : jobIngestOptions(ctx, record.jobId),

  whenFailed: (_ctx, _record, failure) => ({
    action: failure.rejected ? LEFT_IN_PLACE : 'reported',
    quarantines: false,
  }),

  whenIngested: () => undefined,

  retryMoved: (_ctx, _log, record) =>
    Promise.resolve({
      kind: 'gone',
      code: 'SourceGone',
      why: `The blob ${record.sourceUrl ?? ''} was changed or deleted since: backfill it again (its new version is a new source).`,
    }),
});
