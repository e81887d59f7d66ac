/**
 * `npm test` runs jest through this: it makes a local CA and a certificate for 127.0.0.1 (for the https
 * Azurites of the tests) and starts jest with NODE_EXTRA_CA_CERTS pointing at the CA. Node reads that
 * variable only when a process starts, so jest and all its workers must be born with it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureCertificate, type LocalCertificate } from './tls';

export const TEST_TLS_DIR = join(process.cwd(), '.local', 'test-tls');

export function ensureTestCertificate(dir = TEST_TLS_DIR): LocalCertificate {
  return ensureCertificate(dir);
}

if (require.main === module) {
  const { ca } = ensureTestCertificate();
  const jest = require.resolve('jest/bin/jest');
  const result = spawnSync(process.execPath, [jest, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca },
  });
  process.exit(result.status ?? 1);
}
