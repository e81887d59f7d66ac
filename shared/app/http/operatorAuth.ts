import { triggerSetting } from '../settings';
import { errorBody, type HttpRequestLike, type HttpResult } from './httpTypes';

export type OperatorAuth = 'key' | 'entra';

/**
 * How the console and the operator API are protected (OPERATOR_AUTH), read when the functions register:
 * their auth level depends on it.
 */
export function operatorAuthMode(env = process.env): OperatorAuth {
  return triggerSetting('OPERATOR_AUTH', env) === 'entra' ? 'entra' : 'key';
}

/** The host's auth level for an operator function: a function key, or none (App Service authentication signs in). */
export const operatorAuthLevel = (env = process.env): 'function' | 'anonymous' =>
  operatorAuthMode(env) === 'entra' ? 'anonymous' : 'function';

/**
 * In `entra` mode, who is signed in: App Service authentication puts the principal in
 * `x-ms-client-principal-id` and removes that header from anything a client sends, so it cannot be forged
 * from outside. Undefined when nobody is (or in `key` mode, where the host checked the key).
 */
export function signedInPrincipal(req: HttpRequestLike): string | undefined {
  return req.headers.get('x-ms-client-principal-id') ?? undefined;
}

/**
 * The answer for a request that may not go on, or undefined when it may: in `entra` mode an operator call
 * needs a signed-in user (the page is sent to the sign-in, the API answers 401).
 */
export function operatorGate(
  req: HttpRequestLike,
  kind: 'page' | 'api',
  mode: OperatorAuth = operatorAuthMode(),
): HttpResult | undefined {
  if (mode === 'key' || signedInPrincipal(req)) return undefined;
  if (kind === 'page')
    return {
      status: 302,
      headers: { location: '/.auth/login/aad?post_login_redirect_uri=/api/console' },
    };
  return errorBody(
    401,
    'Unauthenticated',
    'Sign in first: open /api/console, or send the App Service authentication token of a signed-in user.',
  );
}
