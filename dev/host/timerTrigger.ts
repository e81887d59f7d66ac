import { CronExpressionParser } from 'cron-parser';

export interface TimerTrigger {
  /** Stops scheduling; a run under way finishes first. */
  stop(): Promise<void>;
}

/** Runs `run` on an NCRONTAB schedule (seconds first, UTC), one run at a time, as the host's timer does. */
export function startTimerTrigger(
  schedule: string,
  run: () => Promise<void>,
  log: (line: string) => void,
): TimerTrigger {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const next = (): void => {
    const at = CronExpressionParser.parse(schedule, { tz: 'UTC' }).next().getTime();
    timer = setTimeout(
      () => {
        running = run()
          .catch((e: unknown) => log(`[timer] error: ${(e as Error).message}`))
          .finally(() => {
            running = undefined;
            if (!stopped) next();
          });
      },
      Math.max(0, at - Date.now()),
    );
  };
  next();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
