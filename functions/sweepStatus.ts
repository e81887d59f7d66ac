import { app, type InvocationContext, type Timer, type TimerTriggerOptions } from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { triggerSetting } from '../shared/app/settings';
import { runSweep } from '../shared/app/sweep/sweep';

/**
 * The sweep: closes what finished, reports every failure once, re-queues what the service gave up on,
 * quarantines landing blobs that failed for good, and counts the poison queue. NCRONTAB, UTC.
 */
export const options: Omit<TimerTriggerOptions, 'handler'> = {
  schedule: triggerSetting('SWEEP_SCHEDULE'),
  runOnStartup: false,
};

export async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  await runSweep(getAppContext(), context);
}

app.timer('sweepStatus', { ...options, handler });
