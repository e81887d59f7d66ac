/**
 * The local host's queue trigger against Azurite, with the host's batching: the next batch is fetched once
 * only newBatchThreshold of the last are still running, so one slow message never holds up the rest.
 */
import { randomBytes } from 'node:crypto';
import { QueueClient } from '@azure/storage-queue';
import { startQueueTrigger, type QueueTrigger, type QueueTriggerOptions } from '../../dev/host/queueTrigger';
import { eventually } from '../helpers/engine';
import { connectionString } from '../helpers/stack';

const settings = { maxDequeueCount: 2, visibilityTimeoutSeconds: 1, batchSize: 4, newBatchThreshold: 2 };
let trigger: QueueTrigger | undefined;
afterEach(async () => {
  await trigger?.stop();
  trigger = undefined;
});

async function queueWith(texts: string[]): Promise<{ name: string; queue: QueueClient }> {
  const name = `qt-${randomBytes(4).toString('hex')}`;
  const queue = new QueueClient(connectionString(0), name);
  await queue.create();
  for (const t of texts) await queue.sendMessage(Buffer.from(t).toString('base64'));
  return { name, queue };
}

function triggerOn(queueName: string, handler: QueueTriggerOptions['handler']): Promise<QueueTrigger> {
  return startQueueTrigger({
    ...settings,
    maxPollingIntervalMs: 100,
    functionName: 'test',
    connectionString: connectionString(0),
    queueName,
    log: () => undefined,
    handler,
  });
}

describe('the local queue trigger', () => {
  it('keeps fetching while a slow message runs, never more than batchSize + newBatchThreshold at once', async () => {
    const texts = ['slow', ...Array.from({ length: 30 }, (_, i) => `fast-${i}`)];
    const { name } = await queueWith(texts);
    let release!: () => void;
    const slowGate = new Promise<void>((r) => (release = r));
    const handled = new Set<string>();
    let running = 0;
    let peak = 0;
    trigger = await triggerOn(name, async (message) => {
      running += 1;
      peak = Math.max(peak, running);
      if (message === 'slow') await slowGate;
      else await new Promise((r) => setTimeout(r, 5));
      handled.add(String(message));
      running -= 1;
    });
    await eventually(
      () => Promise.resolve(handled.size === 30 ? true : undefined),
      20_000,
      'every fast message',
    );
    expect(handled.has('slow')).toBe(false);
    release();
    await eventually(() => Promise.resolve(handled.has('slow') ? true : undefined), 10_000, 'the slow one');
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(settings.batchSize + settings.newBatchThreshold);
  }, 40_000);

  it('moves a message that fails maxDequeueCount times to the poison queue', async () => {
    const { name, queue } = await queueWith(['bad']);
    let tries = 0;
    trigger = await triggerOn(name, () => {
      tries += 1;
      return Promise.reject(new Error('always'));
    });
    const poison = new QueueClient(connectionString(0), `${name}-poison`);
    await eventually(
      async () => ((await poison.peekMessages()).peekedMessageItems.length === 1 ? true : undefined),
      20_000,
      'the poison message',
    );
    expect(tries).toBe(2);
    expect((await queue.peekMessages()).peekedMessageItems).toHaveLength(0);
  }, 40_000);

  it('never parks a message whose function succeeded, even when deleting it fails on its last try', async () => {
    const { name, queue } = await queueWith(['done']);
    const lines: string[] = [];
    let handled = 0;
    trigger = await startQueueTrigger({
      ...settings,
      maxDequeueCount: 1, // the first try is the last: a failure now would park the message
      maxPollingIntervalMs: 100,
      functionName: 'test',
      connectionString: connectionString(0),
      queueName: name,
      log: (line) => lines.push(line),
      handler: async () => {
        await queue.clearMessages(); // the trigger's own delete then finds nothing (404)
        handled += 1;
      },
    });
    await eventually(
      () =>
        Promise.resolve(lines.some((l) => /could not be deleted after success/.test(l)) ? true : undefined),
      20_000,
      'the failed delete, logged',
    );
    const poison = new QueueClient(connectionString(0), `${name}-poison`);
    expect(handled).toBe(1);
    expect((await poison.peekMessages()).peekedMessageItems).toEqual([]);
    expect(lines.filter((l) => /error \(try/.test(l))).toEqual([]);
  }, 40_000);
});
