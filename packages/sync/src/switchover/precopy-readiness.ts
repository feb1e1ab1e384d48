import { SyncError, SyncErrorCode, assertNonNegative } from '../errors.js';

/** One VFIO_MIG_GET_PRECOPY_INFO answer. */
export interface PrecopyInfo {
  /** Bytes the device wants moved before switchover; only decreases, unless `reinit`. */
  initialBytes: number;
  /** Other state the device could send now; volatile, may go up or down at any time. */
  dirtyBytes: number;
  /** VFIO_PRECOPY_INFO_REINIT (PRECOPY_INFOv2): initial_bytes was reset, e.g. after a device reconfiguration. */
  reinit?: boolean;
}

export type ReadinessChange = 'unchanged' | 'became-ready' | 'revoked';

export interface ReadinessUpdate {
  change: ReadinessChange;
  /**
   * True the first time the device becomes ready: send DEV_INIT_DATA_SENT now. Never true again
   * after a REINIT, since the destination counts each device once: re-earned readiness stays on
   * the source and only gates the switchover there.
   */
  sendInitDataSent: boolean;
}

export interface ReadinessSummary {
  allReady: boolean;
  /** Devices whose initial bytes are not (or no longer) all sent, sorted. */
  notReady: string[];
  /** Sums of the latest answers. */
  initialBytes: number;
  dirtyBytes: number;
  /** How many times readiness was revoked by a REINIT. */
  revocations: number;
}

interface DeviceReadiness {
  info: PrecopyInfo | undefined;
  ready: boolean;
  initDataSent: boolean;
}

/**
 * Source-side readiness per device from PRECOPY_INFO: a device is ready once its initial_bytes
 * reach 0. A REINIT that brings initial_bytes back above 0 revokes readiness, also after the
 * SWITCHOVER_ACK, and it must be earned again before the VM may stop.
 */
export class PrecopyReadiness {
  readonly #devices = new Map<string, DeviceReadiness>();
  #revocations = 0;

  constructor(devices: readonly string[]) {
    for (const d of devices) this.#devices.set(d, { info: undefined, ready: false, initDataSent: false });
  }

  update(device: string, info: PrecopyInfo): ReadinessUpdate {
    const state = this.#devices.get(device);
    if (state === undefined) {
      throw new SyncError({ code: SyncErrorCode.UnknownDevice, message: 'PRECOPY_INFO for an unknown device', device });
    }
    assertNonNegative('initialBytes', info.initialBytes);
    assertNonNegative('dirtyBytes', info.dirtyBytes);
    const previous = state.info;
    if (previous !== undefined && info.reinit !== true && info.initialBytes > previous.initialBytes) {
      throw new SyncError({
        code: SyncErrorCode.InitialBytesGrew,
        message: 'initial_bytes grew without the REINIT flag',
        device,
        expected: `<= ${previous.initialBytes}`,
        found: String(info.initialBytes),
      });
    }
    state.info = { ...info };
    const wasReady = state.ready;
    state.ready = info.initialBytes === 0;
    let change: ReadinessChange = 'unchanged';
    if (!wasReady && state.ready) change = 'became-ready';
    else if (wasReady && !state.ready) {
      change = 'revoked';
      this.#revocations += 1;
    }
    const sendInitDataSent = state.ready && !state.initDataSent;
    if (sendInitDataSent) state.initDataSent = true;
    return { change, sendInitDataSent };
  }

  isReady(device: string): boolean {
    return this.#devices.get(device)?.ready ?? false;
  }

  summary(): ReadinessSummary {
    const notReady: string[] = [];
    let initialBytes = 0;
    let dirtyBytes = 0;
    for (const [device, state] of this.#devices) {
      if (!state.ready) notReady.push(device);
      initialBytes += state.info?.initialBytes ?? 0;
      dirtyBytes += state.info?.dirtyBytes ?? 0;
    }
    notReady.sort();
    return { allReady: notReady.length === 0, notReady, initialBytes, dirtyBytes, revocations: this.#revocations };
  }
}
