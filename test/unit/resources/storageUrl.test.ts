import { parseStorageResourceUrl } from '../../../shared/resources/storageUrl';

describe('parseStorageResourceUrl', () => {
  it('reads host-style Azure URLs', () => {
    expect(parseStorageResourceUrl('https://acct1.blob.core.windows.net/tmp-0?sv=1&sig=x')).toEqual({
      url: 'https://acct1.blob.core.windows.net/tmp-0?sv=1&sig=x',
      accountName: 'acct1',
      name: 'tmp-0',
      accountUrl: 'https://acct1.blob.core.windows.net',
      sas: 'sv=1&sig=x',
    });
  });

  it('reads path-style emulator URLs (Azurite on an IP or localhost)', () => {
    expect(parseStorageResourceUrl('http://127.0.0.1:10001/devstoreaccount2/q?sig=x')).toMatchObject({
      accountName: 'devstoreaccount2',
      name: 'q',
      accountUrl: 'http://127.0.0.1:10001/devstoreaccount2',
    });
    expect(parseStorageResourceUrl('http://localhost:10002/devstoreaccount1/ingestionsstatus')).toMatchObject(
      {
        accountName: 'devstoreaccount1',
        name: 'ingestionsstatus',
        sas: '',
      },
    );
  });

  it.each([
    'not a url',
    'ftp://a.example/x',
    'https://acct.blob.core.windows.net/',
    'http://127.0.0.1:10000/devstoreaccount1',
  ])('refuses %p', (url) => {
    expect(() => parseStorageResourceUrl(url)).toThrow(TypeError);
  });
});
