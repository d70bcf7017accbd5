import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { requireTool } from './debian.js';

/**
 * A self-signed certificate for 127.0.0.1 (and localhost, the name the NATS
 * client checks for it) and its key, written in `dir`: what a TLS test's
 * server serves, and its clients trust as their CA (or present, for mutual TLS).
 */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const openssl = requireTool('openssl', 'openssl');
  const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
  execFileSync(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}
