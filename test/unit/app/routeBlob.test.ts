import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../shared/app/settings';
import { IngestValidationError } from '../../../shared/errors';
import {
  compileTimePattern,
  loadRoutes,
  loadRoutesFile,
  routeBlob,
} from '../../../shared/app/routing/routeBlob';

const route = (
  path: string,
  metadata: Record<string, string> = {},
  rules = [] as Parameters<typeof routeBlob>[1],
) => routeBlob({ path, metadata }, rules);

describe('routeBlob', () => {
  it('follows the path convention {database}/{table}/.../{file}.{format}[.gz|.zip]', () => {
    expect(route('Sales/Orders/2024/01/orders.csv.gz')).toEqual({
      database: 'Sales',
      table: 'Orders',
      format: 'csv',
      mappingReference: undefined,
      creationTime: undefined,
      tags: [],
      ignoreFirstRecord: false,
      rawSize: undefined,
    });
    expect(route('db/t/x.MultiJSON')).toMatchObject({ format: 'multijson' });
    expect(route('db/t/part-1.parquet').format).toBe('parquet');
    expect(route('db/t/a.json.zip').format).toBe('json');
  });

  it('lets blob metadata override everything, whatever its casing', () => {
    expect(
      route('anywhere/file.txt', {
        Kusto_Database: 'Ops',
        KUSTO_TABLE: 'Logs',
        kusto_format: 'CSV',
        kusto_mapping: 'LogMap',
        kusto_creation_time: '2023-05-01',
        kusto_tags: '["a","drop-by:x"]',
      }),
    ).toEqual({
      database: 'Ops',
      table: 'Logs',
      format: 'csv',
      mappingReference: 'LogMap',
      creationTime: '2023-05-01T00:00:00.000Z',
      tags: ['a', 'drop-by:x'],
      ignoreFirstRecord: false,
      rawSize: undefined,
    });
    expect(route('db/t/f.csv', { kusto_tags: 'a, b' }).tags).toEqual(['a', 'b']);
  });

  it("reads the Event Grid data connection's metadata names, any casing, beside ours", () => {
    expect(
      route('drop/file.bin', {
        kustoDatabase: 'Ops',
        KustoTable: 'Logs',
        kustoDataFormat: 'psv',
        kustoIngestionMappingReference: 'LogMap',
        kustoIgnoreFirstRecord: 'True',
        kustoExtentTags: '["a","drop-by:x"]',
        kustoCreationTime: '2023-05-01T10:00:00Z',
        rawSizeBytes: '4096',
      }),
    ).toEqual({
      database: 'Ops',
      table: 'Logs',
      format: 'psv',
      mappingReference: 'LogMap',
      creationTime: '2023-05-01T10:00:00.000Z',
      tags: ['a', 'drop-by:x'],
      ignoreFirstRecord: true,
      rawSize: 4096,
    });
    expect(route('db/t/f.csv', { kustoextenttags: 'a,b' }).tags).toEqual(['a', 'b']);
    // The same value under both names is no conflict.
    expect(route('db/t/f.csv', { kusto_table: 'X', kustoTable: 'X' }).table).toBe('X');
    expect(
      route('db/t/f.csv', { kusto_ignore_first_record: 'true', kustoIgnoreFirstRecord: 'TRUE' })
        .ignoreFirstRecord,
    ).toBe(true);
  });

  it('ranks metadata over rules over the path convention, and a rule may route everything as a connection does', () => {
    const connection = [
      {
        match: '**',
        database: 'Ops',
        table: 'Default',
        format: 'csv',
        mapping: 'M',
        ignoreFirstRecord: true,
      },
    ];
    expect(route('any/where/file.txt', {}, connection)).toMatchObject({
      database: 'Ops',
      table: 'Default',
      format: 'csv',
      mappingReference: 'M',
      ignoreFirstRecord: true,
    });
    expect(route('db/t/file.json', { kustoTable: 'Meta' }, connection)).toMatchObject({
      database: 'Ops', // the rule beats the path's db/t
      table: 'Meta', // metadata beats the rule
      format: 'csv',
    });
    expect(route('db/t/file.json', { kustoIgnoreFirstRecord: 'false' }, connection).ignoreFirstRecord).toBe(
      false,
    );
  });

  it('rejects a database outside LANDING_ALLOWED_DATABASES, from any routing source, case-blind', () => {
    const allowed = { allowedDatabases: ['Ops', 'Sales'] };
    expect(routeBlob({ path: 'ops/t/f.csv', metadata: {} }, [], allowed).database).toBe('ops');
    for (const [path, metadata] of [
      ['Other/t/f.csv', {}],
      ['Ops/t/f.csv', { kustoDatabase: 'Other' }],
    ] as const) {
      let error: unknown;
      try {
        routeBlob({ path, metadata }, [], allowed);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'DatabaseNotAllowed', database: 'Other' });
    }
  });

  it('applies the first matching rule, with a creation time taken from the path (as LightIngest does)', () => {
    const rules = [
      {
        match: 'exports/**/*.json',
        database: 'Ops',
        table: 'Events',
        format: 'json',
        creationTimePattern: "'exports/'yyyy'/'MM'/'dd",
      },
      { match: '**', database: 'Ops', table: 'Other' },
    ];
    expect(route('exports/2024/02/29/batch.json', {}, rules)).toMatchObject({
      database: 'Ops',
      table: 'Events',
      creationTime: '2024-02-29T00:00:00.000Z',
    });
    expect(route('misc/file.csv', {}, rules)).toMatchObject({ table: 'Other', format: 'csv' });
    expect(route('exports/2024/02/29/batch.json', { kusto_table: 'Override' }, rules).table).toBe('Override');
  });

  it.each([
    ['too-shallow.csv', {}, 'InvalidName', /put it under \{database\}\/\{table\}/],
    ['db/t/noextension', {}, 'InvalidFormat', /name it with an extension/],
    ['db/t/report.xlsx', {}, 'InvalidFormat', /'\.xlsx' is not a Kusto format/],
    ['db/t/f.csv', { kusto_format: 'xlsx' }, 'InvalidFormat', /Unknown format 'xlsx'/],
    ['bad;db/t/f.csv', {}, 'InvalidName', /Invalid database name/],
    ['db/t/f.csv', { kusto_creation_time: 'yesterday' }, 'InvalidProperty', /not a date/],
    ['db/t/f.csv', { kusto_tags: '[1,2]' }, 'InvalidProperty', /JSON array of strings/],
    [
      'db/t/f.csv',
      { kustoTable: 'A', kusto_table: 'B' },
      'ConflictingProperty',
      /kustoTable='A' and kusto_table='B'/,
    ],
    ['db/t/f.csv', { kustoIgnoreFirstRecord: 'yes' }, 'InvalidProperty', /'yes' is not a boolean/],
    ['db/t/f.csv', { rawSizeBytes: '12kb' }, 'InvalidProperty', /not a size in bytes/],
    [
      'db/t/f.csv',
      { kustoDataFormat: 'excel' },
      'InvalidFormat',
      /Unknown format 'excel' for blob metadata kustoDataFormat/,
    ],
    [
      'db/t/f.csv',
      { kustoCreationTime: 'soon' },
      'InvalidProperty',
      /kustoCreationTime 'soon' is not a date/,
    ],
  ])('refuses %p with %p', (path, metadata, code, message) => {
    let error: unknown;
    try {
      route(path, metadata);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IngestValidationError);
    expect(error).toMatchObject({ code });
    expect((error as Error).message).toMatch(message);
  });
});

describe('rules files and creation time patterns', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kif-routes-'));

  it('loads a valid file and refuses a broken one at start-up, naming the problem', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ rules: [{ match: '*.csv', database: 'd', table: 't' }] }));
    expect(loadRoutes(good)).toEqual([{ match: '*.csv', database: 'd', table: 't' }]);
    const filtered = join(dir, 'filtered.json');
    writeFileSync(filtered, JSON.stringify({ rules: [], include: ['**/*.csv'], exclude: ['tmp/**'] }));
    expect(loadRoutesFile(filtered)).toMatchObject({ include: ['**/*.csv'], exclude: ['tmp/**'] });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ rules: [{ database: 'd', extra: 1 }] }));
    expect(() => loadRoutes(bad)).toThrow(ConfigError);
    expect(() => loadRoutes(bad)).toThrow(/rules\.0\.match/);
    expect(() => loadRoutes(join(dir, 'missing.json'))).toThrow(/cannot be read/);
  });

  it('compiles LightIngest patterns and rejects nonsense', () => {
    const { regex, parts } = compileTimePattern("'logs/'yyyyMMdd'-'HH");
    expect(parts).toEqual(['yyyy', 'MM', 'dd', 'HH']);
    expect(regex.exec('x/logs/20240131-07/a.csv')?.slice(1)).toEqual(['2024', '01', '31', '07']);
    expect(() => compileTimePattern("'x/")).toThrow(/not closed/);
    expect(() => compileTimePattern('MMdd')).toThrow(/needs at least yyyy/);
    expect(() => compileTimePattern("yyyy'/'Q")).toThrow(/neither a quoted literal/);
  });

  it('refuses an impossible date in the path', () => {
    expect(() =>
      route('e/2023/02/30/f.json', {}, [
        { match: '**', database: 'd', table: 't', creationTimePattern: "'e/'yyyy'/'MM'/'dd" },
      ]),
    ).toThrow(/impossible date/);
  });
});
