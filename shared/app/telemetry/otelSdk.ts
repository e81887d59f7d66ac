/**
 * The OpenTelemetry SDK pieces of the console and OTLP modes, in a module of their own: startTelemetry.ts
 * loads it only in those modes, and the deploy package bundles it apart (dist/otel-sdk.js), so that the
 * app's bundle stays small to load at a cold start.
 */
export {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
export {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
export { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
export { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
