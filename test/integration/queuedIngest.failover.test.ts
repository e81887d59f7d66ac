import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BlobClient } from '@azure/storage-blob';
import {
  IngestThrottledError,
  IngestTransientError,
  QueuedIngestClient,
  type QueuedIngestClientOptions,
} from '../../shared';
import { isBlobRequest, isLaterBlock, isQueueRequest, StorageFaults } from '../helpers/faultPolicy';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { account } from '../helpers/stack';

// What these tests check is v1's (queue messages, resources, temp containers): their clients are pinned
// to protocol v1, since the stand-in prefers REST ingestion as clusters now do.

const FIRST = account(0).name;
const SECOND = account(1).name;
// With this randomness the shuffle keeps the accounts in the order the DM lists them: the first one is tried first.
const keepOrder = (): number => 0.999;

const csv = (rows: number): Buffer =>
  Buffer.from(Array.from({ length: rows }, (_, i) => `${i},row ${i}\n`).join(''));

let dm: PrivateStandin;
beforeEach(async () => {
  dm = await startPrivateStandin();
});
afterEach(async () => {
  await dm.stop();
});

function clientWith(
  faults: Record<string, StorageFaults>,
  extra: Partial<QueuedIngestClientOptions> = {},
): QueuedIngestClient {
  return new QueuedIngestClient({
    protocol: 'v1',
    ingestUri: dm.standin.dmUrl,
    random: keepOrder,
    retry: { baseDelayInMs: 5, maxDelayInMs: 20 },
    storagePolicies: (accountName) => {
      const f = faults[accountName];
      return f ? [f.policy()] : [];
    },
    ...extra,
  });
}

const resourceFetches = (): number => dm.standin.dm.commandCounts.get('.get ingestion resources') ?? 0;

describe('failover across ranked storage accounts', () => {
  it('moves an upload to the next account when the first container fails, and ranks the failing account last', async () => {
    const first = new StorageFaults({ when: isBlobRequest });
    const second = new StorageFaults({ times: 0 }); // counts only
    const client = clientWith({ [FIRST]: first, [SECOND]: second });

    const receipt = await client.ingestFromStream([csv(10)], { database: 'db', table: 'T', format: 'csv' });
    expect(first.failed).toHaveLength(1); // the first ranked container was tried, once
    expect(second.seen.some((r) => r.startsWith('PUT'))).toBe(true); // and the upload went here
    expect(receipt.blobPath).toContain(`/${SECOND}/`);
    const [message] = await dm.drainMessages();
    expect(message?.__queue).toMatch(new RegExp(`^${SECOND}/`)); // the queue follows the ranking too
    expect(
      gunzipSync(await new BlobClient(String(message?.BlobPath)).downloadToBuffer()).equals(csv(10)),
    ).toBe(true);

    // The ranking moved: the next ingestions do not touch the failing account at all.
    const before = first.seen.length;
    for (let i = 0; i < 3; i++)
      await client.ingestFromStream([csv(5)], { database: 'db', table: 'T', format: 'csv' });
    expect(first.seen.length).toBe(before);
    expect(await dm.drainMessages()).toHaveLength(3);
  });

  it('moves the message to the next queue when the first ranked queue fails', async () => {
    const first = new StorageFaults({ when: isQueueRequest });
    const client = clientWith({ [FIRST]: first });
    const receipt = await client.ingestFromStream([csv(3)], { database: 'db', table: 'T', format: 'csv' });
    expect(receipt.blobPath).toContain(`/${FIRST}/`); // the container of the first account worked
    expect(first.failed).toEqual([expect.stringMatching(/^POST .*\/messages$/)]);
    const messages = await dm.drainMessages();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.__queue).toMatch(new RegExp(`^${SECOND}/`));
    expect(messages[0]?.Id).toBe(receipt.sourceId);
  });

  it('refetches the resources at the next use after a failure, not only after the refresh interval', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const clock = (): number => now;
    const healthy = clientWith({}, { clock });
    await healthy.ingestFromStream([csv(1)], { database: 'db', table: 'T', format: 'csv' });
    now += 15_000;
    await healthy.ingestFromStream([csv(1)], { database: 'db', table: 'T', format: 'csv' });
    expect(healthy.resourceFetchCount).toBe(1); // no failure: the cache holds for the hour

    const failing = clientWith({ [FIRST]: new StorageFaults({ when: isBlobRequest, times: 1 }) }, { clock });
    await failing.ingestFromStream([csv(1)], { database: 'db', table: 'T', format: 'csv' });
    expect(failing.resourceFetchCount).toBe(1);
    now += 15_000;
    const fetchesBefore = resourceFetches();
    await failing.ingestFromStream([csv(1)], { database: 'db', table: 'T', format: 'csv' });
    expect(failing.resourceFetchCount).toBe(2);
    expect(resourceFetches()).toBe(fetchesBefore + 1); // the service saw it too
    expect(await dm.drainMessages()).toHaveLength(4);
  });

  it('starts a file over on the next account when the account it pinned fails mid-upload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kif-failover-'));
    const path = join(dir, 'big.csv');
    const input = Buffer.from(
      Array.from({ length: 40_000 }, (_, i) => `${i},${(i * 7919) % 10007},${i.toString(36)}\n`).join(''),
    );
    writeFileSync(path, input);
    const first = new StorageFaults({ when: isLaterBlock });
    const client = clientWith({ [FIRST]: first }, { blockSizeInBytes: 64 * 1024, compressionLevel: 1 });
    const receipt = await client.ingestFromFile(path, { database: 'db', table: 'T', format: 'csv' });
    expect(first.failed.length).toBeGreaterThan(0);
    expect(receipt.blobPath).toContain(`/${SECOND}/`);
    const [message] = await dm.drainMessages();
    expect(message?.RawDataSize).toBe(input.length);
    expect(gunzipSync(await new BlobClient(String(message?.BlobPath)).downloadToBuffer()).equals(input)).toBe(
      true,
    );
  });

  it('fails a stream that its pinned account drops mid-upload, transiently, with every cause kept and nothing queued', async () => {
    const first = new StorageFaults({ when: isLaterBlock });
    const client = clientWith({ [FIRST]: first }, { blockSizeInBytes: 64 * 1024, compressionLevel: 1 });
    const input = Buffer.from(
      Array.from({ length: 40_000 }, (_, i) => `${i},${(i * 7919) % 10007}\n`).join(''),
    );
    const error = await client
      .ingestFromStream([input], { database: 'db', table: 'T', format: 'csv' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestTransientError);
    expect((error as IngestTransientError).transient).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(AggregateError); // the earlier attempts
    expect(await dm.drainMessages()).toHaveLength(0);
  });

  it('fails with a transient error that keeps every cause when every account fails, and queues nothing', async () => {
    const client = clientWith({ [FIRST]: new StorageFaults(), [SECOND]: new StorageFaults() });
    const error = await client
      .ingestFromStream([csv(2)], { database: 'db', table: 'T', format: 'csv' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestTransientError);
    expect((error as IngestTransientError).code).toBe('ServiceUnavailable');
    expect((error as Error).message).toMatch(/Could not upload to temp storage/);
    const causes = ((error as Error).cause as AggregateError).errors;
    expect(causes.length).toBeGreaterThanOrEqual(2);
    expect(await dm.drainMessages()).toHaveLength(0);
  });
});

describe('throttling of the resources call', () => {
  it('retries a 429 with backoff and waits as long as Retry-After says', async () => {
    dm.standin.faults.update({ throttleResources: 2, retryAfterSeconds: 1 });
    const client = clientWith({});
    const started = Date.now();
    const receipt = await client.ingestFromStream([csv(2)], { database: 'db', table: 'T', format: 'csv' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900); // two waits of Retry-After: 1 s, not the 5 ms backoff
    expect(resourceFetches()).toBe(3);
    expect(receipt.sourceId).toBeDefined();
    expect(await dm.drainMessages()).toHaveLength(1);
  });

  it('gives up after the bounded attempts with a throttling error that keeps the earlier ones', async () => {
    dm.standin.faults.update({ throttleResources: 10, retryAfterSeconds: 0 });
    const client = clientWith({}, { retry: { maxAttempts: 3, baseDelayInMs: 5, maxDelayInMs: 20 } });
    const error = await client
      .ingestFromStream([csv(2)], { database: 'db', table: 'T', format: 'csv' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestThrottledError);
    expect((error as IngestThrottledError).transient).toBe(true);
    expect(((error as Error).cause as AggregateError).errors).toHaveLength(2);
    expect(resourceFetches()).toBe(3);
    expect(await dm.drainMessages()).toHaveLength(0);
  });
});
