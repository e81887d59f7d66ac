import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { downloadBlob, sourcePathOf } from './blobSource';
import { runCommand } from './commands';
import { checkAuthorization } from './dmService';
import type { FaultSwitches } from './faults';
import { AUTH_METADATA, readBody, sendFailure, sendJson, StandinHttpError, v1Result } from './http';
import { ingestData, resolveTarget } from './ingestCore';
import { KqlDiagnosticError } from './kql/kustoLanguage';
import { KustoError } from './kustoError';
import { asOperation } from './operationLog';
import { runQuery } from './query';
import type { ResultTable } from './resultTable';
import type { KustoStore } from './store';
import type { StandinAccount } from './storageResources';

export interface EngineServiceOptions {
  readonly store: KustoStore;
  readonly accounts: readonly StandinAccount[];
  readonly faults: FaultSwitches;
  /** When the engine started, for `.show cluster` and `.show version`. @default now */
  readonly startedOn?: number;
}

/** Streaming requests above this raw size are refused, as the service refuses them (4 MB documented). */
export const STREAMING_LIMIT_BYTES = 10 * 1024 * 1024;

function v2(result: ResultTable) {
  return [
    {
      FrameType: 'DataSetHeader',
      IsProgressive: false,
      Version: 'v2.0',
      IsFragmented: false,
      ErrorReportingPlacement: 'EndOfTable',
    },
    {
      FrameType: 'DataTable',
      TableId: 0,
      TableKind: 'PrimaryResult',
      TableName: 'PrimaryResult',
      Columns: result.columns.map((c) => ({ ColumnName: c.name, ColumnType: c.type })),
      Rows: result.rows,
    },
    {
      FrameType: 'DataTable',
      TableId: 1,
      TableKind: 'QueryCompletionInformation',
      TableName: 'QueryCompletionInformation',
      Columns: [
        { ColumnName: 'Timestamp', ColumnType: 'datetime' },
        { ColumnName: 'ClientRequestId', ColumnType: 'string' },
        { ColumnName: 'Level', ColumnType: 'int' },
        { ColumnName: 'Payload', ColumnType: 'string' },
      ],
      Rows: [[new Date().toISOString(), '', 4, 'Query completed successfully']],
    },
    { FrameType: 'DataSetCompletion', HasErrors: false, Cancelled: false },
  ];
}

// Results can hold 64-bit values the JSON writer must not round: they are sent as numbers.
function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

/** The engine endpoint: control commands, the query subset (v1 and v2), and streaming ingestion. */
export class EngineService {
  private readonly startedOn: number;

  constructor(private readonly options: EngineServiceOptions) {
    this.startedOn = options.startedOn ?? Date.now();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = String(req.headers['x-ms-client-request-id'] ?? 'none');
    try {
      const url = new URL(req.url ?? '/', 'http://standin');
      const path = url.pathname;
      if (req.method === 'GET' && path === '/v1/rest/auth/metadata') {
        sendJson(res, 200, AUTH_METADATA);
        return;
      }
      checkAuthorization(req);
      if (
        req.method === 'POST' &&
        (path === '/v1/rest/mgmt' || path === '/v1/rest/query' || path === '/v2/rest/query')
      ) {
        const body = await this.json(req);
        const database = typeof body.db === 'string' && body.db !== '' ? body.db : 'demo';
        const csl = typeof body.csl === 'string' ? body.csl.trim() : '';
        if (csl === '')
          throw new KustoError(
            'BadRequest_EmptyQuery',
            "The body needs 'csl': the command or query text.",
            400,
          );
        const isCommand = csl.startsWith('.');
        if (path === '/v1/rest/mgmt' && !isCommand)
          throw new KustoError(
            'BadRequest_SyntaxError',
            'Management commands start with a dot: send queries to /v2/rest/query.',
            400,
          );
        if (path !== '/v1/rest/mgmt' && isCommand)
          throw new KustoError(
            'BadRequest_SyntaxError',
            'Commands go to /v1/rest/mgmt, not the query endpoint.',
            400,
          );
        const node = { address: `http://${req.headers.host ?? '127.0.0.1'}/`, startedOn: this.startedOn };
        const result = isCommand
          ? await runCommand({ ...this.options, node }, database, csl)
          : runQuery(this.options.store, database, csl);
        const payload = path === '/v2/rest/query' ? v2(result) : v1Result(result);
        const text = JSON.stringify(payload, jsonReplacer);
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        return;
      }
      const ingest = /^\/v1\/rest\/ingest\/([^/]+)\/([^/]+)$/.exec(path);
      if (req.method === 'POST' && ingest) {
        await this.streamingIngest(
          req,
          res,
          decodeURIComponent(ingest[1] ?? ''),
          decodeURIComponent(ingest[2] ?? ''),
          url.searchParams,
        );
        return;
      }
      throw new KustoError(
        'NotFound',
        `${req.method ?? 'GET'} ${path} is not an endpoint of the engine stand-in.`,
        404,
      );
    } catch (e) {
      if (e instanceof StandinHttpError) {
        sendFailure(res, e.failure, requestId);
        return;
      }
      if (e instanceof KustoError) {
        sendFailure(
          res,
          {
            status: e.status,
            code: e.code,
            message: e.message,
            permanent: e.permanent,
            ...(e instanceof KqlDiagnosticError && {
              details: {
                '@errorCode': e.diagnostic.code,
                '@line': e.diagnostic.line,
                '@column': e.diagnostic.column,
                '@position': e.diagnostic.position,
                '@length': e.diagnostic.length,
              },
            }),
          },
          requestId,
        );
        return;
      }
      sendFailure(
        res,
        { status: 500, code: 'General_InternalServerError', message: String(e), permanent: false },
        requestId,
      );
    }
  }

  private async json(req: IncomingMessage): Promise<{ db?: unknown; csl?: unknown }> {
    const body = await readBody(req);
    try {
      return JSON.parse(body.toString('utf8')) as { db?: unknown; csl?: unknown };
    } catch {
      throw new KustoError('BadRequest_SyntaxError', 'The request body is not JSON.', 400);
    }
  }

  private async streamingIngest(
    req: IncomingMessage,
    res: ServerResponse,
    database: string,
    tableName: string,
    query: URLSearchParams,
  ): Promise<void> {
    const { store, faults } = this.options;
    if (faults.current.streaming === 'disabled') {
      throw new KustoError(
        'StreamingIngestionFunctionalityDisabled',
        'Streaming ingestion is not enabled on this cluster: enable it on the cluster, then set a streaming ingestion policy on the table or database.',
        404,
      );
    }
    const format = (query.get('streamFormat') ?? 'csv').toLowerCase();
    const table = resolveTarget(store, database, tableName, format);
    const enabled = table.streaming ?? store.databaseStreaming(table.database);
    if (!enabled) {
      throw new KustoError(
        'BadRequest_StreamingIngestionPolicyNotEnabled',
        `Streaming ingestion policy is not enabled for table '${table.name}' or database '${table.database}': run .alter table ${table.name} policy streamingingestion enable`,
        400,
      );
    }
    const raw = await readBody(req, STREAMING_LIMIT_BYTES * 2);
    let data: Buffer;
    let source = 'streaming';
    if (query.get('sourceKind') === 'uri') {
      const { sourceUri } = JSON.parse(raw.toString('utf8')) as { sourceUri?: string };
      if (!sourceUri) throw new KustoError('BadRequest_EmptyBlobUri', "The body needs 'sourceUri'.", 400);
      data = await downloadBlob(sourceUri, this.options.accounts);
      source = sourcePathOf(sourceUri);
    } else {
      data = req.headers['content-encoding']?.toLowerCase() === 'gzip' ? gunzipSync(raw) : raw;
    }
    if (data.length > STREAMING_LIMIT_BYTES) {
      throw new KustoError(
        'Stream_InputStreamTooLarge',
        `The streaming request is ${data.length} bytes, over the limit: use queued ingestion.`,
        413,
      );
    }
    const mappingName = query.get('mappingName') ?? undefined;
    let operationId = '';
    const outcome = await asOperation(store, 'StreamingIngest', table.database, (id) => {
      operationId = id;
      return ingestData(store, {
        database,
        table: table.name,
        format,
        data,
        sourceName: source,
        sourceLocation: source,
        ...(mappingName !== undefined && { mapping: { reference: mappingName } }),
      });
    });
    sendJson(res, 200, {
      Tables: [
        {
          TableName: 'Table_0',
          Columns: [
            { ColumnName: 'ConsumedRecordsCount', DataType: 'Int64', ColumnType: 'long' },
            { ColumnName: 'UpdatePolicyStatus', DataType: 'String', ColumnType: 'string' },
            { ColumnName: 'UpdatePolicyFailureCode', DataType: 'String', ColumnType: 'string' },
            { ColumnName: 'UpdatePolicyFailureReason', DataType: 'String', ColumnType: 'string' },
            { ColumnName: 'OperationId', DataType: 'Guid', ColumnType: 'guid' },
          ],
          Rows: [[outcome.rows, 'Success', '', '', operationId]],
        },
      ],
    });
  }
}
