import { silentLogger, type Logger } from '../../log';
import { postWebhook } from '../webhook';
import type { TrackingPersistence } from './trackingPersistence';
import type { FailureReport } from './trackingRecord';

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
    if (url) await postWebhook(url, line, logger, report);
  }
}
