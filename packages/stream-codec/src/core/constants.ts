/** Wire constants of the QEMU migration protocol (facts from QEMU's migration/ tree). */

export const QEMU_VM_FILE_MAGIC = 0x5145564d; // "QEVM"
export const QEMU_VM_FILE_VERSION = 3;
export const QEMU_VM_FILE_VERSION_COMPAT = 2; // rejected by every QEMU we meet

export const RecordType = {
  Eof: 0x00,
  SectionStart: 0x01,
  SectionPart: 0x02,
  SectionEnd: 0x03,
  SectionFull: 0x04,
  Subsection: 0x05,
  VmDescription: 0x06,
  Configuration: 0x07,
  Command: 0x08,
  SectionFooter: 0x7e,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export const Command = {
  OpenReturnPath: 1,
  Ping: 2,
  PostcopyAdvise: 3,
  PostcopyListen: 4,
  PostcopyRun: 5,
  PostcopyRamDiscard: 6,
  Packaged: 7,
  EnableColo: 8,
  PostcopyResume: 9,
  RecvBitmap: 10,
  SwitchoverStart: 11,
} as const;
export type Command = (typeof Command)[keyof typeof Command];

export const COMMAND_NAMES: Readonly<Record<number, string>> = {
  1: 'OPEN_RETURN_PATH',
  2: 'PING',
  3: 'POSTCOPY_ADVISE',
  4: 'POSTCOPY_LISTEN',
  5: 'POSTCOPY_RUN',
  6: 'POSTCOPY_RAM_DISCARD',
  7: 'PACKAGED',
  8: 'ENABLE_COLO',
  9: 'POSTCOPY_RESUME',
  10: 'RECV_BITMAP',
  11: 'SWITCHOVER_START',
};

/** PING value QEMU 10.2+ sends inside PACKAGED after PING 3: its PONG says the devices are loaded. */
export const PING_PACKAGED_LOADED = 0x42;

/** VMState pointer markers: a byte before each element of a pointer array (type "ptr-marker"). */
export const VMS_MARKER_PTR_NULL = 0x30;
export const VMS_MARKER_PTR_VALID = 0x31;

/** Target page size when nothing says otherwise (x86; RAM flags live below it). */
export const DEFAULT_TARGET_PAGE_SIZE = 4096;

/** RAM record flags: the low bits (below the target page size) of each be64 record header. */
export const RamFlag = {
  Full: 0x01, // obsolete, rejected by QEMU
  Zero: 0x02,
  MemSize: 0x04,
  Page: 0x08,
  Eos: 0x10,
  Continue: 0x20,
  Xbzrle: 0x40,
  Hook: 0x80,
  CompressPage: 0x100,
  MultifdFlush: 0x200,
} as const;

export const RAM_FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [0x01, 'FULL'],
  [0x02, 'ZERO'],
  [0x04, 'MEM_SIZE'],
  [0x08, 'PAGE'],
  [0x10, 'EOS'],
  [0x20, 'CONTINUE'],
  [0x40, 'XBZRLE'],
  [0x80, 'HOOK'],
  [0x100, 'COMPRESS_PAGE'],
  [0x200, 'MULTIFD_FLUSH'],
];

export function ramFlagNames(flags: number): string {
  const names: string[] = [];
  for (const [bit, name] of RAM_FLAG_NAMES) if (flags & bit) names.push(name);
  return names.join('|') || '0';
}

export const ENCODING_FLAG_XBZRLE = 0x01;
export const RAMBLOCK_RECV_BITMAP_ENDING_HI = 0x01234567;
export const RAMBLOCK_RECV_BITMAP_ENDING_LO = 0x89abcdef;

export const ReturnPathMessage = {
  Invalid: 0,
  Shut: 1,
  Pong: 2,
  ReqPagesId: 3,
  ReqPages: 4,
  RecvBitmap: 5,
  ResumeAck: 6,
  SwitchoverAck: 7,
} as const;

export const RP_MESSAGE_NAMES: Readonly<Record<number, string>> = {
  0: 'INVALID',
  1: 'SHUT',
  2: 'PONG',
  3: 'REQ_PAGES_ID',
  4: 'REQ_PAGES',
  5: 'RECV_BITMAP',
  6: 'RESUME_ACK',
  7: 'SWITCHOVER_ACK',
};

/** VFIO section delimiters: be64 0xffffffffef1000NN. */
export const VFIO_FLAG_HI = 0xffffffff;
export const VfioFlag = {
  EndOfState: 0xef100001,
  DevConfigState: 0xef100002,
  DevSetupState: 0xef100003,
  DevDataState: 0xef100004,
  DevInitDataSent: 0xef100005,
  DevConfigLoadReady: 0xef100006,
} as const;

export const VFIO_FLAG_NAMES: Readonly<Record<number, string>> = {
  0xef100001: 'END_OF_STATE',
  0xef100002: 'DEV_CONFIG_STATE',
  0xef100003: 'DEV_SETUP_STATE',
  0xef100004: 'DEV_DATA_STATE',
  0xef100005: 'DEV_INIT_DATA_SENT',
  0xef100006: 'DEV_CONFIG_LOAD_READY',
};
