import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { RestError } from '@azure/core-rest-pipeline';
import { storageAuthFromConnectionString } from '../../../shared/upload/signedRest';
import { TableRest } from '../../../shared/upload/tableRest';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** A table endpoint that answers each request with the next status of `statuses` (the last one repeats). */
async function endpoint(
  statuses: number[],
): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const s: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const status = statuses[Math.min(seen.length - 1, statuses.length - 1)] ?? 500;
    req.resume();
    req.on('end', () =>
      res
        .writeHead(status, { etag: 'W/"datetime\'1\'"', 'content-type': 'application/json' })
        .end(
          status >= 300
            ? JSON.stringify({ 'odata.error': { code: 'ServerBusy', message: { value: 'busy' } } })
            : '',
        ),
    );
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/acct`,
    seen,
    close: () =>
      new Promise((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}

const key = Buffer.from('a test key').toString('base64');

describe('TableRest (the lean entity requests of the tracking tables)', () => {
  it('retries a transient answer beneath the operation, signing each attempt, and succeeds', async () => {
    const e = await endpoint([503, 503, 204]);
    try {
      const rest = new TableRest({
        endpoint: e.url,
        table: 'T',
        auth: { kind: 'sharedKey', accountName: 'acct', accountKey: key },
      });
      const { etag } = await rest.upsertEntity({ partitionKey: 'p', rowKey: "o'k" }, 'Replace');
      expect(etag).toBe('W/"datetime\'1\'"');
      expect(e.seen).toHaveLength(3);
      expect(e.seen[0]?.method).toBe('PUT');
      expect(e.seen[0]?.url).toBe("/acct/T(PartitionKey='p',RowKey='o''k')");
      for (const s of e.seen) {
        expect(s.headers.authorization).toMatch(/^SharedKeyLite acct:[A-Za-z0-9+/]+=*$/);
        expect(s.headers['x-ms-date']).toBeDefined();
      }
    } finally {
      await e.close();
    }
  });

  it('gives up after its attempts with the last answer as a RestError carrying status and code', async () => {
    const e = await endpoint([503]);
    try {
      const rest = new TableRest({
        endpoint: e.url,
        table: 'T',
        auth: { kind: 'sharedKey', accountName: 'acct', accountKey: key },
        maxAttempts: 2,
      });
      const error = await rest.getEntity('p', 'r').catch((x: unknown) => x);
      expect(error).toBeInstanceOf(RestError);
      expect(error).toMatchObject({ statusCode: 503, code: 'ServerBusy', message: 'ServerBusy: busy' });
      expect(e.seen).toHaveLength(2);
    } finally {
      await e.close();
    }
  });

  it('does not retry a permanent answer (409 on insert)', async () => {
    const e = await endpoint([409]);
    try {
      // An endpoint that came with a query keeps it out of the path: the SAS is the auth's.
      const rest = new TableRest({
        endpoint: `${e.url}/?sv=0`,
        table: 'T',
        auth: { kind: 'sas', sas: '?sv=1&sig=s' },
      });
      const error = await rest.createEntity({ partitionKey: 'p', rowKey: 'r' }).catch((x: unknown) => x);
      expect((error as RestError).statusCode).toBe(409);
      expect(e.seen).toHaveLength(1);
      expect(e.seen[0]?.url).toBe('/acct/T?sv=1&sig=s'); // the SAS rides on the URL, no Authorization
      expect(e.seen[0]?.headers.authorization).toBeUndefined();
      expect(e.seen[0]?.headers.prefer).toBe('return-no-content');
    } finally {
      await e.close();
    }
  });

  it('sends a bearer token from the credential, fetched once while it is fresh', async () => {
    const e = await endpoint([204]);
    let fetched = 0;
    const credential: TokenCredential = {
      getToken: (scope) => {
        fetched += 1;
        expect(scope).toBe('https://storage.azure.com/.default');
        return Promise.resolve<AccessToken>({ token: 'tok', expiresOnTimestamp: Date.now() + 3_600_000 });
      },
    };
    try {
      const rest = new TableRest({ endpoint: e.url, table: 'T', auth: { kind: 'token', credential } });
      await rest.deleteEntity('p', 'r', { etag: 'W/"x"' });
      await rest.deleteEntity('p', 'r');
      expect(e.seen.map((s) => [s.method, s.headers.authorization, s.headers['if-match']])).toEqual([
        ['DELETE', 'Bearer tok', 'W/"x"'],
        ['DELETE', 'Bearer tok', '*'],
      ]);
      expect(fetched).toBe(1);
    } finally {
      await e.close();
    }
  });

  it('goes through the proxy the environment names, as the table SDK did', async () => {
    const proxy = await endpoint([204]);
    const saved = process.env.HTTP_PROXY;
    process.env.HTTP_PROXY = proxy.url.replace(/\/acct$/, '');
    try {
      const rest = new TableRest({
        endpoint: 'http://acct.table.storage.invalid',
        table: 'T',
        auth: { kind: 'sas', sas: 'sv=1' },
      });
      await rest.upsertEntity({ partitionKey: 'p', rowKey: 'r' }, 'Replace');
      expect(proxy.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
        "PUT http://acct.table.storage.invalid/T(PartitionKey='p',RowKey='r')?sv=1",
      ]);
    } finally {
      if (saved === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = saved;
      await proxy.close();
    }
  });

  it('reads the authorisation of a connection string: key, development storage, SAS, or none', () => {
    expect(
      storageAuthFromConnectionString(`DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${key}`),
    ).toEqual({
      kind: 'sharedKey',
      accountName: 'a',
      accountKey: key,
    });
    expect(storageAuthFromConnectionString('UseDevelopmentStorage=true')).toMatchObject({
      kind: 'sharedKey',
      accountName: 'devstoreaccount1',
    });
    expect(
      storageAuthFromConnectionString(
        'TableEndpoint=https://a.table.core.windows.net;SharedAccessSignature=sv=1&sig=x',
      ),
    ).toEqual({ kind: 'sas', sas: 'sv=1&sig=x' });
    expect(storageAuthFromConnectionString('TableEndpoint=https://a.table.core.windows.net')).toBeUndefined();
  });
});
