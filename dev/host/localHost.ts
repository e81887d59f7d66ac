/**
 * A local stand-in for the Azure Functions host (Core Tools cannot be installed here): it drives the very
 * handlers and trigger options that `functions/*.ts` export, with the queue settings of host.json. Its
 * parts: the HTTP routes and admin API (`httpServer.ts`), the queue trigger (`queueTrigger.ts`), the timer
 * (`timerTrigger.ts`).
 */
import type { Timer } from '@azure/functions';
import * as backfillBlobs from '../../functions/backfillBlobs';
import * as backfillCancel from '../../functions/backfillCancel';
import * as backfillFailures from '../../functions/backfillFailures';
import * as backfillItem from '../../functions/backfillItem';
import * as backfillPage from '../../functions/backfillPage';
import * as backfillStart from '../../functions/backfillStart';
import * as backfillStatus from '../../functions/backfillStatus';
import * as consolePage from '../../functions/console';
import * as health from '../../functions/health';
import * as ingestBlobs from '../../functions/ingestBlobs';
import * as ingestHttp from '../../functions/ingestHttp';
import * as ingestLanding from '../../functions/ingestLanding';
import * as ingestList from '../../functions/ingestList';
import * as ingestRetry from '../../functions/ingestRetry';
import * as ingestRetryMany from '../../functions/ingestRetryMany';
import * as ingestStatus from '../../functions/ingestStatus';
import * as ingestSummary from '../../functions/ingestSummary';
import * as landingReplay from '../../functions/landingReplay';
import * as sweepStatus from '../../functions/sweepStatus';
import { queueTriggerSettings, type QueueTriggerSettings } from './hostJson';
import { HostError, startHttpServer, type HttpFunction } from './httpServer';
import { invocationContext } from './invocation';
import { startQueueTrigger } from './queueTrigger';
import { startTimerTrigger } from './timerTrigger';

export { routePattern } from './httpServer';

const HTTP_FUNCTIONS: readonly HttpFunction[] = [
  { name: 'ingestBlobs', options: ingestBlobs.options, handler: ingestBlobs.handler },
  { name: 'ingestHttp', options: ingestHttp.options, handler: ingestHttp.handler },
  { name: 'ingestStatus', options: ingestStatus.options, handler: ingestStatus.handler },
  { name: 'ingestList', options: ingestList.options, handler: ingestList.handler },
  { name: 'ingestRetry', options: ingestRetry.options, handler: ingestRetry.handler },
  { name: 'ingestRetryMany', options: ingestRetryMany.options, handler: ingestRetryMany.handler },
  { name: 'landingReplay', options: landingReplay.options, handler: landingReplay.handler },
  { name: 'ingestSummary', options: ingestSummary.options, handler: ingestSummary.handler },
  { name: 'console', options: consolePage.options, handler: consolePage.handler },
  { name: 'backfillStart', options: backfillStart.options, handler: backfillStart.handler },
  { name: 'backfillBlobs', options: backfillBlobs.options, handler: backfillBlobs.handler },
  { name: 'backfillStatus', options: backfillStatus.options, handler: backfillStatus.handler },
  { name: 'backfillCancel', options: backfillCancel.options, handler: backfillCancel.handler },
  { name: 'backfillFailures', options: backfillFailures.options, handler: backfillFailures.handler },
  { name: 'health', options: health.options, handler: health.handler },
];

export interface LocalHostOptions {
  /** @default 7071 (HOST_PORT); 0 picks a free port */
  readonly port?: number;
  /** The queue trigger's settings. @default host.json's (tests shorten them) */
  readonly queue?: Partial<QueueTriggerSettings> & {
    readonly pollIntervalMs?: number;
    readonly leaseSeconds?: number;
  };
  /** Run the timer trigger on its schedule. @default true */
  readonly timer?: boolean;
  readonly log?: (line: string) => void;
}

export interface LocalHost {
  readonly url: string;
  /** The functions it runs. */
  readonly functions: readonly string[];
  /** Runs a function now, as the host's admin API does. */
  runFunction(name: string, input?: unknown): Promise<void>;
  /** Stops taking work; HTTP requests and messages under way finish first. */
  stop(): Promise<void>;
}

const TIMER: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

export async function startLocalHost(options: LocalHostOptions = {}): Promise<LocalHost> {
  const log = options.log ?? ((line: string) => console.log(line));
  const runFunction = async (name: string, input?: unknown): Promise<void> => {
    if (name === 'sweepStatus') return sweepStatus.handler(TIMER, invocationContext(name, log));
    if (name === 'ingestLanding') return ingestLanding.handler(input, invocationContext(name, log));
    throw new HostError(
      404,
      'NotFound',
      `No function named '${name}' runs on a trigger: use sweepStatus or ingestLanding.`,
    );
  };

  const connectionSetting = ingestLanding.options.connection;
  const connectionString = process.env[connectionSetting];
  if (!connectionString)
    throw new Error(
      `${connectionSetting} is not set: the local host needs a connection string for the landing queue.`,
    );
  const queue = await startQueueTrigger({
    ...queueTriggerSettings(),
    ...options.queue,
    functionName: 'ingestLanding',
    connectionString,
    queueName: ingestLanding.options.queueName,
    handler: ingestLanding.handler,
    log,
  });
  // The backfill's task queues are on the app's own storage account.
  const appConnection = process.env[backfillPage.options.connection];
  if (!appConnection)
    throw new Error(
      `${backfillPage.options.connection} is not set: the local host needs a connection string for the backfill queues.`,
    );
  const backfillQueues = await Promise.all(
    [
      { name: 'backfillPage', fn: backfillPage },
      { name: 'backfillItem', fn: backfillItem },
    ].map(({ name, fn }) =>
      startQueueTrigger({
        ...queueTriggerSettings(),
        ...options.queue,
        functionName: name,
        connectionString: appConnection,
        queueName: fn.options.queueName,
        handler: fn.handler,
        log,
      }),
    ),
  );
  const timer =
    (options.timer ?? true)
      ? startTimerTrigger(sweepStatus.options.schedule, () => runFunction('sweepStatus'), log)
      : undefined;
  const http = await startHttpServer({
    functions: HTTP_FUNCTIONS,
    runFunction,
    port: options.port ?? Number(process.env.HOST_PORT ?? 7071),
    log,
  });

  return {
    url: http.url,
    functions: [
      ...HTTP_FUNCTIONS.map((f) => f.name),
      'ingestLanding',
      'sweepStatus',
      'backfillPage',
      'backfillItem',
    ].sort(),
    runFunction,
    stop: async () => {
      await http.stop();
      await Promise.all([queue.stop(), ...backfillQueues.map((q) => q.stop()), timer?.stop()]);
    },
  };
}
