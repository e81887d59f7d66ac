import { gzipSync } from 'node:zlib';
import { InvocationContext } from '@azure/functions';
import { handleLandingEvent } from '../../shared/app/landing/handleLandingEvent';
import { canonicalBlobUrl, landingSourceId } from '../../shared/app/landing/landingBlob';
import { encodeMetadataValue } from '../../shared/app/landing/quarantine';
import { blobCreatedEvent, startAppUnderTest, type AppUnderTest } from '../helpers/appUnderTest';
import { eventually } from '../helpers/engine';

let app: AppUnderTest;
beforeAll(async () => {
  app = await startAppUnderTest();
  await app.kusto.mgmt('.create table Events (id:long, name:string)');
  await app.kusto.mgmt('.create table Other (id:long, name:string)');
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

async function rowsEventually(table: string, count: number) {
  return eventually(
    async () => ((await app.kusto.count(table)) >= count ? app.kusto.count(table) : undefined),
    20_000,
    `${count} rows in ${table}`,
  );
}

describe('a blob landing in the landing container', () => {
  it('is routed by its path, queued by URL with a read SAS, tracked, and its rows land', async () => {
    const content = '1,alpha\n2,beta\n';
    const { blob, event } = await land('demo/Events/2024/01/a.csv', content);
    const outcome = await handle(event);
    expect(outcome).toMatchObject({ outcome: 'queued' });
    const sourceId = (outcome as { sourceId: string }).sourceId;
    expect(sourceId).toBe(
      landingSourceId(
        canonicalBlobUrl(blob.url),
        String(event.data && (event.data as { eTag: string }).eTag),
      ),
    );
    expect(await rowsEventually('Events', 2)).toBe(2);

    const record = await app.ctx.tracking.get(sourceId);
    expect(record).toMatchObject({
      kind: 'landing',
      state: 'queued',
      database: 'demo',
      table: 'Events',
      sourceUrl: canonicalBlobUrl(blob.url),
      props: expect.objectContaining({
        format: 'csv',
        rawDataSize: Buffer.byteLength(content),
        reportMethod: 1,
        reportLevel: 2,
      }) as unknown,
    });
    // On a cluster that prefers REST (the stand-in's default), submitted over v2: read by its operation.
    expect(record?.operation).toEqual(expect.any(String));
    expect(record?.submission).toMatch(/^kif-batch:/);
    // Kusto was handed the blob itself (retained), not a copy.
    expect(await blob.exists()).toBe(true);
    expect(await app.serviceStatus(sourceId).then((s) => s.status)).toMatch(/Pending|Succeeded/);
  });

  it('is ingested once when the same event arrives twice', async () => {
    const { event } = await land('demo/Other/once.csv', '1,a\n');
    const first = await handle(event);
    const second = await handle(event);
    expect(first.outcome).toBe('queued');
    expect(second).toEqual({ outcome: 'duplicate', sourceId: (first as { sourceId: string }).sourceId });
    await rowsEventually('Other', 1);
    await app.dm.standin.worker?.drained(); // a second message, had there been one, is ingested by now
    expect(await app.kusto.count('Other')).toBe(1);
    expect(app.log.events('LandingDuplicate')).toHaveLength(1);
  });

  it('honours kusto_* metadata (any casing) over the path, and keeps a gzip blob compressed', async () => {
    const { event } = await land('misc/upload.bin.gz', gzipSync('7,seven\n'), {
      KUSTO_DATABASE: 'demo',
      Kusto_Table: 'Events',
      kusto_format: 'csv',
    });
    const outcome = await handle(event);
    expect(outcome.outcome).toBe('queued');
    const record = await app.ctx.tracking.get((outcome as { sourceId: string }).sourceId);
    expect(record?.props.rawDataSize).toBe(8); // compressed: the raw size is the gzip trailer's
    await eventually(async () =>
      (await app.kusto.query('Events | where id == 7')).rows.length === 1 ? true : undefined,
    );
  });

  it('takes over the row an earlier delivery left behind before queueing (a crash), and queues once', async () => {
    const { blob, event } = await land('demo/Other/crashed.csv', '5,crash\n');
    const sourceId = landingSourceId(canonicalBlobUrl(blob.url), (event.data as { eTag: string }).eTag);
    const props = { database: 'demo', table: 'Other', format: 'csv' as const };
    await app.ctx.tracking.begin({ sourceId, kind: 'landing', database: 'demo', table: 'Other', props });
    // The delivery that wrote the row stopped. While its lease lasts, a redelivery leaves it alone ...
    expect(await handle(event)).toEqual({ outcome: 'duplicate', sourceId });
    app.advanceClock(11 * 60_000);
    // ... and once it ran out, the next delivery takes it over and queues it.
    expect(await handle(event)).toEqual({ outcome: 'queued', sourceId });
    await eventually(async () =>
      (await app.kusto.query('Other | where id == 5')).rows.length === 1 ? true : undefined,
    );
  });

  it('ignores an event whose blob was overwritten since (its newer version has its own event)', async () => {
    const { blob, event } = await land('demo/Events/changed.csv', '1,old\n');
    await blob.upload('2,new\n', 6);
    expect(await handle(event)).toMatchObject({
      outcome: 'ignored',
      reason: expect.stringMatching(/superseded/) as unknown,
    });
  });

  it('ignores other event types and blobs outside the landing container', async () => {
    expect(
      await handle({ eventType: 'Microsoft.Storage.BlobDeleted', data: { url: 'https://a/b/c' } }),
    ).toMatchObject({ outcome: 'ignored' });
    expect(
      await handle(blobCreatedEvent('http://127.0.0.1:1/devstoreaccount1/elsewhere/a/b/c.csv', 'x')),
    ).toMatchObject({
      outcome: 'ignored',
      reason: expect.stringMatching(/not in the/) as unknown,
    });
  });

  it('parks a message that is no event in the poison queue at once (it can never succeed)', async () => {
    await app.ctx.landing.poison.createIfNotExists();
    const before = (await app.ctx.landing.poison.getProperties()).approximateMessagesCount ?? 0;
    expect(await handle('not json')).toMatchObject({
      outcome: 'poisoned',
      reason: expect.stringMatching(/not JSON/) as unknown,
    });
    expect(await handle({ hello: 'world' })).toMatchObject({
      outcome: 'poisoned',
      reason: expect.stringMatching(/BlobCreated/) as unknown,
    });
    expect((await app.ctx.landing.poison.getProperties()).approximateMessagesCount).toBe(before + 2);
  });
});

describe('a blob that cannot be routed', () => {
  it('is reported once and quarantined with the reason in its metadata, never retried', async () => {
    const { blob, event } = await land('too-shallow.xlsx', 'whatever');
    const outcome = await handle(event);
    expect(outcome).toMatchObject({
      outcome: 'rejected',
      reason: expect.stringMatching(/put it under/) as unknown,
    });
    expect(await blob.exists()).toBe(false); // moved out of landing
    const quarantined = app.ctx.landing.failed.getBlobClient('too-shallow.xlsx');
    const props = await quarantined.getProperties();
    expect(decodeURIComponent(props.metadata?.quarantine_reason ?? '')).toMatch(
      /Cannot route 'too-shallow\.xlsx'/,
    );
    expect(props.metadata?.quarantine_error_code).toBe('InvalidName');
    expect((await quarantined.downloadToBuffer()).toString()).toBe('whatever');
    const reports = app.log.events('LandingRejected');
    expect(reports).toEqual([
      expect.objectContaining({
        level: 'error',
        source: canonicalBlobUrl(blob.url),
        errorCode: 'InvalidName',
      }),
    ]);
  });

  it('keeps quarantine metadata ASCII and within the header limit', () => {
    const long = `ünïcode ${'x'.repeat(20_000)}`;
    const value = encodeMetadataValue(long, 4096);
    expect(value.length).toBeLessThanOrEqual(4096);
    expect(value).toMatch(/^[\x21-\x7e]+$/);
    expect(value.endsWith('...')).toBe(true);
    expect(encodeMetadataValue('a%b', 3)).toBe('...'); // never cuts an escape in half
  });
});

describe('the ingestLanding function', () => {
  it('exports its trigger options and a handler that calls the shared logic', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, app.env);
    try {
      jest.resetModules();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fn = require('../../functions/ingestLanding') as typeof import('../../functions/ingestLanding');
      expect(fn.options).toEqual({ queueName: app.env.LANDING_EVENTS_QUEUE, connection: 'LandingStorage' });
      const { event } = await land('demo/Events/via-function.csv', '42,fn\n');
      const lines: string[] = [];
      const context = new InvocationContext({
        functionName: 'ingestLanding',
        logHandler: (_level, ...args) => lines.push(args.join(' ')),
      });
      await fn.handler(event, context);
      expect(lines.some((l) => l.includes('"outcome":"queued"'))).toBe(true);
      await eventually(async () =>
        (await app.kusto.query('Events | where id == 42')).rows.length === 1 ? true : undefined,
      );
    } finally {
      process.env = saved;
    }
  });
});
