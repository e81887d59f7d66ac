import { operatorAuthLevel, operatorGate } from '../../../shared/app/http/operatorAuth';
import { apiRequest } from '../../helpers/apiRequest';

const OPERATOR_FUNCTIONS = [
  'console',
  'ingestList',
  'ingestRetry',
  'ingestRetryMany',
  'ingestSummary',
  'landingReplay',
] as const;

describe('how the console and the operator API are protected (OPERATOR_AUTH)', () => {
  it('takes a function key by default, and no key (App Service authentication signs in) with entra', () => {
    expect(operatorAuthLevel({})).toBe('function');
    expect(operatorAuthLevel({ OPERATOR_AUTH: 'key' })).toBe('function');
    expect(operatorAuthLevel({ OPERATOR_AUTH: 'entra' })).toBe('anonymous');
  });

  it('with entra, sends the page to the sign-in and answers the API 401 until a principal is signed in', () => {
    const anonymous = apiRequest('GET', '/api/console');
    expect(operatorGate(anonymous, 'page', 'entra')).toEqual({
      status: 302,
      headers: { location: '/.auth/login/aad?post_login_redirect_uri=/api/console' },
    });
    expect(operatorGate(anonymous, 'api', 'entra')).toMatchObject({
      status: 401,
      jsonBody: { error: { code: 'Unauthenticated' } },
    });
    const signedIn = apiRequest('GET', '/api/ingest', null, {
      'x-ms-client-principal-id': '00000000-0000-0000-0000-000000000001',
    });
    expect(operatorGate(signedIn, 'api', 'entra')).toBeUndefined();
    expect(operatorGate(anonymous, 'api', 'key')).toBeUndefined(); // the host checked the key
  });

  it.each(OPERATOR_FUNCTIONS)('%s registers with the auth level the setting gives', (name) => {
    const saved = process.env.OPERATOR_AUTH;
    try {
      for (const [mode, level] of [
        ['entra', 'anonymous'],
        ['key', 'function'],
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
