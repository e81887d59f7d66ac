/**
 * Scenario 8: the landing path under load. BENCH_LANDING_EVENTS (default 20,000) BlobCreated events through
 * the local host's queue trigger and ingestLanding, against the raw storage requests each event needs, run
 * the way the host runs the trigger (bench/children/landingCeiling.ts), in rounds of 1,000 (landingEvents.ts
 * says why). events/s is the median round's, so that one of Azurite's stalls does not decide a run; the
 * overall rate is logged too. One warm-up of 1,000 events each, not counted; then the variants alternate,
 * each from empty storage. The app runs on v1 (the ceiling's protocol: one message per event) and, as a third
 * variant, on v2 (a REST submission per batch of events): the same events, the same check (each round's
 * messages name one blob per event).
 */
import { median, perRunRatio, round, type Metrics, type Row } from '../harness';
import { freshVariant, withPausedStack } from './pausedStack';
import type { Scenario } from './types';

export const landingPath: Scenario = {
  name: 'landing',
  title: '8. The landing path: BlobCreated events through the local host queue trigger, against raw calls',
  run: (ctx) =>
    withPausedStack(undefined, async (stack) => {
      const events = process.env.BENCH_LANDING_EVENTS ?? '20000';
      const env = { ...stack.env, ...stack.appEnv };
      const app = (name: string, count: string, protocol: 'v1' | 'v2') =>
        freshVariant(
          stack,
          name,
          'landingHost',
          { ...env, BENCH_EVENTS: count, KUSTO_INGEST_PROTOCOL: protocol },
          ctx.log,
        );
      const variants = (count: string) => [
        app('ours', count, 'v1'),
        freshVariant(stack, 'ceiling', 'landingCeiling', { ...env, BENCH_EVENTS: count }, ctx.log),
        app('ours on v2', count, 'v2'),
      ];
      for (const v of variants('1000')) await v.run();
      const samples: Record<string, Metrics[]> = { ours: [], ceiling: [], 'ours on v2': [] };
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
      const onV2 = m('ours on v2', 'eventsPerSec');
      const v2AgainstV1 = perRunRatio(
        (samples['ours on v2'] ?? []).map((s) => s.eventsPerSec ?? NaN),
        (samples.ours ?? []).map((s) => s.eventsPerSec ?? NaN),
        'v2/v1',
      );
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
        {
          scenario: 'landing path on v2',
          metric: `events/s (${events} events)`,
          ours: onV2,
          ceiling,
          target: '(none; against the v1 ceiling)',
          note: `the app on v2 (REST submissions) against the v1 raw ceiling; ${v2AgainstV1}, against the app on v1`,
        },
        {
          scenario: 'landing path on v2',
          metric: 'requests/event (storage and Kusto)',
          ours: m('ours on v2', 'requestsPerEvent'),
          ceiling: m('ceiling', 'requestsPerEvent'),
        },
        {
          scenario: 'landing path on v2',
          metric: 'CPU s',
          ours: m('ours on v2', 'cpuS'),
          ceiling: m('ceiling', 'cpuS'),
        },
      ];
      return rows;
    }),
};
