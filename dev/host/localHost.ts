/**
 * A local stand-in for the Azure Functions host (Core Tools cannot be installed here): it drives the very
 * handlers and trigger options that `functions/*.ts` export. HTTP on a port with the same routes, the queue
 * trigger with the host's retry and poison semantics, the timer, and `POST /admin/functions/{name}`.
 * Outside the real host `app.*` registers nothing, so this reads the exports instead.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  InvocationContext,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type Timer,
} from '@azure/functions';
import { QueueClient } from '@azure/storage-queue';
import { CronExpressionParser } from 'cron-parser';
import * as health from '../../functions/health';
import * as ingestBlobs from '../../functions/ingestBlobs';
import * as ingestHttp from '../../functions/ingestHttp';
import * as ingestLanding from '../../functions/ingestLanding';
import * as ingestStatus from '../../functions/ingestStatus';
import * as sweepStatus from '../../functions/sweepStatus';

type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
interface HttpFunction {
  readonly name: string;
  readonly options: Omit<HttpTriggerOptions, 'handler'>;
  readonly handler: HttpHandler;
}

const HTTP_FUNCTIONS: readonly HttpFunction[] = [
  { name: 'ingestBlobs', options: ingestBlobs.options, handler: ingestBlobs.handler },
  { name: 'ingestHttp', options: ingestHttp.options, handler: ingestHttp.handler },
  { name: 'ingestStatus', options: ingestStatus.options, handler: ingestStatus.handler },
  { name: 'health', options: health.options, handler: health.handler },
];

export interface LocalHostOptions {
  /** @default 7071 (HOST_PORT); 0 picks a free port */
  readonly port?: number;
  /** Queue trigger settings, as host.json has them. @default 500 ms polling, 30 s visibility, 5 tries */
  readonly queuePollIntervalMs?: number;
  readonly visibilityTimeoutSeconds?: number;
  readonly maxDequeueCount?: number;
  /** Run the timer trigger on its schedule. @default true */
  readonly timer?: boolean;
  readonly log?: (line: string) => void;
}

export interface LocalHost {
  readonly url: string;
  /** Runs a function now, as the host's admin API does. */
  runFunction(name: string, input?: unknown): Promise<void>;
  stop(): Promise<void>;
}

/** A route template such as `ingest/{database}/{table}` as a regex with named groups. */
export function routePattern(route: string): RegExp {
  const source = route
    .split('/')
    .map((part) => {
      const param = /^\{(\w+)\}$/.exec(part);
      return param ? `(?<${param[1] ?? 'p'}>[^/]+)` : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^/api/${source}$`);
}

function context(functionName: string, log: (line: string) => void): InvocationContext {
  return new InvocationContext({
    functionName,
    invocationId: randomUUID(),
    logHandler: (level, ...args) =>
      log(
        `[${functionName}] ${level}: ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`,
      ),
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    ...(body !== undefined &&
      typeof body !== 'string' && { 'content-type': 'application/json; charset=utf-8' }),
    ...headers,
  });
  res.end(text);
}

export async function startLocalHost(options: LocalHostOptions = {}): Promise<LocalHost> {
  const log = options.log ?? ((line: string) => console.log(line));
  const routes = HTTP_FUNCTIONS.map((f) => ({ ...f, pattern: routePattern(f.options.route ?? f.name) }));

  const runFunction = async (name: string, input?: unknown): Promise<void> => {
    if (name === 'sweepStatus') {
      const timer: Timer = {
        isPastDue: false,
        schedule: { adjustForDST: false },
        scheduleStatus: { last: '', next: '', lastUpdated: '' },
      };
      return sweepStatus.handler(timer, context(name, log));
    }
    if (name === 'ingestLanding') return ingestLanding.handler(input, context(name, log));
    throw Object.assign(
      new Error(`No function named '${name}' runs on a trigger: use sweepStatus or ingestLanding.`),
      { status: 404 },
    );
  };

  const server: Server = createServer((req, res) => {
    void handleHttp(req, res).catch((e: unknown) => {
      log(`[host] ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent)
        send(res, 500, { error: { code: 'InternalError', message: 'The host failed to run the function.' } });
    });
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const admin = /^\/admin\/functions\/([^/]+)$/.exec(url.pathname);
    if (admin && req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
      const text = Buffer.concat(chunks).toString('utf8');
      const input = text ? ((JSON.parse(text) as { input?: unknown }).input ?? undefined) : undefined;
      try {
        await runFunction(decodeURIComponent(admin[1] ?? ''), input);
        send(res, 202, { function: admin[1], status: 'completed' });
        return;
      } catch (e) {
        const status = (e as { status?: number }).status ?? 500;
        send(res, status, { function: admin[1], status: 'failed', error: (e as Error).message });
        return;
      }
    }
    const matches = routes.filter((r) => r.pattern.test(url.pathname));
    if (matches.length === 0) {
      send(res, 404, {
        error: {
          code: 'RouteNotFound',
          message: `No function answers ${url.pathname}: see the README for the routes.`,
        },
      });
      return;
    }
    const route = matches.find((r) =>
      (r.options.methods ?? ['GET', 'POST']).includes((req.method ?? 'GET') as never),
    );
    if (!route) {
      send(res, 405, {
        error: {
          code: 'MethodNotAllowed',
          message: `${req.method ?? ''} is not allowed on ${url.pathname}.`,
        },
      });
      return;
    }
    const params = Object.fromEntries(
      Object.entries(route.pattern.exec(url.pathname)?.groups ?? {}).map(([k, v]) => [
        k,
        decodeURIComponent(v),
      ]),
    );
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    // The narrow request of docs/contracts.md ('The HTTP API'): the body streams straight from the socket.
    const request = {
      method: req.method ?? 'GET',
      url: url.toString(),
      headers,
      query: url.searchParams,
      params,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : null,
    };
    const response = await route.handler(request as unknown as HttpRequest, context(route.name, log));
    const extra = Object.fromEntries(
      new Headers(response.headers as ConstructorParameters<typeof Headers>[0]).entries(),
    );
    send(res, response.status ?? 200, response.jsonBody ?? (response.body as string | undefined), extra);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? Number(process.env.HOST_PORT ?? 7071), '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;

  // The queue trigger: host.json semantics (visibility timeout between tries, poison after maxDequeueCount).
  const state = { running: true };
  const queueName = ingestLanding.options.queueName;
  const connectionSetting = ingestLanding.options.connection;
  const connection = process.env[connectionSetting];
  if (!connection)
    throw new Error(
      `${connectionSetting} is not set: the local host needs a connection string for the landing queue.`,
    );
  const queue = new QueueClient(connection, queueName);
  const poison = new QueueClient(connection, `${queueName}-poison`);
  await Promise.all([queue.createIfNotExists(), poison.createIfNotExists()]);
  const maxDequeueCount = options.maxDequeueCount ?? 5;
  const visibility = options.visibilityTimeoutSeconds ?? 30;
  const queueLoop = (async () => {
    while (state.running) {
      try {
        const { receivedMessageItems } = await queue.receiveMessages({
          numberOfMessages: 16,
          visibilityTimeout: 300,
        });
        await Promise.all(
          receivedMessageItems.map(async (m) => {
            const text = Buffer.from(m.messageText, 'base64').toString('utf8');
            let input: unknown = text;
            try {
              input = JSON.parse(text);
            } catch {
              // not JSON: the function gets the text, as the host would pass it
            }
            try {
              await ingestLanding.handler(input, context('ingestLanding', log));
              await queue.deleteMessage(m.messageId, m.popReceipt);
            } catch (e) {
              log(
                `[ingestLanding] error (try ${m.dequeueCount} of ${maxDequeueCount}): ${(e as Error).message}`,
              );
              if (m.dequeueCount >= maxDequeueCount) {
                await poison.sendMessage(m.messageText);
                await queue.deleteMessage(m.messageId, m.popReceipt);
              } else {
                await queue.updateMessage(m.messageId, m.popReceipt, undefined, visibility);
              }
            }
          }),
        );
        if (receivedMessageItems.length === 0) await sleep(options.queuePollIntervalMs ?? 500);
      } catch (e) {
        log(`[host] queue trigger: ${(e as Error).message}`);
        await sleep(1000);
      }
    }
  })();

  // The timer trigger, on its NCRONTAB schedule (UTC).
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    const next = CronExpressionParser.parse(sweepStatus.options.schedule, { tz: 'UTC' }).next().getTime();
    timer = setTimeout(
      () => {
        void runFunction('sweepStatus')
          .catch((e: unknown) => log(`[sweepStatus] error: ${(e as Error).message}`))
          .finally(() => {
            if (state.running) schedule();
          });
      },
      Math.max(0, next - Date.now()),
    );
  };
  if (options.timer ?? true) schedule();

  return {
    url: `http://127.0.0.1:${port}`,
    runFunction,
    stop: async () => {
      state.running = false;
      clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await queueLoop;
    },
  };
}
