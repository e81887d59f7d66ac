/**
 * `npm test` runs jest through this: it makes a self-signed certificate for 127.0.0.1 (for the https
 * Azurite of the user-delegation SAS test) and starts jest with NODE_EXTRA_CA_CERTS pointing at it. Node
 * reads that variable only when a process starts, so jest and all its workers must be born with it.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const TEST_TLS_DIR = join(process.cwd(), '.local', 'test-tls');

export function ensureTestCertificate(dir = TEST_TLS_DIR): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  if (!existsSync(cert) || !existsSync(key)) {
    mkdirSync(dir, { recursive: true });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '3650',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'pipe' },
    );
  }
  return { cert, key };
}

if (require.main === module) {
  const { cert } = ensureTestCertificate();
  const jest = require.resolve('jest/bin/jest');
  const result = spawnSync(process.execPath, [jest, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: cert },
  });
  process.exit(result.status ?? 1);
}
