import {
  BlobSASPermissions,
  generateBlobSASQueryParameters,
  type BlobClient,
  type BlobServiceClient,
  type UserDelegationKey,
} from '@azure/storage-blob';

export interface LandingSasOptions {
  readonly mode: 'user-delegation' | 'account-key';
  readonly service: BlobServiceClient;
  /** How long a SAS lets Kusto read the blob. @default 24 h */
  readonly validForMs?: number;
  readonly clock?: () => number;
}

/**
 * Read SAS URLs for landing blobs, for Kusto to download them. In Azure a user-delegation SAS (signed with a
 * key the app's identity obtains, so no account key is ever needed); locally an account-key SAS.
 */
export class LandingSas {
  private key: Promise<UserDelegationKey> | undefined;
  private keyExpiresOn = 0;

  constructor(private readonly options: LandingSasOptions) {}

  async readUrl(blob: BlobClient): Promise<string> {
    const now = this.options.clock?.() ?? Date.now();
    const startsOn = new Date(now - 5 * 60_000);
    const expiresOn = new Date(now + (this.options.validForMs ?? 24 * 3_600_000));
    const permissions = BlobSASPermissions.parse('r');
    if (this.options.mode === 'account-key') {
      return blob.generateSasUrl({ permissions, startsOn, expiresOn });
    }
    const key = await this.delegationKey(now, expiresOn);
    const sas = generateBlobSASQueryParameters(
      { containerName: blob.containerName, blobName: blob.name, permissions, startsOn, expiresOn },
      key,
      blob.accountName,
    ).toString();
    return `${blob.url}?${sas}`;
  }

  // A delegation key lasts up to 7 days: take one for two days and renew it with a day to spare.
  private async delegationKey(now: number, needUntil: Date): Promise<UserDelegationKey> {
    if (!this.key || this.keyExpiresOn < needUntil.getTime() + 60_000) {
      const expiresOn = new Date(now + 2 * 86_400_000);
      this.keyExpiresOn = expiresOn.getTime();
      const pending = this.options.service.getUserDelegationKey(new Date(now - 5 * 60_000), expiresOn);
      this.key = pending;
      pending.catch(() => {
        if (this.key === pending) this.key = undefined;
      });
    }
    return this.key;
  }
}
