/**
 * The worker's side of OpenTelemetry mode: with Application Insights configured, the programming model is
 * told the worker exports its own telemetry, its log lines become OpenTelemetry log records, and each
 * invocation runs inside the host's trace. Without it, nothing of this is registered.
 */
import {
  context,
  propagation,
  trace,
  TraceFlags,
  type TextMapGetter,
  type TextMapPropagator,
} from '@opentelemetry/api';
import { logs, SeverityNumber, type LogRecord } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { emitWorkerLog, inHostTrace } from '../../../shared/app/telemetry/workerBridge';

interface Hook {
  (context: Record<string, unknown>): void;
}
const mockHooks: Record<string, Hook[]> = {};
const mockCapabilities: Record<string, unknown> = {};
jest.mock(
  '@azure/functions-core',
  () => ({
    setProgrammingModel: jest.fn(),
    registerFunction: jest.fn(() => ({ dispose: () => undefined })),
    registerHook: jest.fn((name: string, hook: Hook) => {
      (mockHooks[name] ??= []).push(hook);
      return { dispose: () => undefined };
    }),
    log: jest.fn(),
    capabilities: mockCapabilities,
  }),
  { virtual: true },
);

/** W3C traceparent only: enough to check that the handler runs in the host's trace. */
const traceparentOnly: TextMapPropagator = {
  inject: () => undefined,
  extract: (ctx, carrier, getter: TextMapGetter) => {
    const value = getter.get(carrier, 'traceparent');
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0([01])$/.exec(String(value));
    if (!m) return ctx;
    return trace.setSpanContext(ctx, {
      traceId: m[1] ?? '',
      spanId: m[2] ?? '',
      traceFlags: m[3] === '1' ? TraceFlags.SAMPLED : TraceFlags.NONE,
      isRemote: true,
    });
  },
  fields: () => ['traceparent'],
};

const records: LogRecord[] = [];
beforeAll(() => {
  logs.setGlobalLoggerProvider({
    getLogger: () => ({ emit: (r: LogRecord) => void records.push(r), enabled: () => true }),
  });
  propagation.setGlobalPropagator(traceparentOnly);
  // What the distro's SDK registers in Azure: without a context manager, no context is ever active.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

const HOST_TRACE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('the worker telemetry bridge', () => {
  it('sends a log line as a log record with its severity', () => {
    emitWorkerLog('error', '{"event":"IngestionFailed"}');
    emitWorkerLog('information', 'hello');
    expect(records.slice(-2)).toEqual([
      expect.objectContaining({ body: '{"event":"IngestionFailed"}', severityNumber: SeverityNumber.ERROR }),
      expect.objectContaining({ body: 'hello', severityNumber: SeverityNumber.INFO }),
    ]);
  });

  it("runs a handler inside the host's trace, and leaves it alone without one", () => {
    const seen = () => trace.getSpanContext(context.active())?.traceId;
    expect(inHostTrace(seen, HOST_TRACE, undefined)()).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(inHostTrace(seen, undefined, undefined)()).toBeUndefined();
  });
});

describe('functions/setup/workerTelemetry', () => {
  afterEach(() => {
    delete process.env.APPLICATIONINSIGHTS_CONNECTION_STRING;
    for (const hooks of Object.values(mockHooks)) hooks.length = 0;
  });

  it('with Application Insights: declares WorkerOpenTelemetryEnabled and hooks logs and invocations', () => {
    process.env.APPLICATIONINSIGHTS_CONNECTION_STRING =
      'InstrumentationKey=00000000-0000-0000-0000-000000000000';
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('../../../functions/setup/workerTelemetry');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { app } = require('@azure/functions') as typeof import('@azure/functions');
      expect(app).toBeDefined();
    });
    expect(
      Object.entries(mockHooks)
        .filter(([, hooks]) => hooks.length > 0)
        .map(([name]) => name)
        .sort(),
    ).toEqual(['log', 'preInvocation']);
    const before = records.length;
    mockHooks.log?.[0]?.({ level: 'warning', message: 'careful', category: 'user' });
    expect(records.slice(before)).toEqual([
      expect.objectContaining({ body: 'careful', severityNumber: SeverityNumber.WARN }),
    ]);
    // The invocation hook binds the handler with inHostTrace (tested above); the model's wrapper owns the rest.
  });

  it('without it: registers no hook, and leaves the logs to the host', () => {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('../../../functions/setup/workerTelemetry');
    });
    expect(Object.values(mockHooks).flat()).toEqual([]);
  });
});
