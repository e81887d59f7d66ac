/**
 * Scenario 1, the ceiling: what the same storage allows with no SDK in between: per file, one keep-alive
 * HTTP Put Blob and one Put Message (and with BENCH_STATUS=table, one Insert Entity), 50 in flight, on the
 * SAS URLs the DM hands out. Requests are as lean as the protocol allows.
 */
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pool } from '../harness';
import { benchFiles, report, run, setting, timed } from './common';

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64 });

function send(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Buffer | string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    const req = (secure ? httpsRequest : httpRequest)(
      u,
      {
        method,
        agent: secure ? httpsAgent : httpAgent,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          (res.statusCode ?? 500) < 300
            ? resolve()
            : reject(new Error(`${method} ${u.pathname}: HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function resources(): Promise<Map<string, string[]>> {
  const response = await fetch(`${setting('KUSTO_INGEST_URI')}/v1/rest/mgmt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ db: 'NetDefaultDB', csl: '.get ingestion resources' }),
  });
  const body = (await response.json()) as { Tables: { Rows: [string, string][] }[] };
  const byType = new Map<string, string[]>();
  for (const [type, url] of body.Tables[0]?.Rows ?? []) byType.set(type, [...(byType.get(type) ?? []), url]);
  return byType;
}

run(async () => {
  const r = await resources();
  const containers = r.get('TempStorage') ?? [];
  const queues = r.get('SecuredReadyForAggregationQueue') ?? [];
  const table = (r.get('IngestionsStatusTable') ?? [])[0];
  const withTable = setting('BENCH_STATUS', 'queue') === 'table';
  const files = benchFiles();
  const concurrency = Number(setting('BENCH_CONCURRENCY', '50'));
  const version = { 'x-ms-version': '2024-08-04' };
  const one = async (i: number): Promise<void> => {
    const file = files[i] ?? '';
    const data = await readFile(file);
    const container = containers[i % containers.length] ?? '';
    const [base, sas] = container.split('?');
    const blobUrl = `${base}/ceiling-${i}-${Date.now()}.csv?${sas}`;
    await send('PUT', blobUrl, { ...version, 'x-ms-blob-type': 'BlockBlob' }, data);
    if (withTable && table) {
      const [tbase, tsas] = table.split('?');
      const id = `${process.pid}-${i}-${Date.now()}`;
      await send(
        'POST',
        `${tbase}?${tsas}`,
        {
          ...version,
          'content-type': 'application/json',
          accept: 'application/json;odata=nometadata',
          prefer: 'return-no-content',
        },
        JSON.stringify({ PartitionKey: id, RowKey: id, Status: 'Pending' }),
      );
    }
    const message = Buffer.from(
      JSON.stringify({ Id: i, BlobPath: blobUrl, DatabaseName: 'bench', TableName: 'Small' }),
    ).toString('base64');
    const queue = queues[i % queues.length] ?? '';
    const [qbase, qsas] = queue.split('?');
    await send(
      'POST',
      `${qbase}/messages?${qsas}`,
      version,
      `<QueueMessage><MessageText>${message}</MessageText></QueueMessage>`,
    );
  };
  for (let i = 0; i < 5; i++) await one(i); // warm-up: connections
  const seconds = await timed(() => pool(files.length, concurrency, one));
  report({ filesPerSec: files.length / seconds, seconds });
});
