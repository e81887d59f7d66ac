/**
 * Scenario 10's blobs, written before each run (not timed): BENCH_BLOBS small CSV blobs in the landing
 * container, under bf/{i % BENCH_DIRS}/ (default 10).
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { pool } from '../harness';
import { report, run, setting } from './common';

run(async () => {
  const count = Number(setting('BENCH_BLOBS', '100000'));
  const dirs = Number(setting('BENCH_DIRS', '10'));
  const container = BlobServiceClient.fromConnectionString(setting('AzureWebJobsStorage')).getContainerClient(
    process.env.LANDING_CONTAINER ?? 'landing',
  );
  await container.createIfNotExists();
  await pool(count, 64, async (i) => {
    const body = `${i},backfill\n`;
    await container.getBlockBlobClient(`bf/${i % dirs}/${i}.csv`).upload(body, body.length);
  });
  report({ blobs: count });
});
