/** Storage requests with no SDK in between, for the ceilings: keep-alive node:http(s), nothing else. */
import { AzureNamedKeyCredential } from '@azure/core-auth';
import { generateTableSas, TableClient } from '@azure/data-tables';
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
  accept: readonly number[] = [],
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sendOnce(method, url, headers, body, accept);
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
  accept: readonly number[],
): Promise<string> {
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
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          (res.statusCode ?? 500) < 300 || accept.includes(res.statusCode ?? 0)
            ? resolve(Buffer.concat(chunks).toString('utf8'))
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

export const putBlob = async (containerUrl: string, name: string, data: Buffer): Promise<void> => {
  const [b, s] = split(containerUrl);
  await send('PUT', `${b}/${name}?${s}`, { ...VERSION, 'x-ms-blob-type': 'BlockBlob' }, data);
};

/** Get Blob Properties of a blob URL with its SAS. */
export const headBlob = async (blobUrl: string): Promise<void> => {
  await send('HEAD', blobUrl, VERSION, '');
};

export const putMessage = async (queueUrl: string, text: string): Promise<void> => {
  const [b, s] = split(queueUrl);
  await send(
    'POST',
    `${b}/messages?${s}`,
    VERSION,
    `<QueueMessage><MessageText>${text}</MessageText></QueueMessage>`,
  );
};

/** The text of the first `<name>` element of an XML fragment (storage answers have no attributes on these). */
const field = (xml: string, name: string): string =>
  new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1] ?? '';

/** Get Messages: up to `count`, hidden for `visibilitySeconds`; the XML's ids, pop receipts and texts. */
export async function getMessages(
  queueUrl: string,
  count: number,
  visibilitySeconds: number,
): Promise<{ id: string; popReceipt: string; text: string }[]> {
  const [b, s] = split(queueUrl);
  const xml = await send(
    'GET',
    `${b}/messages?numofmessages=${count}&visibilitytimeout=${visibilitySeconds}&${s}`,
    VERSION,
    '',
  );
  return xml
    .split('<QueueMessage>')
    .slice(1)
    .map((m) => ({
      id: field(m, 'MessageId'),
      popReceipt: field(m, 'PopReceipt'),
      text: field(m, 'MessageText'),
    }));
}

export const deleteMessage = async (queueUrl: string, id: string, popReceipt: string): Promise<void> => {
  const [b, s] = split(queueUrl);
  await send('DELETE', `${b}/messages/${id}?popreceipt=${encodeURIComponent(popReceipt)}&${s}`, VERSION, '');
};

/** Get Entity of a row that may not exist (404 is an answer, not an error). */
export const getEntity = async (tableUrl: string, pk: string, rk: string): Promise<void> => {
  const [b, s] = split(tableUrl);
  await send('GET', `${b}(PartitionKey='${pk}',RowKey='${rk}')?${s}`, TABLE_HEADERS, '', [404]);
};

/** One page of List Blobs: names and ETags, and the marker of the next page ('' at the end). */
export async function listBlobsPage(
  containerUrl: string,
  prefix: string,
  marker: string,
  maxResults: number,
): Promise<{ blobs: { name: string; eTag: string }[]; next: string }> {
  const [b, s] = split(containerUrl);
  const xml = await send(
    'GET',
    `${b}?restype=container&comp=list&prefix=${encodeURIComponent(prefix)}&maxresults=${maxResults}` +
      `${marker ? `&marker=${encodeURIComponent(marker)}` : ''}&${s}`,
    VERSION,
    '',
  );
  const blobs = xml
    .split('<Blob>')
    .slice(1)
    .map((m) => ({ name: field(m, 'Name'), eTag: field(m, 'Etag') }));
  return { blobs, next: field(xml.slice(xml.lastIndexOf('</Blobs>')), 'NextMarker') };
}

export const insertEntity = async (tableUrl: string, entity: Record<string, unknown>): Promise<void> => {
  const [b, s] = split(tableUrl);
  await send('POST', `${b}?${s}`, { ...TABLE_HEADERS, prefer: 'return-no-content' }, JSON.stringify(entity));
};

/** Insert Or Replace, or with `ifMatch` an unconditional-looking conditional Update (as tracking does). */
export const putEntity = async (
  tableUrl: string,
  pk: string,
  rk: string,
  entity: Record<string, unknown>,
  ifMatch?: string,
): Promise<void> => {
  const [b, s] = split(tableUrl);
  await send(
    'PUT',
    `${b}(PartitionKey='${pk}',RowKey='${rk}')?${s}`,
    { ...TABLE_HEADERS, ...(ifMatch && { 'if-match': ifMatch }) },
    JSON.stringify(entity),
  );
};

/** The AzureWebJobsStorage account's name, key and table endpoint (a connection string with a key). */
function connection(): { name: string; key: string; tableEndpoint: string } {
  const parts = new Map(
    setting('AzureWebJobsStorage')
      .split(';')
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
  return {
    name: parts.get('AccountName') ?? '',
    key: parts.get('AccountKey') ?? '',
    tableEndpoint: parts.get('TableEndpoint') ?? '',
  };
}

/** Creates a table of the app's account and answers its URL with a SAS (add, update, query, delete). */
export async function tableUrl(name: string): Promise<string> {
  const c = connection();
  const credential = new AzureNamedKeyCredential(c.name, c.key);
  await new TableClient(c.tableEndpoint, name, credential, { allowInsecureConnection: true }).createTable();
  const sas = generateTableSas(name, credential, {
    permissions: { add: true, update: true, query: true, delete: true },
    expiresOn: new Date(Date.now() + 3_600_000),
  });
  return `${c.tableEndpoint}/${name}?${sas}`;
}
