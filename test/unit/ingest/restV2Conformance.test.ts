/**
 * Conformance of the REST queued-ingestion wire (ingest v2) with its two sources: the OpenAPI description
 * of the Java client (Azure/azure-kusto-java, module ingest-v2: components IngestRequest, Blob,
 * IngestResponse, StatusResponse, BlobStatus) and the documentation pages queued-ingest-use-http.md and
 * queued-ingest-status-http.md (MicrosoftDocs/dataexplorer-docs). The field lists below are copied from
 * those descriptions by name. Strict where they agree (every property we send is one they name, camelCase
 * as they write it); tolerant where they differ (the status field spellings: both are read).
 */
import { validateProps } from '../../../shared/ingest/ingestionProps';
import { DATA_FORMATS } from '../../../shared/message/dataFormat';
import { parseOperationStatus } from '../../../shared/ingest/v2/operationStatus';
import { buildSubmission, submissionProperties } from '../../../shared/ingest/v2/restSubmission';

// OpenAPI IngestRequest.properties (format required; additionalProperties allowed).
const OPENAPI_PROPERTIES = [
  'format',
  'enableTracking',
  'tags',
  'ingestIfNotExists',
  'skipBatching',
  'deleteAfterDownload',
  'ingestionMappingReference',
  'ingestionMapping',
  'validationPolicy',
  'ignoreSizeLimit',
  'ignoreFirstRecord',
  'ignoreLastRecordIfInvalid',
  'creationTime',
  'zipPattern',
  'extend_schema',
  'recreate_schema',
];
// OpenAPI IngestRequest and Blob.
const OPENAPI_REQUEST = ['timestamp', 'blobs', 'properties'];
const OPENAPI_BLOB = ['url', 'sourceId', 'rawSize'];
// OpenAPI Format enum.
const OPENAPI_FORMATS = [
  'csv', 'tsv', 'scsv', 'sohsv', 'psv', 'txt', 'raw', 'tsve', 'json', 'singlejson', 'multijson', 'avro',
  'parquet', 'sstream', 'orc', 'apacheavro', 'w3clogfile', 'azmonstream',
]; // prettier-ignore

const everything = validateProps({
  database: 'd',
  table: 't',
  format: 'json',
  tags: ['a'],
  ingestByTags: ['b'],
  dropByTags: ['c'],
  ingestIfNotExists: ['b'],
  flushImmediately: true,
  mapping: [{ column: 'x', properties: { Path: '$.x' } }],
  validationPolicy: { validationOptions: 1, validationImplications: 1 },
  ignoreFirstRecord: true,
  creationTime: '2025-10-01T11:00:00Z',
});

describe('what the client sends, against the OpenAPI description', () => {
  it('names only request, blob and property fields the description names, camelCase as it writes them', () => {
    const body = buildSubmission(
      [
        {
          url: 'https://a.blob.core.windows.net/c/x.json?sig=s',
          sourceId: '5b2e4c1a-0f1e-4d8e-9a55-1f7c2b3d4e5f',
          rawSize: 3,
        },
      ],
      submissionProperties(everything, { deleteAfterDownload: true }),
      20,
      new Date(),
    );
    expect(Object.keys(body).filter((k) => !OPENAPI_REQUEST.includes(k))).toEqual([]);
    for (const blob of body.blobs)
      expect(Object.keys(blob).filter((k) => !OPENAPI_BLOB.includes(k))).toEqual([]);
    expect(Object.keys(body.properties).filter((k) => !OPENAPI_PROPERTIES.includes(k))).toEqual([]);
    // Types as the description gives them: arrays of strings, strings for mappings and the policy.
    const p = body.properties;
    expect(p).toMatchObject({
      format: 'json',
      enableTracking: true,
      skipBatching: true,
      deleteAfterDownload: true,
      ignoreFirstRecord: true,
    });
    expect(Array.isArray(p.tags) && (p.tags as unknown[]).every((t) => typeof t === 'string')).toBe(true);
    expect(Array.isArray(p.ingestIfNotExists)).toBe(true);
    expect(typeof p.ingestionMapping).toBe('string');
    expect(typeof p.validationPolicy).toBe('string');
    expect(typeof p.creationTime).toBe('string');
    expect(new Date(body.timestamp).toString()).not.toBe('Invalid Date');
  });

  it('sends every format by a name of the description', () => {
    expect(DATA_FORMATS.filter((f) => !OPENAPI_FORMATS.includes(f))).toEqual([]);
  });
});

describe('what the client reads, against both sources', () => {
  it('reads the documented status fields and the OpenAPI spellings alike', () => {
    const docs = parseOperationStatus({
      startTime: 't0',
      lastUpdated: 't1',
      status: { Succeeded: 1, Failed: 2, InProgress: 3, Canceled: 4 },
      details: [
        {
          sourceId: 's',
          url: 'u',
          status: 'Failed',
          lastUpdated: 't2',
          errorCode: 'E',
          failureStatus: 'Exhausted',
          details: 'd',
        },
      ],
    });
    const openApi = parseOperationStatus({
      startTime: 't0',
      lastUpdated: 't1',
      status: { succeeded: 1, failed: 2, inProgress: 3, canceled: 4 },
      details: [
        {
          sourceId: 's',
          url: 'u',
          status: 'Failed',
          startedAt: 't',
          lastUpdateTime: 't2',
          errorCode: 'E',
          failureStatus: 'Exhausted',
          details: 'd',
        },
      ],
    });
    expect(openApi).toEqual(docs);
    expect(docs.details[0]).toMatchObject({
      status: 'Failed',
      errorCode: 'E',
      failureStatus: 'Exhausted',
      details: 'd',
      lastUpdated: 't2',
    });
  });

  it('knows every blob state and failure classification the description enumerates', () => {
    for (const status of ['Queued', 'InProgress', 'Succeeded', 'Failed', 'Canceled'])
      expect(parseOperationStatus({ details: [{ status }] }).details[0]?.status).toBe(status);
    for (const failureStatus of ['Unknown', 'Permanent', 'Transient', 'Exhausted'])
      expect(
        parseOperationStatus({ details: [{ status: 'Failed', failureStatus }] }).details[0]?.failureStatus,
      ).toBe(failureStatus);
  });
});
