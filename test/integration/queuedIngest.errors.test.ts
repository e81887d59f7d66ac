import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IngestResourceError,
  IngestValidationError,
  QueuedIngestClient,
  ReportLevel,
  ReportMethod,
  type IngestionProps,
} from '../../shared';
import { startStandin } from '../../dev/standin/standin';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService, testStack } from '../helpers/stack';

// What these tests check is v1's (queue messages, resources, temp containers): their clients are pinned
// to protocol v1, since the stand-in prefers REST ingestion as clusters now do.

let dm: PrivateStandin;
let client: QueuedIngestClient;
const dir = mkdtempSync(join(tmpdir(), 'kif-errors-'));
const base: IngestionProps = { database: 'db', table: 'T', format: 'csv' };

beforeAll(async () => {
  dm = await startPrivateStandin();
  client = new QueuedIngestClient({ protocol: 'v1', ingestUri: dm.standin.dmUrl });
});
afterAll(async () => {
  await dm.stop();
});

async function uploadedBlobs(): Promise<string[]> {
  const names: string[] = [];
  for (const index of [0, 1]) {
    for (const container of dm.layout.tempContainers) {
      for await (const blob of blobService(index).getContainerClient(container).listBlobsFlat())
        names.push(blob.name);
    }
  }
  return names;
}

async function expectRejected(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IngestValidationError);
  expect(error).toMatchObject({ code, transient: false });
  expect((error as Error).message).toMatch(message);
}

describe('bad input gets a clear, typed error and nothing is uploaded or queued', () => {
  afterEach(async () => {
    expect(await dm.drainMessages()).toHaveLength(0);
    expect(await uploadedBlobs()).toEqual([]);
  });

  it('an empty stream', async () => {
    await expectRejected(client.ingestFromStream([], base), 'EmptyInput', /empty/);
  });

  it('a stream of empty chunks', async () => {
    await expectRejected(client.ingestFromStream([Buffer.alloc(0), ''], base), 'EmptyInput', /empty/);
  });

  it('an empty file', async () => {
    const path = join(dir, 'empty.csv');
    writeFileSync(path, '');
    await expectRejected(client.ingestFromFile(path, base), 'EmptyInput', /empty\.csv' is empty/);
  });

  it('a file that does not exist', async () => {
    await expectRejected(
      client.ingestFromFile(join(dir, 'missing.csv'), base),
      'InvalidProperty',
      /missing\.csv/,
    );
  });

  it('an unknown format, with the list of valid ones', async () => {
    await expectRejected(
      client.ingestFromStream(['a'], { ...base, format: 'xlsx' as never }),
      'InvalidFormat',
      /Unknown format 'xlsx'.*csv, tsv.*parquet/,
    );
  });

  it.each([
    ['database', 'db;drop', /Invalid database name 'db;drop'/],
    ['table', '__hidden', /may not start or end with '__'/],
    ['table', '', /table name is missing/],
  ])('an invalid %s name %p', async (field, value, message) => {
    await expectRejected(client.ingestFromStream(['a'], { ...base, [field]: value }), 'InvalidName', message);
  });

  it('a mapping that does not fit the format', async () => {
    await expectRejected(
      client.ingestFromStream(['a'], { ...base, mapping: [{ column: 'c', properties: { Path: '$.c' } }] }),
      'MappingMismatch',
      /uses 'Path', but format 'csv' takes Csv mappings/,
    );
  });

  it('both an inline mapping and a mapping reference', async () => {
    await expectRejected(
      client.ingestFromStream(['a'], {
        ...base,
        mappingReference: 'm',
        mapping: [{ column: 'c', properties: { Ordinal: 0 } }],
      }),
      'InvalidProperty',
      /either 'mapping'.*or 'mappingReference'/,
    );
  });

  it('table reporting with FailuresOnly, which would leave success rows Pending forever', async () => {
    await expectRejected(
      client.ingestFromStream(['a'], {
        ...base,
        reportMethod: ReportMethod.Table,
        reportLevel: ReportLevel.FailuresOnly,
      }),
      'InvalidProperty',
      /FailuresAndSuccesses/,
    );
  });

  it('an additional property that collides with a named one', async () => {
    await expectRejected(
      client.ingestFromStream(['a'], { ...base, additionalProperties: { Format: 'json' } }),
      'InvalidProperty',
      /additionalProperties\.Format collides/,
    );
  });

  it('a sourceId that is not a UUID', async () => {
    await expectRejected(
      client.ingestFromStream(['a'], { ...base, sourceId: 'abc' }),
      'InvalidProperty',
      /not a UUID/,
    );
  });

  it('records with a format that is not JSON', async () => {
    await expectRejected(client.ingestFromRecords([{ a: 1 }], base), 'InvalidFormat', /use format 'json'/);
  });

  it('a record that is not an object', async () => {
    await expectRejected(
      client.ingestFromRecords([{ a: 1 }, 42], { ...base, format: 'json' }),
      'InvalidProperty',
      /Record 1 is not a plain object/,
    );
  });

  it('an inline mapping too large for a queue message', async () => {
    const mapping = Array.from({ length: 2000 }, (_, i) => ({
      column: `column_${i}`,
      datatype: 'string',
      properties: { Ordinal: i },
    }));
    await expectRejected(
      client.ingestFromBlob('https://acct.blob.core.windows.net/c/b.csv?sig=x', { ...base, mapping }),
      'TooLarge',
      /mappingReference/,
    );
  });

  it('an inline mapping too large for a queue message, before the data is uploaded', async () => {
    const mapping = Array.from({ length: 2000 }, (_, i) => ({
      column: `column_${i}`,
      datatype: 'string',
      properties: { Ordinal: i },
    }));
    await expectRejected(
      client.ingestFromStream(['a,b\n'], { ...base, mapping }),
      'TooLarge',
      /over the queue's limit/,
    );
  });

  it('a blob URL that names no blob', async () => {
    await expectRejected(
      client.ingestFromBlob('https://acct.blob.core.windows.net/?sig=secret', base),
      'InvalidProperty',
      /names no blob/,
    );
  });
});

describe('missing resources and cancellation', () => {
  it('a DM that hands out no temp container is an IngestResourceError that says what to check', async () => {
    const { accounts } = testStack();
    const broken = await startStandin({
      accounts: accounts.slice(0, 1),
      dmPort: 0,
      enginePort: 0,
      layout: { ...dm.layout, tempContainers: [] },
      worker: false,
    });
    try {
      const error = await new QueuedIngestClient({ protocol: 'v1', ingestUri: broken.dmUrl })
        .ingestFromStream(['a,b\n'], base)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IngestResourceError);
      expect((error as IngestResourceError).message).toMatch(/no temp storage container/);
      expect((error as IngestResourceError).transient).toBe(true);
    } finally {
      await broken.stop();
    }
  });

  it('an aborted call stops, queues nothing, and rejects with the abort reason', async () => {
    const controller = new AbortController();
    async function* slow() {
      yield Buffer.from('a,b\n');
      await new Promise((r) => setTimeout(r, 50));
      controller.abort(new Error('caller gave up'));
      yield Buffer.from('c,d\n');
    }
    await expect(client.ingestFromStream(slow(), base, { abortSignal: controller.signal })).rejects.toThrow(
      'caller gave up',
    );
    expect(await dm.drainMessages()).toHaveLength(0);
  });
});
