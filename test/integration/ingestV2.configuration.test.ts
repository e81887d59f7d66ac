/**
 * Ingest v2, its first step: the REST ingestion configuration as the stand-in serves it (both protocols, or
 * v1 only), read by the library's configuration source over the real REST client, and the protocol chosen
 * from it. The containers it hands out take an upload with their SAS.
 */
import { ContainerClient } from '@azure/storage-blob';
import { KustoRestClient } from '../../shared/kusto/kustoRestClient';
import { chooseProtocol, IngestionConfigurationSource } from '../../shared/ingest/v2/ingestionConfiguration';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';

let both: PrivateStandin;
let v1Only: PrivateStandin;

beforeAll(async () => {
  both = await startPrivateStandin({ ingestProtocol: 'both' });
  v1Only = await startPrivateStandin({ ingestProtocol: 'v1' });
});
afterAll(async () => {
  await both.stop();
  await v1Only.stop();
});

const configurationOf = (standin: PrivateStandin) =>
  new IngestionConfigurationSource({ client: new KustoRestClient({ baseUrl: standin.standin.dmUrl }) });

it('serves the configuration with its temp containers, which take an upload with their SAS; REST is preferred', async () => {
  const config = await configurationOf(both).get();
  expect(config).toMatchObject({ maxBlobsPerBatch: 20, refreshIntervalMs: 1_800_000, preferred: 'v2' });
  expect(config?.containers.map((c) => c.name).sort()).toEqual(
    [...both.layout.tempContainers, ...both.layout.tempContainers].sort(),
  );
  const [first] = config?.containers ?? [];
  if (!first) throw new Error('no container');
  const blob = new ContainerClient(first.url).getBlockBlobClient('v2-config-check.csv');
  await blob.upload('1,a\n', 4);
  expect((await blob.getProperties()).contentLength).toBe(4);
  expect(chooseProtocol('auto', config)).toMatchObject({ protocol: 'v2' });
});

it('answers 404 when it serves v1 only, and auto then chooses v1', async () => {
  const configs = configurationOf(v1Only);
  expect(await configs.get()).toBeUndefined();
  expect(chooseProtocol('auto', await configs.get())).toEqual({
    protocol: 'v1',
    why: 'the cluster has no REST ingestion configuration (404)',
  });
  expect(configs.reads).toBe(1);
});
