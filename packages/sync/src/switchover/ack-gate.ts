import { SyncError, SyncErrorCode } from '../errors.js';
import { diagnoseSwitchoverAck, type SwitchoverAckSetup, type SwitchoverBlocker } from './ack-setup.js';

/**
 * - 'not-required': the source does not wait for an ACK (capability off on the source).
 * - 'waiting-for-return-path': nothing to load, but the ACK needs the return path (OPEN_RETURN_PATH).
 * - 'waiting-for-devices': the destination still counts devices that have not loaded initial data.
 * - 'ack-due': the destination owes the ACK (all loaded), it has not reached the source yet.
 * - 'acked': the source has the ACK.
 * - 'never': the ACK cannot come (see blockers): without intervention the source never stops the VM.
 */
export type SwitchoverGateState = 'not-required' | 'waiting-for-return-path' | 'waiting-for-devices' | 'ack-due' | 'acked' | 'never';

export interface SwitchoverGateStatus {
  state: SwitchoverGateState;
  /** Whether the ACK rule lets the source stop the VM now (the pending figures still have to agree). */
  mayStopVm: boolean;
  /** Devices the destination still waits for, sorted. */
  pendingDevices: string[];
  blockers: SwitchoverBlocker[];
}

/**
 * The switchover-ack protocol seen from both ends: the destination counts devices, each
 * DEV_INIT_DATA_SENT it loads counts one down, and at zero (with the return path open) it sends
 * SWITCHOVER_ACK once. The source may stop the VM only after that ACK.
 */
export class SwitchoverAckGate {
  readonly setup: SwitchoverAckSetup;
  readonly #pending: Set<string>;
  readonly #loaded = new Set<string>();
  #returnPathOpen = false;
  #acked = false;

  constructor(setup: SwitchoverAckSetup) {
    this.setup = { ...setup, destinationDevices: [...setup.destinationDevices] };
    // A destination with the capability off counts nothing.
    this.#pending = new Set(setup.destinationEnabled ? setup.destinationDevices : []);
  }

  /** OPEN_RETURN_PATH: a destination that counts no device sends the ACK right away. */
  returnPathOpened(): void {
    this.#returnPathOpen = true;
  }

  /** The ACK is owed by the destination: capability on, return path open, nothing left to load. */
  get ackDue(): boolean {
    return this.setup.destinationEnabled && this.#returnPathOpen && this.#pending.size === 0;
  }

  /** The destination loaded DEV_INIT_DATA_SENT for `device`. Returns whether the ACK is now due. */
  initDataSent(device: string): boolean {
    if (this.#loaded.has(device)) {
      throw new SyncError({
        code: SyncErrorCode.DuplicateInitDataSent,
        message: 'DEV_INIT_DATA_SENT sent twice: the destination counts each device once',
        device,
      });
    }
    if (!this.#pending.has(device)) {
      throw new SyncError({
        code: SyncErrorCode.UnexpectedInitDataSent,
        message: this.setup.destinationEnabled
          ? 'DEV_INIT_DATA_SENT for a device the destination does not count'
          : 'DEV_INIT_DATA_SENT while switchover-ack is off on the destination',
        device,
        expected: this.setup.destinationEnabled ? `one of ${[...this.#pending].sort().join(', ') || '(none)'}` : 'switchover-ack on the destination',
        found: device,
      });
    }
    this.#pending.delete(device);
    this.#loaded.add(device);
    return this.ackDue;
  }

  /** SWITCHOVER_ACK arrived on the return path. */
  ackReceived(): void {
    if (this.#acked) {
      throw new SyncError({ code: SyncErrorCode.DuplicateSwitchoverAck, message: 'second SWITCHOVER_ACK', channel: 'return-path' });
    }
    if (!this.ackDue) {
      throw new SyncError({
        code: SyncErrorCode.PrematureSwitchoverAck,
        message: 'SWITCHOVER_ACK before the destination could owe it',
        channel: 'return-path',
        expected: 'capability on, return path open, every counted device loaded',
        found: !this.setup.destinationEnabled
          ? 'capability off on the destination'
          : !this.#returnPathOpen
            ? 'return path not open'
            : `still waiting for ${[...this.#pending].sort().join(', ')}`,
      });
    }
    this.#acked = true;
  }

  get acked(): boolean {
    return this.#acked;
  }

  status(): SwitchoverGateStatus {
    const pendingDevices = [...this.#pending].sort();
    if (!this.setup.sourceEnabled) return { state: 'not-required', mayStopVm: true, pendingDevices, blockers: [] };
    if (this.#acked) return { state: 'acked', mayStopVm: true, pendingDevices, blockers: [] };
    // Blockers about devices already loaded no longer matter.
    const blockers = diagnoseSwitchoverAck(this.setup).filter((b) => b.kind !== 'device-never-reports' || this.#pending.has(b.device));
    if (blockers.length > 0) return { state: 'never', mayStopVm: false, pendingDevices, blockers };
    if (this.ackDue) return { state: 'ack-due', mayStopVm: false, pendingDevices, blockers };
    const state = pendingDevices.length === 0 ? 'waiting-for-return-path' : 'waiting-for-devices';
    return { state, mayStopVm: false, pendingDevices, blockers };
  }

  mayStopVm(): boolean {
    return this.status().mayStopVm;
  }
}
