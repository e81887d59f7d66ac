import { parseLandingEvent } from '../../../shared/app/landing/blobCreated';
import {
  canonicalBlobUrl,
  landingSourceId,
  pathInContainer,
  unquoteETag,
} from '../../../shared/app/landing/landingBlob';
import { IngestValidationError } from '../../../shared/errors';

describe('parseLandingEvent', () => {
  const data = { url: 'https://a.blob.core.windows.net/landing/x.csv', eTag: '0x1' };
  it('reads Event Grid and CloudEvents schemas, as objects, JSON text or a one-element array', () => {
    const expected = { url: data.url, eTag: '0x1' };
    expect(parseLandingEvent({ eventType: 'Microsoft.Storage.BlobCreated', data })).toEqual(expected);
    expect(parseLandingEvent(JSON.stringify({ type: 'Microsoft.Storage.BlobCreated', data }))).toEqual(
      expected,
    );
    expect(parseLandingEvent([{ eventType: 'Microsoft.Storage.BlobCreated', data }])).toEqual(expected);
    expect(
      parseLandingEvent(Buffer.from(JSON.stringify({ eventType: 'Microsoft.Storage.BlobCreated', data }))),
    ).toEqual(expected);
  });
  it('ignores other event types', () => {
    expect(parseLandingEvent({ eventType: 'Microsoft.Storage.BlobDeleted', data })).toEqual({
      ignore: 'not a BlobCreated event (Microsoft.Storage.BlobDeleted)',
    });
  });
  it('takes a file once it is complete: Blob REST writes, a Data Lake flush with close, an SFTP commit', () => {
    const created = (api: string) =>
      parseLandingEvent({ eventType: 'Microsoft.Storage.BlobCreated', data: { ...data, api } });
    for (const api of ['PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose', 'SftpCommit'])
      expect(created(api)).toEqual({ url: data.url, eTag: '0x1' });
    expect(created('CreateFile')).toEqual({ ignore: 'the file is not complete yet (CreateFile)' });
    expect(created('AppendFile')).toEqual({ ignore: 'the file is not complete yet (AppendFile)' });
  });
  it('takes a blob renamed into place as created, by its new name', () => {
    const renamed = {
      eventType: 'Microsoft.Storage.BlobRenamed',
      data: {
        api: 'RenameFile',
        sourceUrl: 'https://a.dfs.core.windows.net/landing/tmp/x.csv._COPYING_',
        destinationUrl: 'https://a.dfs.core.windows.net/landing/demo/T/x.csv',
      },
    };
    expect(parseLandingEvent(renamed)).toEqual({ url: renamed.data.destinationUrl, eTag: undefined });
  });
  it('refuses what is no event at all: it could never succeed', () => {
    expect(() => parseLandingEvent('not json')).toThrow(IngestValidationError);
    expect(() => parseLandingEvent({ hello: 'world' })).toThrow(/BlobCreated/);
    expect(() =>
      parseLandingEvent([
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
    // Data Lake operations name the dfs endpoint: the same blob, the same id.
    expect(canonicalBlobUrl('https://acct.dfs.core.windows.net/landing/a.csv')).toBe(
      'https://acct.blob.core.windows.net/landing/a.csv',
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
