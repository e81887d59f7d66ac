import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AzureNamedKeyCredential } from '@azure/core-auth';
import { TableClient } from '@azure/data-tables';
import { BlobClient } from '@azure/storage-blob';
import { QueueClient, StorageSharedKeyCredential as QueueKeyCredential } from '@azure/storage-queue';
import { downloadBlob, sourcePathOf } from './blobSource';
import { NATIVE_INGESTION } from './commands/identityPolicy';
import type { FaultSwitches } from './faults';
import { ingestData, type IngestOutcome } from './ingestCore';
import { asOperation } from './operationLog';
import { isTransientCode, KustoError } from './kustoError';
import { decodeQueueMessages, formatFromBlobName, readProperties, type DmMessage } from './queueMessage';
import { REST_OPERATION_PROPERTY } from './restIngest';
import type { RestOperations } from './restOperations';
import type { KustoStore } from './store';
import type { ResourceLayout, StandinAccount } from './storageResources';

export interface DmWorkerOptions {
  readonly accounts: readonly StandinAccount[];
  readonly layout: ResourceLayout;
  readonly store: KustoStore;
  readonly faults: FaultSwitches;
  /** Whether an authorization context is one this DM issued. */
  readonly isIssuedToken: (token: unknown) => boolean;
  /** The REST submissions' operations: a blob of one is settled there (its message names it). */
  readonly operations?: RestOperations;
  /** Batching window when the table has no ingestionbatching policy. @default 1000 */
  readonly batchingWindowMs?: number;
  /** @default 100 */
  readonly pollIntervalMs?: number;
  /** How long a message taken stays hidden from the next poll (a crash mid-batch shows it again). @default 300 */
  readonly visibilitySeconds?: number;
  readonly log?: (line: string) => void;
  /** One line per message taken and per outcome, for a run's full record (the chaos campaign's trace). */
  readonly trace?: (line: string) => void;
}

interface Pending {
  readonly message: DmMessage;
  readonly messageId: string;
  /** This blob is done with: its queue message is deleted once every blob it names is. */
  readonly done: () => Promise<void>;
}

interface Batch {
  readonly items: Pending[];
  readonly dueAt: number;
}

/**
 * Tries a write of the worker's own bookkeeping (a status row, a message's deletion) until it goes through,
 * for a minute and a half: the real service does not leave a source's status Pending, or take its message
 * again, because its storage was unreachable for a moment (Azurite restarting under a chaos run).
 */
async function persist(write: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return;
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      // The message is gone already (its visibility ran out and it was taken again; or deleted).
      if (status === 404 || attempt >= 30) throw e;
      await sleep(Math.min(3_000, 100 * 2 ** attempt));
    }
  }
}

const ReportLevel = { FailuresOnly: 0, DoNotReport: 1, FailuresAndSuccesses: 2 };
const ReportMethod = { Queue: 0, Table: 1, QueueAndTable: 2 };

/**
 * Drains the ingestion queues like the Data Management service: batches messages per table and properties
 * (sealed by FlushImmediately, ingest-by tags or the batching window), ingests each blob, and reports to
 * the status table and the success/failure queues as asked.
 */
export class DmWorker {
  private readonly options: DmWorkerOptions;
  private readonly queues: QueueClient[];
  private readonly successQueue: QueueClient;
  private readonly failureQueue: QueueClient;
  private readonly statusTable: TableClient;
  private readonly batches = new Map<string, Batch>();
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Blobs processed so far; for diagnostics. */
  processed = 0;
  private pollsStarted = 0;
  private readonly idleWaiters: { afterPoll: number; resolve: () => void }[] = [];
  private loops = 0;
  private readonly loopWaiters: { atLoop: number; resolve: () => void }[] = [];

  /** Batches being ingested right now. */
  get busy(): number {
    return this.inFlight.size;
  }

  /**
   * Resolves once the worker went round its loop `n` more times (paused or not): what it would have done
   * with a message queued before the call, it has had `n` chances to do.
   */
  turns(n: number): Promise<void> {
    return new Promise((resolve) => this.loopWaiters.push({ atLoop: this.loops + n, resolve }));
  }

  constructor(options: DmWorkerOptions) {
    this.options = options;
    const first = options.accounts[0];
    if (!first) throw new Error('the DM worker needs at least one storage account');
    const queueClient = (account: StandinAccount, name: string) =>
      new QueueClient(`${account.queueEndpoint}/${name}`, new QueueKeyCredential(account.name, account.key));
    this.queues = options.accounts.flatMap((a) =>
      options.layout.ingestionQueues.map((q) => queueClient(a, q)),
    );
    this.successQueue = queueClient(first, options.layout.successQueue);
    this.failureQueue = queueClient(first, options.layout.failureQueue);
    this.statusTable = new TableClient(
      first.tableEndpoint,
      options.layout.statusTable,
      new AzureNamedKeyCredential(first.name, first.key),
      {
        allowInsecureConnection: first.tableEndpoint.startsWith('http:'),
      },
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Resolves once a poll that started after this call found every queue empty, with no batch waiting and
   * nothing being ingested: whatever was queued before the call has been processed and reported. A test
   * that must show nothing reached the service waits on this, not on a clock.
   */
  drained(): Promise<void> {
    return new Promise((resolve) => this.idleWaiters.push({ afterPoll: this.pollsStarted, resolve }));
  }

  private async run(): Promise<void> {
    const interval = this.options.pollIntervalMs ?? 100;
    while (this.running) {
      try {
        if (!this.options.faults.current.workerPaused) {
          const poll = ++this.pollsStarted;
          const received = await this.poll();
          this.flushDue(false);
          if (received === 0 && this.batches.size === 0 && this.inFlight.size === 0) this.wakeIdle(poll);
        }
      } catch (e) {
        this.options.log?.(`DM worker: ${(e as Error).message}`);
      }
      this.loops += 1;
      for (const waiter of this.loopWaiters.filter((w) => w.atLoop <= this.loops)) {
        this.loopWaiters.splice(this.loopWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      await sleep(interval);
    }
    this.flushDue(true);
  }

  private wakeIdle(poll: number): void {
    for (let i = this.idleWaiters.length - 1; i >= 0; i--) {
      const waiter = this.idleWaiters[i];
      if (waiter && poll > waiter.afterPoll) {
        this.idleWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /** Receives what the queues hold; returns how many messages it took. */
  private async poll(): Promise<number> {
    let received = 0;
    for (const queue of this.queues) {
      const { receivedMessageItems } = await queue.receiveMessages({
        numberOfMessages: 32,
        visibilityTimeout: this.options.visibilitySeconds ?? 300,
      });
      received += receivedMessageItems.length;
      for (const item of receivedMessageItems) {
        let messages: DmMessage[];
        try {
          messages = decodeQueueMessages(item.messageText);
        } catch (e) {
          this.options.log?.(`DM worker: dropping an unreadable message: ${(e as Error).message}`);
          await queue.deleteMessage(item.messageId, item.popReceipt);
          continue;
        }
        let left = messages.length;
        const done = async () => {
          if (--left > 0) return;
          await persist(() => queue.deleteMessage(item.messageId, item.popReceipt)).catch((e: unknown) =>
            this.options.log?.(
              `DM worker: could not delete message ${item.messageId}: ${(e as Error).message}`,
            ),
          );
        };
        for (const message of messages) this.add({ message, messageId: item.messageId, done });
      }
    }
    return received;
  }

  /** Groups a message into its batch; single-blob conditions seal at once, as on the real service. */
  private add(item: Pending): void {
    const m = item.message;
    let props: ReturnType<typeof readProperties> | undefined;
    try {
      props = readProperties(m);
    } catch {
      props = undefined; // reported when processed
    }
    const single =
      m.flushImmediately ||
      !props ||
      props.ingestIfNotExists.length > 0 ||
      props.tags.some((t) => t.startsWith('ingest-by:'));
    if (single) {
      this.process([item]);
      return;
    }
    const key = JSON.stringify([m.database, m.table, props, m.reportLevel, m.reportMethod]);
    const existing = this.batches.get(key);
    if (existing) {
      existing.items.push(item);
      return;
    }
    const table = this.tryTable(m.database, m.table);
    const window = table?.batchingMs ?? this.options.batchingWindowMs ?? 1000;
    this.batches.set(key, { items: [item], dueAt: Date.now() + window });
  }

  private tryTable(database: string, table: string) {
    try {
      return this.options.store.findTable(database, table);
    } catch {
      return undefined;
    }
  }

  private flushDue(all: boolean): void {
    const now = Date.now();
    for (const [key, batch] of this.batches) {
      if (all || batch.dueAt <= now) {
        this.batches.delete(key);
        this.process(batch.items);
      }
    }
  }

  private process(items: Pending[]): void {
    const work = this.processBatch(items).catch((e: unknown) =>
      this.options.log?.(`DM worker: ${(e as Error).message}`),
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async processBatch(items: Pending[]): Promise<void> {
    const delay = this.options.faults.current.ingestDelayMs;
    if (delay > 0) await sleep(delay);
    // One at a time within the stand-in: SQLite writes are serial anyway, and order stays predictable.
    for (const item of items) {
      const operationId = randomUUID();
      const activityId = randomUUID();
      let outcome: IngestOutcome | undefined;
      let failure: KustoError | undefined;
      const restOperation = item.message.properties[REST_OPERATION_PROPERTY];
      if (
        typeof restOperation === 'string' &&
        this.options.operations &&
        !this.options.operations.take(restOperation, item.message.id)
      ) {
        // Canceled before it was taken, or taken already (a second message for it): not ingested again,
        // its message done with.
        this.options.trace?.(
          `skipped ${item.message.id} message ${item.messageId}: ${this.options.operations.isCanceled(restOperation, item.message.id) ? 'canceled' : 'taken already'}`,
        );
        await item.done();
        continue;
      }
      try {
        outcome = await asOperation(
          this.options.store,
          'DataIngestPull',
          item.message.database,
          () => this.ingestOne(item.message),
          { operationId },
        );
      } catch (e) {
        failure =
          e instanceof KustoError
            ? e
            : new KustoError('General_InternalServerError', (e as Error).message, 500, false);
      }
      this.options.trace?.(
        `ingested ${item.message.id} message ${item.messageId} ${failure ? `failed ${failure.code}` : (outcome?.status ?? 'Succeeded')} ${item.message.blobPath.split('?')[0] ?? ''}`,
      );
      await this.report(item.message, outcome, failure, operationId, activityId);
      if (typeof restOperation === 'string')
        this.options.operations?.settle(
          restOperation,
          item.message.id,
          failure
            ? {
                state: 'Failed',
                errorCode: failure.code,
                failureStatus: isTransientCode(failure.code) ? 'Transient' : 'Permanent',
                details: failure.message,
              }
            : { state: 'Succeeded' },
        );
      await item.done();
      this.processed += 1;
    }
  }

  private async ingestOne(message: DmMessage): Promise<IngestOutcome> {
    const faults = this.options.faults;
    if (faults.take('failIngestionsTransient')) {
      throw new KustoError(
        'General_InternalServerError',
        'The stand-in failed this ingestion on purpose (failIngestionsTransient).',
        500,
        false,
      );
    }
    if (faults.take('failIngestionsPermanent')) {
      throw new KustoError(
        'General_BadRequest',
        'The stand-in failed this ingestion on purpose (failIngestionsPermanent).',
        400,
        true,
      );
    }
    const props = readProperties(message);
    if (!this.options.isIssuedToken(props.authorizationContext)) {
      throw new KustoError(
        'BadRequest_InvalidKustoIdentityToken',
        'The authorizationContext is missing or was not issued by this Data Management service (.get kusto identity token).',
        400,
      );
    }
    const format = props.format ?? formatFromBlobName(message.blobPath) ?? 'csv';
    const store = this.options.store;
    const data = await downloadBlob(message.blobPath, this.options.accounts, {
      identityAllowed: (objectId) => store.identityAllowed(message.database, objectId, NATIVE_INGESTION),
    });
    const sourceName = sourcePathOf(message.blobPath);
    return ingestData(this.options.store, {
      database: message.database,
      table: message.table,
      format,
      data,
      sourceName,
      sourceLocation: sourceName,
      mapping: { inline: props.mappingInline, reference: props.mappingReference, kind: props.mappingKind },
      ignoreFirstRecord: props.ignoreFirstRecord,
      tags: props.tags,
      ingestIfNotExists: props.ingestIfNotExists,
      creationTime: props.creationTime,
      zipPattern: props.zipPattern,
    });
  }

  private async report(
    message: DmMessage,
    outcome: IngestOutcome | undefined,
    failure: KustoError | undefined,
    operationId: string,
    activityId: string,
  ): Promise<void> {
    const now = new Date();
    const sourcePath = sourcePathOf(message.blobPath);
    const failureStatus = failure ? (isTransientCode(failure.code) ? 'Transient' : 'Permanent') : undefined;
    if (failure) {
      this.options.store.recordFailure({
        operationId,
        database: message.database,
        table: message.table,
        failedOn: now.getTime(),
        sourcePath,
        details: failure.message,
        failureKind: failureStatus === 'Transient' ? 'Transient' : 'Permanent',
        errorCode: failure.code,
        operationKind: 'DataIngestPull',
        rootActivityId: activityId,
      });
      this.options.log?.(`DM worker: ${message.id} failed: ${failure.code}: ${failure.message}`);
    }

    const level = message.reportLevel;
    const method = message.reportMethod;
    const wantsFailures = level === ReportLevel.FailuresOnly || level === ReportLevel.FailuresAndSuccesses;
    const wantsSuccesses = level === ReportLevel.FailuresAndSuccesses;
    const row = message.statusInTable;
    const toTable = (method === ReportMethod.Table || method === ReportMethod.QueueAndTable) && row;
    const toQueue = method === ReportMethod.Queue || method === ReportMethod.QueueAndTable;

    if (toTable && level !== ReportLevel.DoNotReport) {
      const status = failure ? 'Failed' : (outcome?.status ?? 'Succeeded');
      await persist(() =>
        this.statusTable.upsertEntity(
          {
            partitionKey: row.partitionKey,
            rowKey: row.rowKey,
            Status: status,
            UpdatedOn: now,
            OperationId: operationId,
            ActivityId: activityId,
            ErrorCode: failure?.code ?? '',
            FailureStatus: failureStatus ?? 'NotFailed',
            Details: failure?.message ?? outcome?.details ?? '',
            OriginatesFromUpdatePolicy: false,
          },
          'Merge',
        ),
      ).catch((e: unknown) =>
        this.options.log?.(
          `DM worker: could not update the status row of ${message.id}: ${(e as Error).message}`,
        ),
      );
    }
    if (toQueue && failure && wantsFailures) {
      await this.send(this.failureQueue, {
        OperationId: operationId,
        Database: message.database,
        Table: message.table,
        FailedOn: now.toISOString(),
        IngestionSourceId: message.id,
        IngestionSourcePath: sourcePath,
        Details: failure.message,
        ErrorCode: failure.code,
        FailureStatus: failureStatus,
        RootActivityId: activityId,
        OriginatesFromUpdatePolicy: false,
        ShouldRetry: failureStatus === 'Transient',
      });
    }
    if (toQueue && !failure && wantsSuccesses) {
      await this.send(this.successQueue, {
        OperationId: operationId,
        Database: message.database,
        Table: message.table,
        SucceededOn: now.toISOString(),
        IngestionSourceId: message.id,
        IngestionSourcePath: sourcePath,
        RootActivityId: activityId,
      });
    }
    if (!failure && !message.retainBlobOnSuccess) {
      await new BlobClient(message.blobPath.split(';')[0] ?? message.blobPath)
        .deleteIfExists()
        .catch(() => undefined);
    }
  }

  private async send(queue: QueueClient, body: Record<string, unknown>): Promise<void> {
    await queue
      .sendMessage(Buffer.from(JSON.stringify(body), 'utf8').toString('base64'))
      .catch((e: unknown) =>
        this.options.log?.(`DM worker: could not post a status message: ${(e as Error).message}`),
      );
  }
}
