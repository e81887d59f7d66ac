import { closeIngestClients, getIngestClient } from '../../../shared/ingest/getIngestClient';
import { QueuedIngestClient } from '../../../shared/ingest/queuedIngestClient';
import { IngestValidationError } from '../../../shared/errors';

afterEach(() => closeIngestClients());

describe('getIngestClient', () => {
  it('returns one client per cluster, whatever the URL casing or path', () => {
    const a = getIngestClient('https://ingest-c.westeurope.kusto.windows.net', { compressionLevel: 3 });
    const b = getIngestClient('https://INGEST-C.westeurope.kusto.windows.net/', { compressionLevel: 3 });
    expect(a).toBeInstanceOf(QueuedIngestClient);
    expect(b).toBe(a);
    expect(getIngestClient('https://ingest-other.kusto.windows.net')).not.toBe(a);
  });

  it('throws rather than silently ignoring different options for the same cluster', () => {
    getIngestClient('https://ingest-c.kusto.windows.net', { compressionLevel: 3 });
    expect(() => getIngestClient('https://ingest-c.kusto.windows.net', { compressionLevel: 6 })).toThrow(
      IngestValidationError,
    );
  });

  it('checks options at construction with messages that echo the bad value', () => {
    expect(
      () => new QueuedIngestClient({ ingestUri: 'https://ingest-c.kusto.windows.net', compressionLevel: 12 }),
    ).toThrow(/compressionLevel must be an integer from 1 to 9, got 12/);
    expect(() => new QueuedIngestClient({ ingestUri: 'nope' })).toThrow(/Invalid Kusto endpoint 'nope'/);
    expect(() => new QueuedIngestClient({} as never)).toThrow(/ingestUri is required/);
  });

  it('refuses calls once closed', async () => {
    const client = new QueuedIngestClient({ ingestUri: 'https://ingest-c.kusto.windows.net' });
    client.close();
    await expect(
      client.ingestFromStream(['a'], { database: 'd', table: 't', format: 'csv' }),
    ).rejects.toThrow(/closed/);
  });
});
