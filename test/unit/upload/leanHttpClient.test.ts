import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createHttpHeaders, createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { LeanHttpClient } from '../../../shared/upload/leanHttpClient';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

async function serve(handler: Handler): Promise<{ url: string; close: () => Promise<void> }> {
  const s: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}

describe('LeanHttpClient (the HTTP client under StorageRest)', () => {
  const client = new LeanHttpClient();

  it('sends the method, headers and body, and reads status, headers and text', async () => {
    let seen: { method?: string; header?: string | string[]; body?: string } = {};
    const s = await serve((req, res, body) => {
      seen = { method: req.method, header: req.headers['x-ms-test'], body: body.toString() };
      res.writeHead(201, { etag: '"0x1"', 'x-ms-request-id': 'r1' }).end('<ok/>');
    });
    try {
      const request = createPipelineRequest({
        url: `${s.url}/c/b`,
        method: 'PUT',
        headers: createHttpHeaders({ 'x-ms-test': 'yes' }),
        body: Buffer.from('payload'),
      });
      const response = await client.sendRequest(request);
      expect(seen).toEqual({ method: 'PUT', header: 'yes', body: 'payload' });
      expect(response.status).toBe(201);
      expect(response.headers.get('etag')).toBe('"0x1"');
      expect(response.bodyAsText).toBe('<ok/>');
      expect(response.request).toBe(request);
    } finally {
      await s.close();
    }
  });

  it('reads headers by any case, a repeated header joined, and iterates them', async () => {
    const s = await serve((_req, res) => {
      res.setHeader('x-ms-twice', ['a', 'b']);
      res.writeHead(200, { 'X-Ms-Error-Code': 'None' }).end();
    });
    try {
      const response = await client.sendRequest(createPipelineRequest({ url: s.url }));
      expect(response.headers.get('x-ms-error-code')).toBe('None');
      expect(response.headers.has('X-MS-ERROR-CODE')).toBe(true);
      expect(response.headers.get('x-ms-twice')).toBe('a, b');
      expect(new Map(response.headers).get('x-ms-twice')).toBe('a, b');
      expect(response.headers.toJSON()['x-ms-error-code']).toBe('None');
    } finally {
      await s.close();
    }
  });

  it('answers a HEAD with headers and no body', async () => {
    const s = await serve((_req, res) => res.writeHead(200, { 'content-length': '42' }).end());
    try {
      const response = await client.sendRequest(createPipelineRequest({ url: s.url, method: 'HEAD' }));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('42');
    } finally {
      await s.close();
    }
  });

  it('reports a timeout as an AbortError that names the timeout', async () => {
    const s = await serve((_req, res) => setTimeout(() => res.end(), 2_000).unref());
    try {
      const request = createPipelineRequest({ url: s.url, method: 'GET', timeout: 100 });
      await expect(client.sendRequest(request)).rejects.toMatchObject({
        name: 'AbortError',
        message: expect.stringContaining('100 ms') as unknown,
      });
    } finally {
      await s.close();
    }
  });

  it("reports the caller's abort as an AbortError, before and during the request", async () => {
    const s = await serve((_req, res) => setTimeout(() => res.end(), 2_000).unref());
    try {
      const early = new AbortController();
      early.abort();
      await expect(
        client.sendRequest(createPipelineRequest({ url: s.url, abortSignal: early.signal })),
      ).rejects.toMatchObject({ name: 'AbortError' });
      const late = new AbortController();
      const pending = client.sendRequest(createPipelineRequest({ url: s.url, abortSignal: late.signal }));
      setTimeout(() => late.abort(), 50);
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      await s.close();
    }
  });

  it('reports a connection cut mid-answer as a RestError with ECONNRESET (the request may have been applied)', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    try {
      const error = await client.sendRequest(createPipelineRequest({ url: s.url })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RestError);
      expect((error as RestError).code).toBe('ECONNRESET');
    } finally {
      await s.close();
    }
  });

  it('reports a refused connection as a RestError carrying the system code', async () => {
    const s = await serve((_req, res) => res.end());
    const url = s.url;
    await s.close();
    const error = await client.sendRequest(createPipelineRequest({ url })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RestError);
    expect((error as RestError).code).toBe('ECONNREFUSED');
  });

  it('refuses a streamed body with a clear error (the hot path sends strings and Buffers)', async () => {
    const request = createPipelineRequest({ url: 'http://127.0.0.1:9/', method: 'PUT' });
    request.body = () => Readable.from(['x']);
    await expect(client.sendRequest(request)).rejects.toThrow(/strings and Buffers only/);
  });
});
