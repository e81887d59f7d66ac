/** Lean Put Message to the app's queues, against Azurite (which checks the signatures), read back with the SDK. */
import { randomUUID } from 'node:crypto';
import { RestError } from '@azure/core-rest-pipeline';
import { QueueSASPermissions } from '@azure/storage-queue';
import { QueueRest } from '../../shared/upload/queueRest';
import { statusOf, testStorageAuth } from '../helpers/leanStorage';
import { account, queueService } from '../helpers/stack';

async function queue(): Promise<{ name: string; rest: QueueRest }> {
  const name = `lean-${randomUUID().slice(0, 12)}`;
  await queueService().getQueueClient(name).create();
  const auth = testStorageAuth();
  return { name, rest: new QueueRest({ endpoint: account().queueEndpoint, queue: name, auth }) };
}

describe('QueueRest', () => {
  it('puts a message the SDK receives as sent (XML special characters included)', async () => {
    const { name, rest } = await queue();
    const text = `{"a":"<b> & </b>","id":"${randomUUID()}"}`;
    await rest.sendMessage(text);
    const { receivedMessageItems } = await queueService().getQueueClient(name).receiveMessages();
    expect(receivedMessageItems.map((m) => m.messageText)).toEqual([text]);
  });

  it('keeps a message invisible for its visibility timeout', async () => {
    const { name, rest } = await queue();
    await rest.sendMessage('later', { visibilityTimeout: 60 });
    const client = queueService().getQueueClient(name);
    expect((await client.getProperties()).approximateMessagesCount).toBe(1);
    expect((await client.peekMessages()).peekedMessageItems).toEqual([]);
  });

  it('sends with a SAS instead of a key', async () => {
    const { name } = await queue();
    const client = queueService().getQueueClient(name);
    const sasUrl = client.generateSasUrl({
      permissions: QueueSASPermissions.parse('a'),
      expiresOn: new Date(Date.now() + 600_000),
    });
    const sas = sasUrl.split('?')[1] ?? '';
    const rest = new QueueRest({
      endpoint: account().queueEndpoint,
      queue: name,
      auth: { kind: 'sas', sas },
    });
    await rest.sendMessage('by sas', { visibilityTimeout: 1 });
    expect((await client.getProperties()).approximateMessagesCount).toBe(1);
  });

  it('is refused with 403 when the key is wrong, and 404 when the queue is not there', async () => {
    const { name } = await queue();
    const wrong = new QueueRest({
      endpoint: account().queueEndpoint,
      queue: name,
      auth: {
        kind: 'sharedKey',
        accountName: account().name,
        accountKey: Buffer.from('wrong').toString('base64'),
      },
      maxAttempts: 1,
    });
    expect(await statusOf(wrong.sendMessage('x'))).toBe(403);
    const auth = testStorageAuth();
    const missing = new QueueRest({
      endpoint: account().queueEndpoint,
      queue: `none-${randomUUID().slice(0, 8)}`,
      auth,
    });
    const error = await missing.sendMessage('x').then(
      () => undefined,
      (e: unknown) => e as RestError,
    );
    expect(error?.statusCode).toBe(404);
    expect(error?.code).toBe('QueueNotFound');
  });
});
