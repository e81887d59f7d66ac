/** The lean storage calls of the hot path, against Azurite, read back with the SDKs. */
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { AzureNamedKeyCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { generateTableSas } from '@azure/data-tables';
import { ContainerSASPermissions } from '@azure/storage-blob';
import { QueueSASPermissions } from '@azure/storage-queue';
import { classify, IngestServiceError } from '../../shared/errors';
import { parseStorageResourceUrl } from '../../shared/resources/storageUrl';
import { gzipBuffer } from '../../shared/upload/compression';
import { StorageRest } from '../../shared/upload/storageRest';
import { account, blobService, queueService, tableClient } from '../helpers/stack';

const expiresOn = () => new Date(Date.now() + 3_600_000);
const rest = new StorageRest();

async function container() {
  const client = blobService().getContainerClient(`rest-${randomUUID().slice(0, 8)}`);
  await client.create();
  const url = await client.generateSasUrl({
    permissions: ContainerSASPermissions.parse('racwl'),
    expiresOn: expiresOn(),
  });
  return { client, resource: parseStorageResourceUrl(url) };
}

describe('StorageRest', () => {
  it('puts a small blob in one request, and the bytes are the ones sent', async () => {
    const { client, resource } = await container();
    const data = await gzipBuffer(Buffer.from('a,1\nb,2\n'), 3);
    const blob = rest.tempBlob(resource, 'db__t__id__small file.csv.gz');
    await blob.upload(data);
    expect(blob.url).toContain('?');
    const downloaded = await client.getBlobClient('db__t__id__small file.csv.gz').downloadToBuffer();
    expect(gunzipSync(downloaded).toString()).toBe('a,1\nb,2\n');
  });

  it('stages blocks and commits them in order', async () => {
    const { client, resource } = await container();
    const blob = rest.tempBlob(resource, 'blocks.csv');
    const id = (i: number) => Buffer.from(`block-${String(i).padStart(8, '0')}`).toString('base64');
    await blob.stageBlock(id(1), Buffer.from('second\n'));
    await blob.stageBlock(id(0), Buffer.from('first\n'));
    await blob.commitBlockList([id(0), id(1)]);
    const downloaded = await client.getBlobClient('blocks.csv').downloadToBuffer();
    expect(downloaded.toString()).toBe('first\nsecond\n');
  });

  it('sends a queue message whose text arrives unchanged', async () => {
    const queue = queueService().getQueueClient(`rest-${randomUUID().slice(0, 8)}`);
    await queue.create();
    const url = queue.generateSasUrl({
      permissions: QueueSASPermissions.parse('raup'),
      expiresOn: expiresOn(),
    });
    const text = Buffer.from(JSON.stringify({ Id: 'x', BlobPath: 'https://a/b?c=d&e=f' })).toString('base64');
    await rest.putMessage(parseStorageResourceUrl(url), text);
    await rest.putMessage(parseStorageResourceUrl(url), 'plain <text> & more');
    const received = await queue.receiveMessages({ numberOfMessages: 2 });
    expect(received.receivedMessageItems.map((m) => m.messageText).sort()).toEqual(
      [text, 'plain <text> & more'].sort(),
    );
  });

  it('upserts an entity with typed values and keys that need quoting, and replaces it on a retry', async () => {
    const name = `rest${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const reader = tableClient(name);
    await reader.createTable();
    const a = account();
    const sas = generateTableSas(name, new AzureNamedKeyCredential(a.name, a.key), {
      permissions: { add: true, update: true, query: true },
      expiresOn: expiresOn(),
    });
    const table = parseStorageResourceUrl(`${a.tableEndpoint}/${name}?${sas}`);
    const when = new Date('2026-11-25T10:11:12.345Z');
    const key = "it's a key";
    await rest.upsertEntity(table, key, key, {
      Status: 'Pending',
      UpdatedOn: when,
      Count: 3,
      Ratio: 0.5,
      Ok: true,
    });
    await rest.upsertEntity(table, key, key, {
      Status: 'Pending',
      UpdatedOn: when,
      Count: 4,
      Ratio: 0.5,
      Ok: true,
    });
    const row = await reader.getEntity(key, key);
    expect(row.Status).toBe('Pending');
    expect(row.Count).toBe(4);
    expect(row.Ratio).toBe(0.5);
    expect(row.Ok).toBe(true);
    expect(row.UpdatedOn).toEqual(when); // typed Edm.DateTime, so the SDK reads a Date back
  });

  it('turns a refusal into a RestError with the service code, classified as permanent', async () => {
    const { client, resource } = await container();
    await client.delete(); // the SAS stays valid; the container is gone
    const error: unknown = await rest
      .tempBlob(resource, 'x.csv')
      .upload(Buffer.from('x'))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const classified = classify(error);
    expect(classified).toBeInstanceOf(IngestServiceError);
    expect(classified.transient).toBe(false);
    expect(classified.message).toContain('ContainerNotFound');
  });

  it('sends each block and blob with its Content-MD5, so storage refuses a body changed on the way', async () => {
    const { client, resource } = await container();
    // Flips one byte of every body after the client has signed it with its MD5: a corruption in transit.
    const corrupt: PipelinePolicy = {
      name: 'corrupt-body',
      sendRequest: (request, next) => {
        if (Buffer.isBuffer(request.body) && request.body.length > 0) {
          const body = Buffer.from(request.body);
          body[0] = (body[0] ?? 0) ^ 0xff;
          request.body = body;
        }
        return next(request);
      },
    };
    const corrupting = new StorageRest({ policies: [corrupt] });
    const id = Buffer.from('block-00000000').toString('base64');
    for (const send of [
      () => corrupting.tempBlob(resource, 'md5.csv').stageBlock(id, Buffer.from('first\n')),
      () => corrupting.tempBlob(resource, 'md5.csv').upload(Buffer.from('whole\n')),
    ]) {
      const error = await send().then(
        () => undefined,
        (e: unknown) => e,
      );
      const classified = classify(error);
      expect(classified.message).toContain('Md5Mismatch');
      expect(classified.transient).toBe(true); // sending the same bytes again can succeed
    }
    expect(await client.getBlobClient('md5.csv').exists()).toBe(false);
    // The same calls, uncorrupted, go through.
    await rest.tempBlob(resource, 'md5.csv').stageBlock(id, Buffer.from('first\n'));
    await rest.tempBlob(resource, 'md5.csv').commitBlockList([id]);
    expect((await client.getBlobClient('md5.csv').downloadToBuffer()).toString()).toBe('first\n');
  });

  it('honours cancellation', async () => {
    const { resource } = await container();
    const controller = new AbortController();
    controller.abort();
    await expect(
      rest.tempBlob(resource, 'x.csv').upload(Buffer.from('x'), { abortSignal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });
});
