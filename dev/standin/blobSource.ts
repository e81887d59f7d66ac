import { BlobClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { KustoError } from './kustoError';
import type { StandinAccount } from './storageResources';

// A failed download is reported (and retried by whoever queued it); it should not hang the worker.
const PIPELINE = { retryOptions: { maxTries: 2, retryDelayInMs: 200, tryTimeoutInMs: 60_000 } };

/** The blob URL without its SAS or `;key` suffix: what reports and SourceLocation show. */
export function sourcePathOf(blobPath: string): string {
  return blobPath.split(/[?;]/)[0] ?? blobPath;
}

/**
 * Reads a blob as the service would: by its SAS URL, or with a `;<account key>` / `;managed_identity=...`
 * suffix, with the key of an account this stand-in knows. Failures get the documented Download_* codes.
 */
export async function downloadBlob(blobPath: string, accounts: readonly StandinAccount[]): Promise<Buffer> {
  const [url, suffix] = blobPath.split(';', 2) as [string, string | undefined];
  let client: BlobClient;
  if (suffix !== undefined) {
    const account = accounts.find((a) => url.includes(`/${a.name}/`) || url.includes(`//${a.name}.`));
    if (!account)
      throw new KustoError(
        'Download_AccountNotFound',
        'The blob is in a storage account this stand-in does not know.',
        400,
      );
    client = new BlobClient(url, new StorageSharedKeyCredential(account.name, account.key), PIPELINE);
  } else {
    client = new BlobClient(url, undefined, PIPELINE);
  }
  try {
    return await client.downloadToBuffer();
  } catch (e) {
    const status = (e as { statusCode?: number }).statusCode;
    if (status === 404) throw new KustoError('Download_SourceNotFound', 'The blob was not found.', 400);
    if (status === 403 || status === 401) {
      throw new KustoError(
        'Download_Forbidden',
        'The blob cannot be read with the credentials given (SAS missing, expired or without read).',
        400,
      );
    }
    throw new KustoError(
      'Download_UnknownError',
      `Downloading the blob failed: ${(e as Error).message}`,
      500,
      false,
    );
  }
}
