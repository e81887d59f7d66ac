/**
 * Starts Azurite (blob, queue, table) as a child process and waits until every service answers. Used by
 * `npm start`, `npm run standin`, the test setup and the benchmarks. Nothing in production imports dev/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
/** A second local account for failover tests (a random key of our own; local only). */
export const SECOND_ACCOUNT = 'devstoreaccount2';
export const SECOND_ACCOUNT_KEY = 'a2lmLXNlY29uZC1sb2NhbC1hY2NvdW50LWtleS1mb3ItYXp1cml0ZS10ZXN0cw==';

export interface StorageAccount {
  readonly name: string;
  readonly key: string;
}

export interface AzuriteOptions {
  /** Ports to use; 'free' picks unused ones. @default 'free' */
  readonly ports?: { blob: number; queue: number; table: number } | 'free';
  /** Keep data in memory (tests) or under this folder (local runs). @default in memory */
  readonly location?: string | undefined;
  /** How many accounts: 1 (the well-known one) or 2 (adds devstoreaccount2). @default 1 */
  readonly accountCount?: 1 | 2;
  /** Serve https with this certificate (PEM paths). */
  readonly tls?: { cert: string; key: string } | undefined;
  /** `--oauth basic` (needs tls): bearer tokens accepted, user delegation keys available. */
  readonly oauth?: boolean;
  /** How long to wait for the services. @default 30_000 */
  readonly startTimeoutInMs?: number;
  /** Forwarded Azurite output, for debugging. */
  readonly onOutput?: (line: string) => void;
}

export interface AzuriteInstance {
  readonly blobEndpoint: (account?: string) => string;
  readonly queueEndpoint: (account?: string) => string;
  readonly tableEndpoint: (account?: string) => string;
  readonly ports: { blob: number; queue: number; table: number };
  readonly accounts: readonly StorageAccount[];
  /** `AZURITE_ACCOUNTS` as Azurite reads it. */
  readonly accountsEnv: string;
  /** The Azurite process now (the benchmarks read its CPU time); a restart makes a new one. */
  readonly pid: number | undefined;
  /** Called when the process ends without stop() or restart() having asked it to. */
  onUnexpectedExit(listener: (code: number | null, signal: string | null) => void): void;
  /** Stops the process and starts it again on the same ports and folder (what it persisted, it keeps). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not get a free port'));
      });
    });
  });
}

function azuriteEntry(): string {
  return join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'azurite.js');
}

/**
 * The compiled azuritePreload.js: beside this file when it runs from dist/, the build's copy when it runs
 * from source (the test setup under ts-jest; `npm test` builds first). Undefined with KIF_AZURITE_STOCK=1.
 */
export function azuritePreloadEntry(): string | undefined {
  if (process.env.KIF_AZURITE_STOCK === '1') return undefined;
  const candidates = [
    join(__dirname, 'azuritePreload.js'),
    join(__dirname, '..', 'dist', 'dev', 'azuritePreload.js'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found)
    throw new Error(
      `dev/azuritePreload.js is not built (looked at ${candidates.join(', ')}): run \`npm run build\`, ` +
        'or set KIF_AZURITE_STOCK=1 to start Azurite without it',
    );
  return found;
}

async function probe(url: string, deadline: number, child: ChildProcess, output: string[]): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(
        `Azurite exited with code ${child.exitCode} before ${url} answered:\n${output.join('\n')}`,
      );
    }
    try {
      // Any HTTP answer (an auth error included) means the service is up.
      await fetch(url, { signal: AbortSignal.timeout(1_000) });
      return;
    } catch (e) {
      // A TLS complaint (self-signed certificate not trusted by this process) still means the service is up.
      const code = (e as { cause?: { code?: string } }).cause?.code ?? '';
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `Azurite did not answer at ${url} within the start timeout. Its output:\n${output.join('\n')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export function accountList(count: 1 | 2): StorageAccount[] {
  const accounts = [{ name: DEV_ACCOUNT, key: DEV_ACCOUNT_KEY }];
  if (count === 2) accounts.push({ name: SECOND_ACCOUNT, key: SECOND_ACCOUNT_KEY });
  return accounts;
}

/** Starts Azurite and resolves once blob, queue and table all answer; rejects loudly otherwise. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteInstance> {
  const ports =
    options.ports === undefined || options.ports === 'free'
      ? { blob: await freePort(), queue: await freePort(), table: await freePort() }
      : options.ports;
  const accounts = accountList(options.accountCount ?? 1);
  // AZURITE_ACCOUNTS replaces Azurite's account list, so the well-known account is named too.
  const accountsEnv = accounts.map((a) => `${a.name}:${a.key}`).join(';');
  const preload = azuritePreloadEntry();
  // V8's sampling profiler on Azurite itself, for a diagnosis (where its CPU per request goes): one
  // .cpuprofile per Azurite process, written when it stops.
  const profileDir = process.env.KIF_AZURITE_CPU_PROF;
  const args = [
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ...(preload ? ['--require', preload] : []),
    azuriteEntry(),
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--loose',
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    String(ports.blob),
    '--queueHost',
    '127.0.0.1',
    '--queuePort',
    String(ports.queue),
    '--tableHost',
    '127.0.0.1',
    '--tablePort',
    String(ports.table),
  ];
  if (options.location) {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence');
  }
  if (options.tls) args.push('--cert', options.tls.cert, '--key', options.tls.key);
  if (options.oauth) args.push('--oauth', 'basic');
  // Azurite's own debug log of every request, for a diagnosis (which requests a run really made).
  if (process.env.KIF_AZURITE_DEBUG_LOG) args.push('--debug', process.env.KIF_AZURITE_DEBUG_LOG);

  const output: string[] = [];
  const collect = (data: Buffer): void => {
    for (const line of data.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      if (output.length < 200) output.push(line);
      options.onOutput?.(line);
    }
  };
  const listeners: ((code: number | null, signal: string | null) => void)[] = [];
  let child: ChildProcess;
  let stopping = false;
  // Azurite runs in a process group of its own: a Ctrl+C in the terminal reaches the stack, which stops
  // Azurite in order, instead of killing it first (which would read as Azurite dying on its own).
  // If this process exits without stopping it, it goes too.
  const killOnExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const launch = (): ChildProcess => {
    const started = spawn(process.execPath, args, {
      env: { ...process.env, AZURITE_ACCOUNTS: accountsEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    started.stdout.on('data', collect);
    started.stderr.on('data', collect);
    started.once('exit', (code, signal) => {
      if (!stopping) for (const listener of listeners) listener(code, signal);
    });
    return started;
  };
  const kill = (): Promise<void> => {
    const target = child; // a restart replaces `child`: the timer below must not reach the new process
    return new Promise<void>((resolve) => {
      if (target.exitCode !== null || target.signalCode !== null) return resolve();
      const force = setTimeout(() => target.kill('SIGKILL'), 5_000);
      force.unref();
      target.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      target.kill('SIGTERM');
    });
  };

  const scheme = options.tls ? 'https' : 'http';
  const endpoint =
    (port: number) =>
    (account: string = DEV_ACCOUNT) =>
      `${scheme}://127.0.0.1:${port}/${account}`;
  const ready = async (): Promise<void> => {
    const deadline = Date.now() + (options.startTimeoutInMs ?? 30_000);
    await Promise.all(
      [ports.blob, ports.queue, ports.table].map((port) =>
        probe(`${scheme}://127.0.0.1:${port}/`, deadline, child, output),
      ),
    );
  };
  child = launch();
  process.on('exit', killOnExit);
  const instance: AzuriteInstance = {
    blobEndpoint: endpoint(ports.blob),
    queueEndpoint: endpoint(ports.queue),
    tableEndpoint: endpoint(ports.table),
    ports,
    accounts,
    accountsEnv,
    get pid() {
      return child.pid;
    },
    onUnexpectedExit: (listener) => listeners.push(listener),
    restart: async () => {
      stopping = true;
      await kill();
      stopping = false;
      child = launch();
      await ready();
    },
    stop: async () => {
      stopping = true;
      await kill();
      process.off('exit', killOnExit);
    },
  };
  try {
    await ready();
  } catch (e) {
    await instance.stop();
    throw e;
  }
  return instance;
}
