/** The `format` of index.json for captures without connections (the TCP one is in tcp-proxy.ts). */
export const FILE_FORMAT = 'qemu-migration-capture/file/1';
export const PROBE_FORMAT = 'qemu-migration-capture/probe/1';
