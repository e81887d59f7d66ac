/**
 * Starts the real services for the integration tests: Azurite (two accounts, in memory, free ports) and
 * the Kusto stand-in on top of it. Fails loudly if either does not come up: tests never skip.
 */
import { startLocalStack, type LocalStack } from '../../dev/localStack';

declare global {
  var __KIF_STACK__: LocalStack | undefined;
}

export default async function globalSetup(): Promise<void> {
  const stack = await startLocalStack({ mode: 'test', accountCount: 2 });
  globalThis.__KIF_STACK__ = stack;
  // Workers start after this and inherit the environment.
  for (const [k, v] of Object.entries(stack.env)) process.env[k] = v;
  process.env.KIF_TEST_STACK_ACCOUNTS = JSON.stringify(stack.accounts);
}
