import { Agent as HttpAgent, request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  proxyPolicy,
  type HttpMethods,
  type Pipeline,
  type PipelinePolicy,
  type HttpHeaders,
  RestError,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
  type RawHttpHeaders,
} from '@azure/core-rest-pipeline';

/**
 * A kept-alive socket idle this long is closed by us rather than reused. Servers close idle connections
 * (Node's own http server after 5 s, as Azurite does; load balancers after minutes), and a request written
 * to a socket the server just closed fails with ECONNRESET before the server saw it: for Put Message, a
 * failure that cannot be told from one after the message was stored, so the source is left uncertain for the
 * sweep. A new connection after a quiet spell costs one handshake.
 */
export const IDLE_SOCKET_TIMEOUT_MS = 4_000;

// A free socket is destroyed on its timeout (Node's agent does so).
const agents = {
  http: new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS }),
  https: new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS }),
};

/** One request as `sendLean` takes it: what a storage call needs, nothing per request to build or order. */
export interface LeanRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer | undefined;
  /** Milliseconds; 0 for none. */
  readonly timeout: number;
  readonly abortSignal?: AbortSignal | undefined;
  /** A proxy's agent; by default ours, which close idle sockets (IDLE_SOCKET_TIMEOUT_MS). */
  readonly agent?: Agent | undefined;
}

export interface LeanResponse {
  readonly status: number;
  readonly headers: HttpHeaders;
  /** The whole answer as text; undefined for a HEAD. */
  readonly bodyAsText?: string | null | undefined;
}

/**
 * One `node:http(s)` request, the whole answer read as text (storage answers on the hot path are empty or a
 * few hundred bytes). The runtime's default client wraps every request in an AbortController, stream
 * plumbing for progress, expect-continue and decompression, and a clean-up promise chain: for 1 KB files
 * that cost more CPU than our own code (bench/README.md, Profiles). Failures keep the default client's
 * shapes, which `classify` and `mayHaveBeenApplied` read: a `RestError` whose `code` is the system error's
 * (`ECONNRESET`), and an `AbortError` for a timeout or the caller's abort.
 */
export function sendLean(request: LeanRequest): Promise<LeanResponse> {
  const signal = request.abortSignal;
  if (signal?.aborted) return Promise.reject(abortError('The operation was aborted before it was sent.'));
  return new Promise<LeanResponse>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error: Error | undefined, response?: LeanResponse): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(response as LeanResponse);
    };
    const onResponse = (res: IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      const headers = new LazyHeaders(res.rawHeaders);
      if (request.method === 'HEAD') {
        res.resume();
        res.once('end', () => finish(undefined, { status, headers, bodyAsText: undefined }));
      } else {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => {
          const bodyAsText = chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8');
          finish(undefined, { status, headers, bodyAsText });
        });
      }
      res.once('error', (e) => finish(sendError(e)));
      res.once('aborted', () => finish(sendError(connectionReset())));
    };
    const secure = request.url.startsWith('https:');
    const req = (secure ? httpsRequest : httpRequest)(
      request.url,
      {
        method: request.method,
        headers: request.headers,
        agent: request.agent ?? (secure ? agents.https : agents.http),
      },
      onResponse,
    );
    const onAbort = (): void => {
      const error = abortError('The operation was aborted.');
      req.destroy(error);
      finish(error);
    };
    req.once('error', (e) => finish(sendError(e)));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (request.timeout > 0) {
      timer = setTimeout(() => {
        const error = abortError(`The request timed out after ${request.timeout} ms.`);
        req.destroy(error);
        finish(error);
      }, request.timeout);
    }
    req.end(request.body);
  });
}

/**
 * `sendLean` as a pipeline's HTTP client: for `StorageRest` when policies run (a proxy, fault injection in
 * tests), and under the app's SDK table clients (their queries and the backfill store), whose requests are
 * small strings too. Strings and Buffers only, answers read whole: not for blob downloads.
 */
export class LeanHttpClient implements HttpClient {
  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const body = request.body;
    if (body !== undefined && body !== null && typeof body !== 'string' && !Buffer.isBuffer(body)) {
      throw new RestError('LeanHttpClient sends strings and Buffers only', { request });
    }
    const response = await sendLean({
      method: request.method,
      url: request.url,
      headers: request.headers.toJSON(),
      body: body ?? undefined,
      timeout: request.timeout,
      // AbortSignalLike has what sendLean uses: aborted and the abort listeners.
      abortSignal: request.abortSignal as AbortSignal | undefined,
      agent: request.agent as Agent | undefined,
    });
    return { ...response, request };
  }
}

function abortError(message: string): Error {
  const error = new Error(message);
  error.name = 'AbortError';
  return error;
}

function connectionReset(): Error {
  return Object.assign(new Error('The connection was closed before the answer ended.'), {
    code: 'ECONNRESET',
  });
}

/** A system error as the default client reports it: a RestError carrying the system code. */
function sendError(error: Error): Error {
  if (error.name === 'AbortError' || error instanceof RestError) return error;
  const code = (error as { code?: unknown }).code;
  return new RestError(error.message, {
    code: typeof code === 'string' ? code : RestError.REQUEST_SEND_ERROR,
  });
}

/**
 * A response's headers, parsed from Node's raw list only when read: the hot path reads none on success, and
 * building `IncomingMessage.headers` and then a header map per response was a tenth of this client's CPU.
 */
class LazyHeaders implements HttpHeaders {
  private parsed: HttpHeaders | undefined;

  constructor(private readonly raw: readonly string[]) {}

  private map(): HttpHeaders {
    if (this.parsed === undefined) {
      const headers = createHttpHeaders();
      for (let i = 0; i + 1 < this.raw.length; i += 2) {
        const name = this.raw[i] as string;
        const value = this.raw[i + 1] as string;
        const before = headers.get(name);
        headers.set(name, before === undefined ? value : `${before}, ${value}`);
      }
      this.parsed = headers;
    }
    return this.parsed;
  }

  get(name: string): string | undefined {
    return this.map().get(name);
  }
  has(name: string): boolean {
    return this.map().has(name);
  }
  set(name: string, value: string | number | boolean): void {
    this.map().set(name, value);
  }
  delete(name: string): void {
    this.map().delete(name);
  }
  toJSON(options?: { preserveCase?: boolean }): RawHttpHeaders {
    return this.map().toJSON(options);
  }
  [Symbol.iterator](): Iterator<[string, string]> {
    return this.map()[Symbol.iterator]();
  }
}

/** Whether the environment names a proxy, as the pipeline's proxy policy reads it (either case). */
function proxyConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['HTTPS_PROXY', 'ALL_PROXY', 'HTTP_PROXY'].some((n) => Boolean(env[n] ?? env[n.toLowerCase()]));
}

/**
 * A pipeline for lean requests only when it has work: the environment's proxy (its policy sets the
 * request's agent), then the caller's policies. Undefined otherwise: a pipeline costs a request object, a
 * header map and a promise per policy for every call, a tenth of our CPU per 1 KB file (bench/README.md,
 * Profiles).
 */
export function leanPipeline(policies: readonly PipelinePolicy[] = []): Pipeline | undefined {
  if (policies.length === 0 && !proxyConfigured()) return undefined;
  const pipeline = createEmptyPipeline();
  pipeline.addPolicy(proxyPolicy());
  for (const policy of policies) pipeline.addPolicy(policy);
  return pipeline;
}

/**
 * A storage answer of 300 or more as the SDKs report it: a `RestError` with the status, the service's code
 * (`x-ms-error-code`, else the OData error's) and its message (XML `<Message>` for blobs and queues, OData
 * JSON for tables), the URL without its query (a SAS never reaches an error).
 */
export function failedAsError(response: LeanResponse, method: HttpMethods, url: string): LeanResponse {
  if (response.status < 300) return response;
  const body = response.bodyAsText ?? '';
  let code = response.headers.get('x-ms-error-code');
  let message = /<Message>([\s\S]*?)<\/Message>/.exec(body)?.[1];
  if (message === undefined && body.startsWith('{')) {
    try {
      const error = (JSON.parse(body) as { 'odata.error'?: { code?: string; message?: { value?: string } } })[
        'odata.error'
      ];
      code ??= error?.code;
      message = error?.message?.value;
    } catch {
      // not JSON after all: the status says enough
    }
  }
  const request = createPipelineRequest({ url: url.split('?')[0] ?? url, method });
  throw new RestError(`${code ? `${code}: ` : ''}${message?.split('\n')[0] ?? `HTTP ${response.status}`}`, {
    code,
    statusCode: response.status,
    request,
    response: { ...response, request },
  });
}
