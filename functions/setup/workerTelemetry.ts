import { app } from '@azure/functions';
import { workerExportsTelemetry } from '../../shared/app/telemetry/startTelemetry';
import { emitWorkerLog, inHostTrace } from '../../shared/app/telemetry/workerBridge';

/**
 * The programming model's set-up, once per process (imported by a function module): request bodies
 * stream end to end (a push can be far larger than memory should hold), and, where the worker exports
 * its own telemetry (shared/app/telemetry/startTelemetry.ts), its log lines go out as OpenTelemetry logs
 * and each invocation runs inside the host's trace.
 */
const exportsTelemetry = workerExportsTelemetry();
app.setup({ enableHttpStream: true, capabilities: { WorkerOpenTelemetryEnabled: exportsTelemetry } });
if (exportsTelemetry) {
  app.hook.log((hook) => emitWorkerLog(hook.level, hook.message));
  app.hook.preInvocation((hook) => {
    const trace = hook.invocationContext.traceContext;
    hook.functionHandler = inHostTrace(hook.functionHandler, trace?.traceParent, trace?.traceState);
  });
}
