/**
 * A TCP-level HTTP proxy in front of one Azurite service that fails requests on a seeded schedule, so the
 * app's storage calls fail as they do in Azure: refused before they reach storage ("before"), or applied by
 * storage with the answer lost ("after": the client sees an error and its retry meets its own write). A
 * Put Message is never failed "after": the queue has no way to tell a retried message from a new one.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyRates {
  /** Share of requests answered 503 without reaching storage. */
  readonly before: number;
  /** Share of (retry-safe) requests applied by storage, then answered 503. */
  readonly after: number;
}

export interface FaultProxy {
  readonly port: number;
  rates: ProxyRates;
  readonly counts: { passed: number; failedBefore: number; failedAfter: number; unreachable: number };
  stop(): Promise<void>;
}

/** A small seeded generator (mulberry32): the same seed, the same faults. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isPutMessage = (req: IncomingMessage): boolean =>
  req.method === 'POST' && /\/messages(\?|$)/.test(req.url ?? '');

function busy(res: ServerResponse): void {
  if (res.headersSent) return;
  res.writeHead(503, { 'content-type': 'application/xml', 'x-ms-error-code': 'ServerBusy' });
  res.end(
    '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>injected by the chaos run</Message></Error>',
  );
}

export async function startFaultProxy(targetPort: number, random: () => number): Promise<FaultProxy> {
  const counts = { passed: 0, failedBefore: 0, failedAfter: 0, unreachable: 0 };
  const proxy: { rates: ProxyRates } = { rates: { before: 0, after: 0 } };
  const server: Server = createServer((req, res) => {
    const roll = random();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (roll < proxy.rates.before) {
        counts.failedBefore += 1;
        busy(res);
        return;
      }
      const failAfter = !isPutMessage(req) && roll < proxy.rates.before + proxy.rates.after;
      const upstream = httpRequest(
        { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          if (failAfter) {
            answer.resume();
            answer.on('end', () => {
              counts.failedAfter += 1;
              busy(res);
            });
            return;
          }
          counts.passed += 1;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (e) => {
        if (process.env.CHAOS_DEBUG)
          console.error('proxy upstream error', targetPort, req.method, req.url, e.message);
        // Storage is down (restarting): the client sees the connection fail, as it would in Azure.
        counts.unreachable += 1;
        res.destroy();
      });
      upstream.end(Buffer.concat(chunks));
    });
  });
  server.keepAliveTimeout = 4_000; // under Azurite's 5 s, as clients expect of storage
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get rates() {
      return proxy.rates;
    },
    set rates(value: ProxyRates) {
      proxy.rates = value;
    },
    counts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
