/**
 * `npm run telemetry-check`: sends a burst of sample source telemetry through the exporter the environment
 * configures, exactly as the function app starts it (startTelemetry), so that an operator can check an
 * Application Insights connection (with its managed identity) or an OTLP collector before deploying, and
 * the tests can read what an exporter really sends. CHECK_FAILURES (default 20) failures and
 * CHECK_SUCCESSES (default 20) successes of table `demo.TelemetryCheck`, all within a second; then the SDK is
 * shut down, which flushes. Prints the mode; exits 1 if no exporter is configured or the flush fails.
 */
import type { TrackingRecord } from '../shared/app/tracking/trackingRecord';
import { SourceTelemetry } from '../shared/app/telemetry/sourceTelemetry';
import { startTelemetry } from '../shared/app/telemetry/startTelemetry';

const count = (name: string, fallback: number) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${name} must be a whole number, not '${process.env[name]}'`);
  return n;
};

async function main(): Promise<void> {
  const failures = count('CHECK_FAILURES', 20);
  const successes = count('CHECK_SUCCESSES', 20);
  const started = startTelemetry();
  if (started.mode === 'off')
    throw new Error(
      'no exporter configured: set APPLICATIONINSIGHTS_CONNECTION_STRING (and AZURE_CLIENT_ID for a ' +
        'user-assigned identity), OTEL_EXPORTER_OTLP_ENDPOINT, or KIF_TELEMETRY=console',
    );
  const telemetry = new SourceTelemetry();
  const now = Date.now();
  const source = (i: number): TrackingRecord => {
    const dims = { kind: 'http', database: 'demo', table: 'TelemetryCheck' } as const;
    const accept = telemetry.startAccept({ ...dims, sourceId: `telemetry-check-${i}` });
    accept.accepted();
    // Only what the telemetry reads of a tracking row.
    return {
      ...dims,
      sourceId: `telemetry-check-${i}`,
      createdOn: new Date(now - 1000),
      requeueCount: 0,
      rawDataSize: 1024,
      traceParent: accept.traceParent,
    } as unknown as TrackingRecord;
  };
  for (let i = 0; i < failures + successes; i++) {
    const record = source(i);
    telemetry.queued(record, now);
    if (i < failures)
      telemetry.failed(
        record,
        { errorCode: 'BadRequest_EmptyBlob', failureStatus: 'Permanent', finalStatus: 'Failed' },
        now,
      );
    else telemetry.succeeded(record, now);
  }
  await started.shutdown();
  process.stdout.write(`${JSON.stringify({ mode: started.mode, failures, successes })}\n`);
  // The distro leaves timers behind its shutdown (about 20 s of them): everything is flushed by now.
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`telemetry-check: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
