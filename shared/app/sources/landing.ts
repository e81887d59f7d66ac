import type { SourcePorts } from '../ports';
import { afterLandingSuccess } from '../landing/afterSuccess';
import { landingPathOf } from '../landing/blobPlace';
import { landingSourceId } from '../landing/landingBlob';
import { quarantine, restoreQuarantined } from '../landing/quarantine';
import type { TrackingRecord } from '../tracking/trackingRecord';
import { blobSourcePolicy } from './blobSources';
import type { FailureCause } from './sourceKind';
import { takeOnBlob } from './takeOnBlob';

/** Moves the blob to the quarantine container, if it is still the version that failed. */
async function quarantineBlob(
  ctx: SourcePorts,
  record: TrackingRecord,
  failure: FailureCause,
): Promise<void> {
  if (!record.eTag) return;
  await quarantine(ctx, {
    path: landingPathOf(ctx, record),
    eTag: record.eTag,
    reason: failure.message,
    errorCode: failure.code,
    sourceId: record.sourceId,
  });
}

/**
 * A blob dropped into the landing container, the app's own: one that failed for good is quarantined (to
 * LANDING_FAILED_CONTAINER, with the reason on it), an ingested one kept, deleted, moved or tagged
 * (LANDING_ON_SUCCESS); a retry of a quarantined one moves it back, which makes it a new blob version.
 */
export const landingPolicy = blobSourcePolicy({
  kind: 'landing',

  takeOnOptions: () => Promise.resolve({}),

  whenFailed: (ctx, record, failure) =>
    failure.permanent
      ? {
          action: `quarantined to ${ctx.config.landingFailedContainer}`,
          act: () => quarantineBlob(ctx, record, failure),
          quarantines: true,
        }
      : { action: 'reported', quarantines: false },

  whenIngested: (ctx, record) => () => afterLandingSuccess(ctx, record),

  // Not in landing as it failed: quarantined. Moved back, it is a new version, so a new source, linked from
  // the old one (`retriedAs`), and taken on now rather than when its event arrives (the answer names it).
  async retryMoved(ctx, log, record) {
    const path = landingPathOf(ctx, record);
    const back = path
      ? await restoreQuarantined(ctx, path, record.sourceId)
      : ({ restored: 'gone' } as const);
    if (back.restored === 'exists')
      return {
        kind: 'conflict',
        code: 'LandingBlobExists',
        why: `A blob was uploaded at ${path} since: it is ingested on its own; delete it first to retry the old one.`,
      };
    if (back.restored === 'gone')
      return {
        kind: 'gone',
        code: 'SourceGone',
        why: `The blob is neither in ${ctx.config.landingContainer} nor in ${ctx.config.landingFailedContainer} any more: upload it again.`,
      };
    const url = ctx.landing.container.getBlobClient(path).url;
    const newSourceId = landingSourceId(record.sourceUrl ?? url, back.eTag);
    await ctx.tracking.retriedAs(record, newSourceId);
    await takeOnBlob(ctx, log, { url, eTag: back.eTag });
    log.info(
      JSON.stringify({
        event: 'IngestionRetried',
        sourceId: newSourceId,
        replaces: record.sourceId,
        kind: record.kind,
      }),
    );
    return { kind: 'retried', sourceId: newSourceId, replaces: record.sourceId };
  },
});
