import { namedRouteToday } from './databaseOnly';
import type { SourceKindPolicy } from './sourceKind';
import { readStatusRows } from './statuses';

/**
 * A blob reference (`/blobs`): the caller's blob, queued by its URL with the caller's SAS, which the app
 * does not keep. So nothing the app keeps can queue it again: no requeue, no retry, no redrive.
 */
export const blobReferencePolicy: SourceKindPolicy = {
  kind: 'blob',
  enqueueStored: () => undefined,
  stillStored: () => Promise.resolve(false),
  routeToday: (ctx, record) => Promise.resolve(namedRouteToday(ctx, record)),
  whenFailed: () => ({ action: 'reported', quarantines: false }),
  whenIngested: () => undefined,
  retry: () =>
    Promise.resolve({
      kind: 'notRetryable',
      code: 'NotRetryable',
      why: 'A blob reference keeps no SAS, so the app cannot read it again: send it to /blobs again.',
    }),
  redrive: () =>
    Promise.resolve({
      outcome: 'not stored',
      details: 'The source was never queued, and the app keeps no SAS to queue it with: send it again.',
    }),
  readStatuses: readStatusRows,
};
