/**
 * The operator console in a real browser (Debian's Chromium, driven by playwright-core), against the local
 * host: a push fails because its table is missing, the page shows it with its error code, the table is
 * created, the Retry button is pressed, and the page shows the source succeeded.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { LocalHost, startLocalHost } from '../../dev/host/localHost';
import { resetAppContext } from '../../shared/app/context';
import { closeIngestClients } from '../../shared/ingest/getIngestClient';
import { engine, eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { connectionString } from '../helpers/stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const id = randomBytes(3).toString('hex');
const table = `Console${id}`;
const saved = { ...process.env };
// Undefined until beforeAll gets that far: afterAll stops what was started.
let dm: PrivateStandin | undefined;
let host: LocalHost;
let browser: Browser | undefined;
let kusto: ReturnType<typeof engine>;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `No Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH.`,
    );
  const standin = await startPrivateStandin({ worker: true, accountCount: 1, batchingWindowMs: 100 });
  dm = standin;
  kusto = engine(standin.standin.engineUrl);
  Object.assign(process.env, {
    KUSTO_INGEST_URI: standin.standin.dmUrl,
    KUSTO_AUTH: 'none',
    AzureWebJobsStorage: connectionString(0),
    LandingStorage: connectionString(0),
    LANDING_CONTAINER: `cl-${id}`,
    LANDING_FAILED_CONTAINER: `clf-${id}`,
    LANDING_EVENTS_QUEUE: `cle-${id}`,
    LANDING_BLOB_AUTH: 'account-key',
  });
  resetAppContext();
  jest.resetModules();
  const { startLocalHost: start } = jest.requireActual<{ startLocalHost: typeof startLocalHost }>(
    '../../dev/host/localHost',
  );
  host = await start({ port: 0, timer: false, log: () => undefined });
  const launched = await chromium.launch({
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
  browser = launched;
  page = await launched.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await (host as LocalHost | undefined)?.stop();
  closeIngestClients();
  resetAppContext();
  await dm?.stop();
  process.env = saved;
});

async function sourceStatus(sourceId: string): Promise<{ state: string; status: string }> {
  const response = await fetch(`${host.url}/api/ingest/status/${sourceId}`);
  return (await response.json()) as { state: string; status: string };
}

/** Runs the sweep until the source is closed. */
async function closedAs(sourceId: string): Promise<string> {
  return eventually(
    async () => {
      await host.runFunction('sweepStatus');
      const s = await sourceStatus(sourceId);
      return s.state === 'closed' ? s.status : undefined;
    },
    30_000,
    `${sourceId} closed`,
  );
}

const row = (sourceId: string) => page.locator(`tr[data-source-id="${sourceId}"]`);

describe('the operator console', () => {
  it('shows a failure with its reason, retries it from its button once fixed, and shows it succeeded', async () => {
    const pushed = await fetch(`${host.url}/api/ingest/demo/${table}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: '1,from the console test\n',
    });
    expect(pushed.status).toBe(202);
    const { sourceId } = (await pushed.json()) as { sourceId: string };
    expect(await closedAs(sourceId)).toBe('Failed');

    await page.goto(`${host.url}/api/console?code=local-key`);
    // The key leaves the address bar at once (it is kept for the tab, sent as a header).
    await eventually(
      () => Promise.resolve(new URL(page.url()).searchParams.has('code') ? undefined : true),
      5_000,
      'the key gone from the URL',
    );
    await page.fill('#f-database', 'demo');
    await page.fill('#f-table', table);
    await page.click('#filters button[type=submit]');
    await row(sourceId).waitFor({ timeout: 15_000 });
    expect(await row(sourceId).locator('td.status').textContent()).toBe('Failed');
    expect(await row(sourceId).textContent()).toContain('BadRequest_TableNotExist');
    // The header's counts come with the same refresh, maybe a moment after the rows ('5000+' when capped).
    await eventually(
      async () => (parseInt((await page.textContent('#failed')) ?? '', 10) >= 1 ? true : undefined),
      15_000,
      'the failed count',
    );
    // The README picture: KIF_CONSOLE_SCREENSHOT=docs/console.png npm run test:integration -- --testPathPatterns console.browser
    if (process.env.KIF_CONSOLE_SCREENSHOT)
      await page.screenshot({ path: process.env.KIF_CONSOLE_SCREENSHOT, fullPage: true });

    await kusto.mgmt(`.create table ${table} (id:long, name:string)`);
    await row(sourceId).locator('button.retry').click();
    await page.locator('#message', { hasText: `Retried ${sourceId}` }).waitFor({ timeout: 15_000 });

    expect(await closedAs(sourceId)).toBe('Succeeded');
    await page.selectOption('#f-status', 'succeeded');
    await page.click('#filters button[type=submit]');
    await row(sourceId).locator('td.status', { hasText: 'Succeeded' }).waitFor({ timeout: 15_000 });
    expect(await row(sourceId).locator('button.retry').count()).toBe(0);
    expect(await row(sourceId).locator('td').nth(6).textContent()).toBe('2'); // attempts
    expect(await kusto.count(table)).toBe(1);
    // The header's counts come with the same refresh.
    await eventually(
      async () => (parseInt((await page.textContent('#succeeded')) ?? '', 10) >= 1 ? true : undefined),
      15_000,
      'the succeeded count',
    );
    expect(pageErrors).toEqual([]);
  });
});
