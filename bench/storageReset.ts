/** Between benchmark runs: empty storage, so that no run pays for the last. */
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { QueueServiceClient, StorageSharedKeyCredential as QueueKey } from '@azure/storage-queue';
import type { LocalStack } from '../dev/localStack';
import { pool } from './harness';

export async function resetStorage(stack: LocalStack, keepContainers: readonly string[] = []): Promise<void> {
  for (const account of stack.accounts) {
    const queues = new QueueServiceClient(account.queueEndpoint, new QueueKey(account.name, account.key));
    for await (const q of queues.listQueues()) await queues.getQueueClient(q.name).clearMessages();
    const blobs = new BlobServiceClient(
      account.blobEndpoint,
      new StorageSharedKeyCredential(account.name, account.key),
    );
    for await (const c of blobs.listContainers()) {
      if (keepContainers.includes(c.name)) continue;
      const container = blobs.getContainerClient(c.name);
      const names: string[] = [];
      for await (const b of container.listBlobsFlat()) names.push(b.name);
      await pool(names.length, 32, async (i) => {
        await container.deleteBlob(names[i] ?? '', { deleteSnapshots: 'include' }).catch(() => undefined);
      });
    }
  }
}

/** Bytes of all blobs in the stack's containers, except `skipContainers`: what a run uploaded. */
export async function storedBytes(
  stack: LocalStack,
  skipContainers: readonly string[] = [],
): Promise<number> {
  let total = 0;
  for (const account of stack.accounts) {
    const blobs = new BlobServiceClient(
      account.blobEndpoint,
      new StorageSharedKeyCredential(account.name, account.key),
    );
    for await (const c of blobs.listContainers()) {
      if (skipContainers.includes(c.name)) continue;
      for await (const b of blobs.getContainerClient(c.name).listBlobsFlat())
        total += b.properties.contentLength ?? 0;
    }
  }
  return total;
}

/**
 * Empty storage by starting the stack's in-memory Azurite again (on the same ports), then creating what
 * the stand-in hands out. Faster than deleting, and it leaves Azurite no clean-up to do: deleting
 * thousands of blobs and messages set off its periodic clean-up, which stalled later runs for minutes.
 */
export async function freshStorage(stack: LocalStack): Promise<void> {
  await stack.azurite.restart();
  await stack.standin.recreateResources();
}
