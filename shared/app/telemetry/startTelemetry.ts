import type { TokenCredential } from '@azure/core-auth';
import type { AzureMonitorOpenTelemetryOptions } from '@azure/monitor-opentelemetry';
import { metrics, trace } from '@opentelemetry/api';
import type { MetricReader, PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

/* eslint-disable @typescript-eslint/no-require-imports --
 * The SDK modules are required where a mode needs them, not imported at the top: they cost cold start, and
 * with telemetry off they are never loaded. (jest cannot run a dynamic import() without its experimental VM
 * modules.) The deploy package bundles each apart and rewrites these two paths (dev/package.mjs). */
const otelSdk = () => require('./otelSdk') as typeof import('./otelSdk');
const azureMonitorSdk = () => require('./azureMonitorSdk') as typeof import('./azureMonitorSdk');
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Whether the Functions worker exports its own logs and traces: with Application Insights, where the
 * distro exports logs too. The worker then says so (`WorkerOpenTelemetryEnabled`) and the host, in
 * OpenTelemetry mode (host.json `telemetryMode`), leaves the worker's logs to it and correlates their
 * traces. With OTLP only metrics and spans are exported here, so the host keeps carrying the logs.
 */
export function workerExportsTelemetry(
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  return Boolean(env.APPLICATIONINSIGHTS_CONNECTION_STRING);
}

/** Where the app's metrics and traces go, chosen from the environment (docs/operations.md, 'Telemetry'). */
export type TelemetryMode = 'azure-monitor' | 'otlp' | 'console' | 'custom' | 'off';

export interface TelemetryOptions {
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Tests: export spans here instead of what the environment says. */
  readonly spanExporter?: SpanExporter;
  /** Tests: read metrics here instead of what the environment says. */
  readonly metricReader?: MetricReader;
  /** How often metrics are exported, in the console and OTLP modes.
   * @default OTEL_METRIC_EXPORT_INTERVAL of the environment, else 60000 */
  readonly exportIntervalMs?: number;
}

export interface StartedTelemetry {
  readonly mode: TelemetryMode;
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Registers an OpenTelemetry SDK for the process, once, before the app's first invocation:
 * - `APPLICATIONINSIGHTS_CONNECTION_STRING` set (Azure): Microsoft's distro exports to Application
 *   Insights, authenticated with the app's managed identity (`AZURE_CLIENT_ID`), every span kept (no
 *   sampling: failure signals must not be sampled out);
 * - else `OTEL_EXPORTER_OTLP_ENDPOINT` set: OTLP over HTTP to that endpoint;
 * - else `KIF_TELEMETRY=console`: spans and metrics printed to the console;
 * - else nothing is registered, and the instruments stay the API's no-ops (no cost, no module loaded).
 * The SDK modules are loaded only in the mode that needs them: they cost cold start.
 */
export function startTelemetry(options: TelemetryOptions = {}): StartedTelemetry {
  const env = options.env ?? process.env;
  if (options.spanExporter || options.metricReader)
    return sdk('custom', options.spanExporter, options.metricReader);
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING;
  if (connectionString) return azureMonitor(connectionString, env.AZURE_CLIENT_ID);
  const interval = options.exportIntervalMs ?? exportInterval(env.OTEL_METRIC_EXPORT_INTERVAL);
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    const { OTLPTraceExporter, OTLPMetricExporter } = otelSdk();
    return sdk('otlp', new OTLPTraceExporter(), periodic(new OTLPMetricExporter(), interval));
  }
  if (env.KIF_TELEMETRY === 'console') {
    const { ConsoleSpanExporter, ConsoleMetricExporter } = otelSdk();
    return sdk('console', new ConsoleSpanExporter(), periodic(new ConsoleMetricExporter(), interval));
  }
  return { mode: 'off', shutdown: () => Promise.resolve() };
}

/** OpenTelemetry's own setting, in ms; anything but a positive whole number leaves the default. */
function exportInterval(setting: string | undefined): number {
  const ms = Number(setting);
  return Number.isInteger(ms) && ms > 0 ? ms : 60_000;
}

function periodic(exporter: PushMetricExporter, intervalMs: number): MetricReader {
  const { PeriodicExportingMetricReader } = otelSdk();
  return new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: intervalMs });
}

function sdk(
  mode: TelemetryMode,
  spanExporter?: SpanExporter,
  metricReader?: MetricReader,
): StartedTelemetry {
  const { BasicTracerProvider, SimpleSpanProcessor, BatchSpanProcessor, MeterProvider } = otelSdk();
  // Tests read spans as they end; exporters over the network send them in batches.
  const processor = spanExporter
    ? mode === 'custom'
      ? new SimpleSpanProcessor(spanExporter)
      : new BatchSpanProcessor(spanExporter)
    : undefined;
  const tracer = new BasicTracerProvider({ spanProcessors: processor ? [processor] : [] });
  const meter = new MeterProvider({ readers: metricReader ? [metricReader] : [] });
  trace.setGlobalTracerProvider(tracer);
  metrics.setGlobalMeterProvider(meter);
  return {
    mode,
    shutdown: async () => {
      await Promise.all([tracer.shutdown(), meter.shutdown()]);
      trace.disable();
      metrics.disable();
    },
  };
}

/**
 * The distro's options: every span and every log kept. Sampling drops failure signals: the default samples
 * traces to 5 a second, and trace-based log sampling would drop a failure's log line whose trace was sampled
 * out (the failure alert counts those lines). The distro's type says trace-based sampling is on by default
 * and its code says off: pinned off, whatever a later version defaults to.
 */
export function azureMonitorOptions(
  connectionString: string,
  credential: TokenCredential,
): AzureMonitorOpenTelemetryOptions {
  return {
    azureMonitorExporterOptions: {
      connectionString,
      // Application Insights has local (key) authentication off: the worker's exporter needs the identity
      // (the host's APPLICATIONINSIGHTS_AUTHENTICATION_STRING covers only the host).
      credential,
    },
    tracesPerSecond: 0,
    samplingRatio: 1,
    enableTraceBasedSamplingForLogs: false,
    enableLiveMetrics: false,
  };
}

function azureMonitor(connectionString: string, clientId: string | undefined): StartedTelemetry {
  const { useAzureMonitor, shutdownAzureMonitor, ManagedIdentityCredential } = azureMonitorSdk();
  useAzureMonitor(
    azureMonitorOptions(connectionString, new ManagedIdentityCredential(clientId ? { clientId } : {})),
  );
  return { mode: 'azure-monitor', shutdown: () => shutdownAzureMonitor() };
}
