import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { startAzurite, type AzuriteInstance } from './azurite';
import { LandingWatcher } from './host/landingWatcher';
import { faultsFromEnv, startStandin, type StandinInstance } from './standin/standin';
import type { StandinAccount } from './standin/storageResources';

export interface LocalStackOptions {
  /** 'test': free ports, in memory. 'local': the default ports (env overrides), persisted under `.local/`. */
  readonly mode: 'test' | 'local';
  /** @default 1 locally, or STANDIN_ACCOUNTS */
  readonly accountCount?: 1 | 2;
  /** Project root, for `.local/`. @default process.cwd() */
  readonly root?: string;
  /** Every part's output, each line prefixed with its part: `[azurite] ...`, `[standin] ...`, `[watcher] ...`. */
  readonly onOutput?: (line: string) => void;
  /**
   * When Azurite stops on its own, it is restarted (on the same ports and folder, so a local run keeps its
   * data) and `onOutput` says so; after `maxRestarts` within a minute, or a restart that fails, `onFatal`
   * is called. @default 3 restarts, onFatal throws nothing (tests)
   */
  readonly supervision?: { readonly maxRestarts?: number; readonly onFatal?: (error: Error) => void };
  /** Run the landing watcher that plays Event Grid. @default true locally, false in tests */
  readonly landingWatcher?: boolean;
  /** Serve storage over https with this certificate (the process must trust it: NODE_EXTRA_CA_CERTS). */
  readonly tls?: { cert: string; key: string } | undefined;
}

export interface LocalStack {
  readonly azurite: AzuriteInstance;
  readonly standin: StandinInstance;
  readonly accounts: readonly StandinAccount[];
  /** Environment a client process needs to reach this stack. */
  readonly env: Readonly<Record<string, string>>;
  /** The function app's settings for this stack (docs/contracts.md, 'Settings'), as local.settings.json would hold them. */
  readonly appEnv: Readonly<Record<string, string>>;
  readonly watcher: LandingWatcher | undefined;
  stop(): Promise<void>;
}

function port(env: string, fallback: number): number {
  const raw = process.env[env];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${env} must be a port number, got '${raw}'`);
  return n;
}

export function accountCountFromEnv(): 1 | 2 {
  const raw = process.env.STANDIN_ACCOUNTS;
  if (raw === undefined || raw === '' || raw === '1') return 1;
  if (raw === '2') return 2;
  throw new Error(`STANDIN_ACCOUNTS must be 1 or 2, got '${raw}'`);
}

const prefixed =
  (output: (line: string) => void, part: string) =>
  (line: string): void =>
    output(`[${part}] ${line}`);

/** Restarts Azurite when it stops on its own, loudly; gives up (onFatal) after too many restarts. */
function supervise(azurite: AzuriteInstance, options: LocalStackOptions): void {
  const say = (line: string) => options.onOutput?.(`[stack] ${line}`);
  const maxRestarts = options.supervision?.maxRestarts ?? 3;
  const restarts: number[] = [];
  azurite.onUnexpectedExit((code, signal) => {
    const now = Date.now();
    restarts.push(now);
    while ((restarts[0] ?? now) < now - 60_000) restarts.shift();
    const how = signal ? `signal ${signal}` : `exit code ${String(code)}`;
    if (restarts.length > maxRestarts) {
      const error = new Error(
        `Azurite stopped on its own (${how}) ${restarts.length} times in a minute: giving up.`,
      );
      say(`*** ${error.message}`);
      options.supervision?.onFatal?.(error);
      return;
    }
    say(
      `*** Azurite stopped on its own (${how}): restarting it on the same ports (what it persisted is kept).`,
    );
    azurite.restart().then(
      () => say('Azurite is back.'),
      (e: unknown) => {
        const error = new Error(`Azurite could not be restarted: ${(e as Error).message}`);
        say(`*** ${error.message}`);
        options.supervision?.onFatal?.(error);
      },
    );
  });
}

/** Starts Azurite, then the stand-in on top of it. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const local = options.mode === 'local';
  const root = options.root ?? process.cwd();
  const azurite = await startAzurite({
    ports: local
      ? {
          blob: port('AZURITE_BLOB_PORT', 10000),
          queue: port('AZURITE_QUEUE_PORT', 10001),
          table: port('AZURITE_TABLE_PORT', 10002),
        }
      : 'free',
    location: local ? join(root, '.local', 'azurite') : undefined,
    accountCount: options.accountCount ?? accountCountFromEnv(),
    tls: options.tls,
    ...(options.onOutput && { onOutput: prefixed(options.onOutput, 'azurite') }),
  });
  supervise(azurite, options);
  const accounts: StandinAccount[] = azurite.accounts.map((a) => ({
    name: a.name,
    key: a.key,
    blobEndpoint: azurite.blobEndpoint(a.name),
    queueEndpoint: azurite.queueEndpoint(a.name),
    tableEndpoint: azurite.tableEndpoint(a.name),
  }));
  let standin: StandinInstance;
  try {
    standin = await startStandin({
      accounts,
      dmPort: local ? port('STANDIN_DM_PORT', 8081) : 0,
      enginePort: local ? port('STANDIN_ENGINE_PORT', 8080) : 0,
      faults: faultsFromEnv(),
      storePath: local ? join(root, '.local', 'kusto', 'store.sqlite') : undefined,
      ...(options.onOutput && { log: prefixed(options.onOutput, 'standin') }),
    });
  } catch (e) {
    await azurite.stop();
    throw e;
  }
  const first = accounts[0];
  if (!first) throw new Error('the local stack has no storage account');
  const storage = [
    `DefaultEndpointsProtocol=${options.tls ? 'https' : 'http'}`,
    `AccountName=${first.name}`,
    `AccountKey=${first.key}`,
    `BlobEndpoint=${first.blobEndpoint}`,
    `QueueEndpoint=${first.queueEndpoint}`,
    `TableEndpoint=${first.tableEndpoint}`,
  ].join(';');
  const appEnv = {
    KUSTO_INGEST_URI: standin.dmUrl,
    KUSTO_ENGINE_URI: standin.engineUrl,
    KUSTO_AUTH: 'none',
    AzureWebJobsStorage: storage,
    LandingStorage: storage,
    LANDING_BLOB_AUTH: 'account-key',
  };
  let watcher: LandingWatcher | undefined;
  if (options.landingWatcher ?? local) {
    watcher = new LandingWatcher({
      container: BlobServiceClient.fromConnectionString(storage).getContainerClient(
        process.env.LANDING_CONTAINER ?? 'landing',
      ),
      queue: QueueServiceClient.fromConnectionString(storage).getQueueClient(
        process.env.LANDING_EVENTS_QUEUE ?? 'landing-events',
      ),
      seenFile: local ? join(root, '.local', 'host', 'landing-seen.json') : undefined,
      ...(options.onOutput && { log: prefixed(options.onOutput, 'watcher') }),
    });
    await watcher.start();
  }
  const env = {
    KUSTO_INGEST_URI: standin.dmUrl,
    KUSTO_ENGINE_URI: standin.engineUrl,
    AZURITE_ACCOUNTS: azurite.accountsEnv,
    AZURITE_BLOB_ENDPOINT: azurite.blobEndpoint(),
    AZURITE_QUEUE_ENDPOINT: azurite.queueEndpoint(),
    AZURITE_TABLE_ENDPOINT: azurite.tableEndpoint(),
  };
  return {
    azurite,
    standin,
    accounts,
    env,
    appEnv,
    watcher,
    stop: async () => {
      await watcher?.stop();
      await standin.stop();
      await azurite.stop();
    },
  };
}

/**
 * The console output of `npm start` and `npm run standin`: every line of every part with `--verbose` (or
 * LOCAL_LOG=verbose), otherwise only what needs attention (errors, failures, warnings, a part that stopped).
 */
export function consoleOutput(
  argv: readonly string[] = process.argv,
  env = process.env,
): (line: string) => void {
  const verbose = argv.includes('--verbose') || env.LOCAL_LOG === 'verbose';
  return (line) => {
    if (verbose || needsAttention(line)) console.log(line);
  };
}

/**
 * Whether a part's line is worth showing without --verbose: errors, failures, warnings, a part that
 * stopped. A request log line is judged by its status (5xx), not its path (`/failedingestions`).
 */
export function needsAttention(line: string): boolean {
  const request = /"[A-Z]+ \S+ HTTP\/[\d.]+" (\d{3})/.exec(line);
  if (request) return Number(request[1]) >= 500;
  return /\*\*\*|error|fail|warn|refused|stopped/i.test(line);
}

/** Exits non-zero, saying why, when a part of the stack cannot be kept running. */
export function exitOnFatal(error: Error): void {
  console.error(`\n${error.message}\nThe local stack cannot go on: stopping.`);
  process.exit(1);
}

/**
 * Ctrl+C or SIGTERM runs `stop` once (later signals are ignored while it runs), then exits: 0 when it
 * finished, 1 with the error otherwise.
 */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
