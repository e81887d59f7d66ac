import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_DEQUEUE_COUNT } from '../../../shared/app/backfill/backfillJob';

describe("a backfill page task's last try", () => {
  it("is host.json's maxDequeueCount: the try after which the host gives the message up", () => {
    const host = JSON.parse(readFileSync(join(__dirname, '../../../host.json'), 'utf8')) as {
      extensions: { queues: { maxDequeueCount: number } };
    };
    expect(MAX_DEQUEUE_COUNT).toBe(host.extensions.queues.maxDequeueCount);
  });
});
