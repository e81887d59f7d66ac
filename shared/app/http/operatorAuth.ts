import { classify } from '../../errors';
import type { Logger } from '../../log';
import type { AuditLog, OperatorAction } from '../operator/auditLog';
import { triggerSetting } from '../settings';
import { errorResult } from './errorResult';
import { errorBody, type HttpRequestLike, type HttpResult } from './httpTypes';
import {
  MASTER_KEY_CALLER,
  OPERATOR_ROLES,
  TokenRejected,
  type OperatorCaller,
  type OperatorTokenVerifier,
} from './operatorToken';

export type OperatorAuth = 'key' | 'entra';

/**
 * How the console and the operator API are protected (OPERATOR_AUTH), read when the functions register:
 * their auth level depends on it.
 */
export function operatorAuthMode(env = process.env): OperatorAuth {
  return triggerSetting('OPERATOR_AUTH', env) === 'entra' ? 'entra' : 'key';
}

/**
 * The host's auth level for an operator function: `admin` (the host's master key; the ingestion callers'
 * function keys are not enough), or `anonymous` when the app checks Entra tokens itself.
 */
export const operatorAuthLevel = (env = process.env): 'admin' | 'anonymous' =>
  operatorAuthMode(env) === 'entra' ? 'anonymous' : 'admin';

/** What a call needs: to read (either role), or to change something (the operator role). */
export type OperatorNeed = 'read' | 'write';

/** How the app establishes an operator: the host checked its master key, or a token the app checks. */
export type OperatorAuthorizer =
  { readonly mode: 'key' } | { readonly mode: 'entra'; readonly verifier: OperatorTokenVerifier };

const REALM = 'realm="kusto-ingest-functions"';

/** The caller, or the answer that refuses it (401 InvalidToken, 403 RoleRequired, 503). */
export async function authorizeOperator(
  req: HttpRequestLike,
  need: OperatorNeed,
  authorizer: OperatorAuthorizer,
): Promise<
  | { readonly caller: OperatorCaller }
  /** Refused; `caller` when it is known (a valid token without the role needed). */
  | { readonly refused: HttpResult; readonly caller?: OperatorCaller }
> {
  if (authorizer.mode === 'key') return { caller: MASTER_KEY_CALLER };
  // Never a header such as x-ms-client-principal-id: anyone can send one where nothing strips it.
  const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get('authorization') ?? '')?.[1];
  if (!token)
    return {
      refused: errorBody(
        401,
        'InvalidToken',
        'Send an Entra access token for this app: Authorization: Bearer <token> (the console signs you in).',
        { 'www-authenticate': `Bearer ${REALM}` },
      ),
    };
  let caller: OperatorCaller;
  try {
    caller = await authorizer.verifier.verify(token);
  } catch (e) {
    if (!(e instanceof TokenRejected))
      return {
        refused: errorBody(
          503,
          'ServiceUnavailable',
          "The tenant's token signing keys cannot be read right now: retry after 10 s.",
          { 'retry-after': '10' },
        ),
      };
    const description = e.message.replace(/["\\]/g, '');
    return {
      refused: errorBody(401, 'InvalidToken', e.message, {
        'www-authenticate': `Bearer ${REALM}, error="invalid_token", error_description="${description}"`,
      }),
    };
  }
  const allowed =
    need === 'write' ? [OPERATOR_ROLES.operator] : [OPERATOR_ROLES.operator, OPERATOR_ROLES.reader];
  if (!caller.roles.some((r) => (allowed as readonly string[]).includes(r)))
    return {
      caller,
      refused: errorBody(
        403,
        'RoleRequired',
        need === 'write'
          ? `This changes something: it needs the app role ${OPERATOR_ROLES.operator} (${OPERATOR_ROLES.reader} may only list and read).`
          : `This needs the app role ${OPERATOR_ROLES.reader} or ${OPERATOR_ROLES.operator}: ask an administrator to assign one.`,
      ),
    };
  return { caller };
}

/**
 * Whether a write came with a JSON content type: an HTML form or a `no-cors` request from another site can
 * send neither it nor an Authorization header, so a browser that holds the operator's key or session
 * cannot be made to send the action from elsewhere.
 */
export function sentAsJson(req: HttpRequestLike): boolean {
  const type = (req.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/json';
}

/** One operator function: what it needs, and for a write what the audit log records of it. */
export interface OperatorEndpoint {
  readonly need: OperatorNeed;
  /** Writes: the action's name and its target, from the request (its JSON body already read into `body`). */
  readonly audit?: {
    readonly action: OperatorAction;
    readonly target: (req: HttpRequestLike, body: unknown) => string;
  };
}

/** What an operator call needs of the app. */
export interface OperatorServices {
  readonly operators: OperatorAuthorizer;
  readonly audit: AuditLog;
}

const MAX_WRITE_BODY = 64 * 1024;

/** A write's JSON body, read once (small: the audit record names its target), and a request to hand on. */
async function bufferedBody(req: HttpRequestLike): Promise<{ body: unknown; request: HttpRequestLike }> {
  if (req.body === null) return { body: undefined, request: req };
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > MAX_WRITE_BODY) break;
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks);
  let body: unknown;
  try {
    body = bytes.length > 0 ? JSON.parse(bytes.toString('utf8')) : undefined;
  } catch {
    body = undefined; // the handler says what is wrong with it
  }
  const request: HttpRequestLike = { ...req, body: bytes.length > 0 ? new Response(bytes).body : null };
  return { body, request };
}

/**
 * Runs an operator function: establishes the caller and its role, refuses a write that is not JSON, runs
 * the handler, and records every write in the audit log (who, role, action, target, when, outcome),
 * refused and failed ones too. An audit write that fails is logged, never hidden: the action stands.
 */
export async function handleOperatorRequest(
  req: HttpRequestLike,
  services: () => OperatorServices,
  log: Logger,
  endpoint: OperatorEndpoint,
  handle: (req: HttpRequestLike) => Promise<HttpResult>,
): Promise<HttpResult> {
  let ctx: OperatorServices;
  try {
    ctx = services();
  } catch (e) {
    return errorResult(e, log); // the settings are not valid: said without the values
  }
  const authorized = await authorizeOperator(req, endpoint.need, ctx.operators);
  const { caller } = authorized;
  const refused = 'refused' in authorized ? authorized.refused : undefined;
  const audit = endpoint.audit;
  // Reads are not recorded, nor is a caller nobody can name (no valid token); a refused writer is.
  if (!audit || !caller) return refused ?? handle(req);
  const done = refused
    ? { result: refused, target: audit.target(req, undefined) }
    : await runWrite(req, audit.target, handle);
  await record(ctx.audit, log, caller, audit.action, done.target, done.result);
  return done.result;
}

/** A write: refused unless it is JSON; its body read once, for its target and for the handler. */
async function runWrite(
  req: HttpRequestLike,
  target: (req: HttpRequestLike, body: unknown) => string,
  handle: (req: HttpRequestLike) => Promise<HttpResult>,
): Promise<{ result: HttpResult; target: string }> {
  if (!sentAsJson(req))
    return {
      target: '',
      result: errorBody(
        415,
        'UnsupportedMediaType',
        'Operator actions are sent with Content-Type: application/json (an empty body is fine): a form or a cross-site request cannot send one.',
      ),
    };
  const { body, request } = await bufferedBody(req);
  return { target: target(req, body), result: await handle(request) };
}

/** Writes one audit record; a failure is logged, never hidden, and the action stands. */
async function record(
  audit: AuditLog,
  log: Logger,
  caller: OperatorCaller,
  action: OperatorAction,
  target: string,
  result: HttpResult,
): Promise<void> {
  const code = (result.jsonBody as { error?: { code?: unknown } } | undefined)?.error?.code;
  try {
    await audit.write({
      principalId: caller.principalId,
      principalName: caller.name,
      roles: caller.roles,
      action,
      target,
      status: result.status,
      code: typeof code === 'string' ? code : undefined,
    });
  } catch (e) {
    log.error(
      JSON.stringify({
        event: 'AuditWriteFailed',
        action,
        target,
        principalId: caller.principalId,
        status: result.status,
        message: classify(e).message,
      }),
    );
  }
}
