import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DmService, type StandinIngestProtocol } from './dmService';
import { DmWorker } from './dmWorker';
import { NATIVE_INGESTION } from './commands/identityPolicy';
import { warmUpKql } from './kql/kustoLanguage';
import { EngineService } from './engineService';
import { RestOperations } from './restOperations';
import { KustoStore } from './store';
import { FaultSwitches, parseFaultUpdate, type Faults } from './faults';
import {
  createResources,
  DEFAULT_LAYOUT,
  type ResourceLayout,
  type StandinAccount,
} from './storageResources';

export interface StandinOptions {
  /** The Azurite accounts the DM hands out resources in (one or two). */
  readonly accounts: readonly StandinAccount[];
  /**
   * The same accounts as clients should reach them, when that differs from how the stand-in reaches them
   * (a fault-injecting proxy in front of Azurite): the resources it hands out name these. @default accounts
   */
  readonly advertisedAccounts?: readonly StandinAccount[];
  /** @default 8081; 0 picks a free port */
  readonly dmPort?: number;
  /** @default 8080; 0 picks a free port */
  readonly enginePort?: number;
  readonly layout?: ResourceLayout;
  readonly faults?: Partial<Faults>;
  /** The engine's store: a SQLite file for durable local runs. @default in memory */
  readonly storePath?: string | undefined;
  /** Run the DM worker that drains the ingestion queues. @default true */
  readonly worker?: boolean;
  /** Batching window of tables without an ingestionbatching policy. @default 1000, or STANDIN_BATCHING_MS */
  readonly batchingWindowMs?: number;
  readonly log?: (line: string) => void;
  /**
   * How long a message the DM worker took stays hidden: a take whose answer storage lost (Azurite stopped
   * mid-answer) shows the message again after it. @default 300
   */
  readonly visibilitySeconds?: number;
  /**
   * Which queued-ingestion protocols the DM serves: v1 only (its REST configuration endpoint answers 404),
   * or v2 and both (served, REST preferred). @default both, or STANDIN_INGEST_PROTOCOL
   */
  readonly ingestProtocol?: StandinIngestProtocol;
  /** The DM worker's record of every message it takes and how it went. @default none */
  readonly trace?: (line: string) => void;
}

export interface StandinInstance {
  readonly dmUrl: string;
  readonly engineUrl: string;
  readonly faults: FaultSwitches;
  readonly dm: DmService;
  readonly store: KustoStore;
  readonly worker: DmWorker | undefined;
  /** Creates again the queues, containers and table it hands out, after the storage under it was wiped. */
  recreateResources(): Promise<void>;
  stop(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Reads `STANDIN_FAULTS` (the fault switches' JSON) for a start with faults already on. */
export function faultsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<Faults> {
  const raw = env.STANDIN_FAULTS;
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`STANDIN_FAULTS is not JSON: ${raw}`);
  }
  return parseFaultUpdate(parsed);
}

function ingestProtocolFromEnv(): StandinIngestProtocol {
  const raw = process.env.STANDIN_INGEST_PROTOCOL ?? 'both';
  if (raw !== 'v1' && raw !== 'v2' && raw !== 'both')
    throw new Error(`STANDIN_INGEST_PROTOCOL must be v1, v2 or both, got '${raw}'`);
  return raw;
}

function batchingFromEnv(): number {
  const raw = process.env.STANDIN_BATCHING_MS;
  if (raw === undefined || raw === '') return 1000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`STANDIN_BATCHING_MS must be a whole number of milliseconds, got '${raw}'`);
  return n;
}

/** Starts the stand-in's endpoints and creates the storage it hands out. */
export async function startStandin(options: StandinOptions): Promise<StandinInstance> {
  const layout = options.layout ?? DEFAULT_LAYOUT;
  await createResources(options.accounts, layout);
  const faults = new FaultSwitches(options.faults);
  const store = new KustoStore(options.storePath ?? ':memory:');
  // Kusto's parser loads once per process, here rather than on the first query.
  warmUpKql();
  const operations = new RestOperations();
  const dm = new DmService({
    accounts: options.advertisedAccounts ?? options.accounts,
    storageAccounts: options.accounts,
    operations,
    layout,
    faults,
    tokens: store,
    ingestProtocol: options.ingestProtocol ?? ingestProtocolFromEnv(),
    identityAllowed: (database, objectId) => store.identityAllowed(database, objectId, NATIVE_INGESTION),
  });
  const engine = new EngineService({ store, accounts: options.accounts, faults });
  const worker =
    options.worker === false
      ? undefined
      : new DmWorker({
          accounts: options.accounts,
          layout,
          store,
          faults,
          isIssuedToken: (t) => dm.isIssuedToken(t),
          operations,
          batchingWindowMs: options.batchingWindowMs ?? batchingFromEnv(),
          ...(options.log && { log: options.log }),
          ...(options.trace && { trace: options.trace }),
          ...(options.visibilitySeconds !== undefined && { visibilitySeconds: options.visibilitySeconds }),
        });

  const dmServer = createServer((req, res) => void dm.handle(req, res));
  const engineServer = createServer((req, res) => void engine.handle(req, res));
  dmServer.keepAliveTimeout = 60_000;
  engineServer.keepAliveTimeout = 60_000;
  const dmPort = await listen(dmServer, options.dmPort ?? 8081);
  const enginePort = await listen(engineServer, options.enginePort ?? 8080);
  worker?.start();
  return {
    dmUrl: `http://127.0.0.1:${dmPort}`,
    engineUrl: `http://127.0.0.1:${enginePort}`,
    faults,
    dm,
    store,
    worker,
    recreateResources: () => createResources(options.accounts, layout),
    stop: async () => {
      await worker?.stop();
      await Promise.all([close(dmServer), close(engineServer)]);
      store.close();
    },
  };
}
