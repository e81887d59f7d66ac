import { randomUUID } from 'node:crypto';
import type { QueueClient } from '@azure/storage-queue';
import { handleLandingEvent } from '../../shared/app/landing/handleLandingEvent';
import { runSweep } from '../../shared/app/sweep/sweep';
import {
  blobCreatedEvent,
  pushAccepted,
  startAppUnderTest,
  type AppUnderTest,
} from '../helpers/appUnderTest';
import { eventually } from '../helpers/engine';
import { queueService } from '../helpers/stack';

/**
 * STATUS_MODE queue and failures-only end to end: the stand-in reports on its success and failure queues as
 * the service does, and the sweep drains them.
 */

const TABLES = ['Good', 'Bad', 'Flaky', 'Lost', 'Quick', 'Slow'];
let queueApp: AppUnderTest;
let silentApp: AppUnderTest;

beforeAll(async () => {
  [queueApp, silentApp] = await Promise.all([
    // STATUS_MODE is how v1 messages ask to be reported: these apps speak v1.
    startAppUnderTest({
      KUSTO_INGEST_PROTOCOL: 'v1',
      STATUS_MODE: 'queue',
      MAX_REQUEUE_ATTEMPTS: '1',
      STALE_AFTER_MINUTES: '30',
    }),
    startAppUnderTest({
      KUSTO_INGEST_PROTOCOL: 'v1',
      STATUS_MODE: 'failures-only',
      MAX_REQUEUE_ATTEMPTS: '1',
      STALE_AFTER_MINUTES: '30',
      SETTLE_MARGIN_MINUTES: '1',
    }),
  ]);
  for (const app of [queueApp, silentApp])
    for (const t of TABLES) await app.kusto.mgmt(`.create table ${t} (id:long, name:string)`);
  // Quick batches within 2 s: failures-only closes its sources sooner than the default window's.
  await silentApp.kusto.mgmt(
    `.alter table Quick policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:00:02"}'`,
  );
});
afterAll(async () => {
  await Promise.all([queueApp.stop(), silentApp.stop()]);
});
afterEach(() => {
  queueApp.dm.standin.faults.reset();
  silentApp.dm.standin.faults.reset();
});

const successQueue = (app: AppUnderTest): QueueClient =>
  queueService(0).getQueueClient(app.dm.layout.successQueue);
const failureQueue = (app: AppUnderTest): QueueClient =>
  queueService(0).getQueueClient(app.dm.layout.failureQueue);

/** Waits until the stand-in's worker has ingested and reported everything queued so far. */
async function processed(app: AppUnderTest): Promise<void> {
  await app.dm.standin.worker?.drained();
}

/** The reports on a status queue that name the source, visible or not yet deleted. */
async function reportsFor(queue: QueueClient, sourceId: string): Promise<number> {
  const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.filter((m) =>
    Buffer.from(m.messageText, 'base64').toString('utf8').includes(sourceId),
  ).length;
}

async function countReads<T>(app: AppUnderTest, run: () => Promise<T>) {
  const statusReads = jest.spyOn(app.ctx.ingest, 'getIngestionStatus');
  const rowReads = jest.spyOn(app.ctx.tracking, 'get');
  try {
    const result = await run();
    return { result, statusReads: statusReads.mock.calls.length, rowReads: rowReads.mock.calls.length };
  } finally {
    statusReads.mockRestore();
    rowReads.mockRestore();
  }
}

describe('STATUS_MODE=queue', () => {
  const sweep = () => runSweep(queueApp.ctx, queueApp.log, { drain: { visibilityTimeoutInSeconds: 2 } });

  it('asks for queue reports, and closes a success from its report with no status read', async () => {
    const id = await pushAccepted(queueApp, 'Good', '1,a\n');
    // No status row: the message asked for the queue.
    await expect(queueApp.ctx.ingest.getIngestionStatus(id)).rejects.toThrow(/No ingestion status row/);
    await processed(queueApp);
    expect(await reportsFor(successQueue(queueApp), id)).toBe(1);
    const { result, statusReads } = await countReads(queueApp, sweep);
    expect(statusReads).toBe(0);
    expect(result.reports).toBeGreaterThanOrEqual(1);
    expect(await queueApp.ctx.tracking.get(id)).toMatchObject({ state: 'closed', finalStatus: 'Succeeded' });
    expect(await reportsFor(successQueue(queueApp), id)).toBe(0); // acted on, so deleted
    expect(queueApp.log.events('IngestionSucceeded').filter((e) => e.sourceId === id)).toHaveLength(1);
  });

  it('reads no open row that is too young to need anything', async () => {
    queueApp.dm.standin.faults.update({ workerPaused: true });
    const ids = [
      await pushAccepted(queueApp, 'Slow', '1,a\n'),
      await pushAccepted(queueApp, 'Slow', '2,b\n'),
    ];
    const { result, rowReads, statusReads } = await countReads(queueApp, sweep);
    expect([rowReads, statusReads]).toEqual([0, 0]);
    expect(result.pending).toBeGreaterThanOrEqual(2);
    queueApp.dm.standin.faults.update({ workerPaused: false });
    await processed(queueApp);
    await sweep();
    for (const id of ids)
      expect(await queueApp.ctx.tracking.get(id)).toMatchObject({
        state: 'closed',
        finalStatus: 'Succeeded',
      });
  });

  it('fails a landing blob on its permanent failure report: reported once, quarantined', async () => {
    const blob = queueApp.ctx.landing.container.getBlockBlobClient('demo/Bad/broken.csv');
    const response = await blob.upload('1,a\n2,b,c\n', 10);
    const outcome = await handleLandingEvent(
      blobCreatedEvent(blob.url, response.etag ?? ''),
      queueApp.ctx,
      queueApp.log,
    );
    const sourceId = (outcome as { sourceId: string }).sourceId;
    await processed(queueApp);
    expect(await reportsFor(failureQueue(queueApp), sourceId)).toBe(1);
    const summary = await sweep();
    expect(summary.failed).toBeGreaterThanOrEqual(1);
    expect(await queueApp.ctx.tracking.get(sourceId)).toMatchObject({
      state: 'closed',
      finalStatus: 'Failed',
      errorCode: 'Stream_WrongNumberOfFields',
      failureStatus: 'Permanent',
    });
    expect(await queueApp.ctx.landing.failed.getBlobClient('demo/Bad/broken.csv').exists()).toBe(true);
    await sweep();
    expect(queueApp.log.events('IngestionFailed').filter((e) => e.sourceId === sourceId)).toHaveLength(1);
    expect(await reportsFor(failureQueue(queueApp), sourceId)).toBe(0);
  });

  it('re-queues on a transient failure report, once, and the rows then land once', async () => {
    queueApp.dm.standin.faults.update({ failIngestionsTransient: 1 });
    const id = await pushAccepted(queueApp, 'Flaky', '5,retry-me\n');
    await processed(queueApp);
    expect((await sweep()).requeued).toBe(1);
    await processed(queueApp);
    // A repeat of the acted-on report (its delete lost) must not re-queue it twice: sent again by hand.
    await failureQueue(queueApp).sendMessage(
      Buffer.from(
        JSON.stringify({
          OperationId: randomUUID(),
          Database: 'demo',
          Table: 'Flaky',
          FailedOn: new Date(Date.now() - 60_000).toISOString(),
          IngestionSourceId: id,
          IngestionSourcePath: 'https://x/y',
          Details: 'an earlier attempt',
          ErrorCode: 'General_RetryableError',
          FailureStatus: 'Transient',
          RootActivityId: randomUUID(),
          OriginatesFromUpdatePolicy: false,
          ShouldRetry: true,
        }),
      ).toString('base64'),
    );
    const second = await sweep();
    expect(second.requeued).toBe(0);
    expect(await queueApp.ctx.tracking.get(id)).toMatchObject({
      state: 'closed',
      finalStatus: 'Succeeded',
      requeueCount: 1,
    });
    expect(await queueApp.kusto.count('Flaky')).toBe(1);
    expect(await reportsFor(failureQueue(queueApp), id)).toBe(0);
  });

  it('reports a source stuck when its report was lost, once', async () => {
    const id = await pushAccepted(queueApp, 'Lost', '1,a\n');
    await processed(queueApp);
    await successQueue(queueApp).clearMessages(); // the report is lost
    await sweep();
    expect(await queueApp.ctx.tracking.get(id)).toMatchObject({ state: 'queued' });
    queueApp.advanceClock(31 * 60_000);
    await sweep();
    await sweep();
    expect(queueApp.log.events('IngestionStuck').filter((e) => e.sourceId === id)).toEqual([
      expect.objectContaining({ level: 'error' }),
    ]);
    expect(await queueApp.ctx.tracking.get(id)).toMatchObject({ state: 'queued', stuckReported: true });
  });

  it('leaves a report for a source it does not track in the queue, and counts it', async () => {
    const stranger = randomUUID();
    await successQueue(queueApp).sendMessage(
      Buffer.from(
        JSON.stringify({
          OperationId: randomUUID(),
          Database: 'other',
          Table: 'Theirs',
          SucceededOn: new Date().toISOString(),
          IngestionSourceId: stranger,
          IngestionSourcePath: 'https://elsewhere.blob.core.windows.net/c/b.csv',
          RootActivityId: randomUUID(),
        }),
      ).toString('base64'),
    );
    const summary = await sweep();
    expect(summary.foreignReports).toBeGreaterThanOrEqual(1);
    // Still there for its owner once the sweep's invisibility ends, received once so far.
    const back = await eventually(
      async () => {
        const { peekedMessageItems } = await successQueue(queueApp).peekMessages({ numberOfMessages: 32 });
        return peekedMessageItems.find((m) =>
          Buffer.from(m.messageText, 'base64').toString('utf8').includes(stranger),
        );
      },
      20_000,
      'the foreign report to be visible again',
    );
    expect(back.dequeueCount).toBeGreaterThanOrEqual(1);
  });
});

describe('STATUS_MODE=failures-only', () => {
  const sweep = () => runSweep(silentApp.ctx, silentApp.log, { drain: { visibilityTimeoutInSeconds: 2 } });

  // First: the app's clock is not moved yet, so the attempt's start and the service's FailedOn compare.
  it('finds a failure whose report was lost with .show ingestion failures, and reports it once', async () => {
    silentApp.dm.standin.faults.update({ failIngestionsPermanent: 1 });
    const id = await pushAccepted(silentApp, 'Lost', '1,x\n');
    await processed(silentApp);
    await failureQueue(silentApp).clearMessages(); // the report is lost
    await sweep();
    expect(await silentApp.ctx.tracking.get(id)).toMatchObject({ state: 'queued' });
    silentApp.advanceClock(7 * 60_000);
    const summary = await sweep();
    expect(summary.missedFailures).toBe(1);
    expect(await silentApp.ctx.tracking.get(id)).toMatchObject({
      state: 'closed',
      finalStatus: 'Failed',
      failureStatus: 'Permanent',
    });
    await sweep();
    expect(silentApp.log.events('IngestionFailed').filter((e) => e.sourceId === id)).toHaveLength(1);
    expect(silentApp.log.events('MissedFailureReport').filter((e) => e.sourceId === id)).toHaveLength(1);
  });

  it('asks for failure reports only, and closes a source as ingested after its batching window with none', async () => {
    const quick = await pushAccepted(silentApp, 'Quick', '1,a\n');
    const slow = await pushAccepted(silentApp, 'Good', '2,b\n'); // no policy: the service's 5-minute default
    await processed(silentApp);
    expect(await reportsFor(successQueue(silentApp), quick)).toBe(0);
    await sweep();
    expect(await silentApp.ctx.tracking.get(quick)).toMatchObject({ state: 'queued' }); // within the margin
    silentApp.advanceClock(2 * 60_000); // past 2 s + the 1-minute margin, not past 5 min + 1
    await sweep();
    expect(await silentApp.ctx.tracking.get(quick)).toMatchObject({
      state: 'closed',
      finalStatus: 'Succeeded',
    });
    expect(await silentApp.ctx.tracking.get(slow)).toMatchObject({ state: 'queued' });
    silentApp.advanceClock(5 * 60_000);
    await sweep();
    expect(await silentApp.ctx.tracking.get(slow)).toMatchObject({
      state: 'closed',
      finalStatus: 'Succeeded',
      details: expect.stringMatching(/no failure reported within the batching window \(5 min\)/) as unknown,
    });
    expect(await silentApp.kusto.count('Good')).toBe(1);
  });

  it('fails a source on its failure report, and re-queues a transient one', async () => {
    silentApp.dm.standin.faults.update({ failIngestionsPermanent: 1 });
    const bad = await pushAccepted(silentApp, 'Bad', '1,x\n');
    await processed(silentApp);
    silentApp.dm.standin.faults.update({ failIngestionsTransient: 1 });
    const flaky = await pushAccepted(silentApp, 'Flaky', '2,y\n');
    await processed(silentApp);
    const summary = await sweep();
    expect(summary.reports).toBeGreaterThanOrEqual(2);
    expect(await silentApp.ctx.tracking.get(bad)).toMatchObject({
      state: 'closed',
      finalStatus: 'Failed',
      failureStatus: 'Permanent',
    });
    expect(await silentApp.ctx.tracking.get(flaky)).toMatchObject({ state: 'queued', requeueCount: 1 });
    await processed(silentApp);
    expect(await silentApp.kusto.count('Flaky')).toBe(1);
  });
});
