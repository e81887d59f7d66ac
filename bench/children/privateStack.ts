/**
 * For the children that run a stand-in of their own (its worker in this process): the stand-in with
 * resources named for this run, and an app context on it with tables named for this run too, so that runs
 * on one Azurite never see each other's rows or messages.
 */
import { randomBytes } from 'node:crypto';
import { startStandin, type StandinInstance } from '../../dev/standin/standin';
import type { StandinAccount } from '../../dev/standin/storageResources';
import { createAppContext, type AppContext } from '../../shared/app/context';
import { loadConfig } from '../../shared/app/settings';
import { silentLogger, type Logger } from '../../shared/log';
import { setting } from './common';

export interface PrivateStack {
  readonly standin: StandinInstance;
  readonly ctx: AppContext;
  readonly accounts: readonly StandinAccount[];
  readonly id: string;
}

export async function privateStack(options: {
  statusMode: string;
  workerPaused: boolean;
  batchingWindowMs: number;
  clock?: () => number;
  /** The app's logger (default silent). */
  logger?: Logger;
  /** App settings over the environment's (default none). */
  settings?: Readonly<Record<string, string>>;
  /** The stand-in's log lines (default none). */
  standinLog?: (line: string) => void;
}): Promise<PrivateStack> {
  const accounts = JSON.parse(setting('BENCH_ACCOUNTS')) as StandinAccount[];
  const id = randomBytes(3).toString('hex');
  const standin = await startStandin({
    accounts,
    dmPort: 0,
    enginePort: 0,
    worker: true,
    faults: { workerPaused: options.workerPaused },
    batchingWindowMs: options.batchingWindowMs,
    ...(options.standinLog && { log: options.standinLog }),
    layout: {
      ingestionQueues: [`ingest-${id}`],
      tempContainers: [`temp-${id}`],
      statusTable: `status${id}`,
      successQueue: `success-${id}`,
      failureQueue: `failure-${id}`,
    },
  });
  const ctx = createAppContext(
    loadConfig({
      ...process.env,
      KUSTO_INGEST_URI: standin.dmUrl,
      KUSTO_ENGINE_URI: standin.engineUrl,
      // Status modes are v1's reporting: these scenarios measure them, so they queue over v1.
      KUSTO_INGEST_PROTOCOL: 'v1',
      STATUS_MODE: options.statusMode,
      ...options.settings,
    }),
    {
      logger: options.logger ?? silentLogger,
      ...(options.clock && { clock: options.clock }),
      tables: {
        tracking: `Tracking${id}`,
        open: `Open${id}`,
        failures: `Failures${id}`,
        index: `Index${id}`,
        backfill: `Backfill${id}`,
      },
    },
  );
  await ctx.ready();
  return { standin, ctx, accounts, id };
}
