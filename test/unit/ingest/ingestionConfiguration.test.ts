import {
  chooseProtocol,
  DEFAULT_MAX_BLOBS_PER_BATCH,
  IngestionConfigurationSource,
  parseIngestionConfiguration,
  parseTimeSpan,
  preferredProtocol,
} from '../../../shared/ingest/v2/ingestionConfiguration';
import { IngestServiceError } from '../../../shared/errors';

/** The response example of MicrosoftDocs/dataexplorer-docs, queued-ingest-configuration-http.md. */
const DOCS_EXAMPLE = {
  containerSettings: {
    containers: [
      {
        path: 'https://mystorageaccount.blob.core.windows.net/ingestdata?sv=2021-06-08&ss=b&srt=sco&sp=rwdlacx&se=2025-12-31T23:59:59Z&st=2025-01-01T00:00:00Z&spr=https&sig=abc',
      },
    ],
    lakeFolders: [{ path: 'https://daily-onelake.dfs.fabric.microsoft.com/workspace/artifact/Files' }],
    refreshInterval: '01:00:00',
    preferredUploadMethod: 'Storage',
  },
  ingestionSettings: { maxBlobsPerBatch: 20, maxDataSize: 6442450944, preferredIngestionMethod: 'REST' },
};

describe('the REST ingestion configuration', () => {
  it("reads the documentation's example", () => {
    const config = parseIngestionConfiguration(DOCS_EXAMPLE);
    expect(config).toMatchObject({
      lakeFolders: 1,
      refreshIntervalMs: 3_600_000,
      maxBlobsPerBatch: 20,
      maxDataSize: 6442450944,
      preferred: 'v2',
      preferredAsSent: 'REST',
    });
    expect(config.containers.map((c) => [c.accountName, c.name, c.sas.startsWith('sv=')])).toEqual([
      ['mystorageaccount', 'ingestdata', true],
    ]);
  });

  it('takes what the clients and the docs spell differently, and what they leave out', () => {
    const sparse = parseIngestionConfiguration({
      containerSettings: {
        containers: [{ path: 'https://a.blob.core.windows.net/c?sig=x' }],
        lakeFolders: null,
      },
      ingestionSettings: {},
    });
    expect(sparse).toMatchObject({
      maxBlobsPerBatch: DEFAULT_MAX_BLOBS_PER_BATCH,
      refreshIntervalMs: 3_600_000,
      preferred: undefined,
      maxDataSize: undefined,
    });
    expect(parseIngestionConfiguration({}).containers).toEqual([]);
  });

  it.each([
    ['V2', 'v2'],
    ['REST', 'v2'],
    ['Rest', 'v2'],
    [' rest ', 'v2'],
    ['V1', 'v1'],
    ['Queue', 'v1'],
    ['Legacy', 'v1'],
    ['Something', undefined],
    [null, undefined],
    [undefined, undefined],
  ])('reads preferredIngestionMethod %p as %p', (value, expected) => {
    expect(preferredProtocol(value)).toBe(expected);
  });

  it.each([
    ['01:00:00', 3_600_000],
    ['00:30:00', 1_800_000],
    ['1.02:00:00', 26 * 3_600_000],
    ['00:00:01.5', 1_500],
    ['1:00:00', 3_600_000],
    ['01:61:00', undefined],
    ['PT1H', undefined],
    ['', undefined],
  ])('reads the duration %p as %p ms', (text, ms) => {
    expect(parseTimeSpan(text)).toBe(ms);
  });

  it('refuses a configuration that offers lake folders only, saying what to do', () => {
    const lakeOnly = {
      containerSettings: {
        containers: [],
        lakeFolders: [{ path: 'https://x.dfs.fabric.microsoft.com/w/a/Files' }],
      },
    };
    expect(() => parseIngestionConfiguration(lakeOnly)).toThrow(IngestServiceError);
    expect(() => parseIngestionConfiguration(lakeOnly)).toThrow(/lake folders .*KUSTO_INGEST_PROTOCOL=v1/);
  });

  it('refuses a container that is no storage URL, and a body of another shape', () => {
    expect(() =>
      parseIngestionConfiguration({ containerSettings: { containers: [{ path: 'not a url' }] } }),
    ).toThrow(/Container 0 .* not a storage URL/);
    expect(() => parseIngestionConfiguration({ ingestionSettings: { maxBlobsPerBatch: 'many' } })).toThrow(
      /not in the documented shape/,
    );
  });
});

describe('choosing the protocol', () => {
  const prefers = (method: string | undefined) =>
    parseIngestionConfiguration({
      containerSettings: { containers: [{ path: 'https://a.blob.core.windows.net/c?sig=x' }] },
      ingestionSettings: method === undefined ? {} : { preferredIngestionMethod: method },
    });

  it.each([
    ['auto', 'REST', 'v2', /prefers REST ingestion/],
    ['auto', 'Queue', 'v1', /prefers queue ingestion/],
    ['auto', undefined, 'v1', /states no preferred/],
    ['auto', 'Whatever', 'v1', /prefers queue ingestion \(preferredIngestionMethod Whatever\)/],
    ['v1', 'REST', 'v1', /KUSTO_INGEST_PROTOCOL is v1/],
    ['v2', 'Queue', 'v2', /KUSTO_INGEST_PROTOCOL is v2/],
  ] as const)('%s with %p chooses %s', (setting, method, protocol, why) => {
    const choice = chooseProtocol(setting, prefers(method));
    expect(choice.protocol).toBe(protocol);
    expect(choice.why).toMatch(why);
  });

  it('takes v1 when the cluster has no configuration endpoint, and refuses v2 forced there', () => {
    expect(chooseProtocol('auto', undefined)).toEqual({
      protocol: 'v1',
      why: 'the cluster has no REST ingestion configuration (404)',
    });
    expect(() => chooseProtocol('v2', undefined)).toThrow(/answered 404\): use auto or v1/);
  });

  it('never names a URL or a SAS in why', () => {
    const choice = chooseProtocol('auto', parseIngestionConfiguration(DOCS_EXAMPLE));
    expect(choice.why).not.toMatch(/https?:|sig=/);
  });
});

describe('the configuration, read and kept', () => {
  function source(answers: (() => unknown)[]) {
    let now = 0;
    const asked: Record<string, string>[] = [];
    const client = {
      getJson: (
        _path: string,
        _what: string,
        _op: string,
        options: { headers?: Record<string, string> } = {},
      ): Promise<unknown> => {
        asked.push({ ...options.headers });
        const next = answers.shift();
        if (!next) throw new Error('asked once too often');
        // An answer that throws is the client's rejected call.
        return Promise.resolve().then(next);
      },
    };
    const configs = new IngestionConfigurationSource({ client, clock: () => now });
    return { configs, asked, advance: (ms: number) => (now += ms) };
  }
  const notFound = () => {
    throw new IngestServiceError('404', 'NotFound', 404);
  };

  it('is read once, then again after its refresh interval or when told to (an early 403)', async () => {
    const { configs, asked, advance } = source([() => DOCS_EXAMPLE, () => DOCS_EXAMPLE, () => DOCS_EXAMPLE]);
    await configs.get();
    await configs.get();
    expect(configs.reads).toBe(1);
    expect(asked[0]).toEqual({ 'x-ms-version': '2024-12-12' });
    advance(3_600_000);
    await configs.get();
    expect(configs.reads).toBe(2);
    configs.invalidate();
    await configs.get();
    expect(configs.reads).toBe(3);
  });

  it('remembers a 404 as "no configuration" until the next refresh, and then asks again', async () => {
    const { configs, advance } = source([notFound, () => DOCS_EXAMPLE]);
    expect(await configs.get()).toBeUndefined();
    expect(await configs.get()).toBeUndefined();
    expect(configs.reads).toBe(1);
    advance(3_600_000);
    expect((await configs.get())?.preferred).toBe('v2');
  });

  it('throws any other failure as it is, and keeps nothing of it', async () => {
    const { configs } = source([
      () => {
        throw new IngestServiceError('bad', 'BadRequest', 400);
      },
      () => DOCS_EXAMPLE,
    ]);
    await expect(configs.get()).rejects.toThrow('bad');
    expect((await configs.get())?.maxBlobsPerBatch).toBe(20);
  });

  it('reads once for callers that ask at the same time', async () => {
    const { configs } = source([() => DOCS_EXAMPLE]);
    await Promise.all([configs.get(), configs.get(), configs.get()]);
    expect(configs.reads).toBe(1);
  });
});
