import { ContainerClient } from '@azure/storage-blob';
import { parseLandingEvent } from '../../../shared/app/landing/blobCreated';
import { blobClientIn, pathInContainer, unsafeBlobUrl } from '../../../shared/app/landing/landingBlob';
import { IngestValidationError } from '../../../shared/errors';

const landing = 'https://acct.blob.core.windows.net/landing';

describe('blob URLs from messages cannot name a blob outside the container they seem to', () => {
  it.each([
    ['encoded slashes that climb out', `${landing}/D/T/x%2F..%2F..%2Fsecret%2Ff.csv`, /encoded slash/],
    ['an encoded slash in lower case', `${landing}/D/T/x%2f..%2fsecret.csv`, /encoded slash/],
    ['an encoded backslash', `${landing}/D/T/x%5C..%5Csecret.csv`, /encoded slash or backslash/],
    ['a backslash', `${landing}/D/T/..\\..\\secret\\f.csv`, /a backslash/],
    ['a .. segment', `${landing}/D/../../secret/f.csv`, /'\.' or '\.\.' segment/],
    ['an encoded .. segment', `${landing}/D/%2e%2e/%2E%2E/secret/f.csv`, /segment/],
    ['a half-encoded .. segment', `${landing}/D/.%2e/secret/f.csv`, /segment/],
    ['a . segment', `${landing}/./D/T/f.csv`, /segment/],
    ['an encoded control character', `${landing}/D/T/f%00.csv`, /control character/],
    ['a malformed escape', `${landing}/D/T/f%E0%A4%A.csv`, /malformed/],
  ])('refuses %s', (_name, url, why) => {
    expect(unsafeBlobUrl(url)).toMatch(why);
    expect(pathInContainer(landing, url)).toBeUndefined();
    expect(() =>
      parseLandingEvent({ eventType: 'Microsoft.Storage.BlobCreated', data: { url, api: 'PutBlob' } }),
    ).toThrow(IngestValidationError);
  });

  it.each([
    ['a plain path', `${landing}/D/T/2024/f.csv`, 'D/T/2024/f.csv'],
    ['dots inside names', `${landing}/D/T/..hidden/f..csv`, 'D/T/..hidden/f..csv'],
    ['an encoded space and percent', `${landing}/D/T/a%20b%25c.csv`, 'D/T/a b%c.csv'],
    [
      'a SAS after the path (with an encoded slash in the signature)',
      `${landing}/D/T/f.csv?sig=a%2Fb`,
      'D/T/f.csv',
    ],
  ])('takes %s', (_name, url, path) => {
    expect(unsafeBlobUrl(url)).toBeUndefined();
    expect(pathInContainer(landing, url)).toBe(path);
  });

  it('builds a client only when the URL it will request names that blob of that container', () => {
    const container = new ContainerClient(landing);
    expect(blobClientIn(container, 'D/T/f.csv')?.url).toBe(`${landing}/D/T/f.csv`);
    expect(blobClientIn(container, 'D/T/a b%c.csv')?.name).toBe('D/T/a b%c.csv');
    // What the decoded path of the attack would have built: a client of another container.
    expect(blobClientIn(container, 'D/T/x/../../../secret/f.csv')).toBeUndefined();
    expect(blobClientIn(container, '../secret/f.csv')).toBeUndefined();
  });
});
