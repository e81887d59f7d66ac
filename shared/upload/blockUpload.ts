import type { IngestError } from '../errors';
import { withFailover } from '../resources/failover';
import type { StorageResource } from '../resources/storageUrl';
import { withRetry, type RetryOptions } from '../retry';
import type { StorageClients } from './storageClients';
import { rechunk } from './rechunk';
import type { TempBlob } from './storageRest';

export interface BlockUploadOptions {
  /** Size of each staged block; also the largest input sent as one Put Blob. @default 2 MiB */
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

export const DEFAULT_BLOCK_SIZE = 2 * 1024 * 1024;

/**
 * Block buffers are big and their lifetime is known (free once staged), so they are recycled rather than
 * left to the garbage collector, which frees external memory late: it keeps the peak RSS flat.
 */
export class BlockPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly blockSize: number,
    private readonly maxFree: number,
  ) {}

  acquire(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.blockSize);
  }

  /** Takes back a block (or a view of one) that nothing references any more. */
  release(block: Buffer): void {
    if (this.free.length >= this.maxFree || block.buffer.byteLength < this.blockSize) return;
    this.free.push(Buffer.from(block.buffer, block.byteOffset, this.blockSize));
  }
}

// Inputs smaller than this never take a pooled block: a 1 KB file should not cost 4 MiB.
const SMALL_INPUT_BYTES = 256 * 1024;

/** Re-cuts a byte stream into blocks of exactly the pool's block size (the last one shorter). */
export function toBlocks(source: AsyncIterable<Buffer>, pool: BlockPool): AsyncGenerator<Buffer> {
  return rechunk(source, pool.blockSize, pool, SMALL_INPUT_BYTES);
}

function blockId(index: number): string {
  return Buffer.from(`block-${String(index).padStart(8, '0')}`).toString('base64');
}

/** An input held whole and no bigger than a block: one Put Blob with failover, none of the block machinery. */
export async function uploadWhole(
  body: Buffer,
  target: UploadTarget,
  options: Pick<BlockUploadOptions, 'retry' | 'abortSignal'> = {},
): Promise<UploadResult> {
  const { resource, value: blobUrl } = await withFailover(
    target.candidates,
    async (r, signal) => {
      const blob = target.clients.tempBlob(r, target.blobName);
      await blob.upload(body, { abortSignal: signal });
      return blob.url;
    },
    {
      what: 'upload to temp storage',
      retry: options.retry,
      abortSignal: options.abortSignal,
      report: target.report,
    },
  );
  return { resource, blobUrl, uploadedBytes: body.length };
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
  const blobClient = (r: StorageResource): TempBlob => target.clients.tempBlob(r, target.blobName);
  const failover = {
    what: 'upload to temp storage',
    retry: options.retry,
    abortSignal: options.abortSignal,
    report: target.report,
  };

  const pool = new BlockPool(blockSize, concurrency + 2);
  const blocks = toBlocks(source, pool);
  try {
    const first = await blocks.next();
    const firstBlock = first.done ? Buffer.alloc(0) : first.value;
    const second = first.done ? first : await blocks.next();

    if (second.done) {
      options.beforeSinglePut?.();
      return await uploadWhole(firstBlock, target, options);
    }

    const { resource } = await withFailover(
      target.candidates,
      (r, signal) => blobClient(r).stageBlock(blockId(0), firstBlock, { abortSignal: signal }),
      failover,
    );
    pool.release(firstBlock);
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
          (_, s) => pinned.stageBlock(blockId(index), block, { abortSignal: s }),
          retry,
        ).then(
          () => {
            pool.release(block);
          },
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
