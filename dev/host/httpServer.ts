import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { HttpRequest, HttpResponseInit, HttpTriggerOptions, InvocationContext } from '@azure/functions';
import { invocationContext } from './invocation';

export interface HttpFunction {
  readonly name: string;
  readonly options: Omit<HttpTriggerOptions, 'handler'>;
  readonly handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
}

/** The host's keys, when it enforces auth levels as Azure does (LocalHostOptions.keys). */
export interface HostKeys {
  /** The master key: every level, the admin API. */
  readonly master: string;
  /** A function key: level `function` only. */
  readonly function: string;
}

export interface HttpServerOptions {
  readonly functions: readonly HttpFunction[];
  /** Enforce each function's auth level with these keys (`code=` or `x-functions-key`); none: open. */
  readonly keys?: HostKeys | undefined;
  /** `POST /admin/functions/{name}`: runs a function that is not HTTP-triggered now. */
  readonly runFunction: (name: string, input: unknown) => Promise<void>;
  readonly port: number;
  readonly log: (line: string) => void;
}

export interface HttpServer {
  readonly url: string;
  /** Stops accepting; requests under way are answered first (closed after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** An error the host itself answers, in the API's error shape. */
class HostError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
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

const decode = (value: string, what: string): string => {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new HostError(
      400,
      'InvalidName',
      `The ${what} in the URL is not valid percent-encoding: encode it as UTF-8.`,
    );
  }
};

async function readJsonInput(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return (JSON.parse(text) as { input?: unknown }).input;
  } catch {
    throw new HostError(
      400,
      'InvalidProperty',
      'The admin body is not JSON: send { "input": ... } or nothing.',
    );
  }
}

/** The HTTP side of the local host: the functions' routes on one port, and the admin API. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { log } = options;
  const routes = options.functions.map((f) => ({ ...f, pattern: routePattern(f.options.route ?? f.name) }));

  /** Whether the request's key opens a function of this level (Azure: 401, no body, otherwise). */
  function keyOpens(req: IncomingMessage, url: URL, level: string): boolean {
    const keys = options.keys;
    if (!keys || level === 'anonymous') return true;
    const header = req.headers['x-functions-key'];
    const key = (typeof header === 'string' ? header : undefined) ?? url.searchParams.get('code');
    if (key === null) return false;
    return key === keys.master || (level === 'function' && key === keys.function);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const admin = /^\/admin\/functions\/([^/]+)$/.exec(url.pathname);
    if (admin && req.method === 'POST') {
      if (!keyOpens(req, url, 'admin')) {
        send(res, 401, undefined);
        return;
      }
      const name = decode(admin[1] ?? '', 'function name');
      await options.runFunction(name, await readJsonInput(req));
      send(res, 202, { function: name, status: 'completed' });
      return;
    }
    const matches = routes.filter((r) => r.pattern.test(url.pathname));
    if (matches.length === 0)
      throw new HostError(
        404,
        'RouteNotFound',
        `No function answers ${url.pathname}: the README lists the routes.`,
      );
    const route = matches.find((r) =>
      (r.options.methods ?? ['GET', 'POST']).includes((req.method ?? 'GET') as never),
    );
    if (!route)
      throw new HostError(405, 'MethodNotAllowed', `${req.method ?? ''} is not allowed on ${url.pathname}.`);
    if (!keyOpens(req, url, route.options.authLevel ?? 'function')) {
      send(res, 401, undefined);
      return;
    }
    const params = Object.fromEntries(
      Object.entries(route.pattern.exec(url.pathname)?.groups ?? {}).map(([k, v]) => [k, decode(v, k)]),
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
    const response = await route.handler(
      request as unknown as HttpRequest,
      invocationContext(route.name, log),
    );
    const extra = Object.fromEntries(
      new Headers(response.headers as ConstructorParameters<typeof Headers>[0]).entries(),
    );
    // Answered before the body was read to its end (a 413, a refusal): the rest of it is still on the
    // socket, so the socket is closed with the answer, never handed back to keep-alive (the client's next
    // request on it would wait behind the unread bytes until the socket was reset). Node ends a socket
    // whose answer says `connection: close` once the answer is written.
    if (hasBody && !req.readableEnded) extra.connection = 'close';
    send(res, response.status ?? 200, response.jsonBody ?? (response.body as string | undefined), extra);
  }

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return;
      if (e instanceof HostError) {
        send(res, e.status, { error: { code: e.code, message: e.message } });
        return;
      }
      log(`[host] ${(e as Error).stack ?? String(e)}`);
      send(res, 500, { error: { code: 'InternalError', message: 'The host failed to run the function.' } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async (graceMs = 30_000) => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(grace);
    },
  };
}

export { HostError };
