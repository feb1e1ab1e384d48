/**
 * One replay into a destination QEMU started for it: launched with `-incoming defer` and a second
 * QMP monitor for the replay, set up as the recording's destination was (meta.json, or what the
 * caller says), replayed, then checked: the RAM's sha256 (pmemsave) for precopy, the guest pattern
 * after the guest ran for postcopy. The QEMU is stopped before it returns. Used by the interop
 * tests and the fixture generator.
 *
 * A recording whose TLS the proxy terminated holds plaintext, but its destination had tls-creds:
 * it is replayed the same way, over new TLS sessions, with credentials made for this replay (in a
 * temporary folder, never in the capture) unless the caller gives a folder or asks for plaintext.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '@migwire/capture';
import { machineTypeRelease, nearestSupportedRelease } from '@migwire/stream-codec';
import { clientTlsOptions, generateTlsCredentials, qemuTlsObjectArgs, readQemuTlsDir, writeQemuTlsDir } from '@migwire/channel-manager';
import { launchVm, makeBootDisk, pmemsaveAll, pmemsaveRegion, sha256, verifyPattern, type PatternResult, type QemuVersion, type Vm } from '@migwire/qemu';
import { recordedDestination, recordedTlsTerminated } from './plan.js';
import { replaySettings } from './settings.js';
import { prepareDestination } from './destination.js';
import { replayCapture } from './replay.js';
import type { ReplayOptions, ReplayReport } from './types.js';

export interface FreshReplayOptions extends Omit<ReplayOptions, 'target' | 'qmpSocket' | 'tls'> {
  /** Default: the recording's destination build (meta.json), else the release of the stream's machine type, else 10.0. */
  version?: QemuVersion;
  /** Default: meta.json's machine (q35 is the 10.0 default; pc-q35-7.2 for 7.2); without meta.json, the stream's CONFIGURATION record's. */
  machine?: string;
  /** Guest RAM (MiB). Default: meta.json's, else pc.ram's size in the stream's RAM block list, else 128. */
  memMiB?: number;
  /** Destination caps/params. Default: the capture's meta.json; without one, what the capture shows (inferDestinationSettings). */
  caps?: Record<string, boolean>;
  params?: Record<string, unknown>;
  /**
   * Replay over TLS (the destination gets a tls-creds-x509 server object and `tls-creds`) or in
   * plaintext (`tls-creds`, `tls-hostname`, `tls-authz` dropped from the parameters). Default: TLS
   * when the recording terminated TLS (index.json transport `tls-terminated`) or `tlsDir` is given.
   */
  tls?: boolean;
  /** A tls-creds-x509 folder to use for the TLS replay. Default: credentials generated for it. */
  tlsDir?: string;
  /** Keep the destination alive after a failed load so QMP reports the error (QEMU >= 9.1). Default false on 10.0. */
  exitOnError?: boolean;
  /** Run the destination's guest during the replay. Default: for postcopy captures. */
  running?: boolean;
  /** What to check after `completed`: RAM sha256, the guest pattern after it runs, or nothing. Default: pattern for postcopy, ram otherwise. */
  verify?: 'ram' | 'pattern' | 'none';
  /** The guest's pattern region (MiB). Default [1, 9]. */
  region?: [number, number];
  /** Serial markers to wait for before checking the pattern. Default 100. */
  markers?: number;
  /**
   * More QEMU arguments for the destination: the recorded guest's devices and drives (a destination
   * without them refuses their sections). Default: the devices on meta.json's destination command line.
   */
  extraArgs?: string[];
}

export interface FreshReplayResult {
  report: ReplayReport;
  /** sha256 of the destination's RAM after `completed` (verify: 'ram'). */
  ramSha256: string | null;
  /** The guest pattern after the guest ran on the destination (verify: 'pattern'). */
  pattern: PatternResult | null;
  /** QEMU's stdout/stderr (its detailed load errors are only there). */
  qemuOutput: string;
  /** Whether the replay spoke TLS to the destination. */
  tls: boolean;
}

/** The id of the destination's tls-creds-x509 object (what `tls-creds` names). */
const TLS_OBJECT_ID = 'tls0';
/** Parameters naming TLS objects or peers of the original QEMUs; a replay sets its own or none. */
const TLS_PARAMS = ['tls-creds', 'tls-hostname', 'tls-authz'];

/** The destination's parameters for this replay: the recorded ones with `tls-creds` naming our object, or no TLS at all. */
function replayParams(params: Record<string, unknown>, tls: boolean): Record<string, unknown> {
  const out = Object.fromEntries(Object.entries(params).filter(([k]) => !TLS_PARAMS.includes(k)));
  return tls ? { ...out, 'tls-creds': TLS_OBJECT_ID } : out;
}

export async function replayIntoFreshQemu(capture: string, o: FreshReplayOptions = {}): Promise<FreshReplayResult> {
  const rec = recordedDestination(capture);
  const input = await openCapture(capture, { migration: o.migration });
  const settings = await replaySettings(input);
  // Without meta.json: the machine type and RAM size the stream itself names.
  const shown = settings.inference;
  const shownRelease = shown?.machine ? machineTypeRelease(shown.machine) : undefined;
  const shownRam = shown?.ramBlocks.find((b) => b.name === 'pc.ram')?.bytes;
  const {
    version = rec.version === '7.2' ? '7.2' : shownRelease ? nearestSupportedRelease(shownRelease) : '10.0',
    machine = rec.machine && rec.machine !== 'q35' ? rec.machine : shown?.machine,
    memMiB = rec.memMiB ?? (shownRam ? Math.ceil(shownRam / (1 << 20)) : 128),
    caps, params, tls, tlsDir, exitOnError, running, verify, region = [1, 9], markers = 100, ...replayOpts
  } = o;
  const useCaps = caps ?? settings.caps;
  const postcopy = useCaps['postcopy-ram'] === true;
  const useTls = tls ?? (tlsDir !== undefined || recordedTlsTerminated(capture));
  if (!useTls && tlsDir !== undefined) throw new TypeError('replayIntoFreshQemu: tlsDir given with tls: false');
  const qmpDir = mkdtempSync(join(tmpdir(), 'mwr-'));
  const qmpSock = join(qmpDir, 'qmp.sock');
  let dst: Vm | undefined;
  try {
    let credsDir = tlsDir;
    if (useTls && credsDir === undefined) {
      credsDir = join(qmpDir, 'tls');
      writeQemuTlsDir(credsDir, generateTlsCredentials());
    }
    dst = await launchVm({
      version, role: 'destination', memMiB, bootDisk: makeBootDisk({ startMiB: region[0], endMiB: region[1] }),
      extraArgs: ['-qmp', `unix:${qmpSock},server=on,wait=off`, ...(credsDir ? qemuTlsObjectArgs({ dir: credsDir, id: TLS_OBJECT_ID, endpoint: 'server' }) : []), ...(o.extraArgs ?? rec.devices ?? [])],
      ...(machine ? { machine } : {}), paused: !(running ?? postcopy),
    });
    const keepAlive = exitOnError ?? (version === '10.0' ? false : undefined);
    const target = await prepareDestination(dst.qmp, {
      caps: useCaps, params: replayParams(params ?? settings.params, useTls), ...(keepAlive === false ? { exitOnError: false } : {}),
    });
    const report = await replayCapture(input, {
      ...replayOpts, target, qmpSocket: qmpSock,
      ...(credsDir ? { tls: clientTlsOptions(readQemuTlsDir(credsDir), target.host) } : {}),
    });
    let ramSha256: string | null = null;
    let pattern: PatternResult | null = null;
    const check = verify ?? (postcopy ? 'pattern' : 'ram');
    if (report.outcome === 'completed' && check === 'ram') {
      ramSha256 = sha256(await pmemsaveAll(dst.qmp, memMiB, join(qmpDir, 'ram.bin')));
    } else if (report.outcome === 'completed' && check === 'pattern') {
      if ((await dst.runState()) !== 'running') await dst.qmp.execute('cont');
      await dst.waitForMarkers(dst.countMarkers() + markers, 30_000);
      await dst.qmp.execute('stop');
      pattern = verifyPattern(await pmemsaveRegion(dst.qmp, region[0], region[1], join(qmpDir, 'region.bin')), region[0], region[1]);
    }
    return { report, ramSha256, pattern, qemuOutput: dst.output, tls: useTls };
  } finally {
    await dst?.stop();
    rmSync(qmpDir, { recursive: true, force: true });
  }
}
