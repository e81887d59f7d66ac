/**
 * Conformance: the official SDKs (azure-kusto-ingest / azure-kusto-data) talk to the stand-in exactly as they
 * would talk to a cluster, and so does our own client. If the stand-in misread the protocol, the official
 * SDK would notice where our client (written from the same reading) might not.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as KustoClient, KustoConnectionStringBuilder } from 'azure-kusto-data';
import {
  DataFormat,
  IngestClient,
  IngestionProperties,
  ReportLevel as OfficialReportLevel,
} from 'azure-kusto-ingest';
import { QueuedIngestClient } from '../../shared';
import { eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';

let dm: PrivateStandin;
let data: KustoClient;
const dir = mkdtempSync(join(tmpdir(), 'kif-conformance-'));

beforeAll(async () => {
  dm = await startPrivateStandin({ worker: true, accountCount: 1, batchingWindowMs: 100 });
  data = new KustoClient(KustoConnectionStringBuilder.withAccessToken(dm.standin.engineUrl, 'any-token'));
});
afterAll(async () => {
  data.close();
  await dm.stop();
});

async function count(table: string): Promise<number> {
  const result = await data.execute('demo', `${table} | count`);
  const row = result.primaryResults[0]?.toJSON<{ Count: number }>().data[0];
  return row?.Count ?? 0;
}

describe('the official SDKs against the stand-in', () => {
  it('azure-kusto-data runs control commands and queries, and parses v1 and v2 results', async () => {
    await data.execute('demo', '.create table Conformance (id:long, name:string, at:datetime)');
    const tables = await data.execute('demo', '.show tables | project TableName');
    expect(tables.primaryResults[0]?.toJSON<{ TableName: string }>().data).toContainEqual({
      TableName: 'Conformance',
    });

    await data.execute('demo', '.ingest inline into table Conformance <|\n1,a,2024-01-01\n2,b,2024-01-02\n');
    const query = await data.execute('demo', 'Conformance | where name == "b"');
    const rows = query.primaryResults[0]?.toJSON<{ id: number; name: string; at: Date }>().data ?? [];
    expect(rows).toHaveLength(1);
    expect(rows[0]?.id).toBe(2);
    // The official client turns datetime columns into Dates: the type names must be right.
    expect(rows[0]?.at).toEqual(new Date('2024-01-02T00:00:00Z'));
  });

  it('azure-kusto-ingest ingests a file through the queue, and the rows land', async () => {
    await data.execute('demo', '.create table OfficialIngest (id:long, name:string)');
    const path = join(dir, 'official.csv');
    writeFileSync(path, '1,alpha\n2,beta\n3,gamma\n');
    const ingest = new IngestClient(
      KustoConnectionStringBuilder.withAccessToken(dm.standin.dmUrl, 'any-token'),
      new IngestionProperties({
        database: 'demo',
        table: 'OfficialIngest',
        format: DataFormat.CSV,
        flushImmediately: true,
        reportLevel: OfficialReportLevel.FailuresOnly,
      }),
    );
    try {
      await ingest.ingestFromFile(path);
      await eventually(
        async () => ((await count('OfficialIngest')) === 3 ? true : undefined),
        20_000,
        'the official ingestion',
      );
      const names = (await data.execute('demo', 'OfficialIngest')).primaryResults[0]
        ?.toJSON<{ name: string }>()
        .data.map((r) => r.name);
      expect(names?.sort()).toEqual(['alpha', 'beta', 'gamma']);
    } finally {
      ingest.close();
    }
  });

  it('our own client does the same, and the official query client reads its rows', async () => {
    await data.execute('demo', '.create table OursIngest (id:long, name:string)');
    const path = join(dir, 'ours.csv');
    writeFileSync(path, '1,alpha\n2,beta\n3,gamma\n');
    const ours = new QueuedIngestClient({ ingestUri: dm.standin.dmUrl });
    await ours.ingestFromFile(path, {
      database: 'demo',
      table: 'OursIngest',
      format: 'csv',
      flushImmediately: true,
    });
    await eventually(
      async () => ((await count('OursIngest')) === 3 ? true : undefined),
      20_000,
      'our ingestion',
    );
  });
});
