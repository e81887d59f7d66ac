/**
 * `npm run backfill -- [options]`: starts a backfill job on the app (the local host, or a deployed app with
 * `--url` and the host's master key `--key`, or an operator's Entra token `--token` when the app runs with
 * OPERATOR_AUTH=entra), and with `--wait` follows it to the end: a live progress bar on a terminal, a plain
 * line every few seconds otherwise, then a CSV of the blobs that failed; exits non-zero if any did.
 * `--dry-run` prints what would be ingested (path → database.table, format, creation time) and a total.
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { commandLine } from './commandLine';

export const USAGE = `Usage: npm run backfill -- [--url http://127.0.0.1:7071] [--key <master key> | --token <Entra token>]
  [--container c] [--account-url https://<account>.blob.core.windows.net]
  [--prefix p/] [--include glob]... [--exclude glob]... [--database D --table T [--format csv] [--mapping m]]
  [--creation-time-pattern "yyyy'/'MM'/'dd"] [--tags a,b] [--modified-since ISO] [--modified-until ISO]
  [--limit N] [--max-blobs-per-second N] [--dry-run] [--wait] [--failures-csv file.csv]`;

export interface CliOptions {
  readonly url: string;
  readonly key: string | undefined;
  /** An operator's Entra access token (OPERATOR_AUTH=entra), sent as `Authorization: Bearer`. */
  readonly token: string | undefined;
  readonly wait: boolean;
  readonly failuresCsv: string | undefined;
  /** The job, as POST /api/backfill takes it. */
  readonly job: Record<string, unknown>;
}

/** The command line, checked: a clear message (and the usage) for anything wrong. */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      token: { type: 'string' },
      container: { type: 'string' },
      'account-url': { type: 'string' },
      prefix: { type: 'string' },
      include: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      database: { type: 'string' },
      table: { type: 'string' },
      format: { type: 'string' },
      mapping: { type: 'string' },
      'creation-time-pattern': { type: 'string' },
      tags: { type: 'string' },
      'modified-since': { type: 'string' },
      'modified-until': { type: 'string' },
      limit: { type: 'string' },
      'max-blobs-per-second': { type: 'string' },
      'dry-run': { type: 'boolean' },
      wait: { type: 'boolean' },
      'failures-csv': { type: 'string' },
    },
  });
  const number = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not '${text}'.`);
    return n;
  };
  const given: Record<string, unknown> = {
    container: values.container,
    accountUrl: values['account-url'],
    prefix: values.prefix,
    include: values.include,
    exclude: values.exclude,
    database: values.database,
    table: values.table,
    format: values.format,
    mapping: values.mapping,
    creationTimePattern: values['creation-time-pattern'],
    tags: values.tags
      ?.split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    modifiedSince: values['modified-since'],
    modifiedUntil: values['modified-until'],
    limit: number('limit', values.limit),
    maxBlobsPerSecond: number('max-blobs-per-second', values['max-blobs-per-second']),
    dryRun: values['dry-run'],
  };
  const job = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return {
    url: (values.url ?? env.KIF_APP_URL ?? 'http://127.0.0.1:7071').replace(/\/+$/, ''),
    key: values.key ?? env.KIF_FUNCTION_KEY,
    token: values.token ?? env.KIF_OPERATOR_TOKEN,
    wait: values.wait ?? values['dry-run'] ?? false,
    failuresCsv: values['failures-csv'],
    job,
  };
}

export interface JobCounts {
  readonly pages: number;
  readonly matched: number;
  readonly skipped: number;
  readonly queued: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly bytes: number;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * One progress line: listed (blobs, bytes), queued, ingested, failed, skipped, the rate of ended blobs and
 * the time left at that rate (unknown while nothing ended yet). With `width`, a bar of ended over matched.
 */
export function progressLine(
  counts: JobCounts,
  elapsedSeconds: number,
  listingDone: boolean,
  width?: number,
): string {
  const ended = counts.succeeded + counts.failed + counts.skipped;
  const rate = elapsedSeconds > 0 ? ended / elapsedSeconds : 0;
  const left = Math.max(0, counts.matched - ended);
  const eta = rate > 0 ? duration(left / rate) : '?';
  const text =
    `listed ${counts.matched}${listingDone ? '' : '+'} blobs (${mb(counts.bytes)}), queued ${counts.queued}, ` +
    `ingested ${counts.succeeded}, failed ${counts.failed}, skipped ${counts.skipped}, ` +
    `${rate.toFixed(1)}/s, ETA ${listingDone ? eta : `${eta}+`}`;
  if (width === undefined) return text;
  const fraction = counts.matched > 0 ? Math.min(1, ended / counts.matched) : listingDone ? 1 : 0;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(fraction * 100)}% ${text}`;
}

/** A CSV field: quoted when it must be. */
const csvField = (v: string | null): string => {
  const text = v ?? '';
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

export function failuresCsv(
  rows: readonly {
    source: string | null;
    errorCode: string | null;
    details: string | null;
    sourceId: string;
  }[],
): string {
  return [
    'source,errorCode,reason,sourceId',
    ...rows.map((r) => [r.source, r.errorCode, r.details, r.sourceId].map(csvField).join(',')),
  ].join('\n');
}

async function call(cli: CliOptions, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${cli.url}/api/${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(cli.key && { 'x-functions-key': cli.key }),
      ...(cli.token && { authorization: `Bearer ${cli.token}` }),
      // Operator actions are JSON, even with no body (the app refuses anything else).
      ...(method !== 'GET' && { 'content-type': 'application/json' }),
    },
    body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
  });
  const text = await response.text();
  const json: unknown = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } }).error;
    throw new Error(`${error?.code ?? response.status}: ${error?.message ?? response.statusText}`);
  }
  return json;
}

interface Status {
  readonly state: string;
  readonly error?: { code: string; message: string };
  readonly listingDone: boolean;
  readonly counts: JobCounts;
}

async function main(): Promise<void> {
  const cli = commandLine((argv) => parseCli(argv), USAGE);
  if (cli === undefined) return;
  const started = (await call(cli, 'POST', 'backfill', cli.job)) as { jobId: string; note?: string };
  console.log(`Backfill job ${started.jobId} started${cli.job.dryRun ? ' (dry run)' : ''}.`);
  if (started.note) console.log(started.note);
  if (!cli.wait) {
    console.log(`Follow it: GET ${cli.url}/api/backfill/${started.jobId} (or run with --wait).`);
    return;
  }
  const t0 = Date.now();
  const tty = process.stdout.isTTY;
  let lastPlain = 0;
  let status: Status;
  for (;;) {
    status = (await call(cli, 'GET', `backfill/${started.jobId}`)) as Status;
    const elapsed = (Date.now() - t0) / 1000;
    const listingDone = status.listingDone;
    if (tty) {
      const width = Math.max(10, Math.min(30, (process.stdout.columns || 100) - 110));
      process.stdout.write(`\r${progressLine(status.counts, elapsed, listingDone, width)}\x1b[K`);
    } else if (Date.now() - lastPlain >= 5000 || status.state !== 'running') {
      console.log(progressLine(status.counts, elapsed, listingDone));
      lastPlain = Date.now();
    }
    if (status.state !== 'running') break;
    await sleep(tty ? 1000 : 2000);
  }
  if (tty) process.stdout.write('\n');
  console.log(`Job ${started.jobId} ${status.state}${status.error ? `: ${status.error.message}` : ''}.`);
  if (status.state === 'failed')
    console.log('What it queued before it failed is still ingested: follow it with GET on its status URL.');
  if (cli.job.dryRun) {
    let token: string | null = null;
    let total = 0;
    do {
      const page = (await call(
        cli,
        'GET',
        `backfill/${started.jobId}/blobs${token ? `?continuationToken=${token}` : ''}`,
      )) as {
        blobs: {
          path: string;
          database?: string;
          table?: string;
          format?: string;
          creationTime?: string;
          error?: string;
        }[];
        continuationToken: string | null;
      };
      for (const b of page.blobs)
        console.log(
          b.error
            ? `${b.path} → cannot be routed: ${b.error}`
            : `${b.path} → ${b.database ?? ''}.${b.table ?? ''} (${b.format ?? ''})${b.creationTime ? ` created ${b.creationTime}` : ''}`,
        );
      total += page.blobs.length;
      token = page.continuationToken;
    } while (token);
    console.log(`${total} blobs (${mb(status.counts.bytes)}) would be ingested.`);
    return;
  }
  if (status.counts.failed > 0) {
    const rows: {
      source: string | null;
      errorCode: string | null;
      details: string | null;
      sourceId: string;
    }[] = [];
    let token: string | null = null;
    do {
      const page = (await call(
        cli,
        'GET',
        `backfill/${started.jobId}/failures${token ? `?continuationToken=${token}` : ''}`,
      )) as { failures: typeof rows; continuationToken: string | null };
      rows.push(...page.failures);
      token = page.continuationToken;
    } while (token);
    const file = cli.failuresCsv ?? `backfill-${started.jobId}-failures.csv`;
    writeFileSync(file, `${failuresCsv(rows)}\n`);
    console.log(`${rows.length} blobs failed: each with its error code and reason in ${file}.`);
  }
  if (status.counts.failed > 0 || status.state !== 'completed') process.exitCode = 1;
}

if (require.main === module)
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
