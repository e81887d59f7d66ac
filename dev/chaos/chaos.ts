/**
 * The fault campaign, kept as a suite: drives the local stack with HTTP pushes (with and without an
 * Idempotency-Key, retried as a careful client would) and landing blobs while a seeded schedule breaks
 * things: the stand-in's switches (transient and permanent ingestion failures, throttling, a slow and a
 * paused worker), storage calls failing through a proxy (before storage, and applied with the answer lost),
 * Azurite stopped and restarted (on disk: it keeps what it acknowledged), and the function host killed with
 * requests in flight. Then it lets the app settle (sweeps) and audits every item:
 *
 *   - answered 2xx (or dropped into landing): ingested exactly once, or reported exactly once;
 *   - answered with a refusal: nothing ingested, nothing reported;
 *   - never answered (the connection died): at most one of the two, at most once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AzureNamedKeyCredential } from '@azure/core-auth';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { QueueServiceClient, StorageSharedKeyCredential as QueueKeyCredential } from '@azure/storage-queue';
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
  /** How long the app may take to settle after the last item. @default 5 minutes */
  readonly settleTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

type Kind = 'keyed push' | 'push' | 'landing';
type Answer = 'accepted' | 'refused' | 'unanswered';

interface Item {
  readonly id: string;
  readonly kind: Kind;
  readonly table: string;
  /** Rows that fail ingestion for good (a wrong number of fields): must be reported, not ingested. */
  readonly bad: boolean;
  answer?: Answer;
  sourceId?: string;
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
  readonly azuriteRestarts: number;
  readonly hostKills: number;
  readonly storageFaults: { failedBefore: number; failedAfter: number; unreachable: number };
  readonly failures: readonly string[];
}

const TABLES = ['Chaos1', 'Chaos2', 'Chaos3'];

export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => console.log(line));
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
    });
    for (const t of TABLES) await engine(standin.engineUrl, `.create table ${t} (item:string, n:long)`);
    const connection = (a: StandinAccount) =>
      `DefaultEndpointsProtocol=http;AccountName=${a.name};AccountKey=${a.key};BlobEndpoint=${a.blobEndpoint};QueueEndpoint=${a.queueEndpoint};TableEndpoint=${a.tableEndpoint}`;
    const appEnv = {
      KUSTO_INGEST_URI: standin.dmUrl,
      KUSTO_ENGINE_URI: standin.engineUrl,
      KUSTO_AUTH: 'none',
      AzureWebJobsStorage: connection(proxied),
      LandingStorage: connection(proxied),
      LANDING_BLOB_AUTH: 'account-key',
      LEASE_SECONDS: '20',
      STALE_AFTER_MINUTES: '1',
      HOST_QUEUE_LEASE_SECONDS: '20',
      HOST_VISIBILITY_SECONDS: '2',
      HOST_PORT: String(await freePort()),
    };
    host = await startHost(appEnv, log);
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
    });
    await watcher.start();

    // The items: most pushes carry a key; a few of every kind hold a row Kusto refuses for good.
    const items: Item[] = Array.from({ length: total }, (_, i) => {
      const r = random();
      return {
        id: `item-${String(i).padStart(5, '0')}`,
        kind: r < 0.5 ? 'keyed push' : r < 0.65 ? 'push' : 'landing',
        table: TABLES[Math.floor(random() * TABLES.length)] ?? 'Chaos1',
        bad: random() < 0.05,
      };
    });

    // The disruptions, at fixed points of the run, so that they fall among requests in flight.
    const restartsAt = spread(options.azuriteRestarts ?? 1, total, 0.3);
    const killsAt = spread(options.hostKills ?? 1, total, 0.55);
    let submitted = 0;
    let disrupting = Promise.resolve();
    const disrupt = (n: number): void => {
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
          host = await startHost(appEnv, log);
        });
    };
    const switches = startFaultSchedule(standin, proxies, random, log);

    await pool(items, options.concurrency ?? 24, async (item) => {
      disrupt(++submitted);
      await submit(item, () => host?.url ?? '', landing, appLanding, random);
    });
    await disrupting;
    await switches.stop();
    log(`  all ${total} submitted; letting the app settle (sweeps every 2 s)`);
    await settle(() => host?.url ?? '', appEnv, standin, options.settleTimeoutMs ?? 300_000, log);

    const report = await audit(items, standin.engineUrl, direct, {
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
async function startHost(env: Record<string, string>, log: (line: string) => void): Promise<HostProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startHostOnce(env, log);
    } catch (e) {
      if (attempt >= 10) throw e;
      log(`  [host] did not start (${(e as Error).message.split('\n')[0] ?? ''}); starting it again`);
      await sleep(1_000);
    }
  }
}

async function startHostOnce(env: Record<string, string>, log: (line: string) => void): Promise<HostProcess> {
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, '..', 'hostMain.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      const ready = /host ready (\S+)/.exec(seen);
      if (ready?.[1]) resolve(ready[1]);
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
): { stop(): Promise<void> } {
  const state = { running: true };
  const loop = (async () => {
    while (state.running) {
      const r = random();
      if (r < 0.5) standin.faults.update({ failIngestionsTransient: 1 + Math.floor(random() * 4) });
      else if (r < 0.6) standin.faults.update({ failIngestionsPermanent: 1 });
      else if (r < 0.7) standin.faults.update({ ingestDelayMs: Math.floor(random() * 1500) });
      else if (r < 0.78) standin.faults.update({ workerPaused: true });
      else if (r < 0.86) standin.faults.update({ throttleResources: 2, retryAfterSeconds: 1 });
      else if (r < 0.9) standin.faults.update({ mgmt5xx: 2 });
      else standin.faults.update({ workerPaused: false, ingestDelayMs: 0 });
      const storm = random() < 0.3;
      for (const p of proxies)
        p.rates = storm ? { before: 0.08, after: 0.04 } : { before: 0.01, after: 0.005 };
      await sleep(800 + Math.floor(random() * 800));
      if (random() < 0.5) standin.faults.update({ workerPaused: false });
    }
    standin.faults.reset();
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

async function submit(
  item: Item,
  hostUrl: () => string,
  landing: BlobServiceClient,
  appLanding: BlobServiceClient,
  random: () => number,
): Promise<void> {
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
    const body = (await response.json().catch(() => ({}))) as { sourceId?: string };
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
): Promise<void> {
  const open = TableClient.fromConnectionString(env.AzureWebJobsStorage ?? '', 'IngestionOpen', {
    allowInsecureConnection: true,
  });
  const deadline = Date.now() + timeoutMs;
  let lastOpen = -1;
  for (;;) {
    await fetch(`${hostUrl()}/admin/functions/sweepStatus`, { method: 'POST' }).catch(() => undefined);
    let count = 0;
    for await (const _ of open.listEntities({ queryOptions: { select: ['RowKey'] } })) count += 1;
    if (count !== lastOpen) log(`  open sources: ${count}`);
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

async function audit(
  items: readonly Item[],
  engineUrl: string,
  account: StandinAccount,
  run: Pick<ChaosReport, 'azuriteRestarts' | 'hostKills' | 'storageFaults'>,
): Promise<ChaosReport> {
  const ingested = new Map<string, number>();
  for (const t of TABLES)
    for (const [item, count] of await engine(engineUrl, `${t} | summarize count() by item`))
      ingested.set(String(item), Number(count));
  const reports = new Map<string, number>();
  const events = new Map<string, string[]>();
  const tracking = new TableClient(
    account.tableEndpoint,
    'IngestionTracking',
    new AzureNamedKeyCredential(account.name, account.key),
    { allowInsecureConnection: true },
  );
  const describe = async (sourceId: string | undefined): Promise<string> => {
    if (!sourceId) return 'no source id';
    const row = await tracking
      .getEntity<{ State?: string; FinalStatus?: string; ErrorCode?: string; RequeueCount?: number }>(
        `src-${sourceId.slice(0, 2)}`,
        sourceId,
      )
      .catch(() => undefined);
    const state = row
      ? `${row.State ?? '?'}/${row.FinalStatus ?? '-'}/${row.ErrorCode ?? '-'} requeues ${String(row.RequeueCount ?? 0)}`
      : 'no row';
    return `${sourceId.slice(0, 8)}: ${state}; reports ${(events.get(sourceId) ?? []).join(',') || 'none'}`;
  };
  const failures = new TableClient(
    account.tableEndpoint,
    'IngestionFailures',
    new AzureNamedKeyCredential(account.name, account.key),
    { allowInsecureConnection: true },
  );
  const final = new Set(['IngestionFailed', 'IngestionAbandoned', 'LandingRejected']);
  for await (const row of failures.listEntities<{ SourceId?: string; Event?: string }>()) {
    if (row.SourceId && final.has(row.Event ?? ''))
      reports.set(row.SourceId, (reports.get(row.SourceId) ?? 0) + 1);
  }
  const problems: string[] = [];
  let accepted = 0;
  let ingestedOnce = 0;
  let reportedOnce = 0;
  let duplicated = 0;
  let lost = 0;
  let refused = 0;
  let refusedLeftBehind = 0;
  let unanswered = 0;
  let unansweredBoth = 0;
  for (const item of items) {
    const rows = ingested.get(item.id) ?? 0;
    const reported = item.sourceId ? (reports.get(item.sourceId) ?? 0) : 0;
    if (rows > 1) {
      duplicated += 1;
      problems.push(
        `${item.id} (${item.kind}, ${item.answer ?? '?'}) ingested ${rows} times [${await describe(item.sourceId)}]`,
      );
    }
    if (item.answer === 'accepted') {
      accepted += 1;
      if (rows === 1 && reported === 0) ingestedOnce += 1;
      else if (rows === 0 && reported === 1) reportedOnce += 1;
      else if (rows === 0 && reported === 0) {
        lost += 1;
        problems.push(
          `${item.id} (${item.kind}${item.bad ? ', bad' : ''}) accepted, never ingested nor reported [${await describe(item.sourceId)}]`,
        );
      } else if (rows <= 1)
        problems.push(
          `${item.id} (${item.kind}) ingested ${rows} and reported ${reported} times [${await describe(item.sourceId)}]`,
        );
    } else if (item.answer === 'refused') {
      refused += 1;
      if (rows > 0 || reported > 0) {
        refusedLeftBehind += 1;
        problems.push(
          `${item.id} (${item.kind}) refused, yet ingested ${rows} / reported ${reported} [${await describe(item.sourceId)}]`,
        );
      }
    } else {
      unanswered += 1;
      if (rows > 0 && reported > 0) {
        unansweredBoth += 1;
        problems.push(
          `${item.id} (${item.kind}) unanswered, both ingested and reported [${await describe(item.sourceId)}]`,
        );
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
    ...r.failures.slice(0, 20).map((f) => `  ! ${f}`),
    passed ? 'PASSED' : 'FAILED',
  ].join('\n');
  return { text, passed };
}
