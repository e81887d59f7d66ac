import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IngestValidationError } from '../../../shared/errors';
import { validateProps } from '../../../shared/ingest/ingestionProps';
import { ReportLevel, ReportMethod, type IngestionProps } from '../../../shared/ingest/types';
import {
  buildIngestionMessage,
  encodeIngestionMessage,
  type MessageInput,
} from '../../../shared/message/ingestionMessage';

const fixtures = join(__dirname, '..', '..', 'fixtures', 'official-node-sdk');
type Golden = { raw: string; decoded: Record<string, unknown> };
const golden = (name: string): Golden =>
  (JSON.parse(readFileSync(join(fixtures, name), 'utf8')) as Golden[])[0] as Golden;

function input(props: IngestionProps, extra: Partial<MessageInput> = {}): MessageInput {
  return {
    sourceId: '988e5ea8-476a-4321-936d-f805ca2f05aa',
    blobUrl:
      'https://127.0.0.1:10100/devstoreaccount1/tempstorage/TestDb__TestTable__x__golden-small.csv.gz?sv=1&sig=s',
    rawDataSize: 46,
    props: validateProps(props),
    authorizationContext: 'fake-authorization-context-token',
    retainBlobOnSuccess: false,
    applicationForTracing: 'capture.js',
    clientVersionForTracing: 'Kusto.Ingest.Functions:{0.1.0}|Runtime.Node:{v20.20.2}',
    now: new Date('2026-11-25T19:42:14.169Z'),
    ...extra,
  };
}

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

describe('buildIngestionMessage is wire-compatible with what the official SDK sends', () => {
  it('has the golden message keys with the same JSON types (file, table reporting)', () => {
    const official = golden('queue-message-a-file-table-report.json').decoded;
    const ours = buildIngestionMessage(
      input(
        {
          database: 'TestDb',
          table: 'TestTable',
          format: 'csv',
          reportLevel: ReportLevel.FailuresAndSuccesses,
          reportMethod: ReportMethod.Table,
        },
        { statusTableUrl: 'https://127.0.0.1:10102/devstoreaccount1/ingestionsstatus?sv=1&sig=t' },
      ),
    ) as unknown as Record<string, unknown>;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(official).sort());
    for (const key of Object.keys(official))
      expect([key, typeOf(ours[key])]).toEqual([key, typeOf(official[key])]);
    expect(ours.ReportLevel).toBe(official.ReportLevel);
    expect(ours.ReportMethod).toBe(official.ReportMethod);
    expect(ours.SourceMessageCreationTime).toBe('2026-11-25T19:42:14.169Z');
    expect(ours.AdditionalProperties).toEqual(official.AdditionalProperties);
    // Where the official SDK is quirky we follow the documented form: PascalCase keys and the table's URL.
    expect(ours.IngestionStatusInTable).toEqual({
      TableConnectionString: 'https://127.0.0.1:10102/devstoreaccount1/ingestionsstatus?sv=1&sig=t',
      PartitionKey: '988e5ea8-476a-4321-936d-f805ca2f05aa',
      RowKey: '988e5ea8-476a-4321-936d-f805ca2f05aa',
    });
  });

  it('encodes tags as a JSON string like the official SDK, and ingestIfNotExists as a JSON string too', () => {
    const official = golden('queue-message-c-blob-queueandtable.json').decoded as {
      AdditionalProperties: Record<string, unknown>;
    };
    const ours = buildIngestionMessage(
      input({
        database: 'TestDb',
        table: 'TestTable',
        format: 'csv',
        tags: ['tagA'],
        dropByTags: ['db1'],
        ingestByTags: ['ib1'],
        ingestIfNotExists: ['ib1'],
        flushImmediately: true,
      }),
    );
    expect(ours.AdditionalProperties.tags).toBe(official.AdditionalProperties.tags);
    expect(official.AdditionalProperties.ingestIfNotExists).toEqual(['ib1']); // the SDK's raw array...
    expect(ours.AdditionalProperties.ingestIfNotExists).toBe('["ib1"]'); // ...we send the documented string
    expect(ours.FlushImmediately).toBe(true);
  });

  it('leaves out RawDataSize and IngestionStatusInTable when unknown or not asked for', () => {
    const ours = buildIngestionMessage(
      input({ database: 'd', table: 't', format: 'json' }, { rawDataSize: undefined }),
    );
    expect('RawDataSize' in ours).toBe(false);
    expect('IngestionStatusInTable' in ours).toBe(false);
    expect(ours.AdditionalProperties).toEqual({
      authorizationContext: 'fake-authorization-context-token',
      format: 'json',
    });
  });

  it('writes inline mappings with the mapping kind and every property value as a string', () => {
    const ours = buildIngestionMessage(
      input({
        database: 'd',
        table: 't',
        format: 'csv',
        mapping: [
          { column: 'a', datatype: 'long', properties: { Ordinal: 0 } },
          { column: 'src', properties: { Transform: 'SourceLocation' } },
          { column: 'k', properties: { ConstValue: 'x' } },
        ],
      }),
    );
    expect(ours.AdditionalProperties.ingestionMappingType).toBe('Csv');
    expect(JSON.parse(ours.AdditionalProperties.ingestionMapping ?? '')).toEqual([
      { Column: 'a', DataType: 'long', Properties: { Ordinal: '0' } },
      { Column: 'src', Properties: { Transform: 'SourceLocation' } },
      { Column: 'k', Properties: { ConstValue: 'x' } },
    ]);
  });

  it('never mutates the caller’s additional properties', () => {
    const additionalProperties = { zipPattern: '*.csv' };
    const ours = buildIngestionMessage(
      input({ database: 'd', table: 't', format: 'csv', additionalProperties }),
    );
    expect(additionalProperties).toEqual({ zipPattern: '*.csv' });
    expect(ours.AdditionalProperties.zipPattern).toBe('*.csv');
  });
});

describe('encodeIngestionMessage', () => {
  it('is base64 of the UTF-8 JSON, like the official SDK', () => {
    const official = golden('queue-message-b-stream.json');
    expect(JSON.parse(Buffer.from(official.raw, 'base64').toString('utf8'))).toEqual(official.decoded);
    const message = buildIngestionMessage(input({ database: 'Daten', table: 'Größe', format: 'csv' }));
    const text = encodeIngestionMessage(message);
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(JSON.parse(Buffer.from(text, 'base64').toString('utf8'))).toEqual(
      JSON.parse(JSON.stringify(message)),
    );
  });

  it('refuses a message over the queue limit with a fix', () => {
    const mapping = Array.from({ length: 2000 }, (_, i) => ({
      column: `c${i}`,
      datatype: 'string',
      properties: { Ordinal: i },
    }));
    const message = buildIngestionMessage(input({ database: 'd', table: 't', format: 'csv', mapping }));
    expect(() => encodeIngestionMessage(message)).toThrow(IngestValidationError);
    expect(() => encodeIngestionMessage(message)).toThrow(/mappingReference/);
  });
});
