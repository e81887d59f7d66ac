/** Storage requests with no SDK in between, for the ceilings: keep-alive node:http(s), nothing else. */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setting } from './common';

const agentOptions = { keepAlive: true, maxSockets: 64 };
const httpAgent = new HttpAgent(agentOptions);
const httpsAgent = new HttpsAgent(agentOptions);
export const VERSION = { 'x-ms-version': '2024-11-04' };

/**
 * One request. A keep-alive socket that the server closed as it was reused (Azurite drops idle ones after
 * 5 s) fails with ECONNRESET before anything was processed; like any client, send it again (twice at most).
 */
export async function send(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Buffer | string,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await sendOnce(method, url, headers, body);
      return;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if ((code !== 'ECONNRESET' && code !== 'EPIPE') || attempt === 3) throw e;
    }
  }
}

function sendOnce(
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

/** The DM's resources by type (TempStorage, SecuredReadyForAggregationQueue, IngestionsStatusTable). */
export async function resources(): Promise<Map<string, string[]>> {
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

const TABLE_HEADERS = {
  ...VERSION,
  'content-type': 'application/json',
  accept: 'application/json;odata=nometadata',
  dataserviceversion: '3.0',
};

/** `https://acct/table?sas` → its base and SAS. */
export function split(url: string): [string, string] {
  const [b = '', s = ''] = url.split('?');
  return [b, s];
}

export const putBlob = (containerUrl: string, name: string, data: Buffer): Promise<void> => {
  const [b, s] = split(containerUrl);
  return send('PUT', `${b}/${name}?${s}`, { ...VERSION, 'x-ms-blob-type': 'BlockBlob' }, data);
};

export const putMessage = (queueUrl: string, text: string): Promise<void> => {
  const [b, s] = split(queueUrl);
  return send(
    'POST',
    `${b}/messages?${s}`,
    VERSION,
    `<QueueMessage><MessageText>${text}</MessageText></QueueMessage>`,
  );
};

export const insertEntity = (tableUrl: string, entity: Record<string, unknown>): Promise<void> => {
  const [b, s] = split(tableUrl);
  return send('POST', `${b}?${s}`, { ...TABLE_HEADERS, prefer: 'return-no-content' }, JSON.stringify(entity));
};

/** Insert Or Replace, or with `ifMatch` an unconditional-looking conditional Update (as tracking does). */
export const putEntity = (
  tableUrl: string,
  pk: string,
  rk: string,
  entity: Record<string, unknown>,
  ifMatch?: string,
): Promise<void> => {
  const [b, s] = split(tableUrl);
  return send(
    'PUT',
    `${b}(PartitionKey='${pk}',RowKey='${rk}')?${s}`,
    { ...TABLE_HEADERS, ...(ifMatch && { 'if-match': ifMatch }) },
    JSON.stringify(entity),
  );
};
