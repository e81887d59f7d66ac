/**
 * What the console's browser tests run against: a private stand-in, the local host on the settings a test
 * gives, and Debian's Chromium driven by playwright-core (its own browser downloads cannot work here).
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { LocalHost, startLocalHost } from '../../dev/host/localHost';
import { resetAppContext } from '../../shared/app/context';
import { closeIngestClients } from '../../shared/ingest/getIngestClient';
import { engine, eventually } from './engine';
import { startPrivateStandin } from './privateStandin';
import { connectionString } from './stack';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface ConsoleStack {
  readonly host: LocalHost;
  readonly kusto: ReturnType<typeof engine>;
  readonly page: Page;
  /** Errors the page threw. */
  readonly pageErrors: string[];
  /** Runs the sweep until the source is closed; its final status. */
  closedAs(sourceId: string, headers?: Record<string, string>): Promise<string>;
  stop(): Promise<void>;
}

export async function startConsoleStack(settings: Record<string, string> = {}): Promise<ConsoleStack> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `No Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH.`,
    );
  const saved = { ...process.env };
  const id = randomBytes(3).toString('hex');
  const dm = await startPrivateStandin({ worker: true, accountCount: 1, batchingWindowMs: 100 });
  let host: LocalHost | undefined;
  let browser: Browser | undefined;
  const stop = async () => {
    await browser?.close();
    await host?.stop();
    closeIngestClients();
    resetAppContext();
    await dm.stop();
    process.env = saved;
  };
  try {
    Object.assign(process.env, {
      KUSTO_INGEST_URI: dm.standin.dmUrl,
      KUSTO_AUTH: 'none',
      AzureWebJobsStorage: connectionString(0),
      LandingStorage: connectionString(0),
      LANDING_CONTAINER: `cl-${id}`,
      LANDING_FAILED_CONTAINER: `clf-${id}`,
      LANDING_EVENTS_QUEUE: `cle-${id}`,
      LANDING_BLOB_AUTH: 'account-key',
      ...settings,
    });
    resetAppContext();
    // The functions read their trigger settings (OPERATOR_AUTH among them) at load: load them now.
    jest.resetModules();
    const { startLocalHost: start } = jest.requireActual<{ startLocalHost: typeof startLocalHost }>(
      '../../dev/host/localHost',
    );
    const started = await start({ port: 0, timer: false, log: () => undefined });
    host = started;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // As root in a sandbox with no network beyond loopback: no sandbox, no background connections.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    return {
      host: started,
      kusto: engine(dm.standin.engineUrl),
      page,
      pageErrors,
      closedAs: (sourceId, headers = {}) =>
        eventually(
          async () => {
            await started.runFunction('sweepStatus');
            const response = await fetch(`${started.url}/api/ingest/status/${sourceId}`, { headers });
            const s = (await response.json()) as { state: string; status: string };
            return s.state === 'closed' ? s.status : undefined;
          },
          30_000,
          `${sourceId} closed`,
        ),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
