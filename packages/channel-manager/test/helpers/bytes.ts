/** Openings of QEMU migration channels, as the tests send them. */

/** The main channel's opening: QEMU_VM_FILE_MAGIC "QEVM" then version 3. */
export const QEVM = Buffer.from([0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3]);

/** A 64-byte multifd init message: magic 0x11223344, version 1, uuid (16 bytes), id at byte 24. */
export function multifdInit(id: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0x11223344, 0);
  b.writeUInt32BE(1, 4);
  for (let i = 0; i < 16; i++) b[8 + i] = 0xa0 + i;
  b[24] = id;
  return b;
}

/** What a postcopy-preempt channel starts with: a RAM page header (be64 offset | flags), no magic. */
export const PAGE_HEADER = Buffer.from([0, 0, 0, 0, 0x12, 0x34, 0x50, 0x08]);
