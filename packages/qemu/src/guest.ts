/**
 * Our own tiny guest: a hand-assembled x86 boot sector that dirties memory forever.
 *
 * SeaBIOS loads sector 0 at 0000:7C00 and jumps to it in 16-bit real mode. The code:
 *   1. disables interrupts, zeroes DS/SS, puts the stack below the sector;
 *   2. enables A20 with the "fast A20" bit of system control port 0x92;
 *   3. loads a 3-entry GDT (null, flat 4 GiB code, flat 4 GiB data), sets CR0.PE and far-jumps
 *      into 32-bit protected mode;
 *   4. loops forever: for every 4 KiB page from START to END (exclusive), increment the page's
 *      first byte; after each full pass write one marker byte to the COM1 data port 0x3F8.
 *
 * START/END (byte addresses) and the marker byte live in a parameter block inside the sector
 * (`PARAM_OFFSET`), so one image serves any region: `makeBootDisk` patches them.
 *
 * Memory invariant a checker can rely on (see memory.ts): the rest of every page stays zero and,
 * if the VM is stopped mid-pass, the first bytes of the pages read v,...,v,v-1,...,v-1 (mod 256):
 * at most one drop by exactly one, at the page the loop had reached.
 *
 * Every instruction below is encoded by hand; the comment next to it gives the assembly and the
 * encoding rule (opcode, ModRM = mod|reg|rm, immediates little-endian).
 */

import { createHash } from 'node:crypto';

export const SECTOR_SIZE = 512;
/** SeaBIOS 1.16 on q35 (AHCI) will not boot a 512-byte disk: pad to 1 MiB. */
export const DISK_SIZE = 1024 * 1024;
export const PAGE_SIZE = 4096;
export const MiB = 1024 * 1024;
/** Linear address where the BIOS loads the boot sector. */
const LOAD_ADDR = 0x7c00;
/** Offset of the parameter block inside the sector. */
export const PARAM_OFFSET = 0x1e0;
/** Parameter block magic, "MWGP" (migwire guest parameters). */
export const PARAM_MAGIC = Buffer.from('MWGP', 'latin1');
/** Default marker byte written to the serial port after each pass. */
export const DEFAULT_MARKER = 0x42; // 'B'

export interface BootDiskOptions {
  /** First MiB of the dirtied region (inclusive). Default 1. */
  startMiB?: number;
  /** End MiB of the dirtied region (exclusive). Default 9. */
  endMiB?: number;
  /** Byte written to COM1 after each pass. Default 'B' (0x42). */
  marker?: number;
  /** Total image size in bytes, multiple of 512, >= 512. Default 1 MiB. */
  diskSize?: number;
}

type Labels = Record<string, number>;
interface Insn {
  /** Label defined at this instruction's address. */
  label?: string;
  /** Fixed-size encoder; `at` is this instruction's linear address, `l` the label table. */
  size: number;
  emit: (l: Labels, at: number) => number[];
  asm: string;
}

const le16 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
/** rel8 displacement from the end of a 2-byte short jump at `at` to `target`. */
function rel8(at: number, size: number, target: number): number {
  const d = target - (at + size);
  if (d < -128 || d > 127) throw new Error(`rel8 out of range: ${d}`);
  return d & 0xff;
}
function need(l: Labels, name: string): number {
  const v = l[name];
  if (v === undefined) throw new Error(`undefined label ${name}`);
  return v;
}
const fixed = (asm: string, bytes: number[], label?: string): Insn => ({
  asm,
  size: bytes.length,
  emit: () => bytes,
  ...(label !== undefined ? { label } : {}),
});

/** The program, in order. Addresses are linear (LOAD_ADDR + offset in sector). */
const PROGRAM: Insn[] = [
  // ---------------- 16-bit real mode ----------------
  fixed('cli', [0xfa], 'start'), //                       FA: clear IF
  fixed('xor ax, ax', [0x31, 0xc0]), //                   31 /r, ModRM 11 000(ax) 000(ax)
  fixed('mov ds, ax', [0x8e, 0xd8]), //                   8E /r, ModRM 11 011(ds) 000(ax)
  fixed('mov ss, ax', [0x8e, 0xd0]), //                   8E /r, ModRM 11 010(ss) 000(ax)
  fixed('mov sp, 0x7c00', [0xbc, ...le16(LOAD_ADDR)]), // B8+4(sp) iw
  fixed('in al, 0x92', [0xe4, 0x92]), //                  E4 ib: read system control port A
  fixed('or al, 2', [0x0c, 0x02]), //                     0C ib: bit 1 = A20 enable
  fixed('and al, 0xfe', [0x24, 0xfe]), //                 24 ib: keep bit 0 (fast reset) clear
  fixed('out 0x92, al', [0xe6, 0x92]), //                 E6 ib
  {
    asm: 'lgdt [gdt_desc]', //                           0F 01 /2, ModRM 00 010 110 (disp16)
    size: 5,
    emit: (l) => [0x0f, 0x01, 0x16, ...le16(need(l, 'gdt_desc'))],
  },
  fixed('mov eax, cr0', [0x0f, 0x20, 0xc0]), //           0F 20 /r, ModRM 11 000(cr0) 000(eax)
  fixed('or al, 1', [0x0c, 0x01]), //                     CR0.PE
  fixed('mov cr0, eax', [0x0f, 0x22, 0xc0]), //           0F 22 /r, ModRM 11 000(cr0) 000(eax)
  {
    asm: 'jmp 0x08:pm32', //                             EA iw(offset) iw(selector): far jump,
    size: 5, //                                          reloads CS with the 32-bit code selector
    emit: (l) => [0xea, ...le16(need(l, 'pm32')), ...le16(0x08)],
  },
  // ---------------- 32-bit protected mode ----------------
  fixed('mov ax, 0x10', [0x66, 0xb8, ...le16(0x10)], 'pm32'), // 66 (16-bit operand) B8+0 iw
  fixed('mov ds, ax', [0x8e, 0xd8]), //                   8E /r, reg 011 = ds
  fixed('mov es, ax', [0x8e, 0xc0]), //                   reg 000 = es
  fixed('mov ss, ax', [0x8e, 0xd0]), //                   reg 010 = ss
  fixed('mov esp, 0x7c00', [0xbc, ...le32(LOAD_ADDR)]), // B8+4(esp) id
  fixed('mov dx, 0x3f8', [0x66, 0xba, ...le16(0x3f8)]), // 66 B8+2(dx) iw: COM1 data port
  {
    asm: 'outer: mov ebx, [param_start]', //             8B /r, ModRM 00 011(ebx) 101 (disp32)
    label: 'outer',
    size: 6,
    emit: (l) => [0x8b, 0x1d, ...le32(need(l, 'param_start'))],
  },
  {
    asm: 'mov ecx, [param_end]', //                      8B /r, ModRM 00 001(ecx) 101 (disp32)
    size: 6,
    emit: (l) => [0x8b, 0x0d, ...le32(need(l, 'param_end'))],
  },
  fixed('inner: inc byte [ebx]', [0xfe, 0x03], 'inner'), // FE /0, ModRM 00 000 011(ebx)
  fixed('add ebx, 0x1000', [0x81, 0xc3, ...le32(PAGE_SIZE)]), // 81 /0 id, ModRM 11 000 011(ebx)
  fixed('cmp ebx, ecx', [0x39, 0xcb]), //                 39 /r (r/m32 - r32), ModRM 11 001(ecx) 011(ebx)
  {
    asm: 'jb inner', //                                  72 cb: unsigned below
    size: 2,
    emit: (l, at) => [0x72, rel8(at, 2, need(l, 'inner'))],
  },
  {
    asm: 'mov al, [param_marker]', //                    A0 moffs32: AL <- byte at address
    size: 5,
    emit: (l) => [0xa0, ...le32(need(l, 'param_marker'))],
  },
  fixed('out dx, al', [0xee]), //                         EE: write AL to port DX
  {
    asm: 'jmp outer', //                                 EB cb
    size: 2,
    emit: (l, at) => [0xeb, rel8(at, 2, need(l, 'outer'))],
  },
];

/** GDT: null, code (base 0, limit 0xFFFFF pages, P DPL0 S exec/read, G=1 D=1), data (read/write). */
const GDT: number[] = [
  0, 0, 0, 0, 0, 0, 0, 0, //                              0x00: null descriptor
  0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00, //      0x08: 0x00CF9A000000FFFF flat code
  0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00, //      0x10: 0x00CF92000000FFFF flat data
];

/** Parameter block layout (offsets relative to PARAM_OFFSET). */
export const PARAM_LAYOUT = {
  magic: 0, //   4 bytes "MWGP"
  start: 4, //   u32 LE: first byte address of the region (page aligned)
  end: 8, //     u32 LE: end byte address (exclusive, page aligned, > start)
  marker: 12, // u8: byte written to COM1 after each pass
  size: 16,
} as const;

function assembleSector(): Buffer {
  const sector = Buffer.alloc(SECTOR_SIZE);
  const codeLen = PROGRAM.reduce((n, i) => n + i.size, 0);
  // Data after the code: GDT (8-byte aligned), then the 6-byte GDT descriptor.
  const gdtOff = (codeLen + 7) & ~7;
  const descOff = gdtOff + GDT.length;
  if (descOff + 6 > PARAM_OFFSET) throw new Error('boot sector code too large');
  const labels: Labels = {
    gdt: LOAD_ADDR + gdtOff,
    gdt_desc: LOAD_ADDR + descOff,
    param_start: LOAD_ADDR + PARAM_OFFSET + PARAM_LAYOUT.start,
    param_end: LOAD_ADDR + PARAM_OFFSET + PARAM_LAYOUT.end,
    param_marker: LOAD_ADDR + PARAM_OFFSET + PARAM_LAYOUT.marker,
  };
  let off = 0;
  for (const i of PROGRAM) {
    if (i.label !== undefined) labels[i.label] = LOAD_ADDR + off;
    off += i.size;
  }
  off = 0;
  for (const i of PROGRAM) {
    const bytes = i.emit(labels, LOAD_ADDR + off);
    if (bytes.length !== i.size) throw new Error(`size mismatch in '${i.asm}'`);
    sector.set(bytes, off);
    off += i.size;
  }
  sector.set(GDT, gdtOff);
  // GDT descriptor: u16 limit (size - 1), u32 linear base.
  sector.set([...le16(GDT.length - 1), ...le32(LOAD_ADDR + gdtOff)], descOff);
  PARAM_MAGIC.copy(sector, PARAM_OFFSET + PARAM_LAYOUT.magic);
  sector[510] = 0x55; // boot signature
  sector[511] = 0xaa;
  return sector;
}

/** The assembled boot sector with the given parameters. */
export function makeBootSector(opts: Omit<BootDiskOptions, 'diskSize'> = {}): Buffer {
  const startMiB = opts.startMiB ?? 1;
  const endMiB = opts.endMiB ?? 9;
  const marker = opts.marker ?? DEFAULT_MARKER;
  if (!Number.isInteger(startMiB) || !Number.isInteger(endMiB)) throw new Error('startMiB/endMiB must be integers');
  if (startMiB < 1) throw new Error('startMiB must be >= 1 (the sector and BIOS live below 1 MiB)');
  if (endMiB <= startMiB) throw new Error('endMiB must be > startMiB');
  if (endMiB > 4095) throw new Error('endMiB must stay below 4 GiB (32-bit addresses)');
  if (!Number.isInteger(marker) || marker < 0 || marker > 255) throw new Error('marker must be a byte');
  const s = assembleSector();
  s.writeUInt32LE(startMiB * MiB, PARAM_OFFSET + PARAM_LAYOUT.start);
  s.writeUInt32LE(endMiB * MiB, PARAM_OFFSET + PARAM_LAYOUT.end);
  s[PARAM_OFFSET + PARAM_LAYOUT.marker] = marker;
  return s;
}

/** A raw boot disk image: the boot sector padded with zeroes (default 1 MiB). */
export function makeBootDisk(opts: BootDiskOptions = {}): Buffer {
  const size = opts.diskSize ?? DISK_SIZE;
  if (!Number.isInteger(size) || size < SECTOR_SIZE || size % SECTOR_SIZE !== 0) {
    throw new Error('diskSize must be a positive multiple of 512');
  }
  const disk = Buffer.alloc(size);
  makeBootSector(opts).copy(disk, 0);
  return disk;
}

/** Read the parameter block back from a sector or disk image. */
export function readBootParams(img: Buffer): { startMiB: number; endMiB: number; marker: number } {
  if (img.length < SECTOR_SIZE || !img.subarray(PARAM_OFFSET, PARAM_OFFSET + 4).equals(PARAM_MAGIC)) {
    throw new Error('not a migwire guest boot image');
  }
  return {
    startMiB: img.readUInt32LE(PARAM_OFFSET + PARAM_LAYOUT.start) / MiB,
    endMiB: img.readUInt32LE(PARAM_OFFSET + PARAM_LAYOUT.end) / MiB,
    marker: img[PARAM_OFFSET + PARAM_LAYOUT.marker] ?? DEFAULT_MARKER,
  };
}

/** sha256 of the boot sector (first 512 bytes), for meta.json. */
export function bootSectorSha256(img: Buffer): string {
  return createHash('sha256').update(img.subarray(0, SECTOR_SIZE)).digest('hex');
}

/** Disassembly listing (address, bytes, assembly) for documentation and debugging. */
export function listing(): string {
  const s = assembleSector();
  const lines: string[] = [];
  let off = 0;
  for (const i of PROGRAM) {
    const hex = [...s.subarray(off, off + i.size)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    lines.push(`${(LOAD_ADDR + off).toString(16).padStart(4, '0')}  ${hex.padEnd(20)}  ${i.asm}`);
    off += i.size;
  }
  return lines.join('\n');
}
