import { app, type InvocationContext, type Timer, type TimerTriggerOptions } from '@azure/functions';
import { getAppContext } from '../shared/app/appContext';
import { processLogger } from '../shared/app/processLogger';
import { runSweep } from '../shared/app/sweep';

/**
 * The sweep: closes what finished, reports every failure once, re-queues what the service gave up on,
 * quarantines landing blobs that failed for good, and counts the poison queue. NCRONTAB, UTC.
 */
export const options: Omit<TimerTriggerOptions, 'handler'> = {
  schedule: process.env.SWEEP_SCHEDULE ?? '0 */5 * * * *',
  runOnStartup: false,
};

export async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  await runSweep(getAppContext({ logger: processLogger }), context);
}

app.timer('sweepStatus', { ...options, handler });
