import { blobsOfMessage } from '../../bench/children/landingEvents';
import { SUBMISSION_BLOBS } from '../../dev/standin/queueMessage';

const encoded = (message: object) => Buffer.from(JSON.stringify(message)).toString('base64');

describe("the landing benchmark's check: blobs named by the DM queue's messages", () => {
  it('counts a v1 message as one blob and a v2 submission as each of its blobs', () => {
    expect(blobsOfMessage(encoded({ Id: 'a', BlobPath: 'https://x/landing/1.csv', DatabaseName: 'd' }))).toBe(
      1,
    );
    const blobs = [1, 2, 3].map((i) => ({ Id: `id-${i}`, BlobPath: `https://x/landing/${i}.csv` }));
    expect(blobsOfMessage(encoded({ DatabaseName: 'd', [SUBMISSION_BLOBS]: blobs }))).toBe(3);
  });

  it('refuses what is not a base64 JSON message, rather than counting it', () => {
    expect(() => blobsOfMessage(Buffer.from('not json').toString('base64'))).toThrow();
  });
});
