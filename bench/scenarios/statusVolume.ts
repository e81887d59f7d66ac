/**
 * Scenario 9: STATUS_MODE=queue end to end at volume (BENCH_VOLUME_ITEMS, default 100,000), with the
 * stand-in's worker ingesting and the sweep running every 5 s meanwhile: every source closed, none twice.
 * One run whatever --runs says: it is a check at scale with its throughput, not a comparison.
 */
import { round, runChild, type Row } from '../harness';
import { withPausedStack } from './pausedStack';
import type { Scenario } from './types';

export const statusVolume: Scenario = {
  name: 'statusVolume',
  title: '9. STATUS_MODE=queue end to end at volume: every source closed, none twice',
  run: (ctx) =>
    withPausedStack(undefined, async (stack) => {
      const items = process.env.BENCH_VOLUME_ITEMS ?? '100000';
      const m = await runChild('statusVolume', {
        ...stack.env,
        ...stack.appEnv,
        BENCH_ACCOUNTS: JSON.stringify(stack.accounts),
        BENCH_ITEMS: items,
      });
      ctx.log(
        `  ${items} items: ${round(m.itemsPerSec ?? NaN)} items/s end to end, ${m.closed} closed, ${m.rows} rows, ` +
          `${m.sweeps} sweeps (longest ${round(m.longestSweepS ?? NaN)} s), peak RSS ${round(m.peakRssMb ?? NaN)} MB; ` +
          `recovered: ${m.requeued} re-queued (${m.uncertainEnqueues} uncertain enqueues among them at most), ` +
          `${m.reenqueued} re-driven`,
      );
      const rows: Row[] = [
        {
          scenario: 'queue mode at volume',
          metric: `items/s end to end (${items})`,
          ours: m.itemsPerSec ?? NaN,
          target: 'every source closed once, one row each',
          // The child fails the run otherwise: reaching here means it held.
          met: m.closed === Number(items) && m.rows === Number(items),
        },
        { scenario: 'queue mode at volume', metric: 'longest sweep s', ours: m.longestSweepS ?? NaN },
        { scenario: 'queue mode at volume', metric: 'peak RSS MB', ours: m.peakRssMb ?? NaN },
        { scenario: 'queue mode at volume', metric: 're-queued (recovered)', ours: m.requeued ?? NaN },
      ];
      return rows;
    }),
};
