/** A tiny client for the stand-in engine's REST endpoints, independent of the code under test. */
export interface Result {
  readonly columns: string[];
  readonly types: string[];
  readonly rows: unknown[][];
  /** Rows as objects keyed by column name. */
  readonly objects: Record<string, unknown>[];
}

export class EngineError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function post(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) {
    const error = (json as { error?: { code?: string; '@message'?: string } }).error;
    throw new EngineError(
      response.status,
      error?.code ?? 'unknown',
      error?.['@message'] ?? JSON.stringify(json),
    );
  }
  return json;
}

function toResult(columns: { ColumnName: string; ColumnType: string }[], rows: unknown[][]): Result {
  const names = columns.map((c) => c.ColumnName);
  return {
    columns: names,
    types: columns.map((c) => c.ColumnType),
    rows,
    objects: rows.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]]))),
  };
}

export function engine(baseUrl: string, database = 'demo') {
  return {
    async mgmt(csl: string, db = database): Promise<Result> {
      const body = (await post(`${baseUrl}/v1/rest/mgmt`, { db, csl })) as {
        Tables: { Columns: { ColumnName: string; ColumnType: string }[]; Rows: unknown[][] }[];
      };
      const t = body.Tables[0];
      if (!t) throw new Error('no table in the response');
      return toResult(t.Columns, t.Rows);
    },
    async query(csl: string, db = database): Promise<Result> {
      const frames = (await post(`${baseUrl}/v2/rest/query`, { db, csl })) as {
        FrameType: string;
        TableKind?: string;
        Columns: { ColumnName: string; ColumnType: string }[];
        Rows: unknown[][];
      }[];
      const primary = frames.find((f) => f.FrameType === 'DataTable' && f.TableKind === 'PrimaryResult');
      if (!primary) throw new Error('no PrimaryResult frame');
      return toResult(primary.Columns, primary.Rows);
    },
    async count(table: string, db = database): Promise<number> {
      const r = await this.query(`['${table}'] | count`, db);
      return Number(r.rows[0]?.[0]);
    },
  };
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'the condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
