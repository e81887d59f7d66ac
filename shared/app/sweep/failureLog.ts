import type { KustoRestClient } from '../../kusto/kustoRestClient';
import { rowsAsObjects } from '../../kusto/v1Response';
import type { Logger } from '../../log';
import { quoteName, quoteString } from '../../names';
import { isNotFound, type IngestError } from '../../errors';
import { redactOptional } from '../../log';

/** The batching window of a table with no policy of its own or of its database (the service's default). */
export const DEFAULT_BATCHING_WINDOW_MS = 5 * 60_000;

/** A failure the engine recorded (`.show ingestion failures`), for one source path. */
export interface LoggedFailure {
  readonly database: string;
  readonly table: string;
  readonly failedOn: number;
  readonly errorCode: string | undefined;
  readonly failureKind: string | undefined;
  readonly details: string | undefined;
  readonly operationId: string | undefined;
}

/**
 * The key a blob is matched by between our records and the service's: no SAS, no `;managed_identity=`
 * suffix, the host in lower case, the path decoded (`.show ingestion failures` has no source id column).
 */
export function sourcePathKey(url: string): string {
  const bare = url.split('?')[0]?.split(';')[0] ?? url;
  try {
    const u = new URL(bare);
    return `${u.host.toLowerCase()}${decodeURIComponent(u.pathname)}`;
  } catch {
    return bare;
  }
}

/** `hh:mm:ss`, `d.hh:mm:ss` (a Kusto timespan as policies give it), in ms. */
export function parseTimespan(text: string): number | undefined {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(text.trim());
  if (!m) return undefined;
  const [, days, hours, minutes, seconds] = m;
  return ((Number(days ?? 0) * 24 + Number(hours)) * 3600 + Number(minutes) * 60 + Number(seconds)) * 1000;
}

/** The `MaximumBatchingTimeSpan` of a policy result, if it sets one. */
function windowOf(result: Awaited<ReturnType<KustoRestClient['executeMgmt']>>): number | undefined {
  const [table] = result;
  const row = table ? rowsAsObjects(table)[0] : undefined;
  const policy = row?.Policy;
  if (typeof policy !== 'string' || policy === '' || policy === 'null') return undefined;
  try {
    const parsed = JSON.parse(policy) as { MaximumBatchingTimeSpan?: unknown };
    return typeof parsed.MaximumBatchingTimeSpan === 'string'
      ? parseTimespan(parsed.MaximumBatchingTimeSpan)
      : undefined;
  } catch {
    return undefined;
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * What the sweep asks the engine, at most once per sweep for each database and table: each table's batching
 * window (how long the service may hold a source before ingesting it) and the failures recorded since a time
 * (failures-only mode, and ingest v2's lost answers); and whether a submission's tag is on any extent (v2).
 * Owned by one sweep: a new sweep asks again.
 */
export class FailureLog {
  private readonly engine: Pick<KustoRestClient, 'executeMgmt'>;
  private readonly logger: Logger;
  private readonly windows = new Map<string, Promise<number>>();
  private readonly failures = new Map<
    string,
    { readonly since: number; readonly byPath: Promise<Map<string, LoggedFailure[]>> }
  >();

  constructor(engine: Pick<KustoRestClient, 'executeMgmt'>, logger: Logger) {
    this.engine = engine;
    this.logger = logger;
  }

  /** The table's batching window: its own policy, else its database's, else the service's default. */
  batchingWindowMs(database: string, table: string): Promise<number> {
    const key = JSON.stringify([database, table]);
    let window = this.windows.get(key);
    if (!window) {
      window = this.readWindow(database, table);
      this.windows.set(key, window);
    }
    return window;
  }

  /** The failure recorded for this blob in this table since `since` (ms), if there is one. */
  async failureOf(
    source: { readonly database: string; readonly table: string; readonly path: string },
    since: number,
  ): Promise<LoggedFailure | undefined> {
    let cached = this.failures.get(source.database);
    // One query per database and sweep, from the earliest time asked; asked earlier still, it is asked again.
    if (!cached || cached.since > since) {
      cached = { since, byPath: this.readFailures(source.database, since) };
      this.failures.set(source.database, cached);
    }
    const found = (await cached.byPath).get(sourcePathKey(source.path)) ?? [];
    return found
      .filter((f) => f.table === source.table && f.failedOn >= since)
      .sort((a, b) => b.failedOn - a.failedOn)[0];
  }

  /**
   * Whether anything was ingested into the table under this extent tag (ingest v2: the tag of a submission,
   * which its extents keep): `.show table T extents where tags has '<tag>'`, the filtered form the engine
   * answers cheapest.
   */
  async taggedExtents(database: string, table: string, tag: string): Promise<number> {
    let result;
    try {
      [result] = await this.engine.executeMgmt(
        database,
        `.show table ${quoteName('table', table)} extents where tags has ${quoteString(tag)}`,
      );
    } catch (e) {
      // A table that does not exist (yet: a failure an operator will fix) holds no extents.
      if (isTableMissing(e)) return 0;
      throw e;
    }
    return result ? rowsAsObjects(result).length : 0;
  }

  private async readWindow(database: string, table: string): Promise<number> {
    try {
      const own = windowOf(
        await this.engine.executeMgmt(
          database,
          `.show table ${quoteName('table', table)} policy ingestionbatching`,
        ),
      );
      if (own !== undefined) return own;
      const inherited = windowOf(
        await this.engine.executeMgmt(
          database,
          `.show database ${quoteName('database', database)} policy ingestionbatching`,
        ),
      );
      return inherited ?? DEFAULT_BATCHING_WINDOW_MS;
    } catch (e) {
      this.windows.delete(JSON.stringify([database, table])); // ask again next time
      throw e;
    }
  }

  private async readFailures(database: string, since: number): Promise<Map<string, LoggedFailure[]>> {
    const csl = `.show ingestion failures | where FailedOn >= datetime(${new Date(since).toISOString()})`;
    let result;
    try {
      result = await this.engine.executeMgmt(database, csl);
    } catch (e) {
      this.failures.delete(database);
      throw e;
    }
    const byPath = new Map<string, LoggedFailure[]>();
    const [table] = result;
    for (const row of table ? rowsAsObjects(table) : []) {
      const path = text(row.IngestionSourcePath);
      const failedOn = Date.parse(String(row.FailedOn));
      if (path === undefined || Number.isNaN(failedOn)) continue;
      const key = sourcePathKey(path);
      const list = byPath.get(key) ?? [];
      list.push({
        database: text(row.Database) ?? database,
        table: text(row.Table) ?? '',
        failedOn,
        errorCode: text(row.ErrorCode),
        failureKind: text(row.FailureKind),
        details: redactOptional(text(row.Details)),
        operationId: text(row.OperationId),
      });
      byPath.set(key, list);
    }
    this.logger.debug(
      `failures-only: ${byPath.size} failed source(s) in ${database} since ${csl.slice(-26)}`,
    );
    return byPath;
  }
}

/**
 * The engine's "no such table": 404 `NotFound` on a cluster (EntityNameDoesNotExistException), or the
 * `BadRequest_TableNotExist` the ingestion pipeline reports (which the stand-in answers too).
 */
function isTableMissing(e: unknown): boolean {
  const code = (e as Partial<IngestError> | undefined)?.serviceCode;
  return isNotFound(e) || code === 'BadRequest_TableNotExist' || code === 'BadRequest_EntityNotFound';
}
