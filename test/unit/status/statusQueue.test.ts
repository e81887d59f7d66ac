import { parseStatusMessage } from '../../../shared/status/statusQueue';
import { parseTimespan, sourcePathKey } from '../../../shared/app/sweep/failureLog';
import { statusReporting } from '../../../shared/app/tracking/statusReporting';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o), 'utf8').toString('base64');

// The shapes of the docs' table (netfx/kusto-ingest-client-rest.md) and the official SDKs' parsers.
const failure = {
  OperationId: '00000000-0000-0000-0000-000000000001',
  Database: 'db',
  Table: 'T',
  FailedOn: '2019-08-26T13:22:36.8804326Z',
  IngestionSourceId: '11111111-1111-4111-8111-111111111111',
  IngestionSourcePath: 'https://acct.blob.core.windows.net/c/b.csv.gz',
  Details: 'Stream_WrongNumberOfFields: ligne 2 a trop de champs',
  ErrorCode: 'Stream_WrongNumberOfFields',
  FailureStatus: 'Permanent',
  RootActivityId: '00000000-0000-0000-0000-000000000002',
  OriginatesFromUpdatePolicy: false,
  ShouldRetry: false,
};

describe('status queue messages', () => {
  it('reads a failure report, non-ASCII details included', () => {
    expect(parseStatusMessage(b64(failure), 'failure')).toEqual({
      sourceId: failure.IngestionSourceId,
      database: 'db',
      table: 'T',
      sourcePath: failure.IngestionSourcePath,
      operationId: failure.OperationId,
      status: 'Failed',
      at: failure.FailedOn,
      updatedOn: failure.FailedOn,
      failureStatus: 'Permanent',
      errorCode: 'Stream_WrongNumberOfFields',
      details: failure.Details,
      shouldRetry: false,
      originatesFromUpdatePolicy: false,
    });
  });

  it("redacts a SAS the service's details quote, before anything stores or serves them", () => {
    const leaky = {
      ...failure,
      Details: 'Download_Forbidden: https://acct.blob.core.windows.net/c/b.csv?sv=2024&sig=SECRETSIG&se=x',
    };
    const report = parseStatusMessage(b64(leaky), 'failure');
    expect(report).toMatchObject({ details: expect.stringContaining('sig=REDACTED') as unknown });
    expect(JSON.stringify(report)).not.toContain('SECRETSIG');
  });

  it('reads a success report', () => {
    const success = {
      OperationId: failure.OperationId,
      Database: 'db',
      Table: 'T',
      SucceededOn: '2026-12-02T10:00:00Z',
      IngestionSourceId: failure.IngestionSourceId,
      IngestionSourcePath: failure.IngestionSourcePath,
      RootActivityId: failure.RootActivityId,
    };
    expect(parseStatusMessage(b64(success), 'success')).toMatchObject({
      sourceId: failure.IngestionSourceId,
      status: 'Succeeded',
      at: '2026-12-02T10:00:00Z',
    });
  });

  it('tolerates a numeric or unknown FailureStatus and string booleans', () => {
    expect(
      parseStatusMessage(b64({ ...failure, FailureStatus: 2, ShouldRetry: 'True' }), 'failure'),
    ).toMatchObject({ failureStatus: 'Transient', shouldRetry: true });
    expect(parseStatusMessage(b64({ ...failure, FailureStatus: 'Weird' }), 'failure')).toMatchObject({
      failureStatus: 'Unknown',
    });
  });

  it('gives undefined for what is not a report (someone else’s message)', () => {
    expect(parseStatusMessage('not base64 json at all!', 'success')).toBeUndefined();
    expect(parseStatusMessage(b64({ hello: 'world' }), 'success')).toBeUndefined();
    expect(parseStatusMessage(b64([1, 2]), 'failure')).toBeUndefined();
    expect(parseStatusMessage(JSON.stringify(failure), 'failure')).toMatchObject({ status: 'Failed' });
  });
});

describe('failures-only helpers', () => {
  it('matches a blob by path whatever its SAS, identity suffix or host case', () => {
    const key = sourcePathKey('https://acct.blob.core.windows.net/c/a%20b.csv');
    expect(sourcePathKey('https://ACCT.blob.core.windows.net/c/a b.csv?sv=1&sig=x')).toBe(key);
    expect(sourcePathKey('https://acct.blob.core.windows.net/c/a%20b.csv;managed_identity=system')).toBe(key);
    expect(sourcePathKey('https://acct.blob.core.windows.net/c/other.csv')).not.toBe(key);
  });

  it('reads policy timespans', () => {
    expect(parseTimespan('00:05:00')).toBe(300_000);
    expect(parseTimespan('1.00:00:30')).toBe(86_430_000);
    expect(parseTimespan('00:00:02.5')).toBe(2_500);
    expect(parseTimespan('5m')).toBeUndefined();
  });

  it('asks for what each STATUS_MODE reads', () => {
    expect(statusReporting('table')).toEqual({ reportLevel: 2, reportMethod: 1 });
    expect(statusReporting('queue')).toEqual({ reportLevel: 2, reportMethod: 0 });
    expect(statusReporting('failures-only')).toEqual({ reportLevel: 0, reportMethod: 0 });
  });
});
