import { createHmac, randomUUID } from 'node:crypto';
import type { Agent } from 'node:http';
import type { TokenCredential } from '@azure/core-auth';
import {
  createHttpHeaders,
  createPipelineRequest,
  type Pipeline,
  type PipelinePolicy,
} from '@azure/core-rest-pipeline';
import { IngestAuthError } from '../errors';
import { withRetry } from '../retry';
import { failedAsError, leanPipeline, sendLean, type LeanResponse } from './leanHttpClient';

/** How requests to the app's own tables and queues are authorised. */
export type StorageAuth =
  /** Shared Key Lite, from a connection string's account key. */
  | { readonly kind: 'sharedKey'; readonly accountName: string; readonly accountKey: string }
  /** A bearer token for storage (managed identity and the rest of the default chain). */
  | { readonly kind: 'token'; readonly credential: TokenCredential }
  /** A connection string's SAS. */
  | { readonly kind: 'sas'; readonly sas: string };

/** Which service's Shared Key Lite string to sign: the Table service signs less than Blob and Queue. */
export type SignedService = 'table' | 'queue';

export interface SignedRestOptions {
  /** The service endpoint, path-style for emulators: `http://127.0.0.1:10001/devstoreaccount1`. */
  readonly endpoint: string;
  readonly service: SignedService;
  readonly auth: StorageAuth;
  /** The service version every request names. */
  readonly apiVersion: string;
  /** Headers every request carries (the Table service's OData negotiation). @default none */
  readonly headers?: Readonly<Record<string, string>>;
  /** Pipeline policies every request goes through (fault injection in tests). @default none */
  readonly policies?: readonly PipelinePolicy[];
  /** Per-request timeout. @default 30_000 */
  readonly requestTimeoutInMs?: number;
  /** Attempts per operation, for transient failures (5xx, 408, 429, a lost connection). @default 3 */
  readonly maxAttempts?: number;
}

export interface SignedRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path below the endpoint, with its query (no SAS: that belongs to `auth`). */
  readonly path: string;
  readonly body?: string | undefined;
  readonly contentType?: string | undefined;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * A 404 is an answer, not an error: looking a row up and finding none is the common case of a skip
   * check, and a `RestError` (with its stack) per miss cost more than the request (bench/README.md, 10).
   */
  readonly notFoundIsAnswer?: boolean;
}

/** The account a Shared Key signature names, and its key as bytes. */
interface SharedKey {
  readonly accountName: string;
  readonly key: Buffer;
}

const STORAGE_SCOPE = 'https://storage.azure.com/.default';
/** A token is renewed this long before it expires. */
const TOKEN_MARGIN_MS = 5 * 60_000;

/**
 * Single signed REST requests to the app's own storage account on the lean HTTP client: Shared Key Lite,
 * a cached bearer token or a SAS; bounded retries of transient failures beneath the caller's policies
 * (which see each operation once, as the SDK's per-call policies do); an answer of 300 or more thrown as
 * the SDKs throw it (`RestError` with the status and the service's code, the URL without its SAS).
 */
export class SignedRest {
  private readonly base: string;
  private readonly pipeline: Pipeline | undefined;
  private readonly timeout: number;
  private readonly maxAttempts: number;
  // Shared Key's account and its key decoded once: every request signs with them.
  private readonly sharedKey: SharedKey | undefined;
  private token: { value: string; expiresOn: number } | undefined;
  private tokenInFlight: Promise<string> | undefined;

  constructor(private readonly options: SignedRestOptions) {
    // A SAS belongs to `auth`, never to the endpoint: one left on it would end up inside the path.
    this.base = `${(options.endpoint.split('?')[0] ?? '').replace(/\/+$/, '')}/`;
    this.pipeline = leanPipeline(options.policies);
    this.timeout = options.requestTimeoutInMs ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? 3;
    const auth = options.auth;
    this.sharedKey =
      auth.kind === 'sharedKey'
        ? { accountName: auth.accountName, key: Buffer.from(auth.accountKey, 'base64') }
        : undefined;
  }

  async send(request: SignedRequest): Promise<LeanResponse> {
    const auth = this.options.auth;
    const sas = auth.kind === 'sas' ? auth.sas.replace(/^\?/, '') : '';
    const url = `${this.base}${request.path}${sas ? `${request.path.includes('?') ? '&' : '?'}${sas}` : ''}`;
    if (!this.pipeline) return this.attempts(request, url, request.headers ?? {});
    const response = await this.pipeline.sendRequest(
      {
        sendRequest: async (r) => ({
          ...(await this.attempts(request, r.url, r.headers.toJSON(), r.agent as Agent | undefined)),
          request: r,
        }),
      },
      createPipelineRequest({
        url,
        method: request.method,
        body: request.body,
        timeout: this.timeout,
        allowInsecureConnection: url.startsWith('http:'),
        headers: createHttpHeaders(request.headers),
      }),
    );
    // A policy may answer by itself.
    return this.checked(response, request, url);
  }

  private checked(response: LeanResponse, request: SignedRequest, url: string): LeanResponse {
    if (response.status === 404 && request.notFoundIsAnswer) return response;
    return failedAsError(response, request.method, url);
  }

  private async attempts(
    request: SignedRequest,
    url: string,
    extra: Readonly<Record<string, string>>,
    agent?: Agent,
  ): Promise<LeanResponse> {
    let last: unknown;
    try {
      return await withRetry(
        async () => {
          try {
            return await this.sendOnce(request, url, extra, agent);
          } catch (e) {
            last = e;
            throw e;
          }
        },
        { maxAttempts: this.maxAttempts, shouldRetry: (e) => e.transient },
      );
    } catch (e) {
      throw last ?? e;
    }
  }

  private async sendOnce(
    request: SignedRequest,
    url: string,
    extra: Readonly<Record<string, string>>,
    agent: Agent | undefined,
  ): Promise<LeanResponse> {
    const { auth, service, apiVersion } = this.options;
    const headers: Record<string, string> = {
      ...this.options.headers,
      ...extra,
      'x-ms-version': apiVersion,
      'x-ms-date': new Date().toUTCString(),
      'x-ms-client-request-id': randomUUID(),
    };
    const { body, method } = request;
    if (body !== undefined) {
      if (request.contentType) headers['content-type'] = request.contentType;
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    if (this.sharedKey) headers.authorization = sharedKeyLite(service, this.sharedKey, method, url, headers);
    else if (auth.kind === 'token') headers.authorization = `Bearer ${await this.bearerToken()}`;
    const response = await sendLean({ method, url, headers, body, timeout: this.timeout, agent });
    return this.checked(response, request, url);
  }

  private async bearerToken(): Promise<string> {
    const auth = this.options.auth;
    if (auth.kind !== 'token') throw new Error('no token credential');
    const cached = this.token;
    if (cached && cached.expiresOn - Date.now() > TOKEN_MARGIN_MS) return cached.value;
    this.tokenInFlight ??= auth.credential
      .getToken(STORAGE_SCOPE)
      .then((token) => {
        if (!token)
          throw new IngestAuthError(
            'The storage credential returned no token: check the app identity and its role on the storage account.',
            'Unauthorized',
          );
        this.token = { value: token.token, expiresOn: token.expiresOnTimestamp };
        return token.token;
      })
      .finally(() => {
        this.tokenInFlight = undefined;
      });
    return this.tokenInFlight;
  }
}

/**
 * Shared Key Lite: HMAC-SHA256 with the account key. The Table service signs the date and the canonical
 * resource; Blob and Queue sign the verb, Content-MD5, Content-Type, an empty Date (x-ms-date stands in),
 * the x-ms- headers (lower-case, sorted) and the canonical resource. The resource is the account, then the
 * path as sent (for a path-style emulator URL the account appears twice, as the SDKs sign it), then
 * `?comp=` if the query has one.
 */
function sharedKeyLite(
  service: SignedService,
  { accountName, key }: SharedKey,
  method: string,
  url: string,
  headers: Readonly<Record<string, string>>,
): string {
  const parsed = new URL(url);
  const comp = parsed.searchParams.get('comp');
  const resource = `/${accountName}${parsed.pathname}${comp !== null ? `?comp=${comp}` : ''}`;
  let toSign: string;
  if (service === 'table') {
    toSign = `${headers['x-ms-date'] ?? ''}\n${resource}`;
  } else {
    const canonical = Object.keys(headers)
      .filter((name) => name.startsWith('x-ms-'))
      .sort()
      .map((name) => `${name}:${(headers[name] ?? '').trim()}\n`)
      .join('');
    toSign = `${method}\n${headers['content-md5'] ?? ''}\n${headers['content-type'] ?? ''}\n\n${canonical}${resource}`;
  }
  const signature = createHmac('sha256', key).update(toSign, 'utf8').digest('base64');
  return `SharedKeyLite ${accountName}:${signature}`;
}

/** Azurite's well-known development account (public, documented). */
const DEVELOPMENT_ACCOUNT = {
  accountName: 'devstoreaccount1',
  accountKey: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
};

/**
 * The authorisation a storage connection string carries: its account key (or the development account's),
 * else its SAS. Undefined when it has neither (the caller then stays on the SDK).
 */
export function storageAuthFromConnectionString(connectionString: string): StorageAuth | undefined {
  const parts = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) parts.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true')
    return { kind: 'sharedKey', ...DEVELOPMENT_ACCOUNT };
  const accountName = parts.get('accountname');
  const accountKey = parts.get('accountkey');
  if (accountName && accountKey) return { kind: 'sharedKey', accountName, accountKey };
  const sas = parts.get('sharedaccesssignature');
  return sas ? { kind: 'sas', sas } : undefined;
}
