/**
 * `npm run kql -- "T | count"`: runs a query (or a `.command`) on the local stand-in's engine and prints a
 * table. Options: `--db NAME` (default demo), `--url URL` (default KUSTO_ENGINE_URI or http://127.0.0.1:8080).
 */
export interface KqlArgs {
  readonly text: string;
  readonly database: string;
  readonly url: string;
}

export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): KqlArgs {
  let database = 'demo';
  let url = env.KUSTO_ENGINE_URI ?? `http://127.0.0.1:${env.STANDIN_ENGINE_PORT ?? '8080'}`;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--db') database = argv[++i] ?? database;
    else if (arg === '--url') url = argv[++i] ?? url;
    else words.push(arg);
  }
  const text = words.join(' ').trim();
  if (text === '')
    throw new Error('Usage: npm run kql -- "<query or .command>" [--db NAME] [--url http://127.0.0.1:8080]');
  return { text, database, url };
}

/** Renders rows as an aligned text table. */
export function formatTable(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    return JSON.stringify(v);
  };
  const widths = columns.map((c, i) =>
    Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[i]).length))),
  );
  const line = (values: readonly string[]) =>
    values.map((v, i) => v.slice(0, widths[i]).padEnd(widths[i] ?? 0)).join(' | ');
  return [
    line(columns),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...rows.map((r) => line(r.map(cell))),
  ].join('\n');
}

interface Table {
  Columns: { ColumnName: string }[];
  Rows: unknown[][];
}

/** Runs the text against the engine; resolves to the printed output, rejects with the service's message. */
export async function runKql(args: KqlArgs): Promise<string> {
  const isCommand = args.text.startsWith('.');
  const path = isCommand ? '/v1/rest/mgmt' : '/v2/rest/query';
  let response: Response;
  try {
    response = await fetch(`${args.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ db: args.database, csl: args.text }),
    });
  } catch (e) {
    throw new Error(
      `Cannot reach the engine at ${args.url} (${(e as Error).message}): is the local stack running (npm start)?`,
    );
  }
  const body = await response.json();
  if (!response.ok) {
    const error = (body as { error?: { code?: string; '@message'?: string } }).error;
    throw new Error(
      `${error?.code ?? `HTTP ${response.status}`}: ${error?.['@message'] ?? JSON.stringify(body)}`,
    );
  }
  const table: Table | undefined = isCommand
    ? (body as { Tables: Table[] }).Tables[0]
    : (body as (Table & { FrameType: string; TableKind?: string })[]).find(
        (f) => f.FrameType === 'DataTable' && f.TableKind === 'PrimaryResult',
      );
  if (!table) throw new Error('The response holds no result table.');
  const rows = table.Rows.length;
  return `${formatTable(
    table.Columns.map((c) => c.ColumnName),
    table.Rows,
  )}\n(${rows} row${rows === 1 ? '' : 's'})`;
}

if (require.main === module) {
  Promise.resolve()
    .then(() => runKql(parseArgs(process.argv.slice(2))))
    .then(
      (out) => console.log(out),
      (e: unknown) => {
        console.error((e as Error).message);
        process.exit(1);
      },
    );
}
