/**
 * The library's REST submission client (ingest v2) against the stand-in, over the real REST client: blobs
 * of a table share one POST and land once; the status is read one operation at a time, also by another
 * client from the serialized handle (a process restarted); a submission whose answer is lost on the way
 * back (a proxy forwards it, then breaks the connection) is not sent again, and says it may have been
 * carried out.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BlobSASPermissions } from '@azure/storage-blob';
import { mayHaveBeenApplied } from '../../shared/errors';
import { validateProps } from '../../shared/ingest/ingestionProps';
import { IngestionConfigurationSource } from '../../shared/ingest/v2/ingestionConfiguration';
import { handleFromString, handleToString } from '../../shared/ingest/v2/operationHandle';
import { RestQueuedIngestion } from '../../shared/ingest/v2/restQueuedIngestion';
import { KustoRestClient } from '../../shared/kusto/kustoRestClient';
import { engine, eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService } from '../helpers/stack';

let dm: PrivateStandin;
const container = `v2client-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  dm = await startPrivateStandin({ ingestProtocol: 'both', worker: true, accountCount: 1 });
  await engine(dm.standin.engineUrl).mgmt('.create table V2Client (id:long, name:string)');
  await blobService(0).getContainerClient(container).createIfNotExists();
});
afterAll(async () => {
  await dm.stop();
});

function clientTo(baseUrl: string, batchWindowMs = 50): RestQueuedIngestion {
  const client = new KustoRestClient({ baseUrl });
  return new RestQueuedIngestion({
    client,
    configuration: new IngestionConfigurationSource({ client }),
    batchWindowMs,
    retry: { baseDelayInMs: 10, maxDelayInMs: 50 },
  });
}

async function blobWith(name: string, text: string): Promise<{ url: string; sourceId: string }> {
  const blob = blobService(0).getContainerClient(container).getBlockBlobClient(name);
  await blob.upload(text, Buffer.byteLength(text));
  const url = await blob.generateSasUrl({
    permissions: BlobSASPermissions.parse('r'),
    expiresOn: new Date(Date.now() + 3_600_000),
  });
  return { url, sourceId: randomUUID() };
}

const props = validateProps({ database: 'demo', table: 'V2Client', format: 'csv' });
const both429 = (n: number) => dm.standin.faults.update({ throttleRest: n, retryAfterSeconds: 0 });
const rows = async (name: string) =>
  Number(
    (await engine(dm.standin.engineUrl).query(`V2Client | where name startswith '${name}' | count`))
      .rows[0]?.[0],
  );
const posts = () =>
  [...dm.standin.dm.commandCounts.entries()]
    .filter(([k]) => k.startsWith('POST queued'))
    .reduce((n, [, v]) => n + v, 0);

it('submits five blobs in one POST, reads their statuses in one GET, and a new client reads them from the handle', async () => {
  const before = posts();
  const rest = clientTo(dm.standin.dmUrl);
  const blobs = await Promise.all([1, 2, 3, 4, 5].map((i) => blobWith(`five-${i}.csv`, `${i},five-${i}\n`)));
  const accepted = await Promise.all(blobs.map((b) => rest.submit(b, props, { deleteAfterDownload: false })));
  expect(posts() - before).toBe(1);
  expect(new Set(accepted.map((a) => a.operationId)).size).toBe(1);
  const handle = accepted[0]?.handle;
  if (!handle) throw new Error('no handle');
  // Another process, later: only the string.
  const text = handleToString(handle);
  expect(text).not.toContain('sig=');
  const later = clientTo(dm.standin.dmUrl);
  const statuses = await eventually(async () => {
    const s = await later.readStatus(handleFromString(text));
    return [...s.values()].every((v) => v.status === 'Succeeded') ? s : undefined;
  });
  expect([...statuses.keys()].sort()).toEqual(blobs.map((b) => b.sourceId).sort());
  expect(await rows('five-')).toBe(5);
});

it('waits out a throttling service (429 with Retry-After) and submits once it lets it, reading statuses the same way', async () => {
  const before = posts();
  both429(2);
  const rest = clientTo(dm.standin.dmUrl);
  const blob = await blobWith('throttled.csv', '1,throttled-1\n');
  const accepted = await rest.submit(blob, props, { deleteAfterDownload: false });
  expect(posts() - before).toBe(3); // two refused, the third accepted
  both429(2);
  const statuses = await eventually(async () => {
    const s = await rest.readStatus(accepted.handle);
    return s.get(blob.sourceId)?.status === 'Succeeded' ? s : undefined;
  });
  expect(statuses.size).toBe(1);
  expect(dm.standin.faults.current.throttleRest).toBe(0);
  expect(await rows('throttled-')).toBe(1);
});

describe('a submission whose answer is lost', () => {
  let proxy: Server;
  let lostAnswers = 0;
  beforeAll(async () => {
    const target = new URL(dm.standin.dmUrl);
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const upstream = request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (answer) => {
            // The submission reaches the service, which carries it out; its answer never comes back.
            if (req.method === 'POST' && req.url?.startsWith('/v1/rest/ingestion/queued/')) {
              answer.resume();
              answer.on('end', () => {
                lostAnswers += 1;
                res.destroy();
              });
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
  });

  it('is not sent again: its blobs get an error that says it may have been carried out, and land once', async () => {
    const before = posts();
    const rest = clientTo(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    const blobs = await Promise.all([1, 2].map((i) => blobWith(`lost-${i}.csv`, `${i},lost-${i}\n`)));
    const results = await Promise.allSettled(
      blobs.map((b) => rest.submit(b, props, { deleteAfterDownload: false })),
    );
    expect(lostAnswers).toBe(1);
    expect(posts() - before).toBe(1);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') expect(mayHaveBeenApplied(r.reason)).toBe(true);
    }
    // The service did carry it out: once.
    await eventually(async () => ((await rows('lost-')) === 2 ? true : undefined));
    await dm.standin.worker?.drained();
    expect(await rows('lost-')).toBe(2);
  });
});
