/** Per-release meaning of MIG_CMD_* numbers, for decoders with a known release and for `check`. */
import { Command, COMMAND_NAMES, PING_PACKAGED_LOADED } from '../core/constants.js';
import { releaseHas } from './wire-facts.js';
import type { Release } from './version.js';

export type CommandStatus = 'current' | 'deprecated' | 'rejected';

export interface CommandInRelease {
  /** QEMU's name of the command in that release. */
  name: string;
  status: CommandStatus;
}

/**
 * How `release` treats command `cmd`: 8 is ENABLE_COLO up to 10.1, DEPRECATED_0 from 10.2 and
 * refused by an 11.0+ destination. Undefined for numbers no release knows.
 */
export function commandInRelease(cmd: number, release: Release): CommandInRelease | undefined {
  const name = COMMAND_NAMES[cmd];
  if (name === undefined) return undefined;
  if (cmd !== Command.EnableColo) return { name, status: 'current' };
  if (releaseHas(release, 'command8Rejected')) return { name: 'DEPRECATED_0', status: 'rejected' };
  if (releaseHas(release, 'command8Deprecated')) return { name: 'DEPRECATED_0', status: 'deprecated' };
  return { name, status: 'current' };
}

/** Name of a PING value with a meaning of its own (0x42 PACKAGED_LOADED, 10.2+), else undefined. */
export function pingValueName(value: number): string | undefined {
  return value === PING_PACKAGED_LOADED ? 'PACKAGED_LOADED' : undefined;
}
