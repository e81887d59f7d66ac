import type { BlobClient, ContainerClient } from '@azure/storage-blob';

/** A failed storage call as the SDK throws it: the status is what the app asks about. */
const failed = (statusCode: number, message: string): Error =>
  Object.assign(new Error(message), { statusCode });

interface StoredBlob {
  body: Buffer;
  metadata: Record<string, string>;
  etag: string;
}

interface Conditions {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
}

/**
 * One storage account's blobs in memory, with the few calls the landing paths make (properties, a
 * conditional copy by URL, a conditional delete, a ranged read) and ETags that change on every write: enough
 * for the take-on, quarantine and retry flows to run in a unit test as they do against Azurite.
 */
export class MemoryBlobAccount {
  private readonly blobs = new Map<string, StoredBlob>();
  private version = 0;

  constructor(readonly url = 'https://fake.blob.core.windows.net') {}

  container(name: string): ContainerClient {
    const containerUrl = `${this.url}/${name}`;
    const container = {
      url: containerUrl,
      containerName: name,
      createIfNotExists: () => Promise.resolve({ succeeded: false }),
      getBlobClient: (path: string) => this.blob(name, path),
      getBlockBlobClient: (path: string) => this.blob(name, path),
    };
    return container as unknown as ContainerClient;
  }

  /** Writes a blob (a new version, a new ETag) and returns its ETag, quoted as storage gives it. */
  put(containerName: string, path: string, body: string, metadata: Record<string, string> = {}): string {
    const etag = `"0x${(++this.version).toString(16).padStart(8, '0')}"`;
    this.blobs.set(this.key(`${this.url}/${containerName}`, path), {
      body: Buffer.from(body),
      metadata,
      etag,
    });
    return etag;
  }

  /** The blob at a path, if there is one. */
  get(containerName: string, path: string): StoredBlob | undefined {
    return this.blobs.get(this.key(`${this.url}/${containerName}`, path));
  }

  private key(containerUrl: string, path: string): string {
    return `${containerUrl}/${path}`;
  }

  private blob(containerName: string, path: string): BlobClient {
    const containerUrl = `${this.url}/${containerName}`;
    const key = this.key(containerUrl, path);
    const url = `${containerUrl}/${path.split('/').map(encodeURIComponent).join('/')}`;
    const blobs = this.blobs;
    const nextETag = () => `"0x${(++this.version).toString(16).padStart(8, '0')}"`;
    const urlOf = (k: string) => this.urlOf(k);
    /** Why the conditions refuse the call, if they do. */
    const refused = (
      stored: StoredBlob | undefined,
      conditions: Conditions | undefined,
    ): Error | undefined => {
      if (conditions?.ifMatch !== undefined && stored?.etag !== conditions.ifMatch)
        return failed(
          stored ? 412 : 404,
          'The condition specified using HTTP conditional header(s) is not met.',
        );
      if (conditions?.ifNoneMatch === '*' && stored) return failed(409, 'The specified blob already exists.');
      return undefined;
    };
    const client = {
      url,
      name: path,
      containerName,
      getProperties: () => {
        const stored = blobs.get(key);
        if (!stored) return Promise.reject(failed(404, 'The specified blob does not exist.'));
        return Promise.resolve({
          etag: stored.etag,
          contentLength: stored.body.length,
          metadata: { ...stored.metadata },
        });
      },
      downloadToBuffer: (offset = 0, count?: number) => {
        const stored = blobs.get(key);
        if (!stored) return Promise.reject(failed(404, 'The specified blob does not exist.'));
        return Promise.resolve(
          stored.body.subarray(offset, count === undefined ? undefined : offset + count),
        );
      },
      delete: (options: { conditions?: Conditions } = {}) => {
        const stored = blobs.get(key);
        if (!stored) return Promise.reject(failed(404, 'The specified blob does not exist.'));
        const no = refused(stored, options.conditions);
        if (no) return Promise.reject(no);
        blobs.delete(key);
        return Promise.resolve({});
      },
      deleteIfExists: () => Promise.resolve({ succeeded: blobs.delete(key) }),
      beginCopyFromURL: (
        sourceUrl: string,
        options: {
          metadata?: Record<string, string>;
          sourceConditions?: Conditions;
          conditions?: Conditions;
        } = {},
      ) => {
        const source = [...blobs.entries()].find(
          ([k]) => urlOf(k) === decodeURIComponent(sourceUrl.split('?')[0] ?? ''),
        )?.[1];
        if (!source) return Promise.reject(failed(404, 'The specified blob does not exist.'));
        const no = refused(source, options.sourceConditions) ?? refused(blobs.get(key), options.conditions);
        if (no) return Promise.reject(no);
        const etag = nextETag();
        blobs.set(key, {
          body: source.body,
          metadata: options.metadata ?? { ...source.metadata },
          etag,
        });
        return Promise.resolve({ pollUntilDone: () => Promise.resolve({ etag }) });
      },
    };
    return client as unknown as BlobClient;
  }

  private urlOf(key: string): string {
    return decodeURIComponent(key);
  }
}
