import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DmService } from './dmService';
import { FaultSwitches, parseFaultUpdate, type Faults } from './faults';
import { AUTH_METADATA, sendFailure, sendJson } from './http';
import {
  createResources,
  DEFAULT_LAYOUT,
  type ResourceLayout,
  type StandinAccount,
} from './storageResources';

export interface StandinOptions {
  /** The Azurite accounts the DM hands out resources in (one or two). */
  readonly accounts: readonly StandinAccount[];
  /** @default 8081; 0 picks a free port */
  readonly dmPort?: number;
  /** @default 8080; 0 picks a free port */
  readonly enginePort?: number;
  readonly layout?: ResourceLayout;
  readonly faults?: Partial<Faults>;
}

export interface StandinInstance {
  readonly dmUrl: string;
  readonly engineUrl: string;
  readonly faults: FaultSwitches;
  readonly dm: DmService;
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

/** Starts the stand-in's endpoints and creates the storage it hands out. */
export async function startStandin(options: StandinOptions): Promise<StandinInstance> {
  const layout = options.layout ?? DEFAULT_LAYOUT;
  await createResources(options.accounts, layout);
  const faults = new FaultSwitches(options.faults);
  const dm = new DmService({ accounts: options.accounts, layout, faults });

  const dmServer = createServer((req, res) => void dm.handle(req, res));
  // The engine endpoint answers its metadata; its commands and queries come with the engine part.
  const engineServer = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/v1/rest/auth/metadata')
      return sendJson(res, 200, AUTH_METADATA);
    sendFailure(
      res,
      {
        status: 501,
        code: 'NotImplemented',
        message: 'the stand-in engine endpoint does not run commands or queries yet',
        permanent: true,
      },
      String(req.headers['x-ms-client-request-id'] ?? 'none'),
    );
  });
  dmServer.keepAliveTimeout = 60_000;
  engineServer.keepAliveTimeout = 60_000;
  const dmPort = await listen(dmServer, options.dmPort ?? 8081);
  const enginePort = await listen(engineServer, options.enginePort ?? 8080);
  return {
    dmUrl: `http://127.0.0.1:${dmPort}`,
    engineUrl: `http://127.0.0.1:${enginePort}`,
    faults,
    dm,
    stop: async () => {
      await Promise.all([close(dmServer), close(engineServer)]);
    },
  };
}
