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

/** How a payload that does not stream is queued instead: the queued client, or a caller's tracked path. */
export type QueuedFallback = (
  source: AsyncIterable<Buffer>,
  props: IngestionProps,
  reason: string,
) => Promise<IngestionReceipt>;

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

export interface ManagedCallOptions extends IngestCallOptions {
  /** Queue a payload that does not stream this way instead of with the queued client. */
  readonly fallback?: QueuedFallback;
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
    call: ManagedCallOptions = {},
  ): Promise<IngestionReceipt> {
    const validated = validateProps(props);
    const queue: QueuedFallback =
      call.fallback ??
      ((input, p) =>
        this.queued.ingestFromStream(input, p, call.abortSignal ? { abortSignal: call.abortSignal } : {}));
    const obstacle = streamingObstacle(validated);
    if (obstacle) return queue(toBuffers(source), props, `streaming does not support ${obstacle}`);

    const prefix = await readPrefix(toBuffers(source), STREAMING_LIMIT_BYTES);
    if (!prefix.complete)
      return queue(prefix.all(), props, `over the streaming limit of ${STREAMING_LIMIT_BYTES} bytes`);
    try {
      return await this.streaming.ingestBuffer(prefix.head, validated, call);
    } catch (e) {
      const error = classify(e);
      if (call.abortSignal?.aborted) throw e;
      if (isStreamingDisabled(error) || error.transient) {
        this.logger.warn(
          `Streaming ingestion into ${validated.database}.${validated.table} is not possible now (${error.message}); queueing instead`,
        );
        return queue(
          prefix.all(),
          props,
          isStreamingDisabled(error) ? 'streaming ingestion is disabled' : 'streaming kept failing',
        );
      }
      throw error; // permanent: queueing would only fail later, with less to go on
    }
  }

  /** A file over the limit is queued from disk (never read into memory); a small one is streamed. */
  async ingestFromFile(
    path: string,
    props: IngestionProps,
    call: ManagedCallOptions = {},
  ): Promise<IngestionReceipt> {
    const { size } = await stat(path);
    if (size > STREAMING_LIMIT_BYTES && !call.fallback) return this.queued.ingestFromFile(path, props, call);
    return this.ingestFromStream(createReadStream(path), props, call);
  }
}
