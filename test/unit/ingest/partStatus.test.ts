import { combinePartStatuses, partSourceId } from '../../../shared/ingest/splitParts';
import type { IngestionStatus } from '../../../shared';

const part = (n: number, status: IngestionStatus['status'], errorCode?: string): IngestionStatus => ({
  sourceId: `part-${n}`,
  status,
  ...(errorCode && { errorCode, failureStatus: 'Permanent' as const }),
});

describe('combinePartStatuses', () => {
  it("is stamped with the latest of its parts' row writes, or not at all when one part's is unknown", () => {
    const at = (p: IngestionStatus, rowWrittenOn?: string): IngestionStatus => ({
      ...p,
      ...(rowWrittenOn !== undefined && { rowWrittenOn }),
    });
    const done = [
      at(part(0, 'Succeeded'), '2026-06-01T10:00:00.0000000Z'),
      at(part(1, 'Failed', 'BadFormat'), '2026-06-01T10:05:00.0000000Z'),
      at(part(2, 'Succeeded'), '2026-06-01T10:01:00.0000000Z'),
    ];
    expect(combinePartStatuses('p', done).rowWrittenOn).toBe('2026-06-01T10:05:00.0000000Z');
    const open = [at(part(0, 'Pending'), '2026-06-01T11:00:00Z'), ...done];
    expect(combinePartStatuses('p', open).rowWrittenOn).toBe('2026-06-01T11:00:00Z');
    expect(combinePartStatuses('p', [...done, part(3, 'Succeeded')]).rowWrittenOn).toBeUndefined();
    expect(
      combinePartStatuses('p', [...done, at(part(3, 'Succeeded'), 'soon')]).rowWrittenOn,
    ).toBeUndefined();
  });

  it('is Pending while any part is, even when another already failed', () => {
    expect(combinePartStatuses('p', [part(0, 'Failed', 'BadFormat'), part(1, 'Pending')]).status).toBe(
      'Pending',
    );
  });

  it('is Succeeded when every part succeeded (a skipped part counts as done)', () => {
    const s = combinePartStatuses('p', [part(0, 'Succeeded'), part(1, 'Skipped'), part(2, 'Succeeded')]);
    expect(s).toEqual(expect.objectContaining({ sourceId: 'p', status: 'Succeeded' }));
    expect(s.errorCode).toBeUndefined();
  });

  it('is Failed when all failed and PartiallySucceeded otherwise, naming the failed parts', () => {
    const all = combinePartStatuses('p', [part(0, 'Failed', 'BadFormat'), part(1, 'Failed', 'Timeout')]);
    expect(all).toEqual(
      expect.objectContaining({ status: 'Failed', errorCode: 'BadFormat', failureStatus: 'Permanent' }),
    );
    const some = combinePartStatuses('p', [part(0, 'Succeeded'), part(1, 'Failed', 'BadFormat')]);
    expect(some.status).toBe('PartiallySucceeded');
    expect(some.details).toBe('1 of 2 parts failed (part-1: BadFormat)');
  });

  it('reports Queued parts (no status table) as Queued', () => {
    expect(combinePartStatuses('p', [part(0, 'Queued'), part(1, 'Queued')]).status).toBe('Queued');
  });
});

describe('partSourceId', () => {
  it('derives stable, distinct version 5 ids from the parent id and the part number', () => {
    const parent = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const ids = [0, 1, 2].map((n) => partSourceId(parent, n));
    expect(new Set(ids).size).toBe(3);
    expect(ids[0]).toBe(partSourceId(parent, 0));
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(partSourceId('1b4e28ba-2fa1-41d2-883f-0016d3cca427', 0)).not.toBe(ids[0]);
  });
});
