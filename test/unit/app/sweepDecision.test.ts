import { openStep, statusStep } from '../../../shared/app/sweep/sweepDecision';
import type { TrackingRecord } from '../../../shared/app/tracking/trackingRecord';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const MINUTE = 60_000;
const timings = { abandonAfterMs: 10 * MINUTE, redriveAfterMs: 5 * MINUTE };
const limits = { maxRequeueAttempts: 3, staleAfterMs: 120 * MINUTE };

function record(changes: Partial<TrackingRecord> = {}): TrackingRecord {
  return {
    sourceId: 's',
    kind: 'http',
    state: 'queued',
    database: 'db',
    table: 't',
    props: { database: 'db', table: 't', format: 'csv' },
    createdOn: new Date(NOW - MINUTE),
    updatedOn: new Date(NOW - MINUTE),
    requeueCount: 0,
    etag: 'e',
    ...changes,
  };
}
const ago = (minutes: number) => new Date(NOW - minutes * MINUTE);

describe('openStep: what the sweep does with an open source nobody holds', () => {
  it.each([
    ['a push taken on but never stored, recently', record({ state: 'queuing', updatedOn: ago(3) }), 'wait'],
    [
      'a push taken on but never stored, long ago',
      record({ state: 'queuing', updatedOn: ago(11) }),
      'abandon',
    ],
    [
      'a blob reference never queued, long ago',
      record({ kind: 'blob', state: 'queuing', updatedOn: ago(11) }),
      'abandon',
    ],
    [
      'a landing blob never queued, recently',
      record({ kind: 'landing', state: 'queuing', updatedOn: ago(1) }),
      'wait',
    ],
    [
      'a landing blob never queued, a while ago',
      record({ kind: 'landing', state: 'queuing', updatedOn: ago(6) }),
      'redrive',
    ],
    [
      'a rejection reported but not finished',
      record({ kind: 'landing', state: 'queuing', reportedFailure: 'rejected' }),
      'finish-rejection',
    ],
    ['a staged push, recently', record({ state: 'uploaded', updatedOn: ago(2) }), 'wait'],
    ['a staged push, a while ago', record({ state: 'uploaded', updatedOn: ago(6) }), 'redrive'],
    ['a queued source', record({ state: 'queued', updatedOn: ago(0) }), 'read-status'],
  ])('%s: %s', (_name, r, expected) => {
    expect(openStep(r, NOW, timings)).toBe(expected);
  });
});

describe('statusStep: what the sweep does once the service answered', () => {
  const status = (s: string, failureStatus?: string) =>
    ({ sourceId: 's', status: s, ...(failureStatus && { failureStatus }) }) as Parameters<
      typeof statusStep
    >[1];

  it.each([
    ['Succeeded', status('Succeeded'), record(), 'succeed'],
    ['Skipped', status('Skipped'), record(), 'succeed'],
    ['Failed, Transient', status('Failed', 'Transient'), record(), 'requeue'],
    ['Failed, Exhausted', status('Failed', 'Exhausted'), record(), 'requeue'],
    ['Failed, Permanent', status('Failed', 'Permanent'), record(), 'fail'],
    [
      'Failed, Transient, attempts used up',
      status('Failed', 'Transient'),
      record({ requeueCount: 3 }),
      'fail',
    ],
    [
      'Failed, Transient, a blob reference (no SAS kept)',
      status('Failed', 'Transient'),
      record({ kind: 'blob' }),
      'fail',
    ],
    [
      'PartiallySucceeded, Transient (never re-queued)',
      status('PartiallySucceeded', 'Transient'),
      record(),
      'fail',
    ],
    ['Pending, recently', status('Pending'), record(), 'pending'],
    ['Pending past the stale limit', status('Pending'), record({ updatedOn: ago(121) }), 'stuck'],
    [
      'Pending past the stale limit, reported already',
      status('Pending'),
      record({ updatedOn: ago(121), stuckReported: true }),
      'pending',
    ],
  ])('%s', (_name, s, r, expected) => {
    expect(statusStep(r, s, NOW, limits)).toBe(expected);
  });
});
