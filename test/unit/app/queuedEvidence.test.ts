import { errorFromStatus } from '../../../shared/errors';
import type { IngestionStatus } from '../../../shared/ingest/types';
import { queuedEvidence } from '../../../shared/app/tracking/statusLookup';
import type { AttemptEntry } from '../../../shared/app/tracking/trackingRecord';

/** A status row lookup (v1) that answers `status`, or none (404). */
const service = (status: Omit<IngestionStatus, 'sourceId'> | undefined) => ({
  getIngestionStatus: (lookup: unknown) =>
    status
      ? Promise.resolve({ sourceId: String(lookup), ...status })
      : Promise.reject(errorFromStatus({ statusCode: 404, message: 'no row' })),
});
const failed = (errorCode: string) => ({ status: 'Failed', failureStatus: 'Transient', errorCode }) as const;
const entry = (attempt: number, outcome: string, errorCode?: string): AttemptEntry => ({
  at: '2026-06-01T00:00:00Z',
  attempt,
  outcome,
  ...(errorCode !== undefined && { errorCode }),
});

describe('queuedEvidence: what a v1 status row says of the attempt a stopped holder was making', () => {
  it('is none without a row, pending while the row is Pending, processed once it has an outcome', async () => {
    const first = { sourceId: 's', requeueCount: 0, history: [] };
    await expect(queuedEvidence(service(undefined), first)).resolves.toBe('none');
    await expect(queuedEvidence(service({ status: 'Pending' }), first)).resolves.toBe('pending');
    await expect(queuedEvidence(service({ status: 'Succeeded' }), first)).resolves.toBe('processed');
    await expect(queuedEvidence(service(failed('General_Busy')), first)).resolves.toBe('processed');
  });

  it("is none when the row still holds the failure the last attempt ended with (a requeue's or a retry's)", async () => {
    const requeued = { sourceId: 's', requeueCount: 1, history: [entry(1, 'requeued', 'General_Busy')] };
    await expect(queuedEvidence(service(failed('General_Busy')), requeued)).resolves.toBe('none');
    const retried = {
      sourceId: 's',
      requeueCount: 2,
      history: [
        entry(1, 'requeued', 'General_Busy'),
        entry(2, 'Failed', 'BadRequest_TableNotExist'),
        entry(2, 'retried'),
      ],
    };
    await expect(queuedEvidence(service(failed('BadRequest_TableNotExist')), retried)).resolves.toBe('none');
  });

  it('is processed when the failure is another than the last attempt ended with, or an older one', async () => {
    const requeued = {
      sourceId: 's',
      requeueCount: 2,
      history: [entry(1, 'requeued', 'Old_Code'), entry(2, 'requeued')],
    };
    // The last attempt's entry names no failure (an uncertain source requeued on Pending): no match.
    await expect(queuedEvidence(service(failed('Old_Code')), requeued)).resolves.toBe('processed');
    const other = { sourceId: 's', requeueCount: 1, history: [entry(1, 'requeued', 'General_Busy')] };
    await expect(queuedEvidence(service(failed('Download_Failed')), other)).resolves.toBe('processed');
    await expect(queuedEvidence(service({ status: 'Succeeded' }), other)).resolves.toBe('processed');
  });
});

describe('queuedEvidence: a row written before this attempt began', () => {
  const began = '2026-06-01T12:00:00.000Z';
  const retried = {
    sourceId: 's',
    requeueCount: 1,
    history: [
      { at: '2026-06-01T10:00:00.000Z', attempt: 1, outcome: 'PartiallySucceeded', errorCode: 'Bad' },
      { at: began, attempt: 1, outcome: 'retried' },
    ],
  };
  const writtenAt = (minutesBeforeBegan: number) =>
    new Date(Date.parse(began) - minutesBeforeBegan * 60_000).toISOString();
  const partial = (rowWrittenOn: string) =>
    ({ status: 'PartiallySucceeded', errorCode: 'Bad', rowWrittenOn }) as const;

  it('is none, whatever it says: this attempt writes its row before its message', async () => {
    await expect(queuedEvidence(service(partial(writtenAt(60))), retried)).resolves.toBe('none');
    await expect(
      queuedEvidence(service({ status: 'Succeeded', rowWrittenOn: writtenAt(60) }), retried),
    ).resolves.toBe('none');
    await expect(
      queuedEvidence(service({ status: 'Pending', rowWrittenOn: writtenAt(60) }), retried),
    ).resolves.toBe('none');
  });

  it("is left to the other rules within the clocks' margin, after the attempt began, or with no stamp", async () => {
    await expect(queuedEvidence(service(partial(writtenAt(4))), retried)).resolves.toBe('processed');
    await expect(queuedEvidence(service(partial(writtenAt(-1))), retried)).resolves.toBe('processed');
    await expect(queuedEvidence(service(partial('not a date')), retried)).resolves.toBe('processed');
    await expect(
      queuedEvidence(service({ status: 'Pending', rowWrittenOn: writtenAt(-1) }), retried),
    ).resolves.toBe('pending');
    // A first attempt has no beginning to compare with.
    const first = { sourceId: 's', requeueCount: 0, history: [] };
    await expect(queuedEvidence(service(partial(writtenAt(60))), first)).resolves.toBe('processed');
  });
});
