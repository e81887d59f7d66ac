import { AzureSASCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { TableClient } from '@azure/data-tables';
import { AnonymousCredential, ContainerClient, newPipeline as newBlobPipeline } from '@azure/storage-blob';
import { QueueClient, newPipeline as newQueuePipeline } from '@azure/storage-queue';
import type { StorageResource } from '../resources/storageUrl';

export interface StorageClientsOptions {
  /** Extra pipeline policies for one account's clients (fault injection in tests, custom telemetry). */
  readonly policiesFor?: ((accountName: string) => PipelinePolicy[]) | undefined;
  /** Per-request timeout. @default 120_000 */
  readonly requestTimeoutInMs?: number | undefined;
}

/**
 * Builds the storage SDK clients for DM resource URLs once and reuses them: a client per URL keeps its
 * pipeline and connections warm. Retries are ours (failover across accounts, bounded and jittered), so the
 * SDK's own retry is set to a single try.
 */
export class StorageClients {
  private readonly containers = new Map<string, ContainerClient>();
  private readonly queues = new Map<string, QueueClient>();
  private readonly tables = new Map<string, TableClient>();
  private readonly options: StorageClientsOptions;

  constructor(options: StorageClientsOptions = {}) {
    this.options = options;
  }

  container(resource: StorageResource): ContainerClient {
    return cached(
      this.containers,
      resource.url,
      () =>
        new ContainerClient(
          resource.url,
          newBlobPipeline(new AnonymousCredential(), this.pipelineOptions(resource)),
        ),
    );
  }

  queue(resource: StorageResource): QueueClient {
    return cached(
      this.queues,
      resource.url,
      () =>
        new QueueClient(
          resource.url,
          newQueuePipeline(new AnonymousCredential(), this.pipelineOptions(resource)),
        ),
    );
  }

  table(resource: StorageResource): TableClient {
    return cached(this.tables, resource.url, () => {
      const policies = this.options.policiesFor?.(resource.accountName) ?? [];
      const options = {
        allowInsecureConnection: resource.accountUrl.startsWith('http:'),
        retryOptions: { maxRetries: 0 },
        additionalPolicies: policies.map((policy) => ({ policy, position: 'perRetry' as const })),
      };
      return resource.sas
        ? new TableClient(resource.accountUrl, resource.name, new AzureSASCredential(resource.sas), options)
        : new TableClient(resource.accountUrl, resource.name, options);
    });
  }

  /** Forgets clients of resources that the DM no longer hands out. */
  retain(urls: ReadonlySet<string>): void {
    for (const map of [this.containers, this.queues, this.tables] as Map<string, unknown>[]) {
      for (const key of map.keys()) if (!urls.has(key)) map.delete(key);
    }
  }

  // The options both storage SDKs understand (their own types differ in fields we do not set).
  private pipelineOptions(resource: StorageResource) {
    const policies = this.options.policiesFor?.(resource.accountName) ?? [];
    // `additionalPolicies` is passed through to the core client pipeline, which the storage SDKs build from
    // these options; it is the supported way to add policies, though StoragePipelineOptions does not list it.
    const options: {
      retryOptions: { maxTries: number; tryTimeoutInMs: number };
      keepAliveOptions: { enable: boolean };
      additionalPolicies?: { policy: PipelinePolicy; position: 'perRetry' }[];
    } = {
      retryOptions: { maxTries: 1, tryTimeoutInMs: this.options.requestTimeoutInMs ?? 120_000 },
      keepAliveOptions: { enable: true },
    };
    if (policies.length > 0)
      options.additionalPolicies = policies.map((policy) => ({ policy, position: 'perRetry' }));
    return options;
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
