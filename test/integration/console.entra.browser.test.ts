/**
 * The operator console with OPERATOR_AUTH=entra, in a real browser: it signs the operator in through the
 * tenant (here a local OpenID provider whose key the test owns: authorization code with PKCE), calls the API
 * with the access token, and an operator's Retry lands in the audit log under the operator's name. A
 * reader sees the failures but is refused the Retry (and the log says who tried). No function key anywhere.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { eventually } from '../helpers/engine';
import { startConsoleStack, type ConsoleStack } from '../helpers/consoleStack';
import { startLocalIssuer, type LocalIssuer } from '../helpers/localIssuer';

const table = `Entra${randomBytes(3).toString('hex')}`;
let issuer: LocalIssuer | undefined;
let stack: ConsoleStack | undefined;

beforeAll(async () => {
  issuer = await startLocalIssuer();
  stack = await startConsoleStack(issuer.settings);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await issuer?.stop();
});

describe('the operator console (with Entra sign-in)', () => {
  it('signs a reader in, who sees the failure but may not retry it; then an operator retries it, audited by name', async () => {
    const { host, kusto, page, pageErrors } = stack as ConsoleStack;
    const closedAs = (sourceId: string) => (stack as ConsoleStack).closedAs(sourceId);
    const idp = issuer as LocalIssuer;
    const row = (sourceId: string) => page.locator(`tr[data-source-id="${sourceId}"]`);
    const pushed = await fetch(`${host.url}/api/ingest/demo/${table}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: '1,from the entra test\n',
    });
    expect(pushed.status).toBe(202);
    const { sourceId } = (await pushed.json()) as { sourceId: string };
    expect(await closedAs(sourceId)).toBe('Failed');

    // Without a token, the API says how to authenticate; a header naming a principal changes nothing.
    const anonymous = await fetch(`${host.url}/api/ingest`, {
      headers: { 'x-ms-client-principal-id': randomUUID() },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer /);

    idp.signInAs({ oid: randomUUID(), name: 'Rita Reader', roles: ['Ingest.Reader'] });
    await page.goto(`${host.url}/api/console`);
    await page.fill('#f-database', 'demo');
    await page.fill('#f-table', table);
    await page.click('#filters button[type=submit]');
    await row(sourceId).waitFor({ timeout: 15_000 });
    expect(new URL(page.url()).search).toBe(''); // the code and state are gone from the address bar
    await row(sourceId).locator('button.retry').click();
    await page.locator('#message', { hasText: 'RoleRequired' }).waitFor({ timeout: 15_000 });

    // An operator, signed in afresh.
    await page.evaluate('sessionStorage.clear()');
    idp.signInAs({ oid: randomUUID(), name: 'Olga Operator', roles: ['Ingest.Operator'] });
    await page.goto(`${host.url}/api/console`);
    await page.fill('#f-database', 'demo');
    await page.fill('#f-table', table);
    await page.click('#filters button[type=submit]');
    await kusto.mgmt(`.create table ${table} (id:long, name:string)`);
    await row(sourceId).locator('button.retry').click();
    await page.locator('#message', { hasText: `Retried ${sourceId}` }).waitFor({ timeout: 15_000 });
    expect(await closedAs(sourceId)).toBe('Succeeded');
    expect(await kusto.count(table)).toBe(1);
    await eventually(
      async () =>
        /Olga Operator.*Ingest\.Operator.*retry.*202/.test(
          (await page.locator('#audit tr', { hasText: `source ${sourceId}` }).allTextContents()).join('\n'),
        ) || undefined,
      20_000,
      "the operator's retry in the audit log",
    );
    // The reader's refused attempt is in the log too, with who tried and the refusal.
    expect(await page.locator('#audit tr', { hasText: 'Rita Reader' }).allTextContents()).toEqual([
      expect.stringMatching(/Rita Reader.*Ingest\.Reader.*retry.*403 RoleRequired/),
    ]);
    expect(pageErrors).toEqual([]);
  });
});
