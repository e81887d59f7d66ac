/**
 * Landing parity with ADX's Event Grid data connection: a blob uploaded exactly as for the connection (its
 * metadata names, at a path with no database or table in it) lands here with the same properties; marker
 * and empty files are skipped, not quarantined; compressed blobs carry their raw size.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { handleIngestPush } from '../../shared/app/http/ingestHandlers';
import { handleLandingEvent } from '../../shared/app/landing/handleLandingEvent';
import { apiRequest } from '../helpers/apiRequest';
import { blobCreatedEvent, startAppUnderTest, type AppUnderTest } from '../helpers/appUnderTest';
import { eventually } from '../helpers/engine';

let app: AppUnderTest;
const dir = mkdtempSync(join(tmpdir(), 'kif-parity-'));

beforeAll(async () => {
  // The connection's own configuration, as a rule: every blob to demo.Conn as csv unless it says otherwise.
  const routes = join(dir, 'routes.json');
  writeFileSync(
    routes,
    JSON.stringify({ rules: [{ match: '**', database: 'demo', table: 'Conn', format: 'csv' }] }),
  );
  app = await startAppUnderTest({ ROUTES_FILE: routes, LANDING_ALLOWED_DATABASES: 'demo' });
  await app.kusto.mgmt('.create table Conn (id:long, name:string)');
  await app.kusto.mgmt('.create table Mapped (name:string, id:long, source:string)');
  await app.kusto.mgmt(
    `.create table Mapped ingestion csv mapping 'ConnMap' '[{"column":"id","Properties":{"Ordinal":"0"}},{"column":"name","Properties":{"Ordinal":"1"}},{"column":"source","Properties":{"ConstValue":"connection"}}]'`,
  );
  await app.kusto.mgmt('.create table Sized (id:long, name:string)');
  await app.kusto.mgmt('.create table Pushed (id:long, name:string)');
  await app.kusto.mgmt('.create table Lake (id:long, name:string)');
});
afterAll(async () => {
  await app.stop();
});

async function land(path: string, content: string | Buffer, metadata: Record<string, string> = {}) {
  const blob = app.ctx.landing.container.getBlockBlobClient(path);
  const body = typeof content === 'string' ? Buffer.from(content) : content;
  const response = await blob.upload(body, body.length, { metadata });
  return { blob, event: blobCreatedEvent(blob.url, response.etag ?? '', body.length) };
}

const handle = (message: unknown) => handleLandingEvent(message, app.ctx, app.log);

async function rows(table: string, count: number): Promise<Record<string, unknown>[]> {
  return eventually(
    async () => {
      const result = await app.kusto.query(table);
      return result.objects.length >= count ? result.objects : undefined;
    },
    20_000,
    `${count} rows in ${table}`,
  );
}

describe('a blob uploaded for the Event Grid data connection', () => {
  it('lands in the table its metadata names, with its mapping, tags and creation time, its header skipped', async () => {
    const { event } = await land('incoming/2024/06/export.txt', 'id,name\n1,alpha\n2,beta\n', {
      kustoTable: 'Mapped',
      kustoDataFormat: 'csv',
      kustoIngestionMappingReference: 'ConnMap',
      kustoIgnoreFirstRecord: 'true',
      kustoExtentTags: '["drop-by:conn-1","team:ops"]',
      kustoCreationTime: '2021-06-01T00:00:00Z',
      rawSizeBytes: '4096',
    });
    const outcome = await handle(event);
    expect(outcome).toMatchObject({ outcome: 'queued' });
    const record = await app.ctx.tracking.get((outcome as { sourceId: string }).sourceId);
    expect(record?.props).toMatchObject({
      database: 'demo',
      table: 'Mapped',
      ignoreFirstRecord: true,
      rawDataSize: 4096,
    });

    expect(await rows('Mapped', 2)).toEqual([
      { name: 'alpha', id: 1, source: 'connection' },
      { name: 'beta', id: 2, source: 'connection' },
    ]);
    const extents = (await app.kusto.mgmt('.show table Mapped extents')).objects;
    expect(extents).toHaveLength(1);
    // The connection's tags, as Event Grid's connection sets them; beside them, the app's own submission tag
    // (ingest v2's evidence, docs/lifecycle.md).
    const tags = String(extents[0]?.Tags).split('\r\n').sort();
    expect(tags.filter((t) => !t.startsWith('kif-batch:'))).toEqual(['drop-by:conn-1', 'team:ops']);
    expect(extents[0]?.MinCreatedOn).toBe('2021-06-01T00:00:00Z');
  });

  it('goes where the connection would send it when it names nothing: the static route', async () => {
    const { event } = await land('anywhere/at/all/data.log', '7,static\n');
    expect(await handle(event)).toMatchObject({ outcome: 'queued' });
    expect(await rows('Conn', 1)).toContainEqual({ id: 7, name: 'static' });
  });

  it('is rejected and reported, never guessed, when two metadata names disagree or the database is not allowed', async () => {
    const conflicting = await land('incoming/conflict.csv', '1,a\n', {
      kustoTable: 'Conn',
      kusto_table: 'Mapped',
    });
    expect(await handle(conflicting.event)).toMatchObject({ outcome: 'rejected' });
    const elsewhere = await land('incoming/elsewhere.csv', '1,a\n', { kustoDatabase: 'Finance' });
    const outcome = await handle(elsewhere.event);
    expect(outcome).toMatchObject({ outcome: 'rejected' });
    const record = await app.ctx.tracking.get((outcome as { sourceId: string }).sourceId);
    expect(record).toMatchObject({ finalStatus: 'Rejected', errorCode: 'DatabaseNotAllowed' });
    expect(await app.ctx.landing.failed.getBlobClient('incoming/elsewhere.csv').exists()).toBe(true);
    expect(await elsewhere.blob.exists()).toBe(false);
  });
});

describe('files that are not data', () => {
  it.each([
    ['job/_SUCCESS', 'x'],
    ['job/part-0.csv.crc', 'x'],
    ['job/upload.csv.tmp', '1,a\n'],
    ['job/empty.csv', ''],
  ])('%s is skipped: not queued, not quarantined, counted', async (path, content) => {
    const before = app.ctx.counters.get('landingSkipped');
    const { blob, event } = await land(path, content);
    expect(await handle(event)).toMatchObject({ outcome: 'skipped' });
    expect(app.ctx.counters.get('landingSkipped')).toBe(before + 1);
    expect(await blob.exists()).toBe(true);
    expect(await app.ctx.landing.failed.getBlobClient(path).exists()).toBe(false);
  });
});

/** An event as Event Grid sends it for a Data Lake (hierarchical namespace) account. */
function dataLakeEvent(type: 'BlobCreated' | 'BlobRenamed', data: Record<string, unknown>) {
  return {
    eventType: `Microsoft.Storage.${type}`,
    subject: 's',
    eventTime: new Date().toISOString(),
    id: String(Math.random()),
    data,
  };
}

describe('Data Lake (hierarchical namespace) event sequences', () => {
  it('create, then flush with close: one ingestion, when the file is complete', async () => {
    const { blob, event } = await land('lake/created.csv', '1,lake\n', { kustoTable: 'Lake' });
    const eTag = (event.data as { eTag: string }).eTag;
    const outcomes = [
      await handle(dataLakeEvent('BlobCreated', { api: 'CreateFile', url: blob.url, contentLength: 0 })),
      await handle(
        dataLakeEvent('BlobCreated', { api: 'FlushWithClose', url: blob.url, eTag, contentLength: 7 }),
      ),
      await handle(
        dataLakeEvent('BlobCreated', { api: 'FlushWithClose', url: blob.url, eTag, contentLength: 7 }),
      ),
    ];
    expect(outcomes.map((o) => o.outcome)).toEqual(['ignored', 'queued', 'duplicate']);
    expect(outcomes[0]).toMatchObject({ reason: 'the file is not complete yet (CreateFile)' });
    expect(await rows('Lake', 1)).toEqual([{ id: 1, name: 'lake' }]);
  });

  it('written under a temporary name, then renamed into place: one ingestion, of the final name', async () => {
    // Azurite has no Data Lake endpoint: the renamed file is uploaded where the rename put it, and the events
    // of the sequence are posted as Event Grid sends them.
    const temp = app.ctx.landing.container.getBlockBlobClient('lake/_temporary/0/part-0.csv');
    const { blob } = await land('lake/renamed.csv', '2,renamed\n', { kustoTable: 'Lake' });
    const outcomes = [
      await handle(dataLakeEvent('BlobCreated', { api: 'CreateFile', url: temp.url, contentLength: 0 })),
      await handle(
        dataLakeEvent('BlobCreated', {
          api: 'FlushWithClose',
          url: temp.url,
          eTag: '0x1',
          contentLength: 11,
        }),
      ),
      await handle(
        dataLakeEvent('BlobRenamed', { api: 'RenameFile', sourceUrl: temp.url, destinationUrl: blob.url }),
      ),
    ];
    expect(outcomes.map((o) => o.outcome)).toEqual(['ignored', 'skipped', 'queued']);
    expect(await rows('Lake', 2)).toContainEqual({ id: 2, name: 'renamed' });
    await app.dm.standin.worker?.drained();
    expect(await app.kusto.count('Lake')).toBe(2);
  });
});

describe('the raw size of a compressed landing blob', () => {
  it('comes from the gzip trailer and the zip directory, so the service batches by what they hold', async () => {
    const text = '1,a\n'.repeat(5000);
    // The static route would send them to Conn: their metadata names the table.
    const sized = { kustoTable: 'Sized' };
    const gz = await land('sized/part.csv.gz', gzipSync(text), sized);
    const zip = await land(
      'sized/part.csv.zip',
      Buffer.from(zipSync({ 'part.csv': Buffer.from(text) })),
      sized,
    );
    for (const { event } of [gz, zip]) {
      const outcome = await handle(event);
      expect(outcome).toMatchObject({ outcome: 'queued' });
      const record = await app.ctx.tracking.get((outcome as { sourceId: string }).sourceId);
      expect(record?.props.rawDataSize).toBe(text.length);
    }
    await rows('Sized', 10_000);
  });
});

describe('ignoreFirstRecord on the HTTP push', () => {
  it('skips the header line of a pushed body', async () => {
    const result = await handleIngestPush(
      apiRequest('POST', '/api/ingest/demo/Pushed?ignoreFirstRecord=true', 'id,name\n1,one\n', {
        'content-type': 'text/csv',
      }),
      app.ctx,
      app.log,
    );
    expect(result.status).toBe(202);
    expect(await rows('Pushed', 1)).toEqual([{ id: 1, name: 'one' }]);
  });
});
