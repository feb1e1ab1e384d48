/** `migwire tls-certs`: its options, usage and help; the work is loaded only when it runs. */
import type { CommandSpec } from './command-spec.js';
import { isIP } from 'node:net';
import { UsageError } from '../errors/usage-error.js';

export const tlsCerts: CommandSpec = {
  summary: 'make x509 credentials (CA, server, client) for QEMU tls-creds-x509 and migwire record --tls',
  usage: 'migwire tls-certs --out DIR [--ip ADDR]... [--dns NAME]... [--force]',
  help: `Writes ca-cert.pem, ca-key.pem, server-cert.pem, server-key.pem, client-cert.pem and
client-key.pem into DIR (keys 0600): a CA and server/client certificates it signed, RSA 2048,
valid for a year. The server certificate names every --ip and --dns given (default 127.0.0.1, ::1
and localhost): it must name the host in the migration URI. Point both QEMUs' tls-creds-x509
objects (endpoint=client on the source, endpoint=server on the destination) and
\`migwire record --tls DIR\` at the same folder. DIR must be new or empty; existing credentials
(keys above all) are replaced only with --force, and never through a link.`,
  paths: 'none',
  options: { out: { type: 'string' }, ip: { type: 'string', multiple: true }, dns: { type: 'string', multiple: true }, force: { type: 'boolean' } },
  run: async (_pos, v, out) => {
    if (typeof v['out'] !== 'string') throw new UsageError('tls-certs needs --out DIR');
    const ips = v['ip'] as string[] | undefined;
    const dns = v['dns'] as string[] | undefined;
    const badIps = (ips ?? []).filter((ip) => isIP(ip) === 0);
    if (badIps.length) throw new UsageError(`--ip ${badIps.join(', ')}: not an IP address (use --dns for host names)`);
    const { tlsCerts } = await import('../tls-certs/command.js');
    return tlsCerts({ outDir: v['out'], ...(ips ? { ips } : {}), ...(dns ? { dns } : {}), force: v['force'] === true }, out);
  },
};
