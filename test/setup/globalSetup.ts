/**
 * Starts the real services for the integration tests: Azurite (two accounts, in memory, free ports) and
 * the Kusto stand-in on top of it; and a second Azurite on https with `--oauth basic`, for the
 * user-delegation SAS path. Fails loudly if any does not come up: tests never skip.
 */
import { startAzurite, type AzuriteInstance } from '../../dev/azurite';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import { ensureTestCertificate } from '../../dev/testRunner';

declare global {
  var __KIF_STACK__: LocalStack | undefined;
  var __KIF_HTTPS_AZURITE__: AzuriteInstance | undefined;
}

export default async function globalSetup(): Promise<void> {
  const stack = await startLocalStack({ mode: 'test', accountCount: 2 });
  globalThis.__KIF_STACK__ = stack;
  // npm test starts jest trusting this certificate's CA (NODE_EXTRA_CA_CERTS); see dev/testRunner.ts.
  const tls = ensureTestCertificate();
  const https = await startAzurite({ tls, oauth: true });
  globalThis.__KIF_HTTPS_AZURITE__ = https;
  // Workers start after this and inherit the environment; Node reads NODE_EXTRA_CA_CERTS at start.
  for (const [k, v] of Object.entries(stack.env)) process.env[k] = v;
  process.env.KIF_TEST_STACK_ACCOUNTS = JSON.stringify(stack.accounts);
  process.env.KIF_TEST_HTTPS_BLOB = https.blobEndpoint();
  process.env.KIF_TEST_TLS_CA = tls.ca;
}
