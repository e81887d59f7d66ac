import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postWebhook } from '../../../shared/app/webhook';

/** A receiver on loopback that records what reaches it, and answers as told. */
function receiver(answer: (path: string) => { status: number; location?: string }) {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const { status, location } = answer(req.url ?? '');
    res.writeHead(status, location ? { location } : {});
    res.end();
  });
  return new Promise<{ url: string; hits: string[]; close: () => Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        hits,
        close: () => new Promise((done) => server.close(() => done())),
      });
    }),
  );
}

function collectingLogger() {
  const errors: string[] = [];
  const noop = () => undefined;
  return { errors, logger: { debug: noop, info: noop, warn: noop, error: (m: string) => errors.push(m) } };
}

describe('postWebhook', () => {
  it('does not follow a redirect, and does not retry it: the body stays where the settings send it', async () => {
    const r = await receiver((path) =>
      path === '/hook' ? { status: 307, location: '/elsewhere' } : { status: 200 },
    );
    const { errors, logger } = collectingLogger();
    try {
      const ok = await postWebhook(`${r.url}/hook`, '{}', logger, {
        sourceId: 's',
        event: 'IngestionFailed',
      });
      expect(ok).toBe(false);
      expect(r.hits).toEqual(['/hook']);
      expect(errors).toEqual([expect.stringMatching(/WebhookFailed.*redirect \(HTTP 307\)/)]);
    } finally {
      await r.close();
    }
  });

  it('posts once to a receiver that answers 2xx', async () => {
    const r = await receiver(() => ({ status: 204 }));
    const { errors, logger } = collectingLogger();
    try {
      expect(await postWebhook(`${r.url}/ok`, '{}', logger, { sourceId: 's', event: 'x' })).toBe(true);
      expect(r.hits).toEqual(['/ok']);
      expect(errors).toEqual([]);
    } finally {
      await r.close();
    }
  });
});
