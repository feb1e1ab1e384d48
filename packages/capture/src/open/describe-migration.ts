/** One line naming a migration found in a packet capture (its own module: no pcap code to load). */
import type { Migration } from '@migwire/pcap';

const endpoint = (e: { address: string; port: number }): string => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);

export function describeMigration(m: Migration): string {
  const roles = m.connections.map((c) => c.role + (c.multifdId !== undefined ? ` ${c.multifdId}` : ''));
  return `migration ${m.id}: to ${endpoint(m.destination)}, ${m.connections.length} connections (${roles.join(', ')}), ${(m.end - m.start).toFixed(3)} s`;
}
