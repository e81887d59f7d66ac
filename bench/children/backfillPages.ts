/**
 * Scenario 10, ours: a backfill job over BENCH_PREFIX, its page tasks run by the local host's queue trigger
 * (item tasks are not run: this measures listing and queueing). Timed from the job's start until every
 * page is done; every matched blob must have had its item task sent.
 */
import { startQueueTrigger } from '../../dev/host/queueTrigger';
import { queueTriggerSettings } from '../../dev/host/hostJson';
import { runPage, startBackfill } from '../../shared/app/backfill/backfillJob';
import { backfillOptions } from '../../shared/app/backfill/backfillOptions';
import { createAppContext } from '../../shared/app/context';
import { loadConfig } from '../../shared/app/settings';
import { silentLogger } from '../../shared/log';
import { report, run, setting, timed } from './common';
import { watchMemory } from './memoryWatch';

run(async () => {
  const expected = Number(setting('BENCH_BLOBS'));
  const ctx = createAppContext(loadConfig(process.env), { logger: silentLogger });
  await ctx.ready();
  await Promise.all([ctx.backfill.items.clearMessages(), ctx.backfill.pages.clearMessages()]);
  const options = backfillOptions(ctx, {
    prefix: setting('BENCH_PREFIX'),
    database: 'bench',
    table: 'Backfilled',
    format: 'csv',
  });
  const trigger = await startQueueTrigger({
    ...queueTriggerSettings(),
    // An empty pages queue polled after BENCH_POLL_MS, backing off to BENCH_MAX_POLL_MS: each poll costs
    // Azurite a scan of every message it holds.
    pollIntervalMs: Number(process.env.BENCH_POLL_MS ?? '50'),
    maxPollIntervalMs: Number(process.env.BENCH_MAX_POLL_MS ?? '1000'),
    functionName: 'backfillPage',
    connectionString: setting('AzureWebJobsStorage'),
    queueName: ctx.config.backfillPagesQueue,
    handler: (message) => runPage(ctx, silentLogger, message),
    log: (line) => console.error(line),
  });
  let queued = 0;
  const memory = watchMemory();
  const seconds = await timed(async () => {
    const job = await startBackfill(ctx, options);
    for (;;) {
      const record = await ctx.backfill.store.getJob(job.jobId);
      if (record?.listingDone) {
        const pages = await ctx.backfill.store.listPages(job.jobId);
        if (pages.every((p) => p.done)) {
          queued = pages.reduce((n, p) => n + p.queued, 0);
          return;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  await trigger.stop();
  const peaks = memory.stop();
  if (queued !== expected) throw new Error(`${queued} item tasks sent for ${expected} blobs`);
  report({ blobsPerSec: queued / seconds, queued, ...peaks });
});
