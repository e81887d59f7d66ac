import type { BlockBlobClient } from '@azure/storage-blob';
import type { IngestError } from '../errors';
import { withFailover } from '../resources/failover';
import type { StorageResource } from '../resources/storageUrl';
import { withRetry, type RetryOptions } from '../retry';
import type { StorageClients } from './storageClients';

export interface BlockUploadOptions {
  /** Size of each staged block; also the largest input sent as one Put Blob. @default 4 MiB */
  readonly blockSizeInBytes?: number;
  /** Blocks staged in parallel. @default 4 */
  readonly concurrency?: number;
  readonly retry?: RetryOptions | undefined;
  readonly abortSignal?: AbortSignal | undefined;
  /** Runs once the whole input is known to fit one block, before anything is sent; may throw (empty input). */
  readonly beforeSinglePut?: () => void;
}

export interface UploadTarget {
  /** Ranked temp containers; the first block picks one, the rest of the blob follows it. */
  readonly candidates: readonly StorageResource[];
  readonly blobName: string;
  readonly clients: StorageClients;
  readonly report: (resource: StorageResource, success: boolean, error?: IngestError) => void;
}

export interface UploadResult {
  readonly resource: StorageResource;
  /** The blob URL with the container's SAS. */
  readonly blobUrl: string;
  readonly uploadedBytes: number;
}

export const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;

/** Re-cuts a byte stream into blocks of exactly `size` bytes (the last one shorter), one copy per byte. */
export async function* toBlocks(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let block = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const chunk of source) {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(size - filled, chunk.length - offset);
      chunk.copy(block, filled, offset, offset + n);
      filled += n;
      offset += n;
      if (filled === size) {
        yield block;
        block = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield block.subarray(0, filled);
}

function blockId(index: number): string {
  return Buffer.from(`block-${String(index).padStart(8, '0')}`).toString('base64');
}

/**
 * Uploads a stream as a block blob in bounded memory (at most concurrency + 2 blocks held). An input that
 * fits one block goes up as a single Put Blob. Otherwise the first block is staged with failover across the
 * ranked containers; the container that takes it takes the rest, each block retried on its own.
 */
export async function uploadBlocks(
  source: AsyncIterable<Buffer>,
  target: UploadTarget,
  options: BlockUploadOptions = {},
): Promise<UploadResult> {
  const blockSize = options.blockSizeInBytes ?? DEFAULT_BLOCK_SIZE;
  const concurrency = options.concurrency ?? 4;
  const blobClient = (r: StorageResource): BlockBlobClient =>
    target.clients.container(r).getBlockBlobClient(target.blobName);
  const failover = {
    what: 'upload to temp storage',
    retry: options.retry,
    abortSignal: options.abortSignal,
    report: target.report,
  };

  const blocks = toBlocks(source, blockSize);
  try {
    const first = await blocks.next();
    const firstBlock = first.done ? Buffer.alloc(0) : first.value;
    const second = first.done ? first : await blocks.next();

    if (second.done) {
      options.beforeSinglePut?.();
      const { resource } = await withFailover(
        target.candidates,
        (r, signal) => blobClient(r).upload(firstBlock, firstBlock.length, { abortSignal: signal }),
        failover,
      );
      return { resource, blobUrl: blobClient(resource).url, uploadedBytes: firstBlock.length };
    }

    const { resource } = await withFailover(
      target.candidates,
      (r, signal) =>
        blobClient(r).stageBlock(blockId(0), firstBlock, firstBlock.length, { abortSignal: signal }),
      failover,
    );
    const pinned = blobClient(resource);
    const controller = new AbortController();
    const signal = options.abortSignal
      ? AbortSignal.any([options.abortSignal, controller.signal])
      : controller.signal;
    const retry = { ...options.retry, abortSignal: signal };
    const inFlight = new Set<Promise<void>>();
    let failure: Error | undefined;
    let count = 1;
    let uploadedBytes = firstBlock.length;

    try {
      for (let next: IteratorResult<Buffer> = second; !next.done; next = await blocks.next()) {
        const index = count++;
        const block = next.value;
        uploadedBytes += block.length;
        const staged: Promise<void> = withRetry(
          (_, s) => pinned.stageBlock(blockId(index), block, block.length, { abortSignal: s }),
          retry,
        ).then(
          () => undefined,
          (e: unknown) => {
            failure ??= e instanceof Error ? e : new Error(String(e));
            controller.abort();
          },
        );
        const tracked = staged.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        if (inFlight.size >= concurrency) await Promise.race(inFlight);
        if (failure !== undefined) break;
      }
    } catch (sourceError) {
      // The input failed (bad record, read error): stop the uploads under way and report the input's error.
      controller.abort();
      await Promise.all(inFlight);
      throw sourceError;
    }
    await Promise.all(inFlight);
    if (failure !== undefined) {
      target.report(resource, false);
      throw failure;
    }
    const ids = Array.from({ length: count }, (_, i) => blockId(i));
    await withRetry((_, s) => pinned.commitBlockList(ids, { abortSignal: s }), retry);
    target.report(resource, true);
    return { resource, blobUrl: pinned.url, uploadedBytes };
  } finally {
    await blocks.return(undefined);
  }
}
