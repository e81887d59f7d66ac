import { gunzipSync } from 'node:zlib';
import { BlobClient } from '@azure/storage-blob';
import { QueuedIngestClient, ReportLevel, ReportMethod } from '../../shared';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { tableClient } from '../helpers/stack';

let dm: PrivateStandin;
beforeAll(async () => {
  dm = await startPrivateStandin();
});
afterAll(async () => {
  await dm.stop();
});

describe('one client under concurrency', () => {
  it('200 parallel ingestions give 200 distinct messages, 200 status rows and a single resources fetch', async () => {
    const client = new QueuedIngestClient({ ingestUri: dm.standin.dmUrl });
    const inputs = Array.from({ length: 200 }, (_, i) =>
      Buffer.from(`${i},payload-${i}\n`.repeat(1 + (i % 5))),
    );
    const receipts = await Promise.all(
      inputs.map((input, i) =>
        client.ingestFromStream([input], {
          database: 'db',
          table: `T${i % 3}`,
          format: 'csv',
          reportLevel: ReportLevel.FailuresAndSuccesses,
          reportMethod: ReportMethod.Table,
        }),
      ),
    );

    expect(dm.standin.dm.commandCounts.get('.get ingestion resources')).toBe(1);
    expect(dm.standin.dm.commandCounts.get('.get kusto identity token')).toBe(1);
    expect(client.resourceFetchCount).toBe(1);

    const ids = new Set(receipts.map((r) => r.sourceId));
    expect(ids.size).toBe(200);
    const messages = await dm.drainMessages();
    expect(messages).toHaveLength(200);
    expect(new Set(messages.map((m) => m.Id))).toEqual(ids);
    expect(new Set(messages.map((m) => m.BlobPath)).size).toBe(200);
    // Round-robin: both queues of both accounts took messages.
    expect(new Set(messages.map((m) => m.__queue)).size).toBe(4);

    // Each message points at its own input, byte for byte (checked on a sample to keep the test quick).
    const byId = new Map(receipts.map((r, i) => [r.sourceId, inputs[i]]));
    for (const m of messages.slice(0, 20)) {
      const content = gunzipSync(await new BlobClient(String(m.BlobPath)).downloadToBuffer());
      expect(content.equals(byId.get(String(m.Id)) ?? Buffer.alloc(0))).toBe(true);
      expect(m.RawDataSize).toBe(byId.get(String(m.Id))?.length);
    }
    const rows = tableClient(dm.layout.statusTable).listEntities();
    const seen = new Set<string>();
    for await (const row of rows) {
      expect(row.Status).toBe('Pending');
      seen.add(String(row.IngestionSourceId));
    }
    expect(seen).toEqual(ids);
  });
});
