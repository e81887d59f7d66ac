import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  HOST_MAX_DEQUEUE_COUNT,
  MAX_DEQUEUE_COUNT_OVERRIDE,
  maxDequeueCountFrom,
} from '../../../shared/app/hostQueues';

describe("a queue message's last try, as the app counts it (a backfill task's, a landing event's)", () => {
  it("is host.json's maxDequeueCount: the try after which the host gives the message up", () => {
    const host = JSON.parse(readFileSync(join(__dirname, '../../../host.json'), 'utf8')) as {
      extensions: { queues: { maxDequeueCount: number } };
    };
    expect(HOST_MAX_DEQUEUE_COUNT).toBe(host.extensions.queues.maxDequeueCount);
    expect(maxDequeueCountFrom({})).toBe(host.extensions.queues.maxDequeueCount);
  });

  it("is the platform's app-setting override of host.json when there is one, and only a whole number", () => {
    expect(maxDequeueCountFrom({ [MAX_DEQUEUE_COUNT_OVERRIDE]: '8' })).toBe(8);
    for (const bad of ['0', '-1', '2.5', 'five', ''])
      expect([bad, maxDequeueCountFrom({ [MAX_DEQUEUE_COUNT_OVERRIDE]: bad })]).toEqual([
        bad,
        HOST_MAX_DEQUEUE_COUNT,
      ]);
  });
});
