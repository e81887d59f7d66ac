import { silentLogger, type Logger } from '../../log';
import { withRetry } from '../../retry';
import type { FailureReport, TrackingPersistence } from './trackingStore';

export interface FailureReporterOptions {
  readonly store: Pick<TrackingPersistence, 'recordFailure'>;
  readonly logger?: Logger;
  /** POST one JSON body per report here, when set. */
  readonly webhookUrl?: string | undefined;
}

/**
 * Reports a failure three ways: one JSON log line (error level, for alert rules), a row in
 * IngestionFailures, and a POST to the webhook. Each report has a stable key, so repeating it (after a crash
 * mid-report) leaves one row; the webhook body carries the same key for the receiver to de-duplicate.
 */
export class FailureReporter {
  constructor(private readonly options: FailureReporterOptions) {}

  async report(report: FailureReport): Promise<void> {
    const logger = this.options.logger ?? silentLogger;
    const line = JSON.stringify({ ...report, at: report.at.toISOString() });
    if (report.event === 'IngestionRequeued') logger.warn(line);
    else logger.error(line);
    await this.options.store.recordFailure(report);
    const url = this.options.webhookUrl;
    if (!url) return;
    try {
      await withRetry(async (_, signal) => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: line,
          signal: signal
            ? AbortSignal.any([signal, AbortSignal.timeout(10_000)])
            : AbortSignal.timeout(10_000),
        });
        if (!response.ok)
          throw Object.assign(new Error(`the webhook answered HTTP ${response.status}`), {
            statusCode: response.status,
          });
      });
    } catch (e) {
      // The report is in the log and the table already; a webhook outage must not stop the sweep.
      logger.error(
        JSON.stringify({ event: 'WebhookFailed', sourceId: report.sourceId, details: (e as Error).message }),
      );
    }
  }
}
