import { randomUUID } from 'node:crypto';
import { downloadBlob, sourcePathOf } from './blobSource';
import { ingestData, type IngestOutcome } from './ingestCore';
import { Cursor, lex, syntaxError, type Token } from './kqlLexer';
import { KustoError } from './kustoError';
import { parseKqlType, KQL_TYPES } from './kqlTypes';
import { applyPipes, type ResultTable } from './query';
import type { ColumnDef, KustoStore, TableInfo } from './store';
import type { StandinAccount } from './storageResources';

export interface CommandContext {
  readonly store: KustoStore;
  readonly accounts: readonly StandinAccount[];
}

export const SUPPORTED_COMMANDS = [
  '.create database D volatile|persist (...) [ifnotexists]',
  '.show databases',
  '.create table T (c:type, ...)',
  '.create-merge table T (c:type, ...)',
  '.drop table T [ifexists]',
  '.drop tables (A, B) [ifexists]',
  '.show tables',
  '.show table T cslschema',
  '.show table T extents',
  '.create[-or-alter] table T ingestion <kind> mapping "name" \'[...]\'',
  '.show table T ingestion [<kind>] mappings',
  ".alter table T policy ingestionbatching @'{...}'",
  '.alter table T policy streamingingestion enable|disable',
  '.alter database D policy streamingingestion enable|disable',
  ".ingest into table T (h'url', ...) with (...)",
  '.ingest inline into table T [with (...)] <| data',
  '.show ingestion failures',
  '.show version',
];

const MAPPING_KINDS = ['csv', 'json', 'avro', 'apacheavro', 'parquet', 'orc', 'w3clogfile', 'sstream'];

function table(columns: [string, ResultTable['columns'][number]['type']][], rows: unknown[][]): ResultTable {
  return { columns: columns.map(([name, type]) => ({ name, type })), rows };
}

const schemaOf = (t: TableInfo): string => t.columns.map((c) => `${c.name}:${c.type}`).join(',');

function tableRow(t: TableInfo): unknown[] {
  return [t.name, schemaOf(t), t.database, '', ''];
}

const TABLE_COLUMNS: [string, 'string'][] = [
  ['TableName', 'string'],
  ['Schema', 'string'],
  ['DatabaseName', 'string'],
  ['Folder', 'string'],
  ['DocString', 'string'],
];

function columns(cursor: Cursor): ColumnDef[] {
  cursor.expectPunct('(');
  const defs: ColumnDef[] = [];
  if (!cursor.acceptPunct(')')) {
    do {
      const name = cursor.name();
      cursor.expectPunct(':');
      const typeName = cursor.name();
      const type = parseKqlType(typeName);
      if (!type) throw syntaxError(`unknown column type '${typeName}': use one of ${KQL_TYPES.join(', ')}`);
      defs.push({ name, type });
    } while (cursor.acceptPunct(','));
    cursor.expectPunct(')');
  }
  return defs;
}

/** `with (k=v, k2='v2')`: values are literals or names. */
function withProperties(cursor: Cursor): Record<string, string> {
  const props: Record<string, string> = {};
  if (!cursor.acceptWord('with')) return props;
  cursor.expectPunct('(');
  if (!cursor.acceptPunct(')')) {
    do {
      const key = cursor.name();
      cursor.expectPunct('=');
      const value = cursor.next();
      props[key] = value.value;
    } while (cursor.acceptPunct(','));
    cursor.expectPunct(')');
  }
  return props;
}

function prop(props: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(props).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : props[key];
}

function jsonList(value: string | undefined): string[] {
  if (!value) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) return parsed;
  } catch {
    // fall through
  }
  throw new KustoError(
    'BadRequest_MalformedIngestionProperty',
    `Expected a JSON array of strings, got ${value}.`,
    400,
  );
}

function timespanToMs(value: string): number | undefined {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(value.trim());
  if (!m) return undefined;
  const [, d, h, min, s, f] = m;
  return (
    ((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(min)) * 60_000 +
    Number(s) * 1000 +
    Math.round(Number(`0.${f ?? '0'}`) * 1000)
  );
}

async function ingestCommand(ctx: CommandContext, database: string, csl: string): Promise<ResultTable> {
  // `.ingest inline ... <| data`: the data is raw text after `<|`, not tokens.
  const inlineAt = csl.indexOf('<|');
  const head = inlineAt === -1 ? csl : csl.slice(0, inlineAt);
  const cursor = new Cursor(lex(head));
  cursor.expectPunct('.');
  cursor.expectWord('ingest');
  const inline = cursor.acceptWord('inline');
  if (cursor.acceptWord('async'))
    throw syntaxError('.ingest async is not supported by the stand-in: use .ingest (synchronous)');
  cursor.expectWord('into');
  cursor.expectWord('table');
  const tableName = cursor.name();
  const sources: string[] = [];
  if (!inline) {
    cursor.expectPunct('(');
    do sources.push(cursor.string());
    while (cursor.acceptPunct(','));
    cursor.expectPunct(')');
  }
  const props = withProperties(cursor);
  cursor.expectEnd();
  const format = (prop(props, 'format') ?? 'csv').toLowerCase();
  const common = {
    database,
    table: tableName,
    format,
    mapping: {
      inline: prop(props, 'ingestionMapping'),
      reference: prop(props, 'ingestionMappingReference') ?? prop(props, 'mappingReference'),
      kind: prop(props, 'ingestionMappingType'),
    },
    ignoreFirstRecord: prop(props, 'ignoreFirstRecord')?.toLowerCase() === 'true',
    tags: jsonList(prop(props, 'tags')),
    ingestIfNotExists: jsonList(prop(props, 'ingestIfNotExists')),
    creationTime: prop(props, 'creationTime'),
    zipPattern: prop(props, 'zipPattern'),
  };
  const started = Date.now();
  const outcomes: { outcome: IngestOutcome; source: string }[] = [];
  if (inline) {
    if (inlineAt === -1) throw syntaxError(".ingest inline needs the data after '<|'");
    const data = Buffer.from(csl.slice(inlineAt + 2).replace(/^[ \t]*\r?\n?/, ''), 'utf8');
    outcomes.push({
      outcome: await ingestData(ctx.store, {
        ...common,
        data,
        sourceName: 'inline',
        sourceLocation: 'inline',
      }),
      source: 'inline',
    });
  } else {
    for (const source of sources) {
      const data = await downloadBlob(source, ctx.accounts);
      const path = sourcePathOf(source);
      outcomes.push({
        outcome: await ingestData(ctx.store, { ...common, data, sourceName: path, sourceLocation: path }),
        source: path,
      });
    }
  }
  const duration = new Date(Date.now() - started).toISOString().slice(11, 19);
  return table(
    [
      ['ExtentId', 'guid'],
      ['ItemLoaded', 'string'],
      ['Duration', 'timespan'],
      ['HasErrors', 'bool'],
      ['OperationId', 'guid'],
    ],
    outcomes
      .filter((o) => o.outcome.extentId)
      .map((o) => [o.outcome.extentId, o.source, duration, false, randomUUID()]),
  );
}

/** Runs one control command; the result is one table, optionally `| project`-ed. */
export async function runCommand(ctx: CommandContext, database: string, csl: string): Promise<ResultTable> {
  const text = csl.trim();
  if (/^\.ingest\b/i.test(text)) return ingestCommand(ctx, database, text);
  const tokens = lex(text);
  const pipeAt = tokens.findIndex((t) => t.kind === 'punct' && t.value === '|');
  const head: Token[] = pipeAt === -1 ? tokens : tokens.slice(0, pipeAt);
  const pipes: Token[] = pipeAt === -1 ? [] : tokens.slice(pipeAt);
  const result = runHead(ctx, database, new Cursor(head));
  if (pipes.length > 0 && !/^\.show\b/i.test(text))
    throw syntaxError('| project is only supported after .show commands');
  return applyPipes(result, pipes);
}

function runHead(ctx: CommandContext, database: string, cursor: Cursor): ResultTable {
  const { store } = ctx;
  cursor.expectPunct('.');
  const verb = cursor.next().value.toLowerCase();

  if (verb === 'show') {
    if (cursor.acceptWord('version')) {
      cursor.expectEnd();
      return table(
        [
          ['BuildVersion', 'string'],
          ['ServiceType', 'string'],
          ['ProductVersion', 'string'],
        ],
        [['1.0.0', 'Engine', 'kusto-ingest-functions stand-in']],
      );
    }
    if (cursor.acceptWord('databases')) {
      cursor.expectEnd();
      return table(
        [
          ['DatabaseName', 'string'],
          ['PersistentStorage', 'string'],
        ],
        store.databases().map((d) => [d.name, d.persistence]),
      );
    }
    if (cursor.acceptWord('tables')) {
      cursor.expectEnd();
      return table(
        [
          ['TableName', 'string'],
          ['DatabaseName', 'string'],
          ['Folder', 'string'],
          ['DocString', 'string'],
        ],
        store.tables(database).map((t) => [t.name, t.database, '', '']),
      );
    }
    if (cursor.acceptWord('ingestion')) {
      cursor.expectWord('failures');
      cursor.expectEnd();
      return table(
        [
          ['OperationId', 'guid'],
          ['Database', 'string'],
          ['Table', 'string'],
          ['FailedOn', 'datetime'],
          ['IngestionSourcePath', 'string'],
          ['Details', 'string'],
          ['FailureKind', 'string'],
          ['RootActivityId', 'guid'],
          ['OperationKind', 'string'],
          ['OriginatesFromUpdatePolicy', 'bool'],
          ['ShouldRetry', 'bool'],
          ['ErrorCode', 'string'],
        ],
        store
          .failures()
          .map((f) => [
            f.operationId,
            f.database,
            f.table,
            new Date(f.failedOn).toISOString(),
            f.sourcePath,
            f.details,
            f.failureKind,
            f.rootActivityId,
            f.operationKind,
            false,
            f.failureKind === 'Transient',
            f.errorCode,
          ]),
      );
    }
    if (cursor.acceptWord('table')) {
      const t = store.table(database, cursor.name());
      if (cursor.acceptWord('cslschema')) {
        cursor.expectEnd();
        return table(TABLE_COLUMNS, [tableRow(t)]);
      }
      if (cursor.acceptWord('extents')) {
        cursor.expectEnd();
        return table(
          [
            ['ExtentId', 'guid'],
            ['DatabaseName', 'string'],
            ['TableName', 'string'],
            ['RowCount', 'long'],
            ['MinCreatedOn', 'datetime'],
            ['MaxCreatedOn', 'datetime'],
            ['Tags', 'string'],
          ],
          store.extents(t.database, t.name).map((e) => {
            const created = new Date(e.created).toISOString().replace('.000Z', 'Z');
            return [e.id, t.database, t.name, e.rows, created, created, e.tags.join('\r\n')];
          }),
        );
      }
      if (cursor.acceptWord('ingestion')) {
        const kind = MAPPING_KINDS.find((k) => cursor.acceptWord(k));
        cursor.expectWord('mappings');
        cursor.expectEnd();
        return table(
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
            .map((m) => [m.name, titleCase(m.kind), m.mapping, null, t.database, t.name]),
        );
      }
    }
  }

  if (verb === 'create' && cursor.acceptWord('database')) {
    const name = cursor.name();
    let persistence = 'volatile';
    let ifNotExists = false;
    while (!cursor.done) {
      if (cursor.acceptWord('ifnotexists')) ifNotExists = true;
      else if (cursor.acceptWord('volatile')) persistence = 'volatile';
      else if (cursor.acceptWord('persist')) {
        cursor.expectPunct('(');
        const paths: string[] = [];
        do paths.push(cursor.string());
        while (cursor.acceptPunct(','));
        cursor.expectPunct(')');
        persistence = paths.join(', ');
      } else throw syntaxError(`unexpected '${cursor.peek()?.value ?? ''}' in .create database`);
    }
    store.createDatabase(name, persistence, ifNotExists);
    return table(
      [
        ['DatabaseName', 'string'],
        ['PersistentStorage', 'string'],
      ],
      [[name, persistence]],
    );
  }

  if (
    (verb === 'create' || verb === 'create-merge' || verb === 'create-or-alter') &&
    cursor.acceptWord('table')
  ) {
    const name = cursor.name();
    if (cursor.acceptWord('ingestion')) {
      const kind = cursor.next().value.toLowerCase();
      if (!MAPPING_KINDS.includes(kind))
        throw syntaxError(`unknown mapping kind '${kind}': use one of ${MAPPING_KINDS.join(', ')}`);
      cursor.expectWord('mapping');
      const mappingName = cursor.name(true);
      const mapping = cursor.string();
      cursor.expectEnd();
      try {
        JSON.parse(mapping);
      } catch (e) {
        throw new KustoError(
          'BadRequest_InvalidMapping',
          `The mapping is not JSON: ${(e as Error).message}`,
          400,
        );
      }
      const t = store.table(database, name);
      store.setMapping(
        t.database,
        t.name,
        kind,
        mappingName,
        mapping,
        verb === 'create' ? 'create' : 'createOrAlter',
      );
      return table(
        [
          ['Name', 'string'],
          ['Kind', 'string'],
          ['Mapping', 'string'],
          ['Database', 'string'],
          ['Table', 'string'],
        ],
        [[mappingName, titleCase(kind), mapping, t.database, t.name]],
      );
    }
    if (verb === 'create-or-alter')
      throw syntaxError('.create-or-alter table is supported for ingestion mappings only');
    const defs = columns(cursor);
    withProperties(cursor); // docstring, folder: accepted and ignored
    cursor.expectEnd();
    const t = store.createTable(database, name, defs, verb === 'create' ? 'create' : 'merge');
    return table(TABLE_COLUMNS, [tableRow(t)]);
  }

  if (verb === 'drop') {
    if (cursor.acceptWord('tables')) {
      cursor.expectPunct('(');
      const names: string[] = [];
      do names.push(cursor.name());
      while (cursor.acceptPunct(','));
      cursor.expectPunct(')');
      const ifExists = cursor.acceptWord('ifexists');
      cursor.expectEnd();
      if (!ifExists) for (const n of names) store.table(database, n); // all or nothing
      for (const n of names) store.dropTable(database, n, true);
      return remainingTables(store, database);
    }
    if (cursor.acceptWord('table')) {
      const name = cursor.name();
      const ifExists = cursor.acceptWord('ifexists');
      cursor.expectEnd();
      store.dropTable(database, name, ifExists);
      return remainingTables(store, database);
    }
  }

  if (verb === 'alter' || verb === 'alter-merge') {
    const entity = cursor.next().value.toLowerCase();
    if (entity !== 'table' && entity !== 'database') throw unsupportedCommand();
    const name = cursor.name();
    cursor.expectWord('policy');
    const policy = cursor.next().value.toLowerCase();
    const target = entity === 'table' ? store.table(database, name) : undefined;
    if (policy === 'streamingingestion') {
      const enabled = streamingSetting(cursor);
      cursor.expectEnd();
      if (target) store.setTableStreaming(target.database, target.name, enabled);
      else store.setDatabaseStreaming(name, enabled);
      return policyResult('StreamingIngestionPolicy', name, JSON.stringify({ IsEnabled: enabled }));
    }
    if (policy === 'ingestionbatching' && target) {
      const json = cursor.string();
      cursor.expectEnd();
      let spec: { MaximumBatchingTimeSpan?: unknown };
      try {
        spec = JSON.parse(json) as typeof spec;
      } catch (e) {
        throw new KustoError(
          'BadRequest_InvalidPolicy',
          `The policy is not JSON: ${(e as Error).message}`,
          400,
        );
      }
      const ms =
        typeof spec.MaximumBatchingTimeSpan === 'string'
          ? timespanToMs(spec.MaximumBatchingTimeSpan)
          : undefined;
      if (ms === undefined)
        throw new KustoError(
          'BadRequest_InvalidPolicy',
          'MaximumBatchingTimeSpan must be a timespan such as "00:00:10".',
          400,
        );
      store.setTableBatching(target.database, target.name, ms);
      return policyResult('IngestionBatchingPolicy', name, json);
    }
  }
  throw unsupportedCommand();
}

function streamingSetting(cursor: Cursor): boolean {
  if (cursor.acceptWord('enable')) return true;
  if (cursor.acceptWord('disable')) return false;
  const json = cursor.string();
  try {
    return (JSON.parse(json) as { IsEnabled?: unknown }).IsEnabled === true;
  } catch {
    throw new KustoError(
      'BadRequest_InvalidPolicy',
      `The streaming ingestion policy is not JSON: ${json}`,
      400,
    );
  }
}

function policyResult(policyName: string, entity: string, policy: string): ResultTable {
  return table(
    [
      ['PolicyName', 'string'],
      ['EntityName', 'string'],
      ['Policy', 'string'],
    ],
    [[policyName, entity, policy]],
  );
}

function remainingTables(store: KustoStore, database: string): ResultTable {
  return table(
    [
      ['TableName', 'string'],
      ['DatabaseName', 'string'],
    ],
    store.tables(database).map((t) => [t.name, t.database]),
  );
}

function titleCase(kind: string): string {
  const names: Record<string, string> = {
    csv: 'Csv',
    json: 'Json',
    avro: 'Avro',
    apacheavro: 'ApacheAvro',
    parquet: 'Parquet',
    orc: 'Orc',
    w3clogfile: 'W3CLogFile',
    sstream: 'SStream',
  };
  return names[kind.toLowerCase()] ?? kind;
}

function unsupportedCommand(): KustoError {
  return new KustoError(
    'BadRequest_SyntaxError',
    `The stand-in does not support this command. It supports: ${SUPPORTED_COMMANDS.join('; ')}.`,
    400,
  );
}
