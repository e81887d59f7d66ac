import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { IngestError, IngestResourceError, IngestValidationError, classify } from '../errors';
import { applicationHeader, clientVersionHeader } from '../kusto/clientDetails';
import { KustoRestClient } from '../kusto/kustoRestClient';
import { silentLogger, stripQuery, type Logger } from '../log';
import { ResourceManager } from '../resources/resourceManager';
import type { RetryOptions } from '../retry';
import type { ReceivedStatusMessage } from '../status/statusQueue';
import { StorageClients } from '../upload/storageClients';
import { newUuid } from '../uuid';
import { fileSource, recordsSource, streamSource, type DataSource, type IngestSource } from './dataSource';
import { IngestionQueue } from './ingestionQueue';
import { validateProps, type ValidatedProps } from './ingestionProps';
import { checkPositiveInteger } from './positiveInteger';
import type { IngestCallOptions, QueueItem, UploadedSource } from './queuedTypes';
import { combinePartStatuses } from './splitParts';
import { StatusReader } from './statusReader';
import { TempStaging, type ContainerList, type StagingTarget } from './tempStaging';
import type { IngestionProps, IngestionReceipt, IngestionStatus } from './types';
import {
  chooseProtocol,
  IngestionConfigurationSource,
  type IngestProtocolSetting,
  type ProtocolChoice,
} from './v2/ingestionConfiguration';
import { handleFromString, handleToString, type OperationHandle } from './v2/operationHandle';
import { RestQueuedIngestion } from './v2/restQueuedIngestion';

export type { IngestCallOptions, UploadedSource } from './queuedTypes';
export type { IngestSource } from './dataSource';

/** gzip level when none is given: chosen by bench scenario 3 (bench/README.md). */
export const DEFAULT_COMPRESSION_LEVEL = 2;

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
  /**
   * Pipeline policies added to the storage clients of one account (fault injection in tests). With any, the
   * upload path's requests go through the pipeline instead of the lean HTTP client: to count requests, read
   * `announcements` instead.
   */
  readonly storagePolicies?: (accountName: string) => PipelinePolicy[];
  /**
   * Text input larger than this is cut at record boundaries into parts of at least this size, each its own
   * blob and message (docs/contracts.md, 'Splitting'). @default 1 GiB, the top of the service's recommended
   * 100 MB-1 GB of raw data per blob
   */
  readonly splitThresholdInBytes?: number;
  /**
   * How sources are announced to the service: `v1` queue messages, `v2` REST submissions, or `auto`: v2
   * where the cluster's REST ingestion configuration prefers it, v1 where it does not or has none (404).
   * Under `auto` a call that asks for v1's own reporting (an explicit reportLevel or reportMethod) stays on
   * v1. @default auto
   */
  readonly protocol?: IngestProtocolSetting;
  /** v2: how long a blob waits for others of its table before their submission goes. @default 25 (DEFAULT_BATCH_WINDOW_MS) */
  readonly batchWindowMs?: number;
}

/**
 * Queued ingestion into Kusto: data goes to the DM's temp storage (gzipped while it streams), a status row is
 * written when asked for, and one message is queued for the Data Management service. One instance per cluster
 * per process; safe under any number of concurrent calls.
 */
export class QueuedIngestClient {
  readonly ingestUri: string;
  private readonly resources: ResourceManager;
  private readonly logger: Logger;
  private readonly queue: IngestionQueue;
  private readonly staging: TempStaging;
  private readonly status: StatusReader;
  private readonly storage: StorageClients;
  private readonly protocol: IngestProtocolSetting;
  private readonly configuration: IngestionConfigurationSource;
  private readonly rest: RestQueuedIngestion;
  private readonly saidWhy = new Set<string>();
  /** Every blob of a submission gets the same handle: serialized once, not once per blob (up to 20). */
  private readonly handleStrings = new WeakMap<OperationHandle, string>();
  /** The protocol the last call used, and why (health reports); undefined before the first. */
  lastProtocol: ProtocolChoice | undefined;
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
    checkPositiveInteger('batchWindowMs', options.batchWindowMs, 60_000);
    const protocol: unknown = options.protocol ?? 'auto';
    if (protocol !== 'auto' && protocol !== 'v1' && protocol !== 'v2')
      throw new TypeError(
        `QueuedIngestClient: protocol must be 'auto', 'v1' or 'v2', got '${String(protocol)}'`,
      );
    this.protocol = protocol;
    const clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    const retry: RetryOptions = { ...options.retry, ...(options.random && { random: options.random }) };
    const rest = new KustoRestClient({
      baseUrl: options.ingestUri,
      credential: options.credential,
      applicationName: options.applicationName,
      logger: this.logger,
    });
    this.ingestUri = rest.baseUrl;
    this.resources = new ResourceManager({
      client: rest,
      clock,
      logger: this.logger,
      ...(options.random && { random: options.random }),
      ...(options.resourceRefreshIntervalInMs !== undefined && {
        refreshIntervalInMs: options.resourceRefreshIntervalInMs,
      }),
      ...((options.retry !== undefined || options.random !== undefined) && { retry }),
    });
    const storage = new StorageClients({ policiesFor: options.storagePolicies });
    this.storage = storage;
    this.queue = new IngestionQueue({
      resources: this.resources,
      storage,
      retry,
      clock,
      // Read once: reading process.env costs a call into C++, and each message names both.
      applicationForTracing: applicationHeader(options.applicationName),
      clientVersionForTracing: clientVersionHeader(),
    });
    this.staging = new TempStaging({
      resources: this.resources,
      storage,
      retry,
      logger: this.logger,
      queue: this.queue,
      compressionLevel: options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL,
      uploadConcurrency: options.uploadConcurrency,
      blockSizeInBytes: options.blockSizeInBytes,
      compressionConcurrency: options.compressionConcurrency,
      splitThresholdInBytes: options.splitThresholdInBytes,
    });
    this.status = new StatusReader({ resources: this.resources, storage, retry });
    this.configuration = new IngestionConfigurationSource({ client: rest, clock });
    this.rest = new RestQueuedIngestion({
      client: rest,
      configuration: this.configuration,
      logger: this.logger,
      clock,
      ...(options.batchWindowMs !== undefined && { batchWindowMs: options.batchWindowMs }),
      ...((options.retry !== undefined || options.random !== undefined) && { retry }),
    });
  }

  /**
   * Which protocol a call uses, and why: `v1` and `v2` as set; `auto` as the cluster's configuration says
   * (read once per refresh interval), v1 for a call that asks for v1's reporting. A configuration endpoint
   * that fails (other than 404) fails the call: never a silent switch.
   */
  async protocolFor(
    props?: IngestionProps,
    signal?: AbortSignal,
    reportingOnV1Only = false,
  ): Promise<ProtocolChoice> {
    if (
      this.protocol === 'auto' &&
      !reportingOnV1Only &&
      (props?.reportLevel !== undefined || props?.reportMethod !== undefined)
    )
      return { protocol: 'v1', why: 'the call asks for v1 status reporting (reportLevel or reportMethod)' };
    if (this.protocol === 'v1') return (this.lastProtocol = chooseProtocol('v1', undefined));
    const choice = chooseProtocol(this.protocol, await this.configuration.get(signal));
    this.lastProtocol = choice;
    if (!this.saidWhy.has(choice.why)) {
      this.saidWhy.add(choice.why);
      this.logger.info(`Queued ingestion uses ${choice.protocol}: ${choice.why}`);
    }
    return choice;
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
    const choice = await this.protocolFor(props, call.abortSignal, call.reportingOnV1Only);
    return this.announce(
      { sourceId, blobUrl, rawDataSize: validated.rawDataSize, props: validated, retain: true },
      call,
      choice,
    );
  }

  /** Tells the service about one blob: a v1 queue message, or a blob of a REST submission (v2). */
  private async announce(
    item: QueueItem,
    call: IngestCallOptions,
    choice: ProtocolChoice,
  ): Promise<IngestionReceipt> {
    if (choice.protocol === 'v1') return this.queue.enqueue(item, call);
    const { handle } = await this.rest.submit(
      { url: item.blobUrl, sourceId: item.sourceId, rawSize: item.rawDataSize },
      item.props,
      { deleteAfterDownload: !item.retain },
      call.abortSignal,
      call.journal,
    );
    return {
      sourceId: item.sourceId,
      database: item.props.database,
      table: item.props.table,
      flavor: 'queued',
      blobPath: stripQuery(item.blobUrl),
      status: 'Pending',
      operation: this.handleString(handle),
    };
  }

  private handleString(handle: OperationHandle): string {
    let text = this.handleStrings.get(handle);
    if (text === undefined) {
      text = handleToString(handle);
      this.handleStrings.set(handle, text);
    }
    return text;
  }

  /** Where a staged input goes: the DM's temp containers (v1), or the configuration's (v2). */
  private stagingTarget(choice: ProtocolChoice): StagingTarget {
    if (choice.protocol === 'v1') return this.staging.v1Target();
    return {
      preflight: false,
      // The configuration's SAS expired before its refresh interval: read it again, and start over.
      refreshAfterDenied: () => {
        this.configuration.invalidate();
        return true;
      },
      containers: async (signal) => {
        const config = await this.configuration.get(signal);
        const containers = config?.containers ?? [];
        if (containers.length === 0)
          throw new IngestResourceError(
            'The REST ingestion configuration names no container to upload to: the cluster may offer lake folders only.',
          );
        // The accounts that failed least first, rotating, as v1's containers are ranked.
        return this.resources.rank(containers);
      },
    };
  }

  /**
   * The statuses of every blob of one REST operation (ingest v2), by source id, in one read: from a
   * receipt's `operation`, in this process or another.
   */
  async getOperationStatuses(
    operation: string,
    call: IngestCallOptions = {},
  ): Promise<Map<string, IngestionStatus>> {
    this.assertOpen();
    return this.rest.readStatus(handleFromString(operation), call.abortSignal);
  }

  /** Streams the input to temp storage (gzipped unless binary or already compressed) and queues it. */
  async ingestFromStream(
    source: IngestSource,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<IngestionReceipt> {
    this.assertOpen();
    const validated = validateProps(props);
    return this.ingestData(streamSource(source, validated.format), validated, call, props);
  }

  /** Streams a local file (never into memory) and queues it; `.gz` and `.zip` files go up as they are. */
  async ingestFromFile(
    path: string,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<IngestionReceipt> {
    this.assertOpen();
    return this.ingestData(await fileSource(path), validateProps(props), call, props);
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
    return this.ingestData(recordsSource(records), validated, call, props);
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
    if (typeof receiptOrSourceId !== 'string') {
      const receipt = receiptOrSourceId;
      if (receipt.operation !== undefined) {
        const statuses = await this.getOperationStatuses(receipt.operation, call);
        return statuses.get(receipt.sourceId) ?? { sourceId: receipt.sourceId, status: 'Pending' };
      }
      if (receipt.parts?.some((p) => p.operation !== undefined)) {
        const parts: IngestionStatus[] = [];
        for (const part of receipt.parts) parts.push(await this.getIngestionStatus(part, call));
        return combinePartStatuses(receipt.sourceId, parts);
      }
    }
    return this.status.getIngestionStatus(receiptOrSourceId, call);
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
    return this.status.receiveStatusReports(options, signal);
  }

  /** Stops new calls; calls under way finish. */
  close(): void {
    this.closed = true;
  }

  /** How many times resources were fetched; for diagnostics and tests. */
  get resourceFetchCount(): number {
    return this.resources.fetchCount;
  }

  /**
   * How this client has announced sources and read their statuses: v1 queue messages sent, v2 submissions
   * posted, statuses read (v2 operations and v1 status rows), configuration reads, and the storage requests
   * of uploads and announcements (Put Blob and Block, Put Message, Insert Or Replace Entity), each attempt.
   * Counted by the client, so that counting needs no pipeline policy (which would take requests off the lean
   * path). For diagnostics, benchmarks and tests.
   */
  get announcements(): {
    readonly messages: number;
    readonly posts: number;
    readonly statusReads: number;
    readonly configurationReads: number;
    readonly storageRequests: number;
  } {
    return {
      messages: this.queue.sent,
      posts: this.rest.posts,
      statusReads: this.rest.statusReads + this.status.statusRowReads,
      configurationReads: this.configuration.reads,
      storageRequests: this.storage.hotPathRequests,
    };
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
    original: IngestionProps,
  ): Promise<IngestionReceipt> {
    const sourceId = props.sourceId ?? newUuid();
    const choice = await this.protocolFor(original, call.abortSignal, call.reportingOnV1Only);
    const staged = await this.staging.stage(source, props, sourceId, true, call, this.stagingTarget(choice));
    const [only] = staged;
    if (staged.length === 1 && only && only.part === undefined)
      return this.announce({ ...only, props, retain: false }, call, choice);
    // Every part is uploaded before any is queued: a failed upload leaves nothing half ingested.
    const parts: IngestionReceipt[] = [];
    for (const blob of staged) {
      // The first record of the input (a header to skip) is in part 0 only.
      const partProps = blob.part === 0 ? props : { ...props, ignoreFirstRecord: false };
      try {
        parts.push(await this.announce({ ...blob, props: partProps, retain: false }, call, choice));
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
    // Staged where the protocol it will most likely be announced by uploads: v2 needs neither the DM's
    // resources nor its identity token. Announced later by the other protocol, it is still read by its SAS.
    const choice = await this.protocolFor(props, call.abortSignal, call.reportingOnV1Only);
    // Never split: the caller records one blob per source.
    const [staged] = await this.staging.stage(
      streamSource(source, validated.format),
      validated,
      sourceId,
      false,
      call,
      this.stagingTarget(choice),
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
    const choice = await this.protocolFor(props, call.abortSignal, call.reportingOnV1Only);
    // Staged in v1's temp containers or v2's: the service reads it by its SAS on either protocol.
    const signed = await this.staging.signedUrl(uploaded, this.stagedIn(choice), call.abortSignal);
    if (!signed) {
      throw new IngestResourceError(
        `The temp container of '${uploaded.blobPath}' is no longer handed out by the Data Management service: upload the data again.`,
      );
    }
    return this.announce(
      {
        sourceId: uploaded.sourceId,
        blobUrl: signed.url,
        rawDataSize: uploaded.rawDataSize,
        props: validated,
        retain: false,
      },
      call,
      choice,
    );
  }

  /**
   * Whether a blob staged by `uploadToTempStorage` is still in temp storage: the service cleans temp
   * storage up, so an old staged blob may be gone (then the data must be sent again).
   */
  async uploadedExists(uploaded: UploadedSource, call: IngestCallOptions = {}): Promise<boolean> {
    this.assertOpen();
    const choice = await this.protocolFor(undefined, call.abortSignal);
    return this.staging.exists(uploaded, this.stagedIn(choice), call);
  }

  /**
   * Where a staged blob may be, the protocol in use's containers first: the other's are asked only when
   * those do not hold it (it was staged before the protocol changed), so v2 alone never needs v1's.
   */
  private stagedIn(choice: ProtocolChoice): ContainerList[] {
    const v1: ContainerList = async (signal) => (await this.resources.getResources(signal)).containers;
    const v2: ContainerList = async (signal) => (await this.configuration.get(signal))?.containers ?? [];
    return choice.protocol === 'v1' ? [v1, v2] : [v2, v1];
  }
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
