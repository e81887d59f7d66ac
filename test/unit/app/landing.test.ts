import { parseBlobCreated } from '../../../shared/app/landing/blobCreated';
import {
  canonicalBlobUrl,
  landingSourceId,
  pathInContainer,
  unquoteETag,
} from '../../../shared/app/landing/landingBlob';
import { IngestValidationError } from '../../../shared/errors';

describe('parseBlobCreated', () => {
  const data = { url: 'https://a.blob.core.windows.net/landing/x.csv', eTag: '0x1' };
  it('reads Event Grid and CloudEvents schemas, as objects, JSON text or a one-element array', () => {
    const expected = { url: data.url, eTag: '0x1' };
    expect(parseBlobCreated({ eventType: 'Microsoft.Storage.BlobCreated', data })).toEqual(expected);
    expect(parseBlobCreated(JSON.stringify({ type: 'Microsoft.Storage.BlobCreated', data }))).toEqual(
      expected,
    );
    expect(parseBlobCreated([{ eventType: 'Microsoft.Storage.BlobCreated', data }])).toEqual(expected);
    expect(
      parseBlobCreated(Buffer.from(JSON.stringify({ eventType: 'Microsoft.Storage.BlobCreated', data }))),
    ).toEqual(expected);
  });
  it('ignores other event types', () => {
    expect(parseBlobCreated({ eventType: 'Microsoft.Storage.BlobDeleted', data })).toBeUndefined();
  });
  it('refuses what is no event at all: it could never succeed', () => {
    expect(() => parseBlobCreated('not json')).toThrow(IngestValidationError);
    expect(() => parseBlobCreated({ hello: 'world' })).toThrow(/BlobCreated/);
    expect(() =>
      parseBlobCreated([
        { eventType: 'x', data },
        { eventType: 'y', data },
      ]),
    ).toThrow(IngestValidationError);
  });
});

describe('landing blob names and ids', () => {
  it('canonicalises URLs so that Event Grid and the SDK agree on the source id', () => {
    expect(canonicalBlobUrl('HTTPS://Acct.Blob.Core.Windows.Net/landing/my%20dir/a%2Bb.csv?sig=x')).toBe(
      'https://acct.blob.core.windows.net/landing/my dir/a+b.csv',
    );
  });
  it('reads an ETag the same whether quoted, weak or bare', () => {
    expect(unquoteETag('"0x8DC"')).toBe('0x8DC');
    expect(unquoteETag('W/"0x8DC"')).toBe('0x8DC');
    expect(landingSourceId('https://a/landing/x', '"0x8DC"')).toBe(
      landingSourceId('https://a/landing/x', 'W/"0x8DC"'),
    );
    expect(landingSourceId('https://a/landing/x', '0x8DC')).not.toBe(
      landingSourceId('https://a/landing/x', '0x8DD'),
    );
  });
  it('finds a blob path inside its container, and nothing outside it', () => {
    const container = 'http://127.0.0.1:10000/devstoreaccount1/landing';
    expect(pathInContainer(container, `${container}/demo/T/a%20b.csv?sig=1`)).toBe('demo/T/a b.csv');
    expect(
      pathInContainer(container, 'http://127.0.0.1:10000/devstoreaccount1/landing-failed/x.csv'),
    ).toBeUndefined();
  });
});
