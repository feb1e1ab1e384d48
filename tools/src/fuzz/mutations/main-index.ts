/** The records of a main-stream seed sorted by what mutators look for (computed once per seed). */
import type { MainRecord } from '@migwire/stream-codec';
import type { MainSeed } from '../seed.js';

type Of<K extends MainRecord['kind']> = Extract<MainRecord, { kind: K }>;

export interface MainIndex {
  /** SECTION_START / SECTION_FULL headers. */
  opens: Of<'section'>[];
  /** Every section header (START, PART, END, FULL). */
  headers: Of<'section'>[];
  footers: Of<'footer'>[];
  devices: Of<'device-state'>[];
  pages: Array<Of<'ram-page'> | Of<'ram-zero'> | Of<'ram-xbzrle'> | Of<'ram-compressed'>>;
  /** Every RAM record with a be64 flags header. */
  ram: Array<Extract<MainRecord, { flags: number }>>;
  memSizes: Of<'ram-mem-size'>[];
  blocks: Of<'ram-block'>[];
  commands: Of<'command'>[];
  /** Top-level positions where a new record may start (before a section header or EOF). */
  boundaries: MainRecord[];
  /** Used length of each RAM block. */
  blockLength: Map<string, number>;
  /** Every idstr the stream names. */
  idstrs: string[];
}

const cache = new WeakMap<MainSeed, MainIndex>();

export function mainIndex(seed: MainSeed): MainIndex {
  let ix = cache.get(seed);
  if (ix) return ix;
  ix = { opens: [], headers: [], footers: [], devices: [], pages: [], ram: [], memSizes: [], blocks: [], commands: [], boundaries: [], blockLength: new Map(), idstrs: [] };
  const names = new Set<string>();
  for (const r of seed.records) {
    switch (r.kind) {
      case 'section':
        ix.headers.push(r);
        if (r.sectionType === 'start' || r.sectionType === 'full') {
          ix.opens.push(r);
          names.add(r.idstr);
        }
        if (r.depth === 0) ix.boundaries.push(r);
        break;
      case 'footer':
        ix.footers.push(r);
        break;
      case 'device-state':
        ix.devices.push(r);
        break;
      case 'ram-page':
      case 'ram-zero':
      case 'ram-xbzrle':
      case 'ram-compressed':
        ix.pages.push(r);
        ix.ram.push(r);
        break;
      case 'ram-mem-size':
        ix.memSizes.push(r);
        ix.ram.push(r);
        break;
      case 'ram-eos':
      case 'ram-multifd-flush':
      case 'ram-hook':
        ix.ram.push(r);
        break;
      case 'ram-block':
        ix.blocks.push(r);
        ix.blockLength.set(r.block.name, r.block.usedLength);
        break;
      case 'command':
        ix.commands.push(r);
        if (r.depth === 0) ix.boundaries.push(r);
        break;
      case 'eof':
        if (r.depth === 0) ix.boundaries.push(r);
        break;
      default:
        break;
    }
  }
  ix.idstrs = [...names];
  cache.set(seed, ix);
  return ix;
}

/** A short description of a section header for mutation paths. */
export function describeSection(r: Of<'section'>): string {
  const inst = r.instanceId !== undefined ? ` inst ${r.instanceId}` : '';
  return `section[${r.sectionType} ${r.sectionId} ${JSON.stringify(r.idstr)}${inst} @${r.offset}]`;
}
