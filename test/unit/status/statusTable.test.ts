import { pendingEntity, statusFromEntity } from '../../../shared/status/statusTable';

describe('status rows', () => {
  it('writes the Pending row the service updates later', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(
      pendingEntity({ sourceId: 'id', sourcePath: 'https://a/c/b.csv.gz', database: 'd', table: 't', now }),
    ).toEqual({
      partitionKey: 'id',
      rowKey: 'id',
      Status: 'Pending',
      IngestionSourceId: 'id',
      IngestionSourcePath: 'https://a/c/b.csv.gz',
      Database: 'd',
      Table: 't',
      UpdatedOn: now,
      Details: '',
    });
  });

  it('reads the service’s update back, dates and all', () => {
    expect(
      statusFromEntity('id', {
        Status: 'Failed',
        ErrorCode: 'Stream_WrongNumberOfFields',
        FailureStatus: 'Permanent',
        Details: 'line 3',
        OperationId: 'op',
        UpdatedOn: new Date('2026-01-01T00:00:00Z'),
      }),
    ).toEqual({
      sourceId: 'id',
      status: 'Failed',
      errorCode: 'Stream_WrongNumberOfFields',
      failureStatus: 'Permanent',
      details: 'line 3',
      operationId: 'op',
      updatedOn: '2026-01-01T00:00:00.000Z',
    });
  });

  it('keeps unknown values safe: an unknown status reads as Pending, an unknown failure status is left out', () => {
    expect(statusFromEntity('id', { Status: 'Weird', FailureStatus: 'Maybe', Details: '' })).toEqual({
      sourceId: 'id',
      status: 'Pending',
    });
  });

  it("redacts a SAS the service's details quote", () => {
    const status = statusFromEntity('id', {
      Status: 'Failed',
      Details: 'cannot read https://a.blob.core.windows.net/c/b?sig=SECRETSIG',
    });
    expect(status.details).toBe('cannot read https://a.blob.core.windows.net/c/b?sig=REDACTED');
  });
});
