import { IngestResourceError } from '../errors';
import { redactUrl, type Logger } from '../log';
import type { KustoTable } from '../kusto/v1Response';
import { parseStorageResourceUrl, type StorageResource } from './storageUrl';

/** What `.get ingestion resources` hands out (docs/protocol.md, 'Management commands'). */
export interface IngestionResources {
  readonly queues: readonly StorageResource[];
  readonly containers: readonly StorageResource[];
  readonly statusTables: readonly StorageResource[];
  readonly successQueues: readonly StorageResource[];
  readonly failureQueues: readonly StorageResource[];
}

const KINDS: Readonly<Record<string, keyof IngestionResources>> = {
  SecuredReadyForAggregationQueue: 'queues',
  TempStorage: 'containers',
  IngestionsStatusTable: 'statusTables',
  SuccessfulIngestionsQueue: 'successQueues',
  FailedIngestionsQueue: 'failureQueues',
};

/**
 * Reads the `ResourceTypeName` / `StorageRoot` rows. Unknown resource types are ignored, as every SDK does;
 * malformed URLs are skipped with a warning; missing queues or containers are an `IngestResourceError`.
 */
export function parseIngestionResources(table: KustoTable | undefined, logger: Logger): IngestionResources {
  const typeIndex = table?.columns.indexOf('ResourceTypeName') ?? -1;
  const rootIndex = table?.columns.indexOf('StorageRoot') ?? -1;
  if (!table || typeIndex < 0 || rootIndex < 0) {
    throw new IngestResourceError(
      "'.get ingestion resources' returned no ResourceTypeName/StorageRoot table: is the URL the cluster's ingestion (ingest-) endpoint?",
    );
  }
  const found: Record<keyof IngestionResources, StorageResource[]> = {
    queues: [],
    containers: [],
    statusTables: [],
    successQueues: [],
    failureQueues: [],
  };
  for (const row of table.rows) {
    const type = row[typeIndex];
    const root = row[rootIndex];
    if (typeof type !== 'string' || typeof root !== 'string') continue;
    const kind = KINDS[type];
    if (!kind) continue;
    try {
      found[kind].push(parseStorageResourceUrl(root));
    } catch (e) {
      logger.warn(`Ignoring ${type} resource ${redactUrl(root)}: ${(e as Error).message}`);
    }
  }
  const missing = (['queues', 'containers'] as const).filter((k) => found[k].length === 0);
  if (missing.length > 0) {
    throw new IngestResourceError(
      `The Data Management service handed out no ${missing.map((k) => (k === 'queues' ? 'ingestion queue' : 'temp storage container')).join(' and no ')}; ` +
        'queued ingestion cannot proceed. Check that the endpoint is the ingest- endpoint and the principal has the Ingestor role.',
    );
  }
  return found;
}
