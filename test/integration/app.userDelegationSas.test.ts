/**
 * The production path for landing blobs: a user-delegation SAS, signed with a key the app's identity
 * obtains over OAuth (no account key). Exercised on an https Azurite started with `--oauth basic`.
 */
import { BlobClient, BlobServiceClient } from '@azure/storage-blob';
import { LandingSas } from '../../shared/app/landing/landingSas';
import { QueuedIngestClient, ReportLevel, ReportMethod } from '../../shared';
import { EmulatorTokenCredential, httpsBlobEndpoint } from '../helpers/emulatorToken';
import { engine, eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';

let dm: PrivateStandin;
beforeAll(async () => {
  dm = await startPrivateStandin({ worker: true, accountCount: 1, batchingWindowMs: 100 });
});
afterAll(async () => {
  await dm.stop();
});

describe('user-delegation SAS for landing blobs', () => {
  it('signs a read SAS with a delegation key obtained by identity, which storage honours and Kusto reads through', async () => {
    const endpoint = httpsBlobEndpoint();
    const credential = new EmulatorTokenCredential();
    const service = new BlobServiceClient(endpoint, credential);
    const container = service.getContainerClient(`landing-ud-${Date.now()}`);
    await container.create();
    const blob = container.getBlockBlobClient('demo/Delegated/data.csv');
    await blob.upload('1,delegated\n2,sas\n', 18);

    const sas = new LandingSas({ mode: 'user-delegation', service });
    const url = await sas.readUrl(blob);
    const query = new URL(url).searchParams;
    expect(query.get('skoid')).toBe('00000000-0000-0000-0000-00000000beef'); // signed with the identity's key
    expect(query.get('sp')).toBe('r');
    expect(query.has('sig')).toBe(true);

    // Storage honours it: anyone holding the URL can read, nothing more.
    expect((await new BlobClient(url).downloadToBuffer()).toString()).toBe('1,delegated\n2,sas\n');
    await expect(new BlobClient(url).delete()).rejects.toMatchObject({ statusCode: 403 });
    // The delegation key is reused, not fetched per blob.
    const before = credential.requests;
    await sas.readUrl(container.getBlobClient('other.csv'));
    expect(credential.requests).toBe(before);

    // And Kusto (the stand-in) ingests the blob through it.
    const kusto = engine(dm.standin.engineUrl);
    await kusto.mgmt('.create table Delegated (id:long, name:string)');
    const client = new QueuedIngestClient({ ingestUri: dm.standin.dmUrl });
    const receipt = await client.ingestFromBlob(url, {
      database: 'demo',
      table: 'Delegated',
      format: 'csv',
      flushImmediately: true,
      reportLevel: ReportLevel.FailuresAndSuccesses,
      reportMethod: ReportMethod.Table,
    });
    await eventually(
      async () => {
        const s = await client.getIngestionStatus(receipt);
        return s.status === 'Succeeded' ? s : undefined;
      },
      20_000,
      'the delegated ingestion',
    );
    expect(await kusto.count('Delegated')).toBe(2);
  });
});
