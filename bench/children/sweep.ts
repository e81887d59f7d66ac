/** Scenario 4: times `runSweep` over the open items that are there, BENCH_SWEEPS times; prints the median. */
import { createAppContext } from '../../shared/app/context';
import { runSweep } from '../../shared/app/sweep/sweep';
import { loadConfig } from '../../shared/app/settings';
import { silentLogger } from '../../shared/log';
import { median } from '../harness';
import { report, run, setting, timed } from './common';

run(async () => {
  const ctx = createAppContext(loadConfig(process.env), { logger: silentLogger });
  await ctx.ready();
  const sweeps = Number(setting('BENCH_SWEEPS', '3'));
  const seconds: number[] = [];
  let open = 0;
  let pending = 0;
  for (let i = 0; i < sweeps; i++) {
    seconds.push(
      await timed(async () => {
        const summary = await runSweep(ctx, silentLogger);
        open = summary.open;
        pending = summary.pending;
        if (summary.errors > 0) throw new Error(`the sweep had ${summary.errors} errors`);
      }),
    );
  }
  report({ sweepSeconds: median(seconds), open, pending });
});
