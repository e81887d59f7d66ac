/**
 * A local stand-in for the Azure Functions host (Core Tools cannot be installed here): it drives the very
 * handlers and trigger options that `functions/*.ts` export, with the queue settings of host.json. Its
 * parts: the HTTP routes and admin API (`httpServer.ts`), the queue trigger (`queueTrigger.ts`), the timer
 * (`timerTrigger.ts`).
 */
import { randomBytes } from 'node:crypto';
import type { Timer } from '@azure/functions';
import { loadFunctionModules, type FunctionModule } from './functionModules';
import { queueTriggerSettings, type QueueTriggerSettings } from './hostJson';
import { HostError, startHttpServer, type HostKeys } from './httpServer';
import { invocationContext } from './invocation';
import { startQueueTrigger } from './queueTrigger';
import { startTimerTrigger } from './timerTrigger';

export { routePattern } from './httpServer';
export type { HostKeys } from './httpServer';

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
  /**
   * Enforce the functions' auth levels as Azure does: `function` takes a function key or the master key,
   * `admin` the master key only, `anonymous` none (401 otherwise). `true` makes keys (printed at start),
   * or takes HOST_MASTER_KEY and HOST_FUNCTION_KEY. Core Tools does not enforce them locally, nor does
   * this host by default. @default HOST_ENFORCE_KEYS=true, else off
   */
  readonly keys?: HostKeys | boolean;
  readonly log?: (line: string) => void;
}

export interface LocalHost {
  readonly url: string;
  /** The functions it runs. */
  readonly functions: readonly string[];
  /** The keys it enforces, when it does. */
  readonly keys: HostKeys | undefined;
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

/** The keys to enforce, if any: given, or made (or taken from HOST_MASTER_KEY / HOST_FUNCTION_KEY). */
function hostKeys(option: HostKeys | boolean | undefined): HostKeys | undefined {
  const enforce = option ?? process.env.HOST_ENFORCE_KEYS?.trim().toLowerCase() === 'true';
  if (enforce === false) return undefined;
  if (enforce !== true) return enforce;
  const made = () => randomBytes(24).toString('base64url');
  return {
    master: process.env.HOST_MASTER_KEY?.trim() || made(),
    function: process.env.HOST_FUNCTION_KEY?.trim() || made(),
  };
}

export async function startLocalHost(options: LocalHostOptions = {}): Promise<LocalHost> {
  const log = options.log ?? ((line: string) => console.log(line));
  const modules = loadFunctionModules();
  const byKind = <K extends FunctionModule['kind']>(kind: K) =>
    modules.filter((m): m is Extract<FunctionModule, { kind: K }> => m.kind === kind);
  const timers = byKind('timer');
  const queues = byKind('queue');
  const runFunction = async (name: string, input?: unknown): Promise<void> => {
    const timer = timers.find((t) => t.name === name);
    if (timer) return timer.handler(TIMER, invocationContext(name, log));
    const queued = queues.find((q) => q.name === name);
    if (queued) return queued.handler(input, invocationContext(name, log));
    throw new HostError(
      404,
      'NotFound',
      `No function named '${name}' runs on a trigger: use one of ${[...timers, ...queues].map((f) => f.name).join(', ')}.`,
    );
  };

  const queueTriggers = await Promise.all(
    queues.map((fn) => {
      const setting = fn.options.connection;
      const connectionString = process.env[setting];
      if (!connectionString)
        throw new Error(
          `${setting} is not set: the local host needs a connection string for ${fn.name}'s queue.`,
        );
      return startQueueTrigger({
        ...queueTriggerSettings(),
        ...options.queue,
        functionName: fn.name,
        connectionString,
        queueName: fn.options.queueName,
        handler: fn.handler,
        log,
      });
    }),
  );
  const timerTriggers =
    (options.timer ?? true)
      ? timers.map((t) => startTimerTrigger(t.options.schedule, () => runFunction(t.name), log))
      : [];
  const keys = hostKeys(options.keys);
  const http = await startHttpServer({
    functions: byKind('http'),
    runFunction,
    keys,
    port: options.port ?? Number(process.env.HOST_PORT ?? 7071),
    log,
  });
  if (keys) log(`[host] auth levels enforced: master key ${keys.master}, function key ${keys.function}`);

  return {
    url: http.url,
    functions: modules.map((m) => m.name).sort(),
    keys,
    runFunction,
    stop: async () => {
      await http.stop();
      await Promise.all([...queueTriggers.map((q) => q.stop()), ...timerTriggers.map((t) => t.stop())]);
    },
  };
}
