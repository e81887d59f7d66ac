import { AzureNamedKeyCredential } from '@azure/core-auth';
import { TableServiceClient, generateTableSas } from '@azure/data-tables';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from '@azure/storage-blob';
import {
  QueueSASPermissions,
  QueueServiceClient,
  StorageSharedKeyCredential as QueueKeyCredential,
  generateQueueSASQueryParameters,
} from '@azure/storage-queue';

export interface StandinAccount {
  readonly name: string;
  readonly key: string;
  readonly blobEndpoint: string;
  readonly queueEndpoint: string;
  readonly tableEndpoint: string;
}

/** The storage a DM hands out: names of its queues, containers and tables in each account. */
export interface ResourceLayout {
  readonly ingestionQueues: readonly string[];
  readonly tempContainers: readonly string[];
  readonly statusTable: string;
  readonly successQueue: string;
  readonly failureQueue: string;
}

export const DEFAULT_LAYOUT: ResourceLayout = {
  ingestionQueues: ['readyforaggregation-secured-0', 'readyforaggregation-secured-1'],
  tempContainers: ['tempstorage-0', 'tempstorage-1'],
  statusTable: 'ingestionsstatus',
  successQueue: 'successfulingestions',
  failureQueue: 'failedingestions',
};

export interface ResourceRow {
  readonly type: string;
  readonly url: string;
}

function isHttp(url: string): boolean {
  return url.startsWith('http:');
}

/** Creates every queue, container and table the DM will hand out (idempotent). */
export async function createResources(
  accounts: readonly StandinAccount[],
  layout: ResourceLayout,
): Promise<void> {
  await Promise.all(
    accounts.map(async (account, index) => {
      const blobCred = new StorageSharedKeyCredential(account.name, account.key);
      const queueCred = new QueueKeyCredential(account.name, account.key);
      const blobs = new BlobServiceClient(account.blobEndpoint, blobCred);
      const queues = new QueueServiceClient(account.queueEndpoint, queueCred);
      const queueNames = [...layout.ingestionQueues];
      if (index === 0) queueNames.push(layout.successQueue, layout.failureQueue);
      await Promise.all([
        ...layout.tempContainers.map((c) => blobs.getContainerClient(c).createIfNotExists()),
        ...queueNames.map((q) => queues.getQueueClient(q).createIfNotExists()),
      ]);
      if (index === 0) {
        const tables = new TableServiceClient(
          account.tableEndpoint,
          new AzureNamedKeyCredential(account.name, account.key),
          {
            allowInsecureConnection: isHttp(account.tableEndpoint),
          },
        );
        await tables.createTable(layout.statusTable);
      }
    }),
  );
}

/**
 * The rows of `.get ingestion resources`: one SAS URL per resource, fresh on every call (as the real DM
 * rotates them), valid for `validForMs`.
 */
export function resourceRows(
  accounts: readonly StandinAccount[],
  layout: ResourceLayout,
  now: Date,
  validForMs = 24 * 3_600_000,
): ResourceRow[] {
  const expiresOn = new Date(now.getTime() + validForMs);
  const startsOn = new Date(now.getTime() - 5 * 60_000);
  const rows: ResourceRow[] = [];
  accounts.forEach((account, index) => {
    const queueCred = new QueueKeyCredential(account.name, account.key);
    const blobCred = new StorageSharedKeyCredential(account.name, account.key);
    const queueUrl = (queueName: string, permissions: string) => {
      const sas = generateQueueSASQueryParameters(
        { queueName, permissions: QueueSASPermissions.parse(permissions), startsOn, expiresOn },
        queueCred,
      ).toString();
      return `${account.queueEndpoint}/${queueName}?${sas}`;
    };
    for (const q of layout.ingestionQueues)
      rows.push({ type: 'SecuredReadyForAggregationQueue', url: queueUrl(q, 'a') });
    for (const containerName of layout.tempContainers) {
      const sas = generateBlobSASQueryParameters(
        { containerName, permissions: ContainerSASPermissions.parse('racwdl'), startsOn, expiresOn },
        blobCred,
      ).toString();
      rows.push({ type: 'TempStorage', url: `${account.blobEndpoint}/${containerName}?${sas}` });
    }
    if (index === 0) {
      rows.push({ type: 'SuccessfulIngestionsQueue', url: queueUrl(layout.successQueue, 'rp') });
      rows.push({ type: 'FailedIngestionsQueue', url: queueUrl(layout.failureQueue, 'rp') });
      const tableSas = generateTableSas(
        layout.statusTable,
        new AzureNamedKeyCredential(account.name, account.key),
        {
          permissions: { query: true, add: true, update: true, delete: true },
          startsOn,
          expiresOn,
        },
      );
      rows.push({
        type: 'IngestionsStatusTable',
        url: `${account.tableEndpoint}/${layout.statusTable}?${tableSas}`,
      });
    }
  });
  return rows;
}
