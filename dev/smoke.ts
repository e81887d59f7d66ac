/**
 * `npm run smoke`: the whole product on one machine, start to finish. Starts Azurite, the stand-in, the
 * landing watcher and the local host on free ports; creates two tables; drops a CSV and a JSON file into
 * landing; POSTs a payload; waits for the rows; drops a malformed file; runs the sweep; checks its report.
 * Prints a summary and exits non-zero on any miss.
 */
// First: the functions register with a recording core, as in the Functions host, instead of warning.
import './host/recordRegistrations';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { resetAppContext } from '../shared/app/context';
import { closeIngestClients } from '../shared/ingest/getIngestClient';
import { startLocalHost } from './host/localHost';
import { startLocalStack } from './localStack';

interface Check {
  readonly name: string;
  ok: boolean;
  detail: string;
}

async function kusto(engineUrl: string, csl: string): Promise<unknown[][]> {
  const path = csl.startsWith('.') ? '/v1/rest/mgmt' : '/v1/rest/query';
  const response = await fetch(`${engineUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify({ db: 'demo', csl }),
  });
  const body = (await response.json()) as {
    Tables?: { Rows: unknown[][] }[];
    error?: { '@message': string };
  };
  if (!response.ok) throw new Error(body.error?.['@message'] ?? `HTTP ${response.status}`);
  return body.Tables?.[0]?.Rows ?? [];
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const quiet = process.argv.includes('--verbose') ? (line: string) => console.log(line) : () => undefined;
  const stack = await startLocalStack({ mode: 'test', landingWatcher: true });
  Object.assign(process.env, stack.appEnv);
  resetAppContext();
  const host = await startLocalHost({
    port: 0,
    timer: false,
    queue: { visibilityTimeoutSeconds: 2 },
    log: quiet,
  });
  const checks: Check[] = [];
  const check = async (name: string, run: () => Promise<string>): Promise<void> => {
    const entry: Check = { name, ok: false, detail: '' };
    checks.push(entry);
    try {
      entry.detail = await run();
      entry.ok = true;
    } catch (e) {
      entry.detail = (e as Error).message;
    }
  };
  const engine = stack.standin.engineUrl;
  const count = async (table: string) => Number((await kusto(engine, `${table} | count`))[0]?.[0]);
  const landing = BlobServiceClient.fromConnectionString(
    stack.appEnv.LandingStorage ?? '',
  ).getContainerClient('landing');
  try {
    await check('the host answers /api/health', async () => {
      const r = await fetch(`${host.url}/api/health`);
      if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
      return 'ok';
    });
    await check('two tables created in demo', async () => {
      await kusto(engine, '.create table SmokeCsv (id:long, name:string)');
      await kusto(engine, '.create table SmokeJson (id:long, name:string)');
      return 'SmokeCsv, SmokeJson';
    });
    await check('a CSV and a JSON file dropped into landing land as rows', async () => {
      await landing.createIfNotExists();
      await landing.getBlockBlobClient('demo/SmokeCsv/2024/a.csv').upload('1,alpha\n2,beta\n', 15);
      const json = '{"id":10,"name":"x"}\n{"id":11,"name":"y"}\n';
      await landing.getBlockBlobClient('demo/SmokeJson/b.json').upload(json, json.length);
      await until('the landed rows', async () =>
        (await count('SmokeJson')) === 2 && (await count('SmokeCsv')) >= 2 ? true : undefined,
      );
      return '2 CSV rows, 2 JSON rows';
    });
    let pushedId = '';
    await check('a POSTed payload is accepted (202) and its status turns Succeeded', async () => {
      const r = await fetch(`${host.url}/api/ingest/demo/SmokeCsv`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: '3,gamma\n4,delta\n',
      });
      if (r.status !== 202) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
      pushedId = ((await r.json()) as { sourceId: string }).sourceId;
      const status = await until('the pushed status', async () => {
        const s = (await (await fetch(`${host.url}/api/ingest/status/${pushedId}`)).json()) as {
          status: string;
        };
        return s.status === 'Succeeded' ? s.status : undefined;
      });
      await until('4 rows in SmokeCsv', async () => ((await count('SmokeCsv')) === 4 ? true : undefined));
      return `${pushedId} ${status}`;
    });
    await check('a malformed file fails, the sweep reports it once and quarantines it', async () => {
      await landing.getBlockBlobClient('demo/SmokeCsv/bad.csv').upload('1,a\n2,b,c\n', 10);
      await until('the failure to be reported by the stand-in', async () =>
        (await kusto(engine, '.show ingestion failures')).some((row) => String(row[4]).endsWith('/bad.csv'))
          ? true
          : undefined,
      );
      const r = await fetch(`${host.url}/admin/functions/sweepStatus`, { method: 'POST' });
      if (r.status !== 202) throw new Error(`the sweep answered HTTP ${r.status}: ${await r.text()}`);
      const failures = TableClient.fromConnectionString(
        stack.appEnv.AzureWebJobsStorage ?? '',
        'IngestionFailures',
        { allowInsecureConnection: true },
      );
      const reported = [];
      for await (const row of failures.listEntities<{ ErrorCode: string; Source: string; Event: string }>()) {
        if (row.Source.endsWith('/bad.csv')) reported.push(row);
      }
      if (reported.length !== 1 || reported[0]?.ErrorCode !== 'Stream_WrongNumberOfFields') {
        throw new Error(
          `expected one IngestionFailed report with Stream_WrongNumberOfFields, got ${JSON.stringify(reported)}`,
        );
      }
      const quarantined = await BlobServiceClient.fromConnectionString(stack.appEnv.LandingStorage ?? '')
        .getContainerClient('landing-failed')
        .getBlobClient('demo/SmokeCsv/bad.csv')
        .exists();
      if (!quarantined) throw new Error('bad.csv is not in landing-failed');
      return 'IngestionFailed Stream_WrongNumberOfFields, quarantined';
    });
  } finally {
    await host.stop();
    closeIngestClients();
    await stack.stop();
  }
  const width = Math.max(...checks.map((c) => c.name.length));
  console.log('\nSmoke test:');
  for (const c of checks) console.log(`  ${c.ok ? 'ok  ' : 'MISS'}  ${c.name.padEnd(width)}  ${c.detail}`);
  const missed = checks.filter((c) => !c.ok).length;
  console.log(
    `\n${checks.length - missed} of ${checks.length} checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
  );
  return missed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  },
);
