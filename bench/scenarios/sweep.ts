/** Scenario 4: sweeping 1,000 open items costs the same with 100,000 closed items in history. */
import { median, round, runChild, type Metrics, type Row } from '../harness';
import { withPausedStack } from './pausedStack';
import type { Scenario } from './types';

export const sweep: Scenario = {
  name: 'sweep',
  title: '4. The sweep: 1,000 open items, with no history and with 100,000 closed items',
  // Paused, the worker leaves every item pending: each sweep examines all 1,000 and changes nothing.
  run: (ctx) =>
    withPausedStack(undefined, async (stack) => {
      const env = { ...stack.env, ...stack.appEnv };
      // 995 timed pushes plus the child's 5 warm-up ones.
      await runChild('httpPush', { ...env, BENCH_REQUESTS: '995' });
      const sweeps = async (label: string): Promise<Metrics[]> => {
        const results: Metrics[] = [];
        for (let i = 0; i < ctx.runs; i++) {
          const m = await runChild('sweep', { ...env, BENCH_SWEEPS: '3' });
          if (m.open !== 1000 || m.pending !== 1000)
            throw new Error(`the sweep saw ${m.open} open, ${m.pending} pending`);
          ctx.log(
            `  ${label} run ${i + 1}: sweep ${round(m.sweepSeconds ?? NaN)} s over ${m.open} open items`,
          );
          results.push(m);
        }
        return results;
      };
      const before = await sweeps('no history');
      const started = Date.now();
      await runChild('sweepHistory', { ...env, BENCH_HISTORY: '100000' });
      ctx.log(`  wrote 100,000 closed items in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      const after = await sweeps('100,000 closed');
      const a = median(before.map((m) => m.sweepSeconds ?? NaN));
      const b = median(after.map((m) => m.sweepSeconds ?? NaN));
      const rows: Row[] = [
        { scenario: 'sweep', metric: 's, no history', ours: a },
        {
          scenario: 'sweep',
          metric: 's, 100k closed',
          ours: b,
          note: `ratio ${(b / a).toFixed(2)}`,
          target: `with/without <= 1.3 (is ${(b / a).toFixed(2)})`,
          met: b / a <= 1.3,
        },
      ];
      return rows;
    }),
};
