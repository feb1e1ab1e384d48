/**
 * HOST:PORT options (--listen, --target). A malformed value is a usage error (exit 2): a port
 * outside 0..65535, or a dotted-decimal host that is not an IPv4 address. A well-formed address
 * that cannot be resolved, bound or reached is a network problem the command reports (exit 1).
 */
import { isIP } from 'node:net';
import { UsageError } from '../errors/usage-error.js';

export function parseHostPort(s: string, what: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(s);
  if (!m) throw new UsageError(`${what} must be HOST:PORT, got ${JSON.stringify(s)}`);
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = Number(m[2]);
  if (!Number.isSafeInteger(port) || port > 65535) throw new UsageError(`${what}: port ${m[2]} is out of range 0..65535`);
  if (/^[\d.]+$/.test(host) && isIP(host) !== 4) throw new UsageError(`${what}: ${host} is not an IPv4 address`);
  if (host.includes(':') && isIP(host) !== 6) throw new UsageError(`${what}: ${host} is not an IPv6 address`);
  return { host, port };
}
