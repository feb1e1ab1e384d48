/** `migwire tls-certs`: a CA and server/client credentials for QEMU tls-creds-x509 and `record --tls`. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OutputError, prepareOutputDir, writeOutputFile } from '@migwire/capture';
import { generateTlsCredentials, QEMU_TLS_FILES, writeQemuTlsDir } from '@migwire/channel-manager';
import type { Output } from '../cli-io.js';

export const CA_KEY_FILE = 'ca-key.pem';

export interface TlsCertsOptions {
  outDir: string;
  ips?: string[];
  dns?: string[];
  /** Replace credentials already in the folder (never through a link). */
  force: boolean;
}

export function tlsCerts(o: TlsCertsOptions, out: Output): number {
  // Keys are not overwritten by accident: a CA key replaced invalidates every certificate it signed.
  const present = [...Object.values(QEMU_TLS_FILES), CA_KEY_FILE].filter((f) => existsSync(join(o.outDir, f)));
  if (present.length && !o.force) throw new OutputError(`${o.outDir} already holds credentials (${present.join(', ')}): --force replaces them`, o.outDir);
  prepareOutputDir(o.outDir, { force: o.force, mode: 0o700 });
  const creds = generateTlsCredentials({ ...(o.ips ? { ipAddresses: o.ips } : {}), ...(o.dns ? { dnsNames: o.dns } : {}), cache: false });
  writeQemuTlsDir(o.outDir, creds, { replace: o.force });
  writeOutputFile(join(o.outDir, CA_KEY_FILE), creds.caKey, { mode: 0o600, replace: o.force });
  out.line(`wrote CA, server and client credentials to ${o.outDir}`);
  return 0;
}
