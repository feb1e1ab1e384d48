/** Which switchover-ack protocol a destination speaks, from its machine type and the legacy property. */
import { machineTypeRelease } from './version.js';
import { releaseHas } from './wire-facts.js';

/**
 * 'legacy': one SWITCHOVER_ACK after OPEN_RETURN_PATH, always; 'per-device': one per device that
 * needs it, none when no device does (machine type 11.1+, unless switchover-ack-legacy=on).
 */
export type SwitchoverAckMode = 'legacy' | 'per-device';

export interface SwitchoverAckModeInput {
  /** Destination machine type, e.g. "pc-q35-11.1" (the CONFIGURATION record carries it). */
  machine: string;
  /** `-global migration.switchover-ack-legacy=...` when it was set. */
  legacyProperty?: boolean;
  /** Release of the destination binary, when known: before 11.1 every machine type is legacy. */
  destinationRelease?: string;
}

export interface SwitchoverAckModeAnswer {
  mode: SwitchoverAckMode;
  /** How the mode was decided, for messages ("machine type pc-q35-11.1"). */
  because: string;
}

export function switchoverAckMode(i: SwitchoverAckModeInput): SwitchoverAckModeAnswer {
  if (i.destinationRelease !== undefined && !releaseHas(i.destinationRelease, 'switchoverAckPerDevice')) {
    return { mode: 'legacy', because: `destination QEMU ${i.destinationRelease}` };
  }
  if (i.legacyProperty !== undefined) {
    return { mode: i.legacyProperty ? 'legacy' : 'per-device', because: `switchover-ack-legacy=${i.legacyProperty ? 'on' : 'off'}` };
  }
  const release = machineTypeRelease(i.machine);
  // Unversioned aliases ("q35") resolve to the newest machine type of the binary.
  if (release === undefined) {
    return i.destinationRelease !== undefined
      ? { mode: 'per-device', because: `machine type ${i.machine} of QEMU ${i.destinationRelease}` }
      : { mode: 'legacy', because: `unversioned machine type ${i.machine}, release unknown: assumed legacy` };
  }
  return { mode: releaseHas(release, 'switchoverAckPerDevice') ? 'per-device' : 'legacy', because: `machine type ${i.machine}` };
}
