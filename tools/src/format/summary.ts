/** Totals `migwire dump` prints at the end: records, bytes per kind, pages per block, messages by name. */
import { RESUMED_BLOCK_UNKNOWN, type CodecRecord, type PassedPageRun } from '@migwire/stream-codec';
import type { ChannelResult } from '@migwire/capture';
import { bytesHuman, UNNAMED_BLOCK } from './human.js';

interface BlockPages {
  pages: number;
  zero: number;
  xbzrle: number;
  compressed: number;
  multifdPages: number;
  multifdZero: number;
}

export class Summary {
  private kinds = new Map<string, { count: number; bytes: number }>();
  private blocks = new Map<string, BlockPages>();
  private names = new Map<string, number>();
  private lastKind: string | undefined;
  private lastTotals: { count: number; bytes: number } | undefined;
  private lastBlockName: string | undefined;
  private lastBlock: BlockPages | undefined;
  private channels: Array<{ name: string; role: string; bytes: number; records: number; error?: string; skipped?: string }> = [];

  add(_channel: string, r: CodecRecord): void {
    // Records come in runs of one kind (pages): the last kind's totals are kept at hand.
    const k = r.kind === this.lastKind && this.lastTotals ? this.lastTotals : this.totals(r.kind);
    this.lastKind = r.kind;
    this.lastTotals = k;
    k.count++;
    k.bytes += r.length;
    switch (r.kind) {
      case 'ram-page':
        this.block(r.block).pages++;
        break;
      case 'ram-zero':
        this.block(r.block).zero++;
        break;
      case 'ram-xbzrle':
        this.block(r.block).xbzrle++;
        break;
      case 'ram-compressed':
        this.block(r.block).compressed++;
        break;
      case 'multifd-packet':
        if (r.normalPages + r.zeroPages) {
          const b = this.block(r.block);
          b.multifdPages += r.normalPages;
          b.multifdZero += r.zeroPages;
        }
        if (r.sync) this.count('multifd SYNC');
        break;
      case 'command':
        this.count(`command ${r.name}`);
        break;
      case 'rp-message':
        this.count(`return path ${r.name}`);
        break;
      case 'ram-multifd-flush':
        this.count('RAM MULTIFD_FLUSH');
        break;
    }
  }

  /** A run of page records taken whole: counted as its records one by one would be. */
  addPageRun(run: PassedPageRun): void {
    for (const b of run.blocks) {
      if (b.pages) {
        const k = this.totals('ram-page');
        k.count += b.pages;
        k.bytes += b.pageBytes;
      }
      if (b.zeros) {
        const k = this.totals('ram-zero');
        k.count += b.zeros;
        k.bytes += b.zeroBytes;
      }
      const t = this.block(b.block);
      t.pages += b.pages;
      t.zero += b.zeros;
    }
  }

  private totals(kind: string): { count: number; bytes: number } {
    let k = this.kinds.get(kind);
    if (!k) this.kinds.set(kind, (k = { count: 0, bytes: 0 }));
    return k;
  }

  channel(r: ChannelResult): void {
    const c: (typeof this.channels)[number] = { name: r.channel.name, role: r.channel.role, bytes: r.bytes, records: r.records };
    if (r.error) c.error = r.error.message;
    if (r.skipped) c.skipped = r.skipped;
    this.channels.push(c);
  }

  private count(name: string): void {
    this.names.set(name, (this.names.get(name) ?? 0) + 1);
  }

  private block(name: string): BlockPages {
    if (name === this.lastBlockName && this.lastBlock) return this.lastBlock;
    let b = this.blocks.get(name);
    if (!b) this.blocks.set(name, (b = { pages: 0, zero: 0, xbzrle: 0, compressed: 0, multifdPages: 0, multifdZero: 0 }));
    this.lastBlockName = name;
    this.lastBlock = b;
    return b;
  }

  lines(): string[] {
    const out = ['', '# summary'];
    for (const c of this.channels) {
      out.push(`channel ${c.name} (${c.role}): ${bytesHuman(c.bytes)}, ${c.records} records` + (c.error ? `, ERROR: ${c.error}` : c.skipped ? `, not decoded (${c.skipped})` : ', decoded to the end'));
    }
    out.push('records by kind:');
    for (const [k, v] of [...this.kinds].sort((a, b) => b[1].bytes - a[1].bytes)) out.push(`  ${k.padEnd(22)} ${String(v.count).padStart(9)}  ${bytesHuman(v.bytes)}`);
    if (this.blocks.size) {
      out.push('pages by RAM block (main+preempt: page/zero/xbzrle; multifd: page/zero):');
      for (const [name, b] of this.blocks) {
        out.push(`  ${(name === RESUMED_BLOCK_UNKNOWN ? UNNAMED_BLOCK : name).padEnd(24)} main ${b.pages}/${b.zero}/${b.xbzrle}${b.compressed ? ` compressed ${b.compressed}` : ''}  multifd ${b.multifdPages}/${b.multifdZero}`);
      }
    }
    if (this.names.size) {
      out.push('commands and messages:');
      for (const [k, v] of [...this.names].sort()) out.push(`  ${k.padEnd(32)} ${v}`);
    }
    return out;
  }

  toJSON(): Record<string, unknown> {
    return {
      channels: this.channels,
      kinds: Object.fromEntries(this.kinds),
      blocks: Object.fromEntries(this.blocks),
      counts: Object.fromEntries(this.names),
    };
  }
}
