import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { BlobClient, BlobSASPermissions } from '@azure/storage-blob';
import { QueuedIngestClient, ReportLevel, ReportMethod, type IngestionReceipt } from '../../shared';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService, tableClient, testStack } from '../helpers/stack';

// What these tests check is v1's (queue messages, resources, temp containers): their clients are pinned
// to protocol v1, since the stand-in prefers REST ingestion as clusters now do.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let dm: PrivateStandin;
let client: QueuedIngestClient;
let dir: string;

beforeAll(async () => {
  dm = await startPrivateStandin();
  client = new QueuedIngestClient({
    protocol: 'v1',
    ingestUri: dm.standin.dmUrl,
    applicationName: 'source-kinds-test',
  });
  dir = mkdtempSync(join(tmpdir(), 'kif-kinds-'));
});
afterAll(async () => {
  client.close();
  await dm.stop();
});

type Message = Record<string, unknown> & { AdditionalProperties: Record<string, unknown> };

async function onlyMessage(receipt: IngestionReceipt): Promise<Message> {
  const messages = await dm.drainMessages();
  expect(messages).toHaveLength(1);
  const message = messages[0] as Message;
  expect(message.Id).toBe(receipt.sourceId);
  return message;
}

/** The fields every message must carry, with the types the service expects. */
function expectCommonFields(message: Message, database: string, table: string): void {
  const started = Date.now();
  expect(message).toEqual(
    expect.objectContaining({
      DatabaseName: database,
      TableName: table,
      IgnoreSizeLimit: false,
      ApplicationForTracing: 'source-kinds-test',
    }),
  );
  expect(typeof message.FlushImmediately).toBe('boolean');
  expect(typeof message.ReportLevel).toBe('number');
  expect(typeof message.ReportMethod).toBe('number');
  expect(message.ClientVersionForTracing).toMatch(
    /^Kusto\.Ingest\.Functions:\{[\w.]+\}\|Runtime\.Node:\{v\d+[\w.]*\}$/,
  );
  const created = Date.parse(message.SourceMessageCreationTime as string);
  expect(Math.abs(started - created)).toBeLessThan(60_000);
  expect(message.AdditionalProperties.authorizationContext).toEqual(expect.any(String));
  expect(dm.standin.dm.isIssuedToken(message.AdditionalProperties.authorizationContext)).toBe(true);
  for (const value of Object.values(message.AdditionalProperties)) expect(typeof value).toBe('string');
}

async function download(blobUrlWithSas: string): Promise<Buffer> {
  return new BlobClient(blobUrlWithSas).downloadToBuffer();
}

function expectTempBlob(message: Message, receipt: IngestionReceipt, name: string): void {
  const blobPath = message.BlobPath as string;
  expect(blobPath).toContain('?'); // the service needs the SAS
  expect(blobPath).toMatch(/[?&]sig=/);
  const container = dm.layout.tempContainers.find((c) => blobPath.includes(`/${c}/`));
  expect(container).toBeDefined();
  expect(blobPath.split('?')[0]).toBe(receipt.blobPath);
  expect(
    receipt.blobPath?.endsWith(`/${receipt.database}__${receipt.table}__${receipt.sourceId}__${name}`),
  ).toBe(true);
  expect(message.RetainBlobOnSuccess).toBe(false);
}

describe('QueuedIngestClient: each source kind lands as the service expects', () => {
  it('a stream is gzipped while it flows, with the exact RawDataSize and a Pending status row', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `${i},name-${i},${i * 1.5}\n`);
    const input = Buffer.from(lines.join(''), 'utf8');
    const receipt = await client.ingestFromStream(Readable.from(lines), {
      database: 'db1',
      table: 'Events',
      format: 'csv',
      reportLevel: ReportLevel.FailuresAndSuccesses,
      reportMethod: ReportMethod.Table,
      tags: ['t1'],
      ingestByTags: ['batch-7'],
      dropByTags: ['2024-01'],
      creationTime: '2024-01-31T10:00:00Z',
      ignoreFirstRecord: true,
      flushImmediately: true,
      mappingReference: 'EventsMapping',
      validationPolicy: { validationOptions: 1, validationImplications: 1 },
      additionalProperties: { zipPattern: '*.csv' },
    });
    expect(receipt).toEqual(
      expect.objectContaining({ database: 'db1', table: 'Events', flavor: 'queued', status: 'Pending' }),
    );
    expect(receipt.sourceId).toMatch(UUID);

    const message = await onlyMessage(receipt);
    expectCommonFields(message, 'db1', 'Events');
    expectTempBlob(message, receipt, 'stream.csv.gz');
    expect(message.RawDataSize).toBe(input.length);
    expect(message.FlushImmediately).toBe(true);
    expect(message.ReportLevel).toBe(2);
    expect(message.ReportMethod).toBe(1);
    expect(message.AdditionalProperties).toEqual({
      authorizationContext: expect.any(String) as unknown,
      format: 'csv',
      ingestionMappingReference: 'EventsMapping',
      ingestionMappingType: 'Csv',
      tags: '["t1","drop-by:2024-01","ingest-by:batch-7"]',
      creationTime: '2024-01-31T10:00:00.000Z',
      ignoreFirstRecord: 'true',
      ValidationPolicy: '{"ValidationOptions":1,"ValidationImplications":1}',
      zipPattern: '*.csv',
    });

    // The status table reference: PascalCase keys, the table's full URL with its SAS.
    const inTable = message.IngestionStatusInTable as Record<string, string>;
    expect(Object.keys(inTable).sort()).toEqual(['PartitionKey', 'RowKey', 'TableConnectionString']);
    expect(inTable.PartitionKey).toBe(receipt.sourceId);
    expect(inTable.RowKey).toBe(receipt.sourceId);
    expect(inTable.TableConnectionString?.split('?')[0]).toBe(receipt.statusTable?.tableUrl);
    expect(inTable.TableConnectionString).toContain(`/${dm.layout.statusTable}?`);

    const content = await download(message.BlobPath as string);
    expect(content.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(gunzipSync(content).equals(input)).toBe(true);

    // Exactly one Pending row, written before the message, readable by the test and by the client.
    const row = await tableClient(dm.layout.statusTable).getEntity(receipt.sourceId, receipt.sourceId);
    expect(row).toEqual(
      expect.objectContaining({
        Status: 'Pending',
        IngestionSourceId: receipt.sourceId,
        IngestionSourcePath: receipt.blobPath,
        Database: 'db1',
        Table: 'Events',
      }),
    );
    expect(String(row.IngestionSourcePath)).not.toContain('?');
    await expect(client.getIngestionStatus(receipt)).resolves.toEqual(
      expect.objectContaining({ sourceId: receipt.sourceId, status: 'Pending' }),
    );
    // When storage wrote the row, by its own stamp (what tells an earlier attempt's row from this one's).
    const byId = await client.getIngestionStatus(receipt.sourceId);
    expect(byId).toEqual(
      expect.objectContaining({ sourceId: receipt.sourceId, status: 'Pending', rowWrittenOn: row.timestamp }),
    );
    expect(Math.abs(Date.parse(byId.rowWrittenOn ?? '') - Date.now())).toBeLessThan(60_000);
  });

  it('a text file is streamed from disk and gzipped, with the exact RawDataSize, reporting to the queue by default', async () => {
    const path = join(dir, 'orders.csv');
    const input = Buffer.from(
      Array.from({ length: 300_000 }, (_, i) => `${i},"order ${i}",${i % 7}\n`).join(''),
    );
    writeFileSync(path, input);
    const small = new QueuedIngestClient({
      protocol: 'v1',
      ingestUri: dm.standin.dmUrl,
      applicationName: 'source-kinds-test',
      blockSizeInBytes: 256 * 1024,
    });
    const receipt = await small.ingestFromFile(path, { database: 'db1', table: 'Orders', format: 'csv' });
    expect(receipt.status).toBe('Queued');
    expect(receipt.statusTable).toBeUndefined();

    const message = await onlyMessage(receipt);
    expectCommonFields(message, 'db1', 'Orders');
    expectTempBlob(message, receipt, 'orders.csv.gz');
    expect(message.RawDataSize).toBe(input.length);
    expect(message.ReportLevel).toBe(0);
    expect(message.ReportMethod).toBe(0);
    expect(message.IngestionStatusInTable).toBeUndefined();
    expect(message.AdditionalProperties).toEqual({
      authorizationContext: expect.any(String) as unknown,
      format: 'csv',
    });
    // Over several blocks: the staged blocks reassemble to the input.
    const content = await download(message.BlobPath as string);
    expect(content.length).toBeGreaterThan(256 * 1024);
    expect(gunzipSync(content).equals(input)).toBe(true);
    await expect(small.getIngestionStatus(receipt)).resolves.toEqual({
      sourceId: receipt.sourceId,
      status: 'Queued',
    });
  });

  it('a .gz file goes up as it is, with RawDataSize from its gzip trailer', async () => {
    const input = Buffer.from(Array.from({ length: 2000 }, (_, i) => `{"id":${i},"v":"x${i}"}\n`).join(''));
    const path = join(dir, 'events.json.gz');
    const gz = gzipSync(input, { level: 9 });
    writeFileSync(path, gz);
    const receipt = await client.ingestFromFile(path, { database: 'db1', table: 'Raw', format: 'json' });
    const message = await onlyMessage(receipt);
    expectCommonFields(message, 'db1', 'Raw');
    expectTempBlob(message, receipt, 'events.json.gz');
    expect(message.RawDataSize).toBe(input.length);
    const content = await download(message.BlobPath as string);
    expect(content.equals(gz)).toBe(true); // not gzipped twice
  });

  it('a binary format goes up uncompressed, named without .gz, with the file size as RawDataSize', async () => {
    const input = Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(5000, 7), Buffer.from('PAR1')]);
    const path = join(dir, 'metrics.parquet');
    writeFileSync(path, input);
    const receipt = await client.ingestFromFile(path, {
      database: 'db1',
      table: 'Metrics',
      format: 'parquet',
      mapping: [
        { column: 'ts', datatype: 'datetime', properties: { Path: '$.ts' } },
        { column: 'value', properties: { Field: 'value' } },
      ],
    });
    const message = await onlyMessage(receipt);
    expectCommonFields(message, 'db1', 'Metrics');
    expectTempBlob(message, receipt, 'metrics.parquet');
    expect(message.RawDataSize).toBe(input.length);
    expect(message.AdditionalProperties.ingestionMappingType).toBe('Parquet');
    expect(JSON.parse(message.AdditionalProperties.ingestionMapping as string)).toEqual([
      { Column: 'ts', DataType: 'datetime', Properties: { Path: '$.ts' } },
      { Column: 'value', Properties: { Field: 'value' } },
    ]);
    expect((await download(message.BlobPath as string)).equals(input)).toBe(true);
  });

  it('records are written as JSON lines and gzipped', async () => {
    function* records() {
      for (let i = 0; i < 1000; i++) yield { id: i, name: `n${i}`, nested: { ok: i % 2 === 0 } };
    }
    const expected = Buffer.from(
      Array.from(
        { length: 1000 },
        (_, i) => `${JSON.stringify({ id: i, name: `n${i}`, nested: { ok: i % 2 === 0 } })}\n`,
      ).join(''),
    );
    const receipt = await client.ingestFromRecords(records(), {
      database: 'db1',
      table: 'Docs',
      format: 'json',
    });
    const message = await onlyMessage(receipt);
    expectCommonFields(message, 'db1', 'Docs');
    expectTempBlob(message, receipt, 'records.json.gz');
    expect(message.RawDataSize).toBe(expected.length);
    expect(gunzipSync(await download(message.BlobPath as string)).equals(expected)).toBe(true);
  });

  it("a caller's blob is queued by URL, retained, with the caller's sourceId and size", async () => {
    const container = blobService(1).getContainerClient('caller-data');
    await container.createIfNotExists();
    const blob = container.getBlockBlobClient(`input-${Date.now()}.csv`);
    await blob.upload('a,b\n', 4);
    const sas = await blob.generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const sourceId = '11111111-2222-4333-8444-555555555555';
    const receipt = await client.ingestFromBlob(sas, {
      database: 'db1',
      table: 'Events',
      format: 'csv',
      sourceId,
      rawDataSize: 4,
      reportLevel: ReportLevel.FailuresAndSuccesses,
      reportMethod: ReportMethod.QueueAndTable,
      ingestIfNotExists: ['ib1'],
      ingestByTags: ['ib1'],
    });
    expect(receipt.sourceId).toBe(sourceId);
    expect(receipt.blobPath).toBe(blob.url);
    const message = await onlyMessage(receipt);
    expectCommonFields(message, 'db1', 'Events');
    expect(message.BlobPath).toBe(sas);
    expect(message.RetainBlobOnSuccess).toBe(true);
    expect(message.RawDataSize).toBe(4);
    expect(message.ReportMethod).toBe(2);
    expect(message.AdditionalProperties.ingestIfNotExists).toBe('["ib1"]');
    expect(message.AdditionalProperties.tags).toBe('["ingest-by:ib1"]');
    const row = await tableClient(dm.layout.statusTable).getEntity(sourceId, sourceId);
    expect(row.Status).toBe('Pending');
    expect(row.IngestionSourcePath).toBe(blob.url);
    expect(testStack().accounts).toHaveLength(2);
  });
});

describe('two-step ingestion for callers that record progress', () => {
  it('stages a stream without queueing it, then queues it later with a fresh SAS', async () => {
    const input = Buffer.from('1,a\n2,b\n');
    const props = { database: 'db1', table: 'Staged', format: 'csv' } as const;
    const uploaded = await client.uploadToTempStorage([input], props);
    expect(uploaded.blobPath).not.toContain('?');
    expect(uploaded.rawDataSize).toBe(input.length);
    expect(await dm.drainMessages()).toHaveLength(0); // nothing queued yet

    // A new client (as after a restart) queues it from the stored record alone.
    const later = new QueuedIngestClient({
      protocol: 'v1',
      ingestUri: dm.standin.dmUrl,
      applicationName: 'source-kinds-test',
    });
    const receipt = await later.ingestUploaded(uploaded, props);
    expect(receipt).toMatchObject({
      sourceId: uploaded.sourceId,
      blobPath: uploaded.blobPath,
      status: 'Queued',
    });
    const message = await onlyMessage(receipt);
    expect(message.RetainBlobOnSuccess).toBe(false);
    expect(message.RawDataSize).toBe(input.length);
    expect(gunzipSync(await download(message.BlobPath as string)).equals(input)).toBe(true);
  });

  it('refuses a staged blob whose container the DM no longer hands out', async () => {
    await expect(
      client.ingestUploaded(
        {
          sourceId: '11111111-2222-4333-8444-555555555555',
          blobPath: 'http://127.0.0.1:1/acct/gone/x.csv.gz',
          rawDataSize: 1,
        },
        { database: 'db1', table: 'T', format: 'csv' },
      ),
    ).rejects.toThrow(/no longer handed out/);
  });
});
