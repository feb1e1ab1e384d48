/** One-line human descriptions of records, for `migwire dump`. */
import { MULTIFD_RAM_HEADER_SIZE, multifdLayoutFamily, pingValueName, ramFlagNames, RESUMED_BLOCK_UNKNOWN } from '@migwire/stream-codec';
import type { CodecRecord } from '@migwire/stream-codec';
import { blockMigrationSummary, dirtyBitmapSummary } from './block-chunks.js';
export { printable } from './printable.js';

export function hexOffset(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

export function bytesHuman(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Text after the offset/length columns; pages are aggregated by the caller. */
export function describe(r: CodecRecord): string {
  switch (r.kind) {
    case 'header':
      return `HEADER QEVM version ${r.version}`;
    case 'configuration': {
      const subs = r.subsections.map((s) => (s.name === 'configuration/capabilities' ? `capabilities=[${s.capabilities.join(',')}]` : s.name === 'configuration/target-page-bits' ? `target-page-bits=${s.targetPageBits}` : 'uuid'));
      return `CONFIGURATION machine=${r.machine}${subs.length ? ' ' + subs.join(' ') : ''}`;
    }
    case 'section':
      return `SECTION_${r.sectionType.toUpperCase()} id=${r.sectionId} "${r.idstr}"` + (r.instanceId !== undefined ? ` instance=${r.instanceId} version=${r.versionId}` : '');
    case 'footer':
      return `FOOTER id=${r.sectionId}`;
    case 'eof':
      return 'EOF';
    case 'vmdescription': {
      const d = r.description as { devices?: unknown[] } | undefined;
      return `VMDESCRIPTION ${bytesHuman(r.json.length)} JSON` + (d?.devices ? `, ${d.devices.length} devices` : '');
    }
    case 'command':
      return `COMMAND ${r.name}${commandDetail(r.args)}`;
    case 'ram-mem-size':
      return `  RAM MEM_SIZE total=${bytesHuman(r.totalBytes)}`;
    case 'ram-block': {
      const b = r.block;
      const extra = [b.pageSize !== undefined ? `page-size=${b.pageSize}` : '', b.address !== undefined ? `addr=0x${b.address.toString(16)}` : '', b.mappedRam ? `mapped-ram bitmap@0x${b.mappedRam.bitmapOffset.toString(16)} pages@0x${b.mappedRam.pagesOffset.toString(16)}` : ''].filter(Boolean);
      return `  RAM block "${b.name}" ${bytesHuman(b.usedLength)}${extra.length ? ' ' + extra.join(' ') : ''}`;
    }
    case 'ram-page':
    case 'ram-zero':
    case 'ram-xbzrle':
    case 'ram-compressed':
      return `  RAM ${ramFlagNames(r.flags)} ${blockLabel(r.block)} +0x${r.pageOffset.toString(16)}` + (r.kind === 'ram-xbzrle' ? ` delta=${r.delta.length}B` : r.kind === 'ram-zero' && r.fill ? ` fill=${r.fill}` : '');
    case 'ram-eos':
      return '  RAM EOS';
    case 'ram-multifd-flush':
      return '  RAM MULTIFD_FLUSH';
    case 'ram-hook':
      return '  RAM HOOK';
    case 'mapped-ram-data':
      return `  mapped-ram region of "${r.block}" (${bytesHuman(r.length)})`;
    case 'device-state': {
      let s = `  device data ${r.length} B`;
      if (r.vmstate) s += `, ${r.vmstate.fields.length} fields` + (r.vmstate.subsections.length ? ` + ${r.vmstate.subsections.map((x) => x.name).join(', ')}` : '');
      if (r.vfio) s += `, VFIO ${r.vfio.map((i) => i.name + (i.data ? `(${i.data.length})` : '')).join(' ')}`;
      if (r.dirtyBitmap) s += `, ${dirtyBitmapSummary(r.dirtyBitmap)}`;
      if (r.blockMigration) s += `, ${blockMigrationSummary(r.blockMigration)}`;
      return s;
    }
    case 'rp-message':
      return `RP ${r.name}${rpDetail(r.args)}`;
    case 'rp-recv-bitmap':
      return `RP received-pages bitmap "${r.block}" ${r.bitmap.length} B`;
    case 'multifd-init':
      return `MULTIFD INIT channel=${r.channelId} uuid=${Buffer.from(r.uuid).toString('hex')}`;
    case 'multifd-packet':
      return (
        `MULTIFD PACKET #${r.packetNum}${r.sync ? ' SYNC' : ''} ${r.compression}` +
        (r.normalPages + r.zeroPages > 0 ? ` "${r.block}" pages=${r.normalPages} zero=${r.zeroPages}` : '') +
        ` payload=${r.length - MULTIFD_RAM_HEADER_SIZE - r.raw.offsets.length}B layout=${multifdLayoutFamily(r.layout).label}`
      );
    case 'multifd-device-state':
      return `MULTIFD DEVICE_STATE "${r.idstr}" instance=${r.instanceId} payload=${r.payload.length}B`;
  }
}

function commandDetail(a: import('@migwire/stream-codec').CommandArgs): string {
  switch (a.command) {
    case 'PING': {
      const name = pingValueName(a.value);
      return ` ${a.value}${name !== undefined ? ` (${name})` : ''}`;
    }
    case 'POSTCOPY_ADVISE':
      return a.pageSizeSummary !== undefined ? ` page-sizes=0x${a.pageSizeSummary.toString(16)} target-page=${a.targetPageSize}` : ' (no RAM postcopy)';
    case 'POSTCOPY_RAM_DISCARD':
      return ` "${a.block}" ${a.ranges.length} ranges (${bytesHuman(a.ranges.reduce((n, x) => n + Number(x.length), 0))})`;
    case 'PACKAGED':
      return ` ${a.length} B nested stream follows`;
    case 'RECV_BITMAP':
      return ` "${a.block}"`;
    default:
      return '';
  }
}

function rpDetail(a: import('@migwire/stream-codec').ReturnPathArgs): string {
  switch (a.message) {
    case 'SHUT':
      return ` status=${a.status}`;
    case 'PONG':
    case 'RESUME_ACK':
      return ` ${a.value}`;
    case 'REQ_PAGES_ID':
      return ` "${a.block}" +0x${a.start.toString(16)} len=${a.length}`;
    case 'REQ_PAGES':
      return ` +0x${a.start.toString(16)} len=${a.length}`;
    case 'RECV_BITMAP':
      return ` "${a.block}"`;
    default:
      return '';
  }
}

/** How a block no record named is printed (a stream resumed mid-way: it was named before the capture began). */
export const UNNAMED_BLOCK = '(block named before the capture began)';

/** A RAM block's name as printed: quoted, or UNNAMED_BLOCK. */
export function blockLabel(name: string): string {
  return name === RESUMED_BLOCK_UNKNOWN ? UNNAMED_BLOCK : `"${name}"`;
}
