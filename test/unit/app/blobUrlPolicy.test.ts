import { checkAccountUrl, checkBlobUrl } from '../../../shared/app/push/blobUrlPolicy';
import { IngestValidationError } from '../../../shared/errors';

const azure = { allowedHosts: [], localOrigin: undefined };
const local = { allowedHosts: [], localOrigin: 'http://127.0.0.1:10000' };

describe('checkBlobUrl', () => {
  it.each([
    ['an Azure blob endpoint with a SAS', 'https://acct.blob.core.windows.net/c/a.csv?sv=1&sig=x', azure],
    ['a Data Lake endpoint', 'https://acct.dfs.core.windows.net/c/dir/a.csv', azure],
    ['a sovereign cloud', 'https://acct.blob.core.chinacloudapi.cn/c/a.csv', azure],
    ['the local emulator, when the app runs on it', 'http://127.0.0.1:10000/devstoreaccount1/c/a.csv', local],
    [
      'a host the settings allow',
      'https://files.corp.example/c/a.csv',
      { allowedHosts: ['*.corp.example'], localOrigin: undefined },
    ],
  ])('accepts %s', (_name, url, policy) => {
    expect(checkBlobUrl(url, policy)).toBe(url);
  });

  it.each([
    ['not a URL', 'not-a-url', azure, /not a URL/],
    ['plain http', 'http://acct.blob.core.windows.net/c/a.csv', azure, /not https/],
    [
      'the instance metadata endpoint',
      'https://169.254.169.254/metadata/instance',
      azure,
      /not on an Azure Storage/,
    ],
    ['loopback other than the emulator', 'http://127.0.0.1:8081/c/a.csv', local, /not https/],
    [
      'the emulator when the app runs in Azure',
      'http://127.0.0.1:10000/devstoreaccount1/c/a.csv',
      azure,
      /not https/,
    ],
    ['another host', 'https://example.com/c/a.csv', azure, /ALLOWED_BLOB_HOSTS/],
    [
      'an Azure host on another port',
      'https://acct.blob.core.windows.net:8443/c/a.csv',
      azure,
      /not on an Azure Storage/,
    ],
    [
      'a look-alike host',
      'https://acct.blob.core.windows.net.evil.example/c/a.csv',
      azure,
      /not on an Azure Storage/,
    ],
    [
      'a credential suffix',
      'https://acct.blob.core.windows.net/c/a.csv;managed_identity=system',
      azure,
      /credentials cannot be chosen/,
    ],
    [
      'a suffix after the SAS',
      'https://acct.blob.core.windows.net/c/a.csv?sig=x;impersonate',
      azure,
      /credentials cannot be chosen/,
    ],
    ['no blob name', 'https://acct.blob.core.windows.net/c', azure, /names no blob/],
    // The URL parser drops the space and reads the backslash as a slash: what was checked is not what a
    // string forwarded as given would reach.
    ['a leading space', ' https://acct.blob.core.windows.net/c/a.csv', azure, /whitespace or a backslash/],
    [
      'a backslash before an @',
      'https://acct.blob.core.windows.net\\@evil.com/c/a.csv',
      azure,
      /whitespace or a backslash/,
    ],
    ['a tab in the path', 'https://acct.blob.core.windows.net/c/a\t.csv', azure, /whitespace or a backslash/],
  ])('refuses %s', (_name, url, policy, message) => {
    expect(() => checkBlobUrl(url, policy)).toThrow(IngestValidationError);
    expect(() => checkBlobUrl(url, policy)).toThrow(message);
  });

  it('answers the URL as parsed and serialised again, not the string it was given', () => {
    expect(checkBlobUrl('HTTPS://ACCT.blob.core.windows.net/c/a.csv?sv=1&sig=a%2Fb%3D', azure)).toBe(
      'https://acct.blob.core.windows.net/c/a.csv?sv=1&sig=a%2Fb%3D',
    );
  });

  it('never echoes the SAS', () => {
    expect(() => checkBlobUrl('http://acct.blob.core.windows.net/c/a.csv?sig=SECRET', azure)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('SECRET') as unknown }) as Error,
    );
  });
});

describe('checkAccountUrl (a backfill of another account)', () => {
  const onAzure = { localEmulator: false };
  const onEmulator = { localEmulator: true };
  it.each([
    [
      'an Azure blob endpoint',
      'https://archive.blob.core.windows.net/',
      onAzure,
      'https://archive.blob.core.windows.net',
    ],
    [
      'a Data Lake endpoint, as its blob endpoint',
      'https://Archive.dfs.core.windows.net',
      onAzure,
      'https://archive.blob.core.windows.net',
    ],
    [
      "the China cloud's",
      'https://archive.blob.core.chinacloudapi.cn',
      onAzure,
      'https://archive.blob.core.chinacloudapi.cn',
    ],
    [
      'the emulator, path-style',
      'http://127.0.0.1:10000/devstoreaccount1',
      onEmulator,
      'http://127.0.0.1:10000/devstoreaccount1',
    ],
    [
      'another emulator on loopback',
      'https://127.0.0.1:10443/other1/',
      onEmulator,
      'https://127.0.0.1:10443/other1',
    ],
  ])('accepts %s', (_name, url, policy, normalised) => {
    expect(checkAccountUrl(url, policy)).toBe(normalised);
  });

  it.each([
    ['not a URL', 'archive', onAzure, /not a URL/],
    ['plain http', 'http://archive.blob.core.windows.net', onAzure, /not https/],
    // ALLOWED_BLOB_HOSTS (blob references) never applies here: the app would send its own token there.
    ['another host', 'https://example.com', onAzure, /not an Azure Storage blob endpoint/],
    [
      'a host under an Azure-looking name',
      'https://archive.blob.core.windows.net.evil.com',
      onAzure,
      /not an Azure Storage/,
    ],
    ['the instance metadata endpoint', 'https://169.254.169.254', onAzure, /not an Azure Storage/],
    [
      'an emulator URL when the app is not on one',
      'http://127.0.0.1:10000/devstoreaccount1',
      onAzure,
      /not https/,
    ],
    [
      'a port on an Azure host',
      'https://archive.blob.core.windows.net:8443',
      onAzure,
      /not an Azure Storage/,
    ],
    [
      'more labels before the suffix',
      'https://archive.privatelink.blob.core.windows.net',
      onAzure,
      /account names are/,
    ],
    [
      'an upper-case emulator account',
      'http://127.0.0.1:10000/DEVSTOREACCOUNT1',
      onEmulator,
      /3-24 lower-case/,
    ],
    [
      'an emulator URL with a container',
      'http://127.0.0.1:10000/devstoreaccount1/c',
      onEmulator,
      /give the container as/,
    ],
    ['a SAS', 'https://archive.blob.core.windows.net?sv=1&sig=SECRET', onAzure, /credentials, a query/],
    [
      'a credential suffix',
      'https://archive.blob.core.windows.net;managed_identity=system',
      onAzure,
      /suffix/,
    ],
    ['a leading space', ' https://archive.blob.core.windows.net', onAzure, /whitespace or a backslash/],
    ['a backslash', 'https://archive.blob.core.windows.net\\@evil.com', onAzure, /whitespace or a backslash/],
    [
      'a container in the URL',
      'https://archive.blob.core.windows.net/exports',
      onAzure,
      /give the container as/,
    ],
  ])('refuses %s', (_name, url, policy, message) => {
    expect(() => checkAccountUrl(url, policy)).toThrow(IngestValidationError);
    expect(() => checkAccountUrl(url, policy)).toThrow(message);
    expect(() => checkAccountUrl(url, policy)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('SECRET') as unknown }) as Error,
    );
  });
});
