/**
 * The stand-in's REST queued ingestion (ingest v2), spoken to with the library's wire helpers over the real
 * REST client: a submission shaped as the documentation's example is ingested by the same worker as v1
 * messages, one operation read answers for every blob, failures carry the service's classification, and
 * what the documentation says is refused is refused. v1-only mode has none of it.
 */
import { randomUUID } from 'node:crypto';
import { BlobSASPermissions, ContainerSASPermissions } from '@azure/storage-blob';
import { isNotFound } from '../../shared/errors';
import { validateProps } from '../../shared/ingest/ingestionProps';
import { itemStatus, matchDetails, parseOperationStatus } from '../../shared/ingest/v2/operationStatus';
import {
  buildSubmission,
  operationPath,
  parseSubmissionAnswer,
  submissionPath,
  submissionProperties,
} from '../../shared/ingest/v2/restSubmission';
import { KustoRestClient } from '../../shared/kusto/kustoRestClient';
import { engine, eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService, queueService } from '../helpers/stack';

let both: PrivateStandin;
let v1Only: PrivateStandin;
let client: KustoRestClient;
const container = `v2src-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  both = await startPrivateStandin({ ingestProtocol: 'both', worker: true, accountCount: 1 });
  v1Only = await startPrivateStandin({ ingestProtocol: 'v1' });
  client = new KustoRestClient({ baseUrl: both.standin.dmUrl });
  await engine(both.standin.engineUrl).mgmt('.create table RestRows (id:long, name:string)');
  await blobService(0).getContainerClient(container).createIfNotExists();
});
afterAll(async () => {
  await both.stop();
  await v1Only.stop();
});

/** A blob in Azurite, named by a read SAS URL as a caller would name it. */
async function blobWith(name: string, text: string): Promise<string> {
  const blob = blobService(0).getContainerClient(container).getBlockBlobClient(name);
  await blob.upload(text, Buffer.byteLength(text));
  return blob.generateSasUrl({
    permissions: BlobSASPermissions.parse('r'),
    expiresOn: new Date(Date.now() + 3_600_000),
  });
}

const post = (database: string, table: string, body: unknown, to = client) =>
  to.postJson(submissionPath(database, table), body, 'a submission', 'postQueuedIngest', {
    requestIdPrefix: 'KIC.execute',
  });
/** Management commands on the DM endpoint (queued ingestion commands run there). */
const engineOfDm = () => engine(both.standin.dmUrl, 'NetDefaultDB');
const read = (database: string, table: string, operationId: string) =>
  client.getJson(operationPath(database, table, operationId), 'a status', 'getIngestStatus');

describe('the stand-in serves REST queued ingestion', () => {
  it('ingests a submission of several blobs; one read answers for all of them, until they succeed', async () => {
    const blobs = await Promise.all(
      ['a', 'b', 'c'].map(async (n, i) => ({
        url: await blobWith(`ok-${n}.csv`, `${i},rest-${n}\n`),
        sourceId: randomUUID(),
      })),
    );
    const props = validateProps({ database: 'demo', table: 'RestRows', format: 'csv', tags: ['from-v2'] });
    const body = buildSubmission(
      blobs,
      submissionProperties(props, { deleteAfterDownload: false }),
      20,
      new Date(),
    );
    const operationId = parseSubmissionAnswer(await post('demo', 'RestRows', body));
    expect(operationId).toContain(';'); // encoded in the status path, or the read would miss
    const final = await eventually(async () => {
      const status = parseOperationStatus(await read('demo', 'RestRows', operationId));
      return status.counts.succeeded === 3 ? status : undefined;
    });
    expect(final.counts).toEqual({ succeeded: 3, failed: 0, inProgress: 0, canceled: 0 });
    const matched = matchDetails(final, blobs);
    expect(blobs.map((b) => itemStatus(b.sourceId, operationId, matched.get(b.sourceId)).status)).toEqual([
      'Succeeded',
      'Succeeded',
      'Succeeded',
    ]);
    // The details never give a SAS back.
    expect(final.details.every((d) => !d.url?.includes('?'))).toBe(true);
    expect(await engine(both.standin.engineUrl).count('RestRows')).toBe(3);
    // The caller's blobs are kept (deleteAfterDownload was not asked for).
    expect(await blobService(0).getContainerClient(container).getBlobClient('ok-a.csv').exists()).toBe(true);
  });

  it('ingests a submitted blob once even when its internal message comes twice (a retried Put Message)', async () => {
    both.standin.faults.update({ workerPaused: true });
    const blob = { url: await blobWith('twice.csv', '9,rest-twice\n'), sourceId: randomUUID() };
    const props = validateProps({ database: 'demo', table: 'RestRows', format: 'csv' });
    const body = buildSubmission(
      [blob],
      submissionProperties(props, { deleteAfterDownload: false }),
      20,
      new Date(),
    );
    const operationId = parseSubmissionAnswer(await post('demo', 'RestRows', body));
    // The DM's own Put Message sent twice: a copy of the blob's message beside the original.
    let copied = 0;
    for (const name of both.layout.ingestionQueues) {
      const queue = queueService(0).getQueueClient(name);
      const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
      for (const m of peekedMessageItems)
        if (Buffer.from(m.messageText, 'base64').toString('utf8').includes(blob.sourceId)) {
          await queue.sendMessage(m.messageText);
          copied += 1;
        }
    }
    expect(copied).toBe(1);
    both.standin.faults.update({ workerPaused: false });
    const status = await eventually(async () => {
      const s = parseOperationStatus(await read('demo', 'RestRows', operationId));
      return s.counts.succeeded === 1 ? s : undefined;
    });
    await both.standin.worker?.drained();
    expect(status.counts).toEqual({ succeeded: 1, failed: 0, inProgress: 0, canceled: 0 });
    const rows = await engine(both.standin.engineUrl).query("RestRows | where name == 'rest-twice' | count");
    expect(Number(rows.rows[0]?.[0])).toBe(1);
  });

  it('reports a blob the service cannot ingest as Failed, with its code, classified Permanent', async () => {
    const good = { url: await blobWith('mixed-good.csv', '7,fine\n'), sourceId: randomUUID() };
    const props = validateProps({ database: 'demo', table: 'NoSuchTable', format: 'csv' });
    const body = buildSubmission(
      [good],
      submissionProperties(props, { deleteAfterDownload: false }),
      20,
      new Date(),
    );
    const operationId = parseSubmissionAnswer(await post('demo', 'NoSuchTable', body));
    const status = await eventually(async () => {
      const s = parseOperationStatus(await read('demo', 'NoSuchTable', operationId));
      return s.counts.failed === 1 ? s : undefined;
    });
    expect(
      itemStatus(good.sourceId, operationId, matchDetails(status, [good]).get(good.sourceId)),
    ).toMatchObject({
      status: 'Failed',
      errorCode: 'BadRequest_TableNotExist',
      failureStatus: 'Permanent',
    });
    // The same operation, read with the engine command's details: the blob failed, and why.
    const [row] = (await engineOfDm().mgmt(`.show queued ingestion operations "${operationId}" details`))
      .objects;
    expect(row).toMatchObject({ IngestionOperationId: operationId, IngestionStatus: 'Failed' });
    expect(String(row?.FailedReasons)).toMatch(/NoSuchTable|not exist/i);
  });

  it('refuses what the documentation refuses, with a 400 the client types as permanent', async () => {
    const url = await blobWith('refused.csv', '1,x\n');
    const cases: unknown[] = [
      { blobs: [], properties: { format: 'csv' } },
      {
        blobs: Array.from({ length: 21 }, (_, i) => ({ url: `${url}?n=${i}` })),
        properties: { format: 'csv' },
      },
      { blobs: [{ url }, { url: `${url}?sig=other` }], properties: { format: 'csv' } },
      { blobs: [{ url }], properties: {} },
      { blobs: [{ url: 'not a url' }], properties: { format: 'csv' } },
    ];
    for (const body of cases) {
      const error = await post('demo', 'RestRows', body).catch((e: unknown) => e);
      expect([JSON.stringify(body).slice(0, 60), error]).toEqual([
        JSON.stringify(body).slice(0, 60),
        expect.objectContaining({ name: 'IngestServiceError', transient: false }),
      ]);
    }
  });

  it('answers an empty operation id when tracking is off, and 404 for an operation it does not know', async () => {
    const url = await blobWith('untracked.csv', '9,untracked\n');
    expect(await post('demo', 'RestRows', { blobs: [{ url }], properties: { format: 'csv' } })).toEqual({
      ingestionOperationId: '',
    });
    const error = await read('demo', 'RestRows', 'standin;nope;1').catch((e: unknown) => e);
    expect(isNotFound(error)).toBe(true);
    expect(error).toMatchObject({ transient: false });
  });

  it('shows operations and cancels the blobs not yet taken (.show / .cancel queued ingestion operation(s))', async () => {
    const dm = engineOfDm();
    both.standin.faults.update({ workerPaused: true });
    const blobs = await Promise.all(
      ['x', 'y'].map(async (n) => ({
        url: await blobWith(`cancel-${n}.csv`, `1,cancel-${n}\n`),
        sourceId: randomUUID(),
      })),
    );
    const props = validateProps({ database: 'demo', table: 'RestRows', format: 'csv' });
    const body = buildSubmission(
      blobs,
      submissionProperties(props, { deleteAfterDownload: false }),
      20,
      new Date(),
    );
    const operationId = parseSubmissionAnswer(await post('demo', 'RestRows', body));
    const shown = await dm.mgmt(`.show queued ingestion operations "${operationId}"`);
    expect(shown.objects).toEqual([
      expect.objectContaining({
        IngestionOperationId: operationId,
        State: 'InProgress',
        Discovered: 2,
        Pending: 2,
        Database: 'demo',
        Table: 'RestRows',
      }),
    ]);
    const canceled = await dm.mgmt(
      `.cancel queued ingestion operation "${operationId}" with (reason="not needed")`,
    );
    expect(canceled.objects).toEqual([
      expect.objectContaining({ OperationId: operationId, ReasonPhrase: 'not needed' }),
    ]);
    both.standin.faults.update({ workerPaused: false });
    await both.standin.worker?.drained();
    const status = parseOperationStatus(await read('demo', 'RestRows', operationId));
    expect(status.counts.canceled).toBe(2);
    expect(
      itemStatus(
        blobs[0]?.sourceId ?? '',
        operationId,
        matchDetails(status, blobs).get(blobs[0]?.sourceId ?? ''),
      ),
    ).toMatchObject({
      status: 'Failed',
      errorCode: 'Canceled',
      failureStatus: 'Permanent',
    });
    expect(
      Number(
        (await engine(both.standin.engineUrl).query("RestRows | where name startswith 'cancel-' | count"))
          .rows[0]?.[0],
      ),
    ).toBe(0);
    expect((await dm.mgmt(`.show queued ingestion operations ("${operationId}", "nope")`)).objects).toEqual([
      expect.objectContaining({ State: 'Canceled', Canceled: 2, Ingested: 0 }),
    ]);
    await expect(dm.mgmt('.cancel queued ingestion operation "standin;nope;1"')).rejects.toThrow(
      /No queued ingestion operation/,
    );
  });

  it('lists a folder (.list blobs) and ingests it server-side (.ingest-from-storage-queued), tracked as an operation', async () => {
    const dm = engineOfDm();
    const folder = blobService(0).getContainerClient(container);
    for (const n of [1, 2, 3])
      await folder.getBlockBlobClient(`folder/part-${n}.csv`).upload(`${n},server-${n}\n`, 11);
    await folder.getBlockBlobClient('folder/_SUCCESS').upload('', 0);
    const sas = (
      await folder.generateSasUrl({
        permissions: ContainerSASPermissions.parse('rl'),
        expiresOn: new Date(Date.now() + 3_600_000),
      })
    ).split('?')[1];
    const locator = `${folder.url}/folder?${sas}`;
    const listed = await dm.mgmt(`.list blobs ("${locator}") Suffix=".csv"`);
    expect(listed.objects.map((o) => String(o.BlobUri).split('/').pop())).toEqual([
      'part-1.csv',
      'part-2.csv',
      'part-3.csv',
    ]);
    expect(listed.objects.every((o) => !String(o.BlobUri).includes('?'))).toBe(true); // no SAS given back
    expect((await dm.mgmt(`.list blobs ("${locator}") Suffix=".csv" MaxFiles=2`)).objects).toHaveLength(2);

    const started = await dm.mgmt(
      `.ingest-from-storage-queued into table database('demo').RestRows EnableTracking=true with (format='csv') <| .list blobs ("${locator}") Suffix=".csv"`,
    );
    const operationId = String(started.objects[0]?.IngestionOperationId);
    expect(started.objects[0]?.OperationInfo).toBe(`.show queued ingestion operations "${operationId}"`);
    await eventually(async () => {
      const [row] = (await dm.mgmt(`.show queued ingestion operations "${operationId}"`)).objects;
      return row?.State === 'Completed' && row.Ingested === 3 ? row : undefined;
    });
    expect(
      Number(
        (await engine(both.standin.engineUrl).query("RestRows | where name startswith 'server-' | count"))
          .rows[0]?.[0],
      ),
    ).toBe(3);
    // With `details`, a row per blob: its URL without the SAS, its state, when it started and completed.
    const details = (await dm.mgmt(`.show queued ingestion operations "${operationId}" details`)).objects;
    expect(details.map((d) => String(d.BlobURL).split('/').pop()).sort()).toEqual([
      'part-1.csv',
      'part-2.csv',
      'part-3.csv',
    ]);
    expect(details.every((d) => d.IngestionOperationId === operationId)).toBe(true);
    expect(details.every((d) => d.IngestionStatus === 'Succeeded' && d.CompletedAt !== null)).toBe(true);
    expect(details.every((d) => !String(d.BlobURL).includes('?') && d.FailedReasons === '')).toBe(true);
  });

  it("lists and ingests with the cluster's managed identity once the database's policy allows it; never by impersonation", async () => {
    const dm = engineOfDm();
    const folder = blobService(0).getContainerClient(container);
    for (const n of [1, 2])
      await folder.getBlockBlobClient(`byid/part-${n}.csv`).upload(`${n},byid-${n}\n`, 9);
    const identity = randomUUID();
    const locator = `${folder.url}/byid;managed_identity=${identity}`;
    // No SAS, and the identity not (yet) allowed: a 400 that says which policy to set.
    await expect(dm.mgmt(`.list blobs ("${locator}")`, 'demo')).rejects.toThrow(
      new RegExp(`'${identity}' is not allowed NativeIngestion.*policy managed_identity`),
    );
    await expect(dm.mgmt(`.list blobs ("${folder.url}/byid;impersonate")`, 'demo')).rejects.toThrow(
      /impersonation/,
    );
    await expect(dm.mgmt(`.list blobs ("${folder.url}/byid")`, 'demo')).rejects.toThrow(/needs a SAS/);
    await engine(both.standin.engineUrl).mgmt(
      `.alter-merge database demo policy managed_identity "[{'ObjectId':'${identity}','AllowedUsages':'NativeIngestion'}]"`,
    );
    const listed = await dm.mgmt(`.list blobs ("${locator}")`, 'demo');
    expect(listed.objects.map((o) => String(o.BlobUri).split('/').pop())).toEqual([
      'part-1.csv',
      'part-2.csv',
    ]);
    // Allowed on demo, not on another database: the policy is the target database's.
    await engine(both.standin.engineUrl).mgmt('.create database RestOther volatile');
    await expect(dm.mgmt(`.list blobs ("${locator}")`, 'RestOther')).rejects.toThrow(/not allowed/);
    const started = await dm.mgmt(
      `.ingest-from-storage-queued into table database('demo').RestRows with (format='csv') <| .list blobs ("${locator}")`,
    );
    const operationId = String(started.objects[0]?.IngestionOperationId);
    await eventually(async () => {
      const [row] = (await dm.mgmt(`.show queued ingestion operations "${operationId}"`)).objects;
      return row?.State === 'Completed' && row.Ingested === 2 ? row : undefined;
    });
    const rows = await engine(both.standin.engineUrl).query(
      "RestRows | where name startswith 'byid-' | count",
    );
    expect(Number(rows.rows[0]?.[0])).toBe(2);
  });

  it('keeps one internal message per 20 blobs of a submission, deleted once each blob it names is ingested', async () => {
    const folder = blobService(0).getContainerClient(container);
    await Promise.all(
      Array.from({ length: 45 }, (_, n) =>
        folder.getBlockBlobClient(`many/part-${n}.csv`).upload(`${n},many-${n}\n`, `${n},many-${n}\n`.length),
      ),
    );
    const sas = (
      await folder.generateSasUrl({
        permissions: ContainerSASPermissions.parse('rl'),
        expiresOn: new Date(Date.now() + 3_600_000),
      })
    ).split('?')[1];
    /** The blobs each internal message on the ingestion queues names, by message. */
    const queued = async () => {
      const named: number[] = [];
      for (const name of both.layout.ingestionQueues) {
        const { peekedMessageItems } = await queueService(0)
          .getQueueClient(name)
          .peekMessages({ numberOfMessages: 32 });
        for (const m of peekedMessageItems) {
          const body = JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as Record<
            string,
            unknown
          >;
          named.push((body.StandinSubmissionBlobs as unknown[]).length);
        }
      }
      return named.sort((a, b) => a - b);
    };
    both.standin.faults.update({ workerPaused: true });
    try {
      await engineOfDm().mgmt(
        `.ingest-from-storage-queued into table database('demo').RestRows with (format='csv') <| .list blobs ("${folder.url}/many?${sas}")`,
      );
      expect(await queued()).toEqual([5, 20, 20]);
    } finally {
      both.standin.faults.update({ workerPaused: false });
    }
    await eventually(async () => {
      const rows = await engine(both.standin.engineUrl).query(
        "RestRows | where name startswith 'many-' | count",
      );
      return Number(rows.rows[0]?.[0]) === 45 ? true : undefined;
    });
    await both.standin.worker?.drained();
    expect(await queued()).toEqual([]);
  });

  it('has no REST ingestion when it serves v1 only: 404', async () => {
    const v1 = new KustoRestClient({ baseUrl: v1Only.standin.dmUrl });
    const error = await post(
      'demo',
      'RestRows',
      { blobs: [{ url: 'https://x/y.csv' }], properties: { format: 'csv' } },
      v1,
    ).catch((e: unknown) => e);
    expect(isNotFound(error)).toBe(true);
  });
});
