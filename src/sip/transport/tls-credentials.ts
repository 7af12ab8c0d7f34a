import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SipLogger } from './transport';

export interface TlsCredentialOptions {
  /** PEM contents or a path to a PEM file; null/undefined → development certificate */
  cert?: string | null;
  key?: string | null;
  /** where the generated development certificate is cached (default: $TMPDIR/parley-dev-cert) */
  cacheDir?: string;
}

export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
  /** true when a self-signed development certificate was generated or reused */
  selfSigned: boolean;
  certPath?: string;
  keyPath?: string;
}

const isPem = (s: string): boolean => s.includes('-----BEGIN');

async function load(value: string): Promise<Buffer> {
  return isPem(value) ? Buffer.from(value) : fs.readFile(value);
}

/**
 * The TLS certificate from config (PEM contents or paths). When none is configured, a self-signed development
 * certificate is generated once with `openssl req -x509` into a cache directory and reused on later starts.
 */
export async function loadTlsCredentials(
  opts: TlsCredentialOptions,
  logger?: SipLogger,
): Promise<TlsCredentials> {
  if (opts.cert && opts.key) {
    return { cert: await load(opts.cert), key: await load(opts.key), selfSigned: false };
  }
  if (opts.cert || opts.key) throw new Error('sip.tls: cert and key must be configured together');
  const dir = opts.cacheDir ?? path.join(os.tmpdir(), 'parley-dev-cert');
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  try {
    const [cert, key] = await Promise.all([fs.readFile(certPath), fs.readFile(keyPath)]);
    return { cert, key, selfSigned: true, certPath, keyPath };
  } catch {
    // not cached yet
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmpKey = `${keyPath}.${process.pid}.tmp`;
  const tmpCert = `${certPath}.${process.pid}.tmp`;
  await new Promise<void>((resolve, reject) =>
    execFile(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-sha256',
        '-days',
        '825',
        '-subj',
        '/CN=parley.invalid',
        '-keyout',
        tmpKey,
        '-out',
        tmpCert,
      ],
      { timeout: 30000 },
      (err) => (err ? reject(new Error(`openssl failed: ${err.message}`)) : resolve()),
    ),
  );
  await fs.rename(tmpKey, keyPath);
  await fs.rename(tmpCert, certPath);
  logger?.warn(
    { certPath },
    'sip.tls: no certificate configured, using a self-signed development certificate',
  );
  const [cert, key] = await Promise.all([fs.readFile(certPath), fs.readFile(keyPath)]);
  return { cert, key, selfSigned: true, certPath, keyPath };
}
