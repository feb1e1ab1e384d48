/**
 * What changed on the wire between QEMU releases, one entry per fact, with the release that
 * brought it (read from QEMU's migration/, hw/vfio/ and include/migration/ sources). Decoders,
 * `check`, `transcode`, the fixtures and the README all take release-dependent behaviour from here.
 */
import { releaseAtLeast, type Release } from './version.js';

export interface WireFact {
  /** First release with the behaviour. */
  since: Release;
  /** One line for people (README table, messages). */
  description: string;
  /** Set when the behaviour follows the destination's machine type rather than its binary. */
  byMachineType?: true;
}

export const WIRE_FACTS = {
  multifdZeroPages: { since: '9.0', description: 'multifd packets carry zero pages as offsets only (zero_pages field), pages_alloc is 0 in SYNC packets' },
  multifdDeviceState: { since: '10.0', description: 'multifd device-state packets (flag 0x40: idstr, instance, size) for VFIO' },
  switchoverStart: { since: '10.0', description: 'MIG_CMD_SWITCHOVER_START (11) before the final device state' },
  vfioConfigLoadReady: { since: '10.1', description: 'VFIO flag DEV_CONFIG_LOAD_READY (0xffffffffef100006): config loaded after the iterable data' },
  multifdWithPostcopy: { since: '10.1', description: 'multifd and postcopy-ram together (10.0 refuses the combination)' },
  pingPackagedLoaded: { since: '10.2', description: 'PING 0x42 (PACKAGED_LOADED) inside PACKAGED after PING 3; its PONG tells the source the devices are loaded' },
  command8Deprecated: { since: '10.2', description: 'command 8 renamed DEPRECATED_0 (was ENABLE_COLO)' },
  command8Rejected: { since: '11.0', description: 'command 8 (DEPRECATED_0) rejected by the destination' },
  multifdInitIdChecked: { since: '11.0', description: 'the multifd init message id must be below the channel count' },
  vmstatePtrMarker: { since: '11.0', description: 'VMState pointer markers: 0x30 null, 0x31 valid; vmdesc field type "ptr-marker"' },
  switchoverAckPerDevice: {
    since: '11.1',
    byMachineType: true,
    description: 'switchover-ack: one SWITCHOVER_ACK per device that needs one, none when no device does (machine types up to 11.0 and switchover-ack-legacy=on: one ACK after OPEN_RETURN_PATH)',
  },
} as const satisfies Record<string, WireFact>;

export type WireFactName = keyof typeof WIRE_FACTS;

/** Does `release` (a QEMU binary's release, or a machine type's for `byMachineType` facts) have the fact? */
export function releaseHas(release: Release, fact: WireFactName): boolean {
  return releaseAtLeast(release, WIRE_FACTS[fact].since);
}
