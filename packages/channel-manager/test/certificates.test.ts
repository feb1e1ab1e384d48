/**
 * TLS credentials: the generated PKI carries what QEMU's tls-creds-x509 and GnuTLS require, and
 * Node TLS endpoints built from serverTlsOptions / clientTlsOptions authenticate each other
 * (mutual TLS, as between QEMU endpoints) and refuse a client without a certificate.
 */

import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type ConnectionOptions, type Server, type TLSSocket } from 'node:tls';
import forge from 'node-forge';
import {
  clientTlsOptions,
  generateTlsCredentials,
  qemuTlsObjectArgs,
  QEMU_TLS_FILES,
  serverTlsOptions,
  writeQemuTlsDir,
  type TlsCredentials,
} from '../src/tls/certificates.js';

const creds = generateTlsCredentials();
const SHA256_RSA = '1.2.840.113549.1.1.11';

// ---------------------------------------------------------------------------------------------
// Helpers: an echo-once TLS server on 127.0.0.1:0 and a client that reports how it ended.

interface ServerEvents {
  secure: { authorized: boolean; peerCN: string | undefined; protocol: string | null }[];
  clientErrors: string[];
}

async function startServer(c: TlsCredentials): Promise<{ server: Server; port: number; events: ServerEvents }> {
  const events: ServerEvents = { secure: [], clientErrors: [] };
  const server = createServer(serverTlsOptions(c), (sock: TLSSocket) => {
    const peer = sock.getPeerCertificate();
    events.secure.push({
      authorized: sock.authorized,
      peerCN: typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined,
      protocol: sock.getProtocol(),
    });
    sock.once('data', (d: Buffer) => sock.end(Buffer.concat([Buffer.from('echo:'), d])));
    sock.on('error', () => {});
  });
  server.on('tlsClientError', (e: Error) => events.clientErrors.push(e.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, events };
}

interface ClientOutcome {
  secureConnect: boolean;
  authorized: boolean;
  serverCN: string | undefined;
  data: string;
  error: (Error & { code?: string }) | null;
}

function runClient(port: number, opts: ConnectionOptions): Promise<ClientOutcome> {
  return new Promise((resolve) => {
    const out: ClientOutcome = { secureConnect: false, authorized: false, serverCN: undefined, data: '', error: null };
    const sock = connect({ host: '127.0.0.1', port, ...opts }, () => {
      out.secureConnect = true;
      out.authorized = sock.authorized;
      const cn = sock.getPeerCertificate().subject?.CN;
      out.serverCN = typeof cn === 'string' ? cn : undefined;
      sock.write('ping');
    });
    sock.on('data', (d: Buffer) => (out.data += d.toString()));
    sock.on('error', (e: Error) => (out.error = e));
    sock.on('close', () => resolve(out));
    sock.setTimeout(10_000, () => sock.destroy(new Error('client timeout')));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

// ---------------------------------------------------------------------------------------------

test('handshake on 127.0.0.1 with mutual authentication', async (t) => {
  const { server, port, events } = await startServer(creds);
  try {
    const t0 = performance.now();
    const out = await runClient(port, clientTlsOptions(creds));
    t.log(`handshake + echo ${(performance.now() - t0).toFixed(1)} ms, ${events.secure[0]?.protocol ?? '?'}`);
    t.is(out.error, null);
    t.true(out.secureConnect);
    t.true(out.authorized, 'client verified the server certificate against the CA');
    t.is(out.serverCN, 'localhost');
    t.is(out.data, 'echo:ping');
    t.is(events.secure.length, 1);
    t.true(events.secure[0]?.authorized, 'server verified the client certificate against the CA');
    t.is(events.secure[0]?.peerCN, 'migwire-client');
    t.deepEqual(events.clientErrors, []);
  } finally {
    await close(server);
  }
});

test('client servername: IP checked against the IP SAN, DNS name sent as SNI, wrong name refused', async (t) => {
  const { server, port } = await startServer(creds);
  try {
    for (const name of ['127.0.0.1', '::1', 'localhost']) {
      const out = await runClient(port, clientTlsOptions(creds, name));
      t.is(out.error, null, name);
      t.is(out.data, 'echo:ping', name);
    }
    const bad = await runClient(port, clientTlsOptions(creds, '10.9.8.7'));
    t.is(bad.error?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    t.is(bad.data, '');
    const badDns = await runClient(port, clientTlsOptions(creds, 'example.org'));
    t.is(badDns.error?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  } finally {
    await close(server);
  }
});

test('a client without a client certificate is refused', async (t) => {
  const { server, port, events } = await startServer(creds);
  try {
    const { key: _k, cert: _c, ...noCert } = clientTlsOptions(creds);
    const out = await runClient(port, noCert);
    t.is(out.data, '', 'no application data reached the client');
    t.not(out.error, null, 'the client saw the refusal');
    t.log(`client error: ${out.error?.code ?? ''} ${out.error?.message ?? ''}`);
    t.is(events.secure.length, 0, 'the server never completed a session');
    t.true(events.clientErrors.length >= 1);
    t.log(`server tlsClientError: ${events.clientErrors.join('; ')}`);
  } finally {
    await close(server);
  }
});

test('a client certificate from another CA is refused, and the client refuses a server from another CA', async (t) => {
  const other = generateTlsCredentials({ caCommonName: 'other CA' });
  t.not(other.caCert, creds.caCert);
  const { server, port, events } = await startServer(creds);
  try {
    const out = await runClient(port, { ...clientTlsOptions(other), ca: [creds.caCert] });
    t.is(out.data, '');
    t.is(events.secure.length, 0);
    t.true(events.clientErrors.length >= 1);
    const out2 = await runClient(port, clientTlsOptions(other));
    // OpenSSL sends the CA with the leaf (it builds the chain from `ca`), hence either code.
    t.true(['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'].includes(out2.error?.code ?? ''), out2.error?.code);
    t.is(out2.data, '');
  } finally {
    await close(server);
  }
});

test('the server certificate verifies against the CA with the IP SAN', (t) => {
  const ca = new X509Certificate(creds.caCert);
  const srv = new X509Certificate(creds.serverCert);
  const cli = new X509Certificate(creds.clientCert);
  t.true(srv.checkIssued(ca));
  t.true(srv.verify(ca.publicKey));
  t.true(cli.verify(ca.publicKey));
  t.true(ca.verify(ca.publicKey), 'CA is self-signed');
  t.is(srv.checkIP('127.0.0.1'), '127.0.0.1');
  t.is(srv.checkIP('::1'), '::1');
  t.is(srv.checkHost('localhost'), 'localhost');
  t.is(srv.checkIP('10.0.0.1'), undefined);
  t.is(srv.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  t.is(cli.subjectAltName, undefined);
  // A certificate signed by another CA does not verify.
  const other = new X509Certificate(generateTlsCredentials({ caCommonName: 'other CA' }).caCert);
  t.false(srv.verify(other.publicKey));
});

test('extensions satisfy QEMU tls-creds-x509 / GnuTLS checks', (t) => {
  type Ext = Record<string, unknown> & { name: string; critical?: boolean };
  const exts = (pem: string) => {
    const c = forge.pki.certificateFromPem(pem);
    const byName = new Map<string, Ext>();
    for (const e of c.extensions as Ext[]) byName.set(e.name, e);
    return { c, e: byName };
  };
  const now = Date.now();
  const ca = exts(creds.caCert);
  t.is(ca.e.get('basicConstraints')?.['cA'], true);
  t.true(ca.e.get('basicConstraints')?.critical);
  t.is(ca.e.get('keyUsage')?.['keyCertSign'], true);
  t.true(ca.e.get('keyUsage')?.critical);
  t.is(ca.c.siginfo.algorithmOid, SHA256_RSA);

  for (const [pem, role] of [[creds.serverCert, 'server'], [creds.clientCert, 'client']] as const) {
    const l = exts(pem);
    t.not(l.e.get('basicConstraints')?.['cA'], true, `${role}: not a CA`);
    t.is(l.e.get('keyUsage')?.['digitalSignature'], true, `${role}: digitalSignature`);
    t.is(l.e.get('keyUsage')?.['keyEncipherment'], true, `${role}: keyEncipherment`);
    t.is(l.e.get('keyUsage')?.['keyCertSign'], false, `${role}: no keyCertSign`);
    const eku = l.e.get('extKeyUsage');
    t.is(eku?.[role === 'server' ? 'serverAuth' : 'clientAuth'], true, `${role}: EKU`);
    t.not(eku?.[role === 'server' ? 'clientAuth' : 'serverAuth'], true, `${role}: only its own EKU`);
    t.is(l.c.siginfo.algorithmOid, SHA256_RSA);
    t.true(ca.c.verify(l.c), `${role}: signed by the CA`);
    // Validity: now minus one hour to one year.
    const nb = l.c.validity.notBefore.getTime();
    const na = l.c.validity.notAfter.getTime();
    t.true(nb <= now - 59 * 60_000 && nb >= now - 2 * 3_600_000, `${role}: notBefore ~ now - 1 h`);
    t.true(Math.abs(na - (now + 365 * 86_400_000)) < 3_600_000, `${role}: notAfter ~ now + 1 year`);
    // RSA 2048.
    t.is((l.c.publicKey as forge.pki.rsa.PublicKey).n.bitLength(), 2048);
  }
});

test('custom SANs and common name; invalid input rejected', (t) => {
  const c = generateTlsCredentials({ ipAddresses: ['192.0.2.7'], dnsNames: ['dst.example', 'mig.example'], commonName: 'dst' });
  const srv = new X509Certificate(c.serverCert);
  t.is(srv.subjectAltName, 'DNS:dst.example, DNS:mig.example, IP Address:192.0.2.7');
  t.true(srv.subject.includes('CN=dst'));
  t.is(srv.checkIP('127.0.0.1'), undefined);
  t.throws(() => generateTlsCredentials({ ipAddresses: ['not-an-ip'] }), { instanceOf: TypeError });
  t.throws(() => generateTlsCredentials({ dnsNames: ['a b'] }), { instanceOf: TypeError });
  t.throws(() => generateTlsCredentials({ keyBits: 1024 }), { instanceOf: RangeError });
});

test('credentials are cached per process per option set', (t) => {
  t.is(generateTlsCredentials(), creds);
  t.is(generateTlsCredentials({ ipAddresses: ['127.0.0.1', '::1'], dnsNames: ['localhost'] }), creds);
  t.true(Object.isFrozen(creds));
  const t0 = performance.now();
  const fresh = generateTlsCredentials({ cache: false });
  t.log(`fresh CA + 2 certificates (3 x RSA 2048): ${(performance.now() - t0).toFixed(0)} ms`);
  t.not(fresh.caCert, creds.caCert);
  t.not(fresh.serverKey, creds.serverKey);
});

test('writeQemuTlsDir writes the files QEMU expects with private keys 0600', (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'mw-tls-')), 'creds');
  try {
    writeQemuTlsDir(dir, creds);
    t.is(statSync(dir).mode & 0o777, 0o700);
    const expect: [string, string, number][] = [
      ['ca-cert.pem', creds.caCert, 0o644],
      ['server-cert.pem', creds.serverCert, 0o644],
      ['server-key.pem', creds.serverKey, 0o600],
      ['client-cert.pem', creds.clientCert, 0o644],
      ['client-key.pem', creds.clientKey, 0o600],
    ];
    t.deepEqual(Object.values(QEMU_TLS_FILES).sort(), expect.map(([f]) => f).sort());
    for (const [file, pem, mode] of expect) {
      t.is(readFileSync(join(dir, file), 'utf8'), pem, file);
      t.is(statSync(join(dir, file)).mode & 0o777, mode, file);
    }
    t.true(creds.serverKey.startsWith('-----BEGIN PRIVATE KEY-----'));
    // Rewriting fixes modes of existing files.
    writeQemuTlsDir(dir, creds);
    t.is(statSync(join(dir, 'server-key.pem')).mode & 0o777, 0o600);
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});

test('qemuTlsObjectArgs', (t) => {
  t.deepEqual(qemuTlsObjectArgs({ dir: '/tmp/x', endpoint: 'server' }), [
    '-object', 'tls-creds-x509,id=tls0,dir=/tmp/x,endpoint=server',
  ]);
  t.deepEqual(qemuTlsObjectArgs({ id: 'c1', dir: '/a,b', endpoint: 'client', verifyPeer: false }), [
    '-object', 'tls-creds-x509,id=c1,dir=/a,,b,endpoint=client,verify-peer=off',
  ]);
});
