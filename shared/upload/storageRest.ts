import { hash, randomUUID } from 'node:crypto';
import {
  createHttpHeaders,
  createPipelineRequest,
  type Pipeline,
  type PipelinePolicy,
} from '@azure/core-rest-pipeline';
import { isNotFound } from '../errors';
import { clientVersionHeader } from '../kusto/clientDetails';
import type { StorageResource } from '../resources/storageUrl';
import { failedAsError, LeanHttpClient, leanPipeline, sendLean, type LeanResponse } from './leanHttpClient';

export { IDLE_SOCKET_TIMEOUT_MS } from './leanHttpClient';

/**
 * The five storage calls of the ingestion hot path (Put Blob, Put Block, Put Block List, Put Message and
 * Insert Or Replace Entity), one lean request each (`sendLean`), through a pipeline only when it has work
 * (`leanPipeline`). The storage SDKs build a client per blob and run a dozen policies, XML (de)serializers
 * and tracing spans per request: for small files that cost more CPU than the storage service spent
 * answering (bench/README.md, scenario 1). Reads and listings stay on the SDKs; the app's own tables have
 * `TableRest`. The DM's resources carry SAS tokens, so there is no signing here; retries and failover are
 * the caller's.
 */

const API_VERSION = '2024-11-04';

export interface StorageRestOptions {
  /** Extra pipeline policies (fault injection in tests, custom telemetry). */
  readonly policies?: readonly PipelinePolicy[];
  /** Per-request timeout. @default 120_000 */
  readonly requestTimeoutInMs?: number | undefined;
}

export interface CallOptions {
  readonly abortSignal?: AbortSignal | undefined;
}

/** One blob in a temp container. */
export interface TempBlob {
  /** With the container's SAS. */
  readonly url: string;
  upload(body: Buffer, options?: CallOptions): Promise<void>;
  stageBlock(blockId: string, body: Buffer, options?: CallOptions): Promise<void>;
  commitBlockList(blockIds: readonly string[], options?: CallOptions): Promise<void>;
}

export type EntityValue = string | number | boolean | Date;

const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A Put Message request's body: the text as it is, escaped for XML. */
export const putMessageBody = (text: string): string =>
  `<QueueMessage><MessageText>${xmlEscape(text)}</MessageText></QueueMessage>`;

function withQuery(url: string, query: string): string {
  if (query === '') return url;
  return url.includes('?') ? `${url}&${query}` : `${url}?${query}`;
}

/** OData JSON for Insert Or Replace: typed where JSON alone would lose the type. */
export function entityJson(entity: Readonly<Record<string, EntityValue>>): string {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(entity)) {
    if (value instanceof Date) {
      out[key] = value.toISOString();
      out[`${key}@odata.type`] = 'Edm.DateTime';
    } else if (typeof value === 'number' && !(Number.isInteger(value) && Math.abs(value) < 2 ** 31)) {
      out[key] = value;
      out[`${key}@odata.type`] = 'Edm.Double';
    } else {
      out[key] = value;
    }
  }
  return JSON.stringify(out);
}

/** A key as an OData literal in an entity's path: quoted, quotes doubled, then URL-encoded. */
export const keyLiteral = (key: string): string => encodeURIComponent(`'${key.replace(/'/g, "''")}'`);

/**
 * Content-MD5 of a body: storage checks it and refuses a body changed in transit. (Without it, the service
 * computes a CRC-64 of each block instead, which Azurite does in JavaScript at a third of MD5's speed.)
 */
function md5(body: Buffer): string {
  return hash('md5', body, 'base64');
}

export class StorageRest {
  /** Undefined when no policy has anything to do (no proxy, none given): requests then go straight out. */
  private readonly pipeline: Pipeline | undefined;
  private readonly httpClient = new LeanHttpClient();
  private readonly timeout: number;
  private readonly userAgent = `kusto-ingest-functions/${clientVersionHeader()}`;
  private sent = 0;

  constructor(options: StorageRestOptions = {}) {
    this.pipeline = leanPipeline(options.policies);
    this.timeout = options.requestTimeoutInMs ?? 120_000;
  }

  /** Requests sent (each attempt), for diagnostics and benchmarks: counting here keeps the lean path lean. */
  get requests(): number {
    return this.sent;
  }

  tempBlob(container: StorageResource, blobName: string): TempBlob {
    const path = `${container.accountUrl}/${encodeURIComponent(container.name)}/${encodeURIComponent(blobName)}`;
    const url = container.sas ? `${path}?${container.sas}` : path;
    return {
      url,
      upload: async (body, o) => {
        await this.send('PUT', url, { 'x-ms-blob-type': 'BlockBlob', 'content-md5': md5(body) }, body, o);
      },
      stageBlock: async (blockId, body, o) => {
        await this.send(
          'PUT',
          withQuery(url, `comp=block&blockid=${encodeURIComponent(blockId)}`),
          { 'content-md5': md5(body) },
          body,
          o,
        );
      },
      commitBlockList: async (ids, o) => {
        const list = ids.map((id) => `<Latest>${xmlEscape(id)}</Latest>`).join('');
        const body = `<?xml version="1.0" encoding="utf-8"?><BlockList>${list}</BlockList>`;
        await this.send(
          'PUT',
          withQuery(url, 'comp=blocklist'),
          { 'content-type': 'application/xml' },
          body,
          o,
        );
      },
    };
  }

  /** Get Blob Properties by a signed URL: whether the blob is there (a staged blob may have been cleaned up). */
  async blobExists(signedUrl: string, options?: CallOptions): Promise<boolean> {
    try {
      await this.send('HEAD', signedUrl, {}, '', options);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Put Message; the text goes as it is (the ingestion message is base64 already). */
  async putMessage(queue: StorageResource, text: string, options?: CallOptions): Promise<void> {
    const path = `${queue.accountUrl}/${encodeURIComponent(queue.name)}/messages`;
    await this.send(
      'POST',
      queue.sas ? `${path}?${queue.sas}` : path,
      { 'content-type': 'application/xml' },
      putMessageBody(text),
      options,
    );
  }

  /** Insert Or Replace Entity: a retry after a lost response is harmless. */
  async upsertEntity(
    table: StorageResource,
    partitionKey: string,
    rowKey: string,
    properties: Readonly<Record<string, EntityValue>>,
    options?: CallOptions,
  ): Promise<void> {
    const path = `${table.accountUrl}/${encodeURIComponent(table.name)}(PartitionKey=${keyLiteral(partitionKey)},RowKey=${keyLiteral(rowKey)})`;
    const body = entityJson({ ...properties, PartitionKey: partitionKey, RowKey: rowKey });
    await this.send(
      'PUT',
      table.sas ? `${path}?${table.sas}` : path,
      {
        'content-type': 'application/json',
        accept: 'application/json;odata=nometadata',
        dataserviceversion: '3.0',
      },
      body,
      options,
    );
  }

  private async send(
    method: 'PUT' | 'POST' | 'HEAD',
    url: string,
    headers: Record<string, string>,
    body: Buffer | string,
    options: CallOptions | undefined,
  ): Promise<LeanResponse> {
    this.sent += 1;
    const requestId = randomUUID();
    const all: Record<string, string> = {
      ...headers,
      'x-ms-version': API_VERSION,
      'x-ms-client-request-id': requestId,
      'user-agent': this.userAgent,
    };
    if (method !== 'HEAD') all['content-length'] = String(Buffer.byteLength(body));
    const sent = method !== 'HEAD' ? body : undefined;
    const abortSignal = options?.abortSignal;
    const response: LeanResponse = this.pipeline
      ? await this.pipeline.sendRequest(
          this.httpClient,
          createPipelineRequest({
            url,
            method,
            body: sent,
            timeout: this.timeout,
            abortSignal,
            requestId,
            allowInsecureConnection: url.startsWith('http:'),
            headers: createHttpHeaders(all),
          }),
        )
      : await sendLean({
          method,
          url,
          headers: all,
          body: sent,
          timeout: this.timeout,
          abortSignal,
        });
    return failedAsError(response, method, url);
  }
}
