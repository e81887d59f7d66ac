/**
 * A local Entra stand-in for the operator tests: an OpenID provider on 127.0.0.1 whose signing key the test
 * owns. It serves the tenant's discovery document and JWKS at Entra's paths, and the authorization code
 * flow with PKCE the console signs in with (the authorize endpoint approves the user the test names, the
 * token endpoint checks the code verifier); `mint` signs any token a test needs, right or wrong.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';

export const OPERATOR_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const OPERATOR_CLIENT = '6a5820b9-fdf6-4cc4-81b9-b416b444fd6d';

export interface SignedInUser {
  readonly oid: string;
  readonly name: string;
  readonly roles: readonly string[];
}

export interface LocalIssuer {
  /** The authority to set as OPERATOR_AUTHORITY: `http://127.0.0.1:<port>`. */
  readonly authority: string;
  readonly v2Issuer: string;
  readonly v1Issuer: string;
  /** The app settings that point the app at this issuer. */
  readonly settings: Record<string, string>;
  /** A token for the app, signed with the tenant's key unless told otherwise; claims override the defaults. */
  mint(claims?: JWTPayload, options?: { key?: 'tenant' | 'other'; kid?: string }): Promise<string>;
  /** A token with `alg: none`, as an attacker would send it. */
  unsigned(claims?: JWTPayload): string;
  /** Who the authorize endpoint signs in next. */
  signInAs(user: SignedInUser): void;
  /**
   * Rotates the tenant's signing key: a new key (its own kid) signs from now on, and the JWKS lists only it
   * (the old one retired).
   */
  rotate(): Promise<void>;
  /** How many times the JWKS was fetched. */
  readonly jwksRequests: () => number;
  stop(): Promise<void>;
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

export async function startLocalIssuer(): Promise<LocalIssuer> {
  let tenantKey = await generateKeyPair('RS256', { extractable: true });
  const otherKey = await generateKeyPair('RS256', { extractable: true });
  let kid = 'tenant-key-1';
  let jwk = { ...(await exportJWK(tenantKey.publicKey)), kid, use: 'sig', alg: 'RS256' };
  let rotations = 0;
  const codes = new Map<string, { challenge: string; redirectUri: string; user: SignedInUser }>();
  let user: SignedInUser = { oid: randomUUID(), name: 'Olga Operator', roles: ['Ingest.Operator'] };
  let jwks = 0;
  let authority = '';

  const base = () => `${authority}/${OPERATOR_TENANT}`;
  const v2Issuer = () => `${base()}/v2.0`;
  const v1Issuer = `https://sts.windows.net/${OPERATOR_TENANT}/`;

  async function mint(claims: JWTPayload = {}, options: { key?: 'tenant' | 'other'; kid?: string } = {}) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      aud: `api://${OPERATOR_CLIENT}`,
      iss: v2Issuer(),
      tid: OPERATOR_TENANT,
      oid: user.oid,
      name: user.name,
      roles: [...user.roles],
      iat: now,
      nbf: now,
      exp: now + 3600,
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: options.kid ?? kid })
      .sign(options.key === 'other' ? otherKey.privateKey : tenantKey.privateKey);
  }

  const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*' };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', ...cors });
    res.end(JSON.stringify(body));
  };
  const form = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', authority);
      const path = url.pathname;
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { ...cors, 'access-control-allow-methods': 'GET, POST' });
        res.end();
      } else if (path === `/${OPERATOR_TENANT}/v2.0/.well-known/openid-configuration`) {
        json(res, 200, {
          issuer: v2Issuer(),
          authorization_endpoint: `${base()}/oauth2/v2.0/authorize`,
          token_endpoint: `${base()}/oauth2/v2.0/token`,
          jwks_uri: `${base()}/discovery/v2.0/keys`,
          response_types_supported: ['code'],
          code_challenge_methods_supported: ['S256'],
          id_token_signing_alg_values_supported: ['RS256'],
        });
      } else if (path === `/${OPERATOR_TENANT}/discovery/v2.0/keys`) {
        jwks++;
        json(res, 200, { keys: [jwk] });
      } else if (path === `/${OPERATOR_TENANT}/oauth2/v2.0/authorize`) {
        const q = url.searchParams;
        if (q.get('client_id') !== OPERATOR_CLIENT || q.get('code_challenge_method') !== 'S256') {
          json(res, 400, { error: 'invalid_request' });
          return;
        }
        const code = randomBytes(16).toString('base64url');
        codes.set(code, {
          challenge: q.get('code_challenge') ?? '',
          redirectUri: q.get('redirect_uri') ?? '',
          user,
        });
        const back = new URL(q.get('redirect_uri') ?? '');
        back.searchParams.set('code', code);
        back.searchParams.set('state', q.get('state') ?? '');
        res.writeHead(302, { location: back.toString() });
        res.end();
      } else if (path === `/${OPERATOR_TENANT}/oauth2/v2.0/token` && req.method === 'POST') {
        const body = await form(req);
        const grant = codes.get(body.get('code') ?? '');
        codes.delete(body.get('code') ?? '');
        const verifier = body.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        if (!grant || grant.challenge !== challenge || grant.redirectUri !== body.get('redirect_uri')) {
          json(res, 400, { error: 'invalid_grant' });
          return;
        }
        const token = await mint({
          oid: grant.user.oid,
          name: grant.user.name,
          roles: [...grant.user.roles],
        });
        json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 3600 });
      } else {
        json(res, 404, { error: 'not_found' });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  authority = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    authority,
    v2Issuer: v2Issuer(),
    v1Issuer,
    settings: {
      OPERATOR_AUTH: 'entra',
      OPERATOR_TENANT_ID: OPERATOR_TENANT,
      OPERATOR_CLIENT_ID: OPERATOR_CLIENT,
      OPERATOR_AUTHORITY: authority,
    },
    mint,
    unsigned: (claims = {}) => {
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        aud: `api://${OPERATOR_CLIENT}`,
        iss: v2Issuer(),
        oid: user.oid,
        roles: ['Ingest.Operator'],
        exp: now + 3600,
        ...claims,
      };
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
    },
    signInAs: (next) => {
      user = next;
    },
    rotate: async () => {
      tenantKey = await generateKeyPair('RS256', { extractable: true });
      kid = `tenant-key-${2 + rotations++}`;
      jwk = { ...(await exportJWK(tenantKey.publicKey)), kid, use: 'sig', alg: 'RS256' };
    },
    jwksRequests: () => jwks,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
