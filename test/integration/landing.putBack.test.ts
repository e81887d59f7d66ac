/**
 * A landing event whose last try fails for a transient reason (the ingestion service's queues refusing,
 * as in an outage) is put back on the landing queue for later instead of being parked in the poison queue,
 * and is ingested once the outage is over. On Azurite and the stand-in; the failure is injected into the
 * ingest client's storage calls, as the storage SDK throws it.
 */
import { RestError, type PipelinePolicy } from '@azure/core-rest-pipeline';
import type { QueueClient } from '@azure/storage-queue';
import { runItem, runPage } from '../../shared/app/backfill/backfillJob';
import { handleLandingEvent } from '../../shared/app/landing/handleLandingEvent';
import { drainTasks, jobStatus, startJob } from '../helpers/backfillTasks';
import type { MessageSender } from '../../shared/upload/queueRest';
import { blobCreatedEvent, startAppUnderTest, type AppUnderTest } from '../helpers/appUnderTest';
import { eventually } from '../helpers/engine';
import { isQueueRequest } from '../helpers/faultPolicy';

/** Every Put Message to the ingestion service's queues fails with 503 while `on`. */
const outage = { on: false, refused: 0 };
const outagePolicy: PipelinePolicy = {
  name: 'ingestionQueuesDown',
  sendRequest: (request, next) => {
    if (outage.on && isQueueRequest(request)) {
      outage.refused += 1;
      throw new RestError('The server is busy (injected by the test).', {
        statusCode: 503,
        code: 'ServerBusy',
        request,
      });
    }
    return next(request);
  },
};

let app: AppUnderTest;
let events: QueueClient;

beforeAll(async () => {
  app = await startAppUnderTest(
    // The outage is of v1's queue requests (ingest v2's outages are in the chaos campaign).
    { KUSTO_INGEST_PROTOCOL: 'v1', LANDING_RETRY_DELAY_SECONDS: '1', LANDING_RETRY_HOURS: '1' },
    { ingestOptions: { storagePolicies: () => [outagePolicy] } },
  );
  events = app.ctx.landing.events;
  await app.kusto.mgmt('.create table PutBack (id:long, name:string)');
});
afterAll(async () => {
  await app.stop();
});
afterEach(() => {
  outage.on = false;
});

async function landed(name: string, eventTime = new Date()): Promise<Record<string, unknown>> {
  const blob = app.ctx.landing.container.getBlockBlobClient(`demo/PutBack/${name}.csv`);
  const uploaded = await blob.upload(`1,${name}\n`, `1,${name}\n`.length);
  return { ...blobCreatedEvent(blob.url, uploaded.etag ?? ''), eventTime: eventTime.toISOString() };
}

const waiting = async () => (await events.getProperties()).approximateMessagesCount ?? 0;
const rows = async (name: string) =>
  Number((await app.kusto.query(`PutBack | where name == '${name}' | count`)).rows[0]?.[0]);

describe('a landing event that fails for a transient reason', () => {
  it('is put back on its last try, hidden for a while, and ingested once when it comes back', async () => {
    const event = await landed('last-try');
    outage.on = true;
    const outcome = await handleLandingEvent(event, app.ctx, app.log, { dequeueCount: 5 });
    expect(outage.refused).toBeGreaterThan(0);
    expect(outcome).toMatchObject({ outcome: 'put back', delaySeconds: 1 });
    expect(app.log.events('LandingPutBack')).toEqual([
      expect.objectContaining({
        tries: 5,
        nextTryInSeconds: 1,
        source: expect.stringContaining('last-try.csv') as unknown,
      }),
    ]);
    // Hidden at first: the queue holds it, a receive does not see it yet.
    expect(await waiting()).toBe(1);
    expect((await events.peekMessages()).peekedMessageItems).toEqual([]);
    outage.on = false;
    // It comes back as the same event (base64 JSON, as Event Grid delivers it) and is taken on then.
    const back = await eventually(async () => {
      const { receivedMessageItems } = await events.receiveMessages({ visibilityTimeout: 30 });
      return receivedMessageItems[0];
    });
    const again: unknown = JSON.parse(Buffer.from(back.messageText, 'base64').toString('utf8'));
    expect(again).toEqual(event);
    expect(await handleLandingEvent(again, app.ctx, app.log, { dequeueCount: 1 })).toMatchObject({
      outcome: 'queued',
    });
    await events.deleteMessage(back.messageId, back.popReceipt);
    await eventually(async () => ((await rows('last-try')) === 1 ? true : undefined));
  });

  it('is left to the queue before its last try, and to the poison queue once older than LANDING_RETRY_HOURS', async () => {
    const before = await waiting();
    const early = await landed('early-try');
    outage.on = true;
    await expect(handleLandingEvent(early, app.ctx, app.log, { dequeueCount: 4 })).rejects.toThrow(/busy/i);
    const old = await landed('too-old', new Date(Date.now() - 2 * 3_600_000));
    await expect(handleLandingEvent(old, app.ctx, app.log, { dequeueCount: 5 })).rejects.toThrow(/busy/i);
    // A delivery the host does not count (no dequeueCount) is never put back either.
    await expect(handleLandingEvent(early, app.ctx, app.log)).rejects.toThrow(/busy/i);
    expect(await waiting()).toBe(before);
    expect(
      app.log.events('LandingPutBack').filter((e) => /early-try|too-old/.test(String(e.source))),
    ).toEqual([]);
  });
});

describe('a backfill item task that fails for a transient reason', () => {
  it('is put back on its last try, as a landing event is, and ingested once when it comes back', async () => {
    await landed('backfilled');
    const started = await startJob(app, {
      prefix: 'demo/PutBack/backfilled',
      database: 'demo',
      table: 'PutBack',
    });
    expect(started.status).toBe(202);
    expect(await drainTasks(app.ctx.backfill.pages, (m) => runPage(app.ctx, app.log, m))).toBe(1);
    const items = app.ctx.backfill.items;
    const take = async () => {
      const { receivedMessageItems } = await items.receiveMessages({ visibilityTimeout: 30 });
      return receivedMessageItems[0];
    };
    const first = await eventually(take);
    const task: unknown = JSON.parse(Buffer.from(first.messageText, 'base64').toString('utf8'));
    expect(task).toMatchObject({ at: expect.any(String) as unknown });
    outage.on = true;
    await runItem(app.ctx, app.log, task, { dequeueCount: 5 }); // put back, not thrown
    await items.deleteMessage(first.messageId, first.popReceipt); // the host deletes what returned
    expect(app.log.events('BackfillItemPutBack')).toEqual([
      expect.objectContaining({
        nextTryInSeconds: 1,
        source: expect.stringContaining('backfilled.csv') as unknown,
      }),
    ]);
    outage.on = false;
    const again = await eventually(take);
    await runItem(app.ctx, app.log, JSON.parse(Buffer.from(again.messageText, 'base64').toString('utf8')), {
      dequeueCount: 1,
    });
    await items.deleteMessage(again.messageId, again.popReceipt);
    await eventually(async () => ((await rows('backfilled')) === 1 ? true : undefined));
    // A copy of the task (a put-back whose answer was lost, sent twice) finds its source taken on: nothing more.
    outage.on = true;
    await expect(runItem(app.ctx, app.log, task, { dequeueCount: 5 })).resolves.toBeUndefined();
    expect(app.log.events('BackfillItemPutBack')).toHaveLength(1);
    expect(await rows('backfilled')).toBe(1);
  });
});

describe('a backfill page task that fails for a transient reason', () => {
  it('is put back on its last try, the job still running, and lists its page when it comes back', async () => {
    await landed('paged');
    const started = await startJob(app, { prefix: 'demo/PutBack/paged', database: 'demo', table: 'PutBack' });
    const jobId = (started.jsonBody as { jobId: string }).jobId;
    const pages = app.ctx.backfill.pages;
    const take = async () => {
      const { receivedMessageItems } = await pages.receiveMessages({ visibilityTimeout: 30 });
      return receivedMessageItems[0];
    };
    const first = await eventually(take);
    const task: unknown = JSON.parse(Buffer.from(first.messageText, 'base64').toString('utf8'));
    expect(task).toMatchObject({ page: 0, at: expect.any(String) as unknown });
    // The page's item sends fail as a busy queue fails them (not carried out: transient).
    const send = app.ctx.backfill.send as { items: MessageSender };
    const original = send.items;
    send.items = {
      sendMessage: () =>
        Promise.reject(Object.assign(new Error('The server is busy (injected).'), { statusCode: 503 })),
    };
    try {
      await runPage(app.ctx, app.log, task, { dequeueCount: 5 }); // put back, not thrown, the job not failed
    } finally {
      send.items = original;
    }
    await pages.deleteMessage(first.messageId, first.popReceipt);
    expect(app.log.events('BackfillPagePutBack')).toEqual([
      expect.objectContaining({ nextTryInSeconds: 1, source: `backfill ${jobId} page 0` }),
    ]);
    expect((await jobStatus(app, jobId)).state).toBe('running');
    const again = await eventually(take);
    await runPage(app.ctx, app.log, JSON.parse(Buffer.from(again.messageText, 'base64').toString('utf8')), {
      dequeueCount: 1,
    });
    await pages.deleteMessage(again.messageId, again.popReceipt);
    expect(
      await drainTasks(app.ctx.backfill.items, (m) => runItem(app.ctx, app.log, m, { dequeueCount: 1 })),
    ).toBe(1);
    await eventually(async () => ((await rows('paged')) === 1 ? true : undefined));
  });
});
