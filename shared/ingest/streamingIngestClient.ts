import { createReadStream } from 'node:fs';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { TokenCredential } from '@azure/core-auth';
import { classify, IngestServiceError, IngestValidationError, type IngestError } from '../errors';
import { KustoRestClient } from '../kusto/kustoRestClient';
import { silentLogger, type Logger } from '../log';
import { withRetry, type RetryOptions } from '../retry';
import { sniffCompression, toBuffers } from '../upload/compression';
import { readPrefix } from '../upload/readPrefix';
import { newUuid } from '../uuid';
import { validateProps, type ValidatedProps } from './ingestionProps';
import type { IngestCallOptions, IngestSource } from './queuedIngestClient';
import type { IngestionProps, IngestionReceipt } from './types';

const gzip = promisify(gzipCallback);

/** The service's streaming limit: 4 MiB of raw data per request. */
export const STREAMING_LIMIT_BYTES = 4 * 1024 * 1024;

export interface StreamingIngestClientOptions {
  /** The engine endpoint (https://<cluster>..., no ingest- prefix). */
  readonly engineUri: string;
  readonly credential?: TokenCredential;
  readonly applicationName?: string;
  /** Retries of transient failures (throttling, 5xx, network). @default 3 attempts, 500 ms base */
  readonly retry?: RetryOptions;
  readonly logger?: Logger;
}

/** Why a source cannot be streamed, or undefined when it can. */
export function streamingObstacle(props: ValidatedProps): string | undefined {
  if (props.mapping) return 'an inline mapping (create it on the table and pass mappingReference)';
  if (props.tags.length > 0 || props.ingestByTags.length > 0 || props.dropByTags.length > 0) return 'tags';
  if (props.ingestIfNotExists) return 'ingestIfNotExists';
  if (props.ignoreFirstRecord) return 'ignoreFirstRecord';
  if (props.creationTime) return 'creationTime';
  return undefined;
}

/** Whether the service said streaming ingestion is off (for the cluster, or by policy for the table). */
export function isStreamingDisabled(error: IngestError): boolean {
  return error.code === 'StreamingDisabled';
}

/**
 * Streaming ingestion: small payloads go straight to the engine and are queryable when the call returns.
 * At most 4 MiB of raw data, checked before anything is sent.
 */
export class StreamingIngestClient {
  readonly engineUri: string;
  private readonly rest: KustoRestClient;
  private readonly options: StreamingIngestClientOptions;
  private readonly logger: Logger;

  constructor(options: StreamingIngestClientOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.rest = new KustoRestClient({
      baseUrl: options.engineUri,
      credential: options.credential,
      applicationName: options.applicationName,
      logger: this.logger,
    });
    this.engineUri = this.rest.baseUrl;
  }

  async ingestFromStream(
    source: IngestSource,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<IngestionReceipt> {
    const validated = validateProps(props);
    const prefix = await readPrefix(toBuffers(source), STREAMING_LIMIT_BYTES);
    if (!prefix.complete) {
      throw new IngestValidationError(
        `The input is over the streaming limit of ${STREAMING_LIMIT_BYTES} bytes: use queued ingestion, or the managed streaming client, which falls back to it.`,
        'TooLarge',
      );
    }
    return this.ingestBuffer(prefix.head, validated, call);
  }

  async ingestFromFile(
    path: string,
    props: IngestionProps,
    call: IngestCallOptions = {},
  ): Promise<IngestionReceipt> {
    return this.ingestFromStream(createReadStream(path), props, call);
  }

  /** Sends a payload already known to fit (the managed client's path). */
  async ingestBuffer(
    data: Buffer,
    props: ValidatedProps,
    call: IngestCallOptions = {},
  ): Promise<IngestionReceipt> {
    if (data.length === 0)
      throw new IngestValidationError('The input is empty: there is nothing to ingest.', 'EmptyInput');
    const obstacle = streamingObstacle(props);
    if (obstacle) {
      throw new IngestValidationError(
        `Streaming ingestion does not support ${obstacle}: use queued ingestion.`,
        'InvalidProperty',
      );
    }
    const sourceId = props.sourceId ?? newUuid();
    // Already gzip (a .gz payload): send it as it is; otherwise gzip it for the wire.
    const body = sniffCompression(data) === 'gzip' ? data : await gzip(data, { level: 3 });
    await withRetry(
      async (_, signal) => {
        try {
          await this.rest.streamingIngest(
            props.database,
            props.table,
            body,
            { streamFormat: props.format, mappingName: props.mappingReference },
            signal,
          );
        } catch (e) {
          throw explainStreamingFailure(classify(e), props, this.engineUri);
        }
      },
      {
        ...this.options.retry,
        abortSignal: call.abortSignal,
        shouldRetry: (e) => e.transient,
        onRetry: (e, attempt, delay) =>
          this.logger.warn(
            `Streaming ingestion failed (attempt ${attempt}), retrying in ${delay} ms: ${e.message}`,
          ),
      },
    );
    return {
      sourceId,
      database: props.database,
      table: props.table,
      flavor: 'streaming',
      status: 'Succeeded',
    };
  }
}

/** Turns the two "streaming is off" answers into one clear error that says how to turn it on. */
function explainStreamingFailure(error: IngestError, props: ValidatedProps, engineUri: string): IngestError {
  const service = `${error.serviceCode ?? ''} ${error.message}`;
  const clusterOff = error.code === 'NotFound' && /streaming/i.test(service);
  const policyOff = /StreamingIngestionPolicy|streaming ingestion policy/i.test(service);
  if (!clusterOff && !policyOff) return error;
  const how = clusterOff
    ? `Streaming ingestion is not enabled on the cluster ${engineUri}: enable it on the cluster (Azure portal: Configurations > Streaming ingestion; Bicep: enableStreamingIngest), then run .alter table ${props.table} policy streamingingestion enable (or on the database).`
    : `Table '${props.table}' in '${props.database}' has no streaming ingestion policy: run .alter table ${props.table} policy streamingingestion enable (or .alter database ${props.database} policy streamingingestion enable).`;
  return new IngestServiceError(
    how,
    'StreamingDisabled',
    error instanceof IngestServiceError ? error.statusCode : undefined,
    {
      cause: error,
      serviceCode: error.serviceCode,
    },
  );
}
