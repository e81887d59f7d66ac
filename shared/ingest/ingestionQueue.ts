import { mayHaveBeenApplied, IngestResourceError } from '../errors';
import { stripQuery } from '../log';
import { buildIngestionMessage, encodeIngestionMessage } from '../message/ingestionMessage';
import { withFailover } from '../resources/failover';
import type { ResourceManager } from '../resources/resourceManager';
import type { StorageResource } from '../resources/storageUrl';
import { withRetry, type RetryOptions } from '../retry';
import { pendingEntity } from '../status/statusTable';
import type { StorageClients } from '../upload/storageClients';
import { reportsToTable } from './ingestionProps';
import type { BuiltMessage, IngestCallOptions, QueueItem } from './queuedTypes';
import type { IngestionReceipt } from './types';

export interface IngestionQueueOptions {
  readonly resources: ResourceManager;
  readonly storage: StorageClients;
  readonly retry: RetryOptions;
  readonly clock: () => number;
  /** ApplicationForTracing and ClientVersionForTracing of every message: read once. */
  readonly applicationForTracing: string;
  readonly clientVersionForTracing: string;
}

/**
 * The last step of queued ingestion: builds the message for a blob in temp storage (or a caller's blob),
 * writes its Pending status row when the properties ask for table reporting, and sends it to one of the
 * Data Management service's ingestion queues, failing over between them.
 */
export class IngestionQueue {
  /** Messages sent (each counted once, however many attempts its failover took); for diagnostics. */
  sent = 0;
  private readonly resources: ResourceManager;
  private readonly storage: StorageClients;
  private readonly retry: RetryOptions;
  private readonly clock: () => number;
  private readonly applicationForTracing: string;
  private readonly clientVersionForTracing: string;

  constructor(options: IngestionQueueOptions) {
    this.resources = options.resources;
    this.storage = options.storage;
    this.retry = options.retry;
    this.clock = options.clock;
    this.applicationForTracing = options.applicationForTracing;
    this.clientVersionForTracing = options.clientVersionForTracing;
  }

  /** The encoded wire message and the status table it names, if any. */
  async buildMessage(item: QueueItem, signal: AbortSignal | undefined): Promise<BuiltMessage> {
    const [authorizationContext, resources] = await Promise.all([
      this.resources.getAuthorizationContext(signal),
      this.resources.getResources(signal),
    ]);
    const statusTable = reportsToTable(item.props)
      ? pickStatusTable(resources.statusTables, item.sourceId)
      : undefined;
    const now = new Date(this.clock());
    const text = encodeIngestionMessage(
      buildIngestionMessage({
        sourceId: item.sourceId,
        blobUrl: item.blobUrl,
        rawDataSize: item.rawDataSize,
        props: item.props,
        authorizationContext,
        retainBlobOnSuccess: item.retain,
        statusTableUrl: statusTable?.url,
        applicationForTracing: this.applicationForTracing,
        clientVersionForTracing: this.clientVersionForTracing,
        now,
      }),
    );
    return { text, statusTable, now };
  }

  async enqueue(item: QueueItem, call: IngestCallOptions): Promise<IngestionReceipt> {
    const signal = call.abortSignal;
    const { props, sourceId } = item;
    const { text: message, statusTable, now } = item.message ?? (await this.buildMessage(item, signal));
    const blobPath = stripQuery(item.blobUrl);

    if (statusTable) {
      const row = { sourceId, sourcePath: blobPath, database: props.database, table: props.table, now };
      await withRetry(
        (_, s) => this.storage.upsertEntity(statusTable, pendingEntity(row), { abortSignal: s }),
        {
          ...this.retry,
          abortSignal: signal,
        },
      );
    }
    const queues = await this.resources.rankedQueues(signal);
    this.sent += 1;
    await withFailover(queues, (q, s) => this.storage.sendMessage(q, message, { abortSignal: s }), {
      what: 'enqueue the ingestion message',
      retry: this.retry,
      abortSignal: signal,
      report: (r, ok, err) => this.resources.reportResult(r, ok, err),
      ...(call.ambiguousEnqueue === 'throw' && { stopAfter: mayHaveBeenApplied }),
    });

    return {
      sourceId,
      database: props.database,
      table: props.table,
      flavor: 'queued',
      blobPath,
      status: statusTable ? 'Pending' : 'Queued',
      ...(statusTable && {
        statusTable: { tableUrl: stripQuery(statusTable.url), partitionKey: sourceId, rowKey: sourceId },
      }),
    };
  }
}

/** The status table a source's rows are written to: stable per source for a given set of tables. */
export function pickStatusTable(tables: readonly StorageResource[], sourceId: string): StorageResource {
  if (tables.length === 0) {
    throw new IngestResourceError(
      'ReportMethod Table was asked for, but the Data Management service handed out no status table.',
    );
  }
  // Stable per source, spread across tables.
  const index = parseInt(sourceId.slice(0, 8), 16) % tables.length;
  return tables[index] as StorageResource;
}
