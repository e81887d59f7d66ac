import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import {
  IngestAuthError,
  IngestServiceError,
  IngestThrottledError,
  IngestTransientError,
  KustoRestClient,
} from '../../shared';
import { freePort } from '../../dev/azurite';

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Reply = { status: number; body?: string; headers?: Record<string, string> };

/** A real HTTP server on loopback that records requests and answers what each test scripts. */
class ScriptedServer {
  readonly seen: Seen[] = [];
  metadata: Reply = { status: 404 };
  mgmt: Reply = {
    status: 200,
    body: JSON.stringify({
      Tables: [{ TableName: 'Table_0', Columns: [{ ColumnName: 'A' }], Rows: [['x']] }],
    }),
  };
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        const reply = req.url === '/v1/rest/auth/metadata' ? this.metadata : this.mgmt;
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body ?? '');
      });
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

class RecordingCredential implements TokenCredential {
  readonly scopes: string[] = [];
  constructor(private readonly fail?: Error) {}
  getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken | null> {
    this.scopes.push(...(Array.isArray(scopes) ? scopes : [scopes]));
    if (this.fail) return Promise.reject(this.fail);
    return Promise.resolve({ token: 'secret-token-value', expiresOnTimestamp: Date.now() + 3_600_000 });
  }
}

let server: ScriptedServer;
beforeEach(async () => {
  server = new ScriptedServer();
  await server.start();
});
afterEach(async () => {
  await server.stop();
});

const oneApiError = (code: string, message: string, permanent: boolean): string =>
  JSON.stringify({
    error: { code, message: 'Request is invalid', '@message': message, '@permanent': permanent },
  });

describe('KustoRestClient on the wire', () => {
  it('posts {db, csl} to /v1/rest/mgmt with the standard headers and parses the v1 tables', async () => {
    const client = new KustoRestClient({ baseUrl: `${server.url}/ignored/path`, applicationName: 'my-app' });
    const tables = await client.executeMgmt('NetDefaultDB', '.get ingestion resources');
    expect(tables).toEqual([{ tableName: 'Table_0', columns: ['A'], rows: [['x']] }]);
    const request = server.seen.find((r) => r.path === '/v1/rest/mgmt');
    expect(request?.method).toBe('POST');
    expect(JSON.parse(request?.body ?? '')).toEqual({ db: 'NetDefaultDB', csl: '.get ingestion resources' });
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.headers['x-ms-app']).toBe('my-app');
    expect(request?.headers['x-ms-client-request-id']).toMatch(/^KIF\.execute;[0-9a-f-]{36}$/);
    expect(request?.headers['x-ms-client-version']).toMatch(
      /^Kusto\.Ingest\.Functions:\{[\w.]+\}\|Runtime\.Node:\{v[\w.]+\}$/,
    );
    expect(request?.headers.authorization).toBeUndefined(); // no credential: local use
  });

  it('sends a bearer token for the scope the cluster names in its auth metadata', async () => {
    server.metadata = {
      status: 200,
      body: JSON.stringify({
        AzureAD: { KustoServiceResourceId: 'https://kusto.sovereign.example', LoginMfaRequired: false },
      }),
    };
    const credential = new RecordingCredential();
    const client = new KustoRestClient({ baseUrl: server.url, credential });
    await client.executeMgmt('NetDefaultDB', '.show version');
    await client.executeMgmt('NetDefaultDB', '.show version');
    expect(credential.scopes).toEqual([
      'https://kusto.sovereign.example/.default',
      'https://kusto.sovereign.example/.default',
    ]);
    expect(server.seen.filter((r) => r.path === '/v1/rest/auth/metadata')).toHaveLength(1); // read once
    expect(server.seen.find((r) => r.path === '/v1/rest/mgmt')?.headers.authorization).toBe(
      'Bearer secret-token-value',
    );
  });

  it('falls back to the public-cloud scope when the metadata endpoint answers 404', async () => {
    const credential = new RecordingCredential();
    await new KustoRestClient({ baseUrl: server.url, credential }).executeMgmt('db', '.show version');
    expect(credential.scopes).toEqual(['https://kusto.kusto.windows.net/.default']);
  });

  it('turns a credential failure into an auth error that never carries a token', async () => {
    const client = new KustoRestClient({
      baseUrl: server.url,
      credential: new RecordingCredential(new Error('no managed identity here')),
    });
    const error = await client.executeMgmt('db', '.show version').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestAuthError);
    expect((error as IngestAuthError).message).toMatch(/no managed identity here/);
    expect(server.seen.filter((r) => r.path === '/v1/rest/mgmt')).toHaveLength(0);
  });

  it.each([
    [429, { 'retry-after': '3' }, IngestThrottledError, 'Throttled', true],
    [503, {}, IngestTransientError, 'ServiceUnavailable', true],
    [500, {}, IngestTransientError, 'ServiceUnavailable', true],
    [408, {}, IngestTransientError, 'ServiceUnavailable', true],
    [401, {}, IngestAuthError, 'Unauthorized', false],
    [403, {}, IngestAuthError, 'Forbidden', false],
    [404, {}, IngestServiceError, 'NotFound', false],
    [400, {}, IngestServiceError, 'BadRequest', false],
    [501, {}, IngestServiceError, 'NotImplemented', false],
  ] as const)(
    'maps HTTP %i to %p with code %s (transient: %s), keeping the service message',
    async (status, headers, type, code, transient) => {
      server.mgmt = {
        status,
        headers,
        body: oneApiError('General_BadRequest', `the service says ${status}`, !transient),
      };
      const error = await new KustoRestClient({ baseUrl: server.url })
        .executeMgmt('db', '.get ingestion resources')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(type);
      expect(error).toMatchObject({ code, transient });
      expect((error as Error).message).toContain(`the service says ${status}`);
      expect((error as Error).message).toContain('.get ingestion resources');
      if (status === 429) expect((error as IngestThrottledError).retryAfterInMs).toBe(3000);
    },
  );

  it("takes the service's @permanent over the status: a 503 it calls permanent is not retried, a 400 it calls transient is", async () => {
    server.mgmt = { status: 503, body: oneApiError('Internal', 'the schema is broken', true) };
    const client = new KustoRestClient({ baseUrl: server.url });
    const permanent = await client.executeMgmt('db', '.show version').catch((e: unknown) => e);
    expect(permanent).toMatchObject({ name: 'IngestServiceError', transient: false });
    expect((permanent as Error).message).toMatch(/the schema is broken.*says it is permanent/);
    server.mgmt = { status: 400, body: oneApiError('General_BadRequest', 'try later', false) };
    const transient = await client.executeMgmt('db', '.show version').catch((e: unknown) => e);
    expect(transient).toMatchObject({ name: 'IngestTransientError', transient: true });
  });

  it('posts JSON to a REST path with the request id prefix and headers asked for (the v2 submission)', async () => {
    server.mgmt = { status: 200, body: JSON.stringify({ ingestionOperationId: 'op;1' }) };
    const answer = await new KustoRestClient({ baseUrl: server.url }).postJson(
      '/v1/rest/ingestion/queued/db/t',
      { blobs: [], properties: { format: 'csv' } },
      'a submission',
      'postQueuedIngest',
      { requestIdPrefix: 'KIC.execute', headers: { 'x-ms-version': '2024-12-12' } },
    );
    expect(answer).toEqual({ ingestionOperationId: 'op;1' });
    const request = server.seen.find((r) => r.path === '/v1/rest/ingestion/queued/db/t');
    expect(request?.method).toBe('POST');
    expect(JSON.parse(request?.body ?? '')).toEqual({ blobs: [], properties: { format: 'csv' } });
    expect(request?.headers['x-ms-client-request-id']).toMatch(/^KIC\.execute;[0-9a-f-]{36}$/);
    expect(request?.headers['x-ms-version']).toBe('2024-12-12');
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('reports a 200 that is not a v1 response as a clear service error naming the endpoint', async () => {
    server.mgmt = { status: 200, body: '{"Frames": []}' };
    const error = await new KustoRestClient({ baseUrl: server.url })
      .executeMgmt('db', '.get ingestion resources')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestServiceError);
    expect((error as Error).message).toMatch(/ingest-/);
  });

  it('maps a refused connection to a transient network error', async () => {
    const port = await freePort();
    const error = await new KustoRestClient({ baseUrl: `http://127.0.0.1:${port}` })
      .executeMgmt('db', '.show version')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestTransientError);
    expect(error).toMatchObject({ code: 'NetworkError', transient: true });
  });

  it('rejects an endpoint that is not an http(s) URL at construction', () => {
    expect(() => new KustoRestClient({ baseUrl: 'ingest-mycluster' })).toThrow(/absolute http\(s\) URL/);
    expect(() => new KustoRestClient({ baseUrl: 'ftp://x.example' })).toThrow(/https/);
  });
});
