import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleIngestPush } from '../../shared/app/http/ingestHandlers';
import { SUCCESS_TAGS } from '../../shared/app/landing/afterSuccess';
import { handleLandingEvent } from '../../shared/app/landing/handleLandingEvent';
import { runSweep } from '../../shared/app/sweep/sweep';
import { apiRequest } from '../helpers/apiRequest';
import {
  blobCreatedEvent,
  closedBySweep,
  startAppUnderTest,
  type AppUnderTest,
} from '../helpers/appUnderTest';
import { eventually } from '../helpers/engine';

/** A local webhook receiver: every JSON body POSTed to it. */
async function startReceiver(): Promise<{ url: string; bodies: Record<string, unknown>[]; server: Server }> {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/done`, bodies, server };
}

async function land(app: AppUnderTest, path: string, content: string, metadata: Record<string, string> = {}) {
  const blob = app.ctx.landing.container.getBlockBlobClient(path);
  const response = await blob.upload(content, Buffer.byteLength(content), { metadata });
  const outcome = await handleLandingEvent(
    blobCreatedEvent(blob.url, response.etag ?? '', Buffer.byteLength(content)),
    app.ctx,
    app.log,
  );
  expect(outcome.outcome).toBe('queued');
  return { blob, sourceId: (outcome as { sourceId: string }).sourceId };
}

describe.each(['keep', 'delete', 'move', 'tag'] as const)('LANDING_ON_SUCCESS=%s', (mode) => {
  let app: AppUnderTest;
  beforeAll(async () => {
    app = await startAppUnderTest({ LANDING_ON_SUCCESS: mode });
    await app.kusto.mgmt('.create table Done (id:long, name:string)');
  });
  afterAll(async () => {
    await app.stop();
  });

  it('does its work on the ingested blob once the service reports success, and only then', async () => {
    const { blob, sourceId } = await land(app, 'demo/Done/2026/a.csv', '1,a\n2,b\n', { owner: 'team-a' });
    // Queued, not yet reported: nothing is done to the blob before the data is in.
    expect(await blob.exists()).toBe(true);

    const record = await closedBySweep(app, sourceId);
    expect(record.finalStatus).toBe('Succeeded');
    expect(await app.kusto.count('Done')).toBe(2);
    const done = app.ctx.landing.done.getBlobClient('demo/Done/2026/a.csv');
    const reported = app.log.events('IngestionSucceeded').filter((e) => e.sourceId === sourceId);
    expect(reported).toHaveLength(1);

    switch (mode) {
      case 'keep':
        expect(await blob.exists()).toBe(true);
        expect(await done.exists()).toBe(false);
        expect(reported[0]).toMatchObject({ action: 'kept' });
        break;
      case 'delete':
        expect(await blob.exists()).toBe(false);
        expect(await done.exists()).toBe(false);
        expect(reported[0]).toMatchObject({ action: 'deleted' });
        break;
      case 'move': {
        expect(await blob.exists()).toBe(false);
        const moved = await done.getProperties();
        expect(moved.metadata).toMatchObject({ owner: 'team-a' });
        expect((await done.downloadToBuffer()).toString()).toBe('1,a\n2,b\n');
        expect(reported[0]).toMatchObject({ action: `moved to ${app.env.LANDING_DONE_CONTAINER}` });
        break;
      }
      case 'tag': {
        expect(await blob.exists()).toBe(true);
        const { tags } = await blob.getTags();
        expect(tags[SUCCESS_TAGS.sourceId]).toBe(sourceId);
        expect(Date.parse(tags[SUCCESS_TAGS.ingestedOn] ?? '')).toBeGreaterThan(Date.now() - 120_000);
        expect(reported[0]).toMatchObject({ action: 'tagged' });
        break;
      }
    }
  });

  it('leaves a blob overwritten after its ingestion alone (the new version has its own event)', async () => {
    const { blob, sourceId } = await land(app, 'demo/Done/rewritten.csv', '3,c\n');
    await eventually(
      async () => ((await app.serviceStatus(sourceId)).status === 'Pending' ? undefined : true),
      20_000,
      'the first version reported',
    );
    await blob.upload('4,d\n', 4); // a newer version, same name
    await closedBySweep(app, sourceId);
    expect((await blob.downloadToBuffer()).toString()).toBe('4,d\n');
    expect(await app.ctx.landing.done.getBlobClient('demo/Done/rewritten.csv').exists()).toBe(false);
    if (mode === 'tag') expect((await blob.getTags()).tags).toEqual({});
  });
});

describe('SUCCESS_WEBHOOK_URL', () => {
  let app: AppUnderTest;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
    app = await startAppUnderTest({ SUCCESS_WEBHOOK_URL: receiver.url });
    await app.kusto.mgmt('.create table Hooked (id:long, name:string)');
  });
  afterAll(async () => {
    await app.stop();
    receiver.server.close();
  });

  it('is POSTed once per ingested source, landing blob or HTTP push, however often the sweep runs', async () => {
    const landed = await land(app, 'demo/Hooked/x.csv', '1,x\n');
    const pushed = await handleIngestPush(
      apiRequest('POST', '/api/ingest/demo/Hooked', '2,y\n'),
      app.ctx,
      app.log,
    );
    expect(pushed.status).toBe(202);
    const pushedId = (pushed.jsonBody as { sourceId: string }).sourceId;
    await closedBySweep(app, landed.sourceId);
    await closedBySweep(app, pushedId);
    await runSweep(app.ctx, app.log);
    await runSweep(app.ctx, app.log);

    const about = (id: string) => receiver.bodies.filter((b) => b.sourceId === id);
    expect(about(landed.sourceId)).toEqual([
      expect.objectContaining({
        event: 'IngestionSucceeded',
        kind: 'landing',
        database: 'demo',
        table: 'Hooked',
        key: 'succeeded',
        action: 'kept',
      }),
    ]);
    expect(about(pushedId)).toEqual([
      expect.objectContaining({ event: 'IngestionSucceeded', kind: 'http', table: 'Hooked' }),
    ]);
    // The data is queryable when the hook fires.
    expect(await app.kusto.count('Hooked')).toBe(2);
    // The URL Kusto read is never in a report.
    expect(JSON.stringify(receiver.bodies)).not.toMatch(/sig=/);
  });
});

describe('LANDING_BLOB_AUTH=kusto-identity', () => {
  let app: AppUnderTest;
  beforeAll(async () => {
    app = await startAppUnderTest({ LANDING_BLOB_AUTH: 'kusto-identity' });
    await app.kusto.mgmt('.create table Trusted (id:long, name:string)');
  });
  afterAll(async () => {
    await app.stop();
  });

  it('queues the blob with ;managed_identity=system and no SAS: refused until the database allows it, then ingested', async () => {
    const refused = await land(app, 'demo/Trusted/first.csv', '1,a\n');
    const failed = await closedBySweep(app, refused.sourceId);
    expect(failed).toMatchObject({ finalStatus: 'Failed', errorCode: 'BadRequest_InvalidManagedIdentity' });
    expect(failed.details).toMatch(/'system' is not allowed NativeIngestion/);

    const policy = await app.kusto.mgmt(
      `.alter-merge database demo policy managed_identity "[{'ObjectId':'system','AllowedUsages':'NativeIngestion'}]"`,
    );
    expect(JSON.stringify(policy)).toMatch(/NativeIngestion/);

    const allowed = await land(app, 'demo/Trusted/second.csv', '2,b\n3,c\n');
    expect(await closedBySweep(app, allowed.sourceId)).toMatchObject({ finalStatus: 'Succeeded' });
    expect(await app.kusto.count('Trusted')).toBe(2);
  });
});
