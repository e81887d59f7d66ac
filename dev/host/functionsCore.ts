/**
 * Outside the Functions host, `@azure/functions` finds no `@azure/functions-core` module, switches to "test
 * mode" and warns once per registration. The local host gives it a core that records what each function
 * registers instead, as the real host's worker does: the functions then load as they do in Azure, and the
 * local host can say in one line which functions it runs. Dev only: Node has no public hook for a module
 * that is not on disk, so this wraps module resolution for that one name.
 */
import Module from 'node:module';

export interface Registration {
  readonly name: string;
  readonly bindings: Record<string, { readonly type: string; readonly direction: string }>;
  /** The function's own handler, as the programming model hands it to the worker. */
  readonly handler: (...args: unknown[]) => unknown;
}

const CORE = '@azure/functions-core';
const registrations: Registration[] = [];

const core = {
  setProgrammingModel: (): void => undefined,
  registerFunction: (metadata: Omit<Registration, 'handler'>, handler: Registration['handler']) => {
    registrations.push({ ...metadata, handler });
    return { dispose: () => undefined };
  },
  registerHook: () => ({ dispose: () => undefined }),
  log: (): void => undefined,
  capabilities: {},
  setHttpStreamCapability: (): void => undefined,
};

type Resolve = (request: string, ...rest: unknown[]) => string;
const moduleInternals = Module as unknown as { _resolveFilename: Resolve; _cache: Record<string, unknown> };
let installed = false;

/** Makes `require('@azure/functions-core')` return the recording core; idempotent. */
export function installRecordingCore(): void {
  if (installed) return;
  installed = true;
  const resolve = moduleInternals._resolveFilename;
  moduleInternals._resolveFilename = (request, ...rest) =>
    request === CORE ? CORE : resolve(request, ...rest);
  const cached = new Module(CORE);
  cached.exports = core;
  cached.loaded = true;
  moduleInternals._cache[CORE] = cached;
}

/** The functions registered so far, by name. */
export function registeredFunctions(): readonly string[] {
  return registrations.map((r) => r.name).sort();
}

/** A registered function's handler. */
export function registeredHandler(name: string): Registration['handler'] {
  const found = registrations.find((r) => r.name === name);
  if (!found) throw new Error(`no function named ${name} was registered`);
  return found.handler;
}
