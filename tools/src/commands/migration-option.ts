/** `--migration N`: which migration of a pcap/pcapng holding several a command reads. */
import { InputError } from '../input-error.js';

export const MIGRATION_OPTION = { migration: { type: 'string' } } as const;

/** The migration number given, or undefined without the option. */
export function migrationOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new InputError(`--migration takes a migration number (0, 1, ...), not ${String(value)}`);
  return Number(value);
}
