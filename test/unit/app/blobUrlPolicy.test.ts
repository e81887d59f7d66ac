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
    ['not a URL', 'not a url', azure, /not a URL/],
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
  ])('refuses %s', (_name, url, policy, message) => {
    expect(() => checkBlobUrl(url, policy)).toThrow(IngestValidationError);
    expect(() => checkBlobUrl(url, policy)).toThrow(message);
  });

  it('never echoes the SAS', () => {
    expect(() => checkBlobUrl('http://acct.blob.core.windows.net/c/a.csv?sig=SECRET', azure)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('SECRET') as unknown }) as Error,
    );
  });
});

describe('checkAccountUrl (a backfill of another account)', () => {
  it.each([
    [
      'an Azure blob endpoint',
      'https://archive.blob.core.windows.net/',
      azure,
      'https://archive.blob.core.windows.net',
    ],
    [
      'a Data Lake endpoint, as its blob endpoint',
      'https://Archive.dfs.core.windows.net',
      azure,
      'https://archive.blob.core.windows.net',
    ],
    [
      'the emulator, path-style',
      'http://127.0.0.1:10000/devstoreaccount1',
      local,
      'http://127.0.0.1:10000/devstoreaccount1',
    ],
    [
      'an allowed path-style host',
      'https://127.0.0.1:10443/other/',
      { allowedHosts: ['127.0.0.1:10443'], localOrigin: undefined },
      'https://127.0.0.1:10443/other',
    ],
  ])('accepts %s', (_name, url, policy, normalised) => {
    expect(checkAccountUrl(url, policy)).toBe(normalised);
  });

  it.each([
    ['not a URL', 'archive', azure, /not a URL/],
    ['plain http', 'http://archive.blob.core.windows.net', azure, /not https/],
    ['another host', 'https://example.com', azure, /ALLOWED_BLOB_HOSTS/],
    ['the instance metadata endpoint', 'https://169.254.169.254', azure, /not on an Azure Storage/],
    ['a SAS', 'https://archive.blob.core.windows.net?sv=1&sig=SECRET', azure, /credentials, a query/],
    ['a credential suffix', 'https://archive.blob.core.windows.net;managed_identity=system', azure, /suffix/],
    [
      'a container in the URL',
      'https://archive.blob.core.windows.net/exports',
      azure,
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
