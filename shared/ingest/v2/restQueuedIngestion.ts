import { IngestError, IngestServiceError, isIngestValidationError, mayHaveBeenApplied } from '../../errors';
import type { KustoRestClient } from '../../kusto/kustoRestClient';
import { silentLogger, type Logger } from '../../log';
import { abortReason } from '../../abort';
import { withRetry, type RetryOptions } from '../../retry';
import type { ValidatedProps } from '../ingestionProps';
import type { SubmissionJournal } from '../queuedTypes';
import { newUuid } from '../../uuid';
import type { IngestionStatus } from '../types';
import {
  DEFAULT_MAX_BLOBS_PER_BATCH,
  INGEST_V2_API_VERSION,
  type IngestionConfigurationSource,
} from './ingestionConfiguration';
import type { OperationHandle } from './operationHandle';
import { itemStatus, matchDetails, parseOperationStatus } from './operationStatus';
import {
  batchKey,
  blobKey,
  buildSubmission,
  checkSubmittedBlob,
  operationPath,
  parseSubmissionAnswer,
  submissionPath,
  submissionProperties,
  type SubmissionOptions,
  type SubmittedBlob,
} from './restSubmission';

export interface RestQueuedIngestionOptions {
  readonly client: Pick<KustoRestClient, 'postJson' | 'getJson'>;
  /** Where maxBlobsPerBatch and maxDataSize come from. */
  readonly configuration: IngestionConfigurationSource;
  /**
   * How long a blob waits for others of its batch before the submission goes. Queued ingestion is batched
   * by the service for minutes: a few more milliseconds here make submissions fuller, and status reads
   * fewer (bench scenario 13). @default DEFAULT_BATCH_WINDOW_MS
   */
  readonly batchWindowMs?: number;
  /**
   * Retries of a submission the service did not carry out (429, 503, a refused connection) and of status
   * reads (any transient failure). @default 4 attempts, from 500 ms, up to 10 s
   */
  readonly retry?: RetryOptions;
  readonly logger?: Logger;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** One blob's place in an accepted submission: its operation, and the handle to read it by. */
export interface RestSubmitted {
  readonly operationId: string;
  readonly handle: OperationHandle;
}

interface Waiting {
  readonly blob: SubmittedBlob;
  readonly journal: SubmissionJournal['beforeSubmit'] | undefined;
  readonly resolve: (value: RestSubmitted) => void;
  readonly reject: (error: unknown) => void;
}

interface OpenBatch {
  readonly props: ValidatedProps;
  readonly options: SubmissionOptions;
  readonly waiting: Waiting[];
  /** The raw sizes the blobs declared, together (maxDataSize bounds a submission). */
  bytes: number;
  timer: NodeJS.Timeout | undefined;
}

const HEADERS = { 'x-ms-version': INGEST_V2_API_VERSION };

/** How long a blob waits for others of its batch, by default (bench/README.md, scenario 13). */
export const DEFAULT_BATCH_WINDOW_MS = 25;

/**
 * Queued ingestion over REST (ingest v2). Each `submit` is one blob and answers for that blob alone;
 * underneath, blobs for the same table and properties that arrive within `batchWindowMs` share one POST
 * (up to the service's maxBlobsPerBatch), always with tracking on. A blob is checked alone before it joins
 * (its bad URL, id or size never fails its neighbours), and a batch the service refuses with a 4xx is
 * split and its halves sent again, so that the bad blob alone is refused. A submission whose answer may
 * have been lost (a broken connection, a timeout, a 500) is never sent again: its blobs get the error,
 * which `mayHaveBeenApplied` recognises (docs/lifecycle.md, 'Every uncertain step'). Statuses are read one
 * operation at a time: one GET answers for every blob it holds.
 */
export class RestQueuedIngestion {
  private readonly batches = new Map<string, OpenBatch>();
  private readonly logger: Logger;
  private readonly clock: () => number;
  /** Submissions posted (each attempt of each part); for diagnostics, benchmarks and tests. */
  posts = 0;
  /** Operation status reads; for diagnostics, benchmarks and tests. */
  statusReads = 0;

  constructor(private readonly options: RestQueuedIngestionOptions) {
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Submits one blob (batched with others of its table and properties); resolves once it is accepted. An
   * abort before its batch is sent takes the blob out of the batch (nothing of it reached the service);
   * once sent, the submission is shared with other blobs and runs to its answer.
   */
  async submit(
    blob: SubmittedBlob,
    props: ValidatedProps,
    options: SubmissionOptions,
    signal?: AbortSignal,
    journal?: SubmissionJournal,
  ): Promise<RestSubmitted> {
    // A journaled blob goes only in tagged submissions, and a tagged one only holds journaled blobs.
    if (journal) options = { ...options, tagPrefix: journal.tagPrefix };
    else if (options.tagPrefix !== undefined) options = { ...options, tagPrefix: undefined };
    signal?.throwIfAborted();
    const config = await this.options.configuration.get(signal);
    if (!config)
      throw new IngestServiceError(
        'The cluster has no REST queued ingestion (its configuration endpoint answers 404): use protocol v1.',
        'NotFound',
        404,
      );
    checkSubmittedBlob(blob, { maxDataSize: config.maxDataSize });
    signal?.throwIfAborted();
    const max = config.maxBlobsPerBatch || DEFAULT_MAX_BLOBS_PER_BATCH;
    const key = batchKey(props, options);
    return new Promise<RestSubmitted>((resolve, reject) => {
      let batch = this.batches.get(key);
      // The same blob twice in one request is refused by the service, and a submission carries at most
      // maxDataSize: such a blob starts a batch of its own.
      const size = blob.rawSize ?? 0;
      const full = config.maxDataSize !== undefined && (batch?.bytes ?? 0) + size > config.maxDataSize;
      if (batch && (full || batch.waiting.some((w) => blobKey(w.blob.url) === blobKey(blob.url)))) {
        void this.flush(key);
        batch = undefined;
      }
      if (!batch) {
        batch = { props, options, waiting: [], bytes: 0, timer: undefined };
        this.batches.set(key, batch);
        batch.timer = setTimeout(
          () => void this.flush(key),
          this.options.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS,
        );
      }
      const open = batch;
      const onAbort = () => {
        // Still waiting for its batch (the batch not sent yet): taken out, the caller told.
        const at = this.batches.get(key) === open ? open.waiting.indexOf(waiting) : -1;
        if (at === -1) return;
        open.waiting.splice(at, 1);
        open.bytes -= size;
        if (signal) reject(abortReason(signal));
      };
      // The listener goes with the answer: a long-lived signal does not collect one per blob.
      const waiting: Waiting = {
        blob,
        journal: journal?.beforeSubmit,
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      };
      open.waiting.push(waiting);
      open.bytes += size;
      signal?.addEventListener('abort', onAbort, { once: true });
      if (open.waiting.length >= max) void this.flush(key);
    });
  }

  /** Sends every batch still waiting for its window; resolves when they are answered. */
  async flushAll(): Promise<void> {
    await Promise.allSettled([...this.batches.keys()].map((key) => this.flush(key)));
  }

  /**
   * The status of every blob of one operation, by source id, in one read (`details=true`). A blob the
   * details do not name yet is Pending.
   */
  async readStatus(handle: OperationHandle, signal?: AbortSignal): Promise<Map<string, IngestionStatus>> {
    const body = await withRetry(
      () => {
        this.statusReads += 1;
        return this.options.client.getJson(
          operationPath(handle.database, handle.table, handle.operationId),
          `the status of ingestion operation ${handle.operationId}`,
          'getIngestStatus',
          { headers: HEADERS, requestIdPrefix: 'KIC.execute', ...(signal && { signal }) },
        );
      },
      { ...this.retryOptions(), ...(signal && { abortSignal: signal }) },
    );
    const status = parseOperationStatus(body);
    const matched = matchDetails(status, handle.items);
    return new Map(
      handle.items.map((item) => [
        item.sourceId,
        itemStatus(item.sourceId, handle.operationId, matched.get(item.sourceId)),
      ]),
    );
  }

  private retryOptions(): RetryOptions {
    return { maxAttempts: 4, baseDelayInMs: 500, maxDelayInMs: 10_000, ...this.options.retry };
  }

  private flush(key: string): Promise<void> {
    const batch = this.batches.get(key);
    if (!batch) return Promise.resolve();
    this.batches.delete(key);
    clearTimeout(batch.timer);
    if (batch.waiting.length === 0) return Promise.resolve(); // every blob of it was aborted
    return this.send(batch.props, batch.options, batch.waiting);
  }

  /**
   * Records the submission with every blob's caller; returns the blobs that may go and the tag they go
   * under. A tag is only ever sent with every blob whose record of it may exist: a record that failed may
   * still have been written (its answer lost), and its blob is left out, so the tag it may name is
   * abandoned and the others are recorded again under a new one (a round per failure, each leaving one
   * out at least). Otherwise extents of the submission would later vouch for a blob that was never in it.
   * A blob left out is told that nothing of it was sent (whatever its record's own failure was).
   */
  private async journaled(
    given: readonly Waiting[],
    prefix: string,
  ): Promise<{ going: Waiting[]; tag: string | undefined }> {
    let waiting = [...given];
    while (waiting.length > 0) {
      const submissionId = newUuid();
      const tag = `${prefix}${submissionId}`;
      const written = await Promise.allSettled(
        waiting.map((w) => (w.journal ? w.journal(submissionId, tag) : Promise.resolve())),
      );
      const going: Waiting[] = [];
      written.forEach((result, i) => {
        const w = waiting[i] as Waiting;
        if (result.status === 'fulfilled') going.push(w);
        else
          w.reject(
            new IngestError(
              `The blob was not submitted: its submission could not be recorded first (${errorText(result.reason)}).`,
              'SubmissionNotSent',
              true,
            ),
          );
      });
      if (going.length === waiting.length) return { going, tag };
      waiting = going;
    }
    return { going: [], tag: undefined };
  }

  /** Posts one batch; a 4xx splits it in two, each half sent on its own, down to the blob at fault. */
  private async send(
    props: ValidatedProps,
    options: SubmissionOptions,
    given: readonly Waiting[],
  ): Promise<void> {
    let operationId: string;
    let tag: string | undefined;
    let waiting = given;
    if (options.tagPrefix !== undefined) {
      ({ going: waiting, tag } = await this.journaled(waiting, options.tagPrefix));
      if (waiting.length === 0) return;
    }
    const submittedAt = new Date(this.clock());
    try {
      const body = buildSubmission(
        waiting.map((w) => w.blob),
        submissionProperties(props, options, tag),
        Math.max(waiting.length, 1),
        submittedAt,
      );
      operationId = await withRetry(
        async () => {
          this.posts += 1;
          return parseSubmissionAnswer(
            await this.options.client.postJson(
              submissionPath(props.database, props.table),
              body,
              `a submission of ${waiting.length} blob(s) to ${props.database}.${props.table}`,
              'postQueuedIngest',
              { headers: HEADERS, requestIdPrefix: 'KIC.execute' },
            ),
          );
        },
        {
          ...this.retryOptions(),
          // Sent again only when the service cannot have carried it out: never a blind resubmission.
          shouldRetry: (e: IngestError) => e.transient && !mayHaveBeenApplied(e),
        },
      );
    } catch (e) {
      if (waiting.length > 1 && isRefusal(e)) {
        const half = Math.ceil(waiting.length / 2);
        this.logger.warn(
          `The service refused a submission of ${waiting.length} blobs to ${props.database}.${props.table}; sending it again in two parts to find the one at fault: ${(e as Error).message}`,
        );
        await Promise.all([
          this.send(props, options, waiting.slice(0, half)),
          this.send(props, options, waiting.slice(half)),
        ]);
        return;
      }
      for (const w of waiting) w.reject(e);
      return;
    }
    const handle: OperationHandle = {
      database: props.database,
      table: props.table,
      operationId,
      submittedAt: submittedAt.toISOString(),
      items: waiting.map((w) => ({ sourceId: w.blob.sourceId, url: blobKey(w.blob.url) })),
    };
    for (const w of waiting) w.resolve({ operationId, handle });
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The service refused the request as it was (a 4xx other than sign-in, permission, a missing endpoint or
 * throttling: splitting those would only send them again).
 */
function isRefusal(e: unknown): boolean {
  if (isIngestValidationError(e)) return true;
  if (!(e instanceof IngestServiceError)) return false;
  const status = e.statusCode;
  return status !== undefined && status >= 400 && status < 500 && ![401, 403, 404, 429].includes(status);
}
