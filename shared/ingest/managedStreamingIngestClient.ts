import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { TokenCredential } from '@azure/core-auth';
import { classify } from '../errors';
import { silentLogger, type Logger } from '../log';
import type { RetryOptions } from '../retry';
import { toBuffers } from '../upload/compression';
import { readPrefix } from '../upload/readPrefix';
import { getIngestClient } from './getIngestClient';
import { validateProps } from './ingestionProps';
import type { IngestCallOptions, IngestSource, QueuedIngestClient } from './queuedIngestClient';
import {
  isStreamingDisabled,
  STREAMING_LIMIT_BYTES,
  streamingObstacle,
  StreamingIngestClient,
} from './streamingIngestClient';
import type { IngestionProps, IngestionReceipt } from './types';

/** How a payload that does not stream is queued instead: the queued client, or a caller's own path. */
export type QueuedFallback<T = IngestionReceipt> = (
  source: AsyncIterable<Buffer>,
  props: IngestionProps,
  reason: string,
) => Promise<T>;

/** What became of a payload: streamed (queryable now), or handed to the fallback, with its result. */
export type StreamOutcome<T> =
  | { readonly streamed: true; readonly receipt: IngestionReceipt }
  | { readonly streamed: false; readonly reason: string; readonly result: T };

export interface ManagedStreamingIngestClientOptions {
  readonly engineUri: string;
  readonly ingestUri: string;
  readonly credential?: TokenCredential;
  readonly applicationName?: string;
  /** Streaming attempts before falling back, transient failures only. @default 3 attempts, 500 ms base */
  readonly retry?: RetryOptions;
  /** The queued client for the fallback. @default getIngestClient(ingestUri) */
  readonly queued?: QueuedIngestClient;
  readonly logger?: Logger;
}

/**
 * Streams payloads of at most 4 MiB (decided by reading at most 4 MiB + 1 byte: a larger input is never
 * held in memory) and queues the rest. Transient streaming failures are retried a bounded number of times,
 * then queued; permanent ones are not retried and not queued (they would fail there too). A cluster or
 * table without streaming ingestion is queued at once.
 */
export class ManagedStreamingIngestClient {
  private readonly streaming: StreamingIngestClient;
  private readonly queued: QueuedIngestClient;
  private readonly logger: Logger;

  constructor(options: ManagedStreamingIngestClientOptions) {
    this.logger = options.logger ?? silentLogger;
    this.streaming = new StreamingIngestClient({
      engineUri: options.engineUri,
      ...(options.credential && { credential: options.credential }),
      ...(options.applicationName !== undefined && { applicationName: options.applicationName }),
      ...(options.retry && { retry: options.retry }),
      logger: this.logger,
    });
    this.queued =
      options.queued ??
      getIngestClient(options.ingestUri, {
        ...(options.credential && { credential: options.credential }),
        ...(options.applicationName !== undefined && { applicationName: options.applicationName }),
        logger: this.logger,
      });
  }

  async ingestFromStream(
    source: IngestSource,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<IngestionReceipt> {
    const outcome = await this.tryStream(
      source,
      props,
      (input, p) =>
        this.queued.ingestFromStream(input, p, call.abortSignal ? { abortSignal: call.abortSignal } : {}),
      call,
    );
    return outcome.streamed ? outcome.receipt : outcome.result;
  }

  /**
   * Streams the payload if it can, else hands it (read from the start) to `fallback` and returns what that
   * gave: a caller with its own queued path (the app's tracking) learns which way it went from the result.
   * Permanent streaming failures are thrown, not handed on (queueing would only fail later).
   */
  async tryStream<T>(
    source: IngestSource,
    props: IngestionProps,
    fallback: QueuedFallback<T>,
    call: IngestCallOptions = {},
  ): Promise<StreamOutcome<T>> {
    const validated = validateProps(props);
    const queue = async (input: AsyncIterable<Buffer>, reason: string): Promise<StreamOutcome<T>> => ({
      streamed: false,
      reason,
      result: await fallback(input, props, reason),
    });
    const obstacle = streamingObstacle(validated);
    if (obstacle) return queue(toBuffers(source), `streaming does not support ${obstacle}`);

    const prefix = await readPrefix(toBuffers(source), STREAMING_LIMIT_BYTES);
    if (!prefix.complete)
      return queue(prefix.all(), `over the streaming limit of ${STREAMING_LIMIT_BYTES} bytes`);
    try {
      return { streamed: true, receipt: await this.streaming.ingestBuffer(prefix.head, validated, call) };
    } catch (e) {
      const error = classify(e);
      if (call.abortSignal?.aborted) throw e;
      if (!isStreamingDisabled(error) && !error.transient) throw error;
      this.logger.warn(
        `Streaming ingestion into ${validated.database}.${validated.table} is not possible now (${error.message}); queueing instead`,
      );
      return queue(
        prefix.all(),
        isStreamingDisabled(error) ? 'streaming ingestion is disabled' : 'streaming kept failing',
      );
    }
  }

  /** A file over the limit is queued from disk (never read into memory); a small one is streamed. */
  async ingestFromFile(
    path: string,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<IngestionReceipt> {
    const { size } = await stat(path);
    if (size > STREAMING_LIMIT_BYTES) return this.queued.ingestFromFile(path, props, call);
    return this.ingestFromStream(createReadStream(path), props, call);
  }
}
