/** The lean entity requests of the tracking tables, against Azurite (which checks the signatures), read back with the SDK. */
import { randomUUID } from 'node:crypto';
import { RestError, type PipelinePolicy } from '@azure/core-rest-pipeline';
import { TableRest } from '../../shared/upload/tableRest';
import { statusOf, testStorageAuth } from '../helpers/leanStorage';
import { account, tableClient } from '../helpers/stack';

async function table(): Promise<{ name: string; rest: TableRest }> {
  const name = `lean${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  await tableClient(name).createTable();
  const auth = testStorageAuth();
  return { name, rest: new TableRest({ endpoint: account().tableEndpoint, table: name, auth }) };
}

describe('TableRest', () => {
  it('inserts an entity the SDK reads back with its types, and refuses a second insert with 409', async () => {
    const { name, rest } = await table();
    const created = new Date('2026-12-04T05:00:00.123Z');
    const entity = {
      partitionKey: 'src-ab',
      rowKey: "it's 1 (ok)",
      State: 'queuing',
      CreatedOn: created,
      Count: 3,
      Big: 5_000_000_000,
      Flag: true,
    };
    const { etag } = await rest.createEntity(entity);
    expect(etag).toMatch(/^W\//);
    const read = await tableClient(name).getEntity('src-ab', "it's 1 (ok)");
    expect(read.State).toBe('queuing');
    expect(read.CreatedOn).toEqual(created);
    expect(read.Count).toBe(3);
    expect(read.Big).toBe(5_000_000_000);
    expect(read.Flag).toBe(true);
    expect(read.etag).toBe(etag);
    expect(await statusOf(rest.createEntity(entity))).toBe(409);
  });

  it('reads an entity with dates as Dates and its ETag; 404 when there is none', async () => {
    const { name, rest } = await table();
    const at = new Date('2026-01-02T03:04:05.678Z');
    await tableClient(name).createEntity({ partitionKey: 'p', rowKey: 'r', At: at, Name: 'x' });
    const read = await rest.getEntity('p', 'r');
    expect(read.partitionKey).toBe('p');
    expect(read.rowKey).toBe('r');
    expect(read.At).toEqual(at);
    expect(read.Name).toBe('x');
    expect(read.etag).toMatch(/^W\//);
    expect(await statusOf(rest.getEntity('p', 'missing'))).toBe(404);
    expect(await rest.findEntity('p', 'missing')).toBeUndefined();
    expect((await rest.findEntity('p', 'r'))?.At).toEqual(at);
  });

  it('replaces only while the ETag matches (412 after another write), and deletes likewise', async () => {
    const { rest } = await table();
    const first = await rest.createEntity({ partitionKey: 'p', rowKey: 'r', State: 'a' });
    const second = await rest.updateEntity({ partitionKey: 'p', rowKey: 'r', State: 'b' }, 'Replace', first);
    expect((await rest.getEntity('p', 'r')).State).toBe('b');
    expect(
      await statusOf(rest.updateEntity({ partitionKey: 'p', rowKey: 'r', State: 'c' }, 'Replace', first)),
    ).toBe(412);
    expect(await statusOf(rest.deleteEntity('p', 'r', first))).toBe(412);
    await rest.deleteEntity('p', 'r', second);
    expect(await statusOf(rest.getEntity('p', 'r'))).toBe(404);
    expect(await statusOf(rest.deleteEntity('p', 'r'))).toBe(404);
  });

  it('upserts: inserts, then replaces whatever is there (properties not sent are gone)', async () => {
    const { rest } = await table();
    await rest.upsertEntity({ partitionKey: 'p', rowKey: 'r', A: 1, B: 'x' }, 'Replace');
    await rest.upsertEntity({ partitionKey: 'p', rowKey: 'r', A: 2 }, 'Replace');
    const read = await rest.getEntity('p', 'r');
    expect(read.A).toBe(2);
    expect(read.B).toBeUndefined();
  });

  it('is refused with 403 when the key is wrong (the signature is checked)', async () => {
    const { name } = await table();
    const wrong = new TableRest({
      endpoint: account().tableEndpoint,
      table: name,
      auth: {
        kind: 'sharedKey',
        accountName: account().name,
        accountKey: Buffer.from('wrong').toString('base64'),
      },
      maxAttempts: 1,
    });
    expect(await statusOf(wrong.upsertEntity({ partitionKey: 'p', rowKey: 'r' }, 'Replace'))).toBe(403);
  });

  it("runs the caller's policies once per operation, as the SDK's per-call policies: an injected 503 fails it", async () => {
    const { name } = await table();
    let calls = 0;
    let failNext = true;
    const injected: PipelinePolicy = {
      name: 'injected',
      sendRequest: (request, next) => {
        calls += 1;
        if (failNext) {
          failNext = false;
          throw new RestError('busy (injected)', { statusCode: 503, code: 'ServerBusy', request });
        }
        return next(request);
      },
    };
    const auth = testStorageAuth();
    const rest = new TableRest({
      endpoint: account().tableEndpoint,
      table: name,
      auth,
      policies: [injected],
    });
    expect(await statusOf(rest.upsertEntity({ partitionKey: 'p', rowKey: 'r', A: 1 }, 'Replace'))).toBe(503);
    expect(calls).toBe(1);
    await rest.upsertEntity({ partitionKey: 'p', rowKey: 'r', A: 1 }, 'Replace');
    expect((await rest.getEntity('p', 'r')).A).toBe(1);
    expect(calls).toBe(3);
  });
});
