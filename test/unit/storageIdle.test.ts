import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { untilStorageIdle } from '../../bench/storageIdle';

/** A server that answers its first `slow` requests after `delayMs` (a stall), then at once. */
async function server(
  slow: number,
  delayMs: number,
): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const s: Server = createServer((_req, res) => {
    requests += 1;
    const answer = () => res.writeHead(403).end();
    if (requests <= slow) setTimeout(answer, delayMs);
    else answer();
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/devstoreaccount1`,
    requests: () => requests,
    close: () => new Promise((r) => s.close(() => r())),
  };
}

describe('untilStorageIdle (the benchmark waits out an Azurite stall before a run)', () => {
  it('waits through slow answers until several prompt ones in a row', async () => {
    const s = await server(3, 300);
    try {
      const result = await untilStorageIdle(s.url, { promptMs: 100, probes: 4, timeoutMs: 20_000 });
      expect(result.idle).toBe(true);
      expect(result.waitedMs).toBeGreaterThanOrEqual(900); // the three slow answers
      expect(s.requests()).toBe(3 + 4);
    } finally {
      await s.close();
    }
  });

  it('gives up after its timeout, and says so', async () => {
    const s = await server(1_000, 200);
    try {
      const result = await untilStorageIdle(s.url, { promptMs: 50, probes: 3, timeoutMs: 1_000 });
      expect(result.idle).toBe(false);
      expect(result.waitedMs).toBeGreaterThanOrEqual(1_000);
    } finally {
      await s.close();
    }
  });

  it('counts a refused connection as not idle', async () => {
    const s = await server(0, 0);
    const url = s.url;
    await s.close();
    expect(await untilStorageIdle(url, { probes: 2, timeoutMs: 600 })).toMatchObject({ idle: false });
  });
});
