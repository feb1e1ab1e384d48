/** Who has switchover-ack on, per side and per device. */
export interface SwitchoverAckSetup {
  /** switchover-ack capability on the source: it then waits for SWITCHOVER_ACK before stopping the VM. */
  sourceEnabled: boolean;
  /** switchover-ack capability on the destination: only then does it count devices and send the ACK. */
  destinationEnabled: boolean;
  /** Devices (section idstr, e.g. "0000:00:04.0/vfio") the destination counts at load setup. */
  destinationDevices: readonly string[];
  /**
   * Devices whose source side will send DEV_INIT_DATA_SENT (VFIO with precopy support). When
   * given, the gate can tell a stuck migration ('never') from a slow one.
   */
  sourceDevices?: readonly string[];
}

/** A reason the ACK can never come, or the load will fail, found from the setup alone. */
export type SwitchoverBlocker =
  /** Source waits for an ACK; the destination, capability off, never sends one. */
  | { kind: 'destination-not-enabled' }
  /** The destination counts this device but its source side never sends DEV_INIT_DATA_SENT: the count never reaches 0. */
  | { kind: 'device-never-reports'; device: string }
  /** The source side sends DEV_INIT_DATA_SENT for a device the destination does not count: QEMU's destination fails the load. */
  | { kind: 'device-not-counted'; device: string };

/**
 * What the setup alone says about the ACK. The seeds' cases: capability on the source only (the
 * source would wait forever: QEMU has no handshake to catch it), and a device that supports it
 * on one side only.
 */
export function diagnoseSwitchoverAck(setup: SwitchoverAckSetup): SwitchoverBlocker[] {
  if (!setup.sourceEnabled) return []; // the source never waits, whatever the destination does
  if (!setup.destinationEnabled) return [{ kind: 'destination-not-enabled' }];
  if (setup.sourceDevices === undefined) return [];
  const source = new Set(setup.sourceDevices);
  const destination = new Set(setup.destinationDevices);
  const blockers: SwitchoverBlocker[] = [];
  for (const device of destination) if (!source.has(device)) blockers.push({ kind: 'device-never-reports', device });
  for (const device of source) if (!destination.has(device)) blockers.push({ kind: 'device-not-counted', device });
  return blockers;
}
