import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import {
  classify,
  IngestError,
  mayHaveBeenApplied,
  IngestResourceError,
  IngestServiceError,
  IngestValidationError,
  isNotFound,
} from '../errors';
import { applicationHeader, clientVersionHeader } from '../kusto/clientDetails';
import { KustoRestClient } from '../kusto/kustoRestClient';
import { silentLogger, stripQuery, type Logger } from '../log';
import { buildIngestionMessage, encodeIngestionMessage } from '../message/ingestionMessage';
import { withFailover } from '../resources/failover';
import { ResourceManager } from '../resources/resourceManager';
import type { StorageResource } from '../resources/storageUrl';
import { withRetry, type RetryOptions } from '../retry';
import { parseStatusMessage, type ReceivedStatusMessage } from '../status/statusQueue';
import { pendingEntity, readStatusRow } from '../status/statusTable';
import { DEFAULT_BLOCK_SIZE, uploadBlocks, uploadWhole, type UploadTarget } from '../upload/blockUpload';
import { ByteCounter, gzipBuffer, single } from '../upload/compression';
import { parallelGzip, type ParallelGzipOptions } from '../upload/parallelGzip';
import { splitAtRecords, type RecordBoundary } from '../upload/recordSplitter';
import { StorageClients } from '../upload/storageClients';
import { newUuid } from '../uuid';
import { fileSource, recordsSource, streamSource, type DataSource, type IngestSource } from './dataSource';
import { reportsToTable, validateProps, type ValidatedProps } from './ingestionProps';
import { combinePartStatuses, partSourceId } from './splitParts';
import { planUpload, type UploadPlan } from './uploadPlan';
import type { IngestionProps, IngestionReceipt, IngestionStatus } from './types';

export interface QueuedIngestClientOptions {
  /** Data Management endpoint (https://ingest-<cluster>...). */
  readonly ingestUri: string;
  /** @azure/identity credential; absent = no Authorization header (local stand-in). */
  readonly credential?: TokenCredential;
  /** x-ms-app and ApplicationForTracing. @default the package name */
  readonly applicationName?: string;
  /** @default 3_600_000 */
  readonly resourceRefreshIntervalInMs?: number;
  /** Retries of each storage or service call. @default 3 attempts, 500 ms base, 10 s max */
  readonly retry?: {
    readonly maxAttempts?: number;
    readonly baseDelayInMs?: number;
    readonly maxDelayInMs?: number;
  };
  /** gzip level for text formats, 1-9. @default 2 (bench scenario 3: 2.3x as fast as 6, the official SDK's, for 1.07x the bytes) */
  readonly compressionLevel?: number;
  /** Blocks of one blob staged in parallel. @default 4 */
  readonly uploadConcurrency?: number;
  /** Staged block size in bytes, and the largest input sent as a single Put Blob. @default 2 MiB (bench/README.md: it keeps a 1 GB stream under 150 MB RSS; 4-8 MiB is faster to Azure when memory allows) */
  readonly blockSizeInBytes?: number;
  /** Pieces of 2 MiB gzipped at once on libuv's thread pool. @default min(4, twice the cores): see parallelGzip.ts */
  readonly compressionConcurrency?: number;
  /** Time source in ms. @default Date.now */
  readonly clock?: () => number;
  /** Randomness for jitter and for shuffling equally ranked accounts, in [0, 1). @default Math.random */
  readonly random?: () => number;
  readonly logger?: Logger;
  /** Pipeline policies added to the storage clients of one account (fault injection in tests). */
  readonly storagePolicies?: (accountName: string) => PipelinePolicy[];
  /**
   * Text input larger than this is cut at record boundaries into parts of at least this size, each its own
   * blob and message (docs/contracts.md, 'Splitting'). @default 1 GiB, the top of the service's recommended
   * 100 MB-1 GB of raw data per blob
   */
  readonly splitThresholdInBytes?: number;
}

/** A source staged in temp storage and not queued yet (see `uploadToTempStorage`). */
export interface UploadedSource {
  readonly sourceId: string;
  /** The blob's URL without SAS: safe to store. */
  readonly blobPath: string;
  readonly rawDataSize: number | undefined;
}

export interface IngestCallOptions {
  readonly abortSignal?: AbortSignal;
  /**
   * What to do when sending the ingestion message failed in a way that may have queued it anyway (the
   * connection broke after the request went out, a 500): 'retry' sends it again (it may then be ingested
   * twice); 'throw' stops and throws, for a caller that can find out later (the app asks the status row).
   * @default 'retry'
   */
  readonly ambiguousEnqueue?: 'retry' | 'throw';
}

export type { IngestSource } from './dataSource';

/** One blob staged in temp storage: the whole input, or one part of a split one. */
interface StagedBlob {
  readonly sourceId: string;
  /** With SAS. */
  readonly blobUrl: string;
  readonly rawDataSize: number | undefined;
  /** The part's index when the input was split. */
  readonly part?: number;
  /** Its queue message, when the preflight built exactly this one (same blob URL and size). */
  readonly message?: BuiltMessage;
}

/** An encoded ingestion message and what it names. */
interface BuiltMessage {
  readonly text: string;
  readonly statusTable: StorageResource | undefined;
  readonly now: Date;
}

interface QueueItem {
  readonly sourceId: string;
  /** With SAS. */
  readonly blobUrl: string;
  readonly rawDataSize: number | undefined;
  readonly props: ValidatedProps;
  readonly retain: boolean;
  /** Built for this very item already (by the preflight): not built again. */
  readonly message?: BuiltMessage | undefined;
}

/** gzip level when none is given: chosen by bench scenario 3 (bench/README.md). */
export const DEFAULT_COMPRESSION_LEVEL = 2;
const MAX_REPLAYS = 2;
const DEFAULT_SPLIT_THRESHOLD = 1024 ** 3;

function checkPositiveInteger(name: string, value: number | undefined, max = Number.MAX_SAFE_INTEGER): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= max)) {
    throw new RangeError(
      `QueuedIngestClient: ${name} must be an integer from 1 to ${max}, got ${String(value)}`,
    );
  }
}

/**
 * Queued ingestion into Kusto: data goes to the DM's temp storage (gzipped while it streams), a status row is
 * written when asked for, and one message is queued for the Data Management service. One instance per cluster
 * per process; safe under any number of concurrent calls.
 */
export class QueuedIngestClient {
  readonly ingestUri: string;
  private readonly options: QueuedIngestClientOptions;
  private readonly resources: ResourceManager;
  private readonly storage: StorageClients;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly retry: RetryOptions;
  private readonly compressionLevel: number;
  // Read once: reading process.env costs a call into C++, and each message names both.
  private readonly applicationForTracing: string;
  private readonly clientVersionForTracing = clientVersionHeader();
  private closed = false;

  constructor(options: QueuedIngestClientOptions) {
    const given: unknown = options;
    if (
      typeof given !== 'object' ||
      given === null ||
      typeof (given as { ingestUri?: unknown }).ingestUri !== 'string'
    ) {
      throw new TypeError(
        'QueuedIngestClient: options.ingestUri is required (the https://ingest-<cluster> endpoint)',
      );
    }
    checkPositiveInteger('resourceRefreshIntervalInMs', options.resourceRefreshIntervalInMs);
    checkPositiveInteger('compressionLevel', options.compressionLevel, 9);
    checkPositiveInteger('uploadConcurrency', options.uploadConcurrency, 64);
    checkPositiveInteger('compressionConcurrency', options.compressionConcurrency, 64);
    checkPositiveInteger('blockSizeInBytes', options.blockSizeInBytes, 4000 * 1024 * 1024);
    checkPositiveInteger('retry.maxAttempts', options.retry?.maxAttempts, 20);
    checkPositiveInteger('splitThresholdInBytes', options.splitThresholdInBytes);
    this.options = options;
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.retry = { ...options.retry, ...(options.random && { random: options.random }) };
    this.compressionLevel = options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL;
    this.applicationForTracing = applicationHeader(options.applicationName);
    const rest = new KustoRestClient({
      baseUrl: options.ingestUri,
      credential: options.credential,
      applicationName: options.applicationName,
      logger: this.logger,
    });
    this.ingestUri = rest.baseUrl;
    this.resources = new ResourceManager({
      client: rest,
      clock: this.clock,
      logger: this.logger,
      ...(options.random && { random: options.random }),
      ...(options.resourceRefreshIntervalInMs !== undefined && {
        refreshIntervalInMs: options.resourceRefreshIntervalInMs,
      }),
      ...((options.retry !== undefined || options.random !== undefined) && { retry: this.retry }),
    });
    this.storage = new StorageClients({ policiesFor: options.storagePolicies });
  }

  /** Queues a blob that already exists, by URL (with a SAS or `;managed_identity=...` the service can use). */
  async ingestFromBlob(
    blobUrl: string,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<IngestionReceipt> {
    this.assertOpen();
    const validated = validateProps(props);
    validateBlobUrl(blobUrl);
    const sourceId = validated.sourceId ?? newUuid();
    return this.enqueue(
      { sourceId, blobUrl, rawDataSize: validated.rawDataSize, props: validated, retain: true },
      call,
    );
  }

  /** Streams the input to temp storage (gzipped unless binary or already compressed) and queues it. */
  async ingestFromStream(
    source: IngestSource,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<IngestionReceipt> {
    this.assertOpen();
    const validated = validateProps(props);
    return this.ingestData(streamSource(source, validated.format), validated, call);
  }

  /** Streams a local file (never into memory) and queues it; `.gz` and `.zip` files go up as they are. */
  async ingestFromFile(
    path: string,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<IngestionReceipt> {
    this.assertOpen();
    return this.ingestData(await fileSource(path), validateProps(props), call);
  }

  /** Writes plain objects as JSON lines (format json or multijson) and queues them: our IDataReader. */
  async ingestFromRecords(
    records: AsyncIterable<unknown> | Iterable<unknown>,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<IngestionReceipt> {
    this.assertOpen();
    const validated = validateProps(props);
    if (validated.format !== 'json' && validated.format !== 'multijson') {
      throw new IngestValidationError(
        `ingestFromRecords writes JSON lines: use format 'json' (or 'multijson'), not '${validated.format}'.`,
        'InvalidFormat',
      );
    }
    return this.ingestData(recordsSource(records), validated, call);
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
    this.assertOpen();
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

  /** The status row of one source id, looked for in the preferred table first, then in every other. */
  private async findStatusRow(
    sourceId: string,
    statusTables: readonly StorageResource[],
    preferred: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<IngestionStatus | undefined> {
    const tables = [...statusTables].sort(
      (a, b) => Number(stripQuery(b.url) === preferred) - Number(stripQuery(a.url) === preferred),
    );
    for (const table of tables) {
      const status = await withRetry(() => readStatusRow(this.storage.table(table), sourceId, signal), {
        ...this.retry,
        abortSignal: signal,
      });
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
    this.assertOpen();
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

  /** Stops new calls; calls under way finish. */
  close(): void {
    this.closed = true;
  }

  /** How many times resources were fetched; for diagnostics and tests. */
  get resourceFetchCount(): number {
    return this.resources.fetchCount;
  }

  private assertOpen(): void {
    if (this.closed)
      throw new IngestValidationError(
        'This QueuedIngestClient is closed: create a new one.',
        'InvalidProperty',
      );
  }

  private async ingestData(
    source: DataSource,
    props: ValidatedProps,
    call: IngestCallOptions,
  ): Promise<IngestionReceipt> {
    const sourceId = props.sourceId ?? newUuid();
    const staged = await this.stage(source, props, sourceId, true, call);
    const [only] = staged;
    if (staged.length === 1 && only && only.part === undefined)
      return this.enqueue({ ...only, props, retain: false }, call);
    // Every part is uploaded before any is queued: a failed upload leaves nothing half ingested.
    const parts: IngestionReceipt[] = [];
    for (const blob of staged) {
      // The first record of the input (a header to skip) is in part 0 only.
      const partProps = blob.part === 0 ? props : { ...props, ignoreFirstRecord: false };
      try {
        parts.push(await this.enqueue({ ...blob, props: partProps, retain: false }, call));
      } catch (e) {
        const error = classify(e);
        if (parts.length === 0) throw error;
        // Parts already queued will be ingested: say which, so that a retry can skip them.
        throw new IngestError(
          `Queued ${parts.length} of ${staged.length} parts of source ${sourceId} (${parts.map((p) => p.sourceId).join(', ')}), then failed: ${error.message}`,
          error.code,
          error.transient,
          { cause: error },
        );
      }
    }
    this.logger.info(`Source ${sourceId} was split into ${parts.length} parts, all queued`);
    return {
      sourceId,
      database: props.database,
      table: props.table,
      flavor: 'queued',
      status: parts.every((p) => p.status === 'Pending') ? 'Pending' : 'Queued',
      parts,
    };
  }

  /** Uploads to temp storage, starting a replayable source over on the next container after a failure. */
  private async stage(
    source: DataSource,
    props: ValidatedProps,
    sourceId: string,
    allowSplit: boolean,
    call: IngestCallOptions,
  ): Promise<StagedBlob[]> {
    const signal = call.abortSignal;
    // Resources and the identity token are fetched while the input starts to flow.
    const ready = Promise.all([
      this.resources.getAuthorizationContext(signal),
      this.resources.getResources(signal),
    ]);
    ready.catch(() => undefined);

    for (let replay = 0; ; replay++) {
      try {
        return await this.upload(source, props, sourceId, allowSplit, ready, signal);
      } catch (e) {
        const error = classify(e);
        if (!source.replayable || !error.transient || replay >= MAX_REPLAYS || signal?.aborted) throw error;
        this.logger.warn(
          `Upload of ${source.name} failed (${error.message}); starting over on the next container`,
        );
      }
    }
  }

  /**
   * Step one of a two-step ingestion for callers that record progress (the app's tracking): stages the
   * stream in temp storage, gzipped as `ingestFromStream` would, and queues nothing.
   */
  async uploadToTempStorage(
    source: IngestSource,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<UploadedSource> {
    this.assertOpen();
    const validated = validateProps(props);
    const sourceId = validated.sourceId ?? newUuid();
    // Never split: the caller records one blob per source.
    const [staged] = await this.stage(
      streamSource(source, validated.format),
      validated,
      sourceId,
      false,
      call,
    );
    if (!staged) throw new Error('uploadToTempStorage: nothing was staged'); // stage() stages at least one blob
    return {
      sourceId: staged.sourceId,
      blobPath: stripQuery(staged.blobUrl),
      rawDataSize: staged.rawDataSize,
    };
  }

  /**
   * Step two: queues a blob staged by `uploadToTempStorage`, now or after a restart. The blob is signed with
   * its container's current SAS, so an old record still works after the DM rotated its keys.
   */
  async ingestUploaded(
    uploaded: UploadedSource,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<IngestionReceipt> {
    this.assertOpen();
    const validated = validateProps({ ...props, sourceId: uploaded.sourceId });
    const { containers } = await this.resources.getResources(call.abortSignal);
    const container = containers.find((c) =>
      uploaded.blobPath.startsWith(`${stripQuery(c.url).replace(/\/+$/, '')}/`),
    );
    if (!container) {
      throw new IngestResourceError(
        `The temp container of '${uploaded.blobPath}' is no longer handed out by the Data Management service: upload the data again.`,
      );
    }
    const blobUrl = container.sas ? `${uploaded.blobPath}?${container.sas}` : uploaded.blobPath;
    return this.enqueue(
      {
        sourceId: uploaded.sourceId,
        blobUrl,
        rawDataSize: uploaded.rawDataSize,
        props: validated,
        retain: false,
      },
      call,
    );
  }

  /**
   * Whether a blob staged by `uploadToTempStorage` is still in temp storage: the service cleans temp
   * storage up, so an old staged blob may be gone (then the data must be sent again).
   */
  async uploadedExists(uploaded: UploadedSource, call: IngestCallOptions = {}): Promise<boolean> {
    this.assertOpen();
    const { containers } = await this.resources.getResources(call.abortSignal);
    const container = containers.find((c) =>
      uploaded.blobPath.startsWith(`${stripQuery(c.url).replace(/\/+$/, '')}/`),
    );
    if (!container) return false;
    const signed = container.sas ? `${uploaded.blobPath}?${container.sas}` : uploaded.blobPath;
    return this.storage.blobExists(container, signed, { abortSignal: call.abortSignal });
  }

  private async upload(
    source: DataSource,
    props: ValidatedProps,
    sourceId: string,
    allowSplit: boolean,
    ready: Promise<unknown>,
    signal: AbortSignal | undefined,
  ): Promise<StagedBlob[]> {
    const splitThresholdInBytes = this.options.splitThresholdInBytes ?? DEFAULT_SPLIT_THRESHOLD;
    const plan = await planUpload(source, props, { sourceId, allowSplit, splitThresholdInBytes });
    let candidates: StorageResource[];
    let knownRawSize: number | undefined;
    let preflight: { blobUrl: string; built: BuiltMessage } | undefined;
    try {
      await ready;
      candidates = await this.resources.rankedContainers(signal);
      // A small input's size is known now: the preflight then builds the very message to send.
      knownRawSize = plan.whole && plan.detected === 'none' ? plan.whole.length : undefined;
      preflight = await this.preflight(candidates, plan.blobName(0), sourceId, props, knownRawSize, signal);
    } catch (e) {
      await plan.abandon();
      throw e;
    }
    const uploadTarget = (name: string): UploadTarget => ({
      candidates,
      blobName: name,
      clients: this.storage,
      report: (r, ok, err) => this.resources.reportResult(r, ok, err),
    });
    const uploadBody = (body: AsyncIterable<Buffer>, name: string) =>
      uploadBlocks(body, uploadTarget(name), {
        retry: this.retry,
        abortSignal: signal,
        concurrency: this.options.uploadConcurrency ?? 4,
        ...(this.options.blockSizeInBytes !== undefined && {
          blockSizeInBytes: this.options.blockSizeInBytes,
        }),
      });
    if (plan.boundary !== undefined)
      return this.uploadParts(plan, plan.boundary, splitThresholdInBytes, uploadBody, source.name, sourceId);

    const counter = new ByteCounter();
    let result: { blobUrl: string; uploadedBytes: number };
    if (plan.whole) {
      counter.bytes = plan.whole.length;
      const body = plan.weCompress ? await gzipBuffer(plan.whole, this.compressionLevel) : plan.whole;
      result =
        body.length > 0 && body.length <= (this.options.blockSizeInBytes ?? DEFAULT_BLOCK_SIZE)
          ? await uploadWhole(body, uploadTarget(plan.blobName(0)), {
              retry: this.retry,
              abortSignal: signal,
            })
          : await uploadBody(single(body), plan.blobName(0));
    } else {
      const raw = counter.count(plan.input);
      const body = plan.weCompress ? parallelGzip(raw, this.gzipOptions()) : raw;
      result = await uploadBody(body, plan.blobName(0));
    }
    let rawDataSize: number | undefined;
    if (plan.detected === 'none')
      rawDataSize = counter.bytes; // exact: we saw every uncompressed byte
    else if (plan.detected === 'gzip') rawDataSize = await source.precompressedRawSize?.();
    this.logger.debug(
      `Uploaded ${source.name} as ${plan.blobName(0)}: ${counter.bytes} input bytes, ${result.uploadedBytes} uploaded`,
    );
    const message =
      knownRawSize !== undefined && rawDataSize === knownRawSize && result.blobUrl === preflight?.blobUrl
        ? preflight.built
        : undefined;
    return [{ sourceId, blobUrl: result.blobUrl, rawDataSize, ...(message && { message }) }];
  }

  /**
   * A message the queue would refuse (a huge inline mapping) must fail before anything is uploaded. Built
   * for the first container with the input's raw size when known (it is then the message to send, unless
   * the upload fails over), else with the largest size as a bound.
   */
  private async preflight(
    candidates: readonly StorageResource[],
    blobName: string,
    sourceId: string,
    props: ValidatedProps,
    rawDataSize: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ blobUrl: string; built: BuiltMessage } | undefined> {
    const first = candidates[0];
    if (!first) return undefined;
    const blobUrl = this.storage.tempBlob(first, blobName).url;
    const sample = {
      sourceId,
      blobUrl,
      rawDataSize: rawDataSize ?? Number.MAX_SAFE_INTEGER,
      props,
      retain: false,
    };
    return { blobUrl, built: await this.buildMessage(sample, signal) };
  }

  /** Cuts the input at record boundaries into parts of at least the threshold, each gzipped into its blob. */
  private async uploadParts(
    plan: UploadPlan,
    boundary: RecordBoundary,
    threshold: number,
    uploadBody: (
      body: AsyncIterable<Buffer>,
      name: string,
    ) => Promise<{ blobUrl: string; uploadedBytes: number }>,
    name: string,
    sourceId: string,
  ): Promise<StagedBlob[]> {
    const staged: StagedBlob[] = [];
    let part = 0;
    for await (const raw of splitAtRecords(plan.input, threshold, boundary)) {
      const counter = new ByteCounter();
      const result = await uploadBody(
        parallelGzip(counter.count(raw), this.gzipOptions()),
        plan.blobName(part),
      );
      staged.push({ sourceId, blobUrl: result.blobUrl, rawDataSize: counter.bytes, part });
      this.logger.debug(
        `Uploaded part ${part} of ${name} as ${plan.blobName(part)}: ${counter.bytes} input bytes, ${result.uploadedBytes} uploaded`,
      );
      part++;
    }
    if (staged.length === 1) {
      // It fitted after all: one blob under the source's own id, as if never split.
      const only = staged[0] as StagedBlob;
      return [{ sourceId, blobUrl: only.blobUrl, rawDataSize: only.rawDataSize }];
    }
    // Each part its own source id, derived from the parent's so that a status lookup can find them.
    return staged.map((b, n) => ({ ...b, sourceId: partSourceId(sourceId, n) }));
  }

  private gzipOptions(): ParallelGzipOptions {
    const concurrency = this.options.compressionConcurrency;
    return { level: this.compressionLevel, ...(concurrency !== undefined && { concurrency }) };
  }

  /** The encoded wire message and the status table it names, if any. */
  private async buildMessage(item: QueueItem, signal: AbortSignal | undefined): Promise<BuiltMessage> {
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

  private async enqueue(item: QueueItem, call: IngestCallOptions): Promise<IngestionReceipt> {
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

function pickStatusTable(tables: readonly StorageResource[], sourceId: string): StorageResource {
  if (tables.length === 0) {
    throw new IngestResourceError(
      'ReportMethod Table was asked for, but the Data Management service handed out no status table.',
    );
  }
  // Stable per source, spread across tables.
  const index = parseInt(sourceId.slice(0, 8), 16) % tables.length;
  return tables[index] as StorageResource;
}

function validateBlobUrl(blobUrl: string): void {
  let url: URL;
  try {
    url = new URL(blobUrl);
  } catch (cause) {
    throw new IngestValidationError(
      `'${stripQuery(blobUrl)}' is not a blob URL: give an absolute https URL.`,
      'InvalidProperty',
      { cause },
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new IngestValidationError(
      `Blob URL scheme '${url.protocol}' is not supported: use https.`,
      'InvalidProperty',
    );
  }
  if (url.pathname.split('/').filter(Boolean).length < 2) {
    throw new IngestValidationError(
      `'${stripQuery(blobUrl)}' names no blob: give the URL of a blob in a container.`,
      'InvalidProperty',
    );
  }
}
