import { AzureSASCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { TableClient } from '@azure/data-tables';
import { AnonymousCredential, BlockBlobClient, newPipeline as newBlobPipeline } from '@azure/storage-blob';
import { QueueClient, newPipeline as newQueuePipeline } from '@azure/storage-queue';
import type { StorageResource } from '../resources/storageUrl';

export interface StorageClientsOptions {
  /** Extra pipeline policies for one account's clients (fault injection in tests, custom telemetry). */
  readonly policiesFor?: ((accountName: string) => PipelinePolicy[]) | undefined;
  /** Per-request timeout. @default 120_000 */
  readonly requestTimeoutInMs?: number | undefined;
}

type PolicyList = { policy: PipelinePolicy; position: 'perRetry' }[];

/**
 * Builds the storage SDK clients for DM resource URLs and reuses what can be reused: pipelines (so
 * connections stay warm) and queue and table clients. Retries are ours (failover across accounts, bounded
 * and jittered), so the SDK's own retry is set to a single try.
 */
export class StorageClients {
  private readonly queues = new Map<string, QueueClient>();
  private readonly tables = new Map<string, TableClient>();
  private readonly options: StorageClientsOptions;
  private readonly pipelinesByAccount = new Map<
    string,
    { blob: ReturnType<typeof newBlobPipeline>; queue: ReturnType<typeof newQueuePipeline> }
  >();

  constructor(options: StorageClientsOptions = {}) {
    this.options = options;
  }

  /** A client for one blob in a temp container (the container URL carries the SAS). */
  blockBlob(container: StorageResource, blobName: string): BlockBlobClient {
    const path = `${container.accountUrl}/${encodeURIComponent(container.name)}/${encodeURIComponent(blobName)}`;
    const url = container.sas ? `${path}?${container.sas}` : path;
    return new BlockBlobClient(url, this.pipelines(container).blob);
  }

  queue(resource: StorageResource): QueueClient {
    return cached(
      this.queues,
      resource.url,
      () => new QueueClient(resource.url, this.pipelines(resource).queue),
    );
  }

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

  private policies(resource: StorageResource): PolicyList {
    const policies = this.options.policiesFor?.(resource.accountName) ?? [];
    return policies.map((policy) => ({ policy, position: 'perRetry' }));
  }

  /** One pipeline per account: its policies are the account's, and its connections stay warm. */
  private pipelines(resource: StorageResource) {
    return cached(this.pipelinesByAccount, resource.accountName, () => {
      const options = {
        retryOptions: { maxTries: 1, tryTimeoutInMs: this.options.requestTimeoutInMs ?? 120_000 },
        keepAliveOptions: { enable: true },
      };
      const policies = this.policies(resource);
      return {
        blob: newBlobPipeline(new AnonymousCredential(), withPoliciesOnce(options, policies)),
        queue: newQueuePipeline(new AnonymousCredential(), withPoliciesOnce(options, policies)),
      };
    });
  }
}

/**
 * The storage SDKs pass their options on to the core client, which adds `additionalPolicies` to the shared
 * pipeline every time a client or an inner context is built on it (a QueueClient builds two), and a policy
 * added twice is an error. So the policies are handed out on the first read only. StoragePipelineOptions
 * does not declare `additionalPolicies`, hence the wider type.
 */
function withPoliciesOnce<T extends object>(options: T, policies: PolicyList): T {
  const copy = { ...options };
  if (policies.length === 0) return copy;
  let handedOut = false;
  Object.defineProperty(copy, 'additionalPolicies', {
    enumerable: true,
    get: () => {
      if (handedOut) return [];
      handedOut = true;
      return policies;
    },
  });
  return copy;
}

function cached<T>(map: Map<string, T>, key: string, create: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
