/**
 * transcode as a source that honours switchover-ack: before the first record that needs the VM
 * stopped it waits for SWITCHOVER_ACK when the destination owes one (the legacy protocol: machine
 * types up to 11.0, or switchover-ack-legacy=on), and not in 11.1's per-device protocol (no device
 * here that needs one). An ACK that is due and never comes fails with a message that says so.
 */
import { SwitchoverAckGate } from '@migwire/sync';
import { switchoverAckMode, type SwitchoverAckMode } from '@migwire/stream-codec';
import { badReturnPath, TranscodeError } from './errors.js';

export interface SwitchoverWaitOptions {
  /** switchover-ack on (the recording's meta.json caps, or --switchover-ack). */
  enabled: boolean;
  /** Machine type the stream carries (CONFIGURATION). */
  machine: string | undefined;
  /** The destination's QEMU release. */
  release: string;
  /** Forced protocol (switchover-ack-legacy on the destination); default: from machine type and release. */
  mode?: SwitchoverAckMode;
  timeoutMs: number;
}

export class SwitchoverWait {
  readonly mode: SwitchoverAckMode;
  readonly because: string;
  readonly enabled: boolean;
  readonly #gate: SwitchoverAckGate;
  readonly #o: SwitchoverWaitOptions;
  #wake: (() => void) | undefined;
  /** ACKs seen on the return path, and whether transcode waited for one. */
  acks = 0;
  waited = false;

  constructor(o: SwitchoverWaitOptions) {
    this.#o = o;
    this.enabled = o.enabled;
    const m = o.mode ? { mode: o.mode, because: `switchover-ack-legacy=${o.mode === 'legacy' ? 'on' : 'off'}` } : switchoverAckMode({ machine: o.machine ?? 'unknown', destinationRelease: o.release });
    this.mode = m.mode;
    this.because = m.because;
    // No device here reports DEV_INIT_DATA_SENT: the destination counts none.
    this.#gate = new SwitchoverAckGate({ sourceEnabled: o.enabled, destinationEnabled: o.enabled, destinationDevices: [] });
  }

  returnPathOpened(): void {
    this.#gate.returnPathOpened();
  }

  #returnPathError: string | undefined;

  /** What came back on the return path does not decode: no ACK can be told from it any more. */
  returnPathFailed(message: string): void {
    this.#returnPathError ??= message;
    this.#wake?.();
  }

  /** SWITCHOVER_ACK arrived on the return path. */
  ackReceived(): void {
    this.acks++;
    // Per-device ACKs (11.1) are not the gate's: it models the single legacy ACK.
    if (this.mode === 'legacy' && !this.#gate.acked && this.#gate.ackDue) this.#gate.ackReceived();
    this.#wake?.();
  }

  /** Resolves when the source may stop the VM; throws SWITCHOVER_ACK_MISSING after the timeout. */
  async beforeSwitchover(): Promise<void> {
    if (!this.#o.enabled || this.mode === 'per-device' || this.#gate.mayStopVm()) return;
    this.waited = true;
    const state = this.#gate.status().state;
    if (state === 'waiting-for-return-path') {
      throw new TranscodeError('SWITCHOVER_ACK_MISSING', 'switchover-ack is on, but the recording never opens the return path (OPEN_RETURN_PATH): no SWITCHOVER_ACK can come');
    }
    if (this.#returnPathError) throw badReturnPath(this.#returnPathError);
    const acked = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.#o.timeoutMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    this.#wake = undefined;
    if (this.#returnPathError) throw badReturnPath(this.#returnPathError);
    if (!acked || !this.#gate.mayStopVm()) {
      throw new TranscodeError(
        'SWITCHOVER_ACK_MISSING',
        `switchover-ack (${this.mode} protocol, ${this.because}): the destination owes a SWITCHOVER_ACK after OPEN_RETURN_PATH, but none came within ${this.#o.timeoutMs} ms; is switchover-ack on at the destination?`,
      );
    }
  }
}
