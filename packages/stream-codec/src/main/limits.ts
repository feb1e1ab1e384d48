/** Bounds on what a length field may make the decoder hold; all are options with safe defaults. */
export interface MainDecoderLimits {
  /** VMDESCRIPTION JSON (QEMU's are ~50 KB). */
  maxVmdescBytes: number;
  /** One device section held while its end is found (VFIO sections can be large). */
  maxDeviceSectionBytes: number;
  /** PACKAGED nested stream (QEMU allows up to 4 GiB; it is streamed through, never held). */
  maxPackagedBytes: number;
  /** Machine name in CONFIGURATION. */
  maxConfigurationNameBytes: number;
  /** Entries in one MEM_SIZE block list. */
  maxRamBlocks: number;
  /** A mapped-ram block's bitmap + page region that the stream skips. */
  maxMappedRamRegionBytes: number;
}

export const DEFAULT_MAIN_LIMITS: MainDecoderLimits = {
  maxVmdescBytes: 64 * 1024 * 1024,
  maxDeviceSectionBytes: 256 * 1024 * 1024,
  maxPackagedBytes: 256 * 1024 * 1024,
  maxConfigurationNameBytes: 1024,
  maxRamBlocks: 4096,
  maxMappedRamRegionBytes: 2 ** 50,
};
