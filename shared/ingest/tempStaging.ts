import { classify, isIngestAuthError } from '../errors';
import { stripQuery, type Logger } from '../log';
import type { ResourceManager } from '../resources/resourceManager';
import type { StorageResource } from '../resources/storageUrl';
import type { RetryOptions } from '../retry';
import { DEFAULT_BLOCK_SIZE, uploadBlocks, uploadWhole, type UploadTarget } from '../upload/blockUpload';
import { ByteCounter, gzipBuffer, single } from '../upload/compression';
import { parallelGzip, type ParallelGzipOptions } from '../upload/parallelGzip';
import { splitAtRecords, type RecordBoundary } from '../upload/recordSplitter';
import type { StorageClients } from '../upload/storageClients';
import type { DataSource } from './dataSource';
import type { IngestionQueue } from './ingestionQueue';
import type { ValidatedProps } from './ingestionProps';
import type { BuiltMessage, IngestCallOptions, StagedBlob, UploadedSource } from './queuedTypes';
import { partSourceId } from './splitParts';
import { planUpload, type UploadPlan } from './uploadPlan';

const MAX_REPLAYS = 2;
const DEFAULT_SPLIT_THRESHOLD = 1024 ** 3;

export interface TempStagingOptions {
  readonly resources: ResourceManager;
  readonly storage: StorageClients;
  readonly retry: RetryOptions;
  readonly logger: Logger;
  /** Builds the message a preflight checks before anything is uploaded. */
  readonly queue: IngestionQueue;
  readonly compressionLevel: number;
  /** The client's options of the same names (QueuedIngestClientOptions). */
  readonly uploadConcurrency?: number | undefined;
  readonly blockSizeInBytes?: number | undefined;
  readonly compressionConcurrency?: number | undefined;
  readonly splitThresholdInBytes?: number | undefined;
}

/** Containers a staged blob may be in (the DM's temp containers, or the REST configuration's). */
export type ContainerList = (signal: AbortSignal | undefined) => Promise<readonly StorageResource[]>;

/** Where a staged input goes, and how it will be announced. */
export interface StagingTarget {
  /** The containers to upload to, best first. */
  readonly containers: ContainerList;
  /** Whether the queue message (v1) is built and checked before anything is uploaded. */
  readonly preflight: boolean;
  /**
   * Storage refused the upload (403: the containers' SAS expired early): forget the containers, and say
   * whether a replayable input should start over on fresh ones. @default never
   */
  readonly refreshAfterDenied?: () => boolean;
}

/**
 * The first step of queued ingestion: the input streamed into the Data Management service's temp storage,
 * gzipped on the way unless it is binary or compressed already, in blocks, failing over between containers;
 * cut at record boundaries into parts when large. Also finds a staged blob again (to queue it later, or to
 * tell whether the service cleaned it up).
 */
export class TempStaging {
  private readonly options: TempStagingOptions;
  private readonly resources: ResourceManager;
  private readonly storage: StorageClients;
  private readonly retry: RetryOptions;
  private readonly logger: Logger;
  private readonly queue: IngestionQueue;
  private readonly compressionLevel: number;

  constructor(options: TempStagingOptions) {
    this.options = options;
    this.resources = options.resources;
    this.storage = options.storage;
    this.retry = options.retry;
    this.logger = options.logger;
    this.queue = options.queue;
    this.compressionLevel = options.compressionLevel;
  }

  /** Uploads to temp storage, starting a replayable source over on the next container after a failure. */
  async stage(
    source: DataSource,
    props: ValidatedProps,
    sourceId: string,
    allowSplit: boolean,
    call: IngestCallOptions,
    target: StagingTarget = this.v1Target(),
  ): Promise<StagedBlob[]> {
    const signal = call.abortSignal;
    // Resources and the identity token are fetched while the input starts to flow (a v1 message needs both).
    const ready = target.preflight
      ? Promise.all([this.resources.getAuthorizationContext(signal), this.resources.getResources(signal)])
      : Promise.resolve();
    ready.catch(() => undefined);

    for (let replay = 0; ; replay++) {
      try {
        return await this.upload(source, props, sourceId, allowSplit, ready, signal, target);
      } catch (e) {
        const error = classify(e);
        const refreshed = isIngestAuthError(error) && (target.refreshAfterDenied?.() ?? false);
        if (!source.replayable || !(error.transient || refreshed) || replay >= MAX_REPLAYS || signal?.aborted)
          throw error;
        this.logger.warn(
          `Upload of ${source.name} failed (${error.message}); starting over on the next container`,
        );
      }
    }
  }

  /** The Data Management service's temp containers (`.get ingestion resources`), for a v1 message. */
  v1Target(): StagingTarget {
    return { containers: (signal) => this.resources.rankedContainers(signal), preflight: true };
  }

  /**
   * A staged blob's URL signed with its container's current SAS (an old record still works after the DM
   * rotated its keys), or undefined when the service no longer hands that container out. The lists are
   * asked in order, the next only when none before holds the blob's container.
   */
  async signedUrl(
    uploaded: UploadedSource,
    lists: readonly ContainerList[],
    signal: AbortSignal | undefined,
  ): Promise<{ container: StorageResource; url: string } | undefined> {
    for (const list of lists) {
      const container = (await list(signal)).find((c) =>
        uploaded.blobPath.startsWith(`${stripQuery(c.url).replace(/\/+$/, '')}/`),
      );
      if (container)
        return {
          container,
          url: container.sas ? `${uploaded.blobPath}?${container.sas}` : uploaded.blobPath,
        };
    }
    return undefined;
  }

  /** Whether a staged blob is still in temp storage (the service cleans temp storage up). */
  async exists(
    uploaded: UploadedSource,
    lists: readonly ContainerList[],
    call: IngestCallOptions,
  ): Promise<boolean> {
    const signed = await this.signedUrl(uploaded, lists, call.abortSignal);
    if (!signed) return false;
    return this.storage.blobExists(signed.container, signed.url, { abortSignal: call.abortSignal });
  }

  private async upload(
    source: DataSource,
    props: ValidatedProps,
    sourceId: string,
    allowSplit: boolean,
    ready: Promise<unknown>,
    signal: AbortSignal | undefined,
    target: StagingTarget,
  ): Promise<StagedBlob[]> {
    const splitThresholdInBytes = this.options.splitThresholdInBytes ?? DEFAULT_SPLIT_THRESHOLD;
    const plan = await planUpload(source, props, { sourceId, allowSplit, splitThresholdInBytes });
    let candidates: readonly StorageResource[];
    let knownRawSize: number | undefined;
    let preflight: { blobUrl: string; built: BuiltMessage } | undefined;
    try {
      await ready;
      candidates = await target.containers(signal);
      // A small input's size is known now: the preflight then builds the very message to send.
      knownRawSize = plan.whole && plan.detected === 'none' ? plan.whole.length : undefined;
      if (target.preflight)
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
    return { blobUrl, built: await this.queue.buildMessage(sample, signal) };
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
}
