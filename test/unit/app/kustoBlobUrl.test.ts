import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { kustoBlobUrl } from '../../../shared/app/landing/kustoBlobUrl';
import { LandingSas } from '../../../shared/app/landing/landingSas';

const service = new BlobServiceClient(
  'https://stland.blob.core.windows.net',
  new StorageSharedKeyCredential('stland', Buffer.from('not-a-real-key').toString('base64')),
);
const blob = service.getContainerClient('landing').getBlobClient('demo/Events/a b#1.csv');
const sas = new LandingSas({ mode: 'account-key', service });

describe('kustoBlobUrl: the URL Kusto reads a landing blob by', () => {
  it('kusto-identity: the blob URL with the documented ;managed_identity= suffix, and no SAS', async () => {
    const url = await kustoBlobUrl({ auth: 'kusto-identity', sas, identity: 'system' })(blob);
    expect(url).toBe(
      'https://stland.blob.core.windows.net/landing/demo/Events/a%20b%231.csv;managed_identity=system',
    );
    expect(url).not.toMatch(/[?&]sig=/);
  });

  it('names a user-assigned identity by its object id', async () => {
    const id = '6a5820b9-fdf6-4cc4-81b9-b416b444fd6d';
    expect(await kustoBlobUrl({ auth: 'kusto-identity', sas, identity: id })(blob)).toMatch(
      new RegExp(`;managed_identity=${id}$`),
    );
  });

  it('never carries the query of a SAS-authenticated client along', async () => {
    const sasClient = new BlobServiceClient('https://stland.blob.core.windows.net?sv=2024&sig=secret');
    const withQuery = sasClient.getContainerClient('landing').getBlobClient('x.csv');
    const url = await kustoBlobUrl({ auth: 'kusto-identity', sas, identity: 'system' })(withQuery);
    expect(url).toBe('https://stland.blob.core.windows.net/landing/x.csv;managed_identity=system');
  });

  it('account-key and user-delegation: a read SAS, no identity', async () => {
    const url = await kustoBlobUrl({ auth: 'account-key', sas, identity: 'system' })(blob);
    expect(url).toMatch(/\?.*sp=r.*&sig=/);
    expect(url).not.toMatch(/managed_identity/);
  });
});
