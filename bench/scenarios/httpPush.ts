/** Scenario 5: the HTTP push handler with 4 KB bodies, against the same storage calls made raw. */
import { alternate, median, type Row } from '../harness';
import { freshVariant, withPausedStack } from './pausedStack';
import type { Scenario } from './types';

export const httpPush: Scenario = {
  name: 'http',
  title: '5. The HTTP trigger: POST /api/ingest/{db}/{table} handler, 1,000 x 4 KB bodies, 50 in flight',
  run: (ctx) =>
    withPausedStack(undefined, async (stack) => {
      const env = { ...stack.env, ...stack.appEnv, BENCH_REQUESTS: '1000', BENCH_CONCURRENCY: '50' };
      const samples = await alternate(
        ctx.runs,
        [freshVariant(stack, 'ours', 'httpPush', env), freshVariant(stack, 'ceiling', 'httpCeiling', env)],
        ctx.log,
      );
      const m = (name: string, metric: string) => median(samples[name]?.[metric] ?? []);
      const rows: Row[] = [
        {
          scenario: 'http push',
          metric: 'requests/s',
          ours: m('ours', 'requestsPerSec'),
          ceiling: m('ceiling', 'requestsPerSec'),
        },
        { scenario: 'http push', metric: 'p50 ms', ours: m('ours', 'p50Ms'), ceiling: m('ceiling', 'p50Ms') },
        { scenario: 'http push', metric: 'p99 ms', ours: m('ours', 'p99Ms'), ceiling: m('ceiling', 'p99Ms') },
        { scenario: 'http push', metric: 'peak RSS MB', ours: m('ours', 'peakRssMb') },
      ];
      return rows;
    }),
};
