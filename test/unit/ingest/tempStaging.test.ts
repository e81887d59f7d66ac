import { TempStaging, type ContainerList, type TempStagingOptions } from '../../../shared/ingest/tempStaging';
import { parseStorageResourceUrl } from '../../../shared/resources/storageUrl';

/** Signing a staged blob reads none of the staging's upload machinery. */
const staging = new TempStaging({} as TempStagingOptions);
const container = (account: string, name: string, sig: string) =>
  parseStorageResourceUrl(`https://${account}.blob.core.windows.net/${name}?sv=1&sig=${sig}`);
const staged = (path: string) => ({ sourceId: 'id', blobPath: path, rawDataSize: 1 });

describe('TempStaging.signedUrl', () => {
  const v1 = container('v1acct', 'temp', 'V1SIG');
  const v2 = container('v2acct', 'temp', 'V2SIG');
  const asked: string[] = [];
  const list =
    (name: string, ...containers: ReturnType<typeof container>[]): ContainerList =>
    () => {
      asked.push(name);
      return Promise.resolve(containers);
    };
  beforeEach(() => (asked.length = 0));

  it('signs with the first list that holds the container, and asks the next only when it does not', async () => {
    const blob = staged('https://v2acct.blob.core.windows.net/temp/a.csv.gz');
    const signed = await staging.signedUrl(blob, [list('v2', v2), list('v1', v1)], undefined);
    expect(signed?.url).toBe(`${blob.blobPath}?sv=1&sig=V2SIG`);
    expect(asked).toEqual(['v2']);

    const onV1 = staged('https://v1acct.blob.core.windows.net/temp/b.csv.gz');
    expect((await staging.signedUrl(onV1, [list('v2', v2), list('v1', v1)], undefined))?.url).toBe(
      `${onV1.blobPath}?sv=1&sig=V1SIG`,
    );
    expect(asked).toEqual(['v2', 'v2', 'v1']);
  });

  it('is undefined when no list holds the container (the service no longer hands it out)', async () => {
    const gone = staged('https://other.blob.core.windows.net/temp/c.csv.gz');
    expect(await staging.signedUrl(gone, [list('v2', v2), list('v1', v1)], undefined)).toBeUndefined();
    // A container whose name only starts like the blob's is not its container.
    const lookalike = staged('https://v1acct.blob.core.windows.net/temporary/d.csv.gz');
    expect(await staging.signedUrl(lookalike, [list('v1', v1)], undefined)).toBeUndefined();
  });
});
