import type { TokenCredential } from '@azure/core-auth';
import { BlobServiceClient, type BlobClient } from '@azure/storage-blob';
import { kustoBlobUrl } from '../landing/kustoBlobUrl';
import { LandingSas } from '../landing/landingSas';
import type { LandingBlobAuth } from '../settings';

export interface SourceAccountsOptions {
  /** The app's identity, made on first use (DefaultAzureCredential costs its module load and set-up). */
  readonly credential: () => TokenCredential;
  /** How Kusto reads the blobs: LANDING_BLOB_AUTH, with account-key read as user-delegation (no key here). */
  readonly auth: LandingBlobAuth;
  /** The cluster identity a `kusto-identity` URL names. */
  readonly identity: string;
}

interface Account {
  readonly service: BlobServiceClient;
  readonly kustoUrl: (blob: BlobClient) => Promise<string>;
}

/**
 * Storage accounts other than the landing one that backfill jobs read: always with the app's own identity
 * (it needs Storage Blob Data Reader there), never a key or SAS a caller gives. Kusto reads their blobs by a
 * user-delegation SAS that identity signs, or with its own identity (kusto-identity). One client and one
 * delegation key per account, reused.
 */
export class SourceAccounts {
  private readonly accounts = new Map<string, Account>();
  private credential: TokenCredential | undefined;

  constructor(private readonly options: SourceAccountsOptions) {}

  /** The account's blob service; `accountUrl` checked already (checkAccountUrl). */
  service(accountUrl: string): BlobServiceClient {
    return this.account(accountUrl).service;
  }

  kustoUrl(accountUrl: string, blob: BlobClient): Promise<string> {
    return this.account(accountUrl).kustoUrl(blob);
  }

  private account(accountUrl: string): Account {
    let account = this.accounts.get(accountUrl);
    if (!account) {
      this.credential ??= this.options.credential();
      const service = new BlobServiceClient(accountUrl, this.credential);
      const auth = this.options.auth === 'kusto-identity' ? 'kusto-identity' : 'user-delegation';
      const sas = new LandingSas({ mode: 'user-delegation', service });
      account = { service, kustoUrl: kustoBlobUrl({ auth, sas, identity: this.options.identity }) };
      this.accounts.set(accountUrl, account);
    }
    return account;
  }
}
