import { silentLogger, type Logger } from '../../log';
import { postWebhook } from '../webhook';
import type { SourceKind } from './trackingRecord';

/** One source that is ingested: its data is queryable. */
export interface SuccessReport {
  readonly event: 'IngestionSucceeded';
  readonly sourceId: string;
  readonly kind: SourceKind;
  readonly database: string;
  readonly table: string;
  /** The blob or push, without SAS. */
  readonly source: string;
  /** 'Succeeded', or how it got there ('streamed'). */
  readonly details?: string | undefined;
  /** What was done with the landing blob: kept, deleted, moved to landing-done, tagged. */
  readonly action: string;
  /** Always 'succeeded': a source succeeds once, so a repeat (after a stop) is the same report. */
  readonly key: 'succeeded';
  readonly at: Date;
}

export interface SuccessReporterOptions {
  readonly logger?: Logger;
  /** POST one JSON body per success here (SUCCESS_WEBHOOK_URL), when set. */
  readonly webhookUrl?: string | undefined;
}

/**
 * Tells the world a source is ingested: one info log line, and a POST to the success webhook, so a
 * downstream step can start when the data is queryable (which ADX's Event Grid connection cannot tell).
 */
export class SuccessReporter {
  constructor(private readonly options: SuccessReporterOptions = {}) {}

  async report(report: SuccessReport): Promise<void> {
    const logger = this.options.logger ?? silentLogger;
    const line = JSON.stringify({ ...report, at: report.at.toISOString() });
    logger.info(line);
    const url = this.options.webhookUrl;
    if (url) await postWebhook(url, line, logger, report);
  }
}
