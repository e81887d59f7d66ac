import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobSASPermissions, ContainerSASPermissions } from '@azure/storage-blob';
import {
  QueuedIngestClient,
  ReportLevel,
  ReportMethod,
  type IngestionProps,
  type IngestionReceipt,
} from '../../shared';
import { engine, eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService, queueService } from '../helpers/stack';

let dm: PrivateStandin;
let client: QueuedIngestClient;
let kusto: ReturnType<typeof engine>;
let n = 0;

beforeAll(async () => {
  dm = await startPrivateStandin({ worker: true, accountCount: 1, batchingWindowMs: 200 });
  client = new QueuedIngestClient({ ingestUri: dm.standin.dmUrl });
  kusto = engine(dm.standin.engineUrl);
});
afterAll(async () => {
  await dm.stop();
});
afterEach(() => {
  dm.standin.faults.reset();
});

async function newTable(schema = '(a:long, b:string)'): Promise<string> {
  const name = `R${++n}`;
  await kusto.mgmt(`.create table ${name} ${schema}`);
  return name;
}

const tableReporting = {
  reportLevel: ReportLevel.FailuresAndSuccesses,
  reportMethod: ReportMethod.Table,
} as const;

async function finalStatus(receipt: IngestionReceipt) {
  return eventually(
    async () => {
      const s = await client.getIngestionStatus(receipt);
      return s.status === 'Pending' ? undefined : s;
    },
    20_000,
    `the final status of ${receipt.sourceId}`,
  );
}

type StatusMessage = Record<string, unknown>;
async function drainStatusQueue(name: string): Promise<StatusMessage[]> {
  const queue = queueService(0).getQueueClient(name);
  const out: StatusMessage[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return out;
    for (const m of receivedMessageItems) {
      out.push(JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as StatusMessage);
      await queue.deleteMessage(m.messageId, m.popReceipt);
    }
  }
}

async function enqueueRaw(message: Record<string, unknown>): Promise<void> {
  await queueService(0)
    .getQueueClient(dm.layout.ingestionQueues[0] ?? '')
    .sendMessage(Buffer.from(JSON.stringify(message)).toString('base64'));
}

async function uploadBlob(name: string, content: string): Promise<string> {
  const container = blobService(0).getContainerClient(dm.layout.tempContainers[0] ?? '');
  const blob = container.getBlockBlobClient(name);
  await blob.upload(content, Buffer.byteLength(content));
  return blob.generateSasUrl({
    permissions: BlobSASPermissions.parse('rd'),
    expiresOn: new Date(Date.now() + 3_600_000),
  });
}

async function issuedToken(): Promise<string> {
  const response = await fetch(`${dm.standin.dmUrl}/v1/rest/mgmt`, {
    method: 'POST',
    body: JSON.stringify({ db: 'NetDefaultDB', csl: '.get kusto identity token' }),
  });
  const body = (await response.json()) as { Tables: { Rows: string[][] }[] };
  return body.Tables[0]?.Rows[0]?.[0] ?? '';
}

describe('failures are reported as the service reports them', () => {
  it('a malformed CSV: Failed row with Stream_WrongNumberOfFields, Permanent, and a failure-queue message', async () => {
    const table = await newTable();
    const receipt = await client.ingestFromStream(['1,a\n2,b,extra\n'], {
      database: 'demo',
      table,
      format: 'csv',
      flushImmediately: true,
      reportLevel: ReportLevel.FailuresAndSuccesses,
      reportMethod: ReportMethod.QueueAndTable,
    });
    const status = await finalStatus(receipt);
    expect(status).toMatchObject({
      status: 'Failed',
      errorCode: 'Stream_WrongNumberOfFields',
      failureStatus: 'Permanent',
    });
    expect(status.details).toMatch(/Inconsistent number of fields/);
    expect(status.operationId).toMatch(/^[0-9a-f-]{36}$/);
    const failures = await eventually(async () => {
      const got = await drainStatusQueue(dm.layout.failureQueue);
      return got.length > 0 ? got : undefined;
    });
    expect(failures).toEqual([
      expect.objectContaining({
        IngestionSourceId: receipt.sourceId,
        IngestionSourcePath: receipt.blobPath,
        Database: 'demo',
        Table: table,
        ErrorCode: 'Stream_WrongNumberOfFields',
        FailureStatus: 'Permanent',
        ShouldRetry: false,
      }),
    ]);
    expect(await kusto.count(table)).toBe(0); // all or nothing
    // The failed temp blob is kept for analysis, as the service keeps it.
    expect(
      await blobService(0)
        .getContainerClient(receipt.blobPath?.split('/').at(-2) ?? '')
        .getBlobClient(receipt.blobPath?.split('/').at(-1) ?? '')
        .exists(),
    ).toBe(true);
    const shown = await kusto.mgmt('.show ingestion failures');
    // The documented columns, in the documented order (learn.microsoft.com .show ingestion failures).
    expect(shown.columns).toEqual([
      'OperationId',
      'Database',
      'Table',
      'FailedOn',
      'IngestionSourcePath',
      'Details',
      'FailureKind',
      'RootActivityId',
      'OperationKind',
      'OriginatesFromUpdatePolicy',
      'ErrorCode',
      'Principal',
      'User',
      'IngestionProperties',
      'NumberOfSources',
      'ShouldRetry',
    ]);
    expect(shown.objects).toContainEqual(
      expect.objectContaining({
        Table: table,
        ErrorCode: 'Stream_WrongNumberOfFields',
        FailureKind: 'Permanent',
        IngestionSourcePath: receipt.blobPath?.split('?')[0],
      }),
    );
    // Filtered by time, as the failures-only sweep asks: later than now, none; since a minute ago, this one.
    const later = new Date(Date.now() + 60_000).toISOString();
    const since = new Date(Date.now() - 60_000).toISOString();
    expect(
      (await kusto.mgmt(`.show ingestion failures | where FailedOn >= datetime(${later})`)).objects,
    ).toEqual([]);
    expect(
      (
        await kusto.mgmt(
          `.show ingestion failures | where FailedOn > datetime(${since}) | where Table == '${table}'`,
        )
      ).objects,
    ).toHaveLength(1);
  });

  it('success: a Succeeded row, a success-queue message for QueueAndTable, and the temp blob deleted', async () => {
    const table = await newTable();
    const receipt = await client.ingestFromStream(['1,a\n'], {
      database: 'demo',
      table,
      format: 'csv',
      flushImmediately: true,
      reportLevel: ReportLevel.FailuresAndSuccesses,
      reportMethod: ReportMethod.QueueAndTable,
    });
    expect(await finalStatus(receipt)).toMatchObject({ status: 'Succeeded' });
    const successes = await eventually(async () => {
      const got = (await drainStatusQueue(dm.layout.successQueue)).filter(
        (m) => m.IngestionSourceId === receipt.sourceId,
      );
      return got.length > 0 ? got : undefined;
    });
    expect(successes[0]).toEqual(
      expect.objectContaining({ Database: 'demo', Table: table, SucceededOn: expect.any(String) as unknown }),
    );
    const [container, name] = (receipt.blobPath ?? '').split('/').slice(-2);
    expect(
      await blobService(0)
        .getContainerClient(container ?? '')
        .getBlobClient(name ?? '')
        .exists(),
    ).toBe(false);
  });

  it.each([
    ['an unknown database', { database: 'nope' }, 'BadRequest_DatabaseNotExist'],
    ['an unknown table', { table: 'Missing' }, 'BadRequest_TableNotExist'],
    ['a missing mapping reference', { mappingReference: 'nope' }, 'BadRequest_MappingReferenceWasNotFound'],
    [
      'a mapping column the table lacks',
      { mapping: [{ column: 'zz', properties: { Ordinal: 0 } }] },
      'BadRequest_InconsistentMapping',
    ],
    ['an unsupported format', { format: 'orc' }, 'BadRequest_FormatNotSupported'],
    ['a format that does not match the data', { format: 'multijson' }, 'BadRequest_InvalidBlob'],
  ])('%s → %s, permanent', async (_what, override, code) => {
    const table = await newTable();
    const props = {
      database: 'demo',
      table,
      format: 'csv',
      flushImmediately: true,
      ...tableReporting,
      ...override,
    } as IngestionProps;
    const receipt = await client.ingestFromStream(['1,a\n'], props);
    expect(await finalStatus(receipt)).toMatchObject({
      status: 'Failed',
      errorCode: code,
      failureStatus: 'Permanent',
    });
  });

  it('an empty blob, a blob that is gone, and a SAS that does not match get the documented codes', async () => {
    const table = await newTable();
    const token = await issuedToken();
    const container = blobService(0).getContainerClient(dm.layout.tempContainers[0] ?? '');
    const containerSas = await container.generateSasUrl({
      permissions: ContainerSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const [base, query] = containerSas.split('?') as [string, string];
    const blobSas = await uploadBlob(`tampered-${Date.now()}.csv`, '1,a\n');
    const cases = [
      [
        'aaaaaaaa-0000-4000-8000-000000000001',
        await uploadBlob(`empty-${Date.now()}.csv`, ''),
        'BadRequest_EmptyBlob',
      ],
      [
        'aaaaaaaa-0000-4000-8000-000000000002',
        `${base}/never-existed.csv?${query}`,
        'Download_SourceNotFound',
      ],
      ['aaaaaaaa-0000-4000-8000-000000000003', blobSas.replace('tampered-', 'other-'), 'Download_Forbidden'],
    ] as const;
    for (const [id, url] of cases) {
      await enqueueRaw({
        Id: id,
        BlobPath: url,
        DatabaseName: 'demo',
        TableName: table,
        FlushImmediately: true,
        ReportLevel: 2,
        ReportMethod: 1,
        AdditionalProperties: { authorizationContext: token, format: 'csv' },
        IngestionStatusInTable: { PartitionKey: id, RowKey: id, TableConnectionString: 'whatever' },
      });
    }
    for (const [id, , code] of cases) {
      expect(await finalStatusById(id)).toMatchObject({
        status: 'Failed',
        errorCode: code,
        failureStatus: 'Permanent',
      });
    }
  });
});

async function finalStatusById(id: string) {
  return eventually(async () => {
    const s = await client.getIngestionStatus(id);
    return s.status === 'Pending' ? undefined : s;
  });
}

describe('decoding: lenient where the service is, strict where it is', () => {
  async function sendAndWait(
    extra: Record<string, unknown>,
    props: Record<string, unknown>,
    table: string,
    id: string,
  ) {
    const url = await uploadBlob(`lenient-${id}.csv`, '1,a\n');
    await enqueueRaw({
      Id: id,
      BlobPath: url,
      DatabaseName: 'demo',
      TableName: table,
      RawDataSize: null,
      RetainBlobOnSuccess: true,
      FlushImmediately: true,
      ReportLevel: 2,
      ReportMethod: 1,
      AdditionalProperties: { authorizationContext: await issuedToken(), format: 'csv', ...props },
      ...extra,
    });
    return finalStatusById(id);
  }

  it("accepts the official SDK's quirks: camelCase status keys, null RawDataSize, ingestIfNotExists as an array", async () => {
    const table = await newTable();
    const official =
      (
        JSON.parse(
          readFileSync(
            join(__dirname, '..', 'fixtures', 'official-node-sdk', 'queue-message-c-blob-queueandtable.json'),
            'utf8',
          ),
        ) as { decoded: Record<string, unknown> }[]
      )[0]?.decoded ?? {};
    const id = 'bbbbbbbb-0000-4000-8000-000000000001';
    const status = await sendAndWait(
      {
        IngestionStatusInTable: {
          tableConnectionString: 'https://127.0.0.1:10102?tn=ingestionsstatus',
          partitionKey: id,
          rowKey: id,
        },
      },
      {
        ingestIfNotExists: ['never-seen'],
        tags: (official.AdditionalProperties as Record<string, unknown>).tags,
      },
      table,
      id,
    );
    expect(status).toMatchObject({ status: 'Succeeded' });
    expect(await kusto.count(table)).toBe(1);
  });

  it('fails tags sent as a real JSON array with BadRequest_MalformedIngestionProperty, as the service did', async () => {
    const table = await newTable();
    const id = 'bbbbbbbb-0000-4000-8000-000000000002';
    const status = await sendAndWait(
      { IngestionStatusInTable: { PartitionKey: id, RowKey: id, TableConnectionString: '' } },
      { tags: ['drop-by:x'] },
      table,
      id,
    );
    expect(status).toMatchObject({
      status: 'Failed',
      errorCode: 'BadRequest_MalformedIngestionProperty',
      failureStatus: 'Permanent',
    });
  });

  it('refuses an authorization context it did not issue', async () => {
    const table = await newTable();
    const id = 'bbbbbbbb-0000-4000-8000-000000000003';
    const status = await sendAndWait(
      { IngestionStatusInTable: { PartitionKey: id, RowKey: id, TableConnectionString: '' } },
      { authorizationContext: 'forged' },
      table,
      id,
    );
    expect(status).toMatchObject({ status: 'Failed', errorCode: 'BadRequest_InvalidKustoIdentityToken' });
    expect(await kusto.count(table)).toBe(0);
  });

  it('skips a source whose ingest-by tag is already there (ingestIfNotExists), with status Skipped', async () => {
    const table = await newTable();
    const props = { database: 'demo', table, format: 'csv', ...tableReporting } as const;
    const first = await client.ingestFromStream(['1,a\n2,b\n'], { ...props, ingestByTags: ['part-1'] });
    expect(await finalStatus(first)).toMatchObject({ status: 'Succeeded' });
    const again = await client.ingestFromStream(['1,a\n2,b\n'], {
      ...props,
      ingestByTags: ['part-1'],
      ingestIfNotExists: ['part-1'],
    });
    const status = await finalStatus(again);
    expect(status).toMatchObject({ status: 'Skipped' });
    expect(status.details).toMatch(/ingest-by:part-1/);
    expect(await kusto.count(table)).toBe(2);
  });
});

describe('extent properties', () => {
  it('keeps creationTime and the tags (drop-by, ingest-by) on the extent', async () => {
    const table = await newTable();
    const receipt = await client.ingestFromStream(['1,a\n'], {
      database: 'demo',
      table,
      format: 'csv',
      flushImmediately: true,
      creationTime: '2023-06-01T00:00:00Z',
      tags: ['t1'],
      dropByTags: ['2023-06'],
      ...tableReporting,
    });
    expect(await finalStatus(receipt)).toMatchObject({ status: 'Succeeded' });
    expect((await kusto.mgmt(`.show table ${table} extents`)).objects).toEqual([
      expect.objectContaining({
        RowCount: 1,
        MinCreatedOn: '2023-06-01T00:00:00Z',
        Tags: 't1\r\ndrop-by:2023-06',
      }),
    ]);
  });
});

describe('fault switches and batching', () => {
  it('ingestDelayMs slows each batch down', async () => {
    const table = await newTable();
    dm.standin.faults.update({ ingestDelayMs: 1500 });
    const receipt = await client.ingestFromStream(['1,a\n'], {
      database: 'demo',
      table,
      format: 'csv',
      flushImmediately: true,
      ...tableReporting,
    });
    // The worker has taken the message: without the delay it would be ingested and reported by now.
    await eventually(() => Promise.resolve((dm.standin.worker?.busy ?? 0) > 0 ? true : undefined));
    const taken = Date.now();
    expect(await client.getIngestionStatus(receipt)).toMatchObject({ status: 'Pending' });
    expect(await finalStatus(receipt)).toMatchObject({ status: 'Succeeded' });
    expect(Date.now() - taken).toBeGreaterThanOrEqual(1000); // a lower bound: a slow machine only adds to it
  });

  it('failIngestionsTransient fails the next ingestion transiently; failIngestionsPermanent permanently', async () => {
    const table = await newTable();
    const props = {
      database: 'demo',
      table,
      format: 'csv',
      flushImmediately: true,
      ...tableReporting,
    } as const;
    dm.standin.faults.update({ failIngestionsTransient: 1 });
    expect(await finalStatus(await client.ingestFromStream(['1,a\n'], props))).toMatchObject({
      status: 'Failed',
      failureStatus: 'Transient',
    });
    dm.standin.faults.update({ failIngestionsPermanent: 1 });
    expect(await finalStatus(await client.ingestFromStream(['1,a\n'], props))).toMatchObject({
      status: 'Failed',
      failureStatus: 'Permanent',
    });
    expect(await finalStatus(await client.ingestFromStream(['1,a\n'], props))).toMatchObject({
      status: 'Succeeded',
    });
  });

  it('workerPaused holds ingestions until it is lifted', async () => {
    const table = await newTable();
    dm.standin.faults.update({ workerPaused: true });
    const receipt = await client.ingestFromStream(['1,a\n'], {
      database: 'demo',
      table,
      format: 'csv',
      flushImmediately: true,
      ...tableReporting,
    });
    await dm.standin.worker?.turns(3); // three rounds in which a running worker would have taken it
    expect(await client.getIngestionStatus(receipt)).toMatchObject({ status: 'Pending' });
    dm.standin.faults.update({ workerPaused: false });
    expect(await finalStatus(receipt)).toMatchObject({ status: 'Succeeded' });
  });

  it("batches messages for a table's window (its ingestionbatching policy), and FlushImmediately skips the wait", async () => {
    const table = await newTable();
    await kusto.mgmt(
      `.alter table ${table} policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:00:03"}'`,
    );
    const props = { database: 'demo', table, format: 'csv', ...tableReporting } as const;
    const batched = await Promise.all([
      client.ingestFromStream(['1,a\n'], props),
      client.ingestFromStream(['2,b\n'], props),
    ]);
    const flushed = await client.ingestFromStream(['3,c\n'], { ...props, flushImmediately: true });
    expect(await finalStatus(flushed)).toMatchObject({ status: 'Succeeded' });
    // The flushed one is done while the batch still waits for its window.
    expect((await client.getIngestionStatus(batched[0])).status).toBe('Pending');
    for (const r of batched) expect(await finalStatus(r)).toMatchObject({ status: 'Succeeded' });
    expect(await kusto.count(table)).toBe(3);
  });
});
