/** Per-release facts of multifd channels. */
import type { MultifdLayout } from '../multifd/records.js';
import { LATEST_KNOWN_RELEASE, type Release } from './version.js';
import { releaseHas, WIRE_FACTS } from './wire-facts.js';

export interface ReleaseFamily {
  first: Release;
  /** Last release with the layout; the newest known release when it is still current. */
  last: Release;
  /** "first-last", as `dump` prints it. */
  label: string;
}

function family(first: Release, last: Release): ReleaseFamily {
  return { first, last, label: `${first}-${last}` };
}

/** The releases whose multifd packets have `layout`: the 7.2 header lasts until zero pages came. */
export function multifdLayoutFamily(layout: MultifdLayout): ReleaseFamily {
  return layout === '7.2' ? family('7.2', '8.2') : family(WIRE_FACTS.multifdZeroPages.since, LATEST_KNOWN_RELEASE);
}

/** Packet layout a destination of `release` expects (what transcode writes for it). */
export function multifdLayoutFor(release: Release): MultifdLayout {
  return releaseHas(release, 'multifdZeroPages') ? '10.0' : '7.2';
}

/** Does a destination of `release` refuse a multifd init id at or above the channel count? */
export function checksMultifdInitId(release: Release): boolean {
  return releaseHas(release, 'multifdInitIdChecked');
}

/** Can a destination of `release` take multifd channels and postcopy-ram together? */
export function allowsMultifdWithPostcopy(release: Release): boolean {
  return releaseHas(release, 'multifdWithPostcopy');
}
