import { context, propagation } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import { TELEMETRY_SCOPE } from './sourceTelemetry';

/**
 * What the Functions worker needs when it exports its own telemetry (the host in OpenTelemetry mode, the
 * worker declaring `WorkerOpenTelemetryEnabled`): its log lines sent as OpenTelemetry logs, and each
 * invocation run inside the host's trace. functions/setup/workerTelemetry.ts registers both as hooks of
 * the programming model. (Microsoft's @azure/functions-opentelemetry-instrumentation does the same by
 * patching `@azure/functions` when it is required, which a bundled app never does.)
 */
const SEVERITY: Readonly<Record<string, SeverityNumber>> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  information: SeverityNumber.INFO,
  warning: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
  critical: SeverityNumber.FATAL,
};

/** One log line of an invocation (or of the worker), as an OpenTelemetry log record. */
export function emitWorkerLog(level: string, message: string): void {
  logs.getLogger(TELEMETRY_SCOPE).emit({
    body: message,
    severityNumber: SEVERITY[level] ?? SeverityNumber.UNSPECIFIED,
    severityText: level,
  });
}

/** The handler, bound to run inside the host's trace (its W3C traceparent and tracestate). */
export function inHostTrace<F extends (...args: never[]) => unknown>(
  handler: F,
  traceParent: string | null | undefined,
  traceState: string | null | undefined,
): F {
  if (!traceParent) return handler;
  const carrier: Record<string, string> = { traceparent: traceParent };
  if (traceState) carrier.tracestate = traceState;
  return context.bind(propagation.extract(context.active(), carrier), handler);
}
