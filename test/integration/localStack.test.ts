import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY, freePort, azuritePreloadEntry, startAzurite } from '../../dev/azurite';
import { startLocalStack } from '../../dev/localStack';
import { eventually } from '../helpers/engine';
import { startPrivateStandin } from '../helpers/privateStandin';
import { testStack } from '../helpers/stack';

describe('the Azurite launcher', () => {
  it('fails loudly, with Azurite’s own output, when a service cannot start', async () => {
    const blocker = createServer(() => undefined); // holds the port without speaking HTTP
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const error = await startAzurite({
        ports: { blob: port, queue: await freePort(), table: await freePort() },
        startTimeoutInMs: 15_000,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/Azurite (exited|did not answer)/);
      expect((error as Error).message).toMatch(/EADDRINUSE|listening|Blob/i);
    } finally {
      blocker.close();
    }
  });
});

describe("the local Azurite's preload", () => {
  it('hands Azurite a uri-templates that compiles each template once, a dispatcher that matches each pattern once (dev/uriTemplateMemo.ts) and a query parsed once (dev/expressQueryOnce.ts)', () => {
    const entry = azuritePreloadEntry();
    expect(entry).toBeDefined();
    // What Azurite's generated dispatcher does per operation, twice: the same compiled template both times.
    const probe = `
      const { dirname } = require('node:path');
      const azurite = dirname(require.resolve('azurite/package.json'));
      const compile = require(require.resolve('uri-templates', { paths: [azurite] }));
      const a = compile('/{containerName}/{blob}');
      const b = compile('/{containerName}/{blob}');
      const match = a.fromUri('/tempstorage-0/file.csv.gz', { strict: true });
      // The blob dispatcher's matcher (the original is a named function; the memoized one an arrow), and
      // Express's query of one request read twice.
      const utils = require(require('node:path').join(azurite, 'dist/src/blob/generated/utils/utils.js'));
      const proto = require(require.resolve('express/lib/request.js', { paths: [azurite] }));
      const req = Object.create(proto);
      req.url = '/c/b?comp=block&sig=x';
      req.app = { get: () => require('node:querystring').parse };
      process.stdout.write(JSON.stringify({
        same: a === b,
        match,
        matchMemoized: utils.isURITemplateMatch.name !== 'isURITemplateMatch',
        fits: utils.isURITemplateMatch('/container/blob', '/{containerName}/{blob}'),
        queryOnce: req.query === req.query,
        query: req.query,
      }));
    `;
    const run = (preload: string[]) =>
      spawnSync(process.execPath, [...preload, '-e', probe], {
        cwd: dirname(require.resolve('azurite/package.json')),
        encoding: 'utf8',
      });
    const patched = run(['--require', entry ?? '']);
    expect(patched.stderr).toBe('');
    const query = { comp: 'block', sig: 'x' };
    expect(JSON.parse(patched.stdout)).toEqual({
      same: true,
      match: { containerName: 'tempstorage-0', blob: 'file.csv.gz' },
      matchMemoized: true,
      fits: true,
      queryOnce: true,
      query,
    });
    // Without the preload: compiled afresh, matched afresh, parsed afresh; the same answers.
    expect(JSON.parse(run([]).stdout)).toEqual({
      same: false,
      match: { containerName: 'tempstorage-0', blob: 'file.csv.gz' },
      matchMemoized: false,
      fits: true,
      queryOnce: false,
      query,
    });
  });
});

describe('the local stack, supervised', () => {
  it('says loudly when Azurite dies, restarts it on the same ports, and gives up after too many deaths', async () => {
    const lines: string[] = [];
    const fatal: Error[] = [];
    const stack = await startLocalStack({
      mode: 'test',
      accountCount: 1,
      onOutput: (l) => lines.push(l),
      supervision: { maxRestarts: 1, onFatal: (e) => fatal.push(e) },
    });
    try {
      expect(lines.some((l) => l.startsWith('[azurite] '))).toBe(true); // every part's lines carry its name
      const blobs = BlobServiceClient.fromConnectionString(
        `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};BlobEndpoint=${stack.azurite.blobEndpoint()}`,
      );
      const firstPid = stack.azurite.pid;
      process.kill(firstPid ?? 0, 'SIGKILL');
      await eventually(
        () => Promise.resolve(lines.some((l) => l.includes('Azurite is back')) ? true : undefined),
        30_000,
      );
      expect(lines).toContainEqual(
        expect.stringMatching(/^\[stack\] \*\*\* Azurite stopped on its own \(signal SIGKILL\)/),
      );
      expect(stack.azurite.pid).not.toBe(firstPid);
      await blobs.getContainerClient('after-restart').create(); // it answers again
      expect(fatal).toEqual([]);
      process.kill(stack.azurite.pid ?? 0, 'SIGKILL'); // a second death within the minute: over the limit
      await eventually(() => Promise.resolve(fatal.length > 0 ? true : undefined), 30_000);
      expect(fatal[0]?.message).toMatch(/giving up/);
    } finally {
      await stack.stop();
    }
  }, 90_000);
});

describe('the stand-in Data Management endpoint', () => {
  const { dmUrl, engineUrl } = testStack();
  const mgmt = (csl: string, headers: Record<string, string> = {}) =>
    fetch(`${dmUrl}/v1/rest/mgmt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ db: 'NetDefaultDB', csl }),
    });

  it('answers the auth metadata on both endpoints, as the official SDK needs', async () => {
    for (const base of [dmUrl, engineUrl]) {
      const response = await fetch(`${base}/v1/rest/auth/metadata`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { AzureAD: Record<string, unknown> };
      expect(body.AzureAD.KustoServiceResourceId).toBe('https://kusto.kusto.windows.net');
      expect(body.AzureAD.LoginEndpoint).toBe('https://login.microsoftonline.com');
    }
  });

  it('hands out resources as one v1 table of SAS URLs on Azurite', async () => {
    const response = await mgmt('.get ingestion resources', { authorization: 'Bearer any-token' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      Tables: { Columns: { ColumnName: string }[]; Rows: string[][] }[];
    };
    expect(body.Tables).toHaveLength(1);
    expect(body.Tables[0]?.Columns.map((c) => c.ColumnName)).toEqual(['ResourceTypeName', 'StorageRoot']);
    const kinds = new Set(body.Tables[0]?.Rows.map((r) => r[0]));
    expect(kinds).toEqual(
      new Set([
        'SecuredReadyForAggregationQueue',
        'TempStorage',
        'IngestionsStatusTable',
        'SuccessfulIngestionsQueue',
        'FailedIngestionsQueue',
      ]),
    );
    for (const [, url] of body.Tables[0]?.Rows ?? [])
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount[12]\/[\w-]+\?.*sig=/);
  });

  it('refuses an unknown command and a malformed Authorization header with Kusto-style errors', async () => {
    const unknown = await mgmt('.show cluster');
    expect(unknown.status).toBe(400);
    const body = (await unknown.json()) as {
      error: { code: string; '@message': string; '@permanent': boolean };
    };
    expect(body.error.code).toBe('BadRequest_SyntaxError');
    expect(body.error['@message']).toMatch(/\.get ingestion resources/);
    expect(body.error['@permanent']).toBe(true);
    expect((await mgmt('.get kusto identity token', { authorization: 'Basic x' })).status).toBe(401);
  });

  it('shows, validates and resets the fault switches', async () => {
    // A private stand-in would be needed to trip faults; here only the endpoint's contract is checked.
    const invalid = await fetch(`${dmUrl}/_standin/faults`, {
      method: 'POST',
      body: JSON.stringify({ throttleResources: -1 }),
    });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { message: string } }).error.message).toMatch(
      /throttleResources/,
    );
    const unknownSwitch = await fetch(`${dmUrl}/_standin/faults`, {
      method: 'POST',
      body: JSON.stringify({ explode: true }),
    });
    expect(unknownSwitch.status).toBe(400);
    const shown = (await (await fetch(`${dmUrl}/_standin/faults`)).json()) as Record<string, unknown>;
    expect(shown).toEqual(
      expect.objectContaining({ throttleResources: 0, workerPaused: false, streaming: 'enabled' }),
    );
  });
});

describe('fault switches over HTTP', () => {
  it('merge on POST, show on GET, reset on DELETE, and take effect', async () => {
    const dm = await startPrivateStandin({ accountCount: 1 });
    try {
      const url = `${dm.standin.dmUrl}/_standin/faults`;
      const set = await fetch(url, {
        method: 'POST',
        body: JSON.stringify({ mgmt5xx: 1, workerPaused: true }),
      });
      expect(((await set.json()) as Record<string, unknown>).mgmt5xx).toBe(1);
      expect(await (await fetch(url)).json()).toEqual(
        expect.objectContaining({ mgmt5xx: 1, workerPaused: true }),
      );
      const call = () =>
        fetch(`${dm.standin.dmUrl}/v1/rest/mgmt`, {
          method: 'POST',
          body: JSON.stringify({ csl: '.get kusto identity token' }),
        });
      expect((await call()).status).toBe(503);
      expect((await call()).status).toBe(200); // the countdown is used up
      await fetch(url, { method: 'POST', body: JSON.stringify({ mgmt5xx: 5 }) });
      expect(await (await fetch(url, { method: 'DELETE' })).json()).toEqual(
        expect.objectContaining({ mgmt5xx: 0, workerPaused: false }),
      );
      expect((await call()).status).toBe(200);
    } finally {
      await dm.stop();
    }
  });
});
