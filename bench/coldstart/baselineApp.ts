/**
 * The cold-start baseline: a minimal @azure/functions app that loads the same Azure SDKs as ours (identity,
 * storage blob and queue, tables) and nothing of ours, with one HTTP function that makes the storage and
 * Data Management requests our first push makes, in the same order, raw:
 *   - create the three tracking tables, the two landing containers and the landing queue (if missing);
 *   - `.get ingestion resources` and `.get kusto identity token`;
 *   - list the source as open, insert its tracking row, Put Blob into temp storage, record the blob,
 *     write the status row, Put Message, mark it queued.
 * With APPLICATIONINSIGHTS_CONNECTION_STRING set it starts Microsoft's OpenTelemetry distro, as ours does then.
 */
import { randomUUID } from 'node:crypto';
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient, BlockBlobClient } from '@azure/storage-blob';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';

// Loaded as a real app would: an app that runs in Azure builds its credential at start.
const credential = process.env.KUSTO_AUTH === 'none' ? undefined : new DefaultAzureCredential();

// With Application Insights configured, Microsoft's distro at start, as its Functions docs show (the
// cold-start scenario's telemetry variants), authenticated with the managed identity.
if (process.env.APPLICATIONINSIGHTS_CONNECTION_STRING) {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only in the telemetry variants */
  const { useAzureMonitor } =
    require('@azure/monitor-opentelemetry') as typeof import('@azure/monitor-opentelemetry');
  const { ManagedIdentityCredential } = require('@azure/identity') as typeof import('@azure/identity');
  /* eslint-enable @typescript-eslint/no-require-imports */
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString: process.env.APPLICATIONINSIGHTS_CONNECTION_STRING,
      credential: new ManagedIdentityCredential(),
    },
  });
}

async function mgmt(csl: string): Promise<string[][]> {
  const response = await fetch(`${process.env.KUSTO_INGEST_URI ?? ''}/v1/rest/mgmt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ db: 'NetDefaultDB', csl }),
  });
  const body = (await response.json()) as { Tables: { Rows: string[][] }[] };
  return body.Tables[0]?.Rows ?? [];
}

async function push(request: HttpRequest): Promise<HttpResponseInit> {
  const storage = process.env.AzureWebJobsStorage ?? '';
  const tables = ['IngestionTracking', 'IngestionOpen', 'IngestionFailures'].map((t) =>
    TableClient.fromConnectionString(storage, t, { allowInsecureConnection: true }),
  );
  const blobs = BlobServiceClient.fromConnectionString(storage);
  await Promise.all([
    ...tables.map((t) => t.createTable()),
    blobs.getContainerClient('landing').createIfNotExists(),
    blobs.getContainerClient('landing-failed').createIfNotExists(),
    QueueServiceClient.fromConnectionString(storage).getQueueClient('landing-events').createIfNotExists(),
  ]);
  const [resources, token] = await Promise.all([
    mgmt('.get ingestion resources'),
    mgmt('.get kusto identity token'),
  ]);
  const of = (type: string) => resources.find((r) => r[0] === type)?.[1] ?? '';
  const [tracking, open] = tables as [TableClient, TableClient];
  const id = randomUUID();
  const body = Buffer.from(await new Response(request.body).arrayBuffer());
  await open.upsertEntity({ partitionKey: `open-${id[0] ?? ''}`, rowKey: id });
  await tracking.createEntity({ partitionKey: `src-${id.slice(0, 2)}`, rowKey: id, State: 'queuing' });
  const container = of('TempStorage');
  const [base = '', sas = ''] = container.split('?');
  const blobUrl = `${base}/cold__${id}.csv?${sas}`;
  await new BlockBlobClient(blobUrl).upload(body, body.length);
  await tracking.updateEntity({ partitionKey: `src-${id.slice(0, 2)}`, rowKey: id, State: 'uploaded' });
  const status = new URL(of('IngestionsStatusTable'));
  const statusTable = status.pathname.split('/').pop() ?? '';
  const statusEndpoint = `${status.origin}${status.pathname.slice(0, -statusTable.length - 1)}${status.search}`;
  await new TableClient(statusEndpoint, statusTable, { allowInsecureConnection: true }).upsertEntity({
    partitionKey: id,
    rowKey: id,
    Status: 'Pending',
  });
  await new QueueClient(of('SecuredReadyForAggregationQueue')).sendMessage(
    Buffer.from(
      JSON.stringify({
        Id: id,
        BlobPath: blobUrl,
        AdditionalProperties: { authorizationContext: token[0]?.[0] },
      }),
    ).toString('base64'),
  );
  await tracking.updateEntity({ partitionKey: `src-${id.slice(0, 2)}`, rowKey: id, State: 'queued' });
  return { status: 202, jsonBody: { sourceId: id, credential: credential !== undefined } };
}

app.http('push', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'ingest/{database}/{table}',
  handler: push,
});
