import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultSwitches } from './faults';
import { parseFaultUpdate } from './faults';
import { runDmCommand } from './dmCommands';
import { AUTH_METADATA, readJson, sendFailure, sendJson, StandinHttpError, v1Result } from './http';
import { KustoError } from './kustoError';
import { runQueuedIngestCommand } from './queuedIngestCommands';
import { submitRest, type RestIngestDeps } from './restIngest';
import type { RestOperations } from './restOperations';
import { resourceRows, type ResourceLayout, type StandinAccount } from './storageResources';

/**
 * Which queued-ingestion protocols the stand-in serves (STANDIN_INGEST_PROTOCOL): `v1` only (the REST
 * configuration endpoint answers 404, as on a cluster without it), or `v2` and `both`, which serve it and
 * prefer REST.
 */
export type StandinIngestProtocol = 'v1' | 'v2' | 'both';

/** How long the configuration's container SAS lives, and so its refresh interval. */
const CONFIGURATION_VALID_MS = 3_600_000;

/** Where issued identity tokens are kept, so that they stay valid across restarts of a durable stand-in. */
export interface TokenStore {
  addToken(token: string): void;
  hasToken(token: string): boolean;
}

export interface DmServiceOptions {
  readonly accounts: readonly StandinAccount[];
  readonly tokens: TokenStore;
  readonly layout: ResourceLayout;
  readonly faults: FaultSwitches;
  readonly clock?: () => number;
  /** @default both */
  readonly ingestProtocol?: StandinIngestProtocol;
  /** The REST submissions' operations (ingest v2), settled by the worker. */
  readonly operations: RestOperations;
  /** The accounts as the stand-in itself reaches them (its own queue writes): @default accounts */
  readonly storageAccounts?: readonly StandinAccount[];
  /** Whether a managed identity may read storage for ingestion into the database (NativeIngestion). */
  readonly identityAllowed?: (database: string, objectId: string) => boolean;
}

const REST_QUEUED = /^\/v1\/rest\/ingestion\/queued\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/;

/**
 * The Data Management endpoint: resource discovery, the identity token and the fault switches. The
 * ingestion worker that drains the queues is a separate part.
 */
export class DmService {
  /** Management commands received, by command text; for tests and diagnostics. */
  readonly commandCounts = new Map<string, number>();
  private readonly options: DmServiceOptions;
  private readonly startedOn = Date.now();

  constructor(options: DmServiceOptions) {
    this.options = options;
  }

  private get servesV2(): boolean {
    return (this.options.ingestProtocol ?? 'both') !== 'v1';
  }

  /**
   * `GET /v1/rest/ingestion/configuration` as the documentation shows it: the temp containers with a SAS
   * each, no lake folders, a refresh interval within the SAS's life, the documented limits, and REST
   * preferred.
   */
  private ingestionConfiguration() {
    const now = new Date(this.options.clock?.() ?? Date.now());
    const containers = resourceRows(this.options.accounts, this.options.layout, now, CONFIGURATION_VALID_MS)
      .filter((r) => r.type === 'TempStorage')
      .map((r) => ({ path: r.url }));
    return {
      containerSettings: {
        containers,
        lakeFolders: [],
        refreshInterval: '00:30:00',
        preferredUploadMethod: 'Storage',
      },
      ingestionSettings: {
        maxBlobsPerBatch: 20,
        maxDataSize: 6_442_450_944,
        preferredIngestionMethod: 'REST',
      },
    };
  }

  /** Whether a message's `authorizationContext` is one this DM issued. */
  isIssuedToken(token: unknown): boolean {
    return typeof token === 'string' && this.options.tokens.hasToken(token);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = String(req.headers['x-ms-client-request-id'] ?? 'none');
    try {
      const path = new URL(req.url ?? '/', 'http://standin').pathname;
      if (req.method === 'GET' && path === '/v1/rest/auth/metadata') {
        sendJson(res, 200, AUTH_METADATA);
        return;
      }
      if (path === '/_standin/faults') {
        await this.faultsEndpoint(req, res);
        return;
      }
      if (req.method === 'GET' && path === '/_standin/stats') {
        sendJson(res, 200, { commands: Object.fromEntries(this.commandCounts) });
        return;
      }
      if (req.method === 'GET' && path === '/v1/rest/ingestion/configuration' && this.servesV2) {
        sendJson(res, 200, this.ingestionConfiguration());
        return;
      }
      if (req.method === 'POST' && path === '/v1/rest/mgmt') {
        await this.mgmt(req, res);
        return;
      }
      const rest = REST_QUEUED.exec(path);
      if (rest && this.servesV2) {
        await this.restQueued(
          req,
          res,
          [rest[1], rest[2], rest[3]].map((p) => (p === undefined ? p : decodeURIComponent(p))),
        );
        return;
      }
      throw new StandinHttpError({
        status: 404,
        code: 'NotFound',
        message: `${req.method ?? 'GET'} ${path} is not an endpoint of the Data Management service: use POST /v1/rest/mgmt`,
        permanent: true,
      });
    } catch (e) {
      if (e instanceof StandinHttpError) {
        sendFailure(res, e.failure, requestId);
        return;
      }
      sendFailure(
        res,
        { status: 500, code: 'General_InternalServerError', message: String(e), permanent: false },
        requestId,
      );
    }
  }

  private async faultsEndpoint(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const faults = this.options.faults;
    if (req.method === 'GET') {
      sendJson(res, 200, faults.current);
      return;
    }
    if (req.method === 'DELETE') {
      sendJson(res, 200, faults.reset());
      return;
    }
    if (req.method === 'POST') {
      try {
        sendJson(res, 200, faults.update(parseFaultUpdate(await readJson(req))));
        return;
      } catch (e) {
        if (e instanceof StandinHttpError) throw e;
        throw new StandinHttpError({
          status: 400,
          code: 'BadRequest',
          message: (e as Error).message,
          permanent: true,
        });
      }
    }
    throw new StandinHttpError({
      status: 405,
      code: 'MethodNotAllowed',
      message: 'use GET, POST or DELETE',
      permanent: true,
    });
  }

  /**
   * The REST queued-ingestion endpoints (ingest v2): `POST …/queued/{db}/{table}` submits, `GET
   * …/queued/{db}/{table}/{operationId}` reads an operation. The mgmt5xx switch fails them as it fails
   * management commands: one service behind both.
   */
  private async restQueued(
    req: IncomingMessage,
    res: ServerResponse,
    [database = '', table = '', operationId]: (string | undefined)[],
  ): Promise<void> {
    checkAuthorization(req);
    if (this.options.faults.take('mgmt5xx'))
      throw new StandinHttpError({
        status: 503,
        code: 'ServiceUnavailable',
        message: 'the stand-in answers 503 (fault switch mgmt5xx)',
        permanent: false,
      });
    const key = operationId === undefined ? `POST queued ${database}.${table}` : `GET queued status`;
    this.commandCounts.set(key, (this.commandCounts.get(key) ?? 0) + 1);
    if (this.options.faults.take('throttleRest'))
      throw new StandinHttpError({
        status: 429,
        code: 'TooManyRequests',
        message: 'the stand-in throttles REST ingestion (fault switch throttleRest)',
        permanent: false,
        headers: { 'retry-after': String(this.options.faults.current.retryAfterSeconds) },
      });
    if (req.method === 'GET' && operationId !== undefined) {
      const details = new URL(req.url ?? '/', 'http://standin').searchParams.get('details') === 'true';
      sendJson(res, 200, this.options.operations.status(database, table, operationId, details));
      return;
    }
    if (req.method === 'POST' && operationId === undefined) {
      let body: unknown;
      try {
        body = await readJson(req);
      } catch (e) {
        throw new StandinHttpError({
          status: 400,
          code: 'BadRequest_InvalidBody',
          message: (e as Error).message,
          permanent: true,
        });
      }
      const answer = await submitRest(this.restDeps(), database, table, body);
      sendJson(res, 200, answer);
      return;
    }
    throw new StandinHttpError({
      status: 405,
      code: 'MethodNotAllowed',
      message: 'POST …/queued/{db}/{table} submits; GET …/queued/{db}/{table}/{operationId} reads',
      permanent: true,
    });
  }

  /** What submissions (REST or `.ingest-from-storage-queued`) work with. */
  private restDeps(): RestIngestDeps {
    return {
      accounts: this.options.storageAccounts ?? this.options.accounts,
      layout: this.options.layout,
      operations: this.options.operations,
      token: () => this.restToken(),
      clock: this.options.clock ?? Date.now,
      ...(this.options.identityAllowed && { identityAllowed: this.options.identityAllowed }),
    };
  }

  private issuedRestToken: string | undefined;
  /** The identity token the DM's own messages for REST submissions carry. */
  private restToken(): string {
    if (this.issuedRestToken === undefined) {
      this.issuedRestToken = `standin-rest-${Date.now().toString(36)}`;
      this.options.tokens.addToken(this.issuedRestToken);
    }
    return this.issuedRestToken;
  }

  private async mgmt(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkAuthorization(req);
    const body = (await readJson(req)) as { db?: unknown; csl?: unknown };
    if (typeof body.csl !== 'string' || body.csl.trim() === '') {
      throw new StandinHttpError({
        status: 400,
        code: 'BadRequest_EmptyCommand',
        message: "the body needs 'csl': the command text",
        permanent: true,
      });
    }
    const csl = body.csl.trim().replace(/\s+/g, ' ');
    const command = csl.toLowerCase();
    this.commandCounts.set(csl, (this.commandCounts.get(csl) ?? 0) + 1);
    const faults = this.options.faults;
    if (faults.take('mgmt5xx')) {
      throw new StandinHttpError({
        status: 503,
        code: 'ServiceUnavailable',
        message: 'the stand-in answers 503 (fault switch mgmt5xx)',
        permanent: false,
      });
    }

    const isResources = command.startsWith('.get ingestion resources');
    if (isResources && faults.take('throttleResources')) {
      throw new StandinHttpError({
        status: 429,
        code: 'TooManyRequests',
        message: 'the stand-in throttles .get ingestion resources (fault switch throttleResources)',
        permanent: false,
        headers: { 'retry-after': String(faults.current.retryAfterSeconds) },
      });
    }
    let result;
    try {
      const queued = this.servesV2
        ? await runQueuedIngestCommand(
            this.restDeps(),
            typeof body.db === 'string' && body.db !== '' ? body.db : 'NetDefaultDB',
            csl,
            String(req.headers['x-ms-client-request-id'] ?? ''),
          )
        : undefined;
      if (queued) {
        sendJson(res, 200, v1Result(queued));
        return;
      }
      result = runDmCommand(
        {
          accounts: this.options.accounts,
          layout: this.options.layout,
          now: new Date(this.options.clock?.() ?? Date.now()),
          startedOn: this.startedOn,
          issueToken: (token) => this.options.tokens.addToken(token),
          operations: this.options.operations,
        },
        csl,
      );
    } catch (e) {
      if (e instanceof KustoError)
        throw new StandinHttpError({
          status: e.status,
          code: e.code,
          message: e.message,
          permanent: e.permanent,
        });
      throw e;
    }
    sendJson(res, 200, v1Result(result));
  }
}

/** Any bearer token is accepted (no AAD here); a malformed Authorization header is not. */
export function checkAuthorization(req: IncomingMessage): void {
  const header = req.headers.authorization;
  if (header === undefined) return;
  if (!/^Bearer \S+$/.test(header)) {
    throw new StandinHttpError({
      status: 401,
      code: 'Unauthorized',
      message: "the Authorization header must be 'Bearer <token>'",
      permanent: true,
    });
  }
}
