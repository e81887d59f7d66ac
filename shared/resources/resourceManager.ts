import { abortable } from '../abort';
import { IngestResourceError, type IngestError } from '../errors';
import type { KustoRestClient } from '../kusto/kustoRestClient';
import { rowsAsObjects } from '../kusto/v1Response';
import { silentLogger, type Logger } from '../log';
import { withRetry, type RetryOptions } from '../retry';
import { AccountRanking, accountsOf, orderResources } from './accountRanking';
import { parseIngestionResources, type IngestionResources } from './ingestionResources';
import type { StorageResource } from './storageUrl';

export interface ResourceManagerOptions {
  /** Runs the management commands against the DM endpoint. */
  readonly client: Pick<KustoRestClient, 'executeMgmt'>;
  /** @default 3_600_000 */
  readonly refreshIntervalInMs?: number;
  /**
   * After a storage failure, the resources are fetched again at the next use once they are this old, rather
   * than after the full interval: a failure often means a rotated key or an expired SAS. @default 10_000
   */
  readonly refreshAfterFailureInMs?: number;
  /** Retries of the fetch itself (429 honours Retry-After). @default 4 attempts, 1 s base, 30 s max */
  readonly retry?: RetryOptions;
  readonly clock?: () => number;
  readonly random?: () => number;
  readonly logger?: Logger;
}

// The official SDKs ask NetDefaultDB for both commands.
const DM_DATABASE = 'NetDefaultDB';

interface Cached<T> {
  readonly value: T;
  readonly fetchedAt: number;
}

/**
 * The DM's resources and identity token, cached and fetched at most once at a time however many callers
 * ask. Also keeps the account ranking that orders queues and containers for each use.
 */
export class ResourceManager {
  private readonly options: ResourceManagerOptions;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly ranking: AccountRanking;
  private readonly refreshIntervalInMs: number;
  private readonly refreshAfterFailureInMs: number;
  private resources: Cached<IngestionResources> | undefined;
  private token: Cached<string> | undefined;
  private resourcesInFlight: Promise<IngestionResources> | undefined;
  private tokenInFlight: Promise<string> | undefined;
  private failedSince: number | undefined;
  private rotation = 0;
  /** How many times the resources were fetched from the service; for tests and diagnostics. */
  fetchCount = 0;

  constructor(options: ResourceManagerOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.refreshIntervalInMs = options.refreshIntervalInMs ?? 3_600_000;
    this.refreshAfterFailureInMs = options.refreshAfterFailureInMs ?? 10_000;
    if (!(this.refreshIntervalInMs > 0)) {
      throw new RangeError(`resourceRefreshIntervalInMs must be > 0, got ${this.refreshIntervalInMs}`);
    }
    this.ranking = new AccountRanking({
      clock: this.clock,
      ...(options.random ? { random: options.random } : {}),
    });
  }

  async getResources(signal?: AbortSignal): Promise<IngestionResources> {
    const cached = this.resources;
    if (cached && !this.isStale(cached.fetchedAt)) return cached.value;
    // Shared by every caller, so no single caller's signal may cancel it.
    this.resourcesInFlight ??= this.fetchResources().finally(() => {
      this.resourcesInFlight = undefined;
    });
    try {
      return await abortable(this.resourcesInFlight, signal);
    } catch (e) {
      if (signal?.aborted) throw e;
      // A stale set beats none: its SAS may still be valid. The next call tries the service again.
      if (cached) {
        this.logger.warn(
          `Refreshing ingestion resources failed; using the cached set: ${(e as Error).message}`,
        );
        return cached.value;
      }
      throw e;
    }
  }

  async getAuthorizationContext(signal?: AbortSignal): Promise<string> {
    const cached = this.token;
    if (cached && this.clock() - cached.fetchedAt < this.refreshIntervalInMs) return cached.value;
    this.tokenInFlight ??= this.fetchToken().finally(() => {
      this.tokenInFlight = undefined;
    });
    try {
      return await abortable(this.tokenInFlight, signal);
    } catch (e) {
      if (signal?.aborted) throw e;
      if (cached) {
        this.logger.warn(
          `Refreshing the Kusto identity token failed; using the cached one: ${(e as Error).message}`,
        );
        return cached.value;
      }
      throw e;
    }
  }

  /** Queues, best account first, accounts interleaved, rotating within each account. */
  async rankedQueues(signal?: AbortSignal): Promise<StorageResource[]> {
    return this.ranked((await this.getResources(signal)).queues);
  }

  async rankedContainers(signal?: AbortSignal): Promise<StorageResource[]> {
    return this.ranked((await this.getResources(signal)).containers);
  }

  /** Feeds the ranking; a failure also makes the next use refresh the resources early. */
  reportResult(resource: StorageResource, success: boolean, error?: IngestError): void {
    this.ranking.record(resource.accountName, success);
    if (!success) {
      this.failedSince ??= this.clock();
      this.logger.debug(
        `Storage account ${resource.accountName} failed: ${error?.message ?? 'unknown error'}`,
      );
    }
  }

  /** Any storage resources (the REST configuration's containers), in the order `rankedContainers` uses. */
  rank(resources: readonly StorageResource[]): StorageResource[] {
    return this.ranked(resources);
  }

  private ranked(resources: readonly StorageResource[]): StorageResource[] {
    const order = this.ranking.order(accountsOf(resources));
    return orderResources(resources, order, this.rotation++);
  }

  private isStale(fetchedAt: number): boolean {
    const age = this.clock() - fetchedAt;
    if (age >= this.refreshIntervalInMs) return true;
    return this.failedSince !== undefined && age >= this.refreshAfterFailureInMs;
  }

  private async fetchResources(): Promise<IngestionResources> {
    const tables = await this.command('.get ingestion resources');
    const resources = parseIngestionResources(tables[0], this.logger);
    this.fetchCount += 1;
    this.resources = { value: resources, fetchedAt: this.clock() };
    this.failedSince = undefined;
    this.logger.debug(
      `Fetched ingestion resources: ${resources.queues.length} queues, ${resources.containers.length} containers, ` +
        `${resources.statusTables.length} status tables`,
    );
    return resources;
  }

  private async fetchToken(): Promise<string> {
    const tables = await this.command('.get kusto identity token');
    const first = tables[0] ? rowsAsObjects(tables[0])[0] : undefined;
    const token = first?.AuthorizationContext;
    if (typeof token !== 'string' || token === '') {
      throw new IngestResourceError(
        "'.get kusto identity token' returned no AuthorizationContext: the ingestion endpoint may be wrong or the principal lacks the Ingestor role.",
      );
    }
    this.token = { value: token, fetchedAt: this.clock() };
    return token;
  }

  private command(csl: string) {
    return withRetry(() => this.options.client.executeMgmt(DM_DATABASE, csl), {
      maxAttempts: 4,
      baseDelayInMs: 1_000,
      maxDelayInMs: 30_000,
      ...this.options.retry,
      onRetry: (e, attempt, delay) =>
        this.logger.warn(`'${csl}' failed (attempt ${attempt}), retrying in ${delay} ms: ${e.message}`),
    });
  }
}
