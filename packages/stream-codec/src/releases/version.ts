/** QEMU release numbers ("11.1") and machine types ("pc-q35-11.1"): parsing and ordering. */

/** The releases migwire is tested against, oldest first (real peers in the interop tests). */
export const SUPPORTED_RELEASES = ['7.2', '10.0', '11.1'] as const;
export type SupportedRelease = (typeof SUPPORTED_RELEASES)[number];

/** Newest release whose wire format the codec knows; open-ended facts are stated up to it. */
export const LATEST_KNOWN_RELEASE: SupportedRelease = '11.1';

/** A release as "major.minor" (the patch level never changes the wire). */
export type Release = string;

const RELEASE_RE = /^(\d+)\.(\d+)(?:\.\d+)?$/;

/** [major, minor] of "11.1" or "11.1.3"; throws RangeError on anything else. */
export function parseRelease(release: Release): [number, number] {
  const m = RELEASE_RE.exec(release);
  if (!m) throw new RangeError(`not a QEMU release: ${JSON.stringify(release)} (expected major.minor, e.g. 11.1)`);
  return [Number(m[1]), Number(m[2])];
}

/** Negative, zero or positive as `a` is older than, the same as or newer than `b`. */
export function compareReleases(a: Release, b: Release): number {
  const [am, an] = parseRelease(a);
  const [bm, bn] = parseRelease(b);
  return am !== bm ? am - bm : an - bn;
}

export function releaseAtLeast(release: Release, since: Release): boolean {
  return compareReleases(release, since) >= 0;
}

/**
 * The release a versioned machine type belongs to: "pc-q35-11.1" and "pc-i440fx-7.2" give
 * "11.1" and "7.2". Unversioned aliases ("q35", "pc") name no release: undefined.
 */
export function machineTypeRelease(machine: string): Release | undefined {
  const m = /-(\d+\.\d+)$/.exec(machine.trim());
  return m ? m[1] : undefined;
}

/**
 * The oldest supported release that can be `release`'s peer: a machine type's release maps to the
 * first tested binary that has it (10.1 -> 11.1); newer than every known release: the latest.
 */
export function nearestSupportedRelease(release: Release): SupportedRelease {
  return SUPPORTED_RELEASES.find((r) => compareReleases(r, release) >= 0) ?? LATEST_KNOWN_RELEASE;
}

export function isSupportedRelease(s: unknown): s is SupportedRelease {
  return typeof s === 'string' && (SUPPORTED_RELEASES as readonly string[]).includes(s);
}
