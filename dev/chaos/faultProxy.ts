/**
 * A TCP-level HTTP proxy in front of one Azurite service that fails requests on a seeded schedule, so the
 * app's storage calls fail as they do in Azure: refused before they reach storage ("before": 503 ServerBusy),
 * or applied by storage with the answer lost ("after": the connection breaks, or 500 OperationTimedOut; the
 * client's retry meets its own write). A
 * Put Message is failed "after" only when `loseMessageAnswers` is on: the queue cannot tell a retried
 * message from a new one, so the app must not send one again blindly (it marks the source uncertain).
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
  /** Share of requests applied by storage whose answer is lost (a broken connection or a 500). */
  readonly after: number;
}

export interface FaultProxy {
  readonly port: number;
  rates: ProxyRates;
  /** Put Message too may be applied with its answer lost. @default false */
  loseMessageAnswers: boolean;
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

/**
 * An answer lost after storage applied the request, as it happens in Azure: the connection breaks, or
 * storage answers 500 OperationTimedOut ("may or may not have succeeded"). Never a 503: Azure Storage's
 * ServerBusy means the request was not carried out, and a client may send it again on that word.
 */
function lost(res: ServerResponse, reset: boolean): void {
  if (res.headersSent) return;
  if (reset) {
    res.destroy();
    return;
  }
  res.writeHead(500, { 'content-type': 'application/xml', 'x-ms-error-code': 'OperationTimedOut' });
  res.end(
    '<?xml version="1.0" encoding="utf-8"?><Error><Code>OperationTimedOut</Code><Message>injected by the chaos run: the operation may or may not have succeeded</Message></Error>',
  );
}

export async function startFaultProxy(targetPort: number, random: () => number): Promise<FaultProxy> {
  const counts = { passed: 0, failedBefore: 0, failedAfter: 0, unreachable: 0 };
  const proxy: { rates: ProxyRates; loseMessageAnswers: boolean } = {
    rates: { before: 0, after: 0 },
    loseMessageAnswers: false,
  };
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
      const failAfter =
        (proxy.loseMessageAnswers || !isPutMessage(req)) && roll < proxy.rates.before + proxy.rates.after;
      const upstream = httpRequest(
        { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          if (failAfter) {
            answer.resume();
            answer.on('end', () => {
              counts.failedAfter += 1;
              lost(res, random() < 0.5);
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
    get loseMessageAnswers() {
      return proxy.loseMessageAnswers;
    },
    set loseMessageAnswers(value: boolean) {
      proxy.loseMessageAnswers = value;
    },
    counts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
