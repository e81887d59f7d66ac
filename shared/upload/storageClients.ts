import { AzureSASCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import type { StorageResource } from '../resources/storageUrl';
import { StorageRest, type CallOptions, type EntityValue, type TempBlob } from './storageRest';

export interface StorageClientsOptions {
  /** Extra pipeline policies for one account's requests (fault injection in tests, custom telemetry). */
  readonly policiesFor?: ((accountName: string) => PipelinePolicy[]) | undefined;
  /** Per-request timeout. @default 120_000 */
  readonly requestTimeoutInMs?: number | undefined;
}

type PolicyList = { policy: PipelinePolicy; position: 'perRetry' }[];

/**
 * Storage access for DM resource URLs, one pipeline per account (its policies are the account's, and its
 * connections stay warm). The writes of the hot path go through `StorageRest`; reads through the SDK.
 * Retries are ours (failover across accounts, bounded and jittered), so the SDK's own retry is off.
 */
export class StorageClients {
  private readonly tables = new Map<string, TableClient>();
  private readonly queues = new Map<string, QueueClient>();
  private readonly rest = new Map<string, StorageRest>();
  private readonly options: StorageClientsOptions;

  constructor(options: StorageClientsOptions = {}) {
    this.options = options;
  }

  /** One blob in a temp container (the container URL carries the SAS). */
  tempBlob(container: StorageResource, blobName: string): TempBlob {
    return this.restFor(container).tempBlob(container, blobName);
  }

  /** Whether a blob in a temp container (`blobUrl` signed with its container's SAS) is there. */
  blobExists(container: StorageResource, signedUrl: string, options?: CallOptions): Promise<boolean> {
    return this.restFor(container).blobExists(signedUrl, options);
  }

  /** Requests sent by the hot path (`StorageRest`: Put Blob and Block, Put Message, Insert Or Replace Entity, Get Blob Properties). */
  get hotPathRequests(): number {
    let n = 0;
    for (const rest of this.rest.values()) n += rest.requests;
    return n;
  }

  sendMessage(queue: StorageResource, text: string, options?: CallOptions): Promise<void> {
    return this.restFor(queue).putMessage(queue, text, options);
  }

  upsertEntity(
    table: StorageResource,
    entity: { partitionKey: string; rowKey: string } & Record<string, EntityValue>,
    options?: CallOptions,
  ): Promise<void> {
    const { partitionKey, rowKey, ...properties } = entity;
    return this.restFor(table).upsertEntity(table, partitionKey, rowKey, properties, options);
  }

  /** An SDK table client, for reads. */
  table(resource: StorageResource): TableClient {
    return cached(this.tables, resource.url, () => {
      const options = {
        allowInsecureConnection: resource.accountUrl.startsWith('http:'),
        retryOptions: { maxRetries: 0 },
        additionalPolicies: this.policies(resource),
      };
      return resource.sas
        ? new TableClient(resource.accountUrl, resource.name, new AzureSASCredential(resource.sas), options)
        : new TableClient(resource.accountUrl, resource.name, options);
    });
  }

  /** An SDK queue client, for reading the status queues (the service's reports). */
  queue(resource: StorageResource): QueueClient {
    return cached(this.queues, resource.url, () => {
      const url = `${resource.accountUrl}/${encodeURIComponent(resource.name)}`;
      return new QueueClient(resource.sas ? `${url}?${resource.sas}` : url, undefined, {
        retryOptions: { maxTries: 1 },
      });
    });
  }

  private policies(resource: StorageResource): PolicyList {
    const policies = this.options.policiesFor?.(resource.accountName) ?? [];
    return policies.map((policy) => ({ policy, position: 'perRetry' }));
  }

  private restFor(resource: StorageResource): StorageRest {
    return cached(
      this.rest,
      resource.accountName,
      () =>
        new StorageRest({
          policies: this.options.policiesFor?.(resource.accountName) ?? [],
          requestTimeoutInMs: this.options.requestTimeoutInMs,
        }),
    );
  }
}

function cached<T>(map: Map<string, T>, key: string, create: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
