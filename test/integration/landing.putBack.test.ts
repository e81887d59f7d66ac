/**
 * A landing event whose last try fails for a transient reason (the ingestion service's queues refusing,
 * as in an outage) is put back on the landing queue for later instead of being parked in the poison queue,
 * and is ingested once the outage is over. On Azurite and the stand-in; the failure is injected into the
 * ingest client's storage calls, as the storage SDK throws it.
 */
import { RestError, type PipelinePolicy } from '@azure/core-rest-pipeline';
import type { QueueClient } from '@azure/storage-queue';
import { handleLandingEvent } from '../../shared/app/landing/handleLandingEvent';
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
    { LANDING_RETRY_DELAY_SECONDS: '1', LANDING_RETRY_HOURS: '1' },
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
