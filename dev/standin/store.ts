import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { installKqlFunctions } from './kql/sqlFunctions';
import { KustoError } from './kustoError';
import { parseKqlType, sqliteType, type KqlType, type Stored } from './kqlTypes';

export interface ColumnDef {
  readonly name: string;
  readonly type: KqlType;
}

export interface TableInfo {
  readonly database: string;
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  /** The table's ingestion batching window, when a policy sets one. */
  readonly batchingMs: number | undefined;
  /** The ingestion batching policy as it was set (JSON), for `.show table T policy ingestionbatching`. */
  readonly batchingPolicy: string | undefined;
  /** Streaming ingestion policy on the table: true, false, or unset (the database decides). */
  readonly streaming: boolean | undefined;
  readonly sqlName: string;
}

export interface MappingInfo {
  readonly kind: string;
  readonly name: string;
  readonly mapping: string;
}

export interface ExtentInput {
  readonly rows: readonly (readonly Stored[])[];
  readonly tags: readonly string[];
  readonly creationTime?: number | undefined;
}

/** One entry of `.show operations`: a command or an ingestion the stand-in ran. */
export interface OperationRecord {
  readonly operationId: string;
  /** The operation's alias, as Kusto names them (DataIngestPull, TableCreate, ...). */
  readonly operation: string;
  readonly database: string;
  readonly startedOn: number;
  readonly lastUpdatedOn: number;
  readonly state: 'Completed' | 'Failed' | 'InProgress';
  /** Why it failed; empty when it did not. */
  readonly status: string;
}

export interface FailureRecord {
  readonly operationId: string;
  readonly database: string;
  readonly table: string;
  readonly failedOn: number;
  readonly sourcePath: string;
  readonly details: string;
  readonly failureKind: 'Permanent' | 'Transient';
  readonly errorCode: string;
  readonly operationKind: string;
  readonly rootActivityId: string;
}

const META = `
CREATE TABLE IF NOT EXISTS kdatabases (name TEXT PRIMARY KEY COLLATE NOCASE, persistence TEXT NOT NULL, streaming INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS ktables (db TEXT NOT NULL COLLATE NOCASE, name TEXT NOT NULL, sqlname TEXT NOT NULL UNIQUE,
  columns TEXT NOT NULL, batching_ms INTEGER, streaming INTEGER, PRIMARY KEY (db, name));
CREATE TABLE IF NOT EXISTS kmappings (db TEXT NOT NULL COLLATE NOCASE, tbl TEXT NOT NULL, kind TEXT NOT NULL COLLATE NOCASE,
  name TEXT NOT NULL, mapping TEXT NOT NULL, PRIMARY KEY (db, tbl, kind, name));
CREATE TABLE IF NOT EXISTS kextents (id TEXT PRIMARY KEY, db TEXT NOT NULL COLLATE NOCASE, tbl TEXT NOT NULL, rows INTEGER NOT NULL,
  tags TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kfailures (operation_id TEXT, db TEXT, tbl TEXT, failed_on INTEGER, source TEXT, details TEXT,
  failure_kind TEXT, error_code TEXT, operation_kind TEXT, root_activity_id TEXT);
CREATE TABLE IF NOT EXISTS koperations (operation_id TEXT, operation TEXT, db TEXT, started_on INTEGER, updated_on INTEGER,
  state TEXT, status TEXT);
CREATE TABLE IF NOT EXISTS ktokens (token TEXT PRIMARY KEY, issued INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kcounter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kidentities (scope TEXT NOT NULL COLLATE NOCASE, object_id TEXT NOT NULL COLLATE NOCASE,
  usages TEXT NOT NULL, PRIMARY KEY (scope, object_id));
`;

/** One entry of a ManagedIdentity policy: which identity may be used for what. */
export interface ManagedIdentityEntry {
  readonly objectId: string;
  readonly allowedUsages: readonly string[];
}

/** Where a ManagedIdentity policy is set: a database, or the cluster (undefined). */
export type PolicyScope = string | undefined;

interface TableRow {
  db: string;
  name: string;
  sqlname: string;
  columns: string;
  batching_ms: number | null;
  batching_policy: string | null;
  streaming: number | null;
}

const quote = (sqlName: string): string => `"${sqlName.replace(/"/g, '""')}"`;

/**
 * The stand-in engine's data: Kusto databases, tables and extents kept in SQLite. Durable in a file
 * (local runs) or in memory (tests). Each Kusto table is one SQLite table with positional columns, so
 * Kusto names never reach SQL text.
 */
export class KustoStore {
  private readonly db: Database.Database;

  constructor(path = ':memory:') {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    if (path !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.db.exec(META);
    installKqlFunctions(this.db);
    // Stores written by an earlier stand-in lack the columns added since.
    const tableColumns = this.db.prepare('PRAGMA table_info(ktables)').all() as { name: string }[];
    if (!tableColumns.some((c) => c.name === 'batching_policy'))
      this.db.exec('ALTER TABLE ktables ADD COLUMN batching_policy TEXT');
    this.db.prepare("INSERT OR IGNORE INTO kdatabases (name, persistence) VALUES ('demo', 'volatile')").run();
  }

  close(): void {
    this.db.close();
  }

  // -- databases -------------------------------------------------------------------------------------------

  databases(): { name: string; persistence: string }[] {
    return this.db.prepare('SELECT name, persistence FROM kdatabases ORDER BY name').all() as {
      name: string;
      persistence: string;
    }[];
  }

  /** The database's canonical name; throws BadRequest_DatabaseNotExist. */
  database(name: string): string {
    const row = this.db.prepare('SELECT name FROM kdatabases WHERE name = ?').get(name) as
      { name: string } | undefined;
    if (!row) {
      throw new KustoError(
        'BadRequest_DatabaseNotExist',
        `Database '${name}' was not found. Create it first: .create database ${name} volatile`,
        400,
      );
    }
    return row.name;
  }

  createDatabase(name: string, persistence: string, ifNotExists: boolean): void {
    const exists = this.db.prepare('SELECT 1 FROM kdatabases WHERE name = ?').get(name);
    if (exists) {
      if (ifNotExists) return;
      throw new KustoError('BadRequest_EntityAlreadyExists', `Database '${name}' already exists.`, 400);
    }
    this.db.prepare('INSERT INTO kdatabases (name, persistence) VALUES (?, ?)').run(name, persistence);
  }

  setDatabaseStreaming(database: string, enabled: boolean): void {
    this.db
      .prepare('UPDATE kdatabases SET streaming = ? WHERE name = ?')
      .run(enabled ? 1 : 0, this.database(database));
  }

  databaseStreaming(database: string): boolean {
    const row = this.db
      .prepare('SELECT streaming FROM kdatabases WHERE name = ?')
      .get(this.database(database)) as { streaming: number };
    return row.streaming === 1;
  }

  // -- managed identity policies ---------------------------------------------------------------------------

  /** The ManagedIdentity policy of a database, or of the cluster. */
  managedIdentities(scope: PolicyScope): ManagedIdentityEntry[] {
    const key = scope === undefined ? '' : this.database(scope);
    const rows = this.db
      .prepare('SELECT object_id, usages FROM kidentities WHERE scope = ? ORDER BY object_id')
      .all(key) as { object_id: string; usages: string }[];
    return rows.map((r) => ({ objectId: r.object_id, allowedUsages: JSON.parse(r.usages) as string[] }));
  }

  /** Replaces the policy (`.alter`), or merges entries and usages into it (`.alter-merge`). */
  setManagedIdentities(scope: PolicyScope, entries: readonly ManagedIdentityEntry[], merge: boolean): void {
    const key = scope === undefined ? '' : this.database(scope);
    const write = this.db.transaction(() => {
      if (!merge) this.db.prepare('DELETE FROM kidentities WHERE scope = ?').run(key);
      for (const entry of entries) {
        const old = merge
          ? (this.db
              .prepare('SELECT usages FROM kidentities WHERE scope = ? AND object_id = ?')
              .get(key, entry.objectId) as { usages: string } | undefined)
          : undefined;
        const usages = [...(old ? (JSON.parse(old.usages) as string[]) : [])];
        for (const u of entry.allowedUsages)
          if (!usages.some((x) => x.toLowerCase() === u.toLowerCase())) usages.push(u);
        this.db
          .prepare('INSERT OR REPLACE INTO kidentities (scope, object_id, usages) VALUES (?, ?, ?)')
          .run(key, entry.objectId, JSON.stringify(usages));
      }
    });
    write();
  }

  /** Whether the policy of the database or of the cluster (it is additive) allows the identity this usage. */
  identityAllowed(database: string, objectId: string, usage: string): boolean {
    return [...this.managedIdentities(database), ...this.managedIdentities(undefined)].some(
      (e) =>
        e.objectId.toLowerCase() === objectId.toLowerCase() &&
        e.allowedUsages.some((u) => u.toLowerCase() === usage.toLowerCase()),
    );
  }

  // -- tables ----------------------------------------------------------------------------------------------

  tables(database: string): TableInfo[] {
    const db = this.database(database);
    return (this.db.prepare('SELECT * FROM ktables WHERE db = ? ORDER BY name').all(db) as TableRow[]).map(
      toTableInfo,
    );
  }

  findTable(database: string, name: string): TableInfo | undefined {
    const db = this.database(database);
    const row = this.db.prepare('SELECT * FROM ktables WHERE db = ? AND name = ?').get(db, name) as
      TableRow | undefined;
    return row ? toTableInfo(row) : undefined;
  }

  /** The table, or BadRequest_TableNotExist (names are case-sensitive, as in Kusto). */
  table(database: string, name: string): TableInfo {
    const table = this.findTable(database, name);
    if (!table) {
      throw new KustoError(
        'BadRequest_TableNotExist',
        `Table '${name}' was not found in database '${database}'.`,
        400,
      );
    }
    return table;
  }

  /** `.create table` (mode 'create') or `.create-merge table` (mode 'merge'). */
  createTable(
    database: string,
    name: string,
    columns: readonly ColumnDef[],
    mode: 'create' | 'merge',
  ): TableInfo {
    const db = this.database(database);
    const seen = new Set<string>();
    for (const c of columns) {
      if (seen.has(c.name))
        throw new KustoError('BadRequest_DuplicateColumn', `Column '${c.name}' appears twice.`, 400);
      seen.add(c.name);
    }
    return this.db.transaction(() => {
      const existing = this.findTable(db, name);
      if (!existing) {
        const sqlName = `t_${this.next('table')}`;
        const defs = columns.map((c, i) => `c${i} ${sqliteType(c.type)}`).join(', ');
        this.db.exec(`CREATE TABLE ${quote(sqlName)} (_extent TEXT NOT NULL${defs ? `, ${defs}` : ''})`);
        this.db.exec(`CREATE INDEX ${quote(`${sqlName}_extent`)} ON ${quote(sqlName)} (_extent)`);
        this.db
          .prepare('INSERT INTO ktables (db, name, sqlname, columns) VALUES (?, ?, ?, ?)')
          .run(db, name, sqlName, JSON.stringify(columns));
        this.next(schemaCounter(db));
        return this.table(db, name);
      }
      const merged = [...existing.columns];
      for (const c of columns) {
        const current = merged.find((m) => m.name === c.name);
        if (current && current.type !== c.type) {
          throw new KustoError(
            'BadRequest_BadColumnType',
            `Column '${c.name}' of table '${name}' is ${current.type}; it cannot become ${c.type}.`,
            400,
          );
        }
        if (!current) {
          if (mode === 'create') {
            throw new KustoError(
              'BadRequest_EntityAlreadyExists',
              `Table '${name}' already exists with a different schema: use .create-merge table to add columns.`,
              400,
            );
          }
          this.db.exec(
            `ALTER TABLE ${quote(existing.sqlName)} ADD COLUMN c${merged.length} ${sqliteType(c.type)}`,
          );
          merged.push(c);
        }
      }
      if (mode === 'create' && merged.length !== columns.length) {
        throw new KustoError(
          'BadRequest_EntityAlreadyExists',
          `Table '${name}' already exists with a different schema.`,
          400,
        );
      }
      if (merged.length !== existing.columns.length) {
        this.db
          .prepare('UPDATE ktables SET columns = ? WHERE db = ? AND name = ?')
          .run(JSON.stringify(merged), db, name);
        this.next(schemaCounter(db));
      }
      return this.table(db, name);
    })();
  }

  dropTable(database: string, name: string, ifExists: boolean): boolean {
    const db = this.database(database);
    const table = this.findTable(db, name);
    if (!table) {
      if (ifExists) return false;
      throw new KustoError(
        'BadRequest_TableNotExist',
        `Table '${name}' was not found in database '${db}'.`,
        400,
      );
    }
    this.db.transaction(() => {
      this.db.exec(`DROP TABLE ${quote(table.sqlName)}`);
      this.db.prepare('DELETE FROM ktables WHERE db = ? AND name = ?').run(db, name);
      this.db.prepare('DELETE FROM kmappings WHERE db = ? AND tbl = ?').run(db, name);
      this.db.prepare('DELETE FROM kextents WHERE db = ? AND tbl = ?').run(db, name);
      this.next(schemaCounter(db));
    })();
    return true;
  }

  /** Sets the table's batching window and keeps the policy text it came from. */
  setTableBatching(database: string, name: string, batchingMs: number | null, policy?: string): void {
    const t = this.table(database, name);
    this.db
      .prepare('UPDATE ktables SET batching_ms = ?, batching_policy = ? WHERE db = ? AND name = ?')
      .run(batchingMs, policy ?? null, t.database, t.name);
  }

  /** The database schema's version, `v1.<changes>`: it moves with every table created, changed or dropped. */
  schemaVersion(database: string): string {
    const db = this.database(database);
    const row = this.db.prepare('SELECT value FROM kcounter WHERE name = ?').get(schemaCounter(db)) as
      { value: number } | undefined;
    return `v1.${row?.value ?? 0}`;
  }

  setTableStreaming(database: string, name: string, enabled: boolean): void {
    const t = this.table(database, name);
    this.db
      .prepare('UPDATE ktables SET streaming = ? WHERE db = ? AND name = ?')
      .run(enabled ? 1 : 0, t.database, t.name);
  }

  // -- mappings --------------------------------------------------------------------------------------------

  setMapping(
    database: string,
    table: string,
    kind: string,
    name: string,
    mapping: string,
    mode: 'create' | 'createOrAlter',
  ): void {
    const t = this.table(database, table);
    const exists = this.findMapping(t.database, t.name, kind, name);
    if (exists && mode === 'create') {
      throw new KustoError(
        'BadRequest_DuplicateMapping',
        `Mapping '${name}' (${kind}) already exists on table '${table}': use .create-or-alter.`,
        400,
      );
    }
    this.db
      .prepare('INSERT OR REPLACE INTO kmappings (db, tbl, kind, name, mapping) VALUES (?, ?, ?, ?, ?)')
      .run(t.database, t.name, kind, name, mapping);
  }

  findMapping(database: string, table: string, kind: string, name: string): MappingInfo | undefined {
    return this.db
      .prepare('SELECT kind, name, mapping FROM kmappings WHERE db = ? AND tbl = ? AND kind = ? AND name = ?')
      .get(database, table, kind, name) as MappingInfo | undefined;
  }

  mappings(database: string, table: string): MappingInfo[] {
    const t = this.table(database, table);
    return this.db
      .prepare('SELECT kind, name, mapping FROM kmappings WHERE db = ? AND tbl = ? ORDER BY kind, name')
      .all(t.database, t.name) as MappingInfo[];
  }

  // -- data ------------------------------------------------------------------------------------------------

  /** Whether any extent of the table carries this tag (ingest-by:X for ingestIfNotExists). */
  hasTag(database: string, table: string, tag: string): boolean {
    const rows = this.db
      .prepare('SELECT tags FROM kextents WHERE db = ? AND tbl = ?')
      .all(database, table) as { tags: string }[];
    return rows.some((r) => (JSON.parse(r.tags) as string[]).includes(tag));
  }

  extents(database: string, table: string): { id: string; rows: number; tags: string[]; created: number }[] {
    const t = this.table(database, table);
    return (
      this.db
        .prepare('SELECT id, rows, tags, created FROM kextents WHERE db = ? AND tbl = ? ORDER BY rowid')
        .all(t.database, t.name) as {
        id: string;
        rows: number;
        tags: string;
        created: number;
      }[]
    ).map((e) => ({ ...e, tags: JSON.parse(e.tags) as string[] }));
  }

  /** Writes rows as new extents, all or nothing. Returns the extent ids. */
  appendExtents(table: TableInfo, extents: readonly ExtentInput[]): string[] {
    const width = table.columns.length;
    const placeholders = ['?', ...table.columns.map(() => '?')].join(', ');
    const names = ['_extent', ...table.columns.map((_, i) => `c${i}`)].join(', ');
    const insert = this.db.prepare(`INSERT INTO ${quote(table.sqlName)} (${names}) VALUES (${placeholders})`);
    const addExtent = this.db.prepare(
      'INSERT INTO kextents (id, db, tbl, rows, tags, created) VALUES (?, ?, ?, ?, ?, ?)',
    );
    return this.db.transaction(() =>
      extents.map((extent) => {
        const id = randomUUID();
        for (const row of extent.rows) {
          const values =
            row.length === width
              ? row
              : [...row, ...new Array<Stored>(Math.max(0, width - row.length)).fill(null)].slice(0, width);
          insert.run(id, ...values);
        }
        addExtent.run(
          id,
          table.database,
          table.name,
          extent.rows.length,
          JSON.stringify(extent.tags),
          extent.creationTime ?? Date.now(),
        );
        return id;
      }),
    )();
  }

  /** Runs a read-only SELECT built by the query module over one table's positional columns. */
  select(sql: string, params: readonly unknown[]): unknown[][] {
    const stmt = this.db.prepare(sql).safeIntegers(true).raw(true);
    return stmt.all(...params) as unknown[][];
  }

  sqlTable(table: TableInfo): string {
    return quote(table.sqlName);
  }

  // -- operations, failures and tokens -----------------------------------------------------------------------

  recordOperation(o: OperationRecord): void {
    this.db
      .prepare('INSERT INTO koperations VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(o.operationId, o.operation, o.database, o.startedOn, o.lastUpdatedOn, o.state, o.status);
  }

  /** Operations in the order they were recorded; only these ids when given. */
  operations(ids?: readonly string[]): OperationRecord[] {
    const rows = this.db.prepare('SELECT * FROM koperations ORDER BY rowid').all() as {
      operation_id: string;
      operation: string;
      db: string;
      started_on: number;
      updated_on: number;
      state: OperationRecord['state'];
      status: string;
    }[];
    const wanted = ids && new Set(ids.map((id) => id.toLowerCase()));
    return rows
      .filter((r) => !wanted || wanted.has(r.operation_id.toLowerCase()))
      .map((r) => ({
        operationId: r.operation_id,
        operation: r.operation,
        database: r.db,
        startedOn: r.started_on,
        lastUpdatedOn: r.updated_on,
        state: r.state,
        status: r.status,
      }));
  }

  recordFailure(f: FailureRecord): void {
    this.db
      .prepare('INSERT INTO kfailures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(
        f.operationId,
        f.database,
        f.table,
        f.failedOn,
        f.sourcePath,
        f.details,
        f.failureKind,
        f.errorCode,
        f.operationKind,
        f.rootActivityId,
      );
  }

  failures(): FailureRecord[] {
    return (
      this.db.prepare('SELECT * FROM kfailures ORDER BY failed_on').all() as {
        operation_id: string;
        db: string;
        tbl: string;
        failed_on: number;
        source: string;
        details: string;
        failure_kind: 'Permanent' | 'Transient';
        error_code: string;
        operation_kind: string;
        root_activity_id: string;
      }[]
    ).map((r) => ({
      operationId: r.operation_id,
      database: r.db,
      table: r.tbl,
      failedOn: r.failed_on,
      sourcePath: r.source,
      details: r.details,
      failureKind: r.failure_kind,
      errorCode: r.error_code,
      operationKind: r.operation_kind,
      rootActivityId: r.root_activity_id,
    }));
  }

  addToken(token: string): void {
    this.db.prepare('INSERT OR IGNORE INTO ktokens (token, issued) VALUES (?, ?)').run(token, Date.now());
  }

  hasToken(token: string): boolean {
    return this.db.prepare('SELECT 1 FROM ktokens WHERE token = ?').get(token) !== undefined;
  }

  private next(name: string): number {
    this.db
      .prepare(
        'INSERT INTO kcounter (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1',
      )
      .run(name);
    return (this.db.prepare('SELECT value FROM kcounter WHERE name = ?').get(name) as { value: number })
      .value;
  }
}

const schemaCounter = (database: string): string => `schema:${database.toLowerCase()}`;

function toTableInfo(row: TableRow): TableInfo {
  const columns = (JSON.parse(row.columns) as { name: string; type: string }[]).map((c) => ({
    name: c.name,
    type: parseKqlType(c.type) ?? 'string',
  }));
  return {
    database: row.db,
    name: row.name,
    columns,
    batchingMs: row.batching_ms ?? undefined,
    batchingPolicy: row.batching_policy ?? undefined,
    streaming: row.streaming === null ? undefined : row.streaming === 1,
    sqlName: row.sqlname,
  };
}
