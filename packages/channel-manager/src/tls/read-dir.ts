/** Read a QEMU tls-creds-x509 folder back (the CA key is not needed to proxy, so it may be absent). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QEMU_TLS_FILES, type TlsCredentials } from './certificates.js';

export function readQemuTlsDir(dir: string): TlsCredentials {
  const read = (f: string): string => {
    const p = join(dir, f);
    if (!existsSync(p)) throw new Error(`${p} is missing (a TLS folder needs ${Object.values(QEMU_TLS_FILES).join(', ')})`);
    return readFileSync(p, 'utf8');
  };
  return {
    caCert: read(QEMU_TLS_FILES.caCert),
    caKey: existsSync(join(dir, 'ca-key.pem')) ? readFileSync(join(dir, 'ca-key.pem'), 'utf8') : '',
    serverCert: read(QEMU_TLS_FILES.serverCert),
    serverKey: read(QEMU_TLS_FILES.serverKey),
    clientCert: read(QEMU_TLS_FILES.clientCert),
    clientKey: read(QEMU_TLS_FILES.clientKey),
  };
}
