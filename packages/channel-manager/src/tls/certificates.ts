/**
 * X.509 credentials for TLS-protected QEMU migration streams.
 *
 * Generates a small PKI (a self-signed CA, one server and one client certificate signed by it)
 * that satisfies the checks QEMU's `tls-creds-x509` object performs when it loads a credentials
 * folder, and GnuTLS' checks during the handshake:
 *
 *  - every certificate must be inside its validity window (QEMU checks activation and expiry of
 *    its own certificates at load time and of every certificate the peer sends);
 *  - the CA certificate must carry basicConstraints with cA set (a missing extension is refused
 *    for a CA), and, when its keyUsage is critical, keyCertSign;
 *  - a leaf certificate (server or client) must not be a CA; when its keyUsage is critical it
 *    must allow both digitalSignature and keyEncipherment;
 *  - when any extendedKeyUsage purpose is critical, the server certificate needs serverAuth
 *    (1.3.6.1.5.5.7.3.1) and the client certificate clientAuth (1.3.6.1.5.5.7.3.2), or
 *    anyExtendedKeyUsage; we always include the right one (non-critical), so both QEMU and
 *    OpenSSL (Node), which enforces EKU whenever it is present, accept them;
 *  - the server certificate must match the host name the client connects to: for a migration
 *    URI `tcp:127.0.0.1:PORT` QEMU's client checks "127.0.0.1" with
 *    gnutls_x509_crt_check_hostname, i.e. against an iPAddress subjectAltName;
 *  - a QEMU server (endpoint=server, verify-peer=on, the default) requests a client certificate
 *    and fails the session when none is sent or it does not verify against ca-cert.pem.
 *
 * Keys are RSA 2048, generated with Node's native `crypto.generateKeyPairSync` (tens of
 * milliseconds) instead of node-forge's pure-JavaScript generator (seconds per key); node-forge
 * builds and signs (SHA-256) the certificates. RSA rather than ECDSA because every GnuTLS and
 * OpenSSL build in use accepts it for both key exchange styles (TLS 1.2 RSA/ECDHE and TLS 1.3)
 * and it is what QEMU's documentation and test-suite use. Results are cached per process per
 * option set, since tests ask for credentials many times.
 */

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { makeDirs, writeOutputFile } from '@migwire/capture';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate, type TlsOptions } from 'node:tls';
import forge from 'node-forge';

/** PEM-encoded CA, server and client certificates and their (unencrypted PKCS#8) keys. */
export interface TlsCredentials {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export interface TlsCredentialsOptions {
  /** iPAddress subjectAltNames of the server certificate. Default: 127.0.0.1 and ::1. */
  ipAddresses?: string[];
  /** dNSName subjectAltNames of the server certificate. Default: localhost. */
  dnsNames?: string[];
  /** Common name of the server certificate. Default: the first DNS name, else the first IP. */
  commonName?: string;
  /** Common name of the client certificate (QEMU's authz sees it in the peer DN). Default migwire-client. */
  clientCommonName?: string;
  /** Common name of the CA. Default "migwire test CA". */
  caCommonName?: string;
  /** Validity in days from now. Default 365. notBefore is always now minus one hour (clock skew). */
  validityDays?: number;
  /** RSA modulus length in bits. Default 2048. */
  keyBits?: number;
  /** Reuse the credentials generated earlier in this process for the same options. Default true. */
  cache?: boolean;
}

export const DEFAULT_TLS_IP_ADDRESSES: readonly string[] = Object.freeze(['127.0.0.1', '::1']);
export const DEFAULT_TLS_DNS_NAMES: readonly string[] = Object.freeze(['localhost']);

/** The file names QEMU's tls-creds-x509 looks for in its `dir`. */
export const QEMU_TLS_FILES = Object.freeze({
  caCert: 'ca-cert.pem',
  serverCert: 'server-cert.pem',
  serverKey: 'server-key.pem',
  clientCert: 'client-cert.pem',
  clientKey: 'client-key.pem',
} as const);

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

interface KeyPair {
  privatePem: string;
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
}

function generateRsaKeyPair(bits: number): KeyPair {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const fPriv = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const fPub = forge.pki.setRsaPublicKey(fPriv.n, fPriv.e);
  return { privatePem: privateKey, privateKey: fPriv, publicKey: fPub };
}

/** A random positive serial number (RFC 5280: at most 20 octets, positive, non-zero). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x01;
  return b.toString('hex');
}

function name(cn: string): forge.pki.CertificateField[] {
  return [
    { name: 'commonName', value: cn },
    { name: 'organizationName', value: 'migwire' },
  ];
}

interface LeafSpec {
  cn: string;
  role: 'server' | 'client';
  keys: KeyPair;
  altNames: { type: number; ip?: string; value?: string }[];
}

function validated(opts: TlsCredentialsOptions): Required<Omit<TlsCredentialsOptions, 'cache'>> {
  const ipAddresses = [...(opts.ipAddresses ?? DEFAULT_TLS_IP_ADDRESSES)];
  const dnsNames = [...(opts.dnsNames ?? DEFAULT_TLS_DNS_NAMES)];
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0) throw new TypeError(`generateTlsCredentials: not an IP address: ${JSON.stringify(ip)}`);
  }
  for (const d of dnsNames) {
    if (d.length === 0 || d.length > 253 || /[\s,/]/.test(d)) {
      throw new TypeError(`generateTlsCredentials: not a DNS name: ${JSON.stringify(d)}`);
    }
  }
  const commonName = opts.commonName ?? dnsNames[0] ?? ipAddresses[0] ?? 'migwire-server';
  const validityDays = opts.validityDays ?? 365;
  if (!(validityDays > 0)) throw new RangeError('generateTlsCredentials: validityDays must be positive');
  const keyBits = opts.keyBits ?? 2048;
  if (!Number.isInteger(keyBits) || keyBits < 2048) {
    throw new RangeError('generateTlsCredentials: keyBits must be an integer >= 2048 (GnuTLS rejects weaker keys)');
  }
  return {
    ipAddresses,
    dnsNames,
    commonName,
    clientCommonName: opts.clientCommonName ?? 'migwire-client',
    caCommonName: opts.caCommonName ?? 'migwire test CA',
    validityDays,
    keyBits,
  };
}

const cache = new Map<string, TlsCredentials>();

/**
 * Generate a CA plus a server and a client certificate signed by it (see the module comment for
 * the extensions and why). Synchronous; about 0.1-0.5 s for the three RSA 2048 keys. With
 * `cache` (default) the same options return the same (frozen) object for the life of the process.
 */
export function generateTlsCredentials(options: TlsCredentialsOptions = {}): TlsCredentials {
  const o = validated(options);
  const key = JSON.stringify(o);
  const useCache = options.cache ?? true;
  if (useCache) {
    const hit = cache.get(key);
    if (hit) return hit;
  }

  const now = Date.now();
  const notBefore = new Date(now - HOUR_MS);
  const notAfter = new Date(now + o.validityDays * DAY_MS);

  // CA.
  const caKeys = generateRsaKeyPair(o.keyBits);
  const ca = forge.pki.createCertificate();
  ca.serialNumber = randomSerial();
  ca.validity.notBefore = notBefore;
  ca.validity.notAfter = notAfter;
  ca.publicKey = caKeys.publicKey;
  ca.setSubject(name(o.caCommonName));
  ca.setIssuer(name(o.caCommonName));
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());
  const caKeyId = ca.generateSubjectKeyIdentifier().getBytes();

  const leaf = (spec: LeafSpec): forge.pki.Certificate => {
    const c = forge.pki.createCertificate();
    c.serialNumber = randomSerial();
    c.validity.notBefore = notBefore;
    c.validity.notAfter = notAfter;
    c.publicKey = spec.keys.publicKey;
    c.setSubject(name(spec.cn));
    c.setIssuer(ca.subject.attributes);
    const exts: unknown[] = [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      spec.role === 'server'
        ? { name: 'extKeyUsage', serverAuth: true }
        : { name: 'extKeyUsage', clientAuth: true },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: caKeyId },
    ];
    if (spec.altNames.length > 0) exts.push({ name: 'subjectAltName', altNames: spec.altNames });
    c.setExtensions(exts as object[]);
    c.sign(caKeys.privateKey, forge.md.sha256.create());
    return c;
  };

  const serverKeys = generateRsaKeyPair(o.keyBits);
  const server = leaf({
    cn: o.commonName,
    role: 'server',
    keys: serverKeys,
    altNames: [
      ...o.dnsNames.map((value) => ({ type: 2, value })),
      ...o.ipAddresses.map((ip) => ({ type: 7, ip })),
    ],
  });
  const clientKeys = generateRsaKeyPair(o.keyBits);
  const client = leaf({ cn: o.clientCommonName, role: 'client', keys: clientKeys, altNames: [] });

  const creds: TlsCredentials = Object.freeze({
    caCert: forge.pki.certificateToPem(ca),
    caKey: caKeys.privatePem,
    serverCert: forge.pki.certificateToPem(server),
    serverKey: serverKeys.privatePem,
    clientCert: forge.pki.certificateToPem(client),
    clientKey: clientKeys.privatePem,
  });
  if (useCache) cache.set(key, creds);
  return creds;
}

/**
 * Write the files QEMU's `tls-creds-x509` expects into `dir` (created if needed, mode 0700):
 * ca-cert.pem, server-cert.pem, client-cert.pem (0644) and server-key.pem, client-key.pem (0600).
 * The CA key is not written: QEMU never needs it. Existing files are replaced (each is created new
 * with its mode; a link in its place is removed, never written through) unless `replace` is false,
 * when an existing file is an OutputError. Both endpoints may use the same folder (a server loads
 * only the server files, a client only the client files).
 */
export function writeQemuTlsDir(dir: string, creds: TlsCredentials, o: { replace?: boolean } = {}): void {
  makeDirs(dir, 0o700);
  const files: [string, string, number][] = [
    [QEMU_TLS_FILES.caCert, creds.caCert, 0o644],
    [QEMU_TLS_FILES.serverCert, creds.serverCert, 0o644],
    [QEMU_TLS_FILES.serverKey, creds.serverKey, 0o600],
    [QEMU_TLS_FILES.clientCert, creds.clientCert, 0o644],
    [QEMU_TLS_FILES.clientKey, creds.clientKey, 0o600],
  ];
  for (const [file, pem, mode] of files) writeOutputFile(join(dir, file), pem, { mode, replace: o.replace ?? true });
}

export interface QemuTlsObjectOptions {
  /** QOM id, referenced by the migration parameter `tls-creds`. Default tls0. */
  id?: string;
  /** Folder written by writeQemuTlsDir. */
  dir: string;
  /** `server` on the migration destination (it listens), `client` on the source. */
  endpoint: 'server' | 'client';
  /** verify-peer (QEMU's default is on: a server then requires a client certificate). */
  verifyPeer?: boolean;
}

/** QEMU command-line arguments for the credentials object: ['-object', 'tls-creds-x509,...']. */
export function qemuTlsObjectArgs(o: QemuTlsObjectOptions): string[] {
  // QEMU's option parser takes ',,' for a literal comma inside a value.
  const esc = (v: string) => v.replace(/,/g, ',,');
  let spec = `tls-creds-x509,id=${esc(o.id ?? 'tls0')},dir=${esc(o.dir)},endpoint=${o.endpoint}`;
  if (o.verifyPeer !== undefined) spec += `,verify-peer=${o.verifyPeer ? 'on' : 'off'}`;
  return ['-object', spec];
}

/**
 * Options for `tls.createServer` / `new tls.TLSSocket(sock, { isServer: true, ... })` to
 * terminate TLS from a QEMU source (endpoint=client): presents the server certificate and, as
 * QEMU's own server does with verify-peer=on, requires a client certificate issued by the CA.
 */
export function serverTlsOptions(creds: TlsCredentials): TlsOptions {
  return {
    key: creds.serverKey,
    cert: creds.serverCert,
    ca: [creds.caCert],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  };
}

/**
 * Options for `tls.connect` to open TLS toward a QEMU destination (endpoint=server): presents
 * the client certificate and verifies the server's against the CA only.
 *
 * `servername` is the name the server certificate must match. A DNS name is also sent as SNI;
 * an IP address is checked against the iPAddress subjectAltNames instead (SNI cannot carry IP
 * addresses, RFC 6066). Without it Node checks the `host` given to `tls.connect`.
 */
export function clientTlsOptions(creds: TlsCredentials, servername?: string): ConnectionOptions {
  const opts: ConnectionOptions = {
    key: creds.clientKey,
    cert: creds.clientCert,
    ca: [creds.caCert],
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  };
  if (servername !== undefined) {
    if (isIP(servername) !== 0) {
      opts.checkServerIdentity = (_host: string, cert: PeerCertificate) => checkServerIdentity(servername, cert);
    } else {
      opts.servername = servername;
    }
  }
  return opts;
}
