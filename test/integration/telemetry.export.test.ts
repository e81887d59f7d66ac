/**
 * What the exporters really send, read at local endpoints: `npm run telemetry-check` (the app's
 * startTelemetry in a process of its own) against
 * - Application Insights' ingestion API (`/v2.1/track`) over https, its bearer token from a managed
 *   identity endpoint (the App Service protocol the Functions host offers: IDENTITY_ENDPOINT and
 *   IDENTITY_HEADER), as the distro runs in Azure;
 * - an OTLP/HTTP collector (`/v1/traces`, `/v1/metrics`).
 * A burst of 20 failures and 20 successes within a second: every failure's span arrives (the distro's
 * default samples to 5 traces a second).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ensureTestCertificate } from '../../dev/testRunner';
import { ATTR } from '../../shared/app/telemetry/sourceTelemetry';

const root = join(__dirname, '..', '..');
const TOKEN = 'local-identity-token';
const IDENTITY_HEADER = 'local-identity-header';

interface Received {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A server that records every request and answers it with `answer`. */
async function recorder(
  tls: boolean,
  answer: (r: Received, res: ServerResponse) => void,
): Promise<{ url: string; received: Received[]; close: () => void }> {
  const received: Received[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const r = { path: req.url ?? '', headers: req.headers, body };
      received.push(r);
      answer(r, res);
    });
  };
  const cert = ensureTestCertificate();
  const server = tls
    ? createHttpsServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, handler)
    : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    received,
    close: () => server.close(),
  };
}

/** `npm run telemetry-check` with `env` over a clean environment (no exporter set by the test run). */
function telemetryCheck(env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('OTEL_') && !k.startsWith('APPLICATIONINSIGHTS_') && k !== 'KIF_TELEMETRY',
    ),
  );
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['dev/ensureBuilt.mjs', 'dist/dev/telemetryCheck.js'],
      { cwd: root, env: base },
      (buildError) => {
        if (buildError) return reject(new Error(`the build failed: ${buildError.message}`));
        execFile(
          process.execPath,
          ['dist/dev/telemetryCheck.js'],
          { cwd: root, env: { ...base, ...env }, timeout: 60_000 },
          (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }),
        );
      },
    ),
  );
}

interface Envelope {
  name: string;
  data: {
    baseType: string;
    baseData: {
      name?: string;
      success?: boolean;
      metrics?: { name: string; value: number }[];
      properties?: Record<string, string>;
    };
  };
}

describe('telemetry as the exporters send it', () => {
  it('Application Insights: every span of a burst, failures marked, with the managed identity token', async () => {
    const ai = await recorder(true, (r, res) => {
      if (r.path.startsWith('/msi/token')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            access_token: TOKEN,
            expires_on: String(Math.floor(Date.now() / 1000) + 3600),
            resource: 'https://monitor.azure.com',
            token_type: 'Bearer',
          }),
        );
        return;
      }
      const items = (JSON.parse(r.body || '[]') as unknown[]).length;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ itemsReceived: items, itemsAccepted: items, errors: [] }));
    });
    try {
      const run = await telemetryCheck({
        APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=${ai.url}/`,
        IDENTITY_ENDPOINT: `${ai.url}/msi/token`,
        IDENTITY_HEADER,
        AZURE_CLIENT_ID: 'app-identity-client-id',
      });
      expect(JSON.parse(run.stdout)).toMatchObject({ mode: 'azure-monitor', failures: 20, successes: 20 });

      // The token came from the identity endpoint, asked for the app's user-assigned identity.
      const tokenRequests = ai.received.filter((r) => r.path.startsWith('/msi/token'));
      expect(tokenRequests.length).toBeGreaterThan(0);
      for (const r of tokenRequests) {
        expect(r.headers['x-identity-header']).toBe(IDENTITY_HEADER);
        expect(r.path).toContain('client_id=app-identity-client-id');
        expect(r.path).toContain(encodeURIComponent('https://monitor.azure.com'));
      }
      const tracks = ai.received.filter((r) => r.path === '/v2.1/track');
      expect(tracks.length).toBeGreaterThan(0);
      for (const r of tracks) expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);

      const envelopes = tracks.flatMap((r) => JSON.parse(r.body) as Envelope[]);
      // The final spans: requests carrying the latency the workbook's percentiles read.
      const finals = envelopes.filter(
        (e) =>
          e.data.baseType === 'RequestData' && e.data.baseData.properties?.[ATTR.timeToFinal] !== undefined,
      );
      const failed = finals.filter((e) => e.data.baseData.success === false);
      expect(failed).toHaveLength(20);
      expect(new Set(failed.map((e) => e.data.baseData.properties?.[ATTR.sourceId])).size).toBe(20);
      for (const e of failed)
        expect(e.data.baseData.properties).toMatchObject({
          [ATTR.status]: 'Failed',
          [ATTR.errorCode]: 'BadRequest_EmptyBlob',
          [ATTR.permanent]: 'true',
          [ATTR.table]: 'TelemetryCheck',
        });
      expect(finals.filter((e) => e.data.baseData.success === true)).toHaveLength(20);
      // The accepted spans: dependencies named for the workbook's text.
      const accepted = envelopes.filter(
        (e) => e.data.baseType === 'RemoteDependencyData' && e.data.baseData.name === 'source accepted',
      );
      expect(accepted).toHaveLength(40);
      // And the counters, as customMetrics.
      const metricNames = envelopes.flatMap((e) => e.data.baseData.metrics?.map((m) => m.name) ?? []);
      expect(metricNames).toEqual(expect.arrayContaining(['kif.sources.failed', 'kif.sources.succeeded']));
      const failedCount = envelopes
        .flatMap((e) => e.data.baseData.metrics ?? [])
        .filter((m) => m.name === 'kif.sources.failed')
        .reduce((sum, m) => sum + m.value, 0);
      expect(failedCount).toBe(20);
    } finally {
      ai.close();
    }
  });

  it('OTLP: every span and the counters reach the collector', async () => {
    const collector = await recorder(false, (_r, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
    );
    try {
      const run = await telemetryCheck({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
      expect(JSON.parse(run.stdout)).toMatchObject({ mode: 'otlp' });
      interface OtlpSpan {
        name: string;
        status?: { code?: number };
      }
      const spans = collector.received
        .filter((r) => r.path === '/v1/traces')
        .flatMap(
          (r) =>
            (
              JSON.parse(r.body) as {
                resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
              }
            ).resourceSpans,
        )
        .flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans));
      const finals = spans.filter((s) => s.name === 'source final');
      expect(finals).toHaveLength(40);
      expect(finals.filter((s) => s.status?.code === 2)).toHaveLength(20); // 2 = ERROR
      expect(spans.filter((s) => s.name === 'source accepted')).toHaveLength(40);
      const metrics = collector.received.filter((r) => r.path === '/v1/metrics').map((r) => r.body);
      expect(metrics.join('\n')).toContain('kif.sources.failed');
    } finally {
      collector.close();
    }
  });

  it('refuses to run without an exporter, and says which settings choose one', async () => {
    await expect(telemetryCheck({})).rejects.toThrow(
      /no exporter configured: set APPLICATIONINSIGHTS_CONNECTION_STRING/,
    );
  });
});
