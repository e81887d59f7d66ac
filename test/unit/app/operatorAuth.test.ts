import type { AuditEntry, AuditLog } from '../../../shared/app/operator/auditLog';
import {
  authorizeOperator,
  handleOperatorRequest,
  operatorAuthLevel,
  type OperatorAuthorizer,
} from '../../../shared/app/http/operatorAuth';
import { OPERATOR_ENDPOINTS, OPERATOR_FUNCTIONS } from '../../../shared/app/http/operatorEndpoints';
import { OperatorTokenVerifier } from '../../../shared/app/http/operatorToken';
import { silentLogger } from '../../../shared/log';
import { apiRequest } from '../../helpers/apiRequest';
import {
  OPERATOR_CLIENT,
  OPERATOR_TENANT,
  startLocalIssuer,
  type LocalIssuer,
} from '../../helpers/localIssuer';

let issuer: LocalIssuer;
let entra: OperatorAuthorizer;

beforeAll(async () => {
  issuer = await startLocalIssuer();
  entra = {
    mode: 'entra',
    verifier: new OperatorTokenVerifier({
      tenantId: OPERATOR_TENANT,
      clientId: OPERATOR_CLIENT,
      authority: issuer.authority,
    }),
  };
});
afterAll(() => issuer.stop());

const withToken = (token: string, method = 'GET', headers: Record<string, string> = {}) =>
  apiRequest(method, '/api/ingest', null, { authorization: `Bearer ${token}`, ...headers });
const hour = 3600;
const now = () => Math.floor(Date.now() / 1000);

describe('operator auth levels (OPERATOR_AUTH)', () => {
  it("needs the host's master key by default, and leaves the check to the app with entra", () => {
    expect(operatorAuthLevel({})).toBe('admin');
    expect(operatorAuthLevel({ OPERATOR_AUTH: 'key' })).toBe('admin');
    expect(operatorAuthLevel({ OPERATOR_AUTH: 'entra' })).toBe('anonymous');
  });

  it.each(OPERATOR_FUNCTIONS)('%s registers with the auth level the setting gives', (name) => {
    const saved = process.env.OPERATOR_AUTH;
    try {
      for (const [mode, level] of [
        ['entra', 'anonymous'],
        ['key', 'admin'],
      ] as const) {
        process.env.OPERATOR_AUTH = mode;
        jest.isolateModules(() => {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const fn = require(`../../../functions/${name}`) as { options: { authLevel: string } };
          expect([name, mode, fn.options.authLevel]).toEqual([name, mode, level]);
        });
      }
    } finally {
      if (saved === undefined) delete process.env.OPERATOR_AUTH;
      else process.env.OPERATOR_AUTH = saved;
    }
  });
});

describe('Entra tokens, checked by the app', () => {
  it('lets in a token for the app from the tenant, with the operator role, and names its caller', async () => {
    const token = await issuer.mint({ oid: 'oid-1', name: 'Olga Operator' });
    const result = await authorizeOperator(withToken(token), 'write', entra);
    expect(result).toEqual({
      caller: { principalId: 'oid-1', name: 'Olga Operator', roles: ['Ingest.Operator'] },
    });
  });

  it('takes v1 tokens (the sts issuer, api:// audience) and v2 tokens (the client id as audience) alike', async () => {
    for (const claims of [
      { iss: issuer.v1Issuer, aud: `api://${OPERATOR_CLIENT}` },
      { iss: issuer.v2Issuer, aud: OPERATOR_CLIENT },
    ]) {
      const result = await authorizeOperator(withToken(await issuer.mint(claims)), 'read', entra);
      expect([claims, 'caller' in result]).toEqual([claims, true]);
    }
  });

  it.each([
    ['no token', () => Promise.resolve(undefined), /Send an Entra access token/],
    ['a wrong audience', () => issuer.mint({ aud: 'api://someone-else' }), /for another application/],
    [
      'a wrong issuer',
      () => issuer.mint({ iss: 'https://sts.windows.net/other-tenant/' }),
      /not from the tenant/,
    ],
    ['an expired token', () => issuer.mint({ exp: now() - 2 * hour, iat: now() - 3 * hour }), /expired/],
    ['a token not valid yet', () => issuer.mint({ nbf: now() + hour }), /not valid yet/],
    ['another key', () => issuer.mint({}, { key: 'other' }), /not signed by the tenant's keys/],
    [
      'another key under the tenant key id',
      () => issuer.mint({}, { key: 'other', kid: 'tenant-key-1' }),
      /not signed by the tenant's keys/,
    ],
    ['alg: none', () => Promise.resolve(issuer.unsigned()), /not a valid signed JWT|RS256/],
    [
      'another tenant in tid',
      () => issuer.mint({ tid: '00000000-0000-0000-0000-000000000000' }),
      /another tenant/,
    ],
    ['not a JWT', () => Promise.resolve('not-a-jwt'), /not a valid signed JWT/],
  ])('refuses %s with 401 InvalidToken and a Bearer challenge', async (_name, token, message) => {
    const t = await token();
    const req = t === undefined ? apiRequest('GET', '/api/ingest') : withToken(t);
    const result = await authorizeOperator(req, 'read', entra);
    expect(result).toMatchObject({ refused: { status: 401, jsonBody: { error: { code: 'InvalidToken' } } } });
    const refused = (
      result as { refused: { jsonBody: { error: { message: string } }; headers: Record<string, string> } }
    ).refused;
    expect(refused.jsonBody.error.message).toMatch(message);
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it('never takes a principal header for a token', async () => {
    const req = apiRequest('GET', '/api/ingest', null, {
      'x-ms-client-principal-id': '00000000-0000-0000-0000-000000000001',
      'x-ms-client-principal-name': 'admin@contoso.com',
    });
    expect(await authorizeOperator(req, 'read', entra)).toMatchObject({ refused: { status: 401 } });
  });

  it('answers 403 RoleRequired without a role, and to a reader who would change something', async () => {
    const none = await issuer.mint({ roles: [] });
    expect(await authorizeOperator(withToken(none), 'read', entra)).toMatchObject({
      refused: { status: 403, jsonBody: { error: { code: 'RoleRequired' } } },
    });
    const reader = await issuer.mint({ roles: ['Ingest.Reader'] });
    expect(await authorizeOperator(withToken(reader), 'read', entra)).toHaveProperty('caller');
    expect(await authorizeOperator(withToken(reader), 'write', entra)).toMatchObject({
      refused: { status: 403, jsonBody: { error: { code: 'RoleRequired' } } },
    });
    // A role of another app, or a made-up one, is no operator role.
    const other = await issuer.mint({ roles: ['Ingest.Admin', 'Task.Write'] });
    expect(await authorizeOperator(withToken(other), 'read', entra)).toMatchObject({
      refused: { status: 403 },
    });
  });

  it('reads the signing keys once, not per request', async () => {
    const before = issuer.jwksRequests();
    for (let i = 0; i < 5; i++) await authorizeOperator(withToken(await issuer.mint()), 'read', entra);
    expect(issuer.jwksRequests() - before).toBeLessThanOrEqual(1);
  });
});

describe('signing key rotation', () => {
  it("takes a token signed with the tenant's new key (fetching the keys again), and refuses one signed with the retired key", async () => {
    const rotating = await startLocalIssuer();
    try {
      const verifier = new OperatorTokenVerifier(
        { tenantId: OPERATOR_TENANT, clientId: OPERATOR_CLIENT, authority: rotating.authority },
        { keyRefetchCooldownMs: 0 },
      );
      const authorizer: OperatorAuthorizer = { mode: 'entra', verifier };
      const before = await rotating.mint();
      expect('caller' in (await authorizeOperator(withToken(before), 'read', authorizer))).toBe(true);
      expect(rotating.jwksRequests()).toBe(1);

      await rotating.rotate();
      const after = await rotating.mint();
      expect('caller' in (await authorizeOperator(withToken(after), 'read', authorizer))).toBe(true);
      expect(rotating.jwksRequests()).toBe(2); // the new kid was not known: fetched again

      const retired = await authorizeOperator(withToken(before), 'read', authorizer);
      expect(retired).toMatchObject({
        refused: { status: 401, jsonBody: { error: { code: 'InvalidToken' } } },
      });
    } finally {
      await rotating.stop();
    }
  });
});

describe('operator actions', () => {
  function memoryAudit() {
    const entries: Omit<AuditEntry, 'at'>[] = [];
    const audit = {
      write: (e: Omit<AuditEntry, 'at'>) => {
        entries.push(e);
        return Promise.resolve({ ...e, at: new Date().toISOString() });
      },
    } as unknown as AuditLog;
    return { entries, audit };
  }
  const ok = () => Promise.resolve({ status: 202, jsonBody: { ok: true } });

  it('records who did what to what, and the outcome', async () => {
    const { entries, audit } = memoryAudit();
    const token = await issuer.mint({ oid: 'oid-7', name: 'Olga Operator' });
    const req = apiRequest('POST', '/api/ingest/retry', JSON.stringify({ database: 'demo', table: 'T' }), {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json; charset=utf-8',
    });
    const result = await handleOperatorRequest(
      req,
      () => ({ operators: entra, audit }),
      silentLogger,
      OPERATOR_ENDPOINTS.ingestRetryMany,
      async (r) => {
        // The handler still gets the body the audit record read.
        expect(await new Response(r.body).json()).toEqual({ database: 'demo', table: 'T' });
        return ok();
      },
    );
    expect(result.status).toBe(202);
    expect(entries).toEqual([
      {
        principalId: 'oid-7',
        principalName: 'Olga Operator',
        roles: ['Ingest.Operator'],
        action: 'retryMany',
        target: 'demo.T errorCode=*',
        status: 202,
        code: undefined,
      },
    ]);
  });

  it.each([
    ['no content type (a form or no-cors request)', {}],
    ['a form', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['text', { 'content-type': 'text/plain' }],
  ])('refuses a write sent as %s with 415, runs nothing, and records the attempt', async (_name, headers) => {
    const { entries, audit } = memoryAudit();
    let ran = false;
    const result = await handleOperatorRequest(
      apiRequest('POST', '/api/landing/replay', null, headers),
      () => ({ operators: { mode: 'key' }, audit }),
      silentLogger,
      OPERATOR_ENDPOINTS.landingReplay,
      () => {
        ran = true;
        return ok();
      },
    );
    expect(result).toMatchObject({ status: 415, jsonBody: { error: { code: 'UnsupportedMediaType' } } });
    expect(ran).toBe(false);
    expect(entries).toEqual([
      expect.objectContaining({ principalId: 'function key', action: 'replay', status: 415 }),
    ]);
  });

  it('refuses a reader a write and records who tried; lets a reader read, unrecorded; records no unknown caller', async () => {
    const { entries, audit } = memoryAudit();
    const reader = await issuer.mint({ roles: ['Ingest.Reader'] });
    const services = () => ({ operators: entra, audit });
    const write = await handleOperatorRequest(
      {
        ...apiRequest('DELETE', '/api/backfill/x', null, {
          authorization: `Bearer ${reader}`,
          'content-type': 'application/json',
        }),
        params: { jobId: 'x' },
      },
      services,
      silentLogger,
      OPERATOR_ENDPOINTS.backfillCancel,
      ok,
    );
    expect(write.status).toBe(403);
    const read = await handleOperatorRequest(
      withToken(reader),
      services,
      silentLogger,
      OPERATOR_ENDPOINTS.ingestList,
      ok,
    );
    expect(read.status).toBe(202);
    expect(entries).toEqual([
      expect.objectContaining({
        roles: ['Ingest.Reader'],
        action: 'backfillCancel',
        target: 'job x',
        status: 403,
        code: 'RoleRequired',
      }),
    ]);
    const anonymous = await handleOperatorRequest(
      apiRequest('POST', '/api/landing/replay', null, { 'content-type': 'application/json' }),
      services,
      silentLogger,
      OPERATOR_ENDPOINTS.landingReplay,
      ok,
    );
    expect(anonymous.status).toBe(401);
    expect(entries).toHaveLength(1);
  });

  it('keeps the action when the audit log cannot be written, and says so in the log', async () => {
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (m: string) => errors.push(m) };
    const audit = { write: () => Promise.reject(new Error('table down')) } as unknown as AuditLog;
    const result = await handleOperatorRequest(
      apiRequest('POST', '/api/landing/replay', null, { 'content-type': 'application/json' }),
      () => ({ operators: { mode: 'key' }, audit }),
      logger,
      OPERATOR_ENDPOINTS.landingReplay,
      ok,
    );
    expect(result.status).toBe(202);
    expect(errors).toEqual([expect.stringMatching(/AuditWriteFailed.*replay/)]);
  });
});
