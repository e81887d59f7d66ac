/**
 * Certificates for serving the local stack over https: a local CA and a certificate for 127.0.0.1 and
 * localhost that it signs. Clients trust the CA (NODE_EXTRA_CA_CERTS), never the leaf itself, as they
 * would a real one.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface LocalCertificate {
  /** The CA clients trust (PEM). */
  readonly ca: string;
  /** The server certificate (PEM) and its key, for Azurite's --cert/--key. */
  readonly cert: string;
  readonly key: string;
}

/** Where `npm start` and `npm run standin` keep theirs with STANDIN_TLS=1. */
export const LOCAL_TLS_DIR = join('.local', 'tls');

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/** Makes the CA and the server certificate in `dir` unless they are there already. */
export function ensureCertificate(dir: string): LocalCertificate {
  const paths = {
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    cert: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
  };
  if (!Object.values(paths).every((p) => existsSync(p))) {
    mkdirSync(dir, { recursive: true });
    const subj = '/CN=kusto-ingest-functions local CA';
    openssl(
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', paths.caKey, '-out', paths.ca].concat([
        '-days',
        '3650',
        '-subj',
        subj,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]),
    );
    const csr = join(dir, 'cert.csr');
    openssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      paths.key,
      '-out',
      csr,
      '-subj',
      '/CN=127.0.0.1',
    ]);
    const ext = join(dir, 'cert.ext');
    writeFileSync(
      ext,
      'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        paths.ca,
        '-CAkey',
        paths.caKey,
        '-CAcreateserial',
        '-out',
        paths.cert,
      ].concat(['-days', '3650', '-extfile', ext]),
    );
    for (const f of [csr, ext, join(dir, 'ca.srl')]) rmSync(f, { force: true });
  }
  return { ca: paths.ca, cert: paths.cert, key: paths.key };
}

/** STANDIN_TLS=1: the local stack's certificate, made on first use; otherwise undefined (plain http). */
export function localTlsFromEnv(env = process.env, root = process.cwd()): LocalCertificate | undefined {
  const raw = env.STANDIN_TLS;
  if (raw === undefined || raw === '' || raw === '0') return undefined;
  if (raw !== '1') throw new Error(`STANDIN_TLS must be 1 (https) or 0 (http), got '${raw}'`);
  return ensureCertificate(join(root, LOCAL_TLS_DIR));
}

/** The CA path as the banner prints it: relative to where the user is. */
export const displayPath = (path: string): string => relative(process.cwd(), path) || path;

/**
 * Node reads NODE_EXTRA_CA_CERTS only when a process starts. When this process does not trust `ca` yet,
 * it runs itself again with it (keeping any CA already trusted) and mirrors the child's exit; returns
 * true then, and the caller does nothing more.
 */
export function relaunchTrusting(ca: string, dir: string): boolean {
  const current = process.env.NODE_EXTRA_CA_CERTS;
  if (current === ca) return false;
  if (
    current &&
    existsSync(current) &&
    readFileSync(current, 'utf8').includes(readFileSync(ca, 'utf8').trim())
  )
    return false;
  let trust = ca;
  if (current && existsSync(current)) {
    trust = join(dir, 'trust-bundle.pem');
    writeFileSync(trust, `${readFileSync(current, 'utf8').trim()}\n${readFileSync(ca, 'utf8')}`);
  }
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: trust },
    stdio: 'inherit',
  });
  // Ctrl+C reaches both through the terminal: the child stops itself; a SIGTERM sent to this one is passed on.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return true;
}

/** What a client needs to reach storage served over https: trust the local CA. */
export function tlsBanner(ca: string | undefined): string[] {
  if (!ca) return [];
  return [
    'Storage is served over https (STANDIN_TLS=1) with a certificate of a local CA. Clients trust it with:',
    `  NODE_EXTRA_CA_CERTS=${displayPath(ca)}`,
    '',
  ];
}
