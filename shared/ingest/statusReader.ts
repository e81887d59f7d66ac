import { IngestServiceError, isNotFound } from '../errors';
import { stripQuery } from '../log';
import type { ResourceManager } from '../resources/resourceManager';
import type { StorageResource } from '../resources/storageUrl';
import { withRetry, type RetryOptions } from '../retry';
import { parseStatusMessage, type ReceivedStatusMessage } from '../status/statusQueue';
import { readStatusRow } from '../status/statusTable';
import type { StorageClients } from '../upload/storageClients';
import { pickStatusTable } from './ingestionQueue';
import { checkPositiveInteger } from './positiveInteger';
import type { IngestCallOptions } from './queuedTypes';
import { combinePartStatuses, partSourceId } from './splitParts';
import type { IngestionReceipt, IngestionStatus } from './types';

export interface StatusReaderOptions {
  readonly resources: ResourceManager;
  readonly storage: StorageClients;
  readonly retry: RetryOptions;
}

/**
 * How queued ingestions went, as the Data Management service reports them: the status rows of the tables it
 * hands out (ReportMethod Table), and the success and failure queues (ReportMethod Queue).
 */
export class StatusReader {
  private readonly resources: ResourceManager;
  private readonly storage: StorageClients;
  private readonly retry: RetryOptions;
  private rowReads = 0;

  constructor(options: StatusReaderOptions) {
    this.resources = options.resources;
    this.storage = options.storage;
    this.retry = options.retry;
  }

  /** Status rows read (each attempt, each table looked in), for diagnostics and benchmarks. */
  get statusRowReads(): number {
    return this.rowReads;
  }

  /**
   * The status of one ingestion: from the receipt's status row, or by source id from every status table the
   * resources name. A receipt without a status row reports 'Queued' (the service reports elsewhere). A split
   * source (a receipt with parts, or the parent's source id) reports its parts together: Pending while any
   * part is, Succeeded when all are, Failed when all failed, PartiallySucceeded otherwise.
   */
  async getIngestionStatus(
    receiptOrSourceId: IngestionReceipt | string,
    call: IngestCallOptions = {},
  ): Promise<IngestionStatus> {
    const signal = call.abortSignal;
    const receipt = typeof receiptOrSourceId === 'string' ? undefined : receiptOrSourceId;
    const sourceId = typeof receiptOrSourceId === 'string' ? receiptOrSourceId : receiptOrSourceId.sourceId;
    if (receipt?.parts && receipt.parts.length > 0) {
      const parts: IngestionStatus[] = [];
      for (const part of receipt.parts) parts.push(await this.getIngestionStatus(part, call));
      return combinePartStatuses(sourceId, parts);
    }
    if (receipt && !receipt.statusTable) return { sourceId, status: receipt.status };

    const { statusTables } = await this.resources.getResources(signal);
    const own = await this.findStatusRow(sourceId, statusTables, receipt?.statusTable?.tableUrl, signal);
    if (own) return own;
    if (!receipt) {
      // No row of its own: a split source? Its parts' ids derive from its id, numbered from 0.
      const parts: IngestionStatus[] = [];
      for (let n = 0; ; n++) {
        const part = await this.findStatusRow(partSourceId(sourceId, n), statusTables, undefined, signal);
        if (!part) break;
        parts.push(part);
      }
      if (parts.length > 0) return combinePartStatuses(sourceId, parts);
    }
    throw new IngestServiceError(
      `No ingestion status row for source ${sourceId} in ${statusTables.length} status table(s): it was not ingested with ReportMethod Table, or the row has expired.`,
      'NotFound',
      404,
    );
  }

  /**
   * The status row of one source id, looked for in the preferred table first, then in every other. With none
   * preferred (a lookup by id), the table a new attempt would write to comes first: if the tables handed out
   * changed since an earlier attempt, both may hold a row, and the new attempt's says how it went.
   */
  private async findStatusRow(
    sourceId: string,
    statusTables: readonly StorageResource[],
    preferred: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<IngestionStatus | undefined> {
    const first =
      preferred ??
      (statusTables.length > 0 ? stripQuery(pickStatusTable(statusTables, sourceId).url) : undefined);
    const tables = [...statusTables].sort(
      (a, b) => Number(stripQuery(b.url) === first) - Number(stripQuery(a.url) === first),
    );
    for (const table of tables) {
      const status = await withRetry(
        () => {
          this.rowReads += 1;
          return readStatusRow(this.storage.table(table), sourceId, signal);
        },
        { ...this.retry, abortSignal: signal },
      );
      if (status) return status;
    }
    return undefined;
  }

  /**
   * One batch from every success and failure queue the service handed out (ReportMethod Queue). The
   * messages stay invisible to every other reader for `visibilityTimeoutInSeconds`, then come back unless
   * deleted: a report is deleted once it has been acted on, and a report for someone else's source (the
   * queues are shared by every client of the cluster) is simply not deleted.
   */
  async receiveStatusReports(
    options: { readonly maxPerQueue?: number; readonly visibilityTimeoutInSeconds?: number } = {},
    signal?: AbortSignal,
  ): Promise<ReceivedStatusMessage[]> {
    const maxPerQueue = options.maxPerQueue ?? 32;
    checkPositiveInteger('maxPerQueue', maxPerQueue, 32);
    const visibilityTimeout = options.visibilityTimeoutInSeconds ?? 60;
    checkPositiveInteger('visibilityTimeoutInSeconds', visibilityTimeout, 7 * 24 * 3600);
    const resources = await this.resources.getResources(signal);
    const queues = [
      ...resources.successQueues.map((q) => ({ kind: 'success' as const, q })),
      ...resources.failureQueues.map((q) => ({ kind: 'failure' as const, q })),
    ];
    const batches = await Promise.all(
      queues.map(async ({ kind, q }) => {
        const client = this.storage.queue(q);
        const received = await withRetry(
          () =>
            client.receiveMessages({
              numberOfMessages: maxPerQueue,
              visibilityTimeout,
              ...(signal && { abortSignal: signal }),
            }),
          { ...this.retry, abortSignal: signal },
        );
        return received.receivedMessageItems.map((item): ReceivedStatusMessage => ({
          report: parseStatusMessage(item.messageText, kind),
          queue: kind,
          messageId: item.messageId,
          dequeueCount: item.dequeueCount,
          delete: (deleteSignal?: AbortSignal) =>
            withRetry(
              async () => {
                try {
                  await client.deleteMessage(item.messageId, item.popReceipt, {
                    ...(deleteSignal && { abortSignal: deleteSignal }),
                  });
                } catch (e) {
                  // Gone already, or received again by someone else (whose copy will be acted on again).
                  if (!isNotFound(e)) throw e;
                }
              },
              { ...this.retry, abortSignal: deleteSignal },
            ),
        }));
      }),
    );
    return batches.flat();
  }
}
