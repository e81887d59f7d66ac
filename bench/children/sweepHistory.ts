/**
 * Scenario 4, the history: BENCH_HISTORY closed items, as the app leaves them (a closed tracking row, and
 * the DM's final status row), written in batches. Not timed.
 */
import { randomUUID } from 'node:crypto';
import { TableClient, type TransactionAction } from '@azure/data-tables';
import { parseStorageResourceUrl } from '../../shared/resources/storageUrl';
import { trackingPartition } from '../../shared/app/tracking/tableTrackingStore';
import { StorageRest } from '../../shared/upload/storageRest';
import { pool } from '../harness';
import { run, setting } from './common';
import { resources } from './raw';

run(async () => {
  const count = Number(setting('BENCH_HISTORY', '100000'));
  const tracking = TableClient.fromConnectionString(setting('AzureWebJobsStorage'), 'IngestionTracking', {
    allowInsecureConnection: true,
  });
  await tracking.createTable();
  const statusTable = parseStorageResourceUrl((await resources()).get('IngestionsStatusTable')?.[0] ?? '');
  const ids = Array.from({ length: count }, () => randomUUID());
  const byPartition = new Map<string, string[]>();
  for (const id of ids) {
    const p = trackingPartition(id);
    byPartition.set(p, [...(byPartition.get(p) ?? []), id]);
  }
  const batches: { partition: string; ids: string[] }[] = [];
  for (const [partition, list] of byPartition)
    for (let i = 0; i < list.length; i += 100) batches.push({ partition, ids: list.slice(i, i + 100) });
  const day = new Date(Date.now() - 86_400_000);
  await pool(batches.length, 8, async (b) => {
    const batch = batches[b];
    if (!batch) return;
    const actions: TransactionAction[] = batch.ids.map((id) => [
      'create',
      {
        partitionKey: batch.partition,
        rowKey: id,
        Kind: 'http',
        State: 'closed',
        Database: 'bench',
        Table: 'Push',
        Props: JSON.stringify({ database: 'bench', table: 'Push', format: 'csv', sourceId: id }),
        CreatedOn: day,
        UpdatedOn: day,
        RequeueCount: 0,
        ExpiresOn: new Date(day.getTime() + 30 * 86_400_000),
        BlobPath: `http://127.0.0.1/devstoreaccount1/temp/bench__Push__${id}__stream.csv.gz`,
        FinalStatus: 'Succeeded',
      },
    ]);
    await tracking.submitTransaction(actions);
  });
  const rest = new StorageRest();
  await pool(ids.length, 50, async (i) => {
    const id = ids[i] ?? '';
    await rest.upsertEntity(statusTable, id, id, {
      Status: 'Succeeded',
      IngestionSourceId: id,
      IngestionSourcePath: `bench__Push__${id}__stream.csv.gz`,
      Database: 'bench',
      Table: 'Push',
      UpdatedOn: day,
      Details: '',
    });
  });
  console.log(JSON.stringify({ history: count }));
});
