/**
 * The local stack over https (STANDIN_TLS=1): Azurite serves a certificate of a local CA, the ingestion
 * resources carry https URLs, and the official azure-kusto-ingest client can use table status reporting
 * (its @azure/data-tables client refuses a SAS over http).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as KustoClient, KustoConnectionStringBuilder } from 'azure-kusto-data';
import {
  DataFormat,
  IngestClient,
  IngestionProperties,
  OperationStatus,
  ReportLevel,
  ReportMethod,
  type IngestionResult,
} from 'azure-kusto-ingest';
import { freePort } from '../../dev/azurite';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import { ensureTestCertificate } from '../../dev/testRunner';
import { eventually } from '../helpers/engine';

let stack: LocalStack;
let data: KustoClient;
const dir = mkdtempSync(join(tmpdir(), 'kif-https-'));

beforeAll(async () => {
  // npm test starts jest trusting the test CA; the stack serves a certificate it signed.
  stack = await startLocalStack({ mode: 'test', accountCount: 1, tls: ensureTestCertificate() });
  data = new KustoClient(KustoConnectionStringBuilder.withAccessToken(stack.standin.engineUrl, 'any'));
});
afterAll(async () => {
  data.close();
  await stack.stop();
});

async function resources(dmUrl: string): Promise<string[][]> {
  const response = await fetch(`${dmUrl}/v1/rest/mgmt`, {
    method: 'POST',
    body: JSON.stringify({ db: 'NetDefaultDB', csl: '.get ingestion resources' }),
  });
  const body = (await response.json()) as { Tables: { Rows: string[][] }[] };
  return body.Tables[0]?.Rows ?? [];
}

describe('the local stack over https', () => {
  it('hands out https URLs for every resource', async () => {
    const rows = await resources(stack.standin.dmUrl);
    expect(rows.length).toBeGreaterThan(0);
    for (const [, url] of rows) expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
  });

  it('lets the official client ingest with table status reporting and read Succeeded back', async () => {
    await data.execute('demo', '.create table HttpsStatus (id:long, name:string)');
    const path = join(dir, 'status.csv');
    writeFileSync(path, '1,alpha\n2,beta\n');
    const ingest = new IngestClient(KustoConnectionStringBuilder.withAccessToken(stack.standin.dmUrl, 'any'));
    try {
      const result: IngestionResult = await ingest.ingestFromFile(
        path,
        new IngestionProperties({
          database: 'demo',
          table: 'HttpsStatus',
          format: DataFormat.CSV,
          flushImmediately: true,
          reportLevel: ReportLevel.FailuresAndSuccesses,
          reportMethod: ReportMethod.QueueAndTable,
        }),
      );
      expect(result.constructor.name).toBe('TableReportIngestionResult');
      const status = await eventually(
        async () => {
          const row = await result.getIngestionStatusCollection();
          return row.Status === OperationStatus.Pending ? undefined : row;
        },
        30_000,
        'the status row to leave Pending',
      );
      expect(status.Status).toBe('Succeeded');
      const count = await data.execute('demo', 'HttpsStatus | count');
      expect(count.primaryResults[0]?.toJSON<{ Count: number }>().data[0]?.Count).toBe(2);
    } finally {
      ingest.close();
    }
  });
});

describe('STANDIN_TLS=1 npm run standin', () => {
  it('makes the local CA under .local/tls, serves https, and prints what clients need to trust it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kif-standin-tls-'));
    const ports = {
      AZURITE_BLOB_PORT: await freePort(),
      AZURITE_QUEUE_PORT: await freePort(),
      AZURITE_TABLE_PORT: await freePort(),
      STANDIN_DM_PORT: await freePort(),
      STANDIN_ENGINE_PORT: await freePort(),
    };
    const child = spawn(process.execPath, [join(process.cwd(), 'dist', 'dev', 'standinMain.js')], {
      cwd: root,
      env: {
        ...process.env,
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
        STANDIN_TLS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(
        () => Promise.resolve(output.includes('Press Ctrl+C to stop.') ? true : undefined),
        60_000,
        'the stand-in to start',
      ).catch((e: unknown) => {
        // What it printed by the deadline, not at the start of the wait.
        throw new Error(`${(e as Error).message}; it printed:\n${output}`);
      });
      expect(output).toContain('NODE_EXTRA_CA_CERTS=.local/tls/ca.pem');
      expect(output).toContain(`https://127.0.0.1:${ports.AZURITE_BLOB_PORT}/devstoreaccount1`);
      expect(existsSync(join(root, '.local', 'tls', 'ca.pem'))).toBe(true);
      const rows = await resources(`http://127.0.0.1:${ports.STANDIN_DM_PORT}`);
      expect(rows.find(([type]) => type === 'TempStorage')?.[1]).toMatch(
        new RegExp(`^https://127\\.0\\.0\\.1:${ports.AZURITE_BLOB_PORT}/`),
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 90_000);
});
