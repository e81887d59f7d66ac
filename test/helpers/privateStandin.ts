import { randomBytes } from 'node:crypto';
import { startStandin, type StandinInstance } from '../../dev/standin/standin';
import type { StandinIngestProtocol } from '../../dev/standin/dmService';
import type { Faults } from '../../dev/standin/faults';
import type { ResourceLayout } from '../../dev/standin/storageResources';
import { queueService, testStack } from './stack';

export interface PrivateStandin {
  readonly standin: StandinInstance;
  readonly layout: ResourceLayout;
  /** Every ingestion message queued so far (both accounts), decoded; removes them from the queues. */
  drainMessages(): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

/**
 * A stand-in of this test file's own, on the shared Azurite, with queues, containers and a status table
 * named uniquely: parallel test files never read each other's messages or trip each other's faults.
 * Its worker is off unless asked for: then it ingests what is queued instead of leaving it to the test.
 */
export async function startPrivateStandin(
  options: {
    faults?: Partial<Faults>;
    accountCount?: 1 | 2;
    worker?: boolean;
    batchingWindowMs?: number;
    ingestProtocol?: StandinIngestProtocol;
  } = {},
): Promise<PrivateStandin> {
  const stack = testStack();
  const id = randomBytes(4).toString('hex');
  const layout: ResourceLayout = {
    ingestionQueues: [`ingest-${id}-a`, `ingest-${id}-b`],
    tempContainers: [`temp-${id}-a`, `temp-${id}-b`],
    statusTable: `status${id}`,
    successQueue: `success-${id}`,
    failureQueue: `failure-${id}`,
  };
  const accounts = stack.accounts.slice(0, options.accountCount ?? 2);
  // Without the worker, the messages stay on the queues for the test to read.
  const standin = await startStandin({
    accounts,
    layout,
    dmPort: 0,
    enginePort: 0,
    faults: options.faults ?? {},
    worker: options.worker ?? false,
    batchingWindowMs: options.batchingWindowMs ?? 200,
    ...(options.ingestProtocol && { ingestProtocol: options.ingestProtocol }),
  });
  return {
    standin,
    layout,
    drainMessages: async () => {
      const out: Record<string, unknown>[] = [];
      for (let i = 0; i < accounts.length; i++) {
        for (const name of layout.ingestionQueues) {
          const queue = queueService(i).getQueueClient(name);
          for (;;) {
            const { receivedMessageItems: items } = await queue.receiveMessages({ numberOfMessages: 32 });
            if (items.length === 0) break;
            for (const item of items) {
              const decoded = JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8')) as Record<
                string,
                unknown
              >;
              out.push({ ...decoded, __queue: `${accounts[i]?.name ?? '?'}/${name}` });
              await queue.deleteMessage(item.messageId, item.popReceipt);
            }
          }
        }
      }
      return out;
    },
    stop: () => standin.stop(),
  };
}
