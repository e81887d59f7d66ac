import { BlobSASPermissions } from '@azure/storage-blob';
import {
  DirectIngestClient,
  IngestServiceError,
  IngestValidationError,
  ManagedStreamingIngestClient,
  QueuedIngestClient,
  STREAMING_LIMIT_BYTES,
  StreamingIngestClient,
} from '../../shared';
import { freePort } from '../../dev/azurite';
import { collectingLogger } from '../helpers/appUnderTest';
import { engine, eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService, testStack } from '../helpers/stack';

let dm: PrivateStandin;
let kusto: ReturnType<typeof engine>;
let n = 0;

beforeAll(async () => {
  dm = await startPrivateStandin({ worker: true, accountCount: 1, batchingWindowMs: 100 });
  kusto = engine(dm.standin.engineUrl);
});
afterAll(async () => {
  await dm.stop();
});
afterEach(() => {
  dm.standin.faults.reset();
});

async function streamingTable(policy = true): Promise<string> {
  const table = `F${++n}`;
  await kusto.mgmt(`.create table ${table} (id:long, name:string)`);
  if (policy) await kusto.mgmt(`.alter table ${table} policy streamingingestion enable`);
  return table;
}

/** A CSV of exactly `bytes` bytes, in whole rows (the last row padded). */
function csvOfSize(bytes: number): Buffer {
  const row = '1,abcdefghijklmnopqrstuvwxyz\n';
  const rows = Math.floor(bytes / row.length) - 1;
  const head = row.repeat(rows);
  const last = `2,${'x'.repeat(bytes - head.length - 3)}\n`;
  const data = Buffer.from(head + last);
  expect(data.length).toBe(bytes);
  return data;
}

describe('StreamingIngestClient', () => {
  const client = () => new StreamingIngestClient({ engineUri: dm.standin.engineUrl });

  it('streams a small payload: the rows are queryable when the call returns', async () => {
    const table = await streamingTable();
    const receipt = await client().ingestFromStream(['1,a\n2,b\n'], {
      database: 'demo',
      table,
      format: 'csv',
    });
    expect(receipt).toMatchObject({ flavor: 'streaming', status: 'Succeeded', database: 'demo', table });
    expect(await kusto.count(table)).toBe(2); // no waiting
  });

  it('refuses more than 4 MiB before sending anything', async () => {
    const table = await streamingTable();
    const error = await client()
      .ingestFromStream([csvOfSize(STREAMING_LIMIT_BYTES + 1)], { database: 'demo', table, format: 'csv' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestValidationError);
    expect(error).toMatchObject({ code: 'TooLarge' });
    expect(await kusto.count(table)).toBe(0);
  });

  it('says how to enable streaming when the cluster has it off, or the table has no policy', async () => {
    const table = await streamingTable(false);
    const noPolicy = await client()
      .ingestFromStream(['1,a\n'], { database: 'demo', table, format: 'csv' })
      .catch((e: unknown) => e);
    expect(noPolicy).toBeInstanceOf(IngestServiceError);
    expect(noPolicy).toMatchObject({ code: 'StreamingDisabled', transient: false });
    expect((noPolicy as Error).message).toContain(`.alter table ${table} policy streamingingestion enable`);

    dm.standin.faults.update({ streaming: 'disabled' });
    const clusterOff = await client()
      .ingestFromStream(['1,a\n'], { database: 'demo', table, format: 'csv' })
      .catch((e: unknown) => e);
    expect(clusterOff).toMatchObject({ code: 'StreamingDisabled' });
    expect((clusterOff as Error).message).toMatch(/not enabled on the cluster .*enable it on the cluster/);
  });

  it('refuses properties streaming cannot carry', async () => {
    const table = await streamingTable();
    await expect(
      client().ingestFromStream(['1,a\n'], { database: 'demo', table, format: 'csv', tags: ['t'] }),
    ).rejects.toThrow(/does not support tags: use queued ingestion/);
  });
});

describe('ManagedStreamingIngestClient', () => {
  const managed = (engineUri = dm.standin.engineUrl, logger = collectingLogger()) =>
    new ManagedStreamingIngestClient({
      engineUri,
      ingestUri: dm.standin.dmUrl,
      queued: new QueuedIngestClient({ ingestUri: dm.standin.dmUrl }),
      retry: { maxAttempts: 3, baseDelayInMs: 5, maxDelayInMs: 20 },
      logger,
    });

  it('streams exactly 4 MiB, and queues 4 MiB + 1 byte', async () => {
    const table = await streamingTable();
    const payload = csvOfSize(STREAMING_LIMIT_BYTES);
    const atLimit = await managed().ingestFromStream([payload], { database: 'demo', table, format: 'csv' });
    expect(atLimit).toMatchObject({ flavor: 'streaming', status: 'Succeeded' });
    const streamed = await kusto.count(table);
    expect(streamed).toBe(payload.toString().split('\n').length - 1); // queryable at once: it streamed

    const over = await managed().ingestFromStream([csvOfSize(STREAMING_LIMIT_BYTES + 1)], {
      database: 'demo',
      table,
      format: 'csv',
      flushImmediately: true,
    });
    expect(over).toMatchObject({ flavor: 'queued' });
    await eventually(
      async () => ((await kusto.count(table)) >= 2 * streamed ? true : undefined),
      30_000,
      'the queued rows',
    );
  });

  it('queues when streaming is disabled on the cluster, or the table has no policy', async () => {
    const table = await streamingTable(false);
    const noPolicy = await managed().ingestFromStream(['1,a\n'], {
      database: 'demo',
      table,
      format: 'csv',
      flushImmediately: true,
    });
    expect(noPolicy.flavor).toBe('queued');
    dm.standin.faults.update({ streaming: 'disabled' });
    const logger = collectingLogger();
    const clusterOff = await managed(dm.standin.engineUrl, logger).ingestFromStream(['2,b\n'], {
      database: 'demo',
      table,
      format: 'csv',
      flushImmediately: true,
    });
    expect(clusterOff.flavor).toBe('queued');
    expect(logger.lines.some((l) => l.message.includes('queueing instead'))).toBe(true);
    await eventually(
      async () => ((await kusto.count(table)) === 2 ? true : undefined),
      30_000,
      'the queued rows',
    );
  });

  it('retries transient failures a bounded number of times, then queues', async () => {
    const table = await streamingTable();
    const closed = `http://127.0.0.1:${await freePort()}`; // nothing listens: a transient network error
    const logger = collectingLogger();
    const receipt = await managed(closed, logger).ingestFromStream(['1,a\n'], {
      database: 'demo',
      table,
      format: 'csv',
      flushImmediately: true,
    });
    expect(receipt.flavor).toBe('queued');
    expect(
      logger.lines.filter((l) => l.message.startsWith('Streaming ingestion failed (attempt')),
    ).toHaveLength(2); // 3 attempts
    await eventually(
      async () => ((await kusto.count(table)) === 1 ? true : undefined),
      30_000,
      'the queued row',
    );
  });

  it('never retries, nor queues, a permanent failure', async () => {
    const table = await streamingTable();
    const logger = collectingLogger();
    const error = await managed(dm.standin.engineUrl, logger)
      .ingestFromStream(['1,a\n'], { database: 'demo', table, format: 'csv', mappingReference: 'missing' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestServiceError);
    expect(error).toMatchObject({ transient: false, serviceCode: 'BadRequest_MappingReferenceWasNotFound' });
    expect(logger.lines.some((l) => l.message.includes('retrying') || l.message.includes('queueing'))).toBe(
      false,
    );
    await dm.standin.worker?.drained(); // had it been queued, it would have been ingested by now
    expect(await kusto.count(table)).toBe(0);
  });

  it('queues what streaming cannot carry (tags) without trying to stream it', async () => {
    const table = await streamingTable();
    const receipt = await managed().ingestFromStream(['1,a\n'], {
      database: 'demo',
      table,
      format: 'csv',
      tags: ['t'],
      flushImmediately: true,
    });
    expect(receipt.flavor).toBe('queued');
  });
});

describe('DirectIngestClient', () => {
  const direct = () => new DirectIngestClient({ engineUri: dm.standin.engineUrl });

  it('ingests blobs with .ingest into and returns the extents and row counts', async () => {
    await kusto.mgmt(".create table ['Direct Table'] (id:long, name:string)");
    const container = blobService(0).getContainerClient('direct-flavor');
    await container.createIfNotExists();
    const urls = [];
    for (const [name, content] of [
      ['a.csv', 'id,name\n1,a\n2,b\n'],
      ['b.csv', 'id,name\n3,"it\'s ""quoted"""\n'],
    ] as const) {
      const blob = container.getBlockBlobClient(`${Date.now()}-${name}`);
      await blob.upload(content, Buffer.byteLength(content));
      urls.push(
        await blob.generateSasUrl({
          permissions: BlobSASPermissions.parse('r'),
          expiresOn: new Date(Date.now() + 3_600_000),
        }),
      );
    }
    const result = await direct().ingestFromBlob(urls, {
      database: 'demo',
      table: 'Direct Table',
      format: 'csv',
      ignoreFirstRecord: true,
      dropByTags: ["o'neil"],
    });
    expect(result).toMatchObject({ flavor: 'direct', status: 'Succeeded', rowCount: 3 });
    expect(result.extents.map((e) => e.rowCount)).toEqual([2, 1]);
    expect(result.extents.map((e) => e.itemLoaded)).toEqual(urls.map((u) => u.split('?')[0]));
    expect((await kusto.query("['Direct Table'] | where id == 3")).objects).toEqual([
      { id: 3, name: 'it\'s "quoted"' },
    ]);
    const tags = (await kusto.mgmt(".show table ['Direct Table'] extents")).objects.map((e) => e.Tags);
    expect(tags).toEqual(["drop-by:o'neil", "drop-by:o'neil"]);
  });

  it('ingests a few rows inline, and reports bad data with the service code', async () => {
    await kusto.mgmt('.create table Inline (id:long, name:string)');
    const result = await direct().ingestInline('1,x\n2,y\n', {
      database: 'demo',
      table: 'Inline',
      format: 'csv',
    });
    expect(result.rowCount).toBe(2);
    const error = await direct()
      .ingestInline('1,x\n2,y,z\n', { database: 'demo', table: 'Inline', format: 'csv' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestServiceError);
    expect(error).toMatchObject({ serviceCode: 'Stream_WrongNumberOfFields', transient: false });
    await expect(
      direct().ingestInline('x'.repeat(70_000), { database: 'demo', table: 'Inline', format: 'csv' }),
    ).rejects.toThrow(/limited to 65536 bytes/);
    expect(testStack().accounts.length).toBeGreaterThan(0);
  });
});
