import { isRetryable } from '../../../shared/app/operator/retrySource';
import type { SourceKind } from '../../../shared/app/tracking/trackingRecord';

describe('isRetryable: where the console offers Retry', () => {
  const closed = (finalStatus: string, kind: SourceKind = 'http') => ({
    state: 'closed' as const,
    finalStatus,
    kind,
  });

  it('is a source that ended Failed, PartiallySucceeded or Rejected, of a kind the app can queue again', () => {
    for (const status of ['Failed', 'PartiallySucceeded', 'Rejected'])
      for (const kind of ['http', 'landing', 'backfill'] as const)
        expect(isRetryable(closed(status, kind))).toBe(true);
  });

  it('is not one that succeeded, was abandoned, canceled or left unresolved, is still open, or is a blob reference', () => {
    for (const status of ['Succeeded', 'Skipped', 'Abandoned', 'Canceled', 'Unresolved'])
      expect(isRetryable(closed(status))).toBe(false);
    expect(isRetryable({ state: 'queued', finalStatus: undefined, kind: 'http' })).toBe(false);
    expect(isRetryable(closed('Failed', 'blob'))).toBe(false); // it keeps no SAS to queue it with
    expect(isRetryable({ ...closed('Failed', 'landing'), retriedAs: 'new-source' })).toBe(false);
  });
});
