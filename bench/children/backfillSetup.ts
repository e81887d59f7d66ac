/**
 * Scenario 10's blobs, written once per scenario (not timed): BENCH_BLOBS small CSV blobs in the landing
 * container, under bf/{i % 10}/, so that bf/0/ holds a tenth of them.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { pool } from '../harness';
import { report, run, setting } from './common';

run(async () => {
  const count = Number(setting('BENCH_BLOBS', '100000'));
  const container = BlobServiceClient.fromConnectionString(setting('AzureWebJobsStorage')).getContainerClient(
    process.env.LANDING_CONTAINER ?? 'landing',
  );
  await container.createIfNotExists();
  await pool(count, 64, async (i) => {
    const body = `${i},backfill\n`;
    await container.getBlockBlobClient(`bf/${i % 10}/${i}.csv`).upload(body, body.length);
  });
  report({ blobs: count });
});
