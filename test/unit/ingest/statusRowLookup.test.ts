import { IngestServiceError } from '../../../shared/errors';
import { pickStatusTable } from '../../../shared/ingest/ingestionQueue';
import { StatusReader } from '../../../shared/ingest/statusReader';
import type { ResourceManager } from '../../../shared/resources/resourceManager';
import { parseStorageResourceUrl } from '../../../shared/resources/storageUrl';
import type { StorageClients } from '../../../shared/upload/storageClients';

const tables = ['a', 'b', 'c'].map((n) =>
  parseStorageResourceUrl(`https://acct${n}.table.core.windows.net/statuses?sv=1&sig=x`),
);

/** A reader over status tables that hold the given rows (by table name, by source id), counting reads. */
function readerOver(rows: Map<string, Map<string, Record<string, unknown>>>) {
  const reads: string[] = [];
  const resources = {
    getResources: () => Promise.resolve({ statusTables: tables }),
  } as unknown as ResourceManager;
  const storage = {
    table: (t: (typeof tables)[number]) => ({
      getEntity: (pk: string) => {
        reads.push(t.accountName);
        const row = rows.get(t.accountName)?.get(pk);
        return row ? Promise.resolve(row) : Promise.reject(new IngestServiceError('no row', 'NotFound', 404));
      },
    }),
  } as unknown as StorageClients;
  return { reader: new StatusReader({ resources, storage, retry: { maxAttempts: 1 } }), reads };
}

describe('a status row looked up by source id alone', () => {
  const sourceId = '7a1f0c2e-1111-4222-8333-444455556666';
  const written = pickStatusTable(tables, sourceId).accountName;
  const other = tables.map((t) => t.accountName).find((n) => n !== written) as string;

  it('is read first in the table a new attempt of that source writes to', async () => {
    const { reader, reads } = readerOver(
      new Map([
        [other, new Map([[sourceId, { Status: 'PartiallySucceeded', timestamp: '2026-06-01T10:00:00Z' }]])],
        [written, new Map([[sourceId, { Status: 'Pending', timestamp: '2026-06-01T12:00:00Z' }]])],
      ]),
    );
    // The tables handed out changed between attempts: the old row elsewhere does not hide this attempt's.
    await expect(reader.getIngestionStatus(sourceId)).resolves.toMatchObject({
      status: 'Pending',
      rowWrittenOn: '2026-06-01T12:00:00Z',
    });
    expect(reads).toEqual([written]);
  });

  it('is found in the other tables when that one has none', async () => {
    const { reader, reads } = readerOver(
      new Map([[other, new Map([[sourceId, { Status: 'Succeeded', timestamp: '2026-06-01T10:00:00Z' }]])]]),
    );
    await expect(reader.getIngestionStatus(sourceId)).resolves.toMatchObject({ status: 'Succeeded' });
    expect(reads[0]).toBe(written);
    expect(reads).toContain(other);
  });
});
