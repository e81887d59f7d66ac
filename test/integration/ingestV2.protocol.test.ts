/**
 * `QueuedIngestClient`'s protocol choice against the stand-in: `auto` speaks v2 where the cluster's REST
 * configuration prefers it (uploads to the configuration's containers, blobs of concurrent calls batched
 * into few POSTs, the status read by the receipt's operation) and v1 where the cluster has none; `v1` never
 * submits over REST; a call asking for v1's own reporting stays on v1; `v2` on a cluster without it is a
 * typed error that says what to do.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { RestError, type PipelinePolicy } from '@azure/core-rest-pipeline';
import { BlobSASPermissions } from '@azure/storage-blob';
import { QueuedIngestClient } from '../../shared/ingest/queuedIngestClient';
import { ReportLevel, ReportMethod } from '../../shared/ingest/types';
import { engine, eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService } from '../helpers/stack';

let both: PrivateStandin;
let v1Only: PrivateStandin;

beforeAll(async () => {
  both = await startPrivateStandin({ ingestProtocol: 'both', worker: true, accountCount: 1 });
  v1Only = await startPrivateStandin({ ingestProtocol: 'v1', worker: true, accountCount: 1 });
  for (const s of [both, v1Only])
    await engine(s.standin.engineUrl).mgmt('.create table Proto (id:long, name:string)');
});
afterAll(async () => {
  await both.stop();
  await v1Only.stop();
});

const posts = (s: PrivateStandin) =>
  [...s.standin.dm.commandCounts.entries()]
    .filter(([k]) => k.startsWith('POST queued'))
    .reduce((n, [, v]) => n + v, 0);
const rows = async (s: PrivateStandin, prefix: string) =>
  Number(
    (await engine(s.standin.engineUrl).query(`Proto | where name startswith '${prefix}' | count`))
      .rows[0]?.[0],
  );
const csv = (lines: string[]) => Readable.from([Buffer.from(lines.join('\n') + '\n')]);
const props = { database: 'demo', table: 'Proto', format: 'csv' as const };

describe('protocol auto', () => {
  it('speaks v2 where the cluster prefers it: batched submissions, statuses by operation, each row once', async () => {
    const client = new QueuedIngestClient({ ingestUri: both.standin.dmUrl, batchWindowMs: 100 });
    expect(await client.protocolFor()).toMatchObject({ protocol: 'v2' });
    const before = posts(both);
    const receipts = await Promise.all(
      [1, 2, 3, 4].map((i) => client.ingestFromStream(csv([`${i},auto-v2-${i}`]), props)),
    );
    expect(receipts.every((r) => typeof r.operation === 'string')).toBe(true);
    expect(posts(both) - before).toBeLessThan(4); // at least two shared a POST
    // Counted by the client itself: one Put Blob per item and no queue message; the POSTs apart.
    expect(client.announcements).toMatchObject({ storageRequests: 4, messages: 0 });
    expect(client.announcements.posts).toBe(posts(both) - before);
    for (const receipt of receipts)
      await eventually(async () =>
        (await client.getIngestionStatus(receipt)).status === 'Succeeded' ? true : undefined,
      );
    expect(await rows(both, 'auto-v2-')).toBe(4);
    // The configuration's containers were the upload's: the staged blobs are the service's to delete.
    expect(
      receipts.every((r) => both.layout.tempContainers.some((c) => r.blobPath?.includes(`/${c}/`))),
    ).toBe(true);
  });

  it('queues a blob reference over v2 too, and reads its status by the handle string alone', async () => {
    const container = blobService(0).getContainerClient(`proto-${randomUUID().slice(0, 8)}`);
    await container.createIfNotExists();
    const blob = container.getBlockBlobClient('ref.csv');
    await blob.upload('9,auto-ref\n', 10);
    const url = await blob.generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const client = new QueuedIngestClient({ ingestUri: both.standin.dmUrl });
    const receipt = await client.ingestFromBlob(url, props);
    const operation = receipt.operation ?? '';
    expect(operation).toMatch(/^kiv2\./);
    const other = new QueuedIngestClient({ ingestUri: both.standin.dmUrl });
    await eventually(async () => {
      const statuses = await other.getOperationStatuses(operation);
      return statuses.get(receipt.sourceId)?.status === 'Succeeded' ? true : undefined;
    });
    expect(await rows(both, 'auto-ref')).toBe(1);
    expect(await blob.exists()).toBe(true); // the caller's blob is kept
  });

  it("stays on v1 for a call that asks for v1's reporting, and on a cluster without REST ingestion", async () => {
    const client = new QueuedIngestClient({ ingestUri: both.standin.dmUrl });
    const before = posts(both);
    const reported = await client.ingestFromStream(csv(['5,auto-v1-reported']), {
      ...props,
      reportLevel: ReportLevel.FailuresAndSuccesses,
      reportMethod: ReportMethod.Table,
    });
    expect(reported.operation).toBeUndefined();
    expect(reported.statusTable).toBeDefined();
    expect(posts(both)).toBe(before);
    // v1 with a status row: Put Blob, the row, Put Message; reading the status is one row read.
    expect(client.announcements).toMatchObject({ storageRequests: 3, messages: 1, posts: 0, statusReads: 0 });
    await client.getIngestionStatus(reported);
    expect(client.announcements.statusReads).toBe(1);

    const old = new QueuedIngestClient({ ingestUri: v1Only.standin.dmUrl });
    expect(await old.protocolFor()).toEqual({
      protocol: 'v1',
      why: 'the cluster has no REST ingestion configuration (404)',
    });
    const receipt = await old.ingestFromStream(csv(['6,auto-v1-fallback']), props);
    expect(receipt.operation).toBeUndefined();
    await eventually(async () => ((await rows(v1Only, 'auto-v1-fallback')) === 1 ? true : undefined));
  });

  it("stages in two steps on v2 without v1's resources or identity token, and announces a blob staged on v1", async () => {
    const fetches = () =>
      ['.get ingestion resources', '.get kusto identity token'].map(
        (c) => both.standin.dm.commandCounts.get(c) ?? 0,
      );
    const client = new QueuedIngestClient({ ingestUri: both.standin.dmUrl });
    const before = fetches();
    const staged = await client.uploadToTempStorage(csv(['21,two-step-v2']), props);
    expect(await client.uploadedExists(staged)).toBe(true);
    const receipt = await client.ingestUploaded(staged, props);
    expect(typeof receipt.operation).toBe('string');
    // Two steps on v2 need the configuration only: no `.get ingestion resources`, no identity token.
    expect(fetches()).toEqual(before);
    await eventually(async () =>
      (await client.getIngestionStatus(receipt)).status === 'Succeeded' ? true : undefined,
    );
    // Staged by a v1 client (before the cluster moved to REST, say), queued by this one over v2.
    const v1 = new QueuedIngestClient({ ingestUri: both.standin.dmUrl, protocol: 'v1' });
    const onV1 = await v1.uploadToTempStorage(csv(['22,two-step-v1-staged']), props);
    const announced = await client.ingestUploaded(onV1, props);
    expect(typeof announced.operation).toBe('string');
    await eventually(async () => ((await rows(both, 'two-step-')) === 2 ? true : undefined));
  });

  it("reads the configuration again when its containers' SAS is refused (403), and uploads on the fresh one", async () => {
    // Every upload with the first configuration's SAS is refused, as an expired SAS is (403
    // AuthenticationFailed, as storage throws it), until the configuration has been read again.
    let refusals = 0;
    let reads = () => 0;
    const expired: PipelinePolicy = {
      name: 'expiredSas',
      sendRequest: (request, next) => {
        if (request.method === 'PUT' && reads() < 2) {
          refusals += 1;
          throw new RestError('Server failed to authenticate the request (injected: the SAS expired).', {
            statusCode: 403,
            code: 'AuthenticationFailed',
            request,
          });
        }
        return next(request);
      },
    };
    const client = new QueuedIngestClient({
      ingestUri: both.standin.dmUrl,
      storagePolicies: () => [expired],
    });
    reads = () => client.announcements.configurationReads;
    expect(await client.protocolFor()).toMatchObject({ protocol: 'v2' });
    expect(client.announcements.configurationReads).toBe(1);
    // A file can start over on the fresh containers (a stream cannot: its call fails, the next reads afresh).
    const file = join(mkdtempSync(join(tmpdir(), 'kif-v2-')), 'refresh.csv');
    writeFileSync(file, '11,after-refresh\n');
    const receipt = await client.ingestFromFile(file, props);
    expect(refusals).toBeGreaterThan(0);
    expect(client.announcements.configurationReads).toBe(2);
    await eventually(async () =>
      (await client.getIngestionStatus(receipt)).status === 'Succeeded' ? true : undefined,
    );
    expect(await rows(both, 'after-refresh')).toBe(1);
  });
});

describe('protocol set', () => {
  it('v1 never submits over REST, even where the cluster prefers it', async () => {
    const client = new QueuedIngestClient({ ingestUri: both.standin.dmUrl, protocol: 'v1' });
    const before = posts(both);
    const receipt = await client.ingestFromStream(csv(['7,pinned-v1']), props);
    expect(receipt.operation).toBeUndefined();
    await eventually(async () => ((await rows(both, 'pinned-v1')) === 1 ? true : undefined));
    expect(posts(both)).toBe(before);
  });

  it('v2 on a cluster without REST ingestion fails with a typed error that says to use auto or v1', async () => {
    const client = new QueuedIngestClient({ ingestUri: v1Only.standin.dmUrl, protocol: 'v2' });
    const error = await client.ingestFromStream(csv(['8,never']), props).catch((e: unknown) => e);
    expect(error).toMatchObject({ transient: false });
    expect((error as Error).message).toMatch(/use auto or v1/);
  });

  it('refuses a protocol it does not know', () => {
    expect(() => new QueuedIngestClient({ ingestUri: both.standin.dmUrl, protocol: 'v3' as never })).toThrow(
      /protocol must be 'auto', 'v1' or 'v2'/,
    );
  });
});
