import { createAppContext, ingestProtocolOf } from '../../../shared/app/context';
import * as ingestClients from '../../../shared/ingest/getIngestClient';
import { ConfigError, loadConfig } from '../../../shared/app/settings';

const local = {
  KUSTO_INGEST_URI: 'http://127.0.0.1:8081',
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  LandingStorage: 'UseDevelopmentStorage=true',
};

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(local)).toEqual({
      kustoIngestUri: 'http://127.0.0.1:8081',
      kustoEngineUri: undefined,
      kustoAuth: 'default',
      azureClientId: undefined,
      appStorage: { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' },
      landingStorage: { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' },
      landingContainer: 'landing',
      landingFailedContainer: 'landing-failed',
      landingEventsQueue: 'landing-events',
      landingBlobAuth: 'user-delegation',
      landingKustoIdentity: 'system',
      landingOnSuccess: 'keep',
      landingDoneContainer: 'landing-done',
      landingDeadLetterContainer: 'landing-deadletter',
      routesFile: undefined,
      allowedDatabases: undefined,
      backfillSources: undefined,
      landingInclude: undefined,
      landingExclude: undefined,
      statusMode: 'table',
      settleMarginMinutes: 5,
      sweepSchedule: '0 */5 * * * *',
      staleAfterMinutes: 120,
      maxRequeueAttempts: 3,
      maxDequeueCount: 5,
      landingRetry: { retryForMs: 24 * 3_600_000, firstDelaySeconds: 60 },
      failureWebhookUrl: undefined,
      successWebhookUrl: undefined,
      httpIngestFlavor: 'queued',
      ingestProtocol: 'auto',
      ingestBatchWindowMs: 5,
      v2EngineUri: undefined,
      allowedBlobHosts: [],
      localBlobOrigin: 'http://127.0.0.1:10000',
      leaseSeconds: 600,
      operatorAuth: 'key',
      backfillPagesQueue: 'backfill-pages',
      backfillItemsQueue: 'backfill-items',
      warnings: [],
    });
  });

  it('reads LANDING_SAS_MODE as LANDING_BLOB_AUTH, with a warning to rename it', () => {
    const old = loadConfig({ ...local, LANDING_SAS_MODE: 'account-key' });
    expect(old.landingBlobAuth).toBe('account-key');
    expect(old.warnings).toEqual([
      expect.stringMatching(/LANDING_SAS_MODE is replaced by LANDING_BLOB_AUTH.*rename/),
    ]);
    const both = loadConfig({
      ...local,
      LANDING_SAS_MODE: 'account-key',
      LANDING_BLOB_AUTH: 'kusto-identity',
    });
    expect(both.landingBlobAuth).toBe('kusto-identity');
    expect(both.warnings).toEqual([expect.stringMatching(/ignored.*remove it/)]);
  });

  it('reads LANDING_ALLOWED_DATABASES as ALLOWED_DATABASES, with a warning to rename it', () => {
    const old = loadConfig({ ...local, LANDING_ALLOWED_DATABASES: 'a, b' });
    expect(old.allowedDatabases).toEqual(['a', 'b']);
    expect(old.warnings).toEqual([
      expect.stringMatching(/replaced by ALLOWED_DATABASES.*every path.*rename/),
    ]);
    const both = loadConfig({ ...local, LANDING_ALLOWED_DATABASES: 'a', ALLOWED_DATABASES: 'c' });
    expect(both.allowedDatabases).toEqual(['c']);
    expect(both.warnings).toEqual([expect.stringMatching(/ignored.*remove it/)]);
  });

  it('reads BACKFILL_SOURCES, and names the entry that is not one', () => {
    expect(loadConfig({ ...local, BACKFILL_SOURCES: 'data1/exports, data2/*' }).backfillSources).toEqual([
      { account: 'data1', container: 'exports' },
      { account: 'data2', container: '*' },
    ]);
    expect(problemsOf({ ...local, BACKFILL_SOURCES: 'data1/exports,Other/x' })).toEqual([
      expect.stringMatching(/^BACKFILL_SOURCES is not valid: .*account\/container/),
    ]);
  });

  it('checks the landing globs at start-up: bounded, or a problem naming the setting and the limit', () => {
    expect(problemsOf({ ...local, LANDING_INCLUDE: `ok/**,${'*a'.repeat(17)}` })).toEqual([
      expect.stringMatching(/^LANDING_INCLUDE is not valid: .*at most 16/),
    ]);
    expect(problemsOf({ ...local, LANDING_EXCLUDE: 'x'.repeat(300) })).toEqual([
      expect.stringMatching(/^LANDING_EXCLUDE is not valid: .*at most 256/),
    ]);
  });

  it.each([
    ['plain http to another host', 'http://hooks.example/x', 1],
    ['not a URL', 'hooks', 1],
    ['https', 'https://hooks.example/x?code=SECRET', 0],
    ['http to the machine itself (local development)', 'http://127.0.0.1:9999/hook', 0],
  ])('takes a webhook URL that is %s only if it is https or loopback', (_name, url, problems) => {
    const found = problemsOf({ ...local, SUCCESS_WEBHOOK_URL: url, FAILURE_WEBHOOK_URL: url });
    expect(found).toHaveLength(problems * 2);
    for (const p of found) expect(p).not.toContain('SECRET');
  });

  it('checks the landing success and identity settings', () => {
    expect(
      loadConfig({
        ...local,
        LANDING_BLOB_AUTH: 'kusto-identity',
        LANDING_KUSTO_IDENTITY: '6A5820B9-FDF6-4CC4-81B9-B416B444FD6D',
        LANDING_ON_SUCCESS: 'move',
        SUCCESS_WEBHOOK_URL: 'https://hooks.example/done',
      }),
    ).toMatchObject({
      landingBlobAuth: 'kusto-identity',
      landingKustoIdentity: '6A5820B9-FDF6-4CC4-81B9-B416B444FD6D',
      landingOnSuccess: 'move',
      successWebhookUrl: 'https://hooks.example/done',
    });
    expect(problemsOf({ ...local, LANDING_KUSTO_IDENTITY: 'my-cluster' })).toEqual([
      expect.stringMatching(/LANDING_KUSTO_IDENTITY is not valid: must be 'system'/),
    ]);
    expect(problemsOf({ ...local, LANDING_ON_SUCCESS: 'archive' })).toEqual([
      expect.stringMatching(/LANDING_ON_SUCCESS is not valid/),
    ]);
    expect(problemsOf({ ...local, LANDING_DONE_CONTAINER: 'landing' })).toEqual([
      expect.stringMatching(/three different containers/),
    ]);
  });

  it('reads identity-based storage settings (Azure)', () => {
    const config = loadConfig({
      KUSTO_INGEST_URI: 'https://ingest-c.westeurope.kusto.windows.net',
      KUSTO_AUTH: 'managed-identity',
      AZURE_CLIENT_ID: 'client-id',
      AzureWebJobsStorage__accountName: 'appstore',
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: 'client-id',
      LandingStorage__blobServiceUri: 'https://landing.blob.core.windows.net',
      LandingStorage__queueServiceUri: 'https://landing.queue.core.windows.net',
      LandingStorage__credential: 'managedidentity',
      LandingStorage__clientId: 'client-id',
    });
    expect(config.appStorage).toEqual({
      kind: 'identity',
      blobServiceUri: 'https://appstore.blob.core.windows.net',
      queueServiceUri: 'https://appstore.queue.core.windows.net',
      tableServiceUri: 'https://appstore.table.core.windows.net',
      managedIdentity: true,
      clientId: 'client-id',
    });
    expect(config.landingStorage).toMatchObject({
      kind: 'identity',
      blobServiceUri: 'https://landing.blob.core.windows.net',
      tableServiceUri: '',
    });
  });

  it('lists every problem at once, naming the setting and the fix', () => {
    const problems = problemsOf({
      KUSTO_AUTH: 'password',
      STALE_AFTER_MINUTES: '0',
      SWEEP_SCHEDULE: '*/5 * * * *',
      LANDING_CONTAINER: 'Bad_Name',
      LandingStorage__blobServiceUri: 'https://landing.blob.core.windows.net',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^KUSTO_INGEST_URI is required/),
        expect.stringMatching(/^KUSTO_AUTH is not valid/),
        expect.stringMatching(/^STALE_AFTER_MINUTES is not valid: STALE_AFTER_MINUTES must be at least 1/),
        expect.stringMatching(/^SWEEP_SCHEDULE .* 6 fields/),
        expect.stringMatching(/^LANDING_CONTAINER is not valid/),
        expect.stringMatching(/^AzureWebJobsStorage is required/),
        expect.stringMatching(/^LandingStorage is incomplete: set LandingStorage__queueServiceUri/),
      ]),
    );
    expect(problems).toHaveLength(7);
    // The values themselves are never echoed: a bad setting can still hold a secret.
    expect(problems.join('\n')).not.toMatch(/password|Bad_Name|'0'/);
  });

  it('names a bad webhook URL without echoing it or its key', () => {
    const problems = problemsOf({
      ...local,
      FAILURE_WEBHOOK_URL: 'ftp://hooks.example/x/SECRETPATH?code=SECRETKEY',
    });
    expect(problems).toEqual([expect.stringMatching(/^FAILURE_WEBHOOK_URL is not valid/)]);
    expect(problems.join('\n')).not.toMatch(/SECRET/);
  });

  it('takes the local emulator origin from an http connection string, and none from Azure', () => {
    const emulator =
      'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k;BlobEndpoint=http://127.0.0.1:41234/a;';
    expect(loadConfig({ ...local, LandingStorage: emulator }).localBlobOrigin).toBe('http://127.0.0.1:41234');
    const azure = 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k;EndpointSuffix=core.windows.net';
    expect(loadConfig({ ...local, LandingStorage: azure }).localBlobOrigin).toBeUndefined();
    expect(
      loadConfig({ ...local, ALLOWED_BLOB_HOSTS: 'files.example.com, *.corp.example:8443' }).allowedBlobHosts,
    ).toEqual(['files.example.com', '*.corp.example:8443']);
    expect(problemsOf({ ...local, ALLOWED_BLOB_HOSTS: 'https://x/y' })).toEqual([
      expect.stringMatching(/^ALLOWED_BLOB_HOSTS is not valid/),
    ]);
  });

  it('needs the engine endpoint for the managed streaming flavor', () => {
    expect(problemsOf({ ...local, HTTP_INGEST_FLAVOR: 'managed-streaming' })).toEqual([
      expect.stringMatching(/set KUSTO_ENGINE_URI/),
    ]);
    const config = loadConfig({
      ...local,
      HTTP_INGEST_FLAVOR: 'managed-streaming',
      KUSTO_ENGINE_URI: 'http://127.0.0.1:8080',
    });
    expect(config.httpIngestFlavor).toBe('managed-streaming');
  });

  it('needs the engine endpoint for STATUS_MODE failures-only, and knows no other mode', () => {
    expect(problemsOf({ ...local, STATUS_MODE: 'failures-only' })).toEqual([
      expect.stringMatching(/STATUS_MODE 'failures-only'.*set KUSTO_ENGINE_URI.*Monitor/),
    ]);
    expect(
      loadConfig({ ...local, STATUS_MODE: 'failures-only', KUSTO_ENGINE_URI: 'http://127.0.0.1:8080' }),
    ).toMatchObject({ statusMode: 'failures-only', settleMarginMinutes: 5 });
    expect(loadConfig({ ...local, STATUS_MODE: 'queue' }).statusMode).toBe('queue');
    expect(problemsOf({ ...local, STATUS_MODE: 'rows' })).toEqual([
      expect.stringMatching(/^STATUS_MODE is not valid/),
    ]);
  });

  it('chooses the ingest protocol: auto by default, v2 only with an engine to settle lost answers by', () => {
    // Local: the ingest URI names no engine, so auto stays on v1 and says why; v2 is refused.
    const plain = loadConfig(local);
    expect(ingestProtocolOf(plain)).toEqual({
      setting: 'v1',
      why: expect.stringMatching(/auto, but the engine is unknown.*KUSTO_ENGINE_URI/) as unknown,
    });
    expect(problemsOf({ ...local, KUSTO_INGEST_PROTOCOL: 'v2' })).toEqual([
      expect.stringMatching(/KUSTO_INGEST_PROTOCOL 'v2'.*set KUSTO_ENGINE_URI.*Monitor/),
    ]);
    expect(problemsOf({ ...local, KUSTO_INGEST_PROTOCOL: 'v3' })).toEqual([
      expect.stringMatching(/^KUSTO_INGEST_PROTOCOL is not valid/),
    ]);
    const withEngine = loadConfig({ ...local, KUSTO_ENGINE_URI: 'http://127.0.0.1:8080' });
    expect(ingestProtocolOf(withEngine)).toMatchObject({ setting: 'auto' });
    expect(withEngine.v2EngineUri).toBe('http://127.0.0.1:8080');
    // A cluster's ingest URI names its engine: ingest-<cluster> without the prefix.
    const cluster = loadConfig({
      ...local,
      KUSTO_INGEST_URI: 'https://ingest-c.westeurope.kusto.windows.net',
      KUSTO_INGEST_PROTOCOL: 'v2',
    });
    expect(cluster.v2EngineUri).toBe('https://c.westeurope.kusto.windows.net');
    expect(ingestProtocolOf(cluster)).toMatchObject({ setting: 'v2' });
    expect(ingestProtocolOf(loadConfig({ ...local, KUSTO_INGEST_PROTOCOL: 'v1' })).setting).toBe('v1');
  });

  it("takes the v2 batch window in whole milliseconds, 1 to 1000, and hands it to the app's ingest client", () => {
    const config = loadConfig({ ...local, KUSTO_INGEST_BATCH_WINDOW_MS: '40' });
    expect(config.ingestBatchWindowMs).toBe(40);
    const made = jest.spyOn(ingestClients, 'getIngestClient');
    createAppContext(config);
    expect(made).toHaveBeenCalledWith(config.kustoIngestUri, expect.objectContaining({ batchWindowMs: 40 }));
    made.mockRestore();
    for (const bad of ['0', '2.5', '1001', 'soon'])
      expect(problemsOf({ ...local, KUSTO_INGEST_BATCH_WINDOW_MS: bad })).toEqual([
        expect.stringMatching(/^KUSTO_INGEST_BATCH_WINDOW_MS (must be|is not valid)/),
      ]);
  });

  it('treats empty settings as unset', () => {
    expect(
      loadConfig({ ...local, KUSTO_ENGINE_URI: '', FAILURE_WEBHOOK_URL: '' }).kustoEngineUri,
    ).toBeUndefined();
  });
});
