import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleLandingEvent } from '../../shared/app/landing/handleLandingEvent';
import { runSweep, type SweepSummary } from '../../shared/app/sweep/sweep';
import { statusReporting } from '../../shared/app/tracking/statusReporting';
import {
  blobCreatedEvent,
  openSourceIds,
  pushAccepted,
  startAppUnderTest,
  type AppUnderTest,
} from '../helpers/appUnderTest';
import { eventually } from '../helpers/engine';
import { tableClient } from '../helpers/stack';

let app: AppUnderTest;
let webhook: Server;
const hooks: Record<string, unknown>[] = [];

beforeAll(async () => {
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hooks.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  const port = (webhook.address() as AddressInfo).port;
  app = await startAppUnderTest({
    FAILURE_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
    MAX_REQUEUE_ATTEMPTS: '1',
    STALE_AFTER_MINUTES: '30',
  });
  for (const t of ['Good', 'Bad', 'Flaky', 'Again', 'Perm', 'Staged', 'Slow'])
    await app.kusto.mgmt(`.create table ${t} (id:long, name:string)`);
});
afterAll(async () => {
  await app.stop();
  webhook.close();
});
afterEach(() => {
  app.dm.standin.faults.reset();
});

const sweep = (): Promise<SweepSummary> => runSweep(app.ctx, app.log);

/** Waits until the stand-in has reported on the item (its status row left Pending). */
async function settled(sourceId: string): Promise<void> {
  await eventually(
    async () => {
      const s = await app.serviceStatus(sourceId);
      return s.status === 'Pending' ? undefined : s;
    },
    20_000,
    `the service's verdict on ${sourceId}`,
  );
}

describe('the sweep', () => {
  it('closes successes, and reads only open items', async () => {
    const id = await pushAccepted(app, 'Good', '1,a\n');
    await settled(id);
    const summary = await sweep();
    expect(summary.succeeded).toBeGreaterThanOrEqual(1);
    expect(await app.ctx.tracking.get(id)).toMatchObject({ state: 'closed', finalStatus: 'Succeeded' });
    const open = await openSourceIds(app);
    expect(open).not.toContain(id);
    expect((await sweep()).open).toBe(open.length); // closed history is not read again
  });

  it('reports a permanent landing failure exactly once (log, table, webhook) and quarantines the blob', async () => {
    const blob = app.ctx.landing.container.getBlockBlobClient('demo/Bad/broken.csv');
    const response = await blob.upload('1,a\n2,b,c\n', 10);
    const outcome = await handleLandingEvent(
      blobCreatedEvent(blob.url, response.etag ?? ''),
      app.ctx,
      app.log,
    );
    const sourceId = (outcome as { sourceId: string }).sourceId;
    await settled(sourceId);

    const first = await sweep();
    expect(first.failed).toBe(1);
    expect(first.quarantined).toBe(1);
    const reports = app.log.events('IngestionFailed').filter((e) => e.sourceId === sourceId);
    expect(reports).toEqual([
      expect.objectContaining({
        level: 'error',
        errorCode: 'Stream_WrongNumberOfFields',
        failureStatus: 'Permanent',
        action: expect.stringMatching(/quarantined/) as unknown,
      }),
    ]);
    const rows = tableClient(`Failures${app.env.LANDING_CONTAINER?.slice(8) ?? ''}`).listEntities();
    const failureRows: Record<string, unknown>[] = [];
    for await (const r of rows) if (r.SourceId === sourceId) failureRows.push(r);
    expect(failureRows).toEqual([
      expect.objectContaining({ Event: 'IngestionFailed', ErrorCode: 'Stream_WrongNumberOfFields' }),
    ]);
    expect(hooks.filter((h) => h.sourceId === sourceId)).toEqual([
      expect.objectContaining({ event: 'IngestionFailed', key: 'final-0' }),
    ]);
    expect(await blob.exists()).toBe(false);
    expect(await app.ctx.landing.failed.getBlobClient('demo/Bad/broken.csv').exists()).toBe(true);
    expect(await app.ctx.tracking.get(sourceId)).toMatchObject({
      state: 'closed',
      finalStatus: 'Failed',
      errorCode: 'Stream_WrongNumberOfFields',
    });

    await sweep();
    expect(app.log.events('IngestionFailed').filter((e) => e.sourceId === sourceId)).toHaveLength(1); // once
  });

  /** The re-sent attempt lands once in `table`, and the next sweep closes the source as its first requeue. */
  async function landsOnceThenCloses(id: string, table: string): Promise<void> {
    await eventually(async () => ((await app.kusto.count(table)) === 1 ? true : undefined));
    await settled(id);
    await sweep();
    expect(await app.ctx.tracking.get(id)).toMatchObject({
      state: 'closed',
      finalStatus: 'Succeeded',
      requeueCount: 1,
    });
  }

  it('re-queues a failure the service gave up on, and the rows then land', async () => {
    app.dm.standin.faults.update({ failIngestionsTransient: 1 });
    const id = await pushAccepted(app, 'Flaky', '5,retry-me\n');
    await settled(id);
    expect(await app.serviceStatus(id)).toMatchObject({
      status: 'Failed',
      failureStatus: 'Transient',
    });
    const summary = await sweep();
    expect(summary.requeued).toBe(1);
    expect(app.log.events('IngestionRequeued').filter((e) => e.sourceId === id)).toHaveLength(1);
    await landsOnceThenCloses(id, 'Flaky');
  });

  it('puts back a requeue the service refused on every try, and a later sweep sends that same attempt', async () => {
    app.dm.standin.faults.update({ failIngestionsTransient: 1 });
    const id = await pushAccepted(app, 'Again', '7,again\n');
    await settled(id);
    // Once the sweep has read the failure, the service answers 503 to everything, the requeue's tries too.
    const ingest = app.ctx.ingest;
    const read = ingest.getOperationStatuses.bind(ingest);
    ingest.getOperationStatuses = async (...args) => {
      const statuses = await read(...args);
      app.dm.standin.faults.update({ mgmt5xx: 20 });
      return statuses;
    };
    try {
      await sweep();
    } finally {
      ingest.getOperationStatuses = read;
      app.dm.standin.faults.reset();
    }
    // Left queued it would read Pending (no operation, no status row) until stuck: it is stored and released.
    expect(await app.ctx.tracking.get(id)).toMatchObject({ state: 'uploaded', requeueCount: 1 });
    expect(app.log.events('RequeueNotSent').filter((e) => e.sourceId === id)).toHaveLength(1);
    app.advanceClock(11 * 60_000); // past the redrive window; the stale limit (30 minutes) is far
    expect((await sweep()).reenqueued).toBe(1);
    await landsOnceThenCloses(id, 'Again');
    expect(app.log.events('IngestionRequeued').filter((e) => e.sourceId === id)).toHaveLength(1);
    expect(app.log.events('IngestionStuck').filter((e) => e.sourceId === id)).toEqual([]);
  });

  it('never re-queues a permanent failure, and stops after MAX_REQUEUE_ATTEMPTS', async () => {
    app.dm.standin.faults.update({ failIngestionsPermanent: 1 });
    const permanent = await pushAccepted(app, 'Perm', '1,x\n');
    await settled(permanent);
    await sweep();
    expect(await app.ctx.tracking.get(permanent)).toMatchObject({
      state: 'closed',
      finalStatus: 'Failed',
      requeueCount: 0,
      failureStatus: 'Permanent',
    });

    app.dm.standin.faults.update({ failIngestionsTransient: 2 });
    const flaky = await pushAccepted(app, 'Perm', '2,y\n');
    await settled(flaky);
    await sweep(); // attempt 1 of 1
    await eventually(async () =>
      (await app.ctx.tracking.get(flaky))?.requeueCount === 1 ? true : undefined,
    );
    await eventually(async () => {
      const s = await app.serviceStatus(flaky);
      return s.status === 'Failed' ? s : undefined;
    });
    await sweep(); // no attempts left: reported and closed
    expect(await app.ctx.tracking.get(flaky)).toMatchObject({
      state: 'closed',
      finalStatus: 'Failed',
      requeueCount: 1,
    });
    expect(app.log.events('IngestionFailed').filter((e) => e.sourceId === flaky)).toHaveLength(1);
    expect(await app.kusto.count('Perm')).toBe(0);
  });

  it('queues a push a crash left staged but not queued, once it is a few minutes old', async () => {
    const props = {
      database: 'demo',
      table: 'Staged',
      format: 'csv' as const,
      reportLevel: 2 as const,
      reportMethod: 1 as const,
    };
    const staged = await app.ctx.ingest.uploadToTempStorage(['9,staged\n'], props);
    const begun = await app.ctx.tracking.begin({
      sourceId: staged.sourceId,
      kind: 'http',
      database: 'demo',
      table: 'Staged',
      props: { ...props, sourceId: staged.sourceId },
    });
    if (begun.kind !== 'new') throw new Error('expected a new row');
    await app.ctx.tracking.stage(begun.record, staged);
    expect((await sweep()).reenqueued).toBe(0); // its request may still be at work: it holds the lease
    app.advanceClock(11 * 60_000); // the lease (10 minutes) has run out: the request died
    expect((await sweep()).reenqueued).toBe(1);
    await eventually(async () => ((await app.kusto.count('Staged')) === 1 ? true : undefined));
  });

  it('reports a source taken on but never stored (abandoned) and one stuck in Pending, once each', async () => {
    const abandoned = '12345678-0000-4000-8000-00000000abcd';
    await app.ctx.tracking.begin({
      sourceId: abandoned,
      kind: 'http',
      database: 'demo',
      table: 'Slow',
      props: { database: 'demo', table: 'Slow', format: 'csv' },
    });
    app.dm.standin.faults.update({ workerPaused: true });
    const slow = await pushAccepted(app, 'Slow', '1,a\n');
    app.advanceClock(31 * 60_000); // past STALE_AFTER_MINUTES and the abandon window
    await sweep();
    await sweep();
    expect(app.log.events('IngestionAbandoned').filter((e) => e.sourceId === abandoned)).toHaveLength(1);
    expect(await app.ctx.tracking.get(abandoned)).toMatchObject({
      state: 'closed',
      finalStatus: 'Abandoned',
    });
    expect(app.log.events('IngestionStuck').filter((e) => e.sourceId === slow)).toEqual([
      expect.objectContaining({ level: 'error' }),
    ]);
    app.dm.standin.faults.update({ workerPaused: false });
    await settled(slow);
    await sweep();
    expect(await app.ctx.tracking.get(slow)).toMatchObject({ state: 'closed', finalStatus: 'Succeeded' });
  });

  it('does not abandon a blob reference whose holder queued it and stopped before marking it so: it asks the service first', async () => {
    await app.kusto.mgmt('.create table Refs (id:long, name:string)');
    const container = app.ctx.landing.service.getContainerClient('refs-sweep');
    await container.createIfNotExists();
    const blob = container.getBlockBlobClient('r.csv');
    await blob.upload('1,ref\n', 6);
    const sourceId = '12345678-0000-4000-8000-0000000b10b5';
    const props = {
      database: 'demo',
      table: 'Refs',
      format: 'csv',
      sourceId,
      ...statusReporting(app.ctx.config.statusMode),
    } as const;
    await app.ctx.tracking.begin({
      sourceId,
      kind: 'blob',
      database: 'demo',
      table: 'Refs',
      props,
      sourceUrl: blob.url,
    });
    // Queued, then nothing more: the write that marks it queued failed, and its process stopped.
    await app.ctx.ingest.ingestFromBlob(await app.ctx.landing.sas.readUrl(blob), props, {
      ambiguousEnqueue: 'throw',
    });
    await settled(sourceId);
    app.advanceClock(31 * 60_000); // past the lease and the abandon window
    await sweep();
    await sweep();
    expect(app.log.events('IngestionAbandoned').filter((e) => e.sourceId === sourceId)).toEqual([]);
    expect(app.log.events('TrackingRecovered')).toContainEqual(
      expect.objectContaining({ sourceId, evidence: 'processed' }),
    );
    expect(await app.ctx.tracking.get(sourceId)).toMatchObject({ state: 'closed', finalStatus: 'Succeeded' });
    expect(await app.kusto.count('Refs')).toBe(1);
  });

  it('counts the poison queue', async () => {
    await app.ctx.landing.poison.createIfNotExists();
    await app.ctx.landing.poison.sendMessage(Buffer.from('{"broken":true}').toString('base64'));
    expect((await sweep()).poisonMessages).toBe(1);
    expect(app.log.events('LandingPoisonMessages')).toContainEqual(
      expect.objectContaining({ level: 'warn', count: 1 }),
    );
  });
});
