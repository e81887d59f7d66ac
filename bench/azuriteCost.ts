/**
 * `npm run bench:azurite [-- --runs N]`: the CPU the local Azurite spends per request of each kind the
 * small-file benchmarks make (Put Blob of 1 KB, Put Message), as shipped (`KIF_AZURITE_STOCK=1`) and with
 * the preload of dev/azuritePreload.ts, alternating, each run on an Azurite of its own: the first 1,000 of
 * each kind (a fresh process, code not yet loaded or optimized) and 2,000 more (warm). 50 requests in flight,
 * signed with a SAS as the clients sign theirs, through keep-alive node:http (children/raw.ts). What it
 * shows: where an Azurite-bound benchmark's ratios come from (bench/README.md, scenario 13).
 */
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY, startAzurite } from '../dev/azurite';
import { send, VERSION } from './children/raw';
import { alternate, median, pool, processCpuSeconds, type Metrics } from './harness';

const IN_FLIGHT = 50;
const COLD = 1000;
const WARM = 2000;

/** Azurite's CPU ms per request over `count` requests made by `one`. */
async function cpuPerRequest(pid: number | undefined, count: number, one: (i: number) => Promise<unknown>) {
  const before = processCpuSeconds(pid);
  await pool(count, IN_FLIGHT, async (i) => {
    await one(i);
  });
  return ((processCpuSeconds(pid) - before) * 1000) / count;
}

async function measure(stock: boolean): Promise<Metrics> {
  const previous = process.env.KIF_AZURITE_STOCK;
  process.env.KIF_AZURITE_STOCK = stock ? '1' : '0';
  const azurite = await startAzurite({}).finally(() => {
    if (previous === undefined) delete process.env.KIF_AZURITE_STOCK;
    else process.env.KIF_AZURITE_STOCK = previous;
  });
  try {
    const sas = generateAccountSASQueryParameters(
      {
        permissions: AccountSASPermissions.parse('rwdlacup'),
        services: AccountSASServices.parse('bq').toString(),
        resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
        expiresOn: new Date(Date.now() + 3_600_000),
      },
      new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_ACCOUNT_KEY),
    ).toString();
    const container = `${azurite.blobEndpoint()}/costs`;
    const queue = `${azurite.queueEndpoint()}/costs`;
    await send('PUT', `${container}?restype=container&${sas}`, VERSION, '');
    await send('PUT', `${queue}?${sas}`, VERSION, '');
    const body = Buffer.alloc(1024, 'k');
    const message = `<QueueMessage><MessageText>${body.toString('base64', 0, 300)}</MessageText></QueueMessage>`;
    let n = 0;
    const putBlob = () =>
      send('PUT', `${container}/file-${n++}.csv?${sas}`, { ...VERSION, 'x-ms-blob-type': 'BlockBlob' }, body);
    const putMessage = () => send('POST', `${queue}/messages?${sas}`, VERSION, message);
    return {
      putBlobColdMs: await cpuPerRequest(azurite.pid, COLD, putBlob),
      putMessageColdMs: await cpuPerRequest(azurite.pid, COLD, putMessage),
      putBlobWarmMs: await cpuPerRequest(azurite.pid, WARM, putBlob),
      putMessageWarmMs: await cpuPerRequest(azurite.pid, WARM, putMessage),
    };
  } finally {
    await azurite.stop();
  }
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--runs');
  const runs = at > 0 ? Number(process.argv[at + 1]) : 3;
  const log = (line: string) => console.log(line);
  log(
    `Azurite CPU per request: ${COLD} cold then ${WARM} warm of each kind, ${IN_FLIGHT} in flight, ${runs} runs`,
  );
  const samples = await alternate(
    runs,
    [
      { name: 'stock', run: () => measure(true) },
      { name: 'patched', run: () => measure(false) },
    ],
    log,
  );
  const m = (variant: string, metric: string) => median(samples[variant]?.[metric] ?? []);
  log('\nrequest            stock ms  patched ms  stock/patched');
  for (const [label, metric] of [
    ['Put Blob, cold', 'putBlobColdMs'],
    ['Put Message, cold', 'putMessageColdMs'],
    ['Put Blob, warm', 'putBlobWarmMs'],
    ['Put Message, warm', 'putMessageWarmMs'],
  ] as const) {
    const stock = m('stock', metric);
    const patched = m('patched', metric);
    log(
      `${label.padEnd(17)}  ${stock.toFixed(3).padStart(8)}  ${patched.toFixed(3).padStart(10)}  ${(stock / patched).toFixed(2).padStart(12)}x`,
    );
  }
  for (const variant of ['stock', 'patched'])
    log(
      `${variant}: a Put Blob costs ${(m(variant, 'putBlobWarmMs') / m(variant, 'putMessageWarmMs')).toFixed(2)} Put Messages warm, ` +
        `${(m(variant, 'putBlobColdMs') / m(variant, 'putMessageColdMs')).toFixed(2)} cold`,
    );
}

if (require.main === module)
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
