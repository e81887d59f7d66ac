import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RestError } from '@azure/core-rest-pipeline';
import { parseStorageResourceUrl } from '../../../shared/resources/storageUrl';
import { StorageRest } from '../../../shared/upload/storageRest';

/** A server that records each request line and answers with `status` (a forward proxy or the service). */
async function recorder(
  status: number,
  headers: Record<string, string> = {},
): Promise<{ port: number; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const s: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => res.writeHead(status, headers).end('<Error><Message>nope</Message></Error>'));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}

describe('StorageRest: straight out, or through a proxy when the environment names one', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const n of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy'])
      if (saved[n] === undefined) Reflect.deleteProperty(process.env, n);
      else process.env[n] = saved[n];
  });

  it('sends a request through HTTP_PROXY when it is set (the proxy sees the absolute URL)', async () => {
    const proxy = await recorder(201);
    process.env.HTTP_PROXY = `http://127.0.0.1:${proxy.port}`;
    try {
      const rest = new StorageRest();
      const queue = parseStorageResourceUrl('http://acct.queue.storage.invalid/q1?sv=1&sig=secret');
      await rest.putMessage(queue, 'hello');
      expect(proxy.seen).toEqual(['POST http://acct.queue.storage.invalid/q1/messages?sv=1&sig=secret']);
    } finally {
      await proxy.close();
    }
  });

  it('sends straight to the service without one, and a refusal keeps its status and Retry-After', async () => {
    delete process.env.HTTP_PROXY;
    delete process.env.http_proxy;
    delete process.env.ALL_PROXY;
    delete process.env.all_proxy;
    const service = await recorder(503, { 'x-ms-error-code': 'ServerBusy', 'retry-after': '3' });
    try {
      const rest = new StorageRest();
      const queue = parseStorageResourceUrl(`http://127.0.0.1:${service.port}/acct/q1?sv=1`);
      const error = await rest.putMessage(queue, 'hello').catch((e: unknown) => e);
      expect(service.seen).toEqual(['POST /acct/q1/messages?sv=1']);
      expect(error).toBeInstanceOf(RestError);
      expect(error).toMatchObject({ statusCode: 503, code: 'ServerBusy', message: 'ServerBusy: nope' });
      expect((error as RestError).response?.headers.get('retry-after')).toBe('3');
    } finally {
      await service.close();
    }
  });
});
