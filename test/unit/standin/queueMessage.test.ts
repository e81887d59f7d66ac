import { decodeQueueMessages, SUBMISSION_BLOBS } from '../../../dev/standin/queueMessage';

const encode = (body: unknown) => Buffer.from(JSON.stringify(body), 'utf8').toString('base64');
const shared = {
  DatabaseName: 'demo',
  TableName: 'T',
  ReportLevel: 1,
  AdditionalProperties: { format: 'csv', tags: '["a"]' },
};

describe("the stand-in DM's queue messages", () => {
  it("reads a client's message as one blob", () => {
    const [only, ...rest] = decodeQueueMessages(encode({ ...shared, Id: 'x', BlobPath: 'https://a/b.csv' }));
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ id: 'x', blobPath: 'https://a/b.csv', database: 'demo', table: 'T' });
  });

  it("reads its own submission message as each blob, with the submission's properties", () => {
    const messages = decodeQueueMessages(
      encode({
        ...shared,
        [SUBMISSION_BLOBS]: [
          { Id: 'one', BlobPath: 'https://a/1.csv', RawDataSize: 10 },
          { Id: 'two', BlobPath: 'https://a/2.csv' },
        ],
      }),
    );
    expect(messages.map((m) => [m.id, m.blobPath, m.rawDataSize])).toEqual([
      ['one', 'https://a/1.csv', 10],
      ['two', 'https://a/2.csv', undefined],
    ]);
    expect(messages.every((m) => m.table === 'T' && m.properties.tags === '["a"]')).toBe(true);
  });

  it.each([
    ['names no blob', []],
    ['is not a list', { Id: 'one' }],
    ['holds a blob that is not an object', ['https://a/1.csv']],
    ['holds a blob without a path', [{ Id: 'one' }]],
  ])('refuses a submission message that %s as corrupted', (_name, blobs) => {
    expect(() => decodeQueueMessages(encode({ ...shared, [SUBMISSION_BLOBS]: blobs }))).toThrow(
      expect.objectContaining({ code: 'BadRequest_CorruptedMessage' }) as Error,
    );
  });
});
