/**
 * One run of the stand-in store comparison (bench/README.md, section 11), in a process of its own.
 * BENCH_ENGINE=sqlite (the stand-in's KustoStore) or duckdb (@duckdb/node-api, loaded from
 * BENCH_DUCKDB_DIR, where the scenario installed it); BENCH_MODE=ingest (rows/s, memory, a summarize)
 * or coverage (the KQL corpus, translated as the stand-in translates it, run on DuckDB).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CORPUS, EVENTS, EVENTS_SCHEMA, USERS, USERS_SCHEMA } from '../../dev/standin/kql/corpus';
import { KQL_SCALAR_FUNCTIONS, type Value } from '../../dev/standin/kql/sqlFunctions';
import { convert, parseKqlType, toJsonValue, type KqlType, type Stored } from '../../dev/standin/kqlTypes';
import { translateQuery } from '../../dev/standin/query';
import { KustoStore, type ColumnDef } from '../../dev/standin/store';

const SUMMARIZE = 'Events | summarize n = count(), avg(score), max(ts) by level';

function columnsOf(schema: string): ColumnDef[] {
  return schema
    .slice(1, -1)
    .split(',')
    .map((c) => {
      const [name, type] = c.split(':').map((s) => s.trim());
      return { name: name ?? '', type: parseKqlType(type ?? '') ?? 'string' };
    });
}

/** Row i of a large Events table: the corpus rows, repeated with shifted times and durations. */
function eventRow(i: number, columns: readonly ColumnDef[]): Stored[] {
  const base = EVENTS[i % EVENTS.length] ?? [];
  const shifted = [...base];
  shifted[0] = new Date(Date.parse(String(base[0])) + i * 1000).toISOString();
  if (typeof base[3] === 'number') shifted[3] = base[3] + (i % 1000);
  return columns.map((c, j) => convert(shifted[j], c.type));
}

// DuckDB columns hold the stand-in's stored forms, so the translated SQL reads them the same way.
const DUCK_TYPE: Readonly<Record<KqlType, string>> = {
  string: 'VARCHAR',
  int: 'BIGINT',
  long: 'BIGINT',
  real: 'DOUBLE',
  decimal: 'VARCHAR',
  bool: 'BIGINT',
  datetime: 'BIGINT',
  timespan: 'BIGINT',
  guid: 'VARCHAR',
  dynamic: 'VARCHAR',
};

interface Duck {
  connection: {
    run(sql: string): Promise<unknown>;
    runAndReadAll(sql: string): Promise<{ getRows(): unknown[][] }>;
    createAppender(table: string): Promise<{
      appendVarchar(v: string): void;
      appendBigInt(v: bigint): void;
      appendDouble(v: number): void;
      appendNull(): void;
      endRow(): void;
      flushSync(): void;
      closeSync(): void;
    }>;
    registerScalarFunction(f: unknown): void;
  };
  api: Record<string, unknown>;
}

async function openDuck(): Promise<Duck> {
  const dir = process.env.BENCH_DUCKDB_DIR ?? '';
  const api = createRequire(join(dir, 'package.json'))('@duckdb/node-api') as Record<string, unknown> & {
    DuckDBInstance: { create(path: string): Promise<{ connect(): Promise<Duck['connection']> }> };
  };
  const instance = await api.DuckDBInstance.create(':memory:');
  return { connection: await instance.connect(), api };
}

async function duckTable(duck: Duck, name: string, columns: readonly ColumnDef[]): Promise<void> {
  const defs = columns.map((c, i) => `c${i} ${DUCK_TYPE[c.type]}`).join(', ');
  await duck.connection.run(`CREATE TABLE "${name}" (_extent VARCHAR, ${defs})`);
}

async function duckAppend(
  duck: Duck,
  name: string,
  columns: readonly ColumnDef[],
  rows: Iterable<Stored[]>,
): Promise<void> {
  const appender = await duck.connection.createAppender(name);
  for (const row of rows) {
    appender.appendVarchar('extent');
    row.forEach((v, i) => {
      const type = DUCK_TYPE[columns[i]?.type ?? 'string'];
      if (v === null) appender.appendNull();
      else if (type === 'VARCHAR') appender.appendVarchar(String(v));
      else if (type === 'DOUBLE') appender.appendDouble(Number(v));
      else appender.appendBigInt(BigInt(v));
    });
    appender.endRow();
  }
  appender.flushSync();
  appender.closeSync();
}

function* generated(count: number, columns: readonly ColumnDef[]): Iterable<Stored[]> {
  for (let i = 0; i < count; i++) yield eventRow(i, columns);
}

const rssMb = () => process.memoryUsage().rss / 2 ** 20;

async function ingest(): Promise<Record<string, number>> {
  const engine = process.env.BENCH_ENGINE;
  const count = Number(process.env.BENCH_ROWS ?? 200_000);
  const columns = columnsOf(EVENTS_SCHEMA);
  // The translation needs the schema; the SQLite store gives it in both cases.
  const schemaStore = new KustoStore();
  const table = schemaStore.createTable('demo', 'Events', columns, 'create');
  const { sql } = translateQuery(schemaStore, 'demo', SUMMARIZE);
  const duck = engine === 'sqlite' ? undefined : await openDuck();
  // Memory is what the rows add, after the parser and the engine are loaded.
  const before = rssMb();
  let started = performance.now();
  let queryMs: number;
  let ingestMs: number;
  if (!duck) {
    const batch = 10_000;
    for (let at = 0; at < count; at += batch) {
      const rows: Stored[][] = [];
      for (let i = at; i < Math.min(count, at + batch); i++) rows.push(eventRow(i, columns));
      schemaStore.appendExtents(table, [{ rows, tags: [] }]);
    }
    ingestMs = performance.now() - started;
    started = performance.now();
    schemaStore.select(sql, []);
    queryMs = performance.now() - started;
  } else {
    await duckTable(duck, table.sqlName, columns);
    started = performance.now();
    await duckAppend(duck, table.sqlName, columns, generated(count, columns));
    ingestMs = performance.now() - started;
    started = performance.now();
    await duck.connection.runAndReadAll(sql);
    queryMs = performance.now() - started;
  }
  return {
    rowsPerSec: count / (ingestMs / 1000),
    summarizeMs: queryMs,
    rssGrowthMb: rssMb() - before,
  };
}

/** The k* functions of the SQLite store, registered on DuckDB as row-at-a-time JavaScript functions. */
function registerFunctions(duck: Duck): void {
  const { DuckDBScalarFunction, ANY, VARCHAR, BIGINT } = duck.api as {
    DuckDBScalarFunction: { create(o: unknown): unknown };
    ANY: unknown;
    VARCHAR: unknown;
    BIGINT: unknown;
  };
  const numeric = new Set([
    'khas',
    'khasprefix',
    'khassuffix',
    'kcontains',
    'kstartswith',
    'kendswith',
    'kregex',
    'kstartof',
  ]);
  for (const [name, impl] of Object.entries(KQL_SCALAR_FUNCTIONS)) {
    duck.connection.registerScalarFunction(
      DuckDBScalarFunction.create({
        name,
        returnType: numeric.has(name) ? BIGINT : VARCHAR,
        varArgsType: ANY,
        specialHandling: true,
        mainFunction: (
          _info: unknown,
          input: {
            columnCount: number;
            rowCount: number;
            getColumnVector(i: number): { getItem(r: number): unknown };
          },
          output: { setItem(r: number, v: unknown): void; flush(): void },
        ) => {
          for (let r = 0; r < input.rowCount; r++) {
            const args: Value[] = [];
            for (let c = 0; c < input.columnCount; c++) {
              const v = input.getColumnVector(c).getItem(r);
              args.push(typeof v === 'bigint' ? Number(v) : (v as Value));
            }
            const result = impl(...args);
            output.setItem(r, result === null ? null : numeric.has(name) ? BigInt(result) : String(result));
          }
          output.flush();
        },
      }),
    );
  }
}

/**
 * The stand-in's SQL on DuckDB: its own aggregates where SQLite's are JavaScript (DuckDB's Node API has
 * no aggregate functions), greatest() for SQLite's two-argument max().
 */
function toDuckSql(sql: string): string {
  return sql
    .replace(/karg(max|min)\(/g, 'karg_$1(')
    .replace(/LIMIT MAX\(0, /g, 'LIMIT greatest(0, ')
    .replace(/kpercentile\(/g, 'quantile_disc_pct(')
    .replace(/kmakelist\(([^,]+), '(\w+)', \d+\)/g, "CAST(to_json(list(kjson($1, '$2'))) AS VARCHAR)")
    .replace(
      /kmakeset\(([^,]+), '(\w+)', \d+\)/g,
      "CAST(to_json(list(DISTINCT kjson($1, '$2'))) AS VARCHAR)",
    );
}

async function coverage(): Promise<Record<string, number>> {
  const duck = await openDuck();
  registerFunctions(duck);
  await duck.connection.run('CREATE MACRO karg_max(v, payload) AS arg_max(payload, v)');
  await duck.connection.run('CREATE MACRO karg_min(v, payload) AS arg_min(payload, v)');
  await duck.connection.run('CREATE MACRO quantile_disc_pct(v, p) AS quantile_disc(v, p / 100.0)');
  const store = new KustoStore();
  for (const [name, schema, rows] of [
    ['Events', EVENTS_SCHEMA, EVENTS],
    ['Users', USERS_SCHEMA, USERS],
  ] as const) {
    const columns = columnsOf(schema);
    const table = store.createTable('demo', name, columns, 'create');
    await duckTable(duck, table.sqlName, columns);
    await duckAppend(
      duck,
      table.sqlName,
      columns,
      rows.map((r) => columns.map((c, i) => convert(r[i], c.type))),
    );
  }
  let passed = 0;
  const failures = new Map<string, number>();
  const now = Date.now();
  for (const c of CORPUS) {
    const { sql, columns } = translateQuery(store, 'demo', c.q, now);
    let verdict: string;
    try {
      const rows = (await duck.connection.runAndReadAll(toDuckSql(sql))).getRows();
      const values = rows.map((row) =>
        columns.map((col, i) => {
          const v = row[i];
          const stored = typeof v === 'bigint' ? Number(v) : (v as Stored);
          return stored === null && col.type === 'string' ? '' : toJsonValue(stored, col.type);
        }),
      );
      const key = (r: unknown[]) => JSON.stringify(r);
      const sort = (rs: unknown[][]) =>
        c.ordered ? rs : [...rs].sort((a, b) => key(a).localeCompare(key(b)));
      const same =
        JSON.stringify(sort(values).map((r) => r.map((v) => (typeof v === 'number' ? +v.toFixed(9) : v)))) ===
        JSON.stringify(
          sort(c.rows.map((r) => [...r])).map((r) =>
            r.map((v) => (typeof v === 'number' ? +v.toFixed(9) : v)),
          ),
        );
      verdict = same ? 'passed' : 'a different result';
    } catch (e) {
      verdict = `error: ${(e as Error).message.split('\n')[0]?.slice(0, 80) ?? ''}`;
    }
    if (verdict === 'passed') passed++;
    else {
      failures.set(verdict, (failures.get(verdict) ?? 0) + 1);
      console.error(`${verdict}: ${c.q}`);
    }
  }
  for (const [why, n] of [...failures].sort((a, b) => b[1] - a[1])) console.error(`${n} x ${why}`);
  return { passed, total: CORPUS.length };
}

async function main(): Promise<void> {
  const result = process.env.BENCH_MODE === 'coverage' ? await coverage() : await ingest();
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
