// The Functions host's queue-trigger settings the app's own code must agree with: it does something of its
// own on a message's last try (a backfill task ends its job, a landing event is put back for later), so it
// must know which try the host gives up after.

/** host.json's `extensions.queues.maxDequeueCount`: after this many tries the host gives a message up. */
export const HOST_MAX_DEQUEUE_COUNT = 5;

/** The app setting that overrides host.json's maxDequeueCount on the platform. */
export const MAX_DEQUEUE_COUNT_OVERRIDE = 'AzureFunctionsJobHost__extensions__queues__maxDequeueCount';

/** The host's maxDequeueCount as this process sees it: the app-setting override, else host.json's. */
export function maxDequeueCountFrom(
  env: NodeJS.ProcessEnv = process.env,
  hostJson: number = HOST_MAX_DEQUEUE_COUNT,
): number {
  const value = Number(env[MAX_DEQUEUE_COUNT_OVERRIDE]);
  return Number.isInteger(value) && value >= 1 ? value : hostJson;
}
