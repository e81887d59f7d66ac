/**
 * The operator console in a real browser (Debian's Chromium, driven by playwright-core), against the local
 * host: a push fails because its table is missing, the page shows it with its error code, the table is
 * created, the Retry button is pressed, the page shows the source succeeded, and the audit log shows who
 * retried it. The page runs under a policy that allows its own scripts and styles only.
 */
import { randomBytes } from 'node:crypto';
import { eventually } from '../helpers/engine';
import { startConsoleStack, type ConsoleStack } from '../helpers/consoleStack';

const table = `Console${randomBytes(3).toString('hex')}`;
let stack: ConsoleStack | undefined;

beforeAll(async () => {
  stack = await startConsoleStack();
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

describe('the operator console (with the host key)', () => {
  it('shows a failure with its reason, retries it from its button once fixed, and shows it succeeded', async () => {
    const { host, kusto, page, pageErrors } = stack as ConsoleStack;
    const closedAs = (sourceId: string) => (stack as ConsoleStack).closedAs(sourceId);
    const row = (sourceId: string) => page.locator(`tr[data-source-id="${sourceId}"]`);
    const pushed = await fetch(`${host.url}/api/ingest/demo/${table}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: '1,from the console test\n',
    });
    expect(pushed.status).toBe(202);
    const { sourceId } = (await pushed.json()) as { sourceId: string };
    expect(await closedAs(sourceId)).toBe('Failed');

    const response = await page.goto(`${host.url}/api/console?code=local-key`);
    const policy = response?.headers()['content-security-policy'] ?? '';
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
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
    // The audit log names the retry: who (the key), what, and the answer.
    await page.locator('#audit tr', { hasText: `source ${sourceId}` }).waitFor({ timeout: 15_000 });
    expect(await page.locator('#audit tr', { hasText: `source ${sourceId}` }).textContent()).toMatch(
      /function key.*retry.*202/,
    );
    expect(pageErrors).toEqual([]);
  });
});
