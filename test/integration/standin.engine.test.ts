import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BlobSASPermissions } from '@azure/storage-blob';
import { startStandin } from '../../dev/standin/standin';
import { engine, EngineError } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService, testStack } from '../helpers/stack';

let dm: PrivateStandin;
let kusto: ReturnType<typeof engine>;

beforeAll(async () => {
  dm = await startPrivateStandin({ accountCount: 1 });
  kusto = engine(dm.standin.engineUrl);
});
afterAll(async () => {
  await dm.stop();
});
afterEach(() => {
  dm.standin.faults.reset();
});

async function rejects(p: Promise<unknown>): Promise<EngineError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(EngineError);
  return e as EngineError;
}

describe('databases and tables', () => {
  it('knows demo from the start and creates more; an unknown database is BadRequest_DatabaseNotExist', async () => {
    expect((await kusto.mgmt('.show databases')).objects).toContainEqual(
      expect.objectContaining({ DatabaseName: 'demo' }),
    );
    await kusto.mgmt('.create database Sales volatile');
    await kusto.mgmt('.create database Sales volatile ifnotexists');
    await kusto.mgmt(".create database Archive persist (@'/tmp/a', @'/tmp/b') ifnotexists");
    expect((await kusto.mgmt('.show databases | project DatabaseName')).rows.flat()).toEqual(
      expect.arrayContaining(['Sales', 'Archive', 'demo']),
    );
    expect((await rejects(kusto.mgmt('.create database Sales volatile'))).code).toBe(
      'BadRequest_EntityAlreadyExists',
    );
    expect((await rejects(kusto.mgmt('.show tables', 'Nope'))).code).toBe('BadRequest_DatabaseNotExist');
  });

  it('creates, merges, shows and drops tables', async () => {
    await kusto.mgmt('.create table People (id:long, name:string)');
    await kusto.mgmt('.create table People (id:long, name:string)'); // same schema: no-op
    expect((await rejects(kusto.mgmt('.create table People (id:long, other:string)'))).message).toMatch(
      /different schema/,
    );
    await kusto.mgmt('.create-merge table People (id:long, email:string)');
    expect((await kusto.mgmt('.show table People cslschema')).objects[0]).toMatchObject({
      TableName: 'People',
      Schema: 'id:long,name:string,email:string',
    });
    expect((await rejects(kusto.mgmt('.create-merge table People (id:string)'))).code).toBe(
      'BadRequest_BadColumnType',
    );
    await kusto.mgmt(".create table ['My Table'] (['a b']:int)");
    await kusto.mgmt('.create table Tmp1 (x:int)');
    await kusto.mgmt('.create table Tmp2 (x:int)');
    expect((await kusto.mgmt('.show tables | project TableName')).rows.flat()).toEqual(
      expect.arrayContaining(['People', 'My Table', 'Tmp1', 'Tmp2']),
    );
    expect((await kusto.mgmt('.show tables | project TableName')).columns).toEqual(['TableName']);
    await kusto.mgmt('.drop tables (Tmp1, Tmp2, NotThere) ifexists');
    expect((await rejects(kusto.mgmt('.drop table Tmp1'))).code).toBe('BadRequest_TableNotExist');
    await kusto.mgmt('.drop table Tmp1 ifexists');
    expect((await kusto.mgmt('.show tables')).objects.map((t) => t.TableName)).not.toContain('Tmp1');
  });

  it('keeps ingestion mappings per table and kind', async () => {
    await kusto.mgmt('.create table Mapped (a:long, b:string)');
    const json = '[{"column":"a","Properties":{"Ordinal":"1"}},{"column":"b","Properties":{"Ordinal":"0"}}]';
    await kusto.mgmt(`.create table Mapped ingestion csv mapping "swap" '${json}'`);
    expect(
      (await rejects(kusto.mgmt(`.create table Mapped ingestion csv mapping "swap" '${json}'`))).code,
    ).toBe('BadRequest_DuplicateMapping');
    await kusto.mgmt(`.create-or-alter table Mapped ingestion csv mapping "swap" '${json}'`);
    await kusto.mgmt(
      `.create table Mapped ingestion json mapping 'j' '[{"column":"a","Properties":{"Path":"$.a"}}]'`,
    );
    expect(
      (await kusto.mgmt('.show table Mapped ingestion mappings')).objects.map((m) => [m.Name, m.Kind]),
    ).toEqual([
      ['swap', 'Csv'],
      ['j', 'Json'],
    ]);
    expect((await kusto.mgmt('.show table Mapped ingestion csv mappings')).rows).toHaveLength(1);
    await kusto.mgmt(
      ".ingest inline into table Mapped with (format='csv', ingestionMappingReference='swap') <| x,7",
    );
    expect((await kusto.query('Mapped')).objects).toEqual([{ a: 7, b: 'x' }]);
  });
});

describe('queries', () => {
  beforeAll(async () => {
    await kusto.mgmt('.create table Q (id:long, color:string, ok:bool, at:datetime)');
    await kusto.mgmt(
      '.ingest inline into table Q <|\n1,red,true,2024-01-01\n2,blue,false,2024-01-02\n3,red,true,2024-01-03\n4,green,,2024-01-04\n',
    );
  });

  it('T, count, take, where == (then count or take), summarize count() by', async () => {
    expect((await kusto.query('Q')).rows).toHaveLength(4);
    expect((await kusto.query('Q | count')).objects).toEqual([{ Count: 4 }]);
    expect((await kusto.query('Q | take 2')).rows).toHaveLength(2);
    expect((await kusto.query('Q | limit 1')).objects).toEqual([
      { id: 1, color: 'red', ok: true, at: '2024-01-01T00:00:00Z' },
    ]);
    expect((await kusto.query("Q | where color == 'red' | count")).objects).toEqual([{ Count: 2 }]);
    expect((await kusto.query('Q | where id == 2')).objects).toEqual([
      { id: 2, color: 'blue', ok: false, at: '2024-01-02T00:00:00Z' },
    ]);
    expect((await kusto.query('Q | where ok == true | take 1')).rows).toHaveLength(1);
    expect((await kusto.query('Q | where at == datetime(2024-01-03)')).objects.map((r) => r.id)).toEqual([3]);
    const byColor = (await kusto.query('Q | summarize count() by color')).objects;
    expect(byColor).toHaveLength(3);
    expect(byColor).toEqual(
      expect.arrayContaining([
        { color: 'red', count_: 2 },
        { color: 'blue', count_: 1 },
        { color: 'green', count_: 1 },
      ]),
    );
  });

  it('answers v1 with one table whose columns carry both type spellings', async () => {
    const response = await fetch(`${dm.standin.engineUrl}/v1/rest/query`, {
      method: 'POST',
      body: JSON.stringify({ db: 'demo', csl: 'Q | take 1' }),
    });
    const body = (await response.json()) as { Tables: { Columns: unknown[] }[] };
    expect(body.Tables).toHaveLength(1);
    expect(body.Tables[0]?.Columns[0]).toEqual({ ColumnName: 'id', DataType: 'Int64', ColumnType: 'long' });
  });

  it('answers KQL beyond the old subset, with the column names and types a cluster gives', async () => {
    const summary = await kusto.query(
      "Q | where color contains 'r' or ok | summarize n = count(), latest = max(at) by color | order by color asc",
    );
    expect(summary.columns).toEqual(['color', 'n', 'latest']);
    expect(summary.types).toEqual(['string', 'long', 'datetime']);
    expect(summary.rows.map((r) => r[0])).toEqual([...summary.rows.map((r) => r[0])].sort());
    const v1 = await fetch(`${dm.standin.engineUrl}/v1/rest/query`, {
      method: 'POST',
      body: JSON.stringify({ db: 'demo', csl: 'Q | summarize count(), max(id)' }),
    });
    const body = (await v1.json()) as { Tables: { Columns: unknown[]; Rows: unknown[][] }[] };
    expect(body.Tables[0]?.Columns).toEqual([
      { ColumnName: 'count_', DataType: 'Int64', ColumnType: 'long' },
      { ColumnName: 'max_id', DataType: 'Int64', ColumnType: 'long' },
    ]);
  });

  it("refuses bad KQL with the parser's diagnostic, and what it cannot run by name", async () => {
    const syntax = await fetch(`${dm.standin.engineUrl}/v2/rest/query`, {
      method: 'POST',
      body: JSON.stringify({ db: 'demo', csl: 'Q | wher id == 1' }),
    });
    expect(syntax.status).toBe(400);
    const error = ((await syntax.json()) as { error: Record<string, unknown> }).error;
    expect(error).toMatchObject({
      code: 'BadRequest_SyntaxError',
      '@errorCode': 'KS176',
      '@line': 1,
      '@column': 5,
    });
    expect(String(error['@message'])).toMatch(
      /^Syntax error KS176 at line 1, column 5: Query operator expected/,
    );
    const semantic = await rejects(kusto.query('Q | where nope == 1'));
    expect(semantic.code).toBe('BadRequest_SemanticError');
    expect(semantic.message).toMatch(/KS142 .*'nope'/);
    const unsupported = await rejects(kusto.query('Q | render table'));
    expect(unsupported.code).toBe('BadRequest_NotSupported');
    expect(unsupported.message).toMatch(/The 'render' operator is not supported locally/);
    expect((await rejects(kusto.query('Nope'))).code).toBe('BadRequest_TableNotExist');
    expect((await rejects(kusto.mgmt('.create table Broken (a:)'))).message).toMatch(/^Syntax error KS005/);
    expect((await rejects(kusto.mgmt('.alter cluster policy caching hot = 1d'))).message).toMatch(
      /It supports: .*\.create table/,
    );
  });
});

describe('direct ingestion: .ingest into and .ingest inline', () => {
  it('.ingest into reads blobs by URL (SAS or account-key suffix) and returns the extents', async () => {
    await kusto.mgmt('.create table Direct (a:long, b:string)');
    const container = blobService(0).getContainerClient('direct-src');
    await container.createIfNotExists();
    const one = container.getBlockBlobClient('one.csv');
    await one.upload('h1,h2\n1,a\n', 10);
    const two = container.getBlockBlobClient('two.csv.gz');
    const gz = gzipSync('h1,h2\n2,b\n');
    await two.upload(gz, gz.length);
    const sas = await one.generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const result = await kusto.mgmt(
      `.ingest into table Direct (h'${sas}', h'${two.url};${testStack().accounts[0]?.key ?? ''}') with (format='csv', ignoreFirstRecord=true, tags='["drop-by:d1"]')`,
    );
    expect(result.columns).toEqual(['ExtentId', 'ItemLoaded', 'Duration', 'HasErrors', 'OperationId']);
    expect(result.rows).toHaveLength(2);
    expect(result.objects[1]).toMatchObject({ ItemLoaded: two.url, HasErrors: false });
    expect((await kusto.query('Direct')).objects).toEqual([
      { a: 1, b: 'a' },
      { a: 2, b: 'b' },
    ]);
  });

  it('fails the command with the ingestion error code when the data is bad', async () => {
    await kusto.mgmt('.create table DirectBad (a:long, b:string)');
    const e = await rejects(kusto.mgmt('.ingest inline into table DirectBad <|\n1,a\n2,b,c\n'));
    expect(e.code).toBe('Stream_WrongNumberOfFields');
    const missing = await rejects(
      kusto.mgmt(".ingest into table DirectBad (h'http://127.0.0.1:1/devstoreaccount1/c/nope.csv')"),
    );
    expect(missing.code).toMatch(/^Download_/);
  });
});

describe('streaming ingestion', () => {
  const post = (
    table: string,
    body: Buffer,
    query = 'streamFormat=csv',
    headers: Record<string, string> = {},
  ) =>
    fetch(`${dm.standin.engineUrl}/v1/rest/ingest/demo/${table}?${query}`, { method: 'POST', body, headers });

  it('needs the streaming policy on the table or database, and answers 404 when the cluster has it off', async () => {
    await kusto.mgmt('.create table S (a:long, b:string)');
    const noPolicy = await post('S', Buffer.from('1,a\n'));
    expect(noPolicy.status).toBe(400);
    expect(((await noPolicy.json()) as { error: { '@message': string } }).error['@message']).toMatch(
      /\.alter table S policy streamingingestion enable/,
    );

    await kusto.mgmt('.alter table S policy streamingingestion enable');
    const ok = await post('S', gzipSync('1,a\n2,b\n'), 'streamFormat=csv', { 'content-encoding': 'gzip' });
    expect(ok.status).toBe(200);
    expect((await kusto.query('S | count')).objects).toEqual([{ Count: 2 }]);

    dm.standin.faults.update({ streaming: 'disabled' });
    const disabled = await post('S', Buffer.from('3,c\n'));
    expect(disabled.status).toBe(404);
    expect(((await disabled.json()) as { error: { code: string } }).error.code).toBe(
      'StreamingIngestionFunctionalityDisabled',
    );
  });

  it('honours a database-level policy and a mapping by name', async () => {
    await kusto.mgmt('.create database Streamy volatile');
    await kusto.mgmt('.create table J (a:long)', 'Streamy');
    await kusto.mgmt(
      `.create table J ingestion json mapping "m" '[{"column":"a","Properties":{"Path":"$.x"}}]'`,
      'Streamy',
    );
    await kusto.mgmt('.alter database Streamy policy streamingingestion enable', 'Streamy');
    const response = await fetch(
      `${dm.standin.engineUrl}/v1/rest/ingest/Streamy/J?streamFormat=json&mappingName=m`,
      {
        method: 'POST',
        body: '{"x": 5}\n',
      },
    );
    expect(response.status).toBe(200);
    expect((await kusto.query('J', 'Streamy')).objects).toEqual([{ a: 5 }]);
  });
});

describe('durability', () => {
  it('keeps databases, tables, mappings and rows in its store file across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kif-store-'));
    const storePath = join(dir, 'store.sqlite');
    const accounts = testStack().accounts.slice(0, 1);
    const layout = { ...dm.layout };
    const first = await startStandin({
      accounts,
      layout,
      storePath,
      dmPort: 0,
      enginePort: 0,
      worker: false,
    });
    const k1 = engine(first.engineUrl);
    await k1.mgmt('.create database Kept volatile');
    await k1.mgmt('.create table Rows (a:long)', 'Kept');
    await k1.mgmt('.ingest inline into table Rows <|\n1\n2\n', 'Kept');
    await first.stop();
    const second = await startStandin({
      accounts,
      layout,
      storePath,
      dmPort: 0,
      enginePort: 0,
      worker: false,
    });
    try {
      expect(await engine(second.engineUrl).count('Rows', 'Kept')).toBe(2);
    } finally {
      await second.stop();
    }
  });
});
