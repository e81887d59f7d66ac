import {
  BackfillSourcePolicy,
  parseBackfillSources,
  storageAccountOf,
} from '../../../shared/app/backfill/backfillSources';
import { IngestValidationError } from '../../../shared/errors';

const own = new Map([['landing-failed', 'the quarantine']]);

/** As deployed: a landing account and the app's own account, apart. */
const azure = (allowed?: string) =>
  new BackfillSourcePolicy({
    allowed: parseBackfillSources(allowed),
    landingServiceUrl: 'https://landing1.blob.core.windows.net/',
    landingContainer: 'landing',
    landingOwnContainers: own,
    appServiceUrl: 'https://appstore1.blob.core.windows.net',
  });
/** As locally: one emulator account for both, path-style. */
const local = (allowed?: string) =>
  new BackfillSourcePolicy({
    allowed: parseBackfillSources(allowed),
    landingServiceUrl: 'http://127.0.0.1:10000/devstoreaccount1',
    landingContainer: 'landing',
    landingOwnContainers: own,
    appServiceUrl: 'http://127.0.0.1:10000/devstoreaccount1',
  });

describe('backfill sources (BACKFILL_SOURCES)', () => {
  it('parses account/container and account/* entries, and refuses anything else naming it', () => {
    expect(parseBackfillSources(' data1/exports , data2/* ')).toEqual([
      { account: 'data1', container: 'exports' },
      { account: 'data2', container: '*' },
    ]);
    expect(parseBackfillSources('')).toBeUndefined();
    for (const bad of [
      'Data1/x',
      'data1',
      'data1/x/y',
      'data1/Bad_Name',
      'https://data1.blob.core.windows.net/x',
    ])
      expect(() => parseBackfillSources(bad)).toThrow(/is not an account\/container entry/);
  });

  it('knows an account by its name on Azure hosts, by host and account segment on path-style ones', () => {
    expect(storageAccountOf('https://data1.blob.core.windows.net')).toEqual({ key: 'data1', name: 'data1' });
    expect(storageAccountOf('https://data1.dfs.core.windows.net')?.key).toBe('data1');
    expect(storageAccountOf('http://127.0.0.1:10000/devstoreaccount1')).toEqual({
      key: '127.0.0.1:10000/devstoreaccount1',
      name: 'devstoreaccount1',
    });
    expect(storageAccountOf('https://127.0.0.1:10443/devstoreaccount1')?.key).not.toBe(
      storageAccountOf('http://127.0.0.1:10000/devstoreaccount1')?.key,
    );
  });

  it('allows the landing container only, by default', () => {
    expect(azure().refusal(undefined, 'landing')).toBeUndefined();
    expect(azure().refusal(undefined, 'exports')).toMatch(
      /BACKFILL_SOURCES \(unset: only the landing container\)/,
    );
    expect(azure().refusal('https://data1.blob.core.windows.net', 'x')).toMatch(
      /'data1\/x' \(or 'data1\/\*'\)/,
    );
  });

  it('allows what the list names, and nothing else', () => {
    const policy = azure('data1/exports,data2/*');
    expect(policy.refusal('https://data1.blob.core.windows.net', 'exports')).toBeUndefined();
    expect(policy.refusal('https://data1.blob.core.windows.net', 'other')).toMatch(/not a backfill source/);
    expect(policy.refusal('https://data2.blob.core.windows.net', 'anything')).toBeUndefined();
    expect(policy.refusal('https://data3.blob.core.windows.net', 'exports')).toMatch(/not a backfill source/);
  });

  it.each([
    'azure-webjobs-secrets',
    'azure-webjobs-hosts',
    'app-package-kif-abc1234',
    'scm-releases',
    'function-releases',
  ])("refuses the host's %s on the app's account whatever the list says", (container) => {
    expect(azure('appstore1/*').refusal('https://appstore1.blob.core.windows.net', container)).toMatch(
      /belongs to the Functions host/,
    );
    // Its other names are the same account.
    expect(azure('appstore1/*').refusal('https://appstore1.dfs.core.windows.net', container)).toMatch(
      /belongs to the Functions host/,
    );
    // Locally the app's account is the landing one: still refused; the landing container is not.
    expect(local('devstoreaccount1/*').refusal(undefined, container)).toMatch(
      /belongs to the Functions host/,
    );
    expect(local('devstoreaccount1/*').refusal(undefined, 'landing')).toBeUndefined();
    // The same name on someone else's account is their data.
    expect(azure('data1/*').refusal('https://data1.blob.core.windows.net', container)).toBeUndefined();
  });

  it("refuses the landing account's own containers whatever the list says, with a typed error", () => {
    expect(() => azure('landing1/*').check(undefined, 'landing-failed')).toThrow(IngestValidationError);
    expect(() => azure('landing1/*').check(undefined, 'landing-failed')).toThrow(/the quarantine/);
    expect(() => azure('landing1/*').check(undefined, 'exports')).not.toThrow();
  });
});
