/**
 * The fault campaign, kept as a suite: drives the local stack with HTTP pushes (with and without an
 * Idempotency-Key, retried as a careful client would), blob references (`/blobs`), landing blobs and a
 * backfill job over blobs that were there before, while a seeded schedule breaks things: the stand-in's
 * switches (transient and permanent ingestion failures, bursts of throttling and 5xx on its management
 * endpoint, a slow and a paused worker), storage calls failing through a proxy (before storage, and applied
 * with the answer lost, Put Message included), Azurite stopped and restarted (on disk: it keeps what it
 * acknowledged), and the function host killed with requests in flight. Some items name a table that does
 * not exist yet: once the submissions are done an operator creates it and retries those failures, as one
 * would. Then it lets the app settle (sweeps) and audits every item, by its latest attempt (a failure an
 * operator retried is superseded by the retry's outcome):
 *
 *   - answered 2xx (or dropped into landing, or found by the backfill): ingested exactly once, or reported
 *     exactly once;
 *   - answered with a refusal: nothing ingested, nothing reported;
 *   - never answered (the connection died): at most one of the two, at most once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AzureNamedKeyCredential } from '@azure/core-auth';
import { TableClient } from '@azure/data-tables';
import {
  BlobSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import {
  QueueServiceClient,
  StorageSharedKeyCredential as QueueKeyCredential,
  type QueueClient,
} from '@azure/storage-queue';
import { canonicalBlobUrl, landingSourceId } from '../../shared/app/landing/landingBlob';
import { pushSourceId } from '../../shared/app/push/pushData';
import { freePort, startAzurite } from '../azurite';
import { LandingWatcher } from '../host/landingWatcher';
import { startStandin, type StandinInstance } from '../standin/standin';
import type { StandinAccount } from '../standin/storageResources';
import { seeded, startFaultProxy, type FaultProxy } from './faultProxy';

export interface ChaosOptions {
  /** Items to submit (pushes and landing blobs). @default 2000 */
  readonly items?: number;
  /** Seed of every random choice: the same seed, the same campaign. @default 1 */
  readonly seed?: number;
  /** Items in flight at once. @default 24 */
  readonly concurrency?: number;
  /** Azurite stops and restarts during the run. @default 1 */
  readonly azuriteRestarts?: number;
  /** Host kills (SIGKILL) with requests in flight. @default 1 */
  readonly hostKills?: number;
  /**
   * After each host kill, the ingestion service answers every management command 503 for this long: the
   * restarted host has no cached ingestion resources, so landing events fail every try the queue gives
   * them (the run lowers maxDequeueCount to 2) and must be put back, not parked. @default 25
   */
  readonly outageSeconds?: number;
  /** How long the app may take to settle after the last item. @default 5 minutes */
  readonly settleTimeoutMs?: number;
  readonly log?: (line: string) => void;
  /**
   * A file for the run's whole record: every line of the host (its info events too) and the stand-in's
   * record of each message it took. What the audit's problem lines point into. @default none
   */
  readonly traceFile?: string;
}

type Kind = 'keyed push' | 'push' | 'landing' | 'blob ref' | 'backfill';
type Answer = 'accepted' | 'refused' | 'unanswered';

interface Item {
  readonly id: string;
  readonly kind: Kind;
  readonly table: string;
  /** Rows that fail ingestion for good (a wrong number of fields): must be reported, not ingested. */
  readonly bad: boolean;
  answer?: Answer;
  sourceId?: string;
  /** What each HTTP attempt was answered (status, and the error's code), for a problem's study. */
  readonly answers: string[];
}

export interface ChaosReport {
  readonly items: number;
  readonly accepted: number;
  readonly ingestedOnce: number;
  readonly reportedOnce: number;
  readonly duplicated: number;
  readonly lost: number;
  readonly refused: number;
  readonly refusedLeftBehind: number;
  readonly unanswered: number;
  readonly unansweredBoth: number;
  /** Items ingested once after a failure an operator retried (its report superseded by the retry). */
  readonly superseded: number;
  /** Each class of outcome (kind and what it came to) and how many items came to it. */
  readonly classes: readonly (readonly [string, number])[];
  readonly azuriteRestarts: number;
  readonly hostKills: number;
  readonly storageFaults: { failedBefore: number; failedAfter: number; unreachable: number };
  /** Landing events put back for later on their last try (an outage outlasted the queue's tries). */
  readonly landingPutBack: number;
  /** Landing events parked in the poison queue at the end (each one an item an operator must replay). */
  readonly landingPoisoned: number;
  readonly failures: readonly string[];
}

const TABLES = ['Chaos1', 'Chaos2', 'Chaos3'];
/** A table created only after the submissions: its items fail, and an operator retries them once it exists. */
const LATE_TABLE = 'ChaosLate';
const BACKFILL_CONTAINER = 'archive';
const REFS_CONTAINER = 'refs';

export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const say = options.log ?? ((line: string) => console.log(line));
  const traceStream = options.traceFile ? createWriteStream(options.traceFile) : undefined;
  const trace = (line: string) => traceStream?.write(`${new Date().toISOString()} ${line}\n`);
  const log = (line: string) => {
    say(line);
    trace(line);
  };
  const total = options.items ?? 2000;
  const random = seeded(options.seed ?? 1);
  const dir = mkdtempSync(join(tmpdir(), 'kif-chaos-'));
  const azurite = await startAzurite({
    location: join(dir, 'azurite'),
    ports: 'free',
    onOutput: (line) => {
      if (process.env.CHAOS_DEBUG || /error|exception|fail/i.test(line)) log(`  [azurite] ${line}`);
    },
  });
  azurite.onUnexpectedExit((code, signal) =>
    log(`  *** Azurite stopped on its own (${String(code ?? signal)})`),
  );
  const proxies: FaultProxy[] = [];
  let standin: StandinInstance | undefined;
  let host: HostProcess | undefined;
  let watcher: LandingWatcher | undefined;
  try {
    for (const port of [azurite.ports.blob, azurite.ports.queue, azurite.ports.table])
      proxies.push(await startFaultProxy(port, seeded((options.seed ?? 1) + port)));
    const [blobProxy, queueProxy, tableProxy] = proxies as [FaultProxy, FaultProxy, FaultProxy];
    const [first] = azurite.accounts;
    if (!first) throw new Error('no storage account');
    const direct: StandinAccount = {
      name: first.name,
      key: first.key,
      blobEndpoint: azurite.blobEndpoint(),
      queueEndpoint: azurite.queueEndpoint(),
      tableEndpoint: azurite.tableEndpoint(),
    };
    const proxied: StandinAccount = {
      ...direct,
      blobEndpoint: `http://127.0.0.1:${blobProxy.port}/${first.name}`,
      queueEndpoint: `http://127.0.0.1:${queueProxy.port}/${first.name}`,
      tableEndpoint: `http://127.0.0.1:${tableProxy.port}/${first.name}`,
    };
    standin = await startStandin({
      accounts: [direct],
      advertisedAccounts: [proxied],
      dmPort: 0,
      enginePort: 0,
      batchingWindowMs: 200,
      // A take of messages whose answer was lost in Azurite's restart hides them this long: a minute, not
      // five, keeps the settling short (batches take seconds at most, so none is taken twice).
      visibilitySeconds: 60,
      log: (line) => trace(`[standin] ${line}`),
      trace: (line) => trace(`[dm] ${line}`),
    });
    for (const t of TABLES) await engine(standin.engineUrl, `.create table ${t} (item:string, n:long)`);
    // Put Message answers are lost too: the message is stored, the app cannot tell (it marks it uncertain).
    for (const p of proxies) p.loseMessageAnswers = true;
    const connection = (a: StandinAccount) =>
      `DefaultEndpointsProtocol=http;AccountName=${a.name};AccountKey=${a.key};BlobEndpoint=${a.blobEndpoint};QueueEndpoint=${a.queueEndpoint};TableEndpoint=${a.tableEndpoint}`;
    const appEnv = {
      KUSTO_INGEST_URI: standin.dmUrl,
      KUSTO_ENGINE_URI: standin.engineUrl,
      KUSTO_AUTH: 'none',
      AzureWebJobsStorage: connection(proxied),
      LandingStorage: connection(proxied),
      LANDING_BLOB_AUTH: 'account-key',
      BACKFILL_SOURCES: `${direct.name}/${BACKFILL_CONTAINER}`,
      LEASE_SECONDS: '20',
      STALE_AFTER_MINUTES: '1',
      HOST_QUEUE_LEASE_SECONDS: '20',
      HOST_VISIBILITY_SECONDS: '2',
      // A landing event whose last try fails in an outage comes back seconds later, not a minute.
      LANDING_RETRY_DELAY_SECONDS: '2',
      // Two tries, not five: the outage after the host kill outlasts them in seconds, not minutes.
      AzureFunctionsJobHost__extensions__queues__maxDequeueCount: '2',
      HOST_PORT: String(await freePort()),
    };
    // What the host's log says happened, counted (a landing event put back for later).
    const said = { putBack: 0 };
    const hear = (line: string) => {
      if (line.includes('"event":"LandingPutBack"')) said.putBack += 1;
      trace(line);
    };
    host = await startHost(appEnv, log, hear);
    const landing = new BlobServiceClient(
      direct.blobEndpoint,
      new StorageSharedKeyCredential(direct.name, direct.key),
    );
    await landing.getContainerClient('landing').createIfNotExists();
    // Event Grid names blobs by the URL the app knows them by: the proxied endpoint (in Azure, one host).
    const appLanding = new BlobServiceClient(
      proxied.blobEndpoint,
      new StorageSharedKeyCredential(direct.name, direct.key),
    );
    watcher = new LandingWatcher({
      container: appLanding.getContainerClient('landing'),
      queue: new QueueServiceClient(
        direct.queueEndpoint,
        new QueueKeyCredential(direct.name, direct.key),
      ).getQueueClient('landing-events'),
      intervalMs: 300,
      log: (line) => trace(`[watcher] ${line}`),
    });
    await watcher.start();

    // The items: most pushes carry a key; a few of every kind hold a row Kusto refuses for good, and a few
    // pushes and landing blobs name the table that comes late.
    const items: Item[] = Array.from({ length: total }, (_, i) => {
      const r = random();
      const kind: Kind =
        r < 0.42
          ? 'keyed push'
          : r < 0.54
            ? 'push'
            : r < 0.74
              ? 'landing'
              : r < 0.84
                ? 'blob ref'
                : 'backfill';
      const late = (kind === 'keyed push' || kind === 'landing') && random() < 0.04;
      return {
        id: `item-${String(i).padStart(5, '0')}`,
        kind,
        table: late ? LATE_TABLE : (TABLES[Math.floor(random() * TABLES.length)] ?? 'Chaos1'),
        bad: random() < 0.05,
        answers: [],
      };
    });
    // Blobs that were there before the app: a backfill job finds them. Blobs callers name by URL.
    const blobs = new BlobServiceClient(
      direct.blobEndpoint,
      new StorageSharedKeyCredential(direct.name, direct.key),
    );
    const archive = blobs.getContainerClient(BACKFILL_CONTAINER);
    const refs = blobs.getContainerClient(REFS_CONTAINER);
    await archive.createIfNotExists();
    await refs.createIfNotExists();
    await pool(
      items.filter((i) => i.kind === 'backfill' || i.kind === 'blob ref'),
      8,
      async (item) => {
        const container = item.kind === 'backfill' ? archive : refs;
        const path = `demo/${item.table}/${item.id}.csv`;
        const uploaded = await container.getBlockBlobClient(path).upload(rowOf(item), rowOf(item).length);
        if (item.kind === 'backfill') {
          // As the app knows the blob: by the proxied endpoint.
          const url = `${proxied.blobEndpoint}/${BACKFILL_CONTAINER}/${path}`;
          item.sourceId = landingSourceId(canonicalBlobUrl(url), uploaded.etag ?? '');
        }
      },
    );
    const refUrl = (item: Item) => {
      const path = `demo/${item.table}/${item.id}.csv`;
      const sas = generateBlobSASQueryParameters(
        {
          containerName: REFS_CONTAINER,
          blobName: path,
          permissions: BlobSASPermissions.parse('r'),
          expiresOn: new Date(Date.now() + 24 * 3600_000),
        },
        new StorageSharedKeyCredential(direct.name, direct.key),
      ).toString();
      return `${proxied.blobEndpoint}/${REFS_CONTAINER}/${path}?${sas}`;
    };

    // The disruptions, at fixed points of the run, so that they fall among requests in flight; the backfill
    // job starts among them too.
    const restartsAt = spread(options.azuriteRestarts ?? 1, total, 0.3);
    const killsAt = spread(options.hostKills ?? 1, total, 0.55);
    const backfillAt = Math.max(1, Math.round(total * 0.4));
    const backfillItems = items.filter((i) => i.kind === 'backfill');
    let submitted = 0;
    let disrupting = Promise.resolve();
    const outageSeconds = options.outageSeconds ?? 25;
    const outage = { on: false };
    const disrupt = (n: number): void => {
      if (n === backfillAt && backfillItems.length > 0)
        disrupting = disrupting.then(async () => {
          log(`  ... an operator starts a backfill of '${BACKFILL_CONTAINER}' (item ${n})`);
          const started = await operatorCall(() => host?.url ?? '', 'POST', 'backfill', {
            container: BACKFILL_CONTAINER,
          });
          for (const item of backfillItems) item.answer = started === undefined ? 'refused' : 'accepted';
        });
      if (restartsAt.includes(n))
        disrupting = disrupting.then(async () => {
          log(`  ... Azurite stops and starts again (item ${n})`);
          await azurite.restart();
        });
      if (killsAt.includes(n))
        disrupting = disrupting.then(async () => {
          log(`  ... the function host is killed with requests in flight (item ${n})`);
          host?.kill();
          await sleep(500);
          const dm = standin;
          if (outageSeconds > 0 && dm) {
            log(`  ... the ingestion service answers 503 for ${outageSeconds} s`);
            outage.on = true;
            dm.faults.update({ mgmt5xx: 1_000_000 });
            setTimeout(() => {
              outage.on = false;
              dm.faults.update({ mgmt5xx: 0 });
              log('  ... the ingestion service is back');
            }, outageSeconds * 1000).unref();
          }
          host = await startHost(appEnv, log, hear);
        });
    };
    const switches = startFaultSchedule(standin, proxies, random, log, () => outage.on);

    await pool(
      items.filter((i) => i.kind !== 'backfill'),
      options.concurrency ?? 24,
      async (item) => {
        disrupt(++submitted);
        await submit(item, () => host?.url ?? '', landing, appLanding, refUrl, random);
      },
    );
    await disrupting;
    await switches.stop();
    log(`  all ${total} submitted; letting the app settle (sweeps every 2 s)`);
    const settleMs = options.settleTimeoutMs ?? 300_000;
    // Landing blobs the watcher has not announced yet, and events still on the landing queue (hidden ones
    // too: put back for later, or taken by the killed host): sources to come, whose rows are not there yet.
    const landingEvents = new QueueServiceClient(
      direct.queueEndpoint,
      new QueueKeyCredential(direct.name, direct.key),
    );
    const landingCount = items.filter((i) => i.kind === 'landing' && i.answer === 'accepted').length;
    const toCome = async () =>
      Math.max(0, landingCount - (watcher?.posted ?? 0)) +
      ((await landingEvents.getQueueClient('landing-events').getProperties()).approximateMessagesCount ?? 0);
    await settle(() => host?.url ?? '', appEnv, standin, settleMs, log, toCome);
    // The operator fixes the cause of the late table's failures, and retries them.
    await engine(standin.engineUrl, `.create table ${LATE_TABLE} (item:string, n:long)`);
    let retried = 0;
    for (let more = true, rounds = 0; more && rounds < 100; rounds++) {
      const answer = (await operatorCall(() => host?.url ?? '', 'POST', 'ingest/retry', {
        database: 'demo',
        table: LATE_TABLE,
      })) as { retried?: number; more?: boolean } | undefined;
      retried += answer?.retried ?? 0;
      more = answer?.more ?? true;
    }
    log(`  an operator created ${LATE_TABLE} and retried ${retried} failures; settling again`);
    await settle(() => host?.url ?? '', appEnv, standin, settleMs, log, toCome);
    const parked = await poisonedBlobs(landingEvents.getQueueClient('landing-events-poison'));

    const report = await audit(items, standin.engineUrl, direct, parked, {
      landingPutBack: said.putBack,
      landingPoisoned: parked.size,
      azuriteRestarts: restartsAt.length,
      hostKills: killsAt.length,
      storageFaults: {
        failedBefore: sum(proxies, (p) => p.counts.failedBefore),
        failedAfter: sum(proxies, (p) => p.counts.failedAfter),
        unreachable: sum(proxies, (p) => p.counts.unreachable),
      },
    });
    return report;
  } finally {
    await watcher?.stop();
    host?.kill();
    await standin?.stop();
    for (const p of proxies) await p.stop();
    await azurite.stop();
    rmSync(dir, { recursive: true, force: true });
    if (traceStream) await new Promise((resolve) => traceStream.end(resolve));
  }
}

const sum = <T>(xs: readonly T[], f: (x: T) => number) => xs.reduce((n, x) => n + f(x), 0);

/** `count` points spread over the run, starting at `from` of it. */
function spread(count: number, total: number, from: number): number[] {
  return Array.from({ length: count }, (_, i) =>
    Math.max(1, Math.round(total * (from + (i * (0.9 - from)) / count))),
  );
}

async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item) await work(item);
      }
    }),
  );
}

async function engine(url: string, csl: string): Promise<unknown[][]> {
  const path = csl.startsWith('.') ? '/v1/rest/mgmt' : '/v1/rest/query';
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ db: 'demo', csl }),
  });
  const body = (await response.json()) as { Tables?: { Rows: unknown[][] }[] };
  if (!response.ok) throw new Error(`${csl}: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body.Tables?.[0]?.Rows ?? [];
}

interface HostProcess {
  readonly url: string;
  kill(): void;
}

/**
 * Starts the local function host in a process of its own and waits until it serves; a start that fails
 * (storage refusing its first calls) is tried again, as the platform starts a failed instance again.
 */
async function startHost(
  env: Record<string, string>,
  log: (line: string) => void,
  trace: (line: string) => void,
): Promise<HostProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startHostOnce(env, log, trace);
    } catch (e) {
      if (attempt >= 10) throw e;
      log(`  [host] did not start (${(e as Error).message.split('\n')[0] ?? ''}); starting it again`);
      await sleep(1_000);
    }
  }
}

async function startHostOnce(
  env: Record<string, string>,
  log: (line: string) => void,
  trace: (line: string) => void,
): Promise<HostProcess> {
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, '..', 'hostMain.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let seen: string | undefined = '';
    child.stdout?.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim() !== '') trace(`[host out] ${line}`);
      if (seen === undefined) return; // served: the rest is only traced
      seen += d.toString();
      const ready = /host ready (\S+)/.exec(seen);
      if (ready?.[1]) {
        seen = undefined;
        resolve(ready[1]);
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim() !== '') log(`  [host] ${line}`);
    });
    child.once('exit', (code) =>
      reject(new Error(`the host exited (${String(code)}) before it served: ${seen}`)),
    );
  });
  return { url, kill: () => child.kill('SIGKILL') };
}

/** Switches the stand-in's faults and the storage proxies' rates at random, every second or so. */
function startFaultSchedule(
  standin: StandinInstance,
  proxies: readonly FaultProxy[],
  random: () => number,
  log: (line: string) => void,
  /** An outage is on: the schedule leaves the management commands' switch to it. */
  outage: () => boolean,
): { stop(): Promise<void> } {
  const state = { running: true };
  const loop = (async () => {
    while (state.running) {
      const r = random();
      if (r < 0.5) standin.faults.update({ failIngestionsTransient: 1 + Math.floor(random() * 4) });
      else if (r < 0.6) standin.faults.update({ failIngestionsPermanent: 1 });
      else if (r < 0.7) standin.faults.update({ ingestDelayMs: Math.floor(random() * 1500) });
      else if (r < 0.78) standin.faults.update({ workerPaused: true });
      else if (r < 0.86)
        standin.faults.update({ throttleResources: 2 + Math.floor(random() * 8), retryAfterSeconds: 1 });
      else if (r < 0.9) {
        const count = 2 + Math.floor(random() * 6); // drawn either way: the same seed, the same schedule
        if (!outage()) standin.faults.update({ mgmt5xx: count });
      } else standin.faults.update({ workerPaused: false, ingestDelayMs: 0 });
      const storm = random() < 0.3;
      for (const p of proxies)
        p.rates = storm ? { before: 0.08, after: 0.04 } : { before: 0.01, after: 0.005 };
      await sleep(800 + Math.floor(random() * 800));
      if (random() < 0.5) standin.faults.update({ workerPaused: false });
    }
    standin.faults.reset();
    if (outage()) standin.faults.update({ mgmt5xx: 1_000_000 }); // the outage runs its course
    for (const p of proxies) p.rates = { before: 0, after: 0 };
    log('  faults off');
  })();
  return {
    stop: async () => {
      state.running = false;
      await loop;
    },
  };
}

/** The body of an item: one row naming it; a refused one has a field too many. */
const rowOf = (item: Item) => (item.bad ? `${item.id},1,extra\n` : `${item.id},1\n`);

/**
 * An operator's call of the app's operator API, tried again on a 5xx or a dead connection; the answer's
 * body, or undefined when it was refused.
 */
async function operatorCall(
  hostUrl: () => string,
  method: string,
  path: string,
  body: unknown,
): Promise<unknown> {
  for (let attempt = 0; attempt < 30; attempt++) {
    try {
      const response = await fetch(`${hostUrl()}/api/${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      if (response.ok) return await response.json();
      if (response.status < 500) return undefined;
    } catch {
      // the host is restarting: try again
    }
    await sleep(1_000);
  }
  return undefined;
}

async function submit(
  item: Item,
  hostUrl: () => string,
  landing: BlobServiceClient,
  appLanding: BlobServiceClient,
  refUrl: (item: Item) => string,
  random: () => number,
): Promise<void> {
  if (item.kind === 'blob ref') {
    // No key for blob references: a request whose answer was lost is not sent again (it could ingest twice);
    // one answered 503 took nothing, and is.
    for (let attempt = 0; attempt < 10; attempt++) {
      let response: Response;
      try {
        response = await fetch(`${hostUrl()}/api/ingest/demo/${item.table}/blobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ blobs: [{ url: refUrl(item) }] }),
          signal: AbortSignal.timeout(30_000),
        });
      } catch {
        item.answer = 'unanswered';
        return;
      }
      const body = (await response.json().catch(() => ({}))) as { results?: { sourceId?: string }[] };
      if (response.status === 202 && body.results?.[0]?.sourceId) {
        item.answer = 'accepted';
        item.sourceId = body.results[0].sourceId;
        return;
      }
      if (response.status !== 503) {
        item.answer = 'refused';
        return;
      }
      await sleep(300 + random() * 1200);
    }
    item.answer = 'refused';
    return;
  }
  if (item.kind === 'landing') {
    const path = `demo/${item.table}/${item.id}.csv`;
    const blob = landing.getContainerClient('landing').getBlockBlobClient(path);
    const body = rowOf(item);
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const uploaded = await blob.upload(body, body.length);
        item.answer = 'accepted'; // it is in landing: from here the app owes it
        const asTheAppKnowsIt = appLanding.getContainerClient('landing').getBlobClient(path).url;
        item.sourceId = landingSourceId(canonicalBlobUrl(asTheAppKnowsIt), uploaded.etag ?? '');
        return;
      } catch {
        await sleep(500 + random() * 1000);
      }
    }
    item.answer = 'refused'; // it never landed
    return;
  }
  const keyed = item.kind === 'keyed push';
  let unanswered = false;
  for (let attempt = 0; attempt < (keyed ? 25 : 1); attempt++) {
    let response: Response;
    try {
      response = await fetch(`${hostUrl()}/api/ingest/demo/${item.table}`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv', ...(keyed && { 'idempotency-key': item.id }) },
        body: rowOf(item),
        signal: AbortSignal.timeout(30_000),
      });
    } catch {
      unanswered = true; // the host died, or storage held the request past the timeout
      await sleep(500 + random() * 1500);
      continue;
    }
    const body = (await response.json().catch(() => ({}))) as {
      sourceId?: string;
      error?: { code?: string; message?: string };
    };
    item.answers.push(
      `${response.status}${body.error ? ` ${body.error.code ?? ''}: ${body.error.message ?? ''}` : ''} at ${new Date().toISOString()}`,
    );
    if (response.status === 202 || response.status === 200) {
      item.answer = 'accepted';
      item.sourceId = body.sourceId;
      return;
    }
    if (response.status === 409) {
      // Another attempt of this request is at work (one whose answer was lost): ask again later.
      unanswered = true;
      const wait = Number(response.headers.get('retry-after') ?? '2');
      await sleep(Math.min(wait, 5) * 1000);
      continue;
    }
    if (response.status < 500) {
      item.answer = unanswered ? 'unanswered' : 'refused';
      return;
    }
    await sleep(300 + random() * 1200); // a dependency failed: the client backs off and tries again
  }
  item.answer = unanswered ? 'unanswered' : 'refused';
  if (keyed && item.answer !== 'refused') item.sourceId = pushSourceId('demo', item.table, item.id);
}

/** Runs the sweep until no source is open and the stand-in has ingested everything queued. */
async function settle(
  hostUrl: () => string,
  env: Record<string, string>,
  standin: StandinInstance,
  timeoutMs: number,
  log: (line: string) => void,
  toCome: () => Promise<number>,
): Promise<void> {
  const open = TableClient.fromConnectionString(env.AzureWebJobsStorage ?? '', 'IngestionOpen', {
    allowInsecureConnection: true,
  });
  const deadline = Date.now() + timeoutMs;
  let lastOpen = -1;
  for (;;) {
    await fetch(`${hostUrl()}/admin/functions/sweepStatus`, { method: 'POST' }).catch(() => undefined);
    let count = await toCome().catch(() => 1);
    for await (const _ of open.listEntities({ queryOptions: { select: ['RowKey'] } })) count += 1;
    if (count !== lastOpen) log(`  open sources (and landing events to come): ${count}`);
    lastOpen = count;
    if (count === 0) {
      await standin.worker?.drained();
      return;
    }
    if (Date.now() > deadline) {
      log(`  gave up settling with ${count} sources open`);
      const tracking = TableClient.fromConnectionString(env.AzureWebJobsStorage ?? '', 'IngestionTracking', {
        allowInsecureConnection: true,
      });
      for await (const o of open.listEntities({ queryOptions: { select: ['RowKey'] } })) {
        const id = o.rowKey ?? '';
        const row = await tracking.getEntity(`src-${id.slice(0, 2)}`, id).catch(() => undefined);
        log(
          `    open: ${id} ${row ? JSON.stringify({ kind: row.Kind, state: row.State, lease: row.LeaseUntil, reported: row.ReportedFailure, updated: row.UpdatedOn, blob: row.BlobPath ?? row.SourceUrl }) : 'no row'}`,
        );
      }
      return;
    }
    await sleep(2_000);
  }
}

/** The landing paths (`demo/Table/item.csv`) whose events are in the poison queue at the end. */
async function poisonedBlobs(poison: QueueClient): Promise<Set<string>> {
  const paths = new Set<string>();
  if (!(await poison.exists())) return paths;
  for (;;) {
    // The run is over: taking them (hidden for a while) is how to read more than 32.
    const { receivedMessageItems } = await poison.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 600,
    });
    if (receivedMessageItems.length === 0) return paths;
    for (const m of receivedMessageItems) {
      const url = /"url":"([^"]+)"/.exec(Buffer.from(m.messageText, 'base64').toString('utf8'))?.[1];
      if (url) paths.add(new URL(url).pathname.split('/').slice(3).join('/'));
    }
  }
}

/** A failure report as the audit reads it: its event and the attempt it is about (its key's number). */
interface ReportRow {
  readonly event: string;
  readonly attempt: number;
}

/** A tracking row as the audit reads it. */
interface TrackingRow {
  readonly State?: string;
  readonly FinalStatus?: string;
  readonly ErrorCode?: string;
  readonly RequeueCount?: number;
  readonly RetriedAs?: string;
  readonly History?: string;
}

/** The final reports: what ends a source's attempt (a re-queue or a stuck report does not). */
const FINAL_REPORTS = new Set([
  'IngestionFailed',
  'IngestionAbandoned',
  'LandingRejected',
  'IngestionUnresolved',
]);

async function audit(
  items: readonly Item[],
  engineUrl: string,
  account: StandinAccount,
  parked: ReadonlySet<string>,
  run: Pick<
    ChaosReport,
    'azuriteRestarts' | 'hostKills' | 'storageFaults' | 'landingPutBack' | 'landingPoisoned'
  >,
): Promise<ChaosReport> {
  const ingested = new Map<string, number>();
  for (const t of [...TABLES, LATE_TABLE])
    for (const [item, count] of await engine(engineUrl, `${t} | summarize count() by item`))
      ingested.set(String(item), Number(count));
  const credential = new AzureNamedKeyCredential(account.name, account.key);
  const table = (name: string) =>
    new TableClient(account.tableEndpoint, name, credential, { allowInsecureConnection: true });
  // Every report of every source, in the order of their keys' attempts.
  const reports = new Map<string, ReportRow[]>();
  for await (const row of table('IngestionFailures').listEntities<{ SourceId?: string; Event?: string }>()) {
    const sourceId = row.SourceId ?? '';
    const attempt = Number(/-(\d+)$/.exec(String(row.rowKey).slice(sourceId.length + 1))?.[1] ?? 0);
    reports.set(sourceId, [...(reports.get(sourceId) ?? []), { event: row.Event ?? '?', attempt }]);
  }
  const tracking = table('IngestionTracking');
  const rowOfSource = (sourceId: string) =>
    tracking.getEntity<TrackingRow>(`src-${sourceId.slice(0, 2)}`, sourceId).catch(() => undefined);
  /**
   * The item's sources, first to last (an operator's retry of a quarantined landing blob makes a new one,
   * named by `RetriedAs`), and the final reports of the latest attempt of the latest source: what the item
   * came to. Reports of earlier attempts were superseded by a retry.
   */
  const outcomeOf = async (item: Item) => {
    const chain: { sourceId: string; row: TrackingRow | undefined }[] = [];
    for (let id = item.sourceId; id && chain.length < 10;) {
      const row = await rowOfSource(id);
      chain.push({ sourceId: id, row });
      id = row?.RetriedAs;
    }
    const last = chain[chain.length - 1];
    const attempt = last?.row?.RequeueCount ?? 0;
    const finals = (id: string) => (reports.get(id) ?? []).filter((r) => FINAL_REPORTS.has(r.event));
    const latest = last ? finals(last.sourceId).filter((r) => r.attempt === attempt) : [];
    const superseded = chain.reduce((n, c) => n + finals(c.sourceId).length, 0) - latest.length;
    return { chain, latest: latest.length, superseded };
  };
  const describe = async (item: Item): Promise<string> => {
    if (!item.sourceId) return `no source id; answered ${item.answers.join(', ') || 'nothing'}`;
    const { chain } = await outcomeOf(item);
    const poisoned = item.kind === 'landing' && parked.has(`demo/${item.table}/${item.id}.csv`);
    return (
      (poisoned ? 'its event is in the poison queue; ' : '') +
      chain
        .map(({ sourceId, row }) => {
          const state = row
            ? `${row.State ?? '?'}/${row.FinalStatus ?? '-'}/${row.ErrorCode ?? '-'} attempt ${String(row.RequeueCount ?? 0)}`
            : 'no row';
          const history = row?.History ? ` history ${row.History}` : '';
          const told =
            (reports.get(sourceId) ?? []).map((r) => `${r.event}#${r.attempt}`).join(',') || 'none';
          return `${sourceId}: ${state}; reports ${told}${history}`;
        })
        .join(' -> ')
    );
  };
  const problems: string[] = [];
  const classes = new Map<string, number>();
  const count = (name: string) => classes.set(name, (classes.get(name) ?? 0) + 1);
  let accepted = 0;
  let ingestedOnce = 0;
  let reportedOnce = 0;
  let duplicated = 0;
  let lost = 0;
  let refused = 0;
  let refusedLeftBehind = 0;
  let unanswered = 0;
  let unansweredBoth = 0;
  let superseded = 0;
  for (const item of items) {
    const rows = ingested.get(item.id) ?? 0;
    const outcome = item.sourceId ? await outcomeOf(item) : { latest: 0, superseded: 0 };
    const reported = outcome.latest;
    superseded += outcome.superseded > 0 && rows === 1 ? 1 : 0;
    const label = `${item.id} (${item.kind}${item.bad ? ', bad row' : ''}${item.table === LATE_TABLE ? ', late table' : ''}, ${item.answer ?? '?'})`;
    if (rows > 1) {
      duplicated += 1;
      problems.push(`${label} ingested ${rows} times [${await describe(item)}]`);
    }
    if (item.answer === 'accepted') {
      accepted += 1;
      if (rows === 1 && reported === 0) {
        ingestedOnce += 1;
        count(`${item.kind}: ingested once${outcome.superseded > 0 ? ' (after a retried failure)' : ''}`);
      } else if (rows === 0 && reported === 1) {
        reportedOnce += 1;
        count(`${item.kind}: reported once`);
      } else if (rows === 0 && reported === 0) {
        lost += 1;
        problems.push(`${label} never ingested nor reported [${await describe(item)}]`);
      } else if (rows <= 1) {
        count(`${item.kind}: ingested ${rows} and reported ${reported}`);
        problems.push(`${label} ingested ${rows} and reported ${reported} times [${await describe(item)}]`);
      }
    } else if (item.answer === 'refused') {
      refused += 1;
      count(`${item.kind}: refused`);
      if (rows > 0 || reported > 0) {
        refusedLeftBehind += 1;
        problems.push(
          `${label} refused, yet ingested ${rows} / reported ${reported} [${await describe(item)}]`,
        );
      }
    } else {
      unanswered += 1;
      count(`${item.kind}: unanswered, ${rows > 0 ? 'ingested' : reported > 0 ? 'reported' : 'neither'}`);
      if (rows > 0 && reported > 0) {
        unansweredBoth += 1;
        problems.push(`${label} both ingested and reported [${await describe(item)}]`);
      }
    }
  }
  return {
    items: items.length,
    accepted,
    ingestedOnce,
    reportedOnce,
    duplicated,
    lost,
    refused,
    refusedLeftBehind,
    unanswered,
    unansweredBoth,
    superseded,
    classes: [...classes.entries()].sort(([a], [b]) => a.localeCompare(b)),
    ...run,
    failures: problems,
  };
}

/** The report in words, and whether the campaign passed: nothing lost, nothing twice, nothing left behind. */
export function describeReport(r: ChaosReport): { text: string; passed: boolean } {
  const passed =
    r.lost === 0 &&
    r.duplicated === 0 &&
    r.refusedLeftBehind === 0 &&
    r.unansweredBoth === 0 &&
    r.failures.length === 0;
  const text = [
    `items ${r.items}: accepted ${r.accepted} (ingested once ${r.ingestedOnce}, reported once ${r.reportedOnce}), refused ${r.refused}, unanswered ${r.unanswered}`,
    `lost ${r.lost}, duplicated ${r.duplicated}, refused but left behind ${r.refusedLeftBehind}, unanswered but both ${r.unansweredBoth}`,
    `disruptions: Azurite restarts ${r.azuriteRestarts}, host kills ${r.hostKills}, storage requests failed before ${r.storageFaults.failedBefore}, after ${r.storageFaults.failedAfter}, unreachable ${r.storageFaults.unreachable}`,
    `ingested once after an operator's retry of their failure: ${r.superseded}`,
    `landing events put back for later: ${r.landingPutBack}, parked in the poison queue: ${r.landingPoisoned}`,
    'outcomes:',
    ...r.classes.map(([name, n]) => `  ${name}: ${n}`),
    ...r.failures.map((f) => `  ! ${f}`),
    passed ? 'PASSED' : 'FAILED',
  ].join('\n');
  return { text, passed };
}
