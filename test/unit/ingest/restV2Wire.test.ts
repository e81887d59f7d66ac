/**
 * The REST queued-ingestion wire (ingest v2): the submission's path, body and answer, the operation
 * status read tolerantly (the documentation's own examples, the Java client's spellings), each item's
 * status in our terms, the handle that lets another process read it, and the OneAPI `@permanent` word.
 */
import {
  errorFromStatus,
  IngestServiceError,
  IngestTransientError,
  isTransient,
} from '../../../shared/errors';
import { validateProps } from '../../../shared/ingest/ingestionProps';
import { handleFromString, handleToString } from '../../../shared/ingest/v2/operationHandle';
import { itemStatus, matchDetails, parseOperationStatus } from '../../../shared/ingest/v2/operationStatus';
import {
  batchKey,
  blobKey,
  buildSubmission,
  checkSubmittedBlob,
  operationPath,
  parseSubmissionAnswer,
  submissionPath,
  submissionProperties,
} from '../../../shared/ingest/v2/restSubmission';

const ID1 = '5b2e4c1a-0f1e-4d8e-9a55-1f7c2b3d4e5f';
const ID2 = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
const props = (extra: Record<string, unknown> = {}) =>
  validateProps({ database: 'MyDatabase', table: 'MyTable', format: 'csv', ...extra });

describe('the submission', () => {
  it('posts to the table it names, names encoded; reads an operation by its id, encoded (ids hold ;)', () => {
    expect(submissionPath('MyDatabase', 'MyTable')).toBe('/v1/rest/ingestion/queued/MyDatabase/MyTable');
    expect(submissionPath('My Db', 'a/b')).toBe('/v1/rest/ingestion/queued/My%20Db/a%2Fb');
    expect(operationPath('db', 't', 'op;1;2?x')).toBe(
      '/v1/rest/ingestion/queued/db/t/op%3B1%3B2%3Fx?details=true',
    );
    expect(operationPath('db', 't', 'op', false)).toBe('/v1/rest/ingestion/queued/db/t/op');
  });

  it("carries the documentation example's properties, tracking always on", () => {
    const p = props({
      tags: ['rest'],
      ingestByTags: ['batch-1'],
      dropByTags: ['d'],
      mappingReference: 'csv_mapping',
      creationTime: '2025-10-01T11:00:00Z',
      ingestIfNotExists: ['batch-1'],
      ignoreFirstRecord: true,
      flushImmediately: true,
    });
    expect(submissionProperties(p, { deleteAfterDownload: false })).toEqual({
      format: 'csv',
      enableTracking: true,
      tags: ['rest', 'drop-by:d', 'ingest-by:batch-1'],
      ingestIfNotExists: ['batch-1'],
      skipBatching: true,
      ingestionMappingReference: 'csv_mapping',
      ignoreFirstRecord: true,
      creationTime: '2025-10-01T11:00:00.000Z',
    });
    // Our own uploads are deleted by the service once read; a caller's blob never is.
    expect(submissionProperties(props(), { deleteAfterDownload: true })).toEqual({
      format: 'csv',
      enableTracking: true,
      deleteAfterDownload: true,
    });
  });

  it('passes inline mappings and the validation policy as JSON strings, extra properties as given', () => {
    const p = props({
      format: 'json',
      mapping: [{ column: 'a', datatype: 'long', properties: { Path: '$.a' } }],
      validationPolicy: { validationOptions: 1, validationImplications: 0 },
      additionalProperties: { zipPattern: '.*\\.csv' },
    });
    const out = submissionProperties(p, { deleteAfterDownload: false });
    expect(out.ingestionMapping).toBe('[{"Column":"a","DataType":"long","Properties":{"Path":"$.a"}}]');
    expect(out.validationPolicy).toBe('{"ValidationOptions":1,"ValidationImplications":0}');
    expect(out.zipPattern).toBe('.*\\.csv');
    expect(out.format).toBe('json');
  });

  it('batches together only what shares database, table and properties', () => {
    const key = (extra: Record<string, unknown>, del = false) =>
      batchKey(props(extra), { deleteAfterDownload: del });
    expect(key({})).toBe(key({}));
    expect(key({ sourceId: ID1 })).toBe(key({ sourceId: ID2 })); // the blob's own id is not a property
    expect(key({})).not.toBe(key({ table: 'Other' }));
    expect(key({})).not.toBe(key({ format: 'json' }));
    expect(key({})).not.toBe(key({ tags: ['x'] }));
    expect(key({})).not.toBe(key({}, true));
  });

  it('builds the body of up to maxBlobsPerBatch distinct blobs, rawSize only when known', () => {
    const now = new Date('2025-10-01T12:00:00Z');
    const body = buildSubmission(
      [
        { url: 'https://example.com/blob1.csv.gz?sig=a', sourceId: ID1, rawSize: 1048576 },
        { url: 'https://example.com/blob2.csv.gz?sig=b', sourceId: ID2 },
      ],
      { format: 'csv', enableTracking: true },
      20,
      now,
    );
    expect(body).toEqual({
      timestamp: '2025-10-01T12:00:00.000Z',
      blobs: [
        { url: 'https://example.com/blob1.csv.gz?sig=a', sourceId: ID1, rawSize: 1048576 },
        { url: 'https://example.com/blob2.csv.gz?sig=b', sourceId: ID2 },
      ],
      properties: { format: 'csv', enableTracking: true },
    });
    const blob = (i: number) => ({ url: `https://a.blob.core.windows.net/c/${i}.csv`, sourceId: ID1 });
    expect(() => buildSubmission([], {}, 20, now)).toThrow(/at least one blob/);
    expect(() =>
      buildSubmission(
        Array.from({ length: 21 }, (_, i) => blob(i)),
        {},
        20,
        now,
      ),
    ).toThrow(/at most 20 blobs/);
    // The same blob twice, told apart only by the SAS: refused, as the service would.
    expect(() =>
      buildSubmission(
        [
          { url: 'https://A.blob.core.windows.net/c/x.csv?sig=1', sourceId: ID1 },
          { url: 'https://a.blob.core.windows.net/c/x.csv?sig=2', sourceId: ID2 },
        ],
        {},
        20,
        now,
      ),
    ).toThrow(/named twice/);
  });

  it("checks each blob alone before it joins a batch, and never echoes a blob's SAS", () => {
    const ok = { url: 'https://a.blob.core.windows.net/c/x.csv?sv=1&sig=SECRET', sourceId: ID1, rawSize: 10 };
    expect(() => checkSubmittedBlob(ok, { maxDataSize: 100 })).not.toThrow();
    const refusals = [
      { ...ok, url: 'not a url' },
      { ...ok, url: 'http://a.blob.core.windows.net/c/x.csv?sig=SECRET' },
      { ...ok, sourceId: '123a6999-411e-4226-a333-w79992dd9b95' }, // the docs' example id: no GUID
      { ...ok, rawSize: 101 },
    ];
    for (const blob of refusals) {
      let error: unknown;
      try {
        checkSubmittedBlob(blob, { maxDataSize: 100 });
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ name: 'IngestValidationError', transient: false });
      expect((error as Error).message).not.toContain('SECRET');
    }
    expect(() =>
      checkSubmittedBlob({ ...ok, rawSize: 101 }, { maxDataSize: 100, ignoreSizeLimit: true }),
    ).not.toThrow();
    expect(() => checkSubmittedBlob({ ...ok, url: 'http://127.0.0.1:10000/acct/c/x.csv' }, {})).not.toThrow();
  });

  it('reads the operation id of an accepted submission; an empty one is an error (tracking was asked for)', () => {
    expect(parseSubmissionAnswer({ ingestionOperationId: 'ingest_op_12345' })).toBe('ingest_op_12345');
    expect(() => parseSubmissionAnswer({ ingestionOperationId: '' })).toThrow(IngestServiceError);
    expect(() => parseSubmissionAnswer(null)).toThrow(/without an ingestionOperationId/);
  });

  it('compares blob URLs without their query, host case aside', () => {
    expect(blobKey('https://A.Blob.core.windows.net/c/X.csv?sig=1')).toBe(
      'https://a.blob.core.windows.net/c/X.csv',
    );
    expect(blobKey('no url?sig=1')).toBe('no url');
  });
});

// The documentation's example with details (queued-ingest-status-http.md): one entry with a sourceId that is
// no GUID, two without any.
const DOCS_EXAMPLE = {
  startTime: '2025-10-01T12:00:00Z',
  lastUpdated: '2025-10-01T12:30:00Z',
  status: { Succeeded: 1, Failed: 1, InProgress: 1, Canceled: 0 },
  details: [
    {
      sourceId: '123a6999-411e-4226-a333-w79992dd9b95',
      url: 'https://example.com/blob1.csv.gz',
      status: 'Failed',
      startTime: '2025-10-01T12:00:00Z',
      lastUpdated: '2025-10-01T12:15:00Z',
      errorCode: 'BadRequest_MissingMappingFailure',
      failureStatus: 'Permanent',
      details: 'Mapping not found',
    },
    {
      url: 'https://example.com/blob2.csv.gz',
      status: 'InProgress',
      startTime: '2025-10-01T12:05:00Z',
      lastUpdated: '2025-10-01T12:20:00Z',
    },
    {
      url: 'https://example.com/blob3.csv.gz',
      status: 'Succeeded',
      startTime: '2025-10-01T12:00:00Z',
      lastUpdated: '2025-10-01T12:10:00Z',
    },
  ],
};

describe('the operation status', () => {
  it("reads the documentation's example and matches each item by source id, else by URL", () => {
    const status = parseOperationStatus(DOCS_EXAMPLE);
    expect(status.counts).toEqual({ succeeded: 1, failed: 1, inProgress: 1, canceled: 0 });
    expect(status.startTime).toBe('2025-10-01T12:00:00Z');
    const items = [
      { sourceId: '123A6999-411E-4226-A333-W79992DD9B95', url: 'https://other.example.com/renamed.csv.gz' },
      { sourceId: ID1, url: 'https://example.com/blob2.csv.gz?sig=x' },
      { sourceId: ID2, url: 'https://example.com/blob3.csv.gz?sig=y' },
      { sourceId: 'ffffffff-ffff-4fff-8fff-ffffffffffff', url: 'https://example.com/not-yet.csv' },
    ];
    const matched = matchDetails(status, items);
    const mapped = items.map((i) => itemStatus(i.sourceId, 'ingest_op_12345', matched.get(i.sourceId)));
    expect(mapped).toEqual([
      {
        sourceId: items[0]?.sourceId,
        operationId: 'ingest_op_12345',
        updatedOn: '2025-10-01T12:15:00Z',
        status: 'Failed',
        errorCode: 'BadRequest_MissingMappingFailure',
        failureStatus: 'Permanent',
        details: 'Mapping not found',
      },
      { sourceId: ID1, operationId: 'ingest_op_12345', updatedOn: '2025-10-01T12:20:00Z', status: 'Pending' },
      {
        sourceId: ID2,
        operationId: 'ingest_op_12345',
        updatedOn: '2025-10-01T12:10:00Z',
        status: 'Succeeded',
      },
      { sourceId: 'ffffffff-ffff-4fff-8fff-ffffffffffff', operationId: 'ingest_op_12345', status: 'Pending' },
    ]);
  });

  it("reads the Java client's spellings too, and the summary without details", () => {
    const status = parseOperationStatus({
      startedAt: '2025-10-01T12:00:00Z',
      lastUpdateTime: '2025-10-01T12:30:00Z',
      status: { succeeded: 2, failed: 0, inProgress: 1, canceled: 1 },
      details: [{ sourceId: ID1, status: 'queued', startedAt: 'x', lastUpdateTime: '2025-10-01T12:01:00Z' }],
    });
    expect(status).toMatchObject({
      startTime: '2025-10-01T12:00:00Z',
      lastUpdated: '2025-10-01T12:30:00Z',
      counts: { succeeded: 2, failed: 0, inProgress: 1, canceled: 1 },
    });
    expect(status.details[0]).toMatchObject({ status: 'Queued', lastUpdated: '2025-10-01T12:01:00Z' });
    expect(
      parseOperationStatus({ status: { Succeeded: 8, Failed: 1, InProgress: 2, Canceled: 0 } }).details,
    ).toEqual([]);
    expect(() => parseOperationStatus('nope')).toThrow(/not an operation status/);
  });

  it('maps every state: Unknown failures as transient, Canceled as a permanent failure that says so', () => {
    const d = (status: string, failureStatus?: string) =>
      parseOperationStatus({ details: [{ sourceId: ID1, status, failureStatus, errorCode: 'E' }] })
        .details[0];
    expect(itemStatus(ID1, 'op', d('Queued')).status).toBe('Pending');
    expect(itemStatus(ID1, 'op', d('InProgress')).status).toBe('Pending');
    expect(itemStatus(ID1, 'op', d('SomethingNew')).status).toBe('Pending');
    expect(itemStatus(ID1, 'op', d('Failed', 'Unknown'))).toMatchObject({
      status: 'Failed',
      failureStatus: 'Transient',
    });
    expect(itemStatus(ID1, 'op', d('Failed'))).toMatchObject({
      status: 'Failed',
      failureStatus: 'Transient',
    });
    expect(itemStatus(ID1, 'op', d('Failed', 'Exhausted'))).toMatchObject({ failureStatus: 'Exhausted' });
    expect(itemStatus(ID1, 'op', d('Failed', 'transient'))).toMatchObject({ failureStatus: 'Transient' });
    expect(itemStatus(ID1, 'op', d('Canceled'))).toMatchObject({
      status: 'Failed',
      errorCode: 'Canceled',
      failureStatus: 'Permanent',
      details: expect.stringMatching(/canceled/) as unknown,
    });
  });
});

describe('the operation handle', () => {
  const handle = {
    database: 'MyDatabase',
    table: 'MyTable',
    operationId: 'ingest;op/1?x',
    submittedAt: '2025-10-01T12:00:00.000Z',
    items: [
      { sourceId: ID1, url: 'https://a.blob.core.windows.net/c/1.csv?sv=1&sig=SECRET' },
      { sourceId: ID2, url: 'https://a.blob.core.windows.net/c/2.csv' },
    ],
  };

  it('goes to a string and back, without any SAS', () => {
    const text = handleToString(handle);
    expect(text).toMatch(/^kiv2\.[A-Za-z0-9_-]+$/);
    expect(Buffer.from(text.slice(5), 'base64url').toString()).not.toContain('SECRET');
    expect(handleFromString(text)).toEqual({
      ...handle,
      items: [
        { sourceId: ID1, url: 'https://a.blob.core.windows.net/c/1.csv' },
        { sourceId: ID2, url: 'https://a.blob.core.windows.net/c/2.csv' },
      ],
    });
  });

  it('refuses a string that is no handle, saying why', () => {
    expect(() => handleFromString('op-123')).toThrow(/does not start with 'kiv2.'/);
    expect(() => handleFromString('kiv2.!!!')).toThrow(/not an ingestion operation handle/);
    const noItems = `kiv2.${Buffer.from(JSON.stringify({ v: 1, db: 'd', t: 't', op: 'o', at: 'x', items: [] })).toString('base64url')}`;
    expect(() => handleFromString(noItems)).toThrow(/not an ingestion operation handle/);
  });
});

describe("the service's @permanent", () => {
  it('overrides the status, except for sign-in and permission failures', () => {
    const e = (statusCode: number, permanent?: boolean) =>
      errorFromStatus({ statusCode, message: 'm', permanent });
    expect(isTransient(e(503))).toBe(true);
    expect(e(503, true)).toBeInstanceOf(IngestServiceError);
    expect(isTransient(e(503, true))).toBe(false);
    expect(isTransient(e(400))).toBe(false);
    expect(e(400, false)).toBeInstanceOf(IngestTransientError);
    expect(isTransient(e(404, false))).toBe(true);
    expect(e(403, false)).toMatchObject({ name: 'IngestAuthError', transient: false });
    expect(e(429, false)).toMatchObject({ name: 'IngestThrottledError' });
  });
});
