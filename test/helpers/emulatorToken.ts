import type { AccessToken, TokenCredential } from '@azure/core-auth';

/**
 * A token the test's https Azurite (`--oauth basic`) accepts: right issuer, audience and lifetime (it checks
 * no signature). Stands in for the app's managed identity.
 */
export class EmulatorTokenCredential implements TokenCredential {
  requests = 0;
  getToken(): Promise<AccessToken> {
    this.requests += 1;
    const now = Math.floor(Date.now() / 1000);
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const payload = {
      aud: 'https://storage.azure.com',
      iss: 'https://sts.windows.net/00000000-0000-0000-0000-000000000001/',
      iat: now - 60,
      nbf: now - 60,
      exp: now + 3600,
      oid: '00000000-0000-0000-0000-00000000beef',
      tid: '00000000-0000-0000-0000-000000000001',
    };
    return Promise.resolve({
      token: `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.sig`,
      expiresOnTimestamp: (now + 3600) * 1000,
    });
  }
}

/** The test's https Azurite (its blob endpoint), checked to be trusted as the tests' runner sets it up. */
export function httpsBlobEndpoint(): string {
  const endpoint = process.env.KIF_TEST_HTTPS_BLOB ?? '';
  if (!/^https:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/.test(endpoint))
    throw new Error(
      `KIF_TEST_HTTPS_BLOB is '${endpoint}': run the tests with npm test (its global set-up starts it).`,
    );
  if (process.env.NODE_EXTRA_CA_CERTS !== process.env.KIF_TEST_TLS_CA)
    throw new Error(
      'Run the tests with npm test (or node dist/dev/testRunner.js): it starts jest trusting the test certificate.',
    );
  return endpoint;
}
