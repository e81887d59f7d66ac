import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { maxDequeueCountFrom } from '../../shared/app/hostQueues';

/** The queue trigger's settings, as host.json gives them to the Functions host. */
export interface QueueTriggerSettings {
  readonly maxDequeueCount: number;
  readonly visibilityTimeoutSeconds: number;
  readonly batchSize: number;
  /** A new batch is fetched once this few of the last are still running (so at most batchSize + this). */
  readonly newBatchThreshold: number;
  readonly maxPollingIntervalMs: number;
}

/** "hh:mm:ss" (host.json's TimeSpan) in seconds. */
export function timeSpanSeconds(value: string): number {
  const parts = value.split(':').map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p)))
    throw new Error(`host.json: '${value}' is not a TimeSpan (hh:mm:ss)`);
  const [h = 0, m = 0, s = 0] = parts;
  return h * 3600 + m * 60 + s;
}

/**
 * Reads `extensions.queues` from the project's host.json, so that the local host retries, hides and polls
 * messages as the real host will; the Functions host's own defaults where host.json says nothing.
 */
export function queueTriggerSettings(root = process.cwd(), env = process.env): QueueTriggerSettings {
  const hostJson = JSON.parse(readFileSync(join(root, 'host.json'), 'utf8')) as {
    extensions?: {
      queues?: {
        maxDequeueCount?: number;
        visibilityTimeout?: string;
        batchSize?: number;
        newBatchThreshold?: number;
        maxPollingInterval?: string;
      };
    };
  };
  const queues = hostJson.extensions?.queues ?? {};
  const batchSize = queues.batchSize ?? 16;
  return {
    // An app setting overrides host.json, as on the platform (the app reads it the same way).
    maxDequeueCount: maxDequeueCountFrom(env, queues.maxDequeueCount ?? 5),
    visibilityTimeoutSeconds: timeSpanSeconds(queues.visibilityTimeout ?? '00:00:00'),
    batchSize,
    // The host's default on a one-instance plan (Flex Consumption scales out by instances, not cores).
    newBatchThreshold: queues.newBatchThreshold ?? Math.floor(batchSize / 2),
    maxPollingIntervalMs: timeSpanSeconds(queues.maxPollingInterval ?? '00:01:00') * 1000,
  };
}
