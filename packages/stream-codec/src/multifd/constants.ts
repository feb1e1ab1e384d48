/** Multifd wire constants (QEMU migration/multifd.h). */
export const MULTIFD_MAGIC = 0x11223344;
export const MULTIFD_VERSION = 1;
export const MULTIFD_INIT_SIZE = 64;
/** Bytes of page data one packet may carry; the page count per packet follows from the page size. */
export const MULTIFD_PACKET_SIZE = 512 * 1024;
export const MULTIFD_FLAG_SYNC = 0x1;
export const MULTIFD_FLAG_COMPRESSION_MASK = 0x3e;
export const MULTIFD_FLAG_DEVICE_STATE = 0x40;
/** Fixed part of a RAM packet header before the offsets array. */
export const MULTIFD_RAM_HEADER_SIZE = 320;
/** Device-state packet: 12-byte common header, idstr[256], be32 instance, be32 size. */
export const MULTIFD_DEVICE_STATE_HEADER_SIZE = 276;
