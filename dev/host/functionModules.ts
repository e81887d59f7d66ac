/**
 * The functions the app registers, as the local host runs them: every module of `functions/` (as the
 * worker's `main` glob loads them), each named by its file (test/unit/registration.test.ts checks that each
 * registers exactly the function of its name), with the trigger options and handler it exports. One list
 * of functions, derived: the host, the tests and the README table (checked) all follow it.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type {
  HttpRequest,
  HttpResponseInit,
  HttpTriggerOptions,
  InvocationContext,
  StorageQueueTriggerOptions,
  Timer,
  TimerTriggerOptions,
} from '@azure/functions';

export type FunctionModule =
  | {
      readonly kind: 'http';
      readonly name: string;
      readonly options: Omit<HttpTriggerOptions, 'handler'>;
      readonly handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
    }
  | {
      readonly kind: 'queue';
      readonly name: string;
      readonly options: Omit<StorageQueueTriggerOptions, 'handler'>;
      readonly handler: (message: unknown, context: InvocationContext) => Promise<void>;
    }
  | {
      readonly kind: 'timer';
      readonly name: string;
      readonly options: Omit<TimerTriggerOptions, 'handler'>;
      readonly handler: (timer: Timer, context: InvocationContext) => Promise<void>;
    };

/** Where the function modules are: `functions/` beside `dev/` (compiled: `dist/functions`). */
export const FUNCTIONS_DIR = join(__dirname, '..', '..', 'functions');

/** The function names, from the file names: sorted. */
export function functionNames(dir = FUNCTIONS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => f.replace(/\.(js|ts)$/, ''))
    .sort();
}

/** Loads every function module and says what triggers it. */
export function loadFunctionModules(dir = FUNCTIONS_DIR): FunctionModule[] {
  return functionNames(dir).map((name) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require(join(dir, name)) as { options?: Record<string, unknown>; handler?: unknown };
    const { options, handler } = module;
    if (!options || typeof handler !== 'function')
      throw new Error(`functions/${name} exports no trigger options and handler`);
    const kind = 'queueName' in options ? 'queue' : 'schedule' in options ? 'timer' : 'http';
    return { kind, name, options, handler } as FunctionModule;
  });
}
