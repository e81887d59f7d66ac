import { columnTypeName } from './kqlTypes';
import type { ResultTable } from './resultTable';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A Kusto-style (OneAPI) error: what clients such as azure-kusto-data parse out of failures. */
export interface KustoFailure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly permanent: boolean;
  readonly headers?: Record<string, string>;
  /** More fields of the error object (a parse error's diagnostic code and position). */
  readonly details?: Record<string, unknown>;
}

export class StandinHttpError extends Error {
  constructor(readonly failure: KustoFailure) {
    super(failure.message);
    this.name = 'StandinHttpError';
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendFailure(res: ServerResponse, failure: KustoFailure, requestId: string): void {
  sendJson(
    res,
    failure.status,
    {
      error: {
        code: failure.code,
        message: failure.message,
        '@type': 'Kusto.Standin.Exception',
        '@message': failure.message,
        '@context': { clientRequestId: requestId },
        '@permanent': failure.permanent,
        ...failure.details,
      },
    },
    failure.headers,
  );
}

export async function readBody(req: IncomingMessage, limitInBytes = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitInBytes) {
      throw new StandinHttpError({
        status: 413,
        code: 'PayloadTooLarge',
        message: `request body over ${limitInBytes} bytes`,
        permanent: true,
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req);
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new StandinHttpError({
      status: 400,
      code: 'BadRequest_SyntaxError',
      message: 'the request body is not JSON',
      permanent: true,
    });
  }
}

/** A result as the v1 REST endpoints carry it: one table whose columns have both type spellings. */
export function v1Result(result: ResultTable, tableName = 'Table_0') {
  return {
    Tables: [
      {
        TableName: tableName,
        Columns: result.columns.map((c) => ({
          ColumnName: c.name,
          DataType: columnTypeName(c.type).dataType,
          ColumnType: c.type,
        })),
        Rows: result.rows,
      },
    ],
  };
}

/** The AAD block Kusto serves at /v1/rest/auth/metadata (public cloud values). */
export const AUTH_METADATA = {
  AzureAD: {
    LoginEndpoint: 'https://login.microsoftonline.com',
    LoginMfaRequired: false,
    KustoClientAppId: 'db662dc1-0cfe-4e1c-a843-19a68e65be58',
    KustoClientRedirectUri: 'https://microsoft/kustoclient',
    KustoServiceResourceId: 'https://kusto.kusto.windows.net',
    FirstPartyAuthorityUrl: 'https://login.microsoftonline.com/f8cdef31-a31e-4b4a-93e4-5f571e91255a',
  },
  dSTS: {},
};
