import { AzureNamedKeyCredential } from '@azure/core-auth';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { QueueServiceClient, StorageSharedKeyCredential as QueueKeyCredential } from '@azure/storage-queue';
import type { StandinAccount } from '../../dev/standin/storageResources';

/** What the global setup started, as seen from a test worker. */
export function testStack() {
  const dmUrl = process.env.KUSTO_INGEST_URI;
  const accountsJson = process.env.KIF_TEST_STACK_ACCOUNTS;
  if (!dmUrl || !accountsJson) {
    throw new Error(
      'The integration test stack is not running: run the tests through jest (the global setup starts it).',
    );
  }
  const accounts = JSON.parse(accountsJson) as StandinAccount[];
  return { dmUrl, engineUrl: process.env.KUSTO_ENGINE_URI ?? '', accounts };
}

export function account(index = 0): StandinAccount {
  const a = testStack().accounts[index];
  if (!a) throw new Error(`the test stack has no account ${index}`);
  return a;
}

/** Storage clients with the account key: the test's own view of Azurite, independent of the client under test. */
export function blobService(index = 0): BlobServiceClient {
  const a = account(index);
  return new BlobServiceClient(a.blobEndpoint, new StorageSharedKeyCredential(a.name, a.key));
}

export function queueService(index = 0): QueueServiceClient {
  const a = account(index);
  return new QueueServiceClient(a.queueEndpoint, new QueueKeyCredential(a.name, a.key));
}

export function tableClient(tableName: string, index = 0): TableClient {
  const a = account(index);
  return new TableClient(a.tableEndpoint, tableName, new AzureNamedKeyCredential(a.name, a.key), {
    allowInsecureConnection: true,
  });
}

/** An Azurite connection string with explicit endpoints (the free ports of the test stack). */
export function connectionString(index = 0): string {
  const a = account(index);
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${a.name}`,
    `AccountKey=${a.key}`,
    `BlobEndpoint=${a.blobEndpoint}`,
    `QueueEndpoint=${a.queueEndpoint}`,
    `TableEndpoint=${a.tableEndpoint}`,
  ].join(';');
}
