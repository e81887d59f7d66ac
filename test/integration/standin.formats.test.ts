import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Type as AvroType, streams as avroStreams } from 'avsc';
import { zipSync } from 'fflate';
import { BlobSASPermissions } from '@azure/storage-blob';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { QueuedIngestClient, ReportLevel, ReportMethod, type IngestionProps } from '../../shared';
import { engine, eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService } from '../helpers/stack';

let dm: PrivateStandin;
let client: QueuedIngestClient;
let kusto: ReturnType<typeof engine>;
let tableNumber = 0;

beforeAll(async () => {
  dm = await startPrivateStandin({ worker: true, accountCount: 1 });
  client = new QueuedIngestClient({ ingestUri: dm.standin.dmUrl });
  kusto = engine(dm.standin.engineUrl);
});
afterAll(async () => {
  await dm.stop();
});

const SCHEMA = '(id:long, name:string, score:real, ok:bool, at:datetime, tag:dynamic)';
const EXPECTED = [
  { id: 1, name: 'alpha', score: 1.5, ok: true, at: '2024-01-01T00:00:00Z', tag: { k: 'a' } },
  { id: 2, name: 'beta, with comma', score: -2, ok: false, at: '2024-02-29T12:30:00Z', tag: [1, 2] },
];

async function newTable(schema = SCHEMA): Promise<string> {
  const name = `T${++tableNumber}_${Date.now() % 100000}`;
  await kusto.mgmt(`.create table ${name} ${schema}`);
  return name;
}

/** Ingests through the queue with table reporting, waits for the final status, returns it. */
async function ingest(
  data: Buffer | string,
  props: Omit<IngestionProps, 'database'>,
  kind: 'stream' | 'blob' = 'stream',
) {
  const full: IngestionProps = {
    database: 'demo',
    flushImmediately: true,
    reportLevel: ReportLevel.FailuresAndSuccesses,
    reportMethod: ReportMethod.Table,
    ...props,
  };
  const receipt =
    kind === 'stream'
      ? await client.ingestFromStream([data], full)
      : await client.ingestFromBlob(String(data), full);
  return eventually(
    async () => {
      const s = await client.getIngestionStatus(receipt);
      return s.status === 'Pending' ? undefined : s;
    },
    20_000,
    `the status of ${receipt.sourceId}`,
  );
}

async function rows(table: string) {
  return (await kusto.query(`${table} | take 100`)).objects;
}

describe('the stand-in ingests every format through the queue', () => {
  it.each([
    [
      'csv',
      '1,alpha,1.5,true,2024-01-01,"{""k"":""a""}"\n2,"beta, with comma",-2,false,2024-02-29 12:30:00,"[1,2]"\n',
    ],
    [
      'tsv',
      '1\talpha\t1.5\ttrue\t2024-01-01\t{"k":"a"}\n2\tbeta, with comma\t-2\tfalse\t2024-02-29T12:30:00Z\t[1,2]\n',
    ],
    [
      'tsve',
      '1\talpha\t1.5\ttrue\t2024-01-01\t{"k":"a"}\n2\tbeta, with comma\t-2\tfalse\t2024-02-29T12:30:00Z\t[1,2]\n',
    ],
    [
      'scsv',
      '1;alpha;1.5;true;2024-01-01;{"k":"a"}\n2;beta, with comma;-2;false;2024-02-29T12:30:00Z;[1,2]\n',
    ],
    [
      'psv',
      '1|alpha|1.5|true|2024-01-01|{"k":"a"}\n2|beta, with comma|-2|false|2024-02-29T12:30:00Z|[1,2]\n',
    ],
    [
      'sohsv',
      '1\x01alpha\x011.5\x01true\x012024-01-01\x01{"k":"a"}\n2\x01beta, with comma\x01-2\x01false\x012024-02-29T12:30:00Z\x01[1,2]\n',
    ],
  ])('%s with the identity mapping and every column type', async (format, data) => {
    const table = await newTable();
    const status = await ingest(data, { table, format: format as IngestionProps['format'] });
    expect(status).toMatchObject({ status: 'Succeeded' });
    expect(await rows(table)).toEqual(EXPECTED);
  });

  it('json lines by name, skipping malformed lines as the service does', async () => {
    const table = await newTable();
    const data = `${JSON.stringify({ id: 1, name: 'alpha', score: 1.5, ok: true, at: '2024-01-01', tag: { k: 'a' } })}\nnot json at all\n${JSON.stringify({ id: 2, name: 'beta, with comma', score: -2, ok: false, at: '2024-02-29T12:30:00Z', tag: [1, 2] })}\n`;
    expect(await ingest(data, { table, format: 'json' })).toMatchObject({ status: 'Succeeded' });
    expect(await rows(table)).toEqual(EXPECTED);
  });

  it('multijson as an array and as concatenated multi-line objects; singlejson as one object', async () => {
    const table = await newTable('(id:long, name:string)');
    await ingest('[{"id":1,"name":"a"},{"id":2,"name":"b"}]', { table, format: 'multijson' });
    await ingest('{\n "id": 3,\n "name": "c"\n}\n{"id":4,\n"name":"d"}', { table, format: 'multijson' });
    await ingest('{"id": 5, "name": "e"}', { table, format: 'singlejson' });
    expect((await rows(table)).map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('txt (a line per row) and raw (the whole blob as one value)', async () => {
    const table = await newTable('(line:string)');
    await ingest('first line\n\nsecond line\n', { table, format: 'txt' });
    await ingest('all\nof it', { table, format: 'raw' });
    expect((await rows(table)).map((r) => r.line)).toEqual(['first line', 'second line', 'all\nof it']);
  });

  it('w3clogfile by field name', async () => {
    const table = await newTable('(["date"]:string, ["cs-method"]:string, ["sc-status"]:int)');
    const data =
      '#Software: IIS\n#Fields: date time cs-method sc-status\n2024-01-01 00:00:00 GET 200\n2024-01-01 00:00:01 POST -\n';
    await ingest(data, { table, format: 'w3clogfile' });
    expect(await rows(table)).toEqual([
      { date: '2024-01-01', 'cs-method': 'GET', 'sc-status': 200 },
      { date: '2024-01-01', 'cs-method': 'POST', 'sc-status': null },
    ]);
  });

  it('parquet, by name and with a Field/Path mapping', async () => {
    const table = await newTable('(id:long, name:string, score:real, copy:string)');
    const buffer = Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: [1n, 2n], type: 'INT64' },
          { name: 'name', data: ['alpha', 'beta'], type: 'STRING' },
          { name: 'score', data: [1.5, -2], type: 'DOUBLE' },
        ],
      }),
    );
    expect(await ingest(buffer, { table, format: 'parquet' })).toMatchObject({ status: 'Succeeded' });
    await ingest(buffer, {
      table,
      format: 'parquet',
      mapping: [
        { column: 'id', properties: { Field: 'id' } },
        { column: 'copy', properties: { Path: '$.name' } },
      ],
    });
    // Kusto has no null string: a string the mapping did not fill reads as empty.
    expect(await rows(table)).toEqual([
      { id: 1, name: 'alpha', score: 1.5, copy: '' },
      { id: 2, name: 'beta', score: -2, copy: '' },
      { id: 1, name: '', score: null, copy: 'alpha' },
      { id: 2, name: '', score: null, copy: 'beta' },
    ]);
  });

  it('avro (and apacheavro), by name and with a Field mapping', async () => {
    const table = await newTable('(id:long, name:string, renamed:string)');
    const type = AvroType.forSchema({
      type: 'record',
      name: 'Row',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'name', type: 'string' },
      ],
    });
    const encoder = new avroStreams.BlockEncoder(type);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise((r) => out.on('end', r));
    encoder.pipe(out);
    encoder.write({ id: 1, name: 'alpha' });
    encoder.write({ id: 2, name: 'beta' });
    encoder.end();
    await done;
    const buffer = Buffer.concat(chunks);
    await ingest(buffer, { table, format: 'avro' });
    await ingest(buffer, {
      table,
      format: 'apacheavro',
      mapping: [{ column: 'renamed', properties: { Field: 'name' } }],
    });
    expect(await rows(table)).toEqual([
      { id: 1, name: 'alpha', renamed: '' },
      { id: 2, name: 'beta', renamed: '' },
      { id: null, name: '', renamed: 'alpha' },
      { id: null, name: '', renamed: 'beta' },
    ]);
  });

  it('a zip archive (from a blob), honouring zipPattern', async () => {
    const table = await newTable('(id:long, name:string)');
    const zip = Buffer.from(
      zipSync({ 'a.csv': Buffer.from('1,a\n'), 'b.csv': Buffer.from('2,b\n'), 'skip.txt': Buffer.from('x') }),
    );
    const container = blobService(0).getContainerClient('zips');
    await container.createIfNotExists();
    const blob = container.getBlockBlobClient(`data-${Date.now()}.csv.zip`);
    await blob.uploadData(zip);
    const url = await blob.generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    await ingest(url, { table, format: 'csv', additionalProperties: { zipPattern: '\\.csv$' } }, 'blob');
    expect((await rows(table)).map((r) => r.id)).toEqual([1, 2]);
  });

  it('gzip input the caller compressed', async () => {
    const table = await newTable('(id:long, name:string)');
    expect(await ingest(gzipSync('1,a\n2,b\n'), { table, format: 'csv' })).toMatchObject({
      status: 'Succeeded',
    });
    expect(await kusto.count(table)).toBe(2);
  });
});

describe('mappings', () => {
  it('Csv: Ordinal, ConstValue, SourceLocation, SourceLineNumber; ignoreFirstRecord', async () => {
    const table = await newTable('(b:string, a:long, k:string, src:string, line:long)');
    const status = await ingest('a,b\n1,x\n2,y\n', {
      table,
      format: 'csv',
      ignoreFirstRecord: true,
      mapping: [
        { column: 'a', properties: { Ordinal: 0 } },
        { column: 'b', properties: { Ordinal: 1 } },
        { column: 'k', properties: { ConstValue: 'fixed' } },
        { column: 'src', properties: { Transform: 'SourceLocation' } },
        { column: 'line', properties: { Transform: 'SourceLineNumber' } },
      ],
    });
    expect(status.status).toBe('Succeeded');
    const got = await rows(table);
    expect(got.map((r) => [r.a, r.b, r.k, r.line])).toEqual([
      [1, 'x', 'fixed', 2],
      [2, 'y', 'fixed', 3],
    ]);
    expect(String(got[0]?.src)).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/temp-[\w-]+\/demo__.*\.csv\.gz$/,
    );
  });

  it('Json: nested paths, the DateTimeFromUnix transforms, and a mapping created on the table', async () => {
    const table = await newTable(
      '(user:string, s:datetime, ms:datetime, us:datetime, ns:datetime, ["first"]:long)',
    );
    await kusto.mgmt(
      `.create table ${table} ingestion json mapping "events" '[{"column":"user","Properties":{"Path":"$.who[\\'name\\']"}},{"column":"s","Properties":{"Path":"$.t","Transform":"DateTimeFromUnixSeconds"}},{"column":"ms","Properties":{"Path":"$.t_ms","Transform":"DateTimeFromUnixMilliseconds"}},{"column":"us","Properties":{"Path":"$.t_us","Transform":"DateTimeFromUnixMicroseconds"}},{"column":"ns","Properties":{"Path":"$.t_ns","Transform":"DateTimeFromUnixNanoseconds"}},{"column":"first","Properties":{"Path":"$.list[0]"}}]'`,
    );
    const line = JSON.stringify({
      who: { name: 'ada' },
      t: 1704067200,
      t_ms: 1704067200500,
      t_us: 1704067200000000,
      t_ns: 1704067200000000000,
      list: [7, 8],
    });
    expect(await ingest(`${line}\n`, { table, format: 'json', mappingReference: 'events' })).toMatchObject({
      status: 'Succeeded',
    });
    expect(await rows(table)).toEqual([
      {
        user: 'ada',
        s: '2024-01-01T00:00:00Z',
        ms: '2024-01-01T00:00:00.5Z',
        us: '2024-01-01T00:00:00Z',
        ns: '2024-01-01T00:00:00Z',
        first: 7,
      },
    ]);
  });

  it('converts to every column type, and values that do not fit become null', async () => {
    const table = await newTable(
      '(i:int, l:long, r:real, d:decimal, b:bool, t:datetime, ts:timespan, g:guid, dy:dynamic, s:string)',
    );
    const data = [
      '42,9007199254740993,2.5e3,12.3400,TRUE,2024-03-01T10:11:12.5Z,1.02:03:04,9A7B4D1C-0000-4000-8000-00000000000A,"{""x"":1}",text',
      'x,4.2,abc,1e2x,maybe,not a date,nope,not-a-guid,plain,',
    ].join('\n');
    expect(await ingest(data, { table, format: 'csv' })).toMatchObject({ status: 'Succeeded' });
    expect(await rows(table)).toEqual([
      {
        i: 42,
        l: '9007199254740993',
        r: 2500,
        d: '12.3400',
        b: true,
        t: '2024-03-01T10:11:12.5Z',
        ts: '1.02:03:04',
        g: '9a7b4d1c-0000-4000-8000-00000000000a',
        dy: { x: 1 },
        s: 'text',
      },
      { i: null, l: null, r: null, d: null, b: null, t: null, ts: null, g: null, dy: 'plain', s: '' },
    ]);
  });
});
