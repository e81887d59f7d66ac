import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  createHttpHeaders,
  RestError,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';

/**
 * The HTTP client under `StorageRest`'s pipeline: one `node:http(s)` request per call, the whole answer read
 * as text (storage answers on the hot path are empty or a few hundred bytes). The runtime's default client
 * wraps every request in an AbortController, stream plumbing for progress, expect-continue and
 * decompression, and a clean-up promise chain: for 1 KB files that cost more CPU than our own code
 * (bench/README.md, Profiles). Failures keep the default client's shapes, which `classify` and
 * `mayHaveBeenApplied` read: a `RestError` whose `code` is the system error's (`ECONNRESET`), and an
 * `AbortError` for a timeout or the caller's abort.
 */
export class LeanHttpClient implements HttpClient {
  sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const signal = request.abortSignal;
    if (signal?.aborted) return Promise.reject(abortError('The operation was aborted before it was sent.'));
    const body = request.body;
    if (body !== undefined && body !== null && typeof body !== 'string' && !Buffer.isBuffer(body)) {
      return Promise.reject(new RestError('LeanHttpClient sends strings and Buffers only', { request }));
    }
    return new Promise<PipelineResponse>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (error: Error | undefined, response?: PipelineResponse): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(response as PipelineResponse);
      };
      const onResponse = (res: IncomingMessage): void => {
        const headers = createHttpHeaders();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        const response: PipelineResponse = { status: res.statusCode ?? 0, headers, request };
        if (request.method === 'HEAD') {
          res.resume();
          res.once('end', () => finish(undefined, response));
        } else {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('end', () => {
            response.bodyAsText = chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8');
            finish(undefined, response);
          });
        }
        res.once('error', (e) => finish(sendError(e, request)));
        res.once('aborted', () => finish(sendError(connectionReset(), request)));
      };
      const send = request.url.startsWith('https:') ? httpsRequest : httpRequest;
      const req = send(
        request.url,
        {
          method: request.method,
          headers: request.headers.toJSON(),
          agent: request.agent as Agent | undefined,
        },
        onResponse,
      );
      const onAbort = (): void => {
        const error = abortError('The operation was aborted.');
        req.destroy(error);
        finish(error);
      };
      req.once('error', (e) => finish(sendError(e, request)));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (request.timeout > 0) {
        timer = setTimeout(() => {
          const error = abortError(`The request timed out after ${request.timeout} ms.`);
          req.destroy(error);
          finish(error);
        }, request.timeout);
      }
      req.end(body ?? undefined);
    });
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
function sendError(error: Error, request: PipelineRequest): Error {
  if (error.name === 'AbortError' || error instanceof RestError) return error;
  const code = (error as { code?: unknown }).code;
  return new RestError(error.message, {
    code: typeof code === 'string' ? code : RestError.REQUEST_SEND_ERROR,
    request,
  });
}
