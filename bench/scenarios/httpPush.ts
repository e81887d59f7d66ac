/** Scenario 5: the HTTP push handler with 4 KB bodies, against the same storage calls made raw, 50 and 200 in flight. */
import { alternate, median, perRunRatio, type Row } from '../harness';
import { freshVariant, withPausedStack } from './pausedStack';
import type { Scenario } from './types';

const CONCURRENCY = ['50', '200'] as const;

export const httpPush: Scenario = {
  name: 'http',
  title:
    '5. The HTTP trigger: POST /api/ingest/{db}/{table} handler, 1,000 x 4 KB bodies, 50 and 200 in flight',
  run: (ctx) =>
    withPausedStack(undefined, async (stack) => {
      const env = (c: string) => ({
        ...stack.env,
        ...stack.appEnv,
        BENCH_REQUESTS: '1000',
        BENCH_CONCURRENCY: c,
      });
      const samples = await alternate(
        ctx.runs,
        CONCURRENCY.flatMap((c) => [
          freshVariant(stack, `ours@${c}`, 'httpPush', env(c), ctx.log),
          freshVariant(stack, `ceiling@${c}`, 'httpCeiling', env(c), ctx.log),
        ]),
        ctx.log,
      );
      const m = (name: string, metric: string) => median(samples[name]?.[metric] ?? []);
      return CONCURRENCY.flatMap((c): Row[] => {
        const scenario = `http push, ${c} in flight`;
        const [ours, ceiling] = [`ours@${c}`, `ceiling@${c}`];
        const rate = m(ours, 'requestsPerSec');
        const ceilingRate = m(ceiling, 'requestsPerSec');
        return [
          {
            scenario,
            metric: 'requests/s',
            ours: rate,
            ceiling: ceilingRate,
            target: '>= 90% of ceiling',
            met: rate >= 0.9 * ceilingRate,
            note: perRunRatio(samples[ours]?.requestsPerSec ?? [], samples[ceiling]?.requestsPerSec ?? []),
          },
          { scenario, metric: 'p50 ms', ours: m(ours, 'p50Ms'), ceiling: m(ceiling, 'p50Ms') },
          { scenario, metric: 'p99 ms', ours: m(ours, 'p99Ms'), ceiling: m(ceiling, 'p99Ms') },
          { scenario, metric: 'peak RSS MB', ours: m(ours, 'peakRssMb') },
        ];
      });
    }),
};
