import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';

export interface LandingWatcherOptions {
  readonly container: ContainerClient;
  readonly queue: QueueClient;
  /** Where the versions already announced are kept between runs; in memory when absent. */
  readonly seenFile?: string | undefined;
  /** @default 1000 */
  readonly intervalMs?: number;
  readonly log?: (line: string) => void;
}

/** The BlobCreated event Event Grid would deliver for this blob version (Event Grid schema). */
export function blobCreatedEventFor(
  url: string,
  eTag: string,
  contentLength: number,
  contentType: string | undefined,
): Record<string, unknown> {
  const path = new URL(url).pathname.split('/').slice(2); // [container, ...blob path] (path-style: account first)
  const [container, ...blob] = path;
  return {
    topic:
      '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/local',
    subject: `/blobServices/default/containers/${container ?? ''}/blobs/${blob.join('/')}`,
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: new Date().toISOString(),
    id: randomUUID(),
    data: {
      api: 'PutBlob',
      eTag,
      contentType: contentType ?? 'application/octet-stream',
      contentLength,
      blobType: 'BlockBlob',
      url,
      sequencer: Date.now().toString(16).padStart(32, '0'),
    },
    dataVersion: '',
    metadataVersion: '1',
  };
}

/**
 * Plays Event Grid for the local stack: lists the landing container and, for each blob version not seen
 * before, posts one BlobCreated event to the landing queue, UTF-8 JSON base64-encoded, as Event Grid
 * delivers to a storage queue. The app's queue trigger then runs exactly as in Azure.
 */
export class LandingWatcher {
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  posted = 0;

  constructor(private readonly options: LandingWatcherOptions) {
    const file = options.seenFile;
    if (file && existsSync(file))
      for (const key of JSON.parse(readFileSync(file, 'utf8')) as string[]) this.seen.add(key);
  }

  async start(): Promise<void> {
    await this.options.container.createIfNotExists();
    await this.options.queue.createIfNotExists();
    const tick = (): void => {
      this.running = this.scan()
        .then(() => undefined)
        .catch((e: unknown) => this.options.log?.(`landing watcher: ${(e as Error).message}`))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.options.intervalMs ?? 1000);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass: announces every new blob version. */
  async scan(): Promise<number> {
    let announced = 0;
    for await (const blob of this.options.container.listBlobsFlat()) {
      const key = `${blob.name}#${blob.properties.etag}`;
      if (this.seen.has(key)) continue;
      const url = this.options.container.getBlobClient(blob.name).url;
      const event = blobCreatedEventFor(
        url,
        blob.properties.etag.replace(/"/g, ''),
        blob.properties.contentLength ?? 0,
        blob.properties.contentType,
      );
      await this.options.queue.sendMessage(Buffer.from(JSON.stringify(event), 'utf8').toString('base64'));
      this.seen.add(key);
      announced += 1;
      this.posted += 1;
      this.options.log?.(`landing watcher: BlobCreated ${blob.name}`);
    }
    if (announced > 0 && this.options.seenFile) {
      mkdirSync(dirname(this.options.seenFile), { recursive: true });
      writeFileSync(this.options.seenFile, JSON.stringify([...this.seen]));
    }
    return announced;
  }
}
