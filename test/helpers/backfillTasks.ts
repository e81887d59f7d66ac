/**
 * A backfill job driven by hand, as the queue triggers would drive it: start it through its handler, run
 * its page and item tasks and the sweep until it completes, read its status.
 */
import type { QueueClient } from '@azure/storage-queue';
import { runItem, runPage } from '../../shared/app/backfill/backfillJob';
import { handleBackfillStatus, handleStartBackfill } from '../../shared/app/http/backfillHandlers';
import { runSweep } from '../../shared/app/sweep/sweep';
import { apiRequest } from './apiRequest';
import type { AppUnderTest } from './appUnderTest';
import { eventually } from './engine';

export interface JobStatusBody {
  state: string;
  counts: Record<'pages' | 'matched' | 'skipped' | 'queued' | 'succeeded' | 'failed' | 'bytes', number>;
}

export function startJob(app: AppUnderTest, job: Record<string, unknown>) {
  return handleStartBackfill(apiRequest('POST', '/api/backfill', JSON.stringify(job)), app.ctx, app.log);
}

export async function jobStatus(app: AppUnderTest, jobId: string): Promise<JobStatusBody> {
  const r = await handleBackfillStatus(
    { ...apiRequest('GET', `/api/backfill/${jobId}`), params: { jobId } },
    app.ctx,
    app.log,
  );
  if (r.status !== 200) throw new Error(`status of ${jobId}: ${r.status} ${JSON.stringify(r.jsonBody)}`);
  return r.jsonBody as JobStatusBody;
}

/** Drains one task queue through its function, as the queue trigger would; how many ran. */
export async function drainTasks(
  queue: QueueClient,
  run: (message: unknown) => Promise<void>,
): Promise<number> {
  let ran = 0;
  for (;;) {
    const { receivedMessageItems: items } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 120,
    });
    if (items.length === 0) return ran;
    await Promise.all(
      items.map(async (m) => {
        await run(JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')));
        await queue.deleteMessage(m.messageId, m.popReceipt);
      }),
    );
    ran += items.length;
  }
}

/** Runs page and item tasks, and the sweep, until the job completes (within `timeoutMs`). */
export async function runJobToEnd(
  app: AppUnderTest,
  jobId: string,
  timeoutMs: number,
): Promise<JobStatusBody> {
  return eventually(
    async () => {
      await drainTasks(app.ctx.backfill.pages, (m) => runPage(app.ctx, app.log, m));
      await drainTasks(app.ctx.backfill.items, (m) => runItem(app.ctx, app.log, m));
      await runSweep(app.ctx, app.log);
      const s = await jobStatus(app, jobId);
      return s.state === 'completed' ? s : undefined;
    },
    timeoutMs,
    `job ${jobId} completed`,
  );
}
