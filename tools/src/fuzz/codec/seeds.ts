/**
 * The seeds of a codec campaign, reduced, and the decoder limits each is decoded with. Limits are
 * set just above what the seed itself needs, so a length field a mutation inflates meets a limit
 * instead of the end of a small input, and "nothing held beyond the limits" can be checked.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DecoderLimits } from '@migwire/stream-codec';
import { connectionFileName } from '@migwire/capture';
import { fixtureDirs, sharedCaptureDirs } from '../paths.js';
import { reduceSeed } from '../reduce.js';
import { loadSeed, type Seed, type SeedChannel } from '../seed.js';

export interface SeedSpec {
  path: string;
  channel?: string;
}

export interface CodecSeed {
  spec: SeedSpec;
  seed: Seed;
  /** Limits for every decoder (payload limits: maxPayload). */
  limits: DecoderLimits;
  /** Multifd: largest device-state payload; return path: largest received bitmap. */
  maxPayload: number;
  /** Most bytes a decoder of this seed may hold between writes. */
  maxHeld: number;
}

/** Every fixture's main stream, and per shared capture its main channel, one multifd channel and the return path. */
export function defaultSeedSpecs(): SeedSpec[] {
  const specs: SeedSpec[] = fixtureDirs().map((path) => ({ path }));
  for (const dir of sharedCaptureDirs()) {
    specs.push({ path: dir, channel: 'main' });
    if ([false, true].some((gz) => existsSync(join(dir, connectionFileName(1, 'src2dst', gz))))) specs.push({ path: dir, channel: 'conn01.src2dst' });
    specs.push({ path: dir, channel: 'return-path' });
  }
  return specs;
}

const roundUp = (n: number): number => Math.ceil(n / 4096) * 4096;

export async function prepareSeed(spec: SeedSpec): Promise<CodecSeed | null> {
  let seed: Seed;
  try {
    seed = await loadSeed(spec.path, spec.channel ? { channel: spec.channel } : {});
  } catch {
    return null; // a capture without that channel (no return path recorded, say)
  }
  if (seed.bytes.length === 0) return null;
  // The defaults, so `fuzz mutate SEED --reduce --seed N --count 1` rebuilds input N.
  seed = reduceSeed(seed, { firmware: false });
  let device = 0;
  let vmdesc = 0;
  let packaged = 0;
  if (seed.channel === 'main') {
    for (const r of seed.records) {
      if (r.kind === 'device-state') device = Math.max(device, r.length);
      if (r.kind === 'vmdescription') vmdesc = Math.max(vmdesc, r.json.length);
      if (r.kind === 'command' && r.args.command === 'PACKAGED') packaged = Math.max(packaged, r.args.length);
    }
  }
  const maxPayload = 64 * 1024;
  const limits: DecoderLimits = {
    maxVmdescBytes: roundUp(vmdesc * 1.25 + 4096),
    maxDeviceSectionBytes: roundUp(device * 1.25 + 4096),
    maxPackagedBytes: roundUp(packaged * 1.25 + 65536),
    maxConfigurationNameBytes: 1024,
    maxRamBlocks: 64,
    maxMappedRamRegionBytes: 2 ** 40,
    maxDeviceStateBytes: maxPayload,
    maxRecvBitmapBytes: maxPayload,
  };
  // The largest unit a decoder may wait for, plus the lookahead after a device section's footer.
  const byChannel: Record<SeedChannel, number> = {
    // A command's be16 length lets it be 64 KiB long whatever the limits.
    main: Math.max(limits.maxVmdescBytes, limits.maxDeviceSectionBytes, 2 * 4096 + 64, limits.maxConfigurationNameBytes, 5 + 0xffff) + 1024,
    multifd: 320 + 8 * 128 + 2 * 512 * 1024 + 276 + maxPayload,
    'return-path': maxPayload + 16 + 516,
  };
  return { spec, seed, limits, maxPayload, maxHeld: byChannel[seed.channel] };
}

export async function prepareSeeds(specs: readonly SeedSpec[]): Promise<CodecSeed[]> {
  return (await Promise.all(specs.map(prepareSeed))).filter((s): s is CodecSeed => s !== null);
}
