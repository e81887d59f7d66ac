/** Splitting a large input into parts at record boundaries (docs/contracts.md, 'Splitting'), against Azurite and the stand-in. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { BlobClient } from '@azure/storage-blob';
import { QueuedIngestClient, ReportLevel, ReportMethod, type IngestionProps } from '../../shared';
import { partSourceId } from '../../shared/ingest/splitParts';
import { engine, eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';

// What these tests check is v1's (queue messages, resources, temp containers): their clients are pinned
// to protocol v1, since the stand-in prefers REST ingestion as clusters now do.

type Message = Record<string, unknown> & { AdditionalProperties: Record<string, unknown> };

/** CSV rows, every fifth with a quoted field that holds a newline and an escaped quote. */
function csv(rows: number): Buffer {
  const lines = ['id,name\n'];
  for (let i = 0; i < rows; i++)
    lines.push(i % 5 === 0 ? `${i},"two\nlines, ""quoted"" ${i}"\n` : `${i},plain name ${i}\n`);
  return Buffer.from(lines.join(''));
}

/** Chunks of odd sizes, so that cuts fall anywhere within them. */
function chunks(data: Buffer, size = 777): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

const statusProps = {
  reportLevel: ReportLevel.FailuresAndSuccesses,
  reportMethod: ReportMethod.Table,
} as const;

describe('QueuedIngestClient: splitting (messages as queued)', () => {
  let dm: PrivateStandin;
  let dir: string;
  const threshold = 20_000;
  beforeAll(async () => {
    dm = await startPrivateStandin({ accountCount: 1 });
    dir = mkdtempSync(join(tmpdir(), 'kif-split-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await dm.stop();
  });
  const client = () =>
    new QueuedIngestClient({ protocol: 'v1', ingestUri: dm.standin.dmUrl, splitThresholdInBytes: threshold });

  async function partMessages(count: number): Promise<Message[]> {
    const messages = (await dm.drainMessages()) as Message[];
    expect(messages).toHaveLength(count);
    return messages;
  }

  it('cuts a stream into parts at record ends: one blob and message each, the header skipped in part 0 only', async () => {
    const input = csv(3000);
    const props: IngestionProps = { database: 'db', table: 'Split', format: 'csv', ignoreFirstRecord: true };
    const receipt = await client().ingestFromStream(Readable.from(chunks(input)), {
      ...props,
      ...statusProps,
    });

    const parts = receipt.parts ?? [];
    expect(parts.length).toBe(Math.ceil(input.length / threshold));
    expect(receipt.blobPath).toBeUndefined();
    expect(receipt.status).toBe('Pending');
    parts.forEach((p, n) => {
      expect(p.sourceId).toBe(partSourceId(receipt.sourceId, n));
      expect(p.status).toBe('Pending');
    });
    // A stream's first part starts before its size is known: it keeps the unsplit name; the others say p{n}.
    expect(parts[0]?.blobPath).toMatch(new RegExp(`/db__Split__${receipt.sourceId}__stream\\.csv\\.gz$`));
    for (let n = 1; n < parts.length; n++)
      expect(parts[n]?.blobPath).toMatch(
        new RegExp(`/db__Split__${receipt.sourceId}__p${n}__stream\\.csv\\.gz$`),
      );

    const messages = await partMessages(parts.length);
    const byId = new Map(messages.map((m) => [m.Id as string, m]));
    const bodies: Buffer[] = [];
    for (const [n, part] of parts.entries()) {
      const message = byId.get(part.sourceId) as Message;
      expect(message.AdditionalProperties.ignoreFirstRecord).toBe(n === 0 ? 'true' : undefined);
      const body = gunzipSync(await new BlobClient(message.BlobPath as string).downloadToBuffer());
      expect(message.RawDataSize).toBe(body.length);
      if (n < parts.length - 1) expect(body.length).toBeGreaterThanOrEqual(threshold);
      // Each part ends a record: an even number of quotes, and a newline last.
      expect((body.toString().match(/"/g) ?? []).length % 2).toBe(0);
      expect(body[body.length - 1]).toBe(0x0a);
      bodies.push(body);
    }
    expect(Buffer.concat(bodies).equals(input)).toBe(true); // byte for byte

    const c = client();
    expect((await c.getIngestionStatus(receipt)).status).toBe('Pending');
    // By the parent's id alone, the parts are found through their derived ids.
    const byParentId = await c.getIngestionStatus(receipt.sourceId);
    expect(byParentId).toEqual(expect.objectContaining({ sourceId: receipt.sourceId, status: 'Pending' }));
    // Stamped by the latest of its parts' rows.
    const stamps = await Promise.all(parts.map(async (p) => (await c.getIngestionStatus(p)).rowWrittenOn));
    expect(stamps.every((s) => s !== undefined)).toBe(true);
    expect(Date.parse(byParentId.rowWrittenOn ?? '')).toBe(
      Math.max(...stamps.map((s) => Date.parse(s ?? ''))),
    );
  });

  it('names every part of a file larger than the threshold p{n}, part 0 included', async () => {
    const input = csv(1500);
    const path = join(dir, 'big.csv');
    writeFileSync(path, input);
    const receipt = await client().ingestFromFile(path, { database: 'db', table: 'Split', format: 'csv' });
    const parts = receipt.parts ?? [];
    expect(parts.length).toBeGreaterThan(1);
    parts.forEach((p, n) =>
      expect(p.blobPath).toMatch(new RegExp(`__${receipt.sourceId}__p${n}__big\\.csv\\.gz$`)),
    );
    expect(receipt.status).toBe('Queued');
    const messages = await partMessages(parts.length);
    const ordered = parts.map((p) => messages.find((m) => m.Id === p.sourceId) as Message);
    const bodies = await Promise.all(
      ordered.map(async (m) => gunzipSync(await new BlobClient(m.BlobPath as string).downloadToBuffer())),
    );
    expect(Buffer.concat(bodies).equals(input)).toBe(true);
  });

  it('never splits formats whose records may span lines, nor input under the threshold', async () => {
    const multijson = Buffer.from(
      Array.from({ length: 2000 }, (_, i) => `{\n  "id": ${i},\n  "name": "n${i}"\n}\n`).join(''),
    );
    expect(multijson.length).toBeGreaterThan(2 * threshold);
    const receipt = await client().ingestFromStream(Readable.from(chunks(multijson)), {
      database: 'db',
      table: 'Split',
      format: 'multijson',
    });
    expect(receipt.parts).toBeUndefined();
    const small = await client().ingestFromStream([csv(10)], {
      database: 'db',
      table: 'Split',
      format: 'csv',
    });
    expect(small.parts).toBeUndefined();
    const messages = await partMessages(2);
    expect(messages.map((m) => m.Id).sort()).toEqual([receipt.sourceId, small.sourceId].sort());
  });

  it('refuses a threshold that is not a positive integer', () => {
    expect(
      () => new QueuedIngestClient({ protocol: 'v1', ingestUri: dm.standin.dmUrl, splitThresholdInBytes: 0 }),
    ).toThrow(/splitThresholdInBytes must be an integer/);
  });
});

describe('QueuedIngestClient: splitting (ingested by the stand-in)', () => {
  let dm: PrivateStandin;
  beforeAll(async () => {
    dm = await startPrivateStandin({ worker: true, accountCount: 1, batchingWindowMs: 100 });
  });
  afterAll(async () => {
    await dm.stop();
  });

  it('ingests every record of a split CSV once, and reports the parent Succeeded', async () => {
    const kusto = engine(dm.standin.engineUrl); // the stand-in's 'demo' database
    await kusto.mgmt('.create table Parts (id:long, name:string)');
    const rows = 2000;
    const client = new QueuedIngestClient({
      protocol: 'v1',
      ingestUri: dm.standin.dmUrl,
      splitThresholdInBytes: 10_000,
    });
    const receipt = await client.ingestFromStream(Readable.from(chunks(csv(rows), 1000)), {
      database: 'demo',
      table: 'Parts',
      format: 'csv',
      ignoreFirstRecord: true,
      ...statusProps,
    });
    expect(receipt.parts?.length).toBeGreaterThan(3);
    const status = await eventually(
      async () => {
        const s = await client.getIngestionStatus(receipt.sourceId);
        return s.status === 'Pending' ? undefined : s;
      },
      30_000,
      'all parts to be ingested',
    );
    expect(status.status).toBe('Succeeded');
    const ingested = (await kusto.query('Parts')).objects;
    const ids = ingested.map((r) => Number(r.id)).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: rows }, (_, i) => i)); // each once: no header, no cut record
    expect(ingested.find((r) => Number(r.id) === 5)?.name).toBe('two\nlines, "quoted" 5');
  });
});
