/**
 * The commands real Kusto clients send, through the official azure-kusto-data client, against the
 * stand-in's engine and Data Management endpoints: each answers with the columns the Kusto docs give it
 * (docs/protocol.md, 'Commands'), and what it does not support is refused by name.
 */
import { Readable } from 'node:stream';
import { ContainerClient } from '@azure/storage-blob';
import { Client as KustoClient, KustoConnectionStringBuilder } from 'azure-kusto-data';
import { QueuedIngestClient, ReportLevel, ReportMethod } from '../../shared';
import { eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService } from '../helpers/stack';

let dm: PrivateStandin;
let engine: KustoClient;
let dmClient: KustoClient;

beforeAll(async () => {
  dm = await startPrivateStandin({ accountCount: 1, worker: true, batchingWindowMs: 100 });
  engine = new KustoClient(KustoConnectionStringBuilder.withAccessToken(dm.standin.engineUrl, 'any'));
  dmClient = new KustoClient(KustoConnectionStringBuilder.withAccessToken(dm.standin.dmUrl, 'any'));
  await engine.execute('demo', '.create-merge table Cmd (id:long, name:string, at:datetime)');
});
afterAll(async () => {
  engine.close();
  dmClient.close();
  await dm.stop();
});

interface Answer {
  columns: string[];
  rows: Record<string, unknown>[];
}

async function run(client: KustoClient, csl: string, db = 'demo'): Promise<Answer> {
  const result = await client.execute(db, csl);
  const table = result.primaryResults[0];
  if (!table) throw new Error(`no primary result for ${csl}`);
  return {
    columns: table.columns.map((c) => c.name ?? ''),
    rows: table.toJSON<Record<string, unknown>>().data,
  };
}

/** The official client fails with the HTTP error; the stand-in's message is in the body it carries. */
async function refusal(client: KustoClient, csl: string): Promise<string> {
  const error = await client.execute('demo', csl).then(
    () => undefined,
    (e: unknown) => e,
  );
  const response = (error as { response?: { status?: number; data?: { error?: { '@message'?: string } } } })
    .response;
  expect(response?.status).toBe(400);
  return response?.data?.error?.['@message'] ?? '';
}

const POLICY_COLUMNS = ['PolicyName', 'EntityName', 'Policy', 'ChildEntities', 'EntityType'];

describe('engine commands', () => {
  it.each([
    ['.clear database cache streamingingestion schema', ['NodeId', 'Status'], { Status: 'Succeeded' }],
    ['.clear table Cmd cache streamingingestion schema', ['NodeId', 'Status'], { Status: 'Succeeded' }],
    ['.clear database cache query_results', ['NodeId', 'Count'], { Count: 0 }],
  ])('%s succeeds as a no-op with the documented result', async (csl, columns, row) => {
    const answer = await run(engine, csl);
    expect(answer.columns).toEqual(columns);
    expect(answer.rows).toEqual([expect.objectContaining({ NodeId: 'KustoStandin_0', ...row })]);
  });

  it('.clear table names a table that exists', async () => {
    expect(await refusal(engine, '.clear table Nope cache streamingingestion schema')).toMatch(
      /Table 'Nope' was not found/,
    );
  });

  it('.show database D policy retention | project ChildEntities, EntityType (as the official e2e test sends it)', async () => {
    const full = await run(engine, '.show database demo policy retention');
    expect(full.columns).toEqual(POLICY_COLUMNS);
    expect(full.rows[0]).toMatchObject({
      PolicyName: 'RetentionPolicy',
      EntityName: '[demo]',
      EntityType: 'Database',
    });
    expect(JSON.parse(String(full.rows[0]?.Policy))).toMatchObject({ SoftDeletePeriod: '36500.00:00:00' });

    const projected = await run(
      engine,
      '.show database demo  policy retention | project ChildEntities, EntityType',
    );
    expect(projected.columns).toEqual(['ChildEntities', 'EntityType']);
    expect(projected.rows[0]?.ChildEntities).toEqual(expect.arrayContaining(['[demo].[Cmd]']));
  });

  it('shows the streaming and batching policies a table and a database were given, null where none was', async () => {
    await engine.execute('demo', '.create-merge table Pol (id:long)');
    const before = await run(engine, '.show table Pol policy streamingingestion');
    expect(before.columns).toEqual(POLICY_COLUMNS);
    expect(before.rows[0]).toMatchObject({ EntityName: '[demo].[Pol]', EntityType: 'Table', Policy: 'null' });

    await engine.execute('demo', '.alter table Pol policy streamingingestion enable');
    const batching =
      '{"MaximumBatchingTimeSpan":"00:00:10", "MaximumNumberOfItems": 500, "MaximumRawDataSizeMB": 1024}';
    await engine.execute('demo', `.alter table Pol policy ingestionbatching @'${batching}'`);
    const streaming = await run(engine, '.show table Pol policy streamingingestion');
    expect(JSON.parse(String(streaming.rows[0]?.Policy))).toMatchObject({ IsEnabled: true });
    const shownBatching = await run(engine, '.show table Pol policy ingestionbatching');
    expect(shownBatching.rows[0]).toMatchObject({ PolicyName: 'IngestionBatchingPolicy' });
    expect(JSON.parse(String(shownBatching.rows[0]?.Policy))).toEqual(JSON.parse(batching));
    expect((await run(engine, '.show table Pol policy retention')).rows[0]?.Policy).toBe('null');

    await engine.execute('demo', '.create database PolDb volatile ifnotexists');
    expect((await run(engine, '.show database PolDb policy streamingingestion')).rows[0]?.Policy).toBe(
      'null',
    );
    await engine.execute('PolDb', '.alter database PolDb policy streamingingestion enable');
    const db = await run(engine, '.show database PolDb policy streamingingestion');
    expect(db.rows[0]).toMatchObject({ EntityName: '[PolDb]', EntityType: 'Database' });
    expect(JSON.parse(String(db.rows[0]?.Policy))).toMatchObject({ IsEnabled: true });
    expect((await run(engine, '.show database PolDb policy ingestionbatching')).rows[0]?.Policy).toBe('null');
  });

  it('.show database D schema: the database, each table, each column, with .NET type names', async () => {
    await engine.execute('demo', '.create database SchemaDb volatile ifnotexists');
    await engine.execute(
      'SchemaDb',
      '.create-merge table Events (id:long, name:string, at:datetime, bag:dynamic)',
    );
    const schema = await run(engine, '.show database SchemaDb schema');
    expect(schema.columns).toEqual([
      'DatabaseName',
      'TableName',
      'ColumnName',
      'ColumnType',
      'IsDefaultTable',
      'IsDefaultColumn',
      'PrettyName',
      'Version',
    ]);
    expect(schema.rows[0]).toMatchObject({ DatabaseName: 'SchemaDb', TableName: '', Version: 'v1.1' });
    expect(schema.rows.slice(1)).toEqual([
      expect.objectContaining({ TableName: 'Events', ColumnName: '' }),
      expect.objectContaining({ ColumnName: 'id', ColumnType: 'System.Int64' }),
      expect.objectContaining({ ColumnName: 'name', ColumnType: 'System.String' }),
      expect.objectContaining({ ColumnName: 'at', ColumnType: 'System.DateTime' }),
      expect.objectContaining({ ColumnName: 'bag', ColumnType: 'System.Object' }),
    ]);
    // The version moves with the schema.
    await engine.execute('SchemaDb', '.create-merge table Events (extra:int)');
    expect((await run(engine, '.show database SchemaDb schema')).rows[0]?.Version).toBe('v1.2');

    const json = await run(engine, '.show database SchemaDb schema as json');
    expect(json.columns).toEqual(['DatabaseSchema']);
    const parsed = JSON.parse(String(json.rows[0]?.DatabaseSchema)) as {
      Databases: Record<
        string,
        { Tables: Record<string, { OrderedColumns: { Name: string; CslType: string }[] }> }
      >;
    };
    expect(
      parsed.Databases.SchemaDb?.Tables.Events?.OrderedColumns.map((c) => `${c.Name}:${c.CslType}`),
    ).toEqual(['id:long', 'name:string', 'at:datetime', 'bag:dynamic', 'extra:int']);
  });

  it('.show table T schema as json', async () => {
    const answer = await run(engine, '.show table Cmd schema as json');
    expect(answer.columns).toEqual(['TableName', 'Schema', 'DatabaseName', 'Folder', 'DocString']);
    expect(answer.rows[0]).toMatchObject({ TableName: 'Cmd', DatabaseName: 'demo' });
    expect(JSON.parse(String(answer.rows[0]?.Schema))).toMatchObject({
      Name: 'Cmd',
      OrderedColumns: [
        { Name: 'id', Type: 'System.Int64', CslType: 'long' },
        { Name: 'name', Type: 'System.String', CslType: 'string' },
        { Name: 'at', Type: 'System.DateTime', CslType: 'datetime' },
      ],
    });
  });

  it('.show cluster and .show version describe the one node', async () => {
    const cluster = await run(engine, '.show cluster');
    expect(cluster.columns).toEqual([
      'NodeId',
      'Address',
      'Name',
      'StartTime',
      'IsAdmin',
      'MachineTotalMemory',
      'MachineAvailableMemory',
      'ProcessorCount',
      'EnvironmentDescription',
    ]);
    expect(cluster.rows).toHaveLength(1);
    expect(cluster.rows[0]).toMatchObject({
      NodeId: 'KustoStandin_0',
      Address: `${dm.standin.engineUrl}/`,
      IsAdmin: true,
    });
    expect(cluster.rows[0]?.StartTime).toBeInstanceOf(Date);
    expect(Number(cluster.rows[0]?.ProcessorCount)).toBeGreaterThan(0);

    const version = await run(engine, '.show version');
    expect(version.columns).toEqual(['BuildVersion', 'BuildTime', 'ServiceType', 'ProductVersion']);
    expect(version.rows[0]).toMatchObject({ ServiceType: 'Engine' });
    expect((await run(dmClient, '.show version')).rows[0]).toMatchObject({ ServiceType: 'DataManagement' });
  });

  it('.show operations lists the commands and ingestions it ran, failed ones with why; by id too', async () => {
    await engine.execute('demo', '.create-merge table Ops (id:long, name:string)');
    const ingest = await run(engine, '.ingest inline into table Ops <|\n1,a\n2,b\n');
    const ingestId = String(ingest.rows[0]?.OperationId);
    await refusal(engine, '.ingest inline into table Ops <|\n1,a,extra\n');

    const all = await run(engine, '.show operations');
    expect(all.columns).toEqual([
      'OperationId',
      'Operation',
      'NodeId',
      'StartedOn',
      'LastUpdatedOn',
      'Duration',
      'State',
      'Status',
    ]);
    expect(all.rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Operation: 'TableCreateMerge', State: 'Completed' }),
        expect.objectContaining({ OperationId: ingestId, Operation: 'DataIngestInline', State: 'Completed' }),
        expect.objectContaining({
          Operation: 'DataIngestInline',
          State: 'Failed',
          Status: expect.stringMatching(/field/i) as unknown,
        }),
      ]),
    );
    // .show commands are not operations.
    expect(all.rows.some((r) => String(r.Operation).toLowerCase().includes('show'))).toBe(false);

    const one = await run(engine, `.show operations ${ingestId}`);
    expect(one.rows).toHaveLength(1);
    expect(one.rows[0]).toMatchObject({ OperationId: ingestId, NodeId: 'KustoStandin_0' });
    expect(
      (await run(engine, `.show operations (${ingestId}, ${ingestId.replace(/.$/, '0')})`)).rows,
    ).toHaveLength(1);
  });

  it('lists the queued ingestions the DM worker ran as DataIngestPull', async () => {
    await engine.execute('demo', '.create-merge table Pulled (id:long)');
    const pulls = async (): Promise<Record<string, unknown>[]> =>
      (await run(engine, ".show operations | where Operation == 'DataIngestPull'")).rows;
    const before = (await pulls()).length;
    await new QueuedIngestClient({ ingestUri: dm.standin.dmUrl }).ingestFromStream(
      Readable.from(['7\n8\n']),
      {
        database: 'demo',
        table: 'Pulled',
        format: 'csv',
        flushImmediately: true,
      },
    );
    const after = await eventually(
      async () => {
        const rows = await pulls();
        return rows.length > before ? rows : undefined;
      },
      20_000,
      'the DM worker to ingest',
    );
    expect(after[after.length - 1]).toMatchObject({ State: 'Completed', Status: '' });
  });

  it('pipes a .show result through | project, | where c == v, | where c != v, | count', async () => {
    const projected = await run(engine, '.show tables | project TableName, DatabaseName');
    expect(projected.columns).toEqual(['TableName', 'DatabaseName']);
    expect(projected.rows).toContainEqual({ TableName: 'Cmd', DatabaseName: 'demo' });

    const counted = await run(engine, ".show tables | where TableName == 'Cmd' | count");
    expect(counted.columns).toEqual(['Count']);
    expect(counted.rows).toEqual([{ Count: 1 }]);
    const others = await run(engine, ".show tables | where TableName != 'Cmd' | project TableName");
    expect(others.rows.map((r) => r.TableName)).not.toContain('Cmd');
    expect(others.rows.length).toBeGreaterThan(0);
  });
});

async function exportContainer(): Promise<string> {
  const answer = await run(dmClient, '.show export containers', 'NetDefaultDB');
  const root = answer.rows[0]?.StorageRoot;
  if (typeof root !== 'string') throw new Error('no export container');
  return root;
}

describe("the official SDK's end-to-end set-up, as it sends it", () => {
  it('creates, configures, maps, clears the cache, shows and drops its tables', async () => {
    const tables = ['E2eGeneral_csv', 'E2eQueued_json'];
    const columns =
      '(rownumber:int, rowguid:string, xdouble:real, xfloat:real, xbool:bool, xint16:int, xint32:int, xint64:long, xuint8:long, xuint16:long, xuint32:long, xuint64:long, xdate:datetime, xsmalltext:string, xtext:string, xnumberAsText:string, xtime:timespan, xtextWithNulls:string, xdynamicWithNulls:dynamic)';
    const mapping = JSON.stringify([
      { column: 'rownumber', Properties: { Path: '$.rownumber' }, datatype: 'int' },
      { column: 'rowguid', Properties: { Path: '$.rowguid' }, datatype: 'string' },
    ]);
    for (const table of tables) {
      await engine.execute('demo', `.create-merge table ${table} ${columns}`);
      await engine.execute('demo', `.alter table ${table} policy streamingingestion enable`);
      await engine.execute(
        'demo',
        `.alter table ${table} policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:00:10", "MaximumNumberOfItems": 500, "MaximumRawDataSizeMB": 1024}'`,
      );
      await dmClient.execute(
        KustoConnectionStringBuilder.DefaultDatabaseName,
        `.refresh database 'demo' table '${table}' cache ingestionbatchingpolicy`,
      );
      await engine.execute(
        'demo',
        `.create-or-alter table ${table} ingestion json mapping 'mappingRef' '${mapping}'`,
      );
    }
    await engine.execute('demo', '.clear database cache streamingingestion schema');

    const shown = await run(engine, '.show tables | project TableName, DatabaseName');
    expect(shown.columns).toEqual(['TableName', 'DatabaseName']);
    expect(shown.rows.map((r) => r.TableName)).toEqual(expect.arrayContaining(tables));
    const mappings = await run(engine, `.show table ${tables[0] ?? ''} ingestion json mappings`);
    expect(mappings.rows[0]).toMatchObject({ Name: 'mappingRef', Kind: 'Json' });

    await engine.execute('demo', `.drop tables (${tables.join(',')}) ifexists`);
    const after = await run(engine, '.show tables | project TableName');
    for (const table of tables) expect(after.rows.map((r) => r.TableName)).not.toContain(table);
  });
});

describe('the ManagedIdentity policy, and how queued blobs must carry credentials', () => {
  const USER_ASSIGNED = '6a5820b9-fdf6-4cc4-81b9-b416b444fd6d';
  const policies = (answer: Answer) => JSON.parse(String(answer.rows[0]?.Policies)) as unknown[];

  it('.show, .alter-merge, .alter and .delete it on a database and on the cluster, with the docs columns', async () => {
    const empty = await run(engine, '.show database demo policy managed_identity');
    expect(empty.columns).toEqual(['EntityName', 'Policies']);
    expect(empty.rows).toEqual([{ EntityName: '[demo]', Policies: '[]' }]);

    // The docs' own example: a multi-line literal, and in the how-to single-quoted JSON.
    await run(
      engine,
      `.alter-merge database demo policy managed_identity \`\`\`\n[ { "ObjectId": "${USER_ASSIGNED}", "AllowedUsages": "NativeIngestion" } ]\n\`\`\``,
    );
    const merged = await run(
      engine,
      `.alter-merge database demo policy managed_identity "[{'ObjectId': '${USER_ASSIGNED}', 'AllowedUsages': 'ExternalTable'}]"`,
    );
    expect(policies(merged)).toEqual([
      expect.objectContaining({ ObjectId: USER_ASSIGNED, AllowedUsages: 'NativeIngestion, ExternalTable' }),
    ]);
    const replaced = await run(
      engine,
      `.alter database demo policy managed_identity "[{'ObjectId': 'system', 'AllowedUsages': 'ExternalTable'}]"`,
    );
    expect(policies(replaced)).toEqual([
      expect.objectContaining({ ObjectId: 'system', IsSystem: true, AllowedUsages: 'ExternalTable' }),
    ]);
    expect(policies(await run(engine, '.delete database demo policy managed_identity'))).toEqual([]);

    const cluster = await run(
      engine,
      `.alter-merge cluster policy managed_identity "[{'ObjectId': '${USER_ASSIGNED}', 'AllowedUsages': 'NativeIngestion'}]"`,
    );
    expect(cluster.rows[0]).toMatchObject({ EntityName: '' });
    expect(policies(await run(engine, '.show cluster policy managed_identity'))).toHaveLength(1);
    await run(engine, `.delete cluster policy managed_identity ${USER_ASSIGNED}`);
    expect(policies(await run(engine, '.show cluster policy managed_identity'))).toEqual([]);

    expect(
      await refusal(
        engine,
        `.alter-merge database demo policy managed_identity "[{'ObjectId': 'my-cluster', 'AllowedUsages': 'NativeIngestion'}]"`,
      ),
    ).toMatch(/ObjectId 'my-cluster' is neither .* nor 'system'/);
  });

  it('reads a ;managed_identity= blob only where the policy allows it NativeIngestion, and no bare blob URL', async () => {
    await engine.execute('demo', '.create-merge table Identity (id:long)');
    const container = blobService(0).getContainerClient(`mi-${Date.now()}`);
    await container.createIfNotExists();
    const blob = container.getBlockBlobClient('one.csv');
    await blob.upload('1\n', 2);
    const client = new QueuedIngestClient({ ingestUri: dm.standin.dmUrl });
    const verdict = async (url: string) => {
      const receipt = await client.ingestFromBlob(url, {
        database: 'demo',
        table: 'Identity',
        format: 'csv',
        flushImmediately: true,
        reportLevel: ReportLevel.FailuresAndSuccesses,
        reportMethod: ReportMethod.Table,
      });
      return eventually(
        async () => {
          const s = await client.getIngestionStatus(receipt);
          return s.status === 'Pending' ? undefined : s;
        },
        20_000,
        `the verdict on ${url}`,
      );
    };
    const byIdentity = `${blob.url};managed_identity=${USER_ASSIGNED}`;
    expect(await verdict(byIdentity)).toMatchObject({
      status: 'Failed',
      errorCode: 'BadRequest_InvalidManagedIdentity',
      failureStatus: 'Permanent',
    });
    expect(await verdict(blob.url)).toMatchObject({ status: 'Failed', errorCode: 'Download_Forbidden' });

    await run(
      engine,
      `.alter-merge database demo policy managed_identity "[{'ObjectId': '${USER_ASSIGNED}', 'AllowedUsages': 'NativeIngestion'}]"`,
    );
    expect(await verdict(byIdentity)).toMatchObject({ status: 'Succeeded' });
    // Inline ingestion never takes an identity (the docs: queued ingestion only).
    expect(await refusal(engine, `.ingest into table Identity (h'${byIdentity}')`)).toMatch(
      /read only by queued ingestion/,
    );
    await run(engine, '.delete database demo policy managed_identity');
  });
});

describe('Data Management commands', () => {
  it('.show export containers gives the temp containers as SAS URLs that can be written to', async () => {
    const answer = await run(dmClient, '.show export containers', 'NetDefaultDB');
    expect(answer.columns).toEqual(['StorageRoot']);
    expect(answer.rows).toHaveLength(dm.layout.tempContainers.length);
    const root = await exportContainer();
    expect(new URL(root).searchParams.get('sp')).toMatch(/w/);
    const blob = new ContainerClient(root).getBlockBlobClient('written.txt');
    await blob.upload('hello', 5);
    expect((await blob.getProperties()).contentLength).toBe(5);
  });

  it(".refresh database 'D' table 'T' cache ingestionbatchingpolicy succeeds as a no-op", async () => {
    const result = await dmClient.execute(
      'NetDefaultDB',
      ".refresh database 'demo' table 'Cmd' cache ingestionbatchingpolicy",
    );
    expect(result.primaryResults[0]?.toJSON().data).toEqual([]);
  });

  it('refuses a command it does not know by name', async () => {
    expect(await refusal(dmClient, '.show ingestion mappings')).toMatch(
      /'\.show ingestion mappings' is not supported locally by the Data Management stand-in/,
    );
  });
});

describe('what the stand-in does not support', () => {
  it.each([
    ['range x from 1 to 3 step 1', /The 'range' operator is not supported locally/],
    ['Cmd | render table', /The 'render' operator is not supported locally/],
    ['.show functions', /The command '\.show functions' is not supported locally/],
    [
      '.alter table Cmd policy caching hot = 1d',
      /The command '\.alter table Cmd policy caching hot' is not supported locally/,
    ],
    ['.show database demo policy caching', /'\.show database demo policy caching' is not supported locally/],
    ['.show tables | extend x = 1', /The 'extend' operator is not supported locally/],
    [
      '.create table X (a:long) | project a',
      /Piping the result of '\.create table X' is not supported locally/,
    ],
  ])('%s fails with a 400 naming what is not supported', async (csl, message) => {
    const text = await refusal(engine, csl);
    expect(text).toMatch(message);
  });

  it('a missing table is still reported as missing, not as unsupported', async () => {
    expect(await refusal(engine, 'Nope | count')).toMatch(/Table 'Nope' was not found/);
  });
});
