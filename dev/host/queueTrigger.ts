import { setTimeout as sleep } from 'node:timers/promises';
import type { InvocationContext } from '@azure/functions';
import { QueueClient } from '@azure/storage-queue';
import type { QueueTriggerSettings } from './hostJson';
import { classify } from '../../shared/errors';
import { invocationContext } from './invocation';

export interface QueueTriggerOptions extends QueueTriggerSettings {
  readonly functionName: string;
  readonly connectionString: string;
  readonly queueName: string;
  readonly handler: (message: unknown, context: InvocationContext) => Promise<void>;
  /**
   * The first wait after an empty poll; each further empty poll doubles it, up to `maxPollIntervalMs`, and
   * a message brings it back (the host's exponential back-off). @default maxPollIntervalMs
   */
  readonly pollIntervalMs?: number;
  /** The longest wait between polls of an empty queue. @default host.json's maxPollingInterval, at most 500 ms */
  readonly maxPollIntervalMs?: number;
  /** How long a received message stays hidden while its function runs (the host's message lease). @default 300 */
  readonly leaseSeconds?: number;
  readonly log: (line: string) => void;
}

export interface QueueTrigger {
  /** Stops receiving; the messages being handled finish first. */
  stop(): Promise<void>;
}

/**
 * The host's exponential back-off between polls of an empty queue. Every poll costs the storage service a
 * look at the queue (Azurite: a scan of every message it holds), so an idle queue is polled less and less
 * often; a message brings the shortest wait back.
 */
export class PollBackoff {
  private current: number;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {
    this.current = Math.min(minMs, maxMs);
  }

  /** The wait after an empty poll: each one twice the last, up to the longest. */
  afterEmpty(): number {
    const wait = this.current;
    this.current = Math.min(this.current * 2, this.maxMs);
    return wait;
  }

  /** Messages came: the next empty poll waits the shortest time again. */
  afterMessages(): void {
    this.current = Math.min(this.minMs, this.maxMs);
  }
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
  const maxIdleMs = options.maxPollIntervalMs ?? Math.min(500, options.maxPollingIntervalMs);
  const backoff = new PollBackoff(options.pollIntervalMs ?? maxIdleMs, maxIdleMs);
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
      // As the host gives them: the message's id and how many times it was received.
      const metadata = { id: m.messageId, dequeueCount: m.dequeueCount };
      await options.handler(input, invocationContext(functionName, log, metadata));
    } catch (e) {
      log(
        `[${functionName}] error (try ${m.dequeueCount} of ${options.maxDequeueCount}): ${classify(e).code}: ${classify(e).message}`,
      );
      if (m.dequeueCount >= options.maxDequeueCount) {
        await poison.sendMessage(m.messageText);
        await queue.deleteMessage(m.messageId, m.popReceipt);
      } else {
        await queue.updateMessage(m.messageId, m.popReceipt, undefined, options.visibilityTimeoutSeconds);
      }
      return;
    }
    // The function succeeded: a delete that fails is no failure of it (never a reason to park the message).
    // The host logs it; the message comes back after its lease and the function, idempotent, runs again.
    await queue.deleteMessage(m.messageId, m.popReceipt).catch((e: unknown) => {
      log(`[${functionName}] the message could not be deleted after success: ${classify(e).message}`);
    });
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
        if (receivedMessageItems.length === 0) await idle(backoff.afterEmpty());
        else backoff.afterMessages();
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
