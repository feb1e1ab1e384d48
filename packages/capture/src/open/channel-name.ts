/** Display names of channels, one rule for every kind of input. */
import type { ChannelRole } from '@migwire/stream-codec';
import { connectionLabel, type Direction } from '../naming.js';

/** "main", "return-path", "multifd 2", "postcopy-preempt", else the raw "connNN.direction". */
export function channelName(role: ChannelRole, conn: number, direction: Direction, multifdId?: number): string {
  const raw = connectionLabel(conn, direction);
  switch (role) {
    case 'main':
    case 'return-path':
    case 'postcopy-preempt':
      return role;
    case 'multifd':
      return multifdId === undefined ? `multifd ${raw}` : `multifd ${multifdId}`;
    default:
      return raw;
  }
}

/** The role of a destination-to-source stream: the return path on a main connection. */
export function reverseRole(sourceRole: ChannelRole | undefined, bytes: number): ChannelRole {
  return !bytes ? 'empty' : sourceRole === 'main' ? 'return-path' : 'other';
}

/** Two channels claiming one name (a broken or doctored recording) keep apart by connection. */
export function disambiguateNames(channels: { name: string; conn: number }[]): void {
  const names = new Map<string, number>();
  for (const c of channels) names.set(c.name, (names.get(c.name) ?? 0) + 1);
  for (const c of channels) if ((names.get(c.name) ?? 0) > 1) c.name = `${c.name} (conn${String(c.conn).padStart(2, '0')})`;
}
