import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { OperatorEntra } from '../settings';

/** The app roles an operator's token carries (`roles`), as the app registration defines them. */
export const OPERATOR_ROLES = {
  /** Retry, replay, backfill, and everything a reader may do. */
  operator: 'Ingest.Operator',
  /** List and read: the console, the listing, summaries, backfill status, the audit log. */
  reader: 'Ingest.Reader',
} as const;

/** Who calls an operator function, as far as the app could establish it. */
export interface OperatorCaller {
  /** The token's object id (`oid`), or `function key` when the host checked its master key. */
  readonly principalId: string;
  /** A user's name or an application's id, for the audit log. */
  readonly name: string;
  /** The operator roles it holds. */
  readonly roles: readonly string[];
}

/** The caller of key mode: the host let the request in on its master key (auth level `admin`). */
export const MASTER_KEY_CALLER: OperatorCaller = {
  principalId: 'function key',
  name: 'function key',
  roles: [OPERATOR_ROLES.operator, OPERATOR_ROLES.reader],
};

/** A token that does not let its bearer in: why, in words safe to answer (no part of the token). */
export class TokenRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenRejected';
  }
}

export interface OperatorTokenVerifierOptions {
  /** Slack for the token's times. @default 300 s */
  readonly clockToleranceSeconds?: number;
  /** @default Date.now */
  readonly clock?: () => number;
  /**
   * After fetching the keys, how long a token naming a key not among them waits before they are fetched
   * again (a forged kid must not make every request a fetch; a rotated key is picked up after it).
   * @default 30000
   */
  readonly keyRefetchCooldownMs?: number;
}

/** The v1 (`sts`) issuer's host for an authority: Azure China's own, the global one elsewhere. */
function v1IssuerHost(authority: string): string {
  return new URL(authority).hostname === 'login.chinacloudapi.cn'
    ? 'sts.chinacloudapi.cn'
    : 'sts.windows.net';
}

/**
 * Checks an operator's Entra access token in the app itself, on every plan: built-in authentication may not
 * be in front of the app (the local host, Flex Consumption), and a header such as `x-ms-client-principal-id`
 * is anyone's to set. Signature against the tenant's signing keys (fetched, cached, refetched when a token
 * names a key not seen yet: rotation), RS256 only (no `none`, no key confusion), the tenant's v1 and v2
 * issuers, the app as audience (its client id or `api://` it), expiry and not-before with a few minutes of
 * slack. Whether the roles suffice is the caller's decision.
 */
export class OperatorTokenVerifier {
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;
  private readonly issuers: string[];
  private readonly audiences: string[];

  constructor(
    private readonly entra: OperatorEntra,
    private readonly options: OperatorTokenVerifierOptions = {},
  ) {
    const base = `${entra.authority}/${entra.tenantId}`;
    this.keys = createRemoteJWKSet(new URL(`${base}/discovery/v2.0/keys`), {
      timeoutDuration: 5_000,
      cooldownDuration: options.keyRefetchCooldownMs ?? 30_000,
      cacheMaxAge: 3_600_000,
    });
    this.issuers = [`${base}/v2.0`, `https://${v1IssuerHost(entra.authority)}/${entra.tenantId}/`];
    this.audiences = [entra.clientId, `api://${entra.clientId}`];
  }

  /** The caller a token names; TokenRejected when it does not let its bearer in. */
  async verify(token: string): Promise<OperatorCaller> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        algorithms: ['RS256'],
        issuer: this.issuers,
        audience: this.audiences,
        clockTolerance: this.options.clockToleranceSeconds ?? 300,
        requiredClaims: ['exp', 'iss', 'aud'],
        ...(this.options.clock && { currentDate: new Date(this.options.clock()) }),
      }));
    } catch (e) {
      throw rejection(e);
    }
    if (typeof payload.tid === 'string' && payload.tid.toLowerCase() !== this.entra.tenantId)
      throw new TokenRejected('The token is from another tenant.');
    const roles = Array.isArray(payload.roles)
      ? payload.roles.filter((r): r is string => typeof r === 'string')
      : [];
    const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    return {
      principalId: text(payload.oid) ?? text(payload.sub) ?? 'unknown',
      name:
        text(payload.name) ??
        text(payload.preferred_username) ??
        text(payload.upn) ??
        text(payload.azp) ??
        text(payload.appid) ??
        'unknown',
      roles: roles.filter((r) => r === OPERATOR_ROLES.operator || r === OPERATOR_ROLES.reader),
    };
  }
}

/**
 * What went wrong with a token, in words for the 401's `error_description`. The signing keys out of reach
 * is not the token's fault: it is rethrown as it is (a transient failure, answered 503).
 */
function rejection(e: unknown): Error {
  if (e instanceof errors.JWTExpired) return new TokenRejected('The token has expired: sign in again.');
  if (e instanceof errors.JWTClaimValidationFailed) {
    const claim = e.claim;
    if (claim === 'iss') return new TokenRejected('The token is not from the tenant this app trusts.');
    if (claim === 'aud') return new TokenRejected('The token is for another application.');
    if (claim === 'nbf') return new TokenRejected('The token is not valid yet.');
    return new TokenRejected(`The token's ${claim} claim is not valid.`);
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return new TokenRejected('The token is not signed with RS256.');
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWSSignatureVerificationFailed)
    return new TokenRejected("The token is not signed by the tenant's keys.");
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid) return e;
  if (e instanceof errors.JOSEError) return new TokenRejected('The token is not a valid signed JWT.');
  return e instanceof Error ? e : new Error(String(e));
}
