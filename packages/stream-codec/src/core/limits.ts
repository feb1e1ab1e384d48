/**
 * Bounds on what a length field may make a decoder hold: one object for every decoder, each field
 * with a safe default. A decoder reads the fields that concern its channel and ignores the rest.
 */
export interface DecoderLimits {
  /** Main: VMDESCRIPTION JSON (QEMU's are ~50 KB; held, decoded and parsed: about 5x this in memory). */
  maxVmdescBytes: number;
  /** Main: one device section held while its end is found (VFIO sections can be large). */
  maxDeviceSectionBytes: number;
  /** Main: PACKAGED nested stream (QEMU allows up to 4 GiB; it is streamed through, never held). */
  maxPackagedBytes: number;
  /** Main: machine name in CONFIGURATION. */
  maxConfigurationNameBytes: number;
  /** Main: entries in one MEM_SIZE block list. */
  maxRamBlocks: number;
  /** Main: a mapped-ram block's bitmap + page region that the stream skips. */
  maxMappedRamRegionBytes: number;
  /** Multifd: one device-state packet's payload. */
  maxDeviceStateBytes: number;
  /** Return path: the received-pages bitmap after RECV_BITMAP (64 MiB covers a 2 TiB guest). */
  maxRecvBitmapBytes: number;
}

export const DEFAULT_LIMITS: Readonly<DecoderLimits> = {
  maxVmdescBytes: 16 * 1024 * 1024,
  maxDeviceSectionBytes: 256 * 1024 * 1024,
  maxPackagedBytes: 256 * 1024 * 1024,
  maxConfigurationNameBytes: 1024,
  maxRamBlocks: 4096,
  maxMappedRamRegionBytes: 2 ** 50,
  maxDeviceStateBytes: 256 * 1024 * 1024,
  maxRecvBitmapBytes: 64 * 1024 * 1024,
};

/** The defaults with `limits` laid over them. */
export function resolveLimits(limits: Partial<DecoderLimits> | undefined): DecoderLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}
