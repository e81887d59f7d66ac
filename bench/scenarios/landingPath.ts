/**
 * Scenario 8: the landing path under load. BENCH_LANDING_EVENTS (default 20,000) BlobCreated events through
 * the local host's queue trigger and ingestLanding, against the raw storage requests each event needs, run
 * the way the host runs the trigger (bench/children/landingCeiling.ts), in rounds of 1,000 (landingEvents.ts
 * says why). events/s is the median round's, so that one of Azurite's stalls does not decide a run; the
 * overall rate is logged too. One warm-up of 1,000 events each, not counted; then the variants alternate,
 * each from empty storage.
 */
import { median, round, type Metrics, type Row } from '../harness';
import { freshVariant, withPausedStack } from './pausedStack';
import type { Scenario } from './types';

export const landingPath: Scenario = {
  name: 'landing',
  title: '8. The landing path: BlobCreated events through the local host queue trigger, against raw calls',
  run: (ctx) =>
    withPausedStack(undefined, async (stack) => {
      const events = process.env.BENCH_LANDING_EVENTS ?? '20000';
      const env = { ...stack.env, ...stack.appEnv };
      const variants = (count: string) => [
        freshVariant(stack, 'ours', 'landingHost', { ...env, BENCH_EVENTS: count }, ctx.log),
        freshVariant(stack, 'ceiling', 'landingCeiling', { ...env, BENCH_EVENTS: count }, ctx.log),
      ];
      for (const v of variants('1000')) await v.run();
      const samples: Record<string, Metrics[]> = { ours: [], ceiling: [] };
      for (let run = 0; run < ctx.runs; run++)
        for (const v of variants(events)) {
          const m = await v.run();
          samples[v.name]?.push(m);
          ctx.log(
            `  ${v.name} run ${run + 1}: ${round(m.eventsPerSec ?? NaN)} events/s in the median round ` +
              `(${round(m.overallEventsPerSec ?? NaN)} overall), ` +
              `${round(m.requestsPerEvent ?? NaN)} requests/event, CPU ${round(m.cpuS ?? NaN)} s`,
          );
        }
      const m = (name: string, k: string) => median((samples[name] ?? []).map((s) => s[k] ?? NaN));
      const ours = m('ours', 'eventsPerSec');
      const ceiling = m('ceiling', 'eventsPerSec');
      const rows: Row[] = [
        {
          scenario: 'landing path',
          metric: `events/s (${events} events)`,
          ours,
          ceiling,
          target: '>= 80% of ceiling',
          met: ours / ceiling >= 0.8,
        },
        {
          scenario: 'landing path',
          metric: 'storage requests/event',
          ours: m('ours', 'requestsPerEvent'),
          ceiling: m('ceiling', 'requestsPerEvent'),
        },
        { scenario: 'landing path', metric: 'CPU s', ours: m('ours', 'cpuS'), ceiling: m('ceiling', 'cpuS') },
      ];
      return rows;
    }),
};
