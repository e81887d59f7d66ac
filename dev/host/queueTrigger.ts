import { setTimeout as sleep } from 'node:timers/promises';
import type { InvocationContext } from '@azure/functions';
import { QueueClient } from '@azure/storage-queue';
import type { QueueTriggerSettings } from './hostJson';
import { invocationContext } from './invocation';

export interface QueueTriggerOptions extends QueueTriggerSettings {
  readonly functionName: string;
  readonly connectionString: string;
  readonly queueName: string;
  readonly handler: (message: unknown, context: InvocationContext) => Promise<void>;
  /** How often an empty queue is polled again. @default host.json's maxPollingInterval, at most 500 ms */
  readonly pollIntervalMs?: number;
  /** How long a received message stays hidden while its function runs (the host's message lease). @default 300 */
  readonly leaseSeconds?: number;
  readonly log: (line: string) => void;
}

export interface QueueTrigger {
  /** Stops receiving; the messages being handled finish first. */
  stop(): Promise<void>;
}

/**
 * The storage queue trigger with the host's semantics: base64 messages, JSON given to the function as an
 * object (text otherwise), a failed message made visible again after the visibility timeout, and moved to
 * `{queue}-poison` once it was tried maxDequeueCount times.
 */
export async function startQueueTrigger(options: QueueTriggerOptions): Promise<QueueTrigger> {
  const queue = new QueueClient(options.connectionString, options.queueName);
  const poison = new QueueClient(options.connectionString, `${options.queueName}-poison`);
  await Promise.all([queue.createIfNotExists(), poison.createIfNotExists()]);
  const idleMs = options.pollIntervalMs ?? Math.min(500, options.maxPollingIntervalMs);
  const { log, functionName } = options;
  const state = { running: true };
  let wake: AbortController | undefined;

  const handleOne = async (m: {
    messageId: string;
    popReceipt: string;
    messageText: string;
    dequeueCount: number;
  }) => {
    const text = Buffer.from(m.messageText, 'base64').toString('utf8');
    let input: unknown = text;
    try {
      input = JSON.parse(text);
    } catch {
      // not JSON: the function gets the text, as the host would pass it
    }
    try {
      await options.handler(input, invocationContext(functionName, log));
      await queue.deleteMessage(m.messageId, m.popReceipt);
    } catch (e) {
      log(
        `[${functionName}] error (try ${m.dequeueCount} of ${options.maxDequeueCount}): ${(e as Error).message}`,
      );
      if (m.dequeueCount >= options.maxDequeueCount) {
        await poison.sendMessage(m.messageText);
        await queue.deleteMessage(m.messageId, m.popReceipt);
      } else {
        await queue.updateMessage(m.messageId, m.popReceipt, undefined, options.visibilityTimeoutSeconds);
      }
    }
  };

  // Waits between polls, cut short by stop().
  const idle = async (ms: number): Promise<void> => {
    wake = new AbortController();
    await sleep(ms, undefined, { signal: wake.signal }).catch(() => undefined);
  };
  // As the host does: a batch is fetched, and the next one as soon as only newBatchThreshold are still
  // running, so a slow message never holds up the batch it came in.
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    while (state.running) {
      if (inFlight.size > options.newBatchThreshold) {
        await Promise.race(inFlight);
        continue;
      }
      try {
        const { receivedMessageItems } = await queue.receiveMessages({
          numberOfMessages: options.batchSize,
          visibilityTimeout: options.leaseSeconds ?? 300,
        });
        for (const m of receivedMessageItems) {
          const running: Promise<void> = handleOne(m)
            .catch((e: unknown) => log(`[host] queue trigger ${functionName}: ${(e as Error).message}`))
            .finally(() => inFlight.delete(running));
          inFlight.add(running);
        }
        if (receivedMessageItems.length === 0) await idle(idleMs);
      } catch (e) {
        log(`[host] queue trigger ${functionName}: ${(e as Error).message}`);
        await idle(1000);
      }
    }
    await Promise.all(inFlight);
  })();

  return {
    stop: async () => {
      state.running = false;
      wake?.abort();
      await loop;
    },
  };
}
