import { IngestError, IngestResourceError, IngestServiceError } from '../../shared/errors';
import type { IngestCallOptions, UploadedSource } from '../../shared/ingest/queuedIngestClient';
import type { IngestionProps, IngestionReceipt, IngestionStatus } from '../../shared/ingest/types';
import type { IngestPort } from '../../shared/app/ports';
import { handleFromString, handleToString } from '../../shared/ingest/v2/operationHandle';

/** One message the fake was asked to queue. */
export interface SentMessage {
  readonly sourceId: string;
  /** The blob URL as given (a staged push's is its temp blob). */
  readonly url: string;
  readonly props: IngestionProps;
}

/**
 * The queued ingest client as a unit test needs it: stages in memory, records every message it is asked to
 * queue (in order), and answers each source's status as the test sets it (`answer`), Pending until then, as
 * a status row would. `failNext` makes the next enqueue fail, before or after the message was "sent".
 */
export class FakeIngest implements IngestPort {
  readonly staged = new Map<string, { sourceId: string; bytes: number }>();
  readonly sent: SentMessage[] = [];
  private readonly statuses = new Map<string, IngestionStatus>();
  private readonly failures: { error: Error; applied: boolean }[] = [];
  private stops = 0;
  /**
   * Set: sources are queued as v2 submissions of this many each, in the order they come (the receipt names
   * its operation, as a REST submission's does). Unset: as v1 messages with a status row each.
   */
  submissionSize: number | undefined;
  /** The members of each v2 operation, by operation id. */
  private readonly operations = new Map<string, string[]>();
  /** Operation status reads (v2): one answers for every member. */
  operationReads = 0;
  /** Status reads by source (v1 status rows). */
  statusReads = 0;
  /** v2: the submission tag each source's journal was told, in order (a REST submission is journaled first). */
  readonly journaled = new Map<string, string[]>();
  /** v2: the tags of submissions that reached the service (sent, whatever their answer). */
  readonly submittedTags = new Set<string>();
  private journals = 0;
  lastProtocol: IngestPort['lastProtocol'];
  /**
   * Storage's clock: set, a v1 status row is stamped when written (`rowWrittenOn`), by `answer` or by a send,
   * which writes the row Pending over the last attempt's, as the real client does.
   */
  clock: (() => number) | undefined;

  /** The service's word on a source from now on. */
  answer(sourceId: string, status: Omit<IngestionStatus, 'sourceId'>): void {
    this.statuses.set(sourceId, { sourceId, ...this.stamp(), ...status });
  }

  private stamp(): { rowWrittenOn?: string } {
    return this.clock ? { rowWrittenOn: new Date(this.clock()).toISOString() } : {};
  }

  /** The next enqueue throws `error`; with `applied` the message is recorded first (its answer was lost). */
  failNext(error: Error, options: { applied?: boolean } = {}): void {
    this.failures.push({ error, applied: options.applied ?? false });
  }

  /**
   * The next enqueue never settles and sends nothing, as when its process stops as the call begins (before
   * a v2 submission is journaled).
   */
  stopNext(): void {
    this.stops += 1;
  }

  /** The messages sent for one source. */
  sentFor(sourceId: string): SentMessage[] {
    return this.sent.filter((m) => m.sourceId === sourceId);
  }

  async uploadToTempStorage(
    source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
    props: IngestionProps,
  ): Promise<UploadedSource> {
    let bytes = 0;
    for await (const chunk of source)
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    const sourceId = props.sourceId ?? 'no-source-id';
    const blobPath = `https://fake.blob.core.windows.net/temp/${props.database}__${props.table}__${sourceId}.csv.gz`;
    this.staged.set(blobPath, { sourceId, bytes });
    return { sourceId, blobPath, rawDataSize: bytes };
  }

  ingestFromBlob(url: string, props: IngestionProps, call?: IngestCallOptions): Promise<IngestionReceipt> {
    return this.enqueue(props.sourceId ?? 'no-source-id', url, props, call);
  }

  ingestUploaded(
    uploaded: UploadedSource,
    props: IngestionProps,
    call?: IngestCallOptions,
  ): Promise<IngestionReceipt> {
    if (!this.staged.has(uploaded.blobPath))
      return Promise.reject(new IngestResourceError(`'${uploaded.blobPath}' is no longer in temp storage.`));
    return this.enqueue(
      uploaded.sourceId,
      uploaded.blobPath,
      { ...props, sourceId: uploaded.sourceId },
      call,
    );
  }

  uploadedExists(uploaded: UploadedSource): Promise<boolean> {
    return Promise.resolve(this.staged.has(uploaded.blobPath));
  }

  getOperationStatuses(operation: string): Promise<Map<string, IngestionStatus>> {
    this.operationReads += 1;
    const { operationId } = handleFromString(operation);
    const members = this.operations.get(operationId);
    if (!members)
      return Promise.reject(new IngestServiceError(`No operation ${operationId}.`, 'NotFound', 404));
    return Promise.resolve(
      new Map(
        members.map((sourceId) => [sourceId, this.statuses.get(sourceId) ?? { sourceId, status: 'Pending' }]),
      ),
    );
  }

  getIngestionStatus(lookup: IngestionReceipt | string): Promise<IngestionStatus> {
    this.statusReads += 1;
    const sourceId = typeof lookup === 'string' ? lookup : lookup.sourceId;
    // As the real client: a source submitted over REST has no status row to find by its id.
    if (this.submissionSize !== undefined && (typeof lookup === 'string' || !lookup.statusTable))
      return Promise.reject(
        new IngestServiceError(`No ingestion status row for source ${sourceId}.`, 'NotFound', 404),
      );
    const said = this.statuses.get(sourceId);
    if (said) return Promise.resolve(said);
    if (this.sentFor(sourceId).length > 0) return Promise.resolve({ sourceId, status: 'Pending' });
    return Promise.reject(
      new IngestServiceError(`No ingestion status row for source ${sourceId}.`, 'NotFound', 404),
    );
  }

  receiveStatusReports(): Promise<never[]> {
    return Promise.resolve([]);
  }

  private async enqueue(
    sourceId: string,
    url: string,
    props: IngestionProps,
    call?: IngestCallOptions,
  ): Promise<IngestionReceipt> {
    if (this.stops > 0) {
      this.stops -= 1;
      return new Promise<never>(() => {});
    }
    let tag: string | undefined;
    if (this.submissionSize !== undefined && call?.journal) {
      // As the REST client does: the submission is journaled before it is sent, and tagged with its id.
      const submissionId = `sub-${this.journals++}`;
      tag = `${call.journal.tagPrefix}${submissionId}`;
      // A failed record leaves the blob out, and the call says nothing of it was sent, as the client does.
      await call.journal.beforeSubmit(submissionId, tag).catch((e: unknown) => {
        throw new IngestError(
          `The blob was not submitted: its submission could not be recorded first (${(e as Error).message}).`,
          'SubmissionNotSent',
          true,
        );
      });
      this.journaled.set(sourceId, [...(this.journaled.get(sourceId) ?? []), tag]);
    }
    const failure = this.failures.shift();
    if (failure && !failure.applied) throw failure.error;
    // v1: the client writes the source's status row Pending before the message.
    if (this.submissionSize === undefined && this.clock)
      this.statuses.set(sourceId, { sourceId, status: 'Pending', ...this.stamp() });
    this.sent.push({ sourceId, url, props });
    if (tag !== undefined) this.submittedTags.add(tag);
    if (failure) throw failure.error;
    if (this.submissionSize !== undefined) {
      const operationId = `op-${Math.floor((this.sent.length - 1) / this.submissionSize)}`;
      this.operations.set(operationId, [...(this.operations.get(operationId) ?? []), sourceId]);
      return {
        sourceId,
        database: props.database,
        table: props.table,
        flavor: 'queued',
        status: 'Pending',
        operation: handleToString({
          database: props.database,
          table: props.table,
          operationId,
          submittedAt: new Date(0).toISOString(),
          items: [{ sourceId, url }],
        }),
      };
    }
    return {
      sourceId,
      database: props.database,
      table: props.table,
      flavor: 'queued',
      status: 'Pending',
      statusTable: {
        tableUrl: 'https://fake.table.core.windows.net/status',
        partitionKey: sourceId,
        rowKey: sourceId,
      },
    };
  }
}
