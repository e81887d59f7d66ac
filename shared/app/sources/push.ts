import type { SourcePorts } from '../ports';
import { sourceOf } from '../tracking/trackedSources';
import type { TrackingRecord } from '../tracking/trackingRecord';
import { namedRouteToday } from './databaseOnly';
import type { SourceKindPolicy } from './sourceKind';
import { readStatusRows } from './statuses';

/** The blob a push was staged in (Kusto's temp storage), when it got that far. */
const stagedOf = (record: TrackingRecord) =>
  record.blobPath === undefined
    ? undefined
    : { sourceId: record.sourceId, blobPath: record.blobPath, rawDataSize: record.rawDataSize };

/**
 * An HTTP push: its body is staged in Kusto's temp storage and queued from there; the stage is what a retry
 * or a redrive queues again (signed anew), for as long as the service keeps it.
 */
export const pushPolicy: SourceKindPolicy = {
  kind: 'http',

  enqueueStored(ctx, record) {
    const staged = stagedOf(record);
    return staged && ((call) => ctx.ingest.ingestUploaded(staged, record.props, call));
  },

  stillStored: (_ctx, record) => Promise.resolve(record.blobPath !== undefined),

  routeToday: (ctx, record) => Promise.resolve(namedRouteToday(ctx, record)),

  whenFailed: () => ({ action: 'reported', quarantines: false }),

  whenIngested: () => undefined,

  async retry(ctx: SourcePorts, log, record) {
    const route = namedRouteToday(ctx, record);
    if (route.kind === 'refused') return route;
    const enqueue = pushPolicy.enqueueStored(ctx, record);
    const staged = stagedOf(record);
    if (!enqueue || !staged || !(await ctx.ingest.uploadedExists(staged)))
      return {
        kind: 'gone',
        code: 'StagedBlobGone',
        why: 'The pushed data is no longer in Kusto’s temp storage (it is cleaned up): push it again.',
      };
    await ctx.tracking.retry(record, enqueue);
    log.info(JSON.stringify({ event: 'IngestionRetried', sourceId: record.sourceId, kind: record.kind }));
    return { kind: 'retried', sourceId: record.sourceId };
  },

  async redrive(ctx, log, record) {
    const enqueue = pushPolicy.enqueueStored(ctx, record);
    if (!enqueue)
      return {
        outcome: 'not stored',
        details: 'The source was never queued, and its data is no longer there (deleted or overwritten).',
      };
    const taken = await ctx.tracking.takeOver(record);
    if (taken !== 'queued') await ctx.tracking.queue(taken, enqueue);
    log.info(
      JSON.stringify({ event: 'IngestionReenqueued', sourceId: record.sourceId, source: sourceOf(record) }),
    );
    return { outcome: 'queued' };
  },

  readStatuses: readStatusRows,
};
