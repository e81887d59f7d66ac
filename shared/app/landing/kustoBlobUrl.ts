import type { BlobClient } from '@azure/storage-blob';
import type { LandingBlobAuth } from '../settings';
import type { LandingSas } from './landingSas';

export interface KustoBlobUrlOptions {
  readonly auth: LandingBlobAuth;
  /** Signs read SAS URLs (user-delegation, account-key). */
  readonly sas: LandingSas;
  /** The cluster identity a `kusto-identity` URL names: `system` or an object id. */
  readonly identity: string;
}

/**
 * The URL Kusto is given to read a landing blob: with a read SAS, or (kusto-identity) bare with the
 * documented `;managed_identity=<id>` suffix, so no signature ever leaves the app and the cluster reads
 * with its own identity (which needs Storage Blob Data Reader and the database's NativeIngestion policy).
 */
export function kustoBlobUrl(options: KustoBlobUrlOptions): (blob: BlobClient) => Promise<string> {
  if (options.auth === 'kusto-identity') {
    const suffix = `;managed_identity=${options.identity}`;
    // Without any query: a connection string's own SAS must not travel with the URL.
    return (blob) => Promise.resolve(`${blob.url.split('?')[0] ?? blob.url}${suffix}`);
  }
  return (blob) => options.sas.readUrl(blob);
}
