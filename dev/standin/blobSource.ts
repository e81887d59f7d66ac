import { BlobClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { KustoError } from './kustoError';
import type { StandinAccount } from './storageResources';

// A failed download is reported (and retried by whoever queued it); it should not hang the worker.
const PIPELINE = { retryOptions: { maxTries: 2, retryDelayInMs: 200, tryTimeoutInMs: 60_000 } };

/** The blob URL without its SAS or `;key` suffix: what reports and SourceLocation show. */
export function sourcePathOf(blobPath: string): string {
  return blobPath.split(/[?;]/)[0] ?? blobPath;
}

/** How a blob URL lets the service read it: the suffix or query it carries. */
export type BlobCredential =
  | { readonly kind: 'sas' }
  | { readonly kind: 'key' }
  | { readonly kind: 'identity'; readonly objectId: string }
  | { readonly kind: 'none' };

export function credentialOf(blobPath: string): BlobCredential {
  const [url = '', suffix] = blobPath.split(';', 2);
  if (suffix !== undefined) {
    const identity = /^managed_identity=(.+)$/i.exec(suffix.trim());
    return identity ? { kind: 'identity', objectId: identity[1] ?? '' } : { kind: 'key' };
  }
  const query = url.indexOf('?');
  return query !== -1 && new URLSearchParams(url.slice(query + 1)).has('sig')
    ? { kind: 'sas' }
    : { kind: 'none' };
}

/**
 * Who reads the blob, and for what: a `;managed_identity=` URL is read only by queued ingestion into a
 * database whose ManagedIdentity policy (or the cluster's) allows that identity NativeIngestion.
 */
export interface BlobAccess {
  /** Whether the identity may be used here; undefined: this path takes no identities (inline, streaming). */
  readonly identityAllowed?: (objectId: string) => boolean;
}

/** The account of a blob or container URL among those the stand-in knows: path-style (Azurite) or by host. */
export function knownAccount(url: string, accounts: readonly StandinAccount[]): StandinAccount | undefined {
  return accounts.find(
    (a) => url.includes(`/${a.name}/`) || url.endsWith(`/${a.name}`) || url.includes(`//${a.name}.`),
  );
}

/**
 * Reads a blob as the service would: by its SAS URL, or with a `;<account key>` / `;managed_identity=...`
 * suffix, with the key of an account this stand-in knows. A URL with none of these is refused (the service
 * could not read a private blob with it). Failures get the documented Download_* and BadRequest_* codes.
 */
export async function downloadBlob(
  blobPath: string,
  accounts: readonly StandinAccount[],
  access: BlobAccess = {},
): Promise<Buffer> {
  const [url, suffix] = blobPath.split(';', 2) as [string, string | undefined];
  const credential = credentialOf(blobPath);
  if (credential.kind === 'none')
    throw new KustoError(
      'Download_Forbidden',
      'The blob URL carries no credentials: add a read SAS, or queue it with ;managed_identity=<object id|system> (a managed identity the database policy allows).',
      400,
    );
  if (credential.kind === 'identity') {
    if (!access.identityAllowed)
      throw new KustoError(
        'BadRequest_InvalidManagedIdentity',
        'A blob URL with ;managed_identity= is read only by queued ingestion, not by inline or streaming ingestion.',
        400,
      );
    if (!access.identityAllowed(credential.objectId))
      throw new KustoError(
        'BadRequest_InvalidManagedIdentity',
        `The managed identity '${credential.objectId}' is not allowed NativeIngestion: set it with .alter-merge database <db> policy managed_identity "[{'ObjectId':'${credential.objectId}','AllowedUsages':'NativeIngestion'}]"`,
        400,
      );
  }
  let client: BlobClient;
  if (suffix !== undefined) {
    const account = knownAccount(url, accounts);
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
