import { cpus, freemem, hostname, totalmem } from 'node:os';
import type { Cursor } from '../kqlLexer';
import { syntaxError } from '../kqlLexer';
import type { KqlType } from '../kqlTypes';
import { kustoTimespan, resultTable, type ResultTable } from '../resultTable';
import type { KustoStore, TableInfo } from '../store';
import type { CommandContext } from './context';
import { parseShownPolicy, policyTable, policyText } from './policies';
import { cslSchemaOf, MAPPING_KINDS, mappingKindName, TABLE_SCHEMA_COLUMNS } from './syntax';

/** The stand-in's single node, as `.show cluster` and the per-node results name it. */
export const NODE_ID = 'KustoStandin_0';

/** The stand-in's version, as `.show version` reports it. */
export const STANDIN_VERSION = '0.1.0';

/** The .NET type names Kusto schemas use for each column type. */
const CLR_TYPES: Record<KqlType, string> = {
  string: 'System.String',
  int: 'System.Int32',
  long: 'System.Int64',
  real: 'System.Double',
  decimal: 'System.Data.SqlTypes.SqlDecimal',
  bool: 'System.Boolean',
  datetime: 'System.DateTime',
  timespan: 'System.TimeSpan',
  guid: 'System.Guid',
  dynamic: 'System.Object',
};

const iso = (ms: number): string => new Date(ms).toISOString();

function tableJson(t: TableInfo): Record<string, unknown> {
  return {
    Name: t.name,
    DefaultColumn: null,
    Folder: '',
    DocString: '',
    OrderedColumns: t.columns.map((c) => ({ Name: c.name, Type: CLR_TYPES[c.type], CslType: c.type })),
  };
}

/** `.show database D schema`: one row for the database, one per table, one per column. */
function databaseSchema(store: KustoStore, database: string): ResultTable {
  const version = store.schemaVersion(database);
  const rows: unknown[][] = [[database, '', '', '', false, false, '', version]];
  for (const t of store.tables(database)) {
    rows.push([database, t.name, '', '', true, false, '', '']);
    for (const c of t.columns) rows.push([database, t.name, c.name, CLR_TYPES[c.type], true, false, '', '']);
  }
  return resultTable(
    [
      ['DatabaseName', 'string'],
      ['TableName', 'string'],
      ['ColumnName', 'string'],
      ['ColumnType', 'string'],
      ['IsDefaultTable', 'bool'],
      ['IsDefaultColumn', 'bool'],
      ['PrettyName', 'string'],
      ['Version', 'string'],
    ],
    rows,
  );
}

function databaseSchemaJson(store: KustoStore, database: string): ResultTable {
  const [, minor] = /^v1\.(\d+)$/.exec(store.schemaVersion(database)) ?? [];
  const schema = {
    Databases: {
      [database]: {
        Name: database,
        Tables: Object.fromEntries(store.tables(database).map((t) => [t.name, tableJson(t)])),
        PrettyName: null,
        MajorVersion: 1,
        MinorVersion: Number(minor ?? 0),
        Functions: {},
      },
    },
  };
  return resultTable([['DatabaseSchema', 'string']], [[JSON.stringify(schema)]]);
}

function showDatabase(ctx: CommandContext, cursor: Cursor, unsupported: () => never): ResultTable {
  const { store } = ctx;
  const database = store.database(cursor.name());
  if (cursor.acceptWord('schema')) {
    if (cursor.acceptWord('as')) {
      if (!cursor.acceptWord('json')) unsupported();
      cursor.expectEnd();
      return databaseSchemaJson(store, database);
    }
    cursor.expectEnd();
    return databaseSchema(store, database);
  }
  if (cursor.acceptWord('policy')) {
    const policy = parseShownPolicy(cursor);
    if (!policy) unsupported();
    cursor.expectEnd();
    const entity = { kind: 'Database', database } as const;
    return policyTable(store, policy, entity, policyText(store, policy, entity));
  }
  return unsupported();
}

function showTable(
  ctx: CommandContext,
  cursor: Cursor,
  database: string,
  unsupported: () => never,
): ResultTable {
  const { store } = ctx;
  const t = store.table(database, cursor.name());
  if (cursor.acceptWord('cslschema')) {
    cursor.expectEnd();
    return resultTable(TABLE_SCHEMA_COLUMNS, [[t.name, cslSchemaOf(t), t.database, '', '']]);
  }
  if (cursor.acceptWord('schema')) {
    cursor.expectWord('as');
    if (!cursor.acceptWord('json')) unsupported();
    cursor.expectEnd();
    return resultTable(TABLE_SCHEMA_COLUMNS, [[t.name, JSON.stringify(tableJson(t)), t.database, '', '']]);
  }
  if (cursor.acceptWord('policy')) {
    const policy = parseShownPolicy(cursor);
    if (!policy) unsupported();
    cursor.expectEnd();
    const entity = { kind: 'Table', table: t } as const;
    return policyTable(store, policy, entity, policyText(store, policy, entity));
  }
  if (cursor.acceptWord('extents')) {
    // `where tags has|contains 'T' [and tags ...]`: has is a tag equal to T, contains one holding T
    // (case-insensitive, as the engine compares tags).
    const filters: { op: 'has' | 'contains'; value: string }[] = [];
    if (cursor.acceptWord('where'))
      do {
        cursor.expectWord('tags');
        const op = cursor.acceptWord('has')
          ? 'has'
          : cursor.acceptWord('contains')
            ? 'contains'
            : unsupported();
        filters.push({ op, value: cursor.string().toLowerCase() });
      } while (cursor.acceptWord('and'));
    cursor.expectEnd();
    const matches = (tags: readonly string[]) =>
      filters.every((f) =>
        tags.some((t) => (f.op === 'has' ? t.toLowerCase() === f.value : t.toLowerCase().includes(f.value))),
      );
    return resultTable(
      [
        ['ExtentId', 'guid'],
        ['DatabaseName', 'string'],
        ['TableName', 'string'],
        ['RowCount', 'long'],
        ['MinCreatedOn', 'datetime'],
        ['MaxCreatedOn', 'datetime'],
        ['Tags', 'string'],
      ],
      store
        .extents(t.database, t.name)
        .filter((e) => matches(e.tags))
        .map((e) => {
          const created = iso(e.created).replace('.000Z', 'Z');
          return [e.id, t.database, t.name, e.rows, created, created, e.tags.join('\r\n')];
        }),
    );
  }
  if (cursor.acceptWord('ingestion')) {
    const kind = MAPPING_KINDS.find((k) => cursor.acceptWord(k));
    cursor.expectWord('mappings');
    cursor.expectEnd();
    return resultTable(
      [
        ['Name', 'string'],
        ['Kind', 'string'],
        ['Mapping', 'string'],
        ['LastUpdatedOn', 'datetime'],
        ['Database', 'string'],
        ['Table', 'string'],
      ],
      store
        .mappings(t.database, t.name)
        .filter((m) => !kind || m.kind.toLowerCase() === kind)
        .map((m) => [m.name, mappingKindName(m.kind), m.mapping, null, t.database, t.name]),
    );
  }
  return unsupported();
}

function showOperations(store: KustoStore, cursor: Cursor): ResultTable {
  let ids: string[] | undefined;
  if (cursor.acceptPunct('(')) {
    ids = [];
    do ids.push(cursor.next().value);
    while (cursor.acceptPunct(','));
    cursor.expectPunct(')');
  } else if (!cursor.done) {
    ids = [cursor.next().value];
  }
  cursor.expectEnd();
  for (const id of ids ?? []) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))
      throw syntaxError(`'${id}' is not an operation id (a guid)`);
  }
  return resultTable(
    [
      ['OperationId', 'guid'],
      ['Operation', 'string'],
      ['NodeId', 'string'],
      ['StartedOn', 'datetime'],
      ['LastUpdatedOn', 'datetime'],
      ['Duration', 'timespan'],
      ['State', 'string'],
      ['Status', 'string'],
    ],
    store
      .operations(ids)
      .map((o) => [
        o.operationId,
        o.operation,
        NODE_ID,
        iso(o.startedOn),
        iso(o.lastUpdatedOn),
        kustoTimespan(o.lastUpdatedOn - o.startedOn),
        o.state,
        o.status,
      ]),
  );
}

function showCluster(ctx: CommandContext): ResultTable {
  return resultTable(
    [
      ['NodeId', 'string'],
      ['Address', 'string'],
      ['Name', 'string'],
      ['StartTime', 'datetime'],
      ['IsAdmin', 'bool'],
      ['MachineTotalMemory', 'long'],
      ['MachineAvailableMemory', 'long'],
      ['ProcessorCount', 'int'],
      ['EnvironmentDescription', 'string'],
    ],
    [
      [
        NODE_ID,
        ctx.node.address,
        `${NODE_ID}/${hostname()}/node/${process.pid}`,
        iso(ctx.node.startedOn),
        true,
        totalmem(),
        freemem(),
        cpus().length,
        JSON.stringify({ Kind: 'kusto-ingest-functions stand-in' }),
      ],
    ],
  );
}

/** The documented columns, in their order (learn.microsoft.com/kusto/management/ingestion-failures). */
function showIngestionFailures(store: KustoStore): ResultTable {
  return resultTable(
    [
      ['OperationId', 'string'],
      ['Database', 'string'],
      ['Table', 'string'],
      ['FailedOn', 'datetime'],
      ['IngestionSourcePath', 'string'],
      ['Details', 'string'],
      ['FailureKind', 'string'],
      ['RootActivityId', 'string'],
      ['OperationKind', 'string'],
      ['OriginatesFromUpdatePolicy', 'bool'],
      ['ErrorCode', 'string'],
      ['Principal', 'string'],
      ['User', 'string'],
      ['IngestionProperties', 'string'],
      ['NumberOfSources', 'int'],
      ['ShouldRetry', 'bool'],
    ],
    store
      .failures()
      .map((f) => [
        f.operationId,
        f.database,
        f.table,
        iso(f.failedOn),
        f.sourcePath,
        f.details,
        f.failureKind,
        f.rootActivityId,
        f.operationKind,
        false,
        f.errorCode,
        '',
        '',
        '',
        1,
        f.failureKind === 'Transient',
      ]),
  );
}

/** `.show ...` (the cursor is past `.show`). */
export function runShow(
  ctx: CommandContext,
  database: string,
  cursor: Cursor,
  unsupported: () => never,
): ResultTable {
  const { store } = ctx;
  if (cursor.acceptWord('version')) {
    cursor.expectEnd();
    return showVersion('Engine', ctx.node.startedOn);
  }
  if (cursor.acceptWord('cluster')) {
    cursor.expectEnd();
    return showCluster(ctx);
  }
  if (cursor.acceptWord('operations')) return showOperations(store, cursor);
  if (cursor.acceptWord('databases')) {
    cursor.expectEnd();
    return resultTable(
      [
        ['DatabaseName', 'string'],
        ['PersistentStorage', 'string'],
      ],
      store.databases().map((d) => [d.name, d.persistence]),
    );
  }
  if (cursor.acceptWord('database')) return showDatabase(ctx, cursor, unsupported);
  if (cursor.acceptWord('tables')) {
    cursor.expectEnd();
    return resultTable(
      [
        ['TableName', 'string'],
        ['DatabaseName', 'string'],
        ['Folder', 'string'],
        ['DocString', 'string'],
      ],
      store.tables(database).map((t) => [t.name, t.database, '', '']),
    );
  }
  if (cursor.acceptWord('table')) return showTable(ctx, cursor, database, unsupported);
  if (cursor.acceptWord('ingestion')) {
    cursor.expectWord('failures');
    cursor.expectEnd();
    return showIngestionFailures(store);
  }
  return unsupported();
}

/** `.show version` of the engine or of the Data Management service. */
export function showVersion(serviceType: 'Engine' | 'DataManagement', startedOn: number): ResultTable {
  return resultTable(
    [
      ['BuildVersion', 'string'],
      ['BuildTime', 'datetime'],
      ['ServiceType', 'string'],
      ['ProductVersion', 'string'],
    ],
    [[STANDIN_VERSION, iso(startedOn), serviceType, `kusto-ingest-functions stand-in ${STANDIN_VERSION}`]],
  );
}
